"""`python -m specscan.cli`: the same CLI as the `specscan` script."""

from specscan.cli.main import app

if __name__ == "__main__":
    app()

"""The root `specscan` command."""

from __future__ import annotations

from typing import Annotated

import typer

from specscan.cli import batch, data, model, pipeline, registry, serve, webapp
from specscan.cli.common import configure_logging

app = typer.Typer(help="specscan: component compliance classification, from data to served model.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(data.app, name="data")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(registry.app, name="registry")
app.command()(model.train)
app.command()(model.evaluate)
app.command()(model.predict)
app.command()(serve.serve)
app.command("batch-score")(batch.batch_score)
app.add_typer(serve.apikey_app, name="apikey")
app.add_typer(serve.collected_app, name="collected")
app.command("app")(webapp.app)
app.add_typer(webapp.user_app, name="user")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    """Train, register, evaluate and use the compliance classifier."""
    configure_logging(verbose)

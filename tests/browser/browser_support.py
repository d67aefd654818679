"""The web app and the scoring service as real processes on loopback, for the browser tests."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))  # scoring_support, as the scoring tests use it
from scoring_support import (  # noqa: E402
    Server,
    copy_home,
    create_keys,
    free_port,
    start_server,
    stop_process,
    wait_until_answering,
)

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = secrets.token_urlsafe(18)  # every account's, made per run (the app wants 12 characters or more)
ADMIN, TECHNICIAN, REVIEWER = "admin", "tina", "rita"
Screenshot = Callable[[Page, str], None]  # saves a page as a PNG of that name, when asked to


@dataclass
class Scoring:
    """The scoring service the app calls; it can be stopped and started again on the same port."""

    home: Path
    key: str
    server: Server

    def start_again(self) -> None:
        self.server = start_server(self.home, port=self.server.port)


@dataclass
class WebApp:
    """A `specscan app` process; `url` is where it listens, `log` its output."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def add_user(self, username: str, role: str) -> None:
        command = [sys.executable, "-m", "specscan.cli", "user", "create", username, "--role", role,
                   "--password-file", self.env["SPECSCAN_ADMIN_PASSWORD_FILE"]]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr

    def stop(self) -> None:
        stop_process(self.process)


def start_scoring(registered_home: Path, root: Path) -> Scoring:
    """`specscan serve` over a copy of `registered_home`, with a scorer key for the app."""
    home = copy_home(registered_home, root / "home")
    return Scoring(home, create_keys(home).scorer, start_server(home))


def start_web_app(root: Path, scoring: Scoring, timeout: float = 60) -> WebApp:
    """`specscan app` with its own SPECSCAN_HOME under `root`, the first admin bootstrapped; waits for /login."""
    (root / "password").write_text(PASSWORD)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SPECSCAN_")},
           "SPECSCAN_HOME": str(root / "home"), "SPECSCAN_SCORING_URL": scoring.server.url,
           "SPECSCAN_SCORING_API_KEY": scoring.key, "SPECSCAN_RETRY_INTERVAL": "1", "SPECSCAN_SCORING_TIMEOUT": "2",
           "SPECSCAN_ADMIN_USERNAME": ADMIN, "SPECSCAN_ADMIN_PASSWORD_FILE": str(root / "password")}
    log = root / "app.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "specscan.cli", "app", "--dev", "--port", str(port)],
                                   env=env, cwd=root, stdout=output, stderr=subprocess.STDOUT)
    app = WebApp(f"http://127.0.0.1:{port}", process, log, env)
    wait_until_answering(f"{app.url}/login", process, log, timeout)
    return app


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-chars:] if log.exists() else "(no log)"

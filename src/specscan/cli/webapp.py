"""`specscan app` and `specscan user ...`: the technician web application and its accounts."""

from __future__ import annotations

import gc
import getpass
import logging
from pathlib import Path
from typing import Annotated

import typer

from specscan.cli.common import reported, settings
from specscan.errors import SpecscanError

log = logging.getLogger(__name__)
user_app = typer.Typer(help="Web app accounts.", no_args_is_help=True)


@reported
def app(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    dev: Annotated[bool, typer.Option(
        "--dev", help="Development on plain http:// (no TLS): the session cookie without Secure. Never in production."
    )] = False,
) -> None:
    """Run the technician web app (migrates its database first; SPECSCAN_SCORING_URL names the scoring service)."""
    import uvicorn

    from specscan.http_server import uvicorn_options
    from specscan.scoring.telemetry import configure_service_logging
    from specscan.webapp.app import build

    config = settings()
    if dev:
        config = config.model_copy(update={"cookie_secure": False})
    configure_service_logging(config)  # JSON lines (SPECSCAN_LOG_FORMAT=text for people), one per request
    if not config.cookie_secure:
        log.warning("the session cookie is sent without Secure, for plain HTTP: development only, never production")
    else:
        log.info("the session cookie is Secure: serve the app over HTTPS (a TLS proxy in front), "
                 "or start it with --dev for plain http:// on your own machine")
    web = build(config)
    log.info("web app on http://%s:%d, scoring through %s", host, port, config.scoring_url)
    # What is loaded by now lives as long as the process: keep it out of the collector's full scans,
    # which otherwise stall a request now and then for ~90 ms (seen in the benchmark's p99).
    gc.collect()
    gc.freeze()
    uvicorn.run(web, host=host, port=port, log_config=None, access_log=False, server_header=False,
                timeout_graceful_shutdown=10, **uvicorn_options(config))


def _sessions():  # noqa: ANN202 - sessionmaker
    from specscan.webapp.database import create_database_engine, session_factory, upgrade

    engine = create_database_engine(settings().resolved_app_database_url)
    upgrade(engine)
    return session_factory(engine)


@user_app.command("create")
@reported
def create_user(
    username: Annotated[str, typer.Argument(help="3-64 letters, digits or . _ @ -")],
    role: Annotated[str, typer.Option(help="technician, reviewer or admin")] = "technician",
    password_file: Annotated[Path | None, typer.Option(
        help="Read the password from this file (else it is asked for, twice, without echo).")] = None,
) -> None:
    """Create a web app user."""
    from specscan.webapp.accounts import AccountError, create_user

    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SpecscanError(f"cannot read the password file {password_file}: {exc.strerror}") from None
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise SpecscanError("the two passwords differ")
    try:
        with _sessions().begin() as db:
            user = create_user(db, username, password, role, actor="cli")
            typer.echo(f"created {user.username} ({user.role})")
    except AccountError as exc:
        raise SpecscanError(str(exc)) from None


@user_app.command("list")
@reported
def list_users() -> None:
    """List web app users."""
    from sqlalchemy import select

    from specscan.webapp.models import User

    with _sessions()() as db:
        for user in db.scalars(select(User).order_by(User.username)):
            state = "active" if user.active else "inactive"
            typer.echo(f"{user.username}\t{user.role}\t{state}")

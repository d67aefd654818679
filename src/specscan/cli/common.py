"""What every command shares: settings, logging, and errors as one line plus an exit code."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError

from specscan.errors import SpecscanError
from specscan.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")
NOT_PROMOTED_EXIT = 3


def settings() -> Settings:
    """The settings in force, or a one-line error naming the bad variable."""
    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        raise SpecscanError(f"invalid settings: {' '.join(first[:3])}") from exc


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(message)s", force=True)
    for noisy in ("mlflow", "alembic", "urllib3", "git", "matplotlib", "onnxscript", "torch", "py4j", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a SpecscanError into `error: <message>` on stderr and its exit code; no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SpecscanError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(exc.exit_code) from None

    return wrapper

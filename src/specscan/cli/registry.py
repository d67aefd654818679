"""`specscan registry`: versions and aliases of the registered model."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from specscan.cli.common import reported, settings

app = typer.Typer(help="List, inspect, promote and roll back model versions.", no_args_is_help=True)


def _registry():  # type: ignore[no-untyped-def]
    from specscan.registry import Registry

    return Registry(settings())


@app.command("list")
@reported
def list_versions(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every version, newest first, with aliases and headline metrics."""
    versions = _registry().versions()
    if as_json:
        typer.echo(json.dumps([v.model_dump() for v in versions], indent=2))
        return
    if not versions:
        typer.echo("no versions registered yet")
    for v in versions:
        metrics = " ".join(f"{k.split('.')[1]}={val}" for k, val in sorted(v.tags.items())
                           if k.startswith("metric."))
        aliases = ",".join(f"@{a}" for a in v.aliases) or "-"
        typer.echo(f"{v.version:>4}  {v.created}  {aliases:<24} {metrics}  "
                   f"commit {v.tags.get('git_commit', '?')[:10]}")


@app.command()
@reported
def show(version: Annotated[int, typer.Argument(min=1)],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A version's aliases, lineage and tags."""
    info = _registry().version(version)
    if as_json:
        typer.echo(json.dumps(info.model_dump(), indent=2))
        return
    typer.echo(f"{info.name} version {info.version}  created {info.created}  run {info.run_id}")
    typer.echo(f"aliases: {', '.join(info.aliases) or '-'}")
    for key, value in sorted(info.tags.items()):
        typer.echo(f"  {key}: {value}")


@app.command()
@reported
def promote(
    version: Annotated[int, typer.Option(min=1, help="Version to promote.")],
    alias: Annotated[str, typer.Option(help="Alias to point at it.")] = "champion",
    reason: Annotated[str, typer.Option(help="Why (recorded with who and when).")] = ...,  # type: ignore[assignment]
    by: Annotated[str | None, typer.Option(help="Who approves; default SPECSCAN_ACTOR or the user.")] = None,
) -> None:
    """Point an alias at a version, recording who, when and why."""
    event = _registry().set_alias(alias, version, reason=reason, by=by)
    typer.echo(f"@{alias} -> version {event.version} (by {event.by} at {event.at}: {event.reason})")


@app.command()
@reported
def rollback(
    alias: Annotated[str, typer.Option(help="Alias to move back.")] = "champion",
    reason: Annotated[str, typer.Option(help="Why.")] = "rollback",
    by: Annotated[str | None, typer.Option(help="Who.")] = None,
) -> None:
    """Point an alias back at the version it held before."""
    event = _registry().rollback(alias, reason=reason, by=by)
    typer.echo(f"@{alias} -> version {event.version} ({event.reason})")

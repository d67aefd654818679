"""`specscan serve`, `specscan apikey ...`, `specscan collected export`: the scoring service and its state."""

from __future__ import annotations

import gc
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from specscan.cli.common import reported, settings
from specscan.errors import SpecscanError

log = logging.getLogger(__name__)
apikey_app = typer.Typer(help="API keys of the scoring service (stored as hashes).", no_args_is_help=True)
collected_app = typer.Typer(help="Predictions collected by the scoring service.", no_args_is_help=True)


@reported
def serve(
    alias: Annotated[str, typer.Option(help="Registry alias to serve (followed when it moves).")] = "champion",
    model: Annotated[str | None, typer.Option(
        help="Instead of --alias: models:/NAME/VERSION, models:/NAME@ALIAS or a bundle directory.")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the model over HTTP: /score, /v2 (KServe), /invocations (MLflow), /metrics (and /docs if enabled)."""
    import uvicorn

    from specscan.http_server import uvicorn_options
    from specscan.scoring.apikeys import ApiKeyStore
    from specscan.scoring.app import create_app
    from specscan.scoring.collector import Collector
    from specscan.scoring.served_model import ModelSource
    from specscan.scoring.telemetry import configure_service_logging

    config = settings()
    configure_service_logging(config)
    source = ModelSource(config, model or f"models:/{config.model_name}@{alias}")
    served = source.load(intra_op_threads=config.ort_threads)
    keys = ApiKeyStore(config.resolved_api_keys_file)
    if not keys.records():
        log.warning("no API keys in %s: every scoring request will get 401; create one with "
                    "`specscan apikey create --role scorer`", keys.path)
    collector = Collector(config.resolved_collect_url)
    app = create_app(config, source, served, keys=keys, collector=collector)
    log.info("serving %s version %d from %s on http://%s:%d", served.name, served.version, source.reference,
             host, port, extra={"model_version": served.version})
    # Everything loaded so far lives as long as the process: keep it out of the collector's scans, or
    # a full collection (~0.2 s over the imported libraries) stalls every request in flight.
    gc.collect()
    gc.freeze()
    # The scoring thread needs the GIL back after each ONNX Runtime call; the default 5 ms switch
    # interval lets the HTTP loop keep it that long. 1 ms measured ~5-10 % more throughput at c=32.
    sys.setswitchinterval(0.001)
    uvicorn.run(app, host=host, port=port, loop="uvloop", log_config=None, access_log=False,
                timeout_graceful_shutdown=10, server_header=False, **uvicorn_options(config))


@apikey_app.command("create")
@reported
def apikey_create(
    role: Annotated[str, typer.Option(help="scorer (score only) or admin (also reload).")],
    note: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
) -> None:
    """Create a key and print it once; only its SHA-256 is stored."""
    from specscan.scoring.apikeys import ROLES, ApiKeyStore

    if role not in ROLES:
        raise SpecscanError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    store = ApiKeyStore(settings().resolved_api_keys_file)
    key, record = store.create(role, note=note)  # type: ignore[arg-type]
    typer.echo(key)
    typer.echo(f"created key {record.id} with role {record.role}; it is not shown again", err=True)


@apikey_app.command("list")
@reported
def apikey_list() -> None:
    """Key ids, roles and notes (never the keys)."""
    from specscan.scoring.apikeys import ApiKeyStore

    for record in ApiKeyStore(settings().resolved_api_keys_file).records():
        typer.echo(f"{record.id}  {record.role:<6}  {record.created}  {record.note}")


@apikey_app.command("revoke")
@reported
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (second part of the key).")]) -> None:
    """Delete a key; running services refuse it within half a second."""
    from specscan.scoring.apikeys import ApiKeyStore

    record = ApiKeyStore(settings().resolved_api_keys_file).revoke(key_id)
    typer.echo(f"revoked key {record.id} ({record.role})")


@collected_app.command("export")
@reported
def collected_export(
    output: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    since: Annotated[str | None, typer.Option(help="ISO time; only records scored at or after it (UTC if no zone).")
                     ] = None,
) -> None:
    """Export collected predictions (request ids, time, version, text, label, probability, latency, caller)."""
    from specscan.scoring.collector import Collector

    if fmt not in ("parquet", "csv"):
        raise SpecscanError(f"unknown format {fmt!r}; use parquet or csv")
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise SpecscanError(f"--since {since!r} is not an ISO time such as 2026-11-27T08:00:00Z") from None
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    config = settings()
    count = Collector(config.resolved_collect_url).export(output, fmt=fmt, since=start)  # type: ignore[arg-type]
    typer.echo(f"exported {count} records to {output}")

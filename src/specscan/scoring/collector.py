"""The model data collector: every scored item, committed before its answer is sent.

SQLite in WAL mode under SPECSCAN_HOME by default, PostgreSQL (or any SQLAlchemy URL) by
`SPECSCAN_COLLECT_URL`. One transaction per micro-batch. SQLite runs with synchronous=NORMAL:
a committed batch survives the process being killed (SIGKILL), though not a power cut.

The schema is this module's `predictions` table: a store is created whole on first use, and a
column added since (nullable, like `client_request_id`) is added to an older store at start-up.
`(request_id, item)` is unique; that index also serves look-ups by request id. An older store gets it
at start-up in place of its index on `request_id` alone (so each insert still updates as many
indexes), unless it already holds a pair twice (from before request ids were always the service's
own): then every row is kept, the old index stays, and a warning says how to find the pairs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from specscan.errors import SpecscanError
from specscan.private import private_sqlite

log = logging.getLogger(__name__)
TextPolicy = Literal["raw", "hash", "drop"]
ExportFormat = Literal["parquet", "csv"]

metadata = MetaData()
predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("item", Integer, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False, index=True),
    Column("endpoint", String(32), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("text", Text, nullable=True),
    Column("text_sha256", String(64), nullable=True),
    Column("label", String(32), nullable=False),
    Column("probability", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("caller", String(64), nullable=True),
    Column("client_request_id", String(64), nullable=True),  # the caller's X-Request-ID, if it sent one
    Index("uq_predictions_request_item", "request_id", "item", unique=True),  # also finds a request's rows
)
REQUEST_ID_INDEX = "ix_predictions_request_id"  # an older store's index on request_id alone
COLUMNS = [c.name for c in predictions.columns if c.name != "id"]


class CollectionError(SpecscanError):
    """The collection store cannot be reached or written."""


@dataclass(frozen=True, slots=True)
class Record:
    """One scored item as collected (the caller is a key id, never a key; `request_id` is always the service's)."""

    request_id: str
    item: int
    scored_at: datetime
    endpoint: str
    model_name: str
    model_version: int
    text: str | None
    text_sha256: str | None
    label: str
    probability: float
    latency_ms: float
    caller: str | None
    client_request_id: str | None = None


RECORD_FIELDS = tuple(f.name for f in fields(Record))


def text_fields(text: str, policy: TextPolicy) -> tuple[str | None, str | None]:
    """(text, sha256) as kept under `policy`."""
    if policy == "drop":
        return None, None
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return (text if policy == "raw" else None), digest


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC (naive means UTC): SQLite keeps only the wall-clock text of a time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Collector:
    """Writes and reads collected records at one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("postgresql://"):  # SQLAlchemy's default driver is psycopg2; we ship psycopg 3
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            private_sqlite(url)
            # a server connection may have been dropped while idle; a SQLite file cannot
            self.engine: Engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise CollectionError(f"invalid collection URL {self._safe_url()}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            metadata.create_all(self.engine)
            _add_missing_columns(self.engine)
            _add_unique_request_items(self.engine)
        except SQLAlchemyError as exc:
            raise CollectionError(f"cannot open the collection store {self._safe_url()}: {_first_line(exc)}") from exc

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:
            return "<unparseable URL>"

    def write(self, records: Sequence[Record]) -> None:
        """Commit `records` in one transaction; raise CollectionError if they were not committed."""
        if not records:
            return
        rows = [{**{name: getattr(r, name) for name in RECORD_FIELDS}, "scored_at": _utc(r.scored_at)}
                for r in records]
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(predictions), rows)
        except SQLAlchemyError as exc:
            raise CollectionError(f"collection write failed: {_first_line(exc)}") from exc

    def read(self, *, since: datetime | None = None, chunk_rows: int = 50_000) -> Iterator[pa.Table]:
        """Collected records in scoring order, as Arrow tables of at most `chunk_rows` rows."""
        query = select(*[predictions.c[name] for name in COLUMNS]).order_by(predictions.c.id)
        if since is not None:
            query = query.where(predictions.c.scored_at >= _utc(since))
        try:
            with self.engine.connect() as connection, \
                    connection.execution_options(stream_results=True).execute(query) as result:
                while rows := result.fetchmany(chunk_rows):
                    yield pa.Table.from_pylist([dict(row._mapping) for row in rows], schema=SCHEMA)
        except SQLAlchemyError as exc:
            raise CollectionError(f"reading collected records failed: {_first_line(exc)}") from exc

    def export(self, output: Path, *, fmt: ExportFormat, since: datetime | None = None) -> int:
        """Write collected records to a Parquet or CSV file; return how many."""
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".partial")
        count = 0
        writer: pq.ParquetWriter | pacsv.CSVWriter
        writer = pq.ParquetWriter(tmp, SCHEMA) if fmt == "parquet" else pacsv.CSVWriter(tmp, SCHEMA)
        try:
            for table in self.read(since=since):
                writer.write_table(table)
                count += table.num_rows
        except BaseException:
            writer.close()
            tmp.unlink(missing_ok=True)
            raise
        writer.close()
        tmp.replace(output)
        return count

    def close(self) -> None:
        self.engine.dispose()


SCHEMA = pa.schema([
    ("request_id", pa.string()), ("item", pa.int32()), ("scored_at", pa.timestamp("us", tz="UTC")),
    ("endpoint", pa.string()), ("model_name", pa.string()), ("model_version", pa.int32()),
    ("text", pa.string()), ("text_sha256", pa.string()), ("label", pa.string()),
    ("probability", pa.float64()), ("latency_ms", pa.float64()), ("caller", pa.string()),
    ("client_request_id", pa.string()),
])


def _add_missing_columns(engine: Engine) -> None:
    """Add the columns a store created by an older specscan lacks (create_all only adds whole tables)."""
    present = {column["name"] for column in inspect(engine).get_columns(predictions.name)}
    for column in predictions.columns:
        if column.name in present:
            continue
        assert column.nullable, f"{column.name}: a column added to existing stores must be nullable"
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"ALTER TABLE {predictions.name} ADD COLUMN {column.name} "
                                           f"{column.type.compile(engine.dialect)}")
        except SQLAlchemyError:  # another process starting at the same time may have added it first
            if column.name not in {c["name"] for c in inspect(engine).get_columns(predictions.name)}:
                raise


def _add_unique_request_items(engine: Engine) -> None:
    """Give an older store the unique index on (request_id, item) in place of the one on request_id alone, unless
    it holds a pair twice: then warn."""
    index = next(i for i in predictions.indexes if i.name == "uq_predictions_request_item")

    def present() -> bool:
        return index.name in {i["name"] for i in inspect(engine).get_indexes(predictions.name)}

    if present():
        return
    try:
        with engine.begin() as connection:  # one transaction: never neither index
            index.create(connection, checkfirst=True)
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {REQUEST_ID_INDEX}")
        log.info("the collection store's (request_id, item) pairs are now unique (index %s)", index.name)
        return
    except SQLAlchemyError as exc:
        if present():  # another process starting at the same time made it
            return
        reason = _first_line(exc)
    pairs = select(predictions.c.request_id, predictions.c.item).group_by(predictions.c.request_id,
                                                                        predictions.c.item)
    with engine.connect() as connection:
        twice = connection.scalar(select(func.count()).select_from(
            pairs.having(func.count() > 1).subquery()))
    if not twice:
        log.warning("could not make the collection store's (request_id, item) pairs unique, tried again at the next "
                    "start: %s", reason)
        return
    log.warning("the collection store holds %d (request_id, item) pairs more than once, from before request ids "
                "were the service's own, so the pairs are not made unique; every row is kept. List them with: "
                "SELECT request_id, item, count(*) FROM predictions GROUP BY request_id, item HAVING count(*) > 1; "
                "the index is made at the first start that finds none", twice)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

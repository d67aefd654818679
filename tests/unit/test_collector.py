"""The collector: scored items committed to SQLite (WAL) or PostgreSQL, read back by time, exported to files."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import sqlite3
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from specscan.scoring.collector import SCHEMA, CollectionError, Collector, Record, TextPolicy, text_fields

T0 = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def _record(i: int, *, at: datetime = T0, text: str = "Cable sheathing, PVC with lead stabiliser",
            policy: TextPolicy = "raw") -> Record:
    kept, digest = text_fields(text, policy)
    return Record(request_id=f"req-{i // 2}", item=i % 2, scored_at=at, endpoint="score", model_name="specscan",
                  model_version=3, text=kept, text_sha256=digest, label="non_compliant" if i % 3 else "compliant",
                  probability=i / 10, latency_ms=1.25 + i, caller=None if i % 2 else "k1d2e3f4",
                  client_request_id=None if i % 3 else f"order-{i}")


def _as_row(record: Record) -> dict[str, object]:
    return {name: getattr(record, name) for name in SCHEMA.names}


def _read_csv(path: Path) -> pa.Table:
    """A CSV export read back: unquoted empty fields are nulls (that is how the writer marks them)."""
    options = pacsv.ConvertOptions(column_types=SCHEMA, strings_can_be_null=True, quoted_strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=options)


def _rows(collector: Collector, **kwargs) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [row for table in collector.read(**kwargs) for row in table.to_pylist()]


@pytest.fixture()
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "collected.db"


@pytest.fixture()
def collector(sqlite_path: Path) -> Iterator[Collector]:
    collector = Collector(f"sqlite:///{sqlite_path}")
    yield collector
    collector.close()


def test_sqlite_store_is_created_in_wal_mode_with_synchronous_normal(collector: Collector, sqlite_path: Path) -> None:
    collector.write([_record(0)])

    with sqlite3.connect(sqlite_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with collector.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_records_round_trip_in_write_order_with_utc_times(collector: Collector) -> None:
    written = [_record(i, at=T0 + timedelta(seconds=i)) for i in range(5)]
    collector.write(written[:3])
    collector.write(written[3:])

    tables = list(collector.read(chunk_rows=2))

    assert [t.num_rows for t in tables] == [2, 2, 1]
    assert all(t.schema == SCHEMA for t in tables)
    rows = [row for t in tables for row in t.to_pylist()]
    assert rows == [_as_row(r) for r in written]
    assert all(row["scored_at"].utcoffset() == timedelta(0) for row in rows)  # type: ignore[union-attr]


def test_writing_nothing_is_a_no_op(collector: Collector) -> None:
    collector.write([])

    assert _rows(collector) == []


def test_read_since_keeps_records_scored_at_or_after_the_time(collector: Collector) -> None:
    collector.write([_record(i, at=T0 + timedelta(minutes=i)) for i in range(5)])

    since = _rows(collector, since=T0 + timedelta(minutes=2))

    assert [row["scored_at"] for row in since] == [T0 + timedelta(minutes=i) for i in (2, 3, 4)]
    assert _rows(collector, since=T0 + timedelta(minutes=10)) == []
    assert [row["scored_at"] for row in _rows(collector, since=T0 - timedelta(days=1))] == [
        T0 + timedelta(minutes=i) for i in range(5)]


def test_read_since_compares_instants_whatever_the_zone_of_since(collector: Collector) -> None:
    collector.write([_record(i, at=T0 + timedelta(minutes=i)) for i in range(5)])

    same_instant = (T0 + timedelta(minutes=2)).astimezone(PLUS_TWO)

    rows = _rows(collector, since=same_instant)
    assert [row["scored_at"] for row in rows] == [T0 + timedelta(minutes=i) for i in (2, 3, 4)]
    assert rows == [_as_row(_record(i, at=T0 + timedelta(minutes=i))) for i in (2, 3, 4)]


def test_a_time_in_another_zone_is_stored_as_the_same_instant(collector: Collector) -> None:
    collector.write([_record(0, at=T0.astimezone(PLUS_TWO))])

    assert _rows(collector)[0]["scored_at"] == T0


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_the_same_rows_as_read_and_leaves_no_partial_file(
        collector: Collector, tmp_path: Path, fmt: str) -> None:
    written = [_record(i, at=T0 + timedelta(minutes=i)) for i in range(6)]
    written.append(_record(6, at=T0 + timedelta(minutes=6), text='comma, "quote" and\nnew line'))
    collector.write(written)
    output = tmp_path / "exports" / f"collected.{fmt}"

    count = collector.export(output, fmt=fmt, since=T0 + timedelta(minutes=1))  # type: ignore[arg-type]

    if fmt == "parquet":
        table = pq.read_table(output)
    else:
        table = _read_csv(output)
    assert count == 6
    assert table.to_pylist() == [_as_row(r) for r in written[1:]]
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]


def test_export_creates_the_folders_it_writes_into(collector: Collector, tmp_path: Path) -> None:
    collector.write([_record(i) for i in range(3)])
    output = tmp_path / "exports" / "2026-11" / "collected.parquet"

    assert collector.export(output, fmt="parquet") == 3
    assert pq.read_table(output).num_rows == 3


def test_parquet_and_csv_exports_agree(collector: Collector, tmp_path: Path) -> None:
    collector.write([_record(i, at=T0 + timedelta(seconds=i)) for i in range(4)])

    collector.export(tmp_path / "a.parquet", fmt="parquet")
    collector.export(tmp_path / "a.csv", fmt="csv")

    assert pq.read_table(tmp_path / "a.parquet").to_pylist() == _read_csv(tmp_path / "a.csv").to_pylist()


def test_export_of_an_empty_store_writes_a_file_with_the_columns(collector: Collector, tmp_path: Path) -> None:
    output = tmp_path / "empty.parquet"

    assert collector.export(output, fmt="parquet") == 0
    assert pq.read_schema(output) == SCHEMA.with_metadata(pq.read_schema(output).metadata)


def test_a_failed_export_leaves_neither_the_output_nor_a_partial_file(
        collector: Collector, sqlite_path: Path, tmp_path: Path) -> None:
    collector.write([_record(0)])
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute("DROP TABLE predictions")
    output = tmp_path / "out" / "collected.csv"

    with pytest.raises(CollectionError, match="reading collected records failed"):
        collector.export(output, fmt="csv")

    assert list(output.parent.iterdir()) == []


TEXT = "Battery tray, PP-T20, cadmium 85 ppm in pigment, ünïcode"
DIGEST = hashlib.sha256(TEXT.encode()).hexdigest()


@pytest.mark.parametrize(("policy", "text", "digest"), [("raw", TEXT, DIGEST), ("hash", None, DIGEST),
                                                        ("drop", None, None)])
def test_text_policy_decides_what_is_kept_of_the_text(policy: TextPolicy, text: str | None,
                                                      digest: str | None) -> None:
    assert text_fields(TEXT, policy) == (text, digest)


@pytest.mark.parametrize("policy", ["raw", "hash", "drop"])
def test_text_policy_is_what_reaches_the_database_files(collector: Collector, sqlite_path: Path,
                                                        policy: TextPolicy) -> None:
    collector.write([_record(0, text=TEXT, policy=policy)])

    (row,) = _rows(collector)
    on_disk = b"".join(p.read_bytes() for p in sqlite_path.parent.iterdir())

    assert (row["text"], row["text_sha256"]) == text_fields(TEXT, policy)
    assert (TEXT.encode() in on_disk) == (policy == "raw")
    assert (DIGEST.encode() in on_disk) == (policy != "drop")


def test_text_with_a_lone_surrogate_can_be_hashed() -> None:
    assert text_fields("a\ud800", "hash") == (None, hashlib.sha256(b"a\xed\xa0\x80").hexdigest())


@pytest.mark.parametrize(("url", "message"), [
    ("nosuchdialect://x", "invalid collection URL nosuchdialect://x: Can't load plugin"),
    ("not a url", "invalid collection URL"),
    ("postgresql://user:s3cret@localhost:notaport/db", "invalid collection URL"),
    ("postgresql://user:s3cret@127.0.0.1:1/db", "cannot open the collection store postgresql://user:***@127.0.0.1:1/db"),
])
def test_an_unusable_url_is_a_collection_error_without_the_password(url: str, message: str) -> None:
    with pytest.raises(CollectionError) as caught:
        Collector(url)

    text = str(caught.value)
    assert message in text
    assert "s3cret" not in text
    assert "\n" not in text


def test_a_failed_write_is_a_collection_error(collector: Collector, sqlite_path: Path) -> None:
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute("DROP TABLE predictions")

    with pytest.raises(CollectionError, match="collection write failed: .*predictions"):
        collector.write([_record(0)])


# A store written by a service from before client_request_id (December 2026): the table as it was created then.
OLD_PREDICTIONS = """CREATE TABLE predictions (
    id INTEGER NOT NULL PRIMARY KEY, request_id VARCHAR(64) NOT NULL, item INTEGER NOT NULL,
    scored_at TIMESTAMP NOT NULL, endpoint VARCHAR(32) NOT NULL, model_name VARCHAR(200) NOT NULL,
    model_version INTEGER NOT NULL, text TEXT, text_sha256 VARCHAR(64), label VARCHAR(32) NOT NULL,
    probability FLOAT NOT NULL, latency_ms FLOAT NOT NULL, caller VARCHAR(64))"""
OLD_ROW = ("INSERT INTO predictions (request_id, item, scored_at, endpoint, model_name, model_version, text, "
           "text_sha256, label, probability, latency_ms, caller) VALUES ('old-1', 0, '2026-11-27 08:00:00.000000', "
           "'score', 'specscan', 2, 'old text', NULL, 'compliant', 0.25, 3.5, 'k0')")


REQUIRED = ("request_id", "item", "endpoint", "model_name", "model_version", "label", "probability", "latency_ms")


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_record_lacking_a_required_field_is_refused_with_its_batch_and_nothing_is_stored(
        collector: Collector, missing: str) -> None:
    incomplete = dataclasses.replace(_record(1), **{missing: None})

    with pytest.raises(CollectionError, match="collection write failed"):
        collector.write([_record(0), incomplete])
    assert _rows(collector) == []  # the whole batch, in one transaction


def test_a_collected_record_cannot_be_changed_once_made() -> None:
    record = _record(0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.label = "compliant"  # type: ignore[misc]
    assert not hasattr(record, "__dict__")  # slots: nothing can be added to it either


def test_a_store_from_before_client_request_id_gains_the_column_and_keeps_its_rows(sqlite_path: Path) -> None:
    sqlite_path.parent.mkdir(parents=True)
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute(OLD_PREDICTIONS)
        raw.execute(OLD_ROW)

    for start in range(2):  # the second start finds the column already there
        collector = Collector(f"sqlite:///{sqlite_path}")
        try:
            collector.write([_record(start)])
            rows = _rows(collector)
        finally:
            collector.close()

    assert [(r["request_id"], r["text"], r["client_request_id"]) for r in rows] == [
        ("old-1", "old text", None), ("req-0", _record(0).text, "order-0"), ("req-0", _record(1).text, None)]


# --- PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.fixture()
def pg_collector(postgres_url: str) -> Iterator[Collector]:
    """A Collector in a schema of its own, dropped afterwards (parallel runs do not meet)."""
    import psycopg

    schema = f"specscan_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_url else "?"
    collector = Collector(f"{postgres_url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield collector
    finally:
        collector.close()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            tables = admin.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                   (schema,)).fetchall()
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
        assert tables == [("predictions",)], "the collector's table was not created in the test's own schema"


@pytest.mark.postgres
def test_postgres_round_trip_and_since_in_any_zone(pg_collector: Collector) -> None:
    written = [_record(i, at=T0 + timedelta(minutes=i)) for i in range(5)]
    pg_collector.write(written[:2])
    pg_collector.write(written[2:])

    assert _rows(pg_collector) == [_as_row(r) for r in written]
    assert _rows(pg_collector, since=T0 + timedelta(minutes=3)) == [_as_row(r) for r in written[3:]]
    assert _rows(pg_collector, since=(T0 + timedelta(minutes=3)).astimezone(PLUS_TWO)) == \
        [_as_row(r) for r in written[3:]]


WIDTHS = {"request_id": 64, "endpoint": 32, "model_name": 200, "label": 32, "caller": 64, "client_request_id": 64}


@pytest.mark.postgres
@pytest.mark.parametrize("column", sorted(WIDTHS))
def test_postgres_stores_each_text_column_at_its_full_width_and_refuses_one_character_more(
        pg_collector: Collector, column: str) -> None:
    widest = dataclasses.replace(_record(0), **{column: "x" * WIDTHS[column]})
    pg_collector.write([widest])
    with pytest.raises(CollectionError, match="collection write failed"):
        pg_collector.write([dataclasses.replace(_record(1), **{column: "x" * (WIDTHS[column] + 1)})])

    assert _rows(pg_collector) == [_as_row(widest)]  # kept whole, never truncated


@pytest.mark.postgres
def test_postgres_a_connection_dropped_while_idle_is_replaced_before_the_next_write(
        pg_collector: Collector, postgres_url: str) -> None:
    import psycopg

    with pg_collector.engine.connect() as connection:  # the one pooled connection, idle once returned
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a server restart or an idle timeout would
        assert admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone() == (True,)

    pg_collector.write([_record(0)])

    assert _rows(pg_collector) == [_as_row(_record(0))]


@pytest.mark.postgres
def test_postgres_reader_that_stops_early_closes_its_cursor(pg_collector: Collector) -> None:
    pg_collector.write([_record(i) for i in range(5)])
    gc.collect()  # what earlier tests left unclosed warns now, not inside the block below

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = pg_collector.read(chunk_rows=2)
        first = next(reader)
        reader.close()
        gc.collect()

    assert isinstance(first, pa.Table) and first.num_rows == 2
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.postgres
def test_postgres_store_from_before_client_request_id_gains_the_column(postgres_url: str) -> None:
    import psycopg

    schema = f"specscan_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(f"SET search_path TO {schema}")
        admin.execute(OLD_PREDICTIONS.replace("id INTEGER NOT NULL PRIMARY KEY", "id SERIAL PRIMARY KEY"))
        admin.execute(OLD_ROW)
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    try:
        for start in range(2):  # the second start finds the column already there
            collector = Collector(url)
            collector.write([_record(start)])
            rows = _rows(collector)
            collector.close()
        assert [(r["request_id"], r["client_request_id"]) for r in rows] == [
            ("old-1", None), ("req-0", "order-0"), ("req-0", None)]
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


# --- (request_id, item) unique, on SQLite and PostgreSQL -------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Callable[[str], None]]]:
    """(URL, run-SQL) of a store created by a service from before client_request_id, holding OLD_ROW."""
    if request.param == "sqlite":
        path = tmp_path / "collected.db"

        def run_sqlite(sql: str) -> None:
            with sqlite3.connect(path) as raw:
                raw.execute(sql)

        run_sqlite(OLD_PREDICTIONS)
        run_sqlite(OLD_INDEXES)
        run_sqlite(OLD_ROW)
        yield f"sqlite:///{path}", run_sqlite
        return
    import psycopg

    postgres_url = request.getfixturevalue("postgres_url")
    schema = f"specscan_test_{uuid.uuid4().hex[:12]}"

    def run_postgres(sql: str) -> None:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"SET search_path TO {schema}")
            connection.execute(sql)

    run_postgres(f"CREATE SCHEMA {schema}")
    run_postgres(OLD_PREDICTIONS.replace("id INTEGER NOT NULL PRIMARY KEY", "id SERIAL PRIMARY KEY"))
    run_postgres(OLD_INDEXES)
    run_postgres(OLD_ROW)
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}", run_postgres
    finally:
        run_postgres(f"DROP SCHEMA {schema} CASCADE")


OLD_INDEXES = "CREATE INDEX ix_predictions_request_id ON predictions (request_id)"


def _indexes(url: str) -> set[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return {index["name"] for index in inspect(engine).get_indexes("predictions")}
    finally:
        engine.dispose()


def _pairs(url: str) -> list[tuple[str, int]]:
    collector = Collector(url)
    try:
        return [(r["request_id"], r["item"]) for r in _rows(collector)]
    finally:
        collector.close()


def _write(url: str, records: list[Record]) -> None:
    collector = Collector(url)
    try:
        collector.write(records)
    finally:
        collector.close()


def test_an_older_store_gets_the_unique_pairs_index_in_place_of_its_request_id_index_and_collects_a_pair_once(
        old_store: tuple[str, Callable[[str], None]]) -> None:
    url, _ = old_store
    _write(url, [_record(0), _record(1)])
    assert _indexes(url) == {"uq_predictions_request_item"}  # each insert updates no more indexes than before

    with pytest.raises(CollectionError, match="collection write failed"):
        _write(url, [_record(2), _record(0)])  # the batch fails whole: the new pair is not kept either

    assert _pairs(url) == [("old-1", 0), ("req-0", 0), ("req-0", 1)]


def test_a_store_holding_a_pair_twice_keeps_every_row_starts_and_says_how_to_find_them(
        old_store: tuple[str, Callable[[str], None]], caplog: pytest.LogCaptureFixture) -> None:
    url, run = old_store
    run(OLD_ROW)  # the same request id and item again, as a caller could choose before December 2026
    run(OLD_ROW.replace("'old-1', 0", "'old-2', 0"))
    run(OLD_ROW.replace("'old-1', 0", "'old-2', 0"))

    _write(url, [_record(0)])
    _write(url, [_record(0)])  # without the index this start cannot refuse a pair twice either

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("holds 2 (request_id, item) pairs more than once" in w and
                                      "HAVING count(*) > 1" in w for w in warnings)
    assert _pairs(url) == [("old-1", 0), ("old-1", 0), ("old-2", 0), ("old-2", 0), ("req-0", 0), ("req-0", 0)]
    assert _indexes(url) == {"ix_predictions_request_id"}  # look-ups by request id stay fast

    run("DELETE FROM predictions WHERE id IN (2, 4, 6)")  # the operator resolves them: the next start makes the index
    caplog.clear()
    with pytest.raises(CollectionError):
        _write(url, [_record(0)])
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []
    assert _indexes(url) == {"uq_predictions_request_item"}


def test_a_new_store_collects_a_request_item_pair_once(collector: Collector, sqlite_path: Path) -> None:
    collector.write([_record(0)])
    assert _indexes(f"sqlite:///{sqlite_path}") == {"uq_predictions_request_item", "ix_predictions_scored_at"}

    with pytest.raises(CollectionError, match="collection write failed"):
        collector.write([_record(0)])
    assert len(_rows(collector)) == 1


@pytest.mark.postgres
def test_a_new_postgres_store_collects_a_request_item_pair_once(pg_collector: Collector) -> None:
    pg_collector.write([_record(0)])

    with pytest.raises(CollectionError, match="collection write failed"):
        pg_collector.write([_record(0)])
    assert len(_rows(pg_collector)) == 1

"""The batch scorer end to end: the local engine against the predictor, bad rows, the CLI, Spark against local.

Row numbers are 1-based data records: the header is not a row, a blank line is not a row, and a
quoted value that spans lines is one row.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner
from unrun import cannot_run

from specscan.artifact.predictor import Predictor
from specscan.batch.local import BatchJob, score_local
from specscan.cli.main import app as cli
from specscan.data.generator import generate
from specscan.errors import DataValidationError
from specscan.registry import Registry
from specscan.settings import Settings

NAME = "compliance-classifier"
CHAMPION = f"models:/{NAME}@champion"
MAX_CHARS = Settings().max_text_chars
OUTPUT_TYPES = {"id": pa.string(), "label": pa.string(), "probability": pa.float64(),
                "model_name": pa.string(), "model_version": pa.int32()}

runner = CliRunner()


def batch_cli(home: Path, *args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, ["batch-score", *map(str, args), "--no-progress"], env={"SPECSCAN_HOME": str(home)})


@pytest.fixture(scope="module")
def home(registered_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the registered home (downloading the bundle fills its model cache; the original stays as is)."""
    copy = tmp_path_factory.mktemp("batch") / "home"
    shutil.copytree(registered_home, copy, ignore=shutil.ignore_patterns("steps"))
    return copy


@pytest.fixture(scope="module")
def champion(home: Path) -> tuple[Path, int]:
    """The champion's verified bundle directory and version."""
    registry = Registry(Settings(home=home))
    version, _ = registry.resolve(CHAMPION)
    return registry.bundle_path(CHAMPION), version


def job(source: Path, output: Path, champion: tuple[Path, int], **options: Any) -> BatchJob:
    bundle, version = champion
    return BatchJob(input=source, output=output, bundle_dir=bundle, model_name=NAME, model_version=version,
                    max_text_chars=MAX_CHARS, **options)


def generated(rows: int, seed: int) -> pd.DataFrame:
    return generate(revision="R1", rows=rows, seed=seed)[["id", "text", "label"]]


def csv_record(*fields: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)  # quotes values with line breaks in them
    return buffer.getvalue().removesuffix("\n")


def write_with_bad_rows(path: Path, good: pd.DataFrame) -> tuple[list[str], dict[int, tuple[str | None, str]]]:
    """A CSV of `good` with bad rows among them; the ids expected in the output and the expected errors."""
    last = len(good) + 8
    special: dict[int, tuple[str, str | None, str | None]] = {  # row: (record, id, reason); reason None: scored
        3: (csv_record("M3", "Brake hose, EPDM,\nsecond line: lead-free", "compliant"), "M3", None),
        5: ('B5,"pad, front",compliant,extra', "B5", "malformed CSV row: 4 fields, the header has 3"),
        64: ("B64", "B64", "malformed CSV row: 1 fields, the header has 3"),
        65: ("B65,,compliant", "B65", "text is empty or only whitespace"),
        130: ('B130,"   ",compliant', "B130", "text is empty or only whitespace"),
        200: (csv_record("B200", "x" * (MAX_CHARS + 1), "compliant"), "B200",
              f"text has {MAX_CHARS + 1} characters; the most is {MAX_CHARS}"),
        201: (",Brake pad without an id,compliant", None, "id is missing"),
        last: ("BLAST,too,many,fields,here", "BLAST", "malformed CSV row: 5 fields, the header has 3"),
    }
    rows = iter(good.itertuples(index=False))
    lines, scored_ids = ["id,text,label"], []
    for number in range(1, last + 1):
        if number in special:
            record, row_id, reason = special[number]
            if reason is None:
                scored_ids.append(row_id)
        else:
            row = next(rows)
            record = csv_record(row.id, row.text, row.label)
            scored_ids.append(row.id)
        lines.append(record)
        if number == 10:
            lines.append("")  # a blank line is not a row
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = {number: (row_id, reason) for number, (_, row_id, reason) in special.items() if reason is not None}
    return scored_ids, errors  # type: ignore[return-value]


def read_errors(path: Path) -> dict[int, tuple[str | None, str]]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["row", "id", "reason"]
    return {int(r.row): (r.id or None, r.reason) for r in frame.itertuples(index=False)}


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "partial" in p.name or p.name.endswith(".spark"))


# --- the local engine -----------------------------------------------------------------------------


def test_local_engine_scores_every_row_as_the_predictor_does(champion: tuple[Path, int], tmp_path: Path) -> None:
    frame = generated(400, seed=5)
    frame.to_csv(tmp_path / "in.csv", index=False)

    result = score_local(job(tmp_path / "in.csv", tmp_path / "out.parquet", champion), chunk_rows=128, progress=False)

    out = pq.read_table(tmp_path / "out.parquet")
    expected = Predictor(champion[0]).predict_proba(frame["text"].tolist())
    probability = out.column("probability").to_numpy()
    assert {f.name: f.type for f in out.schema} == OUTPUT_TYPES
    assert out.column("id").to_pylist() == frame["id"].tolist()
    np.testing.assert_allclose(probability, expected, rtol=0, atol=1e-6)
    assert np.array_equal(probability.astype(np.float32).astype(np.float64), probability)  # a widened float32
    assert out.column("label").to_pylist() == np.where(expected >= 0.5, "non_compliant", "compliant").tolist()
    assert set(out.column("model_name").to_pylist()) == {NAME}
    assert set(out.column("model_version").to_pylist()) == {champion[1]}
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups == 4  # written chunk by chunk
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (400, 400, 0)
    assert result.errors_file is None and not (tmp_path / "out.errors.csv").exists()
    assert leftovers(tmp_path) == []


def test_local_engine_sets_bad_rows_aside_by_row_number(champion: tuple[Path, int], tmp_path: Path) -> None:
    scored_ids, expected_errors = write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))

    result = score_local(job(tmp_path / "in.csv", tmp_path / "out.parquet", champion), chunk_rows=64, progress=False)

    assert result.errors_file == tmp_path / "out.errors.csv"
    assert read_errors(tmp_path / "out.errors.csv") == expected_errors
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == scored_ids
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (308, 301, 7)


def test_local_engine_scores_parquet_with_integer_ids(champion: tuple[Path, int], tmp_path: Path) -> None:
    frame = generated(150, seed=7)
    texts = frame["text"].tolist()
    texts[9], texts[99] = None, " \t "
    pq.write_table(pa.table({"sku": pa.array(range(1000, 1150), pa.int64()), "description": texts}),
                   tmp_path / "in.parquet", row_group_size=40)

    result = score_local(job(tmp_path / "in.parquet", tmp_path / "out.parquet", champion, id_column="sku",
                             text_column="description", errors=tmp_path / "rejected.csv"),
                         chunk_rows=64, progress=False)

    out = pq.read_table(tmp_path / "out.parquet")
    assert read_errors(tmp_path / "rejected.csv") == {10: ("1009", "text is empty or only whitespace"),
                                                      100: ("1099", "text is empty or only whitespace")}
    assert out.column("id").to_pylist() == [str(i) for i in range(1000, 1150) if i not in (1009, 1099)]
    kept = [t for t in texts if t is not None and t.strip()]
    np.testing.assert_allclose(out.column("probability").to_numpy(), Predictor(champion[0]).predict_proba(kept),
                               rtol=0, atol=1e-6)
    assert result.rows_scored == 148


def test_on_error_fail_stops_at_the_first_bad_row_and_writes_nothing(champion: tuple[Path, int],
                                                                      tmp_path: Path) -> None:
    write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))
    (tmp_path / "out.parquet").write_bytes(b"an earlier output")

    with pytest.raises(DataValidationError, match=r"row 5 \(id B5\): malformed CSV row: 4 fields"):
        score_local(job(tmp_path / "in.csv", tmp_path / "out.parquet", champion, on_error="fail"),
                    chunk_rows=64, progress=False)

    assert (tmp_path / "out.parquet").read_bytes() == b"an earlier output"
    assert not (tmp_path / "out.errors.csv").exists()
    assert leftovers(tmp_path) == []


def test_a_run_that_breaks_midway_leaves_no_partial_output(champion: tuple[Path, int], tmp_path: Path) -> None:
    write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))
    predictor = Predictor(champion[0])
    score = predictor.predict_proba
    calls = []

    def breaks_on_the_third_chunk(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 3:
            raise OSError("disk full")
        return score(texts)

    predictor.predict_proba = breaks_on_the_third_chunk  # type: ignore[method-assign]

    with pytest.raises(OSError, match="disk full"):
        score_local(job(tmp_path / "in.csv", tmp_path / "out.parquet", champion), chunk_rows=64,
                    progress=False, predictor=predictor)

    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "out.errors.csv").exists()
    assert leftovers(tmp_path) == []


def test_a_stale_errors_file_goes_when_a_rerun_rejects_nothing(champion: tuple[Path, int], tmp_path: Path) -> None:
    generated(50, seed=8).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.errors.csv").write_text("row,id,reason\n1,x,from an earlier run\n")

    result = score_local(job(tmp_path / "in.csv", tmp_path / "out.parquet", champion), progress=False)

    assert result.errors_file is None and not (tmp_path / "out.errors.csv").exists()


# --- the command ----------------------------------------------------------------------------------


def test_batch_score_prints_a_one_line_summary(home: Path, champion: tuple[Path, int], tmp_path: Path) -> None:
    write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))

    result = batch_cli(home, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.parquet")

    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"scored 301 rows, rejected 7 (see {tmp_path / 'out.errors.csv'}), ")
    assert f"-> {tmp_path / 'out.parquet'} ({NAME} version {champion[1]})" in result.output
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 301


def test_batch_score_takes_a_bundle_directory(home: Path, champion: tuple[Path, int], tmp_path: Path) -> None:
    generated(20, seed=9).to_csv(tmp_path / "in.csv", index=False)

    result = batch_cli(home, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.parquet",
                       "--model", champion[0])

    assert result.exit_code == 0, result.output
    out = pq.read_table(tmp_path / "out.parquet")
    assert set(out.column("model_name").to_pylist()) == {str(champion[0].resolve())}
    assert set(out.column("model_version").to_pylist()) == {None}  # not a registered version


def test_batch_score_on_error_fail_exits_4_naming_the_row(home: Path, tmp_path: Path) -> None:
    write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))

    result = batch_cli(home, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.parquet",
                       "--on-error", "fail")

    assert result.exit_code == 4
    assert "error: " in result.output and "row 5 (id B5): malformed CSV row" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.parquet").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(("name", "content", "options", "message"), [
    ("missing.csv", None, [], "missing.csv: no such file"),
    ("in.txt", "id,text\nk1,brake pad\n", [], "unknown input format '.txt'"),
    ("in.csv", "id,description\nk1,brake pad\n", [], r"missing column(s) text (found: id, description)"),
    ("in.csv", "sku,text\nk1,brake pad\n", ["--id-column", "part"], "missing column(s) part"),
])
def test_batch_score_rejects_an_unusable_input_with_exit_4(home: Path, tmp_path: Path, name: str,
                                                           content: str | None, options: list[str],
                                                           message: str) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)

    result = batch_cli(home, "--input", tmp_path / name, "--output", tmp_path / "out.parquet", *options)

    assert result.exit_code == 4, result.output
    assert message in result.output
    assert not (tmp_path / "out.parquet").exists()


def test_batch_score_with_an_unknown_version_exits_1(home: Path, tmp_path: Path) -> None:
    generated(5, seed=9).to_csv(tmp_path / "in.csv", index=False)

    result = batch_cli(home, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.parquet",
                       "--model", f"models:/{NAME}/99")

    assert result.exit_code == 1
    assert f"model '{NAME}' has no version 99" in result.output


# --- the Spark engine -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local[2] session for the module (a session costs seconds); the engine reuses it and leaves it running."""
    if shutil.which("java") is None:
        cannot_run("SPARK ENGINE TESTS", "no `java` on PATH (apt-get install openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_PYTHON", sys.executable)  # read once, when the context starts
        session = (SparkSession.builder.master("local[2]").appName("specscan tests")
                   .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                   .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    # py4j logs at INFO while closing connections at exit, when pytest has closed the streams logging writes to
    logging.getLogger("py4j").setLevel(logging.WARNING)


def read_output(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def assert_same_output(spark_output: Path, local_output: Path) -> None:
    ours, theirs = read_output(spark_output), read_output(local_output)
    assert ours["id"].tolist() == theirs["id"].tolist()  # part files in input order
    assert ours["label"].tolist() == theirs["label"].tolist()
    np.testing.assert_allclose(ours["probability"], theirs["probability"], rtol=0, atol=1e-6)
    assert ours[["model_name", "model_version"]].equals(theirs[["model_name", "model_version"]])


@pytest.mark.spark
@pytest.mark.slow
def test_spark_engine_scores_a_csv_as_the_local_engine_does(spark: Any, champion: tuple[Path, int],
                                                            tmp_path: Path) -> None:
    from specscan.batch.spark import score_spark

    scored_ids, expected_errors = write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))
    local = score_local(job(tmp_path / "in.csv", tmp_path / "local.parquet", champion), progress=False)
    shutil.copy(tmp_path / "local.parquet", tmp_path / "spark.parquet")  # an earlier output, a file

    result = score_spark(job(tmp_path / "in.csv", tmp_path / "spark.parquet", champion), spark=spark, progress=False)

    assert (tmp_path / "spark.parquet").is_dir()  # Spark's convention: a directory of part files
    assert {f.name: f.type for f in pq.read_schema(next((tmp_path / "spark.parquet").glob("*.parquet")))} \
        == OUTPUT_TYPES
    assert_same_output(tmp_path / "spark.parquet", tmp_path / "local.parquet")
    assert read_output(tmp_path / "spark.parquet")["id"].tolist() == scored_ids
    assert read_errors(tmp_path / "spark.errors.csv") == expected_errors
    assert (tmp_path / "spark.errors.csv").read_bytes() == (tmp_path / "local.errors.csv").read_bytes()
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == \
        (local.rows_read, local.rows_scored, local.rows_rejected)
    assert result.errors_file == tmp_path / "spark.errors.csv"
    assert leftovers(tmp_path) == []
    assert not spark.sparkContext._jsc.sc().isStopped()  # a session it was given is left running


ODD_TEXTS = ["Cable sheath, PVC, Pb 0,40 wt.-%", "PB_PPM=850; CD_MGKG=<5; HG=ND", "0000000", "9" * 900,
             "Bremsbelag тормоз 刹车片 Pb 0.2 %", "😀 brake pad, E-mark 🚫", "Ｐｂ ０.３ ％ in PVC", "a\tb\nc 0.3 %"]


@pytest.mark.spark
@pytest.mark.slow
def test_spark_engine_scores_odd_texts_and_bytes_that_are_not_utf8_as_the_local_engine_does(
        spark: Any, champion: tuple[Path, int], tmp_path: Path) -> None:
    from specscan.batch.spark import score_spark

    records = [csv_record(f"T{i}", text).encode() for i, text in enumerate(ODD_TEXTS)]
    records += [b"B1,\xed\xa0\x80 lead 0.3 % in PVC", b"B2,Pb \xff\xfe 0.3 %"]  # not UTF-8: read as U+FFFD
    (tmp_path / "in.csv").write_bytes(b"id,text\n" + b"\n".join(records) + b"\n")
    score_local(job(tmp_path / "in.csv", tmp_path / "local.parquet", champion), progress=False)

    result = score_spark(job(tmp_path / "in.csv", tmp_path / "spark.parquet", champion), spark=spark, progress=False)

    assert result.rows_scored == len(ODD_TEXTS) + 2 and result.rows_rejected == 0
    assert_same_output(tmp_path / "spark.parquet", tmp_path / "local.parquet")


@pytest.mark.spark
@pytest.mark.slow
def test_spark_engine_numbers_parquet_rows_across_partitions(spark: Any, champion: tuple[Path, int],
                                                             tmp_path: Path) -> None:
    from specscan.batch.spark import score_spark

    frame = generated(240, seed=10)
    texts = frame["text"].tolist()
    texts[4], texts[150], texts[239] = "", "x" * (MAX_CHARS + 1), None
    pq.write_table(pa.table({"id": frame["id"].tolist(), "text": texts}), tmp_path / "in.parquet", row_group_size=30)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")  # several row groups, several partitions
    try:
        assert spark.read.parquet(str(tmp_path / "in.parquet")).rdd.getNumPartitions() > 2
        score_spark(job(tmp_path / "in.parquet", tmp_path / "spark.parquet", champion), spark=spark, progress=False)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    score_local(job(tmp_path / "in.parquet", tmp_path / "local.parquet", champion), chunk_rows=64, progress=False)

    assert_same_output(tmp_path / "spark.parquet", tmp_path / "local.parquet")
    assert read_errors(tmp_path / "spark.errors.csv") == read_errors(tmp_path / "local.errors.csv")
    assert sorted(read_errors(tmp_path / "spark.errors.csv")) == [5, 151, 240]


@pytest.mark.spark
@pytest.mark.slow
def test_spark_engine_on_error_fail_exits_4_before_writing(spark: Any, home: Path, tmp_path: Path) -> None:
    write_with_bad_rows(tmp_path / "in.csv", generated(300, seed=6))

    result = batch_cli(home, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.parquet",
                       "--engine", "spark", "--spark-master", "local[2]", "--on-error", "fail")

    assert result.exit_code == 4, result.output
    assert "row 5 (id B5): malformed CSV row: 4 fields, the header has 3" in result.output
    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "out.errors.csv").exists()
    assert leftovers(tmp_path) == []

"""The Spark engine: the local engine's row checks and predictor, run in `mapInPandas` on executors.

The output is a Parquet *directory* at `job.output`, as Spark writes it (one part file per
partition, part files in input order); rejected rows go to one CSV file, as with the local engine.
Input, output and errors file must be on a filesystem that the driver and every executor see
(any local path with a `local[...]` master). Each executor must have specscan installed; the
model bundle is shipped to it with `SparkContext.addFile`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark import SparkFiles, StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from specscan.artifact.bundle import read_manifest
from specscan.batch.local import (
    CHUNK_ROWS,
    BatchJob,
    BatchResult,
    check_paths,
    commit_errors,
    commit_path,
    first_bad_row,
    partial_path,
)
from specscan.batch.rows import ERROR_COLUMNS, InputFile, RowError, check_input

if TYPE_CHECKING:
    from specscan.artifact.predictor import Predictor

SPARK_MASTER = "local[*]"
MALFORMED = "_specscan_malformed"  # Spark's corrupt-record column: the raw text of a malformed CSV record
RESULTS = "row long, id string, label string, probability double, reason string"

LOG4J2_QUIET = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n%ex
"""

_PREDICTORS: dict[tuple[str, int], Predictor] = {}
"""Per Python worker process (workers are reused): the loaded bundle, so each worker loads it once."""


def score_spark(job: BatchJob, *, master: str = SPARK_MASTER, spark: SparkSession | None = None,
                chunk_rows: int = CHUNK_ROWS, progress: bool = True) -> BatchResult:
    """Score `job.input` with Spark into a Parquet directory at `job.output`, rejected rows into the errors file.

    Uses `spark` if given (and leaves it running), else the active session, else starts one on
    `master` and stops it at the end.
    """
    started = time.perf_counter()
    source = check_input(job.input, id_column=job.id_column, text_column=job.text_column)
    check_paths(job)
    read_manifest(job.bundle_dir)  # a bad bundle fails here, not in every executor
    with warnings.catch_warnings():
        # pyspark 4 warns that pandas 3 is new to it; mapInPandas only passes plain columns through it
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        session, owned = (spark, False) if spark is not None else _session(master, progress=progress)
        try:
            session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(chunk_rows))
            return _run(session, source, job, started=started)
        finally:
            if owned:
                session.stop()


def _session(master: str, *, progress: bool) -> tuple[SparkSession, bool]:
    """The active session, or a new one on `master` (which the caller then owns and stops)."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    if master.startswith("local"):  # workers must import specscan: use this interpreter unless told otherwise
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory(prefix="specscan-spark-") as tmp:
        # Spark's defaults print INFO and WARN lines at startup; warn at the root keeps Spark from
        # announcing its shell log level, and setLogLevel below leaves only errors once it runs
        log_config = Path(tmp) / "log4j2.properties"  # read once, when the driver JVM starts
        log_config.write_text(LOG4J2_QUIET)
        session = (SparkSession.builder.master(master).appName("specscan batch-score")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config.as_uri()}")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", str(progress).lower())
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session, True


def _run(spark: SparkSession, source: InputFile, job: BatchJob, *, started: float) -> BatchResult:
    numbered = _numbered(_read(spark, source, job))
    parallelism = spark.sparkContext.defaultParallelism
    if numbered.rdd.getNumPartitions() < parallelism:  # a CSV file is read as one partition
        numbered = numbered.repartitionByRange(parallelism, "row")
    bundle_dir = job.bundle_dir.resolve()
    spark.sparkContext.addFile(str(bundle_dir), recursive=True)
    scorer = partial(_score_batches, bundle=bundle_dir.name, threads=int(spark.conf.get("spark.task.cpus", "1")),
                    max_text_chars=job.max_text_chars, width=len(source.columns),
                    id_index=source.columns.index(job.id_column), malformed=MALFORMED in numbered.columns)
    reason = F.col("reason")
    if job.on_error == "fail":  # find the first bad row before scoring anything
        first = (numbered.mapInPandas(partial(scorer, score=False), RESULTS)
                 .where(reason.isNotNull()).orderBy("row").first())
        if first is not None:
            raise first_bad_row(job.input, RowError(row=first["row"], id=first["id"], reason=first["reason"]))
    results = numbered.mapInPandas(partial(scorer, score=True), RESULTS).persist(StorageLevel.MEMORY_AND_DISK)
    output_partial, errors_partial = partial_path(job.output), partial_path(job.errors_file)
    errors_dir = job.errors_file.with_name(f"{job.errors_file.name}.spark")
    try:
        read, rejected = results.agg(F.count(F.lit(1)), F.count(reason)).first()
        (results.where(reason.isNull())
         .select("id", "label", "probability", F.lit(job.model_name).alias("model_name"),
                 F.lit(job.model_version).cast("int").alias("model_version"))
         .write.mode("overwrite").parquet(str(output_partial.resolve())))
        if rejected:
            _write_errors(results.where(reason.isNotNull()).select(*ERROR_COLUMNS), errors_dir, errors_partial)
        errors_file = commit_errors(errors_partial, job.errors_file, rejected)
        commit_path(output_partial, job.output)
    except BaseException:
        shutil.rmtree(output_partial, ignore_errors=True)
        errors_partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(errors_dir, ignore_errors=True)
        results.unpersist()
    return BatchResult(rows_read=read, rows_scored=read - rejected, rows_rejected=rejected, output=job.output,
                       errors_file=errors_file, seconds=time.perf_counter() - started)


def _column(name: str) -> Column:
    """A top-level column by its exact name (dots and backticks are not paths)."""
    return F.col("`" + name.replace("`", "``") + "`")


def _read(spark: SparkSession, source: InputFile, job: BatchJob) -> DataFrame:
    """The input as (id as text, text[, raw text of malformed CSV records])."""
    path = str(source.path.resolve())
    keep = [_column(job.id_column).cast("string").alias("id"), _column(job.text_column).alias("text")]
    if source.format == "parquet":
        return spark.read.parquet(path).select(*keep)
    # Every column as text, header names from the file; multiLine so that quoted values may span
    # lines (as in the local engine) and so that malformed records get MALFORMED set.
    schema = StructType([StructField(c, StringType()) for c in source.columns] + [StructField(MALFORMED, StringType())])
    frame = spark.read.schema(schema).csv(path, header=True, multiLine=True, escape='"', mode="PERMISSIVE",
                                          columnNameOfCorruptRecord=MALFORMED, inferSchema=False)
    return frame.select(*keep, F.col(MALFORMED))


def _numbered(frame: DataFrame) -> DataFrame:
    """Each row with its 1-based row number in file order (partition offsets + position in partition)."""
    partition, position = F.spark_partition_id(), F.monotonically_increasing_id()  # position: pid << 33 | index
    if frame.rdd.getNumPartitions() == 1:
        return frame.withColumn("row", position + 1)
    counts = dict(frame.groupBy(partition.alias("p")).count().collect())
    offsets, total = [], 0
    for p in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(p, 0)
    offset = F.element_at(F.array(*[F.lit(o).cast("long") for o in offsets]), partition + 1)
    return frame.withColumn("row", offset + position - F.shiftleft(partition.cast("long"), 33) + 1)


def _write_errors(errors: DataFrame, staging: Path, target: Path) -> None:
    """The rejected rows, sorted by row, as one CSV file at `target` (same format as the local engine's)."""
    (errors.repartition(1).sortWithinPartitions("row").write.mode("overwrite")
     .csv(str(staging.resolve()), header=True, escape='"', ignoreLeadingWhiteSpace=False,
          ignoreTrailingWhiteSpace=False))
    (part,) = staging.glob("part-*.csv")
    shutil.move(part, target)


# --- on the executors ------------------------------------------------------------------------------


def _predictor(bundle_dir: str, threads: int) -> Predictor:
    from specscan.artifact.predictor import Predictor

    key = (bundle_dir, threads)
    if key not in _PREDICTORS:
        _PREDICTORS.clear()  # one bundle per worker at a time: keep the cache tiny
        _PREDICTORS[key] = Predictor(Path(bundle_dir), intra_op_threads=threads)
    return _PREDICTORS[key]


def _score_batches(batches: Iterator[pd.DataFrame], *, bundle: str, threads: int,
                   max_text_chars: int, width: int, id_index: int, malformed: bool,
                   score: bool) -> Iterator[pd.DataFrame]:
    """Check and score Arrow batches of (row, id, text[, malformed]); yield scored rows and rejected rows."""
    from specscan.batch.local import label_names
    from specscan.batch.rows import check_rows, malformed_row

    predictor = _predictor(SparkFiles.get(bundle), threads) if score else None
    for frame in batches:
        errors: list[RowError] = []
        if malformed:
            bad = frame[MALFORMED].notna()
            errors = [malformed_row(int(row), line, width=width, id_index=id_index)
                      for row, line in zip(frame.loc[bad, "row"], frame.loc[bad, MALFORMED], strict=True)]
            frame = frame.loc[~bad]
        checked = check_rows(frame, frame["row"].to_numpy(), id_column="id", text_column="text",
                             max_text_chars=max_text_chars)
        errors = sorted([*errors, *checked.errors], key=lambda e: e.row)
        if predictor is not None and checked.ids:
            probabilities = predictor.predict_proba(checked.texts)
            yield pd.DataFrame({
                "row": checked.rows, "id": pd.Series(checked.ids, dtype=object),
                "label": pd.Series(label_names(probabilities, predictor.manifest), dtype=object),
                "probability": probabilities.astype(np.float64), "reason": pd.Series([None] * len(checked.ids),
                                                                                       dtype=object)})
        if errors:
            yield pd.DataFrame({
                "row": np.asarray([e.row for e in errors], dtype=np.int64),
                "id": pd.Series([e.id for e in errors], dtype=object),
                "label": pd.Series([None] * len(errors), dtype=object),
                "probability": np.full(len(errors), np.nan), "reason": pd.Series([e.reason for e in errors],
                                                                                  dtype=object)})

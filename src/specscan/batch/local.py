"""The local batch engine: stream a CSV or Parquet file through the predictor into one Parquet file.

Memory stays flat in the input size: the input is read, scored and written in chunks of
`chunk_rows` rows. The output is written to `<output>.partial` and renamed when the whole input
has been scored, so a failed run leaves no output behind (and an earlier output untouched).
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from specscan.artifact.bundle import BundleManifest
from specscan.artifact.predictor import Predictor
from specscan.batch.rows import ERROR_COLUMNS, InputFile, RowError, check_input, check_rows, malformed_row
from specscan.errors import DataValidationError, SpecscanError

OnError = Literal["skip", "fail"]
CHUNK_ROWS = 16_384
CSV_BLOCK_BYTES = 1 << 20
OUTPUT_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("label", pa.string()),
    ("probability", pa.float64()),  # the model's float32 probability of non_compliant, widened
    ("model_name", pa.string()),
    ("model_version", pa.int32()),  # null when scored with an unregistered bundle directory
])


class BatchJob(BaseModel):
    """What to score, with which model, and what to do with rows that cannot be scored."""

    model_config = ConfigDict(frozen=True)

    input: Path
    output: Path
    bundle_dir: Path
    model_name: str
    model_version: int | None = None
    max_text_chars: int = Field(gt=0)
    id_column: str = "id"
    text_column: str = "text"
    on_error: OnError = "skip"
    errors: Path | None = None

    @property
    def errors_file(self) -> Path:
        """Where rejected rows go: `errors`, else `<output stem>.errors.csv` beside the output."""
        return self.errors or self.output.with_name(f"{self.output.stem}.errors.csv")


class BatchResult(BaseModel):
    """What a batch run did; `errors_file` is None when no row was rejected."""

    rows_read: int
    rows_scored: int
    rows_rejected: int
    output: Path
    errors_file: Path | None
    seconds: float

    @property
    def rows_per_second(self) -> float:
        """Input rows per second of wall time."""
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def score_local(job: BatchJob, *, chunk_rows: int = CHUNK_ROWS, progress: bool = True,
                predictor: Predictor | None = None) -> BatchResult:
    """Score `job.input` in chunks into `job.output` (Parquet) and the rejected rows into the errors file."""
    started = time.perf_counter()
    source = check_input(job.input, id_column=job.id_column, text_column=job.text_column)
    check_paths(job)
    predictor = predictor or Predictor(job.bundle_dir)
    output_partial, errors_partial = partial_path(job.output), partial_path(job.errors_file)
    read = scored = 0
    try:
        with ExitStack() as stack:
            chunks = stack.enter_context(_open_chunks(source, job, chunk_rows))
            writer = stack.enter_context(pq.ParquetWriter(output_partial, OUTPUT_SCHEMA))
            errors = stack.enter_context(ErrorWriter(errors_partial))
            bar = stack.enter_context(tqdm(total=chunks.total, unit=chunks.unit, unit_scale=True, desc="scoring",
                                           disable=not progress, file=sys.stderr, leave=False))
            for chunk in chunks:
                checked = check_rows(chunk.table, chunk.rows, id_column=job.id_column, text_column=job.text_column,
                                     max_text_chars=job.max_text_chars)
                rejected = sorted([*chunk.malformed, *checked.errors], key=lambda e: e.row)
                if rejected and job.on_error == "fail":
                    raise first_bad_row(job.input, rejected[0])
                errors.write(rejected)
                probabilities = predictor.predict_proba(checked.texts)
                if checked.ids:
                    writer.write_table(output_table(checked.ids, probabilities, predictor.manifest, job))
                read += len(chunk.rows) + len(chunk.malformed)
                scored += len(checked.ids)
                bar.update(chunks.position() - bar.n)
        errors_file = commit_errors(errors_partial, job.errors_file, errors.count)
        commit_path(output_partial, job.output)
    except BaseException:
        output_partial.unlink(missing_ok=True)
        errors_partial.unlink(missing_ok=True)
        raise
    return BatchResult(rows_read=read, rows_scored=scored, rows_rejected=errors.count, output=job.output,
                       errors_file=errors_file, seconds=time.perf_counter() - started)


def output_table(ids: list[str], probabilities: np.ndarray, manifest: BundleManifest, job: BatchJob) -> pa.Table:
    """The output rows for scored ids: label at the bundle's threshold, probability widened to float64."""
    n = len(ids)
    return pa.table({
        "id": pa.array(ids, pa.string()),
        "label": pa.array(label_names(probabilities, manifest), pa.string()),
        "probability": pa.array(probabilities.astype(np.float64), pa.float64()),
        "model_name": pa.array([job.model_name] * n, pa.string()),
        "model_version": pa.array([job.model_version] * n, pa.int32()),
    }, schema=OUTPUT_SCHEMA)


def label_names(probabilities: np.ndarray, manifest: BundleManifest) -> np.ndarray:
    """`texts.label_of` each probability of the positive class, at the bundle's threshold, as an object array."""
    # compared in float64, as label_of compares: in float32 a threshold such as 0.9 would round down to
    # float32(0.9), and a probability of exactly that would get the other label than in the service
    positive = probabilities.astype(np.float64) >= manifest.threshold
    return np.asarray(manifest.labels, dtype=object)[positive.astype(np.intp)]


def first_bad_row(path: Path, error: RowError) -> DataValidationError:
    """The error that stops an `on_error="fail"` run: which row and why."""
    where = f"row {error.row}" + (f" (id {error.id})" if error.id is not None else "")
    return DataValidationError(f"{path}: {where}: {error.reason}; nothing written "
                               "(on-error skip sets such rows aside and scores the rest)")


def check_paths(job: BatchJob) -> None:
    """Refuse an output or errors file that would overwrite the input; create their directories."""
    targets = {"output": job.output, "errors file": job.errors_file}
    for name, target in targets.items():
        if target.resolve() == job.input.resolve():
            raise SpecscanError(f"the {name} {target} is the input file")
        target.parent.mkdir(parents=True, exist_ok=True)
    if job.output.resolve() == job.errors_file.resolve():
        raise SpecscanError(f"the output and the errors file are both {job.output}")


def partial_path(path: Path) -> Path:
    """Where a file is written before it is complete."""
    return path.with_name(f"{path.name}.partial")


def commit_path(partial: Path, final: Path) -> None:
    """Move a completed file or directory into place, replacing what was there (a file or a directory)."""
    if final.is_dir() and not final.is_symlink():
        shutil.rmtree(final)
    elif partial.is_dir() and (final.exists() or final.is_symlink()):
        final.unlink()
    os.replace(partial, final)


def commit_errors(partial: Path, final: Path, count: int) -> Path | None:
    """Keep the errors file if rows were rejected; otherwise remove it (and any stale one)."""
    if count:
        commit_path(partial, final)
        return final
    partial.unlink(missing_ok=True)
    final.unlink(missing_ok=True)  # an errors file from an earlier run would describe another output
    return None


class ErrorWriter:
    """The errors CSV (row, id, reason), created at the first rejected row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._stack = ExitStack()
        self._writer: csv.DictWriter[str] | None = None

    def write(self, errors: list[RowError]) -> None:
        if not errors:
            return
        if self._writer is None:
            handle = self._stack.enter_context(self.path.open("w", encoding="utf-8", newline=""))
            self._writer = csv.DictWriter(handle, fieldnames=ERROR_COLUMNS, lineterminator="\n")
            self._writer.writeheader()
        self._writer.writerows({"row": e.row, "id": e.id, "reason": e.reason} for e in errors)
        self.count += len(errors)

    def __enter__(self) -> ErrorWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stack.close()


# --- reading the input in numbered chunks ---------------------------------------------------------


@dataclass
class _Chunk:
    table: pa.Table  # the id (as text) and text columns
    rows: np.ndarray  # int64 row number of each table row
    malformed: list[RowError] = field(default_factory=list)  # CSV records set aside before or among them


class _Chunks(ABC):
    """An input file as numbered chunks, with how far through it the reading is (for progress)."""

    total: int
    unit: str

    def __init__(self, source: InputFile, job: BatchJob, chunk_rows: int) -> None:
        self.source, self.job, self.chunk_rows = source, job, chunk_rows
        self._stack = ExitStack()

    def __enter__(self) -> _Chunks:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stack.close()

    @abstractmethod
    def position(self) -> int:
        """Progress so far, in `unit`."""

    @abstractmethod
    def __iter__(self) -> Iterator[_Chunk]:
        """The chunks in file order."""

    def _tables(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
        """The input re-cut into tables of chunk_rows rows, the id column as text."""
        try:
            for table in _recut(batches, self.chunk_rows):
                yield _id_as_text(table, self.job.id_column, self.source.path)
        except pa.ArrowInvalid as exc:
            raise DataValidationError(f"{self.source.path}: cannot read: {exc}") from exc


class _CsvChunks(_Chunks):
    """CSV records, numbered; records with the wrong field count are set aside as malformed."""

    def __init__(self, source: InputFile, job: BatchJob, chunk_rows: int) -> None:
        super().__init__(source, job, chunk_rows)
        self.total, self.unit = source.path.stat().st_size, "B"
        self._malformed: list[RowError] = []  # appended by the parser, in file order
        self._taken = 0
        self._next_row = 1
        self._file = self._stack.enter_context(pa.OSFile(str(source.path)))
        width, id_index = len(source.columns), source.columns.index(job.id_column)

        def set_aside(row: pacsv.InvalidRow) -> str:
            if row.number is None:  # only known to a single-threaded reader, which this is
                raise RuntimeError("the CSV reader did not number an invalid row")
            # InvalidRow.number counts records from 1 including the header: data row = number - 1
            self._malformed.append(malformed_row(row.number - 1, row.text, width=width, id_index=id_index))
            return "skip"

        try:
            self._reader = pacsv.open_csv(
                self._file,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=set_aside),
                convert_options=pacsv.ConvertOptions(
                    include_columns=list(dict.fromkeys((job.id_column, job.text_column))),
                    # the text as bytes, decoded row by row (bytes that are not UTF-8 become U+FFFD, as in Spark)
                    column_types={job.id_column: pa.string(), job.text_column: pa.binary()}))
        except pa.ArrowInvalid as exc:
            self._stack.close()
            raise DataValidationError(f"{source.path}: cannot read: {exc}") from exc

    def position(self) -> int:
        return int(self._file.tell())

    def __iter__(self) -> Iterator[_Chunk]:
        for table in self._tables(iter(self._reader)):
            rows, malformed = self._number(table.num_rows)
            yield _Chunk(table, rows, malformed)
        trailing = self._malformed[self._taken:]
        if trailing:
            self._taken = len(self._malformed)
            yield _Chunk(self._reader.schema.empty_table(), np.zeros(0, dtype=np.int64), trailing)

    def _number(self, n: int) -> tuple[np.ndarray, list[RowError]]:
        """Row numbers for the next n parsed records, skipping (and returning) malformed ones among them."""
        rows = np.empty(n, dtype=np.int64)
        taken: list[RowError] = []
        filled = 0
        while filled < n:
            skipped = self._malformed[self._taken].row if self._taken < len(self._malformed) else None
            run = n - filled if skipped is None else min(n - filled, skipped - self._next_row)
            rows[filled : filled + run] = np.arange(self._next_row, self._next_row + run)
            filled, self._next_row = filled + run, self._next_row + run
            if filled < n:  # the next record number is a malformed record's
                taken.append(self._malformed[self._taken])
                self._taken, self._next_row = self._taken + 1, self._next_row + 1
        return rows, taken


class _ParquetChunks(_Chunks):
    """Parquet rows, numbered in file order (memory bounded by the file's row-group size)."""

    def __init__(self, source: InputFile, job: BatchJob, chunk_rows: int) -> None:
        super().__init__(source, job, chunk_rows)
        self._file = self._stack.enter_context(pq.ParquetFile(source.path))
        self.total, self.unit = self._file.metadata.num_rows, "rows"
        self._done = 0

    def position(self) -> int:
        return self._done

    def __iter__(self) -> Iterator[_Chunk]:
        columns = list(dict.fromkeys((self.job.id_column, self.job.text_column)))
        for table in self._tables(self._file.iter_batches(batch_size=self.chunk_rows, columns=columns)):
            rows = np.arange(self._done + 1, self._done + 1 + table.num_rows, dtype=np.int64)
            self._done += table.num_rows
            yield _Chunk(table, rows)


def _open_chunks(source: InputFile, job: BatchJob, chunk_rows: int) -> _Chunks:
    return (_CsvChunks if source.format == "csv" else _ParquetChunks)(source, job, chunk_rows)


def _recut(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    """Record batches of any size as tables of `size` rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def _id_as_text(table: pa.Table, id_column: str, path: Path) -> pa.Table:
    """Ids are text in the output: integer ids (Parquet) become their decimal digits."""
    ids = table.column(id_column)
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        return table
    try:
        text = pc.cast(ids, pa.string())
    except pa.ArrowNotImplementedError as exc:
        raise DataValidationError(f"{path}: id column {id_column!r} of type {ids.type} cannot be read as text") from exc
    return table.set_column(table.schema.get_field_index(id_column), id_column, text)

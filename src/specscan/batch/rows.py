"""Which input files and rows the batch engines accept, and why the others are rejected.

Both engines call these functions, so they accept exactly the same rows. Row numbers are
1-based data records in file order: the header is not a row, blank lines are not rows, and a
quoted value that spans lines belongs to one row.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from specscan.errors import DataValidationError
from specscan.texts import character_problem, text_problem

InputFormat = Literal["csv", "parquet"]
FORMATS: dict[str, InputFormat] = {".csv": "csv", ".parquet": "parquet"}
ERROR_COLUMNS = ("row", "id", "reason")
Chunk = pd.DataFrame | pa.Table | pa.RecordBatch


@dataclass(frozen=True)
class RowError:
    """One rejected input row: where it is, its id if it has one, and why."""

    row: int
    id: str | None
    reason: str


@dataclass(frozen=True)
class CheckedRows:
    """A chunk split into the rows to score (in input order) and the rejected ones."""

    rows: np.ndarray  # int64 [n]: row numbers of the accepted rows
    ids: list[str]
    texts: list[str]
    errors: list[RowError]


@dataclass(frozen=True)
class InputFile:
    """An input file that exists, has a known format and holds the id and text columns."""

    path: Path
    format: InputFormat
    columns: tuple[str, ...]


def check_input(path: Path, *, id_column: str, text_column: str) -> InputFile:
    """The input's format and columns; DataValidationError if either engine could not read it."""
    if not path.exists():
        raise DataValidationError(f"{path}: no such file")
    if not path.is_file():
        raise DataValidationError(f"{path}: not a file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataValidationError(f"{path}: unknown input format {path.suffix or '(no extension)'!r}; "
                                  f"use {' or '.join(FORMATS)}")
    columns = _csv_header(path) if fmt == "csv" else _parquet_columns(path)
    missing = [c for c in dict.fromkeys((id_column, text_column)) if c not in columns]
    if missing:
        raise DataValidationError(f"{path}: missing column(s) {', '.join(missing)} "
                                  f"(found: {', '.join(columns) or 'none'})")
    return InputFile(path=path, format=fmt, columns=columns)


def _csv_header(path: Path) -> tuple[str, ...]:
    try:
        # surrogateescape: bytes after the header that are not UTF-8 are the rows' business, not the header's
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            header = next(csv.reader(handle), None)
    except csv.Error as exc:
        raise DataValidationError(f"{path}: unreadable CSV header: {exc}") from exc
    if not header:
        raise DataValidationError(f"{path}: file is empty (no header row)")
    if any(character_problem(name) for name in header):
        raise DataValidationError(f"{path}: unreadable CSV header: it is not UTF-8")
    return tuple(header)


def _parquet_columns(path: Path) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    try:
        return tuple(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(f"{path}: not a readable Parquet file: {exc}") from exc


def check_rows(chunk: Chunk, rows: Sequence[int] | np.ndarray, *, id_column: str, text_column: str,
               max_text_chars: int) -> CheckedRows:
    """Split a chunk (with the row number of each of its rows) into rows to score and rejected rows."""
    ids, texts = _values(chunk, id_column), _values(chunk, text_column)
    if not len(ids) == len(texts) == len(rows):
        raise ValueError(f"{len(rows)} row numbers for a chunk of {len(texts)} rows")
    keep: list[int] = []
    kept_ids: list[str] = []
    kept_texts: list[str] = []
    errors: list[RowError] = []
    for row, raw_id, text in zip((int(r) for r in rows), ids, texts, strict=True):
        row_id = None if _missing(raw_id) or not str(raw_id).strip() else str(raw_id)
        if row_id is None:
            errors.append(RowError(row=row, id=None, reason="id is missing"))
            continue
        # a missing cell is an empty text: CSV readers differ on whether an empty field is null
        problem = text_problem("" if _missing(text) else text, max_chars=max_text_chars)
        if problem is not None:
            errors.append(RowError(row=row, id=row_id, reason=f"text {problem}"))
            continue
        keep.append(row)
        kept_ids.append(row_id)
        kept_texts.append(str(text))  # a str: text_problem passed it
    return CheckedRows(rows=np.asarray(keep, dtype=np.int64), ids=kept_ids, texts=kept_texts, errors=errors)


def _values(chunk: Chunk, column: str) -> list[object]:
    if isinstance(chunk, pd.DataFrame):
        return list(chunk[column].tolist())
    values = chunk.column(column)
    if pa.types.is_binary(values.type):  # CSV text read as bytes: what is not UTF-8 becomes U+FFFD
        return [None if v is None else v.decode("utf-8", errors="replace") for v in values.to_pylist()]
    return list(values.to_pylist())


def _missing(value: object) -> bool:
    # None from Arrow; NaN or pd.NA from pandas columns with gaps
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def malformed_row(row: int, line: str, *, width: int, id_index: int) -> RowError:
    """A CSV record whose field count differs from the header's, with its id if one can be read."""
    try:
        fields = next(csv.reader(io.StringIO(line)), [])
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        return RowError(row=row, id=None, reason=f"malformed CSV row: {exc}")
    row_id = fields[id_index] if id_index < len(fields) and fields[id_index].strip() else None
    return RowError(row=row, id=row_id,
                    reason=f"malformed CSV row: {len(fields)} fields, the header has {width}")

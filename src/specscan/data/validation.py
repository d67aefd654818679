"""Schema and content checks for labelled CSV files, with a finding per offending row.

Row numbers are 1-based data rows (the header is not a row), so row N is on line N + 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel

from specscan import LABELS
from specscan.errors import DataValidationError
from specscan.texts import duplicate_key, text_problem

REQUIRED_COLUMNS = ("text", "label")
LABEL_VALUES = {"compliant": 0, "non_compliant": 1, "0": 0, "1": 1}
MAX_FINDINGS_SHOWN = 5


class Finding(BaseModel):
    """One problem in a data file."""

    row: int | None  # None: the problem concerns the whole file
    column: str | None
    severity: Literal["error", "warning"]
    problem: str

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.problem}"


class ValidationReport(BaseModel):
    """What `validate_csv` found; `ok` when there is no error (warnings allowed)."""

    file: str
    n_rows: int
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line for a user: the file, the count of problems and the first few."""
        errors = self.errors
        if not errors:
            warnings = len(self.findings)
            return f"{self.file}: {self.n_rows} rows valid" + (f" ({warnings} warnings)" if warnings else "")
        shown = "; ".join(str(f) for f in errors[:MAX_FINDINGS_SHOWN])
        more = f"; and {len(errors) - MAX_FINDINGS_SHOWN} more" if len(errors) > MAX_FINDINGS_SHOWN else ""
        return f"{self.file}: {len(errors)} errors: {shown}{more}"


def unknown_label(label: str) -> str:
    """The problem of a label that is not one of LABEL_VALUES."""
    return f"unknown label {label[:40]!r}; use {' / '.join(LABELS)} or 0 / 1"


def decode_csv(raw: bytes, file: str) -> tuple[str | None, list[Finding]]:
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = f"not UTF-8: byte 0x{raw[exc.start]:02x} on line {line}; save the file as UTF-8"
        return None, [Finding(row=None if line == 1 else line - 1, column=None, severity="error", problem=problem)]


def _ragged_rows(text: str) -> list[Finding]:
    """Rows whose field count differs from the header's (pandas would shift or pad them)."""
    try:
        rows = csv.reader(io.StringIO(text))
        width = len(next(rows))
        return [
            Finding(
                row=number,
                column=None,
                severity="error",
                problem=f"not a valid CSV: {len(fields)} fields on line {number + 1}, "
                f"the header has {width} (check quotes and commas)",
            )
            for number, fields in enumerate(rows, start=1)
            if fields and len(fields) != width
        ]
    except csv.Error:
        return []  # pandas reports the malformed quoting below


def parse_csv(text: str) -> tuple[pd.DataFrame | None, list[Finding]]:
    if not text.strip():
        return None, [Finding(row=None, column=None, severity="error", problem="file is empty")]
    ragged = _ragged_rows(text)
    if ragged:
        return None, ragged
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except (pd.errors.ParserError, csv.Error) as exc:
        return None, [
            Finding(
                row=None, column=None, severity="error", problem=f"not a valid CSV: {str(exc).strip().splitlines()[-1]}"
            )
        ]
    except pd.errors.EmptyDataError:
        return None, [Finding(row=None, column=None, severity="error", problem="file is empty")]
    return frame, []


def _check_rows(frame: pd.DataFrame, *, max_text_chars: int) -> Iterable[Finding]:
    labels = frame["label"].astype(str).str.strip()
    first_seen: dict[str, tuple[int, str]] = {}
    for index, (text, label) in enumerate(zip(frame["text"], labels, strict=True)):
        row = index + 1
        if label not in LABEL_VALUES:
            yield Finding(row=row, column="label", severity="error", problem=unknown_label(label))
        problem = text_problem(text, max_chars=max_text_chars)
        if problem is not None:
            yield Finding(row=row, column="text", severity="error", problem=f"text {problem}")
            continue
        key = duplicate_key(text)
        if key in first_seen:
            first_row, first_label = first_seen[key]
            conflict = LABEL_VALUES.get(first_label) != LABEL_VALUES.get(label)
            yield Finding(
                row=row,
                column="text",
                severity="error" if conflict else "warning",
                problem=(
                    f"duplicate of row {first_row}"
                    + (" with a different label" if conflict else "; it will be dropped")
                ),
            )
        else:
            first_seen[key] = (row, label)


def validate_frame(frame: pd.DataFrame, *, file: str, max_text_chars: int) -> ValidationReport:
    """Check a frame read with every column as text."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        return ValidationReport(
            file=file,
            n_rows=len(frame),
            findings=[
                Finding(
                    row=None,
                    column=None,
                    severity="error",
                    problem=f"missing required column(s) {', '.join(missing)} (found: {found})",
                )
            ],
        )
    findings = list(_check_rows(frame, max_text_chars=max_text_chars))
    if "label_clean" in frame.columns:
        findings += [
            Finding(row=i + 1, column="label_clean", severity="error", problem=f"unknown label {value[:40]!r}")
            for i, value in enumerate(frame["label_clean"].astype(str).str.strip())
            if value not in LABEL_VALUES
        ]
    if frame.empty:
        findings.append(Finding(row=None, column=None, severity="error", problem="no data rows"))
    return ValidationReport(file=file, n_rows=len(frame), findings=findings)


def read_csv(path: Path, *, max_text_chars: int) -> tuple[pd.DataFrame | None, ValidationReport]:
    """Read and validate a labelled CSV; the frame is None when the file cannot be parsed."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, ValidationReport(
            file=file,
            n_rows=0,
            findings=[Finding(row=None, column=None, severity="error", problem=f"cannot read: {reason}")],
        )
    text, findings = decode_csv(raw, file)
    if text is None:
        return None, ValidationReport(file=file, n_rows=0, findings=findings)
    frame, findings = parse_csv(text)
    if frame is None:
        return None, ValidationReport(file=file, n_rows=0, findings=findings)
    return frame, validate_frame(frame, file=file, max_text_chars=max_text_chars)


def load_labelled(path: Path, *, max_text_chars: int) -> pd.DataFrame:
    """A validated frame with integer labels and duplicate texts dropped; raise on any error."""
    frame, report = read_csv(path, max_text_chars=max_text_chars)
    if frame is None or not report.ok:
        raise DataValidationError(report.summary())
    frame = frame.copy()
    frame["label"] = frame["label"].str.strip().map(LABEL_VALUES).astype("int64")
    if "label_clean" in frame.columns:
        frame["label_clean"] = frame["label_clean"].str.strip().map(LABEL_VALUES).astype("int64")
    return frame.loc[~frame["text"].map(duplicate_key).duplicated()].reset_index(drop=True)

"""Components to and from CSV: import a file with a report per row, export the labelled inventory for training.

A file is checked as the pipeline checks its data (`specscan.data.validation`: UTF-8, a CSV, no ragged rows,
row numbers counted the same way) and each row as the component form checks its fields
(`inventory.check_fields`). The valid rows go in as one bulk insert, pending: the retry worker classifies
them through the scoring service's batch endpoint. The export is the file `specscan pipeline run --data` reads.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.orm import Session, sessionmaker

from specscan import LABELS
from specscan.data.validation import LABEL_VALUES, Finding, decode_csv, parse_csv, unknown_label
from specscan.errors import DataValidationError
from specscan.settings import Settings
from specscan.texts import duplicate_key
from specscan.webapp import inventory
from specscan.webapp.audit import record
from specscan.webapp.models import AuditEntry, Component, Status, utcnow

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 100
TEXT_COLUMNS = ("text", "description")  # the first one present holds the description
FIELD_COLUMNS = ("part_number", "supplier", "category")
LABEL_COLUMN = "label"
EXCERPT_CHARS = 120
EXPORT_COLUMNS = ("text", "label", "id", "part_number", "supplier", "category", "model_label", "probability",
                  "model_version", "request_id", "reviewed_by", "reviewed_at")
EXPORT_CHUNK_ROWS = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


class FileRejected(DataValidationError):
    """A file that cannot be imported at all; `findings` say why. Nothing of it is written."""

    def __init__(self, file: str, findings: list[Finding], *, too_large: bool = False) -> None:
        super().__init__(f"{file}: " + "; ".join(str(f) for f in findings[:5]))
        self.file, self.findings, self.too_large = file, findings, too_large


class RowProblem(Finding):
    """A finding about one row, with the start of that row's description to recognise it by."""

    text: str = ""


@dataclass(frozen=True)
class ImportRow:
    fields: inventory.ComponentFields
    label: str | None  # the human label the file gives, if any


@dataclass(frozen=True)
class CheckedCsv:
    """An uploaded file, read and checked: the rows to import and the problems of the others."""

    file: str
    n_rows: int
    rows: list[ImportRow]
    problems: list[RowProblem]
    ignored_columns: list[str]

    @property
    def rejected(self) -> int:
        return len({p.row for p in self.problems if p.severity == "error"})

    @property
    def skipped(self) -> int:
        return len({p.row for p in self.problems if p.severity == "warning"})


@dataclass(frozen=True)
class ImportReport:
    """What an import did, for the page that shows it."""

    file: str
    n_rows: int
    imported: int
    labelled: int
    rejected: int
    skipped: int
    ignored_columns: list[str]
    problems: list[RowProblem]


def upload_name(filename: str | None) -> str:
    """The name of an uploaded file without its client-side folders and control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or "upload.csv"


def check_csv(raw: bytes, file: str, settings: Settings) -> CheckedCsv:
    """The rows of an uploaded CSV that can be imported, and a finding for each that cannot.

    Raises `FileRejected` when the file as a whole is unusable."""
    if len(raw) > MAX_BYTES:
        raise FileRejected(file, [_file_error(f"the file is over {MAX_BYTES // 2**20} MB; split it")], too_large=True)
    text, findings = decode_csv(raw, file)
    if text is None:
        raise FileRejected(file, findings)
    try:  # the first record only: a wide file is refused before it is parsed
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        header = []  # parse_csv names the problem
    if len(header) > MAX_COLUMNS:
        raise FileRejected(file, [_file_error(f"{len(header)} columns; the most is {MAX_COLUMNS}")])
    frame, findings = parse_csv(text)
    if frame is None:
        raise FileRejected(file, findings)
    columns = [str(name).strip().lower() for name in frame.columns]
    twice = sorted(name for name, count in Counter(columns).items() if count > 1)
    if twice:
        raise FileRejected(file, [_file_error(f"column(s) {', '.join(twice)} appear more than once")])
    text_column = next((name for name in TEXT_COLUMNS if name in columns), None)
    if text_column is None:
        found = ", ".join(columns) or "none"
        raise FileRejected(file, [_file_error(f"missing required column text (or description) for the "
                                              f"descriptions (found: {found})")])
    if frame.empty:
        raise FileRejected(file, [_file_error("no data rows")])
    if len(frame) > MAX_ROWS:
        raise FileRejected(file, [_file_error(f"{len(frame)} data rows; the most is {MAX_ROWS}: split the file")],
                           too_large=True)
    frame.columns = columns
    used = {text_column, *FIELD_COLUMNS, LABEL_COLUMN}
    rows, problems = _check_rows(frame.to_dict("records"), text_column, settings)
    return CheckedCsv(file=file, n_rows=len(frame), rows=rows, problems=problems,
                      ignored_columns=[name for name in columns if name not in used])


def _check_rows(records: list[dict[str, Any]], text_column: str,
                settings: Settings) -> tuple[list[ImportRow], list[RowProblem]]:
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    first_seen: dict[str, int] = {}
    for row, cells in enumerate(records, start=1):  # numbered as the pipeline's validation numbers them
        text = cells[text_column]
        excerpt = text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "")
        found: list[tuple[str, str]] = []
        fields = None
        try:
            fields = inventory.check_fields({"description": text, **{name: cells.get(name, "")
                                                                     for name in FIELD_COLUMNS}}, settings)
        except inventory.InputError as exc:
            found += [(text_column if name == "description" else name, problem)
                      for name, problem in exc.problems.items()]
        label = cells.get(LABEL_COLUMN, "").strip()
        if label and label not in LABEL_VALUES:
            found.append((LABEL_COLUMN, unknown_label(label)))
        if found or fields is None:
            problems += [RowProblem(row=row, column=column, severity="error", problem=f"{column} {problem}",
                                    text=excerpt) for column, problem in found]
            continue
        key = duplicate_key(fields.description)
        if key in first_seen:
            problems.append(RowProblem(row=row, column=text_column, severity="warning",
                                       problem=f"duplicate of row {first_seen[key]}; skipped", text=excerpt))
            continue
        first_seen[key] = row
        rows.append(ImportRow(fields, LABELS[LABEL_VALUES[label]] if label else None))
    return rows, problems


def _file_error(problem: str) -> Finding:
    return Finding(row=None, column=None, severity="error", problem=problem)


def save(db: Session, checked: CheckedCsv, *, actor: str) -> ImportReport:
    """Inserts the checked rows as pending components, with their audit entries (flushed, not committed)."""
    now = utcnow()
    reason = f"imported from {checked.file}"[:500]
    values = [{**row.fields.model_dump(), "version": 1, "status": Status.pending.value, "attempts": 0,
               "next_attempt_at": now, "needs_review": False, "human_label": row.label,
               "feedback_reason": reason if row.label else None, "reviewed_by": actor if row.label else None,
               "reviewed_at": now if row.label else None, "created_by": actor, "created_at": now,
               "updated_by": actor, "updated_at": now}
              for row in checked.rows]
    if values:
        # executemany, not INSERT .. RETURNING: psycopg parses a many-row statement in Python, 5x slower. The
        # rows are found again by the import's timestamp and importer, which no other transaction shares.
        db.execute(insert(Component), values)
        created = db.execute(select(Component.id, *(getattr(Component, name) for name in inventory.AUDITED))
                             .where(Component.created_at == now, Component.created_by == actor)).all()
        db.execute(insert(AuditEntry), [
            {"at": now, "actor": actor, "action": "component.create", "entity": "component",
             "entity_id": str(row.id), "before": None, "after": dict(zip(inventory.AUDITED, row[1:], strict=True))}
            for row in created])
    report = ImportReport(file=checked.file, n_rows=checked.n_rows, imported=len(checked.rows),
                          labelled=sum(row.label is not None for row in checked.rows), rejected=checked.rejected,
                          skipped=checked.skipped, ignored_columns=checked.ignored_columns,
                          problems=checked.problems)
    record(db, actor, "component.import", "import", None, None,
           {"file": report.file, "imported": report.imported, "rejected": report.rejected,
            "skipped": report.skipped})
    db.flush()
    return report


def _labelled(db: Session) -> Iterator[Row[Any]]:
    """The components with a human label, fetched in chunks; of those whose descriptions are the same to the
    pipeline (case and spacing aside) only the last reviewed, as training refuses one text with two labels."""
    query = (select(Component.description, Component.human_label, Component.id, Component.part_number,
                    Component.supplier, Component.category, Component.model_label, Component.probability,
                    Component.model_version, Component.request_id, Component.reviewed_by, Component.reviewed_at)
             .where(Component.human_label.is_not(None))
             .order_by(Component.reviewed_at.desc(), Component.id.desc())
             .execution_options(yield_per=EXPORT_CHUNK_ROWS))
    seen: set[bytes] = set()
    for row in db.execute(query):
        key = hashlib.blake2b(duplicate_key(row.description).encode(), digest_size=16).digest()
        if key not in seen:
            seen.add(key)
            yield row


def record_export(db: Session, *, actor: str) -> int:
    """Audits an export by `actor` (flushed, not committed); returns how many rows it will hold."""
    rows = sum(1 for _ in _labelled(db))
    record(db, actor, "component.export", "export", None, None, {"rows": rows})
    db.flush()
    return rows


def export_csv(sessions: sessionmaker, *, spreadsheet_safe: bool = False) -> Iterator[str]:
    """The labelled inventory as CSV text, a chunk of rows at a time: `text,label` and the metadata.

    spreadsheet_safe: a text cell that starts as a formula would (= + - @ tab CR) gets a leading
    apostrophe (OWASP's CSV-injection advice); the pipeline needs the verbatim export instead.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    with sessions() as db:
        for n, row in enumerate(_labelled(db), start=1):
            writer.writerow([_cell(value, spreadsheet_safe) for value in row])
            if n % EXPORT_CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object, spreadsheet_safe: bool) -> object:
    if value is None:
        return ""
    if spreadsheet_safe and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value.isoformat() if isinstance(value, datetime) else value

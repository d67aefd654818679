"""What a labelled file is, measured rather than assumed: where it came from, and how noisy its labels are.

`specscan data generate` leaves a note beside the CSV it writes (`<file>.origin.json`: generator version, seed,
revision, rows, the noise asked for, and the CSV's SHA-256, so a note that no longer matches its file is not
believed). The web app's labelled export is known by its columns. Label noise is the share of rows whose `label`
differs from `label_clean`; a file without `label_clean` cannot tell, so its noise is unknown (None)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

SIDECAR_SUFFIX = ".origin.json"
GENERATED, WEBAPP_EXPORT, UNKNOWN = "generated", "web app export", "unknown"
# columns only the web app's export has (webapp/transfer.py EXPORT_COLUMNS): who reviewed, which model answered
WEBAPP_EXPORT_MARKERS = frozenset({"model_label", "request_id", "reviewed_by", "reviewed_at"})


def sidecar_of(data: Path) -> Path:
    """Where the generator's note for `data` is kept."""
    return data.with_name(data.name + SIDECAR_SUFFIX)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_generated(data: Path, *, generator_version: str, revision: str, rows: int, noise: float,
                     seed: int) -> None:
    """Leaves the generator's note beside `data`, just written by it."""
    note = {"generator": "specscan data generate", "generator_version": generator_version, "revision": revision,
            "rows": rows, "noise": noise, "seed": seed, "sha256": _sha256(data)}
    sidecar_of(data).write_text(json.dumps(note, indent=2) + "\n")


def origin_of(data: Path, columns: list[str]) -> str:
    """One line naming where `data` came from: `generated (...)`, `web app export` or `unknown (...)`."""
    note_file = sidecar_of(data)
    if note_file.is_file():
        try:
            note = json.loads(note_file.read_text())
            matches = note.get("sha256") == _sha256(data)
        except (OSError, ValueError, AttributeError):
            note, matches = {}, False
        if matches:
            return (f"{GENERATED} (specscan data generate, generator {note.get('generator_version')}, seed "
                    f"{note.get('seed')}, revision {note.get('revision')}, {note.get('rows')} rows, "
                    f"noise asked {note.get('noise')})")
        return f"{UNKNOWN} ({note_file.name} does not match this file)"
    if {c.strip().lower() for c in columns} >= WEBAPP_EXPORT_MARKERS:
        return WEBAPP_EXPORT
    return f"{UNKNOWN} (no generator note and not the web app's export)"


def measured_label_noise(frame: pd.DataFrame) -> float | None:
    """The share of rows whose `label` differs from `label_clean`; None when the frame has no `label_clean`."""
    if "label_clean" not in frame.columns:
        return None
    if len(frame) == 0:
        return 0.0
    return float((frame["label"] != frame["label_clean"]).mean())


def sidecar_digest(data: Path) -> str:
    """The note's digest, "" without one: a step reading the note is keyed by it too."""
    note = sidecar_of(data)
    return _sha256(note) if note.is_file() else ""

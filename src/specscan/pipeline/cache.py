"""Content-addressed step outputs: a step whose inputs, config and code are unchanged is skipped."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DONE_MARKER = ".done"


def digest_path(path: Path) -> str:
    """SHA-256 of a file, or of a directory's files (names and contents), in a stable order."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file.name == DONE_MARKER:
            continue
        if file != path:  # length-prefixed name and size: ("a", "bc") never collides with ("ab", "c")
            name = file.relative_to(path).as_posix().encode()
            digest.update(len(name).to_bytes(8, "big") + name + file.stat().st_size.to_bytes(8, "big"))
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def step_key(step: str, *, inputs: Mapping[str, str], params: Any, code: str) -> str:
    """The cache key of one step execution."""
    payload = json.dumps({"step": step, "inputs": dict(inputs), "params": params, "code": code},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class StepResult:
    """Where a step's outputs are and whether they came from the cache."""

    step: str
    key: str
    output: Path
    cached: bool


def run_cached(root: Path, step: str, key: str, produce: Callable[[Path], None]) -> StepResult:
    """Run `produce(out_dir)` unless `root/step/key` is complete; publish atomically by rename.

    A step killed half-way leaves only a temporary directory, never a complete-looking output.
    """
    output = root / step / key
    if (output / DONE_MARKER).is_file():
        return StepResult(step, key, output, cached=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=output.parent))
    try:
        produce(work)
        (work / DONE_MARKER).write_text(key)
        if output.exists():  # an incomplete earlier attempt
            shutil.rmtree(output)
        work.rename(output)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return StepResult(step, key, output, cached=False)

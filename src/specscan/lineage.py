"""Where a model came from: code commit, data digest, package version."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import specscan


def git_state(cwd: Path | None = None) -> tuple[str, bool | None]:
    """(commit, dirty) of the source checkout, or ("unknown", None) outside git: whether it is dirty is unknown."""
    where = cwd or Path(specscan.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return commit, bool(status.strip())


def code_digest() -> str:
    """SHA-256 over specscan's own source files: what the step cache keys code changes by."""
    root = Path(specscan.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()

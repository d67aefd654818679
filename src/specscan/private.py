"""State on disk is private to the service user, whatever the umask: directories 0700, files 0600.

The home holds argon2 hashes, session rows, API key hashes and every scored text; SQLite creates
a database's -wal and -shm files with the database file's own mode, so creating that file 0600
first is enough for all three.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path) -> Path:
    """`path` created if missing, and made 0700 (an older, wider home is narrowed)."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    path.chmod(DIRECTORY_MODE)
    return path


def private_sqlite(url: str) -> None:
    """For a SQLite URL with a file: the file (and any -wal / -shm beside it) 0600, created empty if missing.

    A missing directory is created 0700; an existing one is left as it is (it may be shared).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(FILE_MODE)

"""API keys: random secrets shown once, stored only as SHA-256 hashes, each with a role.

A key reads `ssk_<id>_<secret>`: the id finds the record (and is what logs and collected
records name), the secret never leaves the caller. The keys are 256-bit random, so a plain
SHA-256 is the right hash (password hashing would only slow every request down).

A running service sees keys created or revoked by other processes within `CHECK_INTERVAL`: `verify`
stats the file at most that often and re-reads it when it changed. A file that exists but cannot be
read or parsed fails closed: no key is accepted (`KeysUnreadable`) until it can be read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, TypeAdapter

from specscan.errors import SpecscanError
from specscan.private import DIRECTORY_MODE, FILE_MODE

log = logging.getLogger(__name__)
Role = Literal["scorer", "admin"]
ROLES: tuple[Role, ...] = ("scorer", "admin")
PREFIX = "ssk"
KEY_PATTERN = re.compile(rf"{PREFIX}_[0-9a-f]{{8}}_[A-Za-z0-9_-]+")  # what a key looks like (to redact it)
GRANTS: dict[Role, frozenset[Role]] = {"scorer": frozenset({"scorer"}), "admin": frozenset({"scorer", "admin"})}
CHECK_INTERVAL = 0.5  # seconds: the longest a revoked key keeps working in a running service


class KeysUnreadable(SpecscanError):
    """The key file exists but cannot be read or parsed, so no key is accepted."""


class ApiKeyRecord(BaseModel):
    """What is stored of a key: never the key itself."""

    id: str
    role: Role
    sha256: str
    created: str
    note: str = ""


class Caller(BaseModel):
    """Who sent a request: the key's id and role."""

    key_id: str
    role: Role

    def may(self, role: Role) -> bool:
        """Whether this caller's role includes `role` (admin includes scorer)."""
        return role in GRANTS[self.role]


_RECORDS = TypeAdapter(list[ApiKeyRecord])


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKeyStore:
    """A JSON file of key records (mode 0600), re-read when it changes on disk."""

    def __init__(self, path: Path, *, check_interval: float = CHECK_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.check_interval = check_interval
        self._clock = clock
        self._records: dict[str, ApiKeyRecord] = {}
        self._stamp: tuple[int, int, int, int] | None = None
        self._problem: str | None = None
        self.refresh()
        self._checked = clock()

    def refresh(self) -> None:
        """Re-read the file if it changed since the last read; raise while it cannot be read."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._records, self._stamp, self._problem = {}, None, None
            return
        except OSError as exc:
            self._unreadable(exc, None)
        else:
            # a new file (os.replace) has a new inode; an in-place edit changes the size or the times
            stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            if stamp != self._stamp:
                try:
                    records = _RECORDS.validate_json(self.path.read_bytes())
                    self._records, self._stamp, self._problem = {r.id: r for r in records}, stamp, None
                except (OSError, ValueError) as exc:
                    self._unreadable(exc, stamp)
        if self._problem is not None:
            raise KeysUnreadable(self._problem)

    def _unreadable(self, exc: Exception, stamp: tuple[int, int, int, int] | None) -> None:
        """Fail closed: no key is accepted, so a broken file never undoes a revocation."""
        self._records, self._stamp = {}, stamp
        self._problem = f"cannot read API keys from {self.path}: {(str(exc).splitlines() or [type(exc).__name__])[0]}"

    def records(self) -> list[ApiKeyRecord]:
        return sorted(self._records.values(), key=lambda r: r.created)

    def create(self, role: Role, *, note: str = "") -> tuple[str, ApiKeyRecord]:
        """A new key with `role`; the key is returned once and only its hash is written."""
        self.refresh()  # keys another store or process wrote since our last read must survive this write
        key_id = secrets.token_hex(4)
        while key_id in self._records:
            key_id = secrets.token_hex(4)
        key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKeyRecord(id=key_id, role=role, sha256=_digest(key), note=note,
                              created=datetime.now(UTC).isoformat(timespec="seconds"))
        self._write([*self.records(), record])
        return key, record

    def revoke(self, key_id: str) -> ApiKeyRecord:
        """Delete a key's record; running services refuse it within `CHECK_INTERVAL`."""
        self.refresh()
        if key_id not in self._records:
            raise SpecscanError(f"no API key with id {key_id!r} in {self.path}")
        revoked = self._records[key_id]
        self._write([r for r in self.records() if r.id != key_id])
        return revoked

    def verify(self, key: str) -> Caller | None:
        """The caller a presented key belongs to, or None for an unknown or malformed key.

        Raises KeysUnreadable while the key file cannot be read."""
        self._check()
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        record = self._records.get(parts[1])
        if record is None or not hmac.compare_digest(record.sha256, _digest(key)):
            return None
        return Caller(key_id=record.id, role=record.role)

    def _check(self) -> None:
        """Refresh if `check_interval` has passed since the last look (one stat; a read only if it changed)."""
        now = self._clock()
        if now - self._checked >= self.check_interval:
            self._checked = now
            before = self._problem
            with contextlib.suppress(KeysUnreadable):  # raised below, for this request and every one after
                self.refresh()
            if self._problem != before:
                if self._problem is None:
                    log.info("API keys readable again from %s", self.path)
                else:
                    log.error("%s; refusing every key until it is fixed", self._problem)
        if self._problem is not None:
            raise KeysUnreadable(self._problem)

    def _write(self, records: list[ApiKeyRecord]) -> None:
        self.path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)  # a new home is private
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            json.dump([r.model_dump() for r in records], handle, indent=2)
        os.replace(tmp, self.path)
        self._stamp = None
        self.refresh()

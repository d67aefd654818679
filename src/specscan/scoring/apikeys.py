"""API keys: random secrets shown once, stored only as SHA-256 hashes, each with a role.

A key reads `ssk_<id>_<secret>`: the id finds the record (and is what logs and collected
records name), the secret never leaves the caller. The keys are 256-bit random, so a plain
SHA-256 is the right hash (password hashing would only slow every request down).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, TypeAdapter

from specscan.errors import SpecscanError
from specscan.private import DIRECTORY_MODE, FILE_MODE

Role = Literal["scorer", "admin"]
ROLES: tuple[Role, ...] = ("scorer", "admin")
PREFIX = "ssk"
KEY_PATTERN = re.compile(rf"{PREFIX}_[0-9a-f]{{8}}_[A-Za-z0-9_-]+")  # what a key looks like (to redact it)
GRANTS: dict[Role, frozenset[Role]] = {"scorer": frozenset({"scorer"}), "admin": frozenset({"scorer", "admin"})}


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

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, ApiKeyRecord] = {}
        self._stamp: tuple[int, int] | None = None
        self.refresh()

    def refresh(self) -> None:
        """Re-read the file if it changed since the last read (keys created or revoked meanwhile)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._records, self._stamp = {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            records = _RECORDS.validate_json(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            raise SpecscanError(f"cannot read API keys from {self.path}: {str(exc).splitlines()[0]}") from exc
        self._records, self._stamp = {r.id: r for r in records}, stamp

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
        """Delete a key's record; requests with it fail from the next refresh on."""
        self.refresh()
        if key_id not in self._records:
            raise SpecscanError(f"no API key with id {key_id!r} in {self.path}")
        revoked = self._records[key_id]
        self._write([r for r in self.records() if r.id != key_id])
        return revoked

    def verify(self, key: str) -> Caller | None:
        """The caller a presented key belongs to, or None for an unknown or malformed key."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        record = self._records.get(parts[1])
        if record is None or not hmac.compare_digest(record.sha256, _digest(key)):
            return None
        return Caller(key_id=record.id, role=record.role)

    def _write(self, records: list[ApiKeyRecord]) -> None:
        self.path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)  # a new home is private
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            json.dump([r.model_dump() for r in records], handle, indent=2)
        os.replace(tmp, self.path)
        self._stamp = None
        self.refresh()

"""The audit log: every change, who made it, when, and the values before and after; and its search."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from specscan.webapp.models import AuditEntry

PAGE_SIZE = 50
LONGEST_VALUE = 80


def record(db: Session, actor: str, action: str, entity: str, entity_id: object,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Adds an entry to the session's transaction: it is written with the change, or not at all."""
    db.add(AuditEntry(actor=actor, action=action, entity=entity,
                      entity_id=None if entity_id is None else str(entity_id), before=before, after=after))


class AuditQuery(BaseModel):
    """What the log shows; every field is a query parameter of `/audit` (empty means any)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)

    actor: str = Field(default="", max_length=64, description="Who made the change (exact username).")
    action: str = Field(default="", max_length=64)
    entity: str = Field(default="", max_length=32)
    entity_id: str = Field(default="", max_length=64)
    since: date | None = Field(default=None, alias="from", description="First UTC day shown.")
    until: date | None = Field(default=None, alias="to", description="Last UTC day shown.")
    page: int = Field(default=1, ge=1, le=100_000)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("until")
    @classmethod
    def _not_before_since(cls, value: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if value is not None and since is not None and value < since:
            raise ValueError("is before from")
        return value

    def with_(self, **changes: object) -> dict[str, str]:
        """Query parameters of this query with `changes` (for links), without defaults."""
        data = self.model_copy(update=changes).model_dump(by_alias=True)
        defaults = AuditQuery().model_dump(by_alias=True)
        return {k: str(v) for k, v in data.items() if v != defaults[k]}


@dataclass(frozen=True)
class Change:
    """One changed key of an entry; `before`/`after` is None when the entry has no such side (a creation)."""

    key: str
    before: str | None
    after: str | None


def entries(db: Session, query: AuditQuery) -> tuple[list[AuditEntry], bool]:
    """A page of matching entries, newest first, and whether older ones follow."""
    conditions = []
    for column, value in ((AuditEntry.actor, query.actor), (AuditEntry.action, query.action),
                          (AuditEntry.entity, query.entity), (AuditEntry.entity_id, query.entity_id)):
        if value:
            conditions.append(column == value)
    if query.since:
        conditions.append(AuditEntry.at >= datetime.combine(query.since, time(), UTC))
    if query.until:
        conditions.append(AuditEntry.at < datetime.combine(query.until + timedelta(days=1), time(), UTC))
    rows = db.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                      .offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def changes(entry: AuditEntry) -> list[Change]:
    """The keys whose value differs between before and after, each value shortened for display."""
    before, after = entry.before or {}, entry.after or {}

    def changed(key: str) -> bool:
        if entry.before is None or entry.after is None:  # a creation or a removal: blank values say nothing
            return (before | after).get(key) not in (None, "")
        return before.get(key) != after.get(key)

    return [Change(key, None if entry.before is None else _shown(before.get(key)),
                   None if entry.after is None else _shown(after.get(key)))
            for key in before | after if changed(key)]


def _shown(value: Any) -> str:
    if value is None:
        text = "—"
    elif isinstance(value, str):
        text = value or '""'
    else:
        text = json.dumps(round(value, 4) if isinstance(value, float) else value)
    return text if len(text) <= LONGEST_VALUE else text[:LONGEST_VALUE - 1] + "…"


def distinct_values(db: Session, column: Any) -> list[str]:
    return list(db.scalars(select(column).distinct().order_by(column).limit(500)))

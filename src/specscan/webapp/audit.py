"""The audit log: every change, who made it, when, and the values before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from specscan.webapp.models import AuditEntry


def record(db: Session, actor: str, action: str, entity: str, entity_id: object,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Adds an entry to the session's transaction: it is written with the change, or not at all."""
    db.add(AuditEntry(actor=actor, action=action, entity=entity,
                      entity_id=None if entity_id is None else str(entity_id), before=before, after=after))

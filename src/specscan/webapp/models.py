"""The web app's tables: users and their sessions, components with their classification and feedback,
and the audit log. The schema itself is owned by the Alembic migrations in `migrations/`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    and_,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone: it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # PostgreSQL answers in the session's time zone, SQLite with none: both become UTC
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    technician = "technician"
    reviewer = "reviewer"
    admin = "admin"

    def may(self, needed: Role) -> bool:
        """Roles are ordered: a reviewer may do what a technician may, an admin what a reviewer may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


class Label(StrEnum):
    compliant = "compliant"
    non_compliant = "non_compliant"


class Status(StrEnum):
    pending = "pending"  # saved, waiting for the scoring service
    classified = "classified"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    # names are unique ignoring case, in the database too ("Bob" and "bob" are one person signing in)
    __table_args__ = (Index("uq_users_username_lower", func.lower(text("username")), unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # password checks under way, and when the newest began: each reserves its place first (`lockout`)
    logins_in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    login_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    user: Mapped[User] = relationship(lazy="joined")


class Component(Base):
    __tablename__ = "components"
    __table_args__ = (
        Index("ix_components_review", "needs_review", "human_label"),
        Index("ix_components_status_next", "status", "next_attempt_at"),
        Index("ix_components_updated", "updated_at", "id"),  # the list's default order, and its tiebreak
        Index("ix_components_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each edit of a person, not by the model
    description: Mapped[str] = mapped_column(Text)
    part_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    supplier: Mapped[str] = mapped_column(String(128), default="", index=True)
    category: Mapped[str] = mapped_column(String(64), default="", index=True)

    # the model's view, from the scoring service
    status: Mapped[str] = mapped_column(String(16), default=Status.pending)
    model_label: Mapped[str | None] = mapped_column(String(16), index=True)
    probability: Mapped[float | None] = mapped_column(Float, index=True)  # of non_compliant
    model_version: Mapped[int | None] = mapped_column(Integer, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    classified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    explanation: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # words with attributions
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # the technician's view
    human_label: Mapped[str | None] = mapped_column(String(16), index=True)
    feedback_reason: Mapped[str | None] = mapped_column(String(500))
    feedback_request_id: Mapped[str | None] = mapped_column(String(64))  # the prediction it answers
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @hybrid_property
    def disagrees(self) -> bool:
        """A person's label differs from the model's (in Python on a row, in SQL in a query)."""
        return self.human_label is not None and self.model_label is not None and self.human_label != self.model_label

    @disagrees.inplace.expression
    @classmethod
    def _disagrees_expression(cls) -> ColumnElement[bool]:
        return and_(cls.human_label.is_not(None), cls.model_label.is_not(None), cls.human_label != cls.model_label)

    @hybrid_property
    def in_review_queue(self) -> bool:
        """Low confidence (in the review band) and no person has labelled it yet."""
        return self.needs_review and self.human_label is None

    @in_review_queue.inplace.expression
    @classmethod
    def _in_review_queue_expression(cls) -> ColumnElement[bool]:
        return and_(cls.needs_review.is_(True), cls.human_label.is_(None))

    @property
    def confidence(self) -> float | None:
        """Probability of the predicted label."""
        if self.probability is None:
            return None
        return max(self.probability, 1 - self.probability)


class AuditEntry(Base):
    """One change: who made it, when, to what, and the values before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

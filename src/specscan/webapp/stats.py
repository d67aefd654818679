"""The dashboard's numbers: label counts, the disagreement rate, counts per model version and predictions per
day. Each is one aggregate query, so the dashboard costs the same few scans at any inventory size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, select
from sqlalchemy.orm import Session

from specscan.webapp.models import Component, Label, Status, utcnow

CHART_DAYS = 30


@dataclass(frozen=True)
class Counts:
    total: int
    compliant: int  # by the model's label
    non_compliant: int
    pending: int  # waiting for the scoring service
    reviewed: int  # labelled by a person
    both_labelled: int  # by the model and by a person: where they can disagree
    disagreements: int
    review_queue: int  # low confidence and not reviewed yet

    @property
    def disagreement_rate(self) -> float | None:
        """Share of the components labelled by both that the person labelled differently; None when there are none."""
        return self.disagreements / self.both_labelled if self.both_labelled else None


@dataclass(frozen=True)
class VersionCounts:
    model_version: int
    classified: int
    compliant: int
    non_compliant: int
    reviewed: int
    disagreements: int


@dataclass(frozen=True)
class DayCounts:
    day: date  # UTC
    compliant: int
    non_compliant: int

    @property
    def total(self) -> int:
        return self.compliant + self.non_compliant


@dataclass(frozen=True)
class Timeline:
    """Components classified per UTC day, every day of the window (days without any have zeros)."""

    days: list[DayCounts]

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def busiest(self) -> DayCounts | None:
        return max((day for day in self.days if day.total), key=lambda day: day.total, default=None)

    @property
    def axis_max(self) -> int:
        """The y axis' top: the smallest 1, 2 or 5 times a power of ten at or above the busiest day."""
        peak, step = max((day.total for day in self.days), default=0), 1
        while True:
            for factor in (1, 2, 5):
                if factor * step >= peak:
                    return factor * step
            step *= 10

    @property
    def ticks(self) -> list[int]:
        return sorted({0, self.axis_max // 2, self.axis_max})


@dataclass(frozen=True)
class Dashboard:
    counts: Counts
    versions: list[VersionCounts]
    timeline: Timeline


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _is(label: Label) -> ColumnElement[bool]:
    return Component.model_label == label.value


_reviewed = Component.human_label.is_not(None)
_both_labelled = and_(Component.model_label.is_not(None), _reviewed)
_disagrees = Component.disagrees


def counts(db: Session) -> Counts:
    """The inventory's counts, in one query."""
    row = db.execute(select(
        func.count(), _count(_is(Label.compliant)), _count(_is(Label.non_compliant)),
        _count(Component.status == Status.pending), _count(_reviewed), _count(_both_labelled), _count(_disagrees),
        _count(Component.in_review_queue),
    ).select_from(Component)).one()
    return Counts(*(int(value or 0) for value in row))


def by_model_version(db: Session) -> list[VersionCounts]:
    """Counts per model version that classified something, newest version first."""
    rows = db.execute(
        select(Component.model_version, func.count(), _count(_is(Label.compliant)), _count(_is(Label.non_compliant)),
               _count(_reviewed), _count(_disagrees))
        .where(Component.model_version.is_not(None))
        .group_by(Component.model_version).order_by(Component.model_version.desc())).all()
    return [VersionCounts(*(int(value) for value in row)) for row in rows]


def _utc_day(db: Session) -> ColumnElement[date]:
    """`classified_at` as its UTC day. SQLite stores UTC text, whose `date()` is the day;
    PostgreSQL stores an instant, which is moved to UTC before the day is taken (not the session's zone)."""
    if db.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Component.classified_at), Date)
    return func.date(Component.classified_at, type_=Date)


def timeline(db: Session, *, today: date | None = None, days: int = CHART_DAYS) -> Timeline:
    """Components classified per UTC day, by model label, for the `days` days up to and including `today`."""
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    day = _utc_day(db).label("day")
    rows = db.execute(
        select(day, _count(_is(Label.compliant)), _count(_is(Label.non_compliant)))
        .where(Component.classified_at >= datetime.combine(first, time(), UTC),
               Component.classified_at < datetime.combine(today + timedelta(days=1), time(), UTC))
        .group_by(day)).all()
    found = {when: (int(compliant), int(non_compliant)) for when, compliant, non_compliant in rows}
    return Timeline([DayCounts(first + timedelta(days=n), *found.get(first + timedelta(days=n), (0, 0)))
                     for n in range(days)])


def dashboard(db: Session, *, today: date | None = None) -> Dashboard:
    """Everything the dashboard shows."""
    return Dashboard(counts(db), by_model_version(db), timeline(db, today=today))

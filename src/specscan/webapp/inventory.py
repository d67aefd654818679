"""Components and their labels: create, edit, classify through the scoring service, record a technician's
feedback, and retry what could not be classified. The web layer and the CSV import call only this.

A component is written first and classified second, in separate transactions: whatever the scoring
service does, the technician's input is saved. Until classified it is `pending`, and the retry loop
picks it up. A classification is applied only if the description is still the one that was scored.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, sessionmaker

from specscan.settings import Settings
from specscan.texts import character_problem, text_problem
from specscan.webapp.audit import record
from specscan.webapp.models import Component, Label, Status, utcnow
from specscan.webapp.scoring_client import Classification, Classifier, ScoringUnavailable

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=5)
# A component saved from a form is classified by the request itself (`classify_now`); the retry loop
# takes it only if that attempt never reported back (the process died in between).
INTERACTIVE_GRACE = timedelta(seconds=60)
AUDITED = ("description", "part_number", "supplier", "category", "status", "model_label", "probability",
           "model_version", "request_id", "human_label", "feedback_reason")


class InputError(ValueError):
    """Input that cannot be saved; `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class NotFound(LookupError):
    pass


class ConflictError(Exception):
    """Somebody else changed the component since it was loaded: `current` is what they saved."""

    def __init__(self, current: Component) -> None:
        super().__init__(f"component {current.id} was changed by {current.updated_by} at "
                         f"{current.updated_at:%Y-%m-%d %H:%M:%S} UTC; reload it and apply your change again")
        self.current = current


class ComponentFields(BaseModel):
    """What a technician enters for a component (the description is checked by `check_fields`)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    description: str = Field(min_length=1)
    part_number: str = Field(default="", max_length=64)
    supplier: str = Field(default="", max_length=128)
    category: str = Field(default="", max_length=64)

    @field_validator("part_number", "supplier", "category")
    @classmethod
    def _printable(cls, value: str) -> str:
        problem = character_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def check_fields(raw: dict[str, Any], settings: Settings) -> ComponentFields:
    """The fields, or an `InputError` naming each bad one; the description must be a text the model can
    score (`texts.text_problem`, on the description as entered, before surrounding whitespace is dropped)."""
    from pydantic import ValidationError

    problems: dict[str, str] = {}
    if "description" in raw:
        problem = text_problem(raw["description"], max_chars=settings.max_text_chars)
        if problem is not None:
            problems["description"] = problem
    try:
        fields = ComponentFields.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            problems.setdefault(field, _message(error))
        raise InputError(problems) from None
    if problems:
        raise InputError(problems)
    return fields


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "string_too_short":
        return "is required"
    if kind == "string_too_long":
        return f"has more than {error['ctx']['max_length']} characters"
    if kind == "missing":
        return "is required"
    return str(error["msg"]).removeprefix("Value error, ")


def snapshot(component: Component) -> dict[str, Any]:
    return {name: getattr(component, name) for name in AUDITED}


def get(db: Session, component_id: int, *, for_update: bool = False) -> Component:
    component = db.get(Component, component_id, with_for_update=for_update or None)
    if component is None:
        raise NotFound(f"no component {component_id}")
    return component


def create(db: Session, fields: ComponentFields, *, actor: str) -> Component:
    """A new pending component (flushed, not committed)."""
    now = utcnow()
    component = Component(**fields.model_dump(), version=1, status=Status.pending, created_by=actor, updated_by=actor,
                          created_at=now, updated_at=now, next_attempt_at=now + INTERACTIVE_GRACE, attempts=0)
    db.add(component)
    db.flush()
    record(db, actor, "component.create", "component", component.id, None, snapshot(component))
    return component


def update(db: Session, component_id: int, fields: ComponentFields, *, expected_version: int,
           actor: str) -> tuple[Component, bool]:
    """Applies an edit made on version `expected_version`; returns the component and whether it needs
    classifying (its description changed, which also clears the old prediction and feedback)."""
    current = get(db, component_id)
    if not any(getattr(current, name) != value for name, value in fields.model_dump().items()):
        if current.version != expected_version:
            raise ConflictError(current)
        return current, False  # saved unchanged: no new version, nothing to audit
    component = _at_version(db, component_id, expected_version)
    before = snapshot(component)
    changed = {name: value for name, value in fields.model_dump().items() if getattr(component, name) != value}
    for name, value in changed.items():
        setattr(component, name, value)
    reclassify = "description" in changed
    if reclassify:
        _reset_prediction(component)
    component.updated_by, component.updated_at = actor, utcnow()
    db.flush()
    record(db, actor, "component.update", "component", component.id, before, snapshot(component))
    return component, reclassify


def set_feedback(db: Session, component_id: int, label: str, reason: str, *, expected_version: int,
                 actor: str) -> Component:
    """A technician's label for the component (its ground truth), linked to the prediction it answers."""
    try:
        label = Label(label).value
    except ValueError:
        raise InputError({"label": f"must be {' or '.join(Label)}"}) from None
    reason = reason.strip()
    if len(reason) > 500:
        raise InputError({"reason": f"has {len(reason)} characters; the most is 500"})
    component = _at_version(db, component_id, expected_version)
    before = snapshot(component)
    component.human_label = label
    component.feedback_reason = reason or None
    component.feedback_request_id = component.request_id
    component.reviewed_by, component.reviewed_at = actor, utcnow()
    component.updated_by, component.updated_at = actor, utcnow()
    db.flush()
    action = "component.confirm" if label == component.model_label else "component.correct"
    record(db, actor, action, "component", component.id, before, snapshot(component))
    return component


def _at_version(db: Session, component_id: int, expected_version: int) -> Component:
    """The component, locked and its version bumped, if it is still at `expected_version`; the check and
    the bump are one UPDATE, so of two concurrent edits of the same version exactly one wins."""
    bumped = db.execute(sql_update(Component).where(Component.id == component_id, Component.version == expected_version)
                        .values(version=Component.version + 1).execution_options(synchronize_session=False))
    component = db.get(Component, component_id, populate_existing=True)
    if component is None:
        raise NotFound(f"no component {component_id}")
    if bumped.rowcount != 1:
        raise ConflictError(component)
    return component


def _reset_prediction(component: Component) -> None:
    component.status = Status.pending
    component.model_label = component.probability = component.model_version = None
    component.request_id = component.classified_at = component.explanation = None
    component.needs_review = False
    component.attempts, component.last_error, component.next_attempt_at = 0, None, utcnow() + INTERACTIVE_GRACE
    component.human_label = component.feedback_reason = component.feedback_request_id = None
    component.reviewed_by = component.reviewed_at = None


def apply(db: Session, component_id: int, text: str, result: Classification, settings: Settings, *,
          actor: str) -> bool:
    """Stores the scoring service's answer for `text` on the component, if it is still pending with that
    description: one conditional UPDATE, so an edit saved meanwhile (on any database) is never labelled with
    the old text's answer. Returns whether it was stored."""
    before = snapshot(get(db, component_id))
    stored = db.execute(
        sql_update(Component)
        .where(Component.id == component_id, Component.status == Status.pending, Component.description == text)
        .values(status=Status.classified, model_label=result.label, probability=result.probability,
                model_version=result.model_version, request_id=result.request_id, classified_at=utcnow(),
                explanation=[w.model_dump() for w in result.words] if result.words is not None else None,
                needs_review=settings.review_band_low <= result.probability <= settings.review_band_high,
                attempts=Component.attempts + 1, last_error=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if stored:
        after = db.get(Component, component_id, populate_existing=True)
        record(db, actor, "component.classify", "component", component_id, before, snapshot(after))
    return stored


def classify_now(sessions: sessionmaker, component_id: int, classifier: Classifier, settings: Settings, *,
                 actor: str) -> Component:
    """Classifies one saved component through `/explain`; if the service fails it stays pending for the retry."""
    with sessions() as db:
        text = get(db, component_id).description
    try:
        result: Classification | ScoringUnavailable = classifier.explain(text)
    except ScoringUnavailable as exc:
        result = exc
    with sessions.begin() as db:
        if isinstance(result, ScoringUnavailable):
            component = get(db, component_id, for_update=True)
            if component.description == text and component.status == Status.pending:
                _failed(component, str(result), settings)
        else:
            apply(db, component_id, text, result, settings, actor=actor)  # not if edited or classified meanwhile
        return get(db, component_id)


def _failed(component: Component, error: str, settings: Settings) -> None:
    component.attempts += 1
    component.last_error = error[:500]
    backoff = min(timedelta(seconds=settings.retry_interval * 2 ** min(component.attempts - 1, 10)), MAX_BACKOFF)
    component.next_attempt_at = utcnow() + backoff


def classify_pending(sessions: sessionmaker, classifier: Classifier, settings: Settings, *,
                     now: datetime | None = None, limit: int | None = None) -> int:
    """Classifies pending components that are due, a `/score` request at a time; returns how many.

    Stops at the first failure (the service is down: the rest would fail too), recording it on
    the components of that request, which back off before their next attempt."""
    limit = limit or settings.max_items
    done = 0
    while True:
        with sessions() as db:
            due = db.execute(
                select(Component.id, Component.description)
                .where(Component.status == Status.pending,
                       or_(Component.next_attempt_at.is_(None), Component.next_attempt_at <= (now or utcnow())))
                .order_by(Component.next_attempt_at, Component.id).limit(limit)).all()
        if not due:
            return done
        try:
            results = classifier.score([text for _, text in due])
        except ScoringUnavailable as exc:
            with sessions.begin() as db:
                for component_id, _ in due:
                    component = db.get(Component, component_id, with_for_update=True)
                    if component is not None and component.status == Status.pending:
                        _failed(component, str(exc), settings)
            log.warning("classification of %d pending components failed: %s", len(due), exc)
            return done
        with sessions.begin() as db:
            for (component_id, text), result in zip(due, results, strict=True):
                done += apply(db, component_id, text, result, settings, actor="scoring-retry")
        if len(due) < limit:
            return done


def explain(sessions: sessionmaker, component_id: int, classifier: Classifier) -> Component:
    """Fetches and keeps word attributions for a component classified without them (imports, retries).

    Kept only if the service still serves the model version that classified the component; the
    prediction itself is not touched (it is what the technician saw and answered)."""
    with sessions() as db:
        component = get(db, component_id)
    if component.status != Status.classified or component.explanation is not None:
        return component
    text = component.description
    result = classifier.explain(text)  # ScoringUnavailable: the caller shows "not available"
    with sessions.begin() as db:
        if result.words is not None:
            db.execute(sql_update(Component)
                       .where(Component.id == component_id, Component.status == Status.classified,
                              Component.description == text, Component.model_version == result.model_version)
                       .values(explanation=[w.model_dump() for w in result.words])
                       .execution_options(synchronize_session=False))
        return get(db, component_id)

"""The background retry worker (`RetryWorker`), run for real on its own thread against the scripted scoring service:
it classifies what was saved while the service was down once it answers, and outlives a failed round. (The browser
tests also see it update a page in place; these need no browser.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from webapp_support import ScriptedScoring, sign_in

from specscan.settings import Settings
from specscan.webapp.models import AuditEntry, Component
from specscan.webapp.retry import RetryWorker


class ThreadNoting(ScriptedScoring):
    """The scripted service, noting which thread made each `score` call; `fail_once` makes the next call raise
    an error no one expects (not `ScoringUnavailable`), as a bug or a database hiccup would."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.fail_once = False

    def score(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread().name)
        if self.fail_once:
            self.fail_once = False
            raise RuntimeError("unexpected failure in a round")
        return super().score(texts)


@pytest.fixture
def scoring() -> ThreadNoting:
    """The scoring service the app (conftest's `client`) and the worker both use."""
    return ThreadNoting()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Polls `condition` until it holds; fails naming `what` after `timeout` seconds (a hang guard, not a bound)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


def the_component(sessions: sessionmaker) -> Component:
    with sessions() as db:
        return db.scalars(select(Component)).one()


def save_while_down(client: TestClient, scoring: ScriptedScoring) -> None:
    """Saves one component through the form while the scoring service is down: it stays pending."""
    csrf = sign_in(client, "tina")
    scoring.down = True
    saved = client.post("/components", data={"csrf_token": csrf, "description": "Cable sheathing, PVC, lead 0.4 %"},
                        follow_redirects=False)
    assert saved.status_code == 303


def test_the_worker_classifies_a_component_saved_while_the_service_was_down_once_it_answers(
        client: TestClient, sessions: sessionmaker, settings: Settings, scoring: ThreadNoting) -> None:
    save_while_down(client, scoring)
    assert the_component(sessions).status == "pending"
    worker = RetryWorker(sessions, scoring, settings)  # retry_interval 0.05 s: rounds follow each other quickly
    worker.start()
    try:
        wait_until(lambda: the_component(sessions).attempts >= 2, "a second failed attempt by the worker")
        assert the_component(sessions).status == "pending"  # still down: kept, not lost
        scoring.down = False
        wait_until(lambda: the_component(sessions).status == "classified", "classified by the worker")
    finally:
        worker.stop()
    component = the_component(sessions)
    assert (component.model_label, component.probability, component.model_version, component.last_error) == (
        "non_compliant", 0.93, 3, None)
    assert set(scoring.threads) == {"classification-retry"}
    with sessions() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "component.classify")).all()
    assert entry.actor == "scoring-retry"


def test_the_worker_outlives_a_round_that_fails_unexpectedly_and_classifies_on_the_next(
        client: TestClient, sessions: sessionmaker, settings: Settings, scoring: ThreadNoting,
        caplog: pytest.LogCaptureFixture) -> None:
    save_while_down(client, scoring)
    scoring.down, scoring.fail_once = False, True
    worker = RetryWorker(sessions, scoring, settings)
    with caplog.at_level("ERROR", logger="specscan.webapp.retry"):
        worker.start()
        try:
            wait_until(lambda: the_component(sessions).status == "classified", "classified after the failed round")
        finally:
            worker.stop()
    assert [r.getMessage() for r in caplog.records if r.name == "specscan.webapp.retry"] == [
        "pending-classification round failed"]
    assert the_component(sessions).model_label == "non_compliant"

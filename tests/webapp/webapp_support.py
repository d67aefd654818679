"""Test doubles and helpers for the web app: a scripted scoring service and a signed-in browser."""

from __future__ import annotations

import re
import secrets
import threading
import uuid

import httpx
from fastapi.testclient import TestClient

from specscan.scoring.schemas import WordAttributionOut
from specscan.webapp.scoring_client import Classification, ScoringUnavailable


def fresh_password() -> str:
    """A strong random password made per run (no password in source). It holds no three letters in a row, so it
    never contains a test account's name, which the password policy would refuse."""
    return "~".join(secrets.token_hex(1) for _ in range(12))


PASSWORD = fresh_password()  # every test account's
LEADY = re.compile(r"lead|pb|asbestos|chrysotile", re.IGNORECASE)


class ScriptedScoring:
    """Stands in for the scoring service: words matching `LEADY` push towards non_compliant, "unsure" lands
    in the review band; `down` makes every call fail as an unreachable service would."""

    def __init__(self) -> None:
        self.down = False
        self.model_version = 3
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def _one(self, text: str, request_id: str, words: bool) -> Classification:
        spans = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        pushes = [0.4 if LEADY.search(w) else -0.02 for w, _, _ in spans]
        probability = 0.5 if "unsure" in text.lower() else (0.93 if any(p > 0 for p in pushes) else 0.04)
        return Classification(
            label="non_compliant" if probability > 0.5 else "compliant", probability=probability,
            model_version=self.model_version, request_id=request_id,
            words=[WordAttributionOut(text=w, start=s, end=e, attribution=p)
                   for (w, s, e), p in zip(spans, pushes, strict=True)] if words else None)

    def _check(self, endpoint: str, n: int) -> str:
        with self._lock:
            self.calls.append((endpoint, n))
        if self.down:
            raise ScoringUnavailable("scoring service unreachable: connection refused")
        return uuid.uuid4().hex

    def explain(self, text: str) -> Classification:
        return self._one(text, self._check("explain", 1), words=True)

    def score(self, texts: list[str]) -> list[Classification]:
        request_id = self._check("score", len(texts))
        return [self._one(text, request_id, words=False) for text in texts]


def csrf_of(client: TestClient) -> str:
    page = client.get("/components/new")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def login_token(client: TestClient) -> str:
    """The log-in form's CSRF token (its cookie stays with `client`)."""
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)


def log_in(client: TestClient, username: str, password: str, next_url: str = "/components") -> httpx.Response:
    """One log-in through the form, the answer as it is (no redirect followed)."""
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": login_token(client), "next": next_url}, follow_redirects=False)


def other_browser(client: TestClient) -> TestClient:
    """A second browser (its own cookies) on the same app."""
    return TestClient(client.app, raise_server_exceptions=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs `client` in through the log-in form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                           "next": "/components"}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return csrf_of(client)

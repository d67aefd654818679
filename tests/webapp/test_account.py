"""Changing one's own password (security review F6): the current password first, under the lock-out; the new one
under the policy; the other sessions of the account end, this one stays; audited; CSRF-protected."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from webapp_support import PASSWORD, fresh_password, log_in, other_browser, sign_in

from specscan.settings import Settings
from specscan.webapp.models import AuditEntry, User, WebSession

NEW_PASSWORD = fresh_password()


def password_hash(sessions: sessionmaker, username: str = "tina") -> str:
    with sessions() as db:
        return db.scalars(select(User.password_hash).where(User.username == username)).one()


def change(client: TestClient, csrf: str, current: str, new: str, again: str | None = None):
    return client.post("/account/password", data={
        "csrf_token": csrf, "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again}, follow_redirects=False)


def signed_in(client: TestClient) -> bool:
    return client.get("/components", follow_redirects=False).status_code == 200


def test_every_page_links_to_the_change_page_which_needs_a_session(client: TestClient) -> None:
    assert client.get("/account/password", follow_redirects=False).headers["location"] == (
        "/login?next=/account/password")
    sign_in(client, "tina")
    assert 'href="/account/password"' in client.get("/components").text
    page = client.get("/account/password")
    assert page.status_code == 200 and 'name="current_password"' in page.text and 'name="csrf_token"' in page.text


def test_a_change_keeps_this_session_ends_the_others_and_is_audited(
        client: TestClient, sessions: sessionmaker) -> None:
    other = other_browser(client)
    sign_in(other, "tina")
    ritas = other_browser(client)
    sign_in(ritas, "rita")
    csrf = sign_in(client, "tina")
    response = change(client, csrf, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/account/password?done=1"
    assert "Password changed" in client.get(response.headers["location"]).text
    assert signed_in(client) and not signed_in(other) and signed_in(ritas)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(WebSession)) == 2
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.password")).all()
    assert entry.actor == "tina" and entry.before is None and entry.after is None  # no password in the log
    assert log_in(other_browser(client), "tina", PASSWORD).status_code == 401
    assert log_in(other_browser(client), "tina", NEW_PASSWORD).status_code == 303


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_log_in(
        client: TestClient, sessions: sessionmaker) -> None:
    other = other_browser(client)
    sign_in(other, "tina")
    csrf = sign_in(client, "tina")
    before = password_hash(sessions)
    response = change(client, csrf, "not my password at all", NEW_PASSWORD)
    assert response.status_code == 422 and "the current password is not right" in response.text
    assert password_hash(sessions) == before and signed_in(other)
    with sessions() as db:
        assert db.scalars(select(User.failed_logins).where(User.username == "tina")).one() == 1


def test_wrong_current_passwords_lock_the_account_so_the_page_cannot_be_used_to_guess(
        client: TestClient, sessions: sessionmaker, settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    before = password_hash(sessions)
    for guess in range(settings.login_max_failures):
        assert change(client, csrf, f"wrong guess number {guess}", NEW_PASSWORD).status_code == 422
    refused = change(client, csrf, PASSWORD, NEW_PASSWORD)
    assert refused.status_code == 422 and "locked" in refused.text
    assert password_hash(sessions) == before


@pytest.mark.parametrize(("new", "again", "reason"), [
    ("password1234", None, "commonly used passwords"),
    ("tina-in-the-workshop", None, "contains the username"),
    (" " * 16, None, "only whitespace"),
    ("short", None, "at least 12 characters"),
    (NEW_PASSWORD, NEW_PASSWORD + "x", "the two new passwords differ"),
], ids=["common", "username", "whitespace", "short", "mistyped"])
def test_a_weak_or_mistyped_new_password_is_refused_with_the_reason(
        client: TestClient, sessions: sessionmaker, new: str, again: str | None, reason: str) -> None:
    csrf = sign_in(client, "tina")
    before = password_hash(sessions)
    response = change(client, csrf, PASSWORD, new, again)
    assert response.status_code == 422 and reason in response.text
    assert password_hash(sessions) == before


@pytest.mark.parametrize("token", ["", "forged"], ids=["none", "forged"])
def test_the_change_needs_the_sessions_csrf_token(client: TestClient, sessions: sessionmaker, token: str) -> None:
    sign_in(client, "tina")
    before = password_hash(sessions)
    response = change(client, token, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 403 and "security token" in response.text
    assert password_hash(sessions) == before

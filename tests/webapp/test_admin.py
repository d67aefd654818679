"""Admin pages: users and roles, the scoring service's API keys; every change audited, every form CSRF-protected."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from webapp_support import PASSWORD, fresh_password, sign_in

from specscan.scoring.apikeys import ApiKeyStore
from specscan.scoring.app import create_app as create_scoring_app
from specscan.scoring.collector import Collector
from specscan.scoring.served_model import ModelSource, ServedModel
from specscan.settings import Settings
from specscan.webapp.models import AuditEntry, User, WebSession

NEW_PASSWORD = fresh_password()


def user_id(sessions: sessionmaker, username: str) -> int:
    with sessions() as db:
        return db.scalars(select(User.id).where(User.username == username)).one()


def fetch_user(sessions: sessionmaker, username: str) -> User:
    with sessions() as db:
        return db.scalars(select(User).where(User.username == username)).one()


def audit(sessions: sessionmaker, action: str) -> list[AuditEntry]:
    with sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


class LengthPredictor:
    """The scoring service's model, stood in for: scores a text as len(text)/100."""

    manifest = SimpleNamespace(labels=("compliant", "non_compliant"), threshold=0.5)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([min(len(t) / 100, 1.0) for t in texts], dtype=np.float32)


def scoring_service(settings: Settings, bundle: Path) -> TestClient:
    """The real scoring app, in-process, reading the same API key file as the web app (its model a stand-in)."""
    bundle.mkdir()
    application = create_scoring_app(
        settings, ModelSource(settings, str(bundle)), ServedModel("compliance-classifier", 1, LengthPredictor()),
        keys=ApiKeyStore(settings.resolved_api_keys_file), collector=Collector(settings.resolved_collect_url))
    return TestClient(application)


def browser(client: TestClient) -> TestClient:
    """A second browser (its own cookies) on the same app."""
    return TestClient(client.app, raise_server_exceptions=False)


def test_the_users_page_lists_every_user_with_role_state_and_actions(client: TestClient) -> None:
    sign_in(client, "ada")
    page = client.get("/admin/users")
    assert page.status_code == 200
    for shown in ("tina", "rita", "ada", "technician", "reviewer", "Change role", "Deactivate", "Reset password",
                  "New user", 'href="/admin/api-keys"'):
        assert shown in page.text
    assert page.text.count('name="csrf_token"') >= 3 * 3 + 1  # three forms per user, the new-user form


def test_an_admin_creates_a_user_who_can_then_sign_in(client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "ada")
    response = client.post("/admin/users", data={"csrf_token": csrf, "username": "otto", "role": "reviewer",
                                                 "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/users")
    assert "User created." in client.get(response.headers["location"]).text
    otto = fetch_user(sessions, "otto")
    assert otto.role == "reviewer" and otto.active
    [entry] = audit(sessions, "user.create")[-1:]
    assert entry.actor == "ada" and entry.after == {"username": "otto", "role": "reviewer"}
    sign_in(browser(client), "otto")


@pytest.mark.parametrize(("username", "role", "password", "message"), [
    ("TINA", "technician", PASSWORD, "is taken"),
    ("otto", "technician", "too short", "at least 12 characters"),
    ("otto", "technician", "password1234", "commonly used passwords"),
    ("otto", "technician", "Otto-2026-spring", "contains the username"),
    ("otto", "technician", " " * 12, "only whitespace"),
    ("otto", "wizard", PASSWORD, "unknown role"),
    ("<b>x</b>", "technician", PASSWORD, "a username has 3 to 64 letters"),
])
def test_a_refused_new_user_gets_the_reason_and_nothing_is_written(
        client: TestClient, sessions: sessionmaker, username: str, role: str, password: str, message: str) -> None:
    csrf = sign_in(client, "ada")
    response = client.post("/admin/users", data={"csrf_token": csrf, "username": username, "role": role,
                                                 "password": password})
    assert response.status_code == 422 and message in response.text
    assert "<b>x</b>" not in response.text  # the entered name is shown back, escaped
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 3
    assert audit(sessions, "user.create")[-1].actor == "test"


def test_a_changed_role_applies_to_the_users_next_request_and_is_audited(
        client: TestClient, sessions: sessionmaker) -> None:
    tina = browser(client)
    sign_in(tina, "tina")
    assert tina.get("/review").status_code == 403
    csrf = sign_in(client, "ada")
    response = client.post(f"/admin/users/{user_id(sessions, 'tina')}/role",
                           data={"csrf_token": csrf, "role": "reviewer"}, follow_redirects=False)
    assert response.status_code == 303
    assert tina.get("/review").status_code == 200
    [entry] = audit(sessions, "user.role")
    assert entry.actor == "ada" and entry.before == {"role": "technician"} and entry.after == {"role": "reviewer"}


def test_deactivating_a_user_ends_their_sessions_until_they_are_activated_again(
        client: TestClient, sessions: sessionmaker) -> None:
    tina = browser(client)
    sign_in(tina, "tina")
    csrf = sign_in(client, "ada")
    tina_id = user_id(sessions, "tina")
    deactivated = client.post(f"/admin/users/{tina_id}/active", data={"csrf_token": csrf, "active": "false"},
                              follow_redirects=False)
    assert deactivated.status_code == 303
    assert "Activate" in client.get("/admin/users").text
    assert tina.get("/components", follow_redirects=False).headers["location"].startswith("/login")
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == tina_id)) == 0
    form = tina.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    refused = tina.post("/login", data={"username": "tina", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 401 and "deactivated" in refused.text
    client.post(f"/admin/users/{tina_id}/active", data={"csrf_token": csrf, "active": "true"})
    sign_in(tina, "tina")
    assert [e.action for e in audit(sessions, "user.deactivate") + audit(sessions, "user.activate")] == [
        "user.deactivate", "user.activate"]


def test_a_password_reset_replaces_the_password_and_ends_the_users_sessions(
        client: TestClient, sessions: sessionmaker) -> None:
    rita = browser(client)
    sign_in(rita, "rita")
    csrf = sign_in(client, "ada")
    rita_id = user_id(sessions, "rita")
    too_short = client.post(f"/admin/users/{rita_id}/password", data={"csrf_token": csrf, "password": "short"})
    assert too_short.status_code == 422 and "at least 12 characters" in too_short.text
    assert rita.get("/review").status_code == 200  # the refused reset changed nothing
    reset = client.post(f"/admin/users/{rita_id}/password", data={"csrf_token": csrf, "password": NEW_PASSWORD},
                        follow_redirects=False)
    assert reset.status_code == 303
    assert "Password reset" in client.get(reset.headers["location"]).text
    assert rita.get("/review", follow_redirects=False).status_code == 303  # to the log-in page
    sign_in(browser(client), "rita", NEW_PASSWORD)
    [entry] = audit(sessions, "user.password")
    assert entry.actor == "ada" and entry.before is None and entry.after is None  # no password in the log
    assert NEW_PASSWORD not in fetch_user(sessions, "rita").password_hash


@pytest.mark.parametrize(("password", "message"), [("iloveyou1234", "commonly used passwords"),
                                                    ("rita's new password", "contains the username")])
def test_a_password_reset_to_a_weak_password_is_refused_with_the_reason(
        client: TestClient, sessions: sessionmaker, password: str, message: str) -> None:
    csrf = sign_in(client, "ada")
    before = fetch_user(sessions, "rita").password_hash
    response = client.post(f"/admin/users/{user_id(sessions, 'rita')}/password",
                           data={"csrf_token": csrf, "password": password})
    assert response.status_code == 422 and message in response.text
    assert fetch_user(sessions, "rita").password_hash == before


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(
        client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "ada")
    ada_id = user_id(sessions, "ada")
    demoted = client.post(f"/admin/users/{ada_id}/role", data={"csrf_token": csrf, "role": "technician"})
    deactivated = client.post(f"/admin/users/{ada_id}/active", data={"csrf_token": csrf, "active": "false"})
    for response in (demoted, deactivated):
        assert response.status_code == 422 and "last active admin" in response.text
    ada = fetch_user(sessions, "ada")
    assert ada.role == "admin" and ada.active
    client.post(f"/admin/users/{user_id(sessions, 'rita')}/role", data={"csrf_token": csrf, "role": "admin"})
    demoted = client.post(f"/admin/users/{ada_id}/role", data={"csrf_token": csrf, "role": "technician"},
                          follow_redirects=False)
    assert demoted.status_code == 303 and fetch_user(sessions, "ada").role == "technician"


def test_a_change_to_an_unknown_user_is_a_404(client: TestClient) -> None:
    csrf = sign_in(client, "ada")
    response = client.post("/admin/users/999/role", data={"csrf_token": csrf, "role": "admin"})
    assert response.status_code == 404 and "there is no user #999" in response.text


@pytest.mark.parametrize(("path", "data"), [
    ("/admin/users", {"username": "otto", "role": "admin", "password": PASSWORD}),
    ("/admin/users/{tina}/role", {"role": "admin"}),
    ("/admin/users/{tina}/active", {"active": "false"}),
    ("/admin/users/{tina}/password", {"password": NEW_PASSWORD}),
    ("/admin/api-keys", {"role": "admin", "note": "forged"}),
])
def test_every_admin_form_needs_the_sessions_csrf_token(
        client: TestClient, sessions: sessionmaker, settings: Settings, path: str, data: dict[str, str]) -> None:
    sign_in(client, "ada")
    before = fetch_user(sessions, "tina")
    for token in ({}, {"csrf_token": "forged"}):
        response = client.post(path.format(tina=before.id), data={**data, **token})
        assert response.status_code == 403 and "security token" in response.text
    after = fetch_user(sessions, "tina")
    assert (after.role, after.active, after.password_hash) == (before.role, before.active, before.password_hash)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 3
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "ada",
                                                                            AuditEntry.action != "user.login")) == 0
    assert not settings.resolved_api_keys_file.exists()


def test_a_new_api_key_is_shown_once_verifies_with_the_scoring_service_and_is_audited_without_the_key(
        client: TestClient, sessions: sessionmaker, settings: Settings, tmp_path: Path) -> None:
    csrf = sign_in(client, "ada")
    response = client.post("/admin/api-keys", data={"csrf_token": csrf, "role": "scorer", "note": "web app"})
    assert response.status_code == 201
    key = re.search(r'<code class="secret-key">([^<]+)</code>', response.text).group(1)
    assert "shown only this once" in response.text
    with scoring_service(settings, tmp_path / "bundle") as service:
        scored = service.post("/score", json=["Brake pad set"], headers={"Authorization": f"Bearer {key}"})
        assert scored.status_code == 200 and scored.json()["results"][0]["label"] == "compliant"
        forged = service.post("/score", json=["Brake pad set"], headers={"Authorization": f"Bearer {key}x"})
        assert forged.status_code == 401
    caller = ApiKeyStore(settings.resolved_api_keys_file).verify(key)
    assert caller is not None and caller.role == "scorer"
    listing = client.get("/admin/api-keys")
    assert caller.key_id in listing.text and "web app" in listing.text and key not in listing.text
    assert 'href="/admin/users"' in listing.text
    [entry] = audit(sessions, "apikey.create")
    assert entry.actor == "ada" and entry.entity == "apikey" and entry.entity_id == caller.key_id
    assert entry.after["role"] == "scorer" and entry.after["note"] == "web app"
    stored = json.loads(settings.resolved_api_keys_file.read_text())
    assert key not in json.dumps(entry.after) and stored[0]["sha256"] not in json.dumps(entry.after)


def test_a_revoked_api_key_stops_verifying_and_is_listed_as_revoked(
        client: TestClient, sessions: sessionmaker, settings: Settings) -> None:
    store = ApiKeyStore(settings.resolved_api_keys_file)
    key, made = store.create("admin", note="old deploy")
    csrf = sign_in(client, "ada")
    response = client.post(f"/admin/api-keys/{made.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/api-keys"
    assert ApiKeyStore(settings.resolved_api_keys_file).verify(key) is None
    page = client.get("/admin/api-keys")
    assert "Revoked keys" in page.text and made.id in page.text and "old deploy" in page.text
    [entry] = audit(sessions, "apikey.revoke")
    assert entry.actor == "ada" and entry.entity_id == made.id and entry.before["role"] == "admin"
    again = client.post(f"/admin/api-keys/{made.id}/revoke", data={"csrf_token": csrf})
    assert again.status_code == 404 and f"no API key with id &#39;{made.id}&#39;" in again.text


def test_bad_api_key_input_is_refused_with_the_reason_and_notes_are_escaped(
        client: TestClient, settings: Settings) -> None:
    csrf = sign_in(client, "ada")
    bad_role = client.post("/admin/api-keys", data={"csrf_token": csrf, "role": "root"})
    assert bad_role.status_code == 400 and "role" in bad_role.text and "scorer" in bad_role.text
    too_long = client.post("/admin/api-keys", data={"csrf_token": csrf, "role": "scorer", "note": "x" * 201})
    assert too_long.status_code == 400 and "note" in too_long.text
    assert not settings.resolved_api_keys_file.exists()
    client.post("/admin/api-keys", data={"csrf_token": csrf, "role": "scorer", "note": "<script>x()</script>"})
    page = client.get("/admin/api-keys")
    assert "<script>x()</script>" not in page.text and "&lt;script&gt;x()&lt;/script&gt;" in page.text


def test_an_unreadable_key_file_is_a_clear_503_not_a_crash(client: TestClient, settings: Settings) -> None:
    settings.resolved_api_keys_file.parent.mkdir(parents=True, exist_ok=True)
    settings.resolved_api_keys_file.write_text("{not json")
    sign_in(client, "ada")
    page = client.get("/admin/api-keys")
    assert page.status_code == 503 and "cannot read API keys" in page.text

"""Access: log-in and lock-out, sessions and their expiry, CSRF, roles, redirects, headers, password storage and
the first-admin bootstrap. Whatever a browser sends, the answer is a clear 4xx or a redirect, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker
from webapp_support import PASSWORD, ScriptedScoring, log_in, login_token, other_browser, sign_in

from specscan.settings import Settings
from specscan.webapp import accounts
from specscan.webapp.access import SESSION_COOKIE
from specscan.webapp.app import create_app
from specscan.webapp.database import create_database_engine, session_factory, upgrade
from specscan.webapp.models import AuditEntry, Component, User, WebSession, utcnow


def count(sessions: sessionmaker, table: type) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(table))


def redirected_to_login(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


# --- log-in and lock-out ----------------------------------------------------------------------------------------

def test_a_wrong_password_or_unknown_user_gets_the_same_401_and_no_session(
        client: TestClient, sessions: sessionmaker) -> None:
    answers = {}
    for username in ("tina", "nobody"):
        browser = other_browser(client)
        response = log_in(browser, username, "not the password at all")
        assert SESSION_COOKIE not in response.cookies and SESSION_COOKIE not in browser.cookies
        # the same page but for the name typed in and the form's fresh token
        page = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="…"', response.text)
        answers[username] = (response.status_code, page.replace(f'value="{username}"', 'value="…"'),
                             sorted(set(response.headers) - {"x-request-id", "server-timing"}))
    assert answers["tina"] == answers["nobody"]
    assert answers["tina"][0] == 401 and "wrong username or password" in answers["tina"][1]
    assert count(sessions, WebSession) == 0


def test_repeated_failures_lock_the_account_even_against_the_right_password(
        client: TestClient, sessions: sessionmaker, settings: Settings) -> None:
    for _ in range(settings.login_max_failures - 1):
        assert log_in(client, "tina", "guess guess guess").status_code == 401
    assert log_in(client, "tina", PASSWORD).status_code == 303  # a success before the limit resets the count
    for _ in range(settings.login_max_failures):
        assert log_in(client, "tina", "guess guess guess").status_code == 401
    refused = log_in(other_browser(client), "tina", PASSWORD)
    assert refused.status_code == 401 and "wrong username or password" in refused.text  # tells nothing more
    assert SESSION_COOKIE not in refused.cookies
    with sessions() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.locked")).all()
        assert entry.entity == "user" and entry.actor == "tina"
        assert db.scalars(select(User).where(User.username == "tina")).one().locked_until > utcnow()
    sign_in(other_browser(client), "rita")  # other accounts are not affected


def test_the_log_in_form_without_its_csrf_cookie_is_refused(client: TestClient, sessions: sessionmaker) -> None:
    token = login_token(client)
    client.cookies.clear()
    response = client.post("/login", data={"username": "tina", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 403 and "expired" in response.text
    assert SESSION_COOKIE not in response.cookies and count(sessions, WebSession) == 0


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "evil.example"])
def test_next_never_leads_off_the_site(client: TestClient, target: str) -> None:
    assert 'name="next" value="/components"' in client.get("/login", params={"next": target}).text
    response = log_in(client, "tina", PASSWORD, next_url=target)
    assert response.status_code == 303 and response.headers["location"] == "/components"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/ /evil.example"])
def test_next_with_characters_a_browser_strips_stays_on_the_site(client: TestClient, target: str) -> None:
    location = log_in(client, "tina", PASSWORD, next_url=target).headers["location"]
    assert location.startswith("/") and not location.startswith("//")
    assert not re.search(r"[\s\\]", location)  # browsers drop tabs and newlines: "/\t/x" would become "//x"


def test_next_keeps_a_path_on_the_site(client: TestClient) -> None:
    assert log_in(client, "rita", PASSWORD, next_url="/review").headers["location"] == "/review"


# --- sessions ---------------------------------------------------------------------------------------------------

def test_log_out_ends_the_session_and_the_old_cookie_no_longer_works(
        client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    cookie = client.cookies[SESSION_COOKIE]
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert count(sessions, WebSession) == 0
    client.cookies.set(SESSION_COOKIE, cookie)
    assert redirected_to_login(client.get("/components", follow_redirects=False))
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "user.logout")) == 1


@pytest.mark.parametrize("forge", [
    lambda real: "x" * 43,
    lambda real: real[:-1] + ("A" if real[-1] != "A" else "B"),
    lambda real: real * 5,
    lambda real: "",
], ids=["random", "one-character-changed", "overlong", "empty"])
def test_a_tampered_or_random_session_cookie_redirects_to_log_in(client: TestClient, forge) -> None:
    sign_in(client, "tina")
    real = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, forge(real))
    response = client.get("/components", follow_redirects=False)
    assert redirected_to_login(response)
    assert response.headers["location"] == "/login?next=/components"


def test_without_a_session_an_htmx_request_is_told_to_go_to_log_in(client: TestClient) -> None:
    response = client.get("/components", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
def test_an_expired_or_idle_session_redirects_to_log_in_and_is_deleted(
        client: TestClient, sessions: sessionmaker, settings: Settings, column: str) -> None:
    sign_in(client, "tina")
    past = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
    with sessions.begin() as db:
        db.execute(update(WebSession).values({column: past}))
    assert redirected_to_login(client.get("/components", follow_redirects=False))
    assert count(sessions, WebSession) == 0


# --- CSRF -------------------------------------------------------------------------------------------------------

def test_a_post_without_the_csrf_token_or_with_another_sessions_token_is_refused_and_writes_nothing(
        client: TestClient, sessions: sessionmaker) -> None:
    sign_in(client, "tina")
    ritas_token = sign_in(other_browser(client), "rita")
    component = {"description": "Brake pad set, copper-free"}
    for extra, headers in (({}, {}), ({"csrf_token": ritas_token}, {}), ({}, {"X-CSRF-Token": ritas_token})):
        response = client.post("/components", data={**component, **extra}, headers=headers)
        assert response.status_code == 403 and "security token" in response.text
    assert count(sessions, Component) == 0


def near_misses(token: str) -> dict[str, str]:
    """Tokens one guess away from `token`: wrong only at the end, or right only in the first 16 characters."""
    def other(character: str) -> str:
        return "A" if character != "A" else "B"

    return {"last-character": token[:-1] + other(token[-1]),
            "last-four": token[:-4] + "".join(other(c) for c in token[-4:]),
            "first-16-only": token[:16] + "".join(other(c) for c in token[16:]),
            "one-short": token[:-1], "one-long": token + "A"}


def test_a_csrf_token_right_except_for_some_characters_is_refused_and_writes_nothing(
        client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    component = {"description": "Brake pad set, copper-free"}
    for name, forged in near_misses(csrf).items():
        in_form = client.post("/components", data={**component, "csrf_token": forged})
        in_header = client.post("/components", data=component, headers={"X-CSRF-Token": forged})
        assert (in_form.status_code, in_header.status_code) == (403, 403), name
    assert count(sessions, Component) == 0
    assert client.post("/components", data={**component, "csrf_token": csrf}, follow_redirects=False) \
        .status_code == 303  # the right token, sent the same way, is taken
    assert count(sessions, Component) == 1


def test_a_log_in_form_token_right_except_for_some_characters_is_refused(
        client: TestClient, sessions: sessionmaker) -> None:
    token = login_token(client)
    for name, forged in near_misses(token).items():
        response = client.post("/login", data={"username": "tina", "password": PASSWORD, "csrf_token": forged},
                               follow_redirects=False)
        assert response.status_code == 403 and "expired" in response.text, name
    assert count(sessions, WebSession) == 0


def test_log_out_without_the_csrf_token_keeps_the_session(client: TestClient, sessions: sessionmaker) -> None:
    sign_in(client, "tina")
    assert client.post("/logout").status_code == 403
    assert client.get("/components").status_code == 200


# --- roles ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "path"), [
    ("tina", "/review"), ("tina", "/admin/users"), ("tina", "/admin/api-keys"),
    ("rita", "/admin/users"), ("rita", "/admin/api-keys"),
])
def test_a_page_above_the_users_role_is_a_403_naming_the_role_needed(
        client: TestClient, username: str, path: str) -> None:
    sign_in(client, username)
    response = client.get(path)
    assert response.status_code == 403 and "this needs the" in response.text


@pytest.mark.parametrize("username", ["tina", "rita"])
def test_an_admin_action_by_a_non_admin_is_a_403_and_writes_nothing(
        client: TestClient, sessions: sessionmaker, settings: Settings, username: str) -> None:
    csrf = sign_in(client, username)
    create = client.post("/admin/users", data={"csrf_token": csrf, "username": "mallory", "role": "admin",
                                               "password": PASSWORD})
    promote = client.post(f"/admin/users/{client_user_id(sessions, username)}/role",
                          data={"csrf_token": csrf, "role": "admin"})
    key = client.post("/admin/api-keys", data={"csrf_token": csrf, "role": "admin"})
    assert [r.status_code for r in (create, promote, key)] == [403, 403, 403]
    assert count(sessions, User) == 3
    with sessions() as db:
        assert db.scalars(select(User.role).where(User.username == username)).one() != "admin"
    assert not settings.resolved_api_keys_file.exists()


def client_user_id(sessions: sessionmaker, username: str) -> int:
    with sessions() as db:
        return db.scalars(select(User.id).where(User.username == username)).one()


def test_a_reviewer_has_the_review_queue_and_an_admin_every_page(client: TestClient) -> None:
    sign_in(client, "rita")
    assert client.get("/review").status_code == 200
    admin = other_browser(client)
    sign_in(admin, "ada")
    for path in ("/components", "/review", "/admin/users", "/admin/api-keys"):
        assert admin.get(path).status_code == 200, path


# --- headers and storage ----------------------------------------------------------------------------------------

def test_pages_carry_the_security_headers_and_are_not_cached(client: TestClient) -> None:
    pages = [client.get("/login")]
    sign_in(client, "tina")
    pages += [client.get("/components"), client.get("/admin/users")]
    for page in pages:
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
    login_cookie = next(h for h in client.get("/login").headers.get_list("set-cookie") if "login_csrf" in h)
    assert "httponly" in login_cookie.lower() and "samesite=strict" in login_cookie.lower()


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    response = log_in(client, "tina", PASSWORD)
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_by_default_the_session_cookie_is_for_https_only_and_this_host_only(
        settings: Settings, sessions: sessionmaker, scoring: ScriptedScoring) -> None:
    assert Settings().cookie_secure  # plain HTTP takes `specscan app --dev` (or SPECSCAN_COOKIE_SECURE=false)
    app = create_app(settings.model_copy(update={"cookie_secure": True}), sessions, scoring, run_worker=False)
    browser = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    response = log_in(browser, "tina", PASSWORD)
    cookie = next(h for h in response.headers.get_list("set-cookie") if "specscan_session=" in h)
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert cookie.startswith("__Host-specscan_session=")  # the browser refuses it without Secure, with a Domain
    assert "secure" in attributes and "path=/" in attributes and not any(a.startswith("domain") for a in attributes)
    assert browser.get("/components", follow_redirects=False).status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/components/new").text).group(1)
    ended = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    cleared = next(h for h in ended.headers.get_list("set-cookie") if "specscan_session=" in h)
    assert cleared.startswith("__Host-specscan_session=") and "secure" in cleared.lower()
    assert "__Host-specscan_session" not in browser.cookies


def test_over_plain_http_with_secure_cookies_the_log_in_page_says_how_to_get_in(
        settings: Settings, sessions: sessionmaker, scoring: ScriptedScoring) -> None:
    app = create_app(settings.model_copy(update={"cookie_secure": True}), sessions, scoring, run_worker=False)
    browser = TestClient(app, raise_server_exceptions=False)  # http://: it keeps the Secure cookies to itself
    response = log_in(browser, "tina", PASSWORD)
    assert response.status_code == 403 and "specscan app --dev" in response.text


def test_passwords_are_stored_as_argon2id_hashes_never_in_clear(sessions: sessionmaker) -> None:
    with sessions() as db:
        hashes = db.scalars(select(User.password_hash)).all()
    assert len(hashes) == 3 and len(set(hashes)) == 3  # salted: the same password, three hashes
    for stored in hashes:
        assert stored.startswith("$argon2id$") and PASSWORD not in stored


# --- first-admin bootstrap --------------------------------------------------------------------------------------

@pytest.fixture
def empty_sessions(database_url: str):
    engine = create_database_engine(database_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_the_first_admin_is_bootstrapped_only_into_an_empty_database(empty_sessions: sessionmaker) -> None:
    config = Settings(admin_username="boss", admin_password=SecretStr(PASSWORD))
    with empty_sessions.begin() as db:
        created = accounts.bootstrap_admin(db, config)
        assert created is not None and created.role == "admin"
    with empty_sessions() as db:  # authenticate commits as it counts
        assert accounts.bootstrap_admin(db, Settings(admin_username="boss2", admin_password=SecretStr(PASSWORD))) \
            is None
        assert db.scalars(select(User.username)).all() == ["boss"]
        assert accounts.authenticate(db, "boss", PASSWORD, config).username == "boss"
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).all()
        assert entry.actor == "bootstrap"


@pytest.mark.parametrize("given", [{}, {"admin_password": SecretStr(PASSWORD)}, {"admin_username": "boss"}],
                         ids=["nothing", "password-only", "username-only"])
def test_without_both_admin_username_and_password_nobody_is_bootstrapped(
        empty_sessions: sessionmaker, given: dict[str, object]) -> None:
    with empty_sessions.begin() as db:
        assert accounts.bootstrap_admin(db, Settings(**given)) is None
    assert count(empty_sessions, User) == 0


def test_signing_in_removes_sessions_past_their_end(client: TestClient, sessions: sessionmaker) -> None:
    sign_in(client, "tina")
    with sessions.begin() as db:
        for session in db.scalars(select(WebSession)):
            session.expires_at = utcnow() - timedelta(minutes=1)
    sign_in(TestClient(client.app), "rita")
    with sessions() as db:
        assert [s.user.username for s in db.scalars(select(WebSession))] == ["rita"]


def page_paths(app, component_id: int) -> list[str]:
    """Every GET route of the app but its static files, with `component_id` filled in."""
    paths = [route.path for route in iter_route_contexts(app.routes)
             if route.methods and "GET" in route.methods and not route.path.startswith("/static")]
    return [path.replace("{component_id}", str(component_id)) for path in paths]


def test_every_page_request_is_logged_with_who_asked_its_status_duration_and_request_id(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    csrf = sign_in(client, "ada")  # an admin may open every page
    created = client.post("/components", data={"csrf_token": csrf, "description": "Brake pad set, copper-free"},
                          follow_redirects=False)
    paths = page_paths(client.app, int(created.headers["location"].split("/")[2].split("?")[0]))
    assert len(paths) >= 15 and "/components" in paths and "/admin/api-keys" in paths
    for number, path in enumerate(paths):
        caplog.clear()
        with caplog.at_level("INFO", logger="specscan.webapp.access"):
            response = client.get(path, headers={"X-Request-ID": f"proxy-{number}"}, follow_redirects=False)
        [line] = [r for r in caplog.records if r.name == "specscan.webapp.access"]
        who = None if path in ("/login", "/") else "ada"  # the two pages open to anyone look up no session
        assert (line.path, line.method, line.user, line.status, line.request_id) == \
            (path, "GET", who, response.status_code, f"proxy-{number}"), path
        assert line.duration_ms > 0 and response.headers["X-Request-ID"] == f"proxy-{number}", path


def test_a_csrf_token_of_any_characters_is_refused_not_a_server_error(client: TestClient) -> None:
    sign_in(client, "tina")
    assert client.post("/components", data={"csrf_token": "é☃", "description": "x"}).status_code == 403
    assert client.post("/login", data={"csrf_token": "é", "username": "tina", "password": "x"}).status_code == 403


def test_a_post_without_a_declared_length_is_refused_before_its_body_is_read(client: TestClient) -> None:
    sent: list[bytes] = []  # the chunks the app took from the body: the test client reads it only when asked

    def chunks(parts: tuple[bytes, ...]):
        for part in parts:
            sent.append(part)
            yield part

    sign_in(client, "tina")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    parts = (b"csrf_token=x&description=", b"y" * 1000)
    response = client.post("/components", content=chunks(parts), headers=form)
    assert response.status_code == 411 and "Content-Length" in response.text
    assert sent == []  # not one chunk was asked for
    declared = client.post("/components", content=chunks(parts),
                           headers={**form, "Content-Length": str(sum(map(len, parts)))})
    assert declared.status_code == 403 and sent == list(parts)  # with a length it is read (its token refused)


def test_a_fragment_whose_session_ended_sends_the_browser_to_log_in_and_back_to_its_page(client: TestClient) -> None:
    response = client.get("/components/1/prediction", headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/components/1?saved=1"}, follow_redirects=False)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login?next=/components/1"
    odd = client.get("/components/%E2%82%AC", headers={"HX-Request": "true"}, follow_redirects=False)
    assert odd.status_code == 401


def test_a_page_polling_by_itself_does_not_keep_an_idle_session_alive(
        client: TestClient, sessions: sessionmaker, settings: Settings) -> None:
    sign_in(client, "tina")
    with sessions.begin() as db:
        db.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    client.get("/components", headers={"HX-Request": "true", "X-Poll": "true"})
    with sessions() as db:
        assert db.scalar(select(WebSession.last_seen_at)) < utcnow() - timedelta(minutes=4)
    client.get("/components")
    with sessions() as db:
        assert db.scalar(select(WebSession.last_seen_at)) > utcnow() - timedelta(minutes=1)


def test_an_id_beyond_the_databases_integer_range_is_a_400_and_the_largest_within_it_a_404(
        client: TestClient) -> None:
    csrf = sign_in(client, "ada")
    largest = 2**31 - 1  # INTEGER on SQLite and PostgreSQL alike
    assert client.get(f"/components/{largest}").status_code == 404
    assert [client.get(f"/components/{bad}").status_code for bad in (0, -1, largest + 1)] == [400, 400, 400]
    role = {"csrf_token": csrf, "role": "reviewer"}
    assert client.post(f"/admin/users/{largest}/role", data=role).status_code == 404
    assert [client.post(f"/admin/users/{bad}/role", data=role).status_code for bad in (0, largest + 1)] == [400, 400]

"""Log-in under attack (security review F1): parallel guesses cannot outrun the lock-out, a success never lifts
a lock, one client address is throttled, and a log-in ends the session the browser held before."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker
from webapp_support import PASSWORD, ScriptedScoring, log_in, login_token, other_browser, sign_in

from specscan.settings import Settings
from specscan.webapp import accounts, lockout
from specscan.webapp.access import SESSION_COOKIE
from specscan.webapp.app import create_app
from specscan.webapp.models import AuditEntry, User, WebSession, utcnow


def tina(sessions: sessionmaker) -> User:
    with sessions() as db:
        return db.scalars(select(User).where(User.username == "tina")).one()


def audited(sessions: sessionmaker, action: str) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


class HeldChecks:
    """Stands in for `accounts._verify`: records which hash each password is checked against, and holds every
    check until `release()`, so that a whole burst is in flight at once, as on a busy server."""

    def __init__(self, verify: Callable[[str, str], bool]) -> None:
        self._verify = verify
        self.hashes: list[str] = []  # what each password was checked against, in order
        self._arrived, self._release, self._lock = threading.Semaphore(0), threading.Event(), threading.Lock()

    def __call__(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.hashes.append(password_hash)
        self._arrived.release()
        assert self._release.wait(60), "never released"
        return self._verify(password_hash, password)

    def wait_for(self, checks: int) -> None:
        for _ in range(checks):
            assert self._arrived.acquire(timeout=60), f"only {len(self.hashes)} checks arrived"

    def release(self) -> None:
        self._release.set()


def test_a_burst_of_parallel_guesses_checks_max_passwords_and_then_refuses_even_the_right_one(
        client: TestClient, sessions: sessionmaker, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The review's burst: twelve wrong guesses at once, then the right password while they are being checked.
    Each guess used to read the account before any failure was counted, so all were checked and the right one
    signed in. Now only `login_max_failures` guesses reach the real hash; the rest, the right one too, are refused."""
    held = HeldChecks(accounts._verify)
    monkeypatch.setattr(accounts, "_verify", held)
    guesses = 12
    browsers = [other_browser(client) for _ in range(guesses + 1)]
    tokens = [login_token(browser) for browser in browsers]
    answers: dict[int, httpx.Response] = {}

    def post(i: int, password: str) -> None:
        answers[i] = browsers[i].post("/login", data={"username": "tina", "password": password,
                                                      "csrf_token": tokens[i]}, follow_redirects=False)

    threads = [threading.Thread(target=post, args=(i, f"wrong guess number {i}")) for i in range(guesses)]
    for thread in threads:
        thread.start()
    held.wait_for(guesses)  # every wrong guess is being checked, or was refused and is checked against nothing
    threads.append(threading.Thread(target=post, args=(guesses, PASSWORD)))
    threads[-1].start()
    held.wait_for(1)
    held.release()
    for thread in threads:
        thread.join(60)
    assert [answers[i].status_code for i in range(guesses + 1)] == [401] * (guesses + 1)
    assert SESSION_COOKIE not in browsers[guesses].cookies
    assert sum(h != accounts._DUMMY_HASH for h in held.hashes) == settings.login_max_failures
    assert tina(sessions).locked_until > utcnow() and audited(sessions, "user.locked") == 1


def test_wrong_guesses_checked_in_parallel_are_each_counted_and_the_next_one_locks(
        client: TestClient, sessions: sessionmaker, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """One guess fewer than the limit, all checked at the same moment: every failure is counted (none lost to
    another's write), the account is not locked yet, and the next wrong guess locks it."""
    held = HeldChecks(accounts._verify)
    monkeypatch.setattr(accounts, "_verify", held)
    guesses = settings.login_max_failures - 1

    def guess(i: int) -> None:
        with sessions() as db, pytest.raises(accounts.AccountError):
            accounts.authenticate(db, "tina", f"parallel guess {i}", settings)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    held.wait_for(guesses)  # every guess read the account and holds a place before any failure is counted
    held.release()
    for thread in threads:
        thread.join(60)
    counted = tina(sessions)
    assert (counted.failed_logins, counted.logins_in_flight, counted.locked_until) == (guesses, 0, None)
    assert log_in(client, "tina", "one guess too many").status_code == 401
    assert tina(sessions).locked_until > utcnow() and audited(sessions, "user.locked") == 1


def test_a_lock_set_while_the_right_password_is_checked_stands(
        client: TestClient, sessions: sessionmaker, monkeypatch: pytest.MonkeyPatch) -> None:
    """A success is written only where there is no lock, never over one: it used to reset the lock columns it had
    read, erasing a lock set meanwhile (here by another process, after an old lock had run out)."""
    with sessions.begin() as db:
        db.execute(update(User).where(User.username == "tina").values(locked_until=utcnow() - timedelta(hours=1)))
    verify = accounts._verify

    def lock_meanwhile(password_hash: str, password: str) -> bool:
        right = verify(password_hash, password)
        with sessions.begin() as db:
            db.execute(update(User).where(User.username == "tina")
                       .values(locked_until=utcnow() + timedelta(minutes=15)))
        return right

    monkeypatch.setattr(accounts, "_verify", lock_meanwhile)
    response = log_in(client, "tina", PASSWORD)
    assert response.status_code == 401 and "wrong username or password" in response.text
    assert SESSION_COOKIE not in client.cookies
    assert tina(sessions).locked_until > utcnow()


def test_checks_cut_off_over_a_minute_ago_hold_no_place(
        client: TestClient, sessions: sessionmaker, settings: Settings) -> None:
    """A process killed mid-check never settles its place; after `lockout.ABANDONED` such places count no more,
    so killed workers cannot keep an account out for good."""
    with sessions.begin() as db:
        db.execute(update(User).where(User.username == "tina")
                   .values(logins_in_flight=settings.login_max_failures, login_started_at=utcnow()))
    assert log_in(client, "tina", PASSWORD).status_code == 401  # every place is taken by checks under way
    with sessions.begin() as db:
        db.execute(update(User).where(User.username == "tina")
                   .values(login_started_at=utcnow() - lockout.ABANDONED - timedelta(seconds=1)))
    assert log_in(other_browser(client), "tina", PASSWORD).status_code == 303
    assert tina(sessions).logins_in_flight == 0


def test_log_ins_from_one_address_past_the_throttle_get_429_even_with_the_right_password(
        settings: Settings, sessions: sessionmaker, scoring: ScriptedScoring) -> None:
    """The per-address throttle: `login_throttle_per_minute` attempts, then 429 with Retry-After and nothing
    checked; other addresses go on signing in."""
    app = create_app(settings.model_copy(update={"login_throttle_per_minute": 3}), sessions, scoring,
                     run_worker=False)
    guesser = TestClient(app, raise_server_exceptions=False, client=("198.51.100.7", 40000))
    for guess in range(3):
        assert log_in(guesser, "tina", f"wrong guess number {guess}").status_code == 401
    throttled = log_in(guesser, "rita", PASSWORD)
    assert throttled.status_code == 429 and "Too many log-in attempts" in throttled.text
    assert 0 < int(throttled.headers["Retry-After"]) <= 20 and SESSION_COOKIE not in guesser.cookies
    neighbour = TestClient(app, raise_server_exceptions=False, client=("198.51.100.8", 40000))
    assert log_in(neighbour, "rita", PASSWORD).status_code == 303
    assert tina(sessions).failed_logins == 3  # the throttled attempt was not even counted against an account


def test_signing_in_ends_on_the_server_the_session_the_browser_held_before(
        client: TestClient, sessions: sessionmaker) -> None:
    """Signing in as rita in a browser holding tina's session used to replace only the cookie: tina's session
    lived on, and her old token still worked. Now it is ended (and audited as her log-out)."""
    sign_in(client, "tina")
    tinas_token = client.cookies[SESSION_COOKIE]
    assert log_in(client, "rita", PASSWORD).status_code == 303
    with sessions() as db:
        assert [session.user.username for session in db.scalars(select(WebSession))] == ["rita"]
    replay = other_browser(client)
    replay.cookies.set(SESSION_COOKIE, tinas_token)
    assert replay.get("/components", follow_redirects=False).headers["location"].startswith("/login")
    assert audited(sessions, "user.logout") == 1

"""The security review's reproduction of F1 against a real `specscan app` process: parallel guesses on one
account, the right password among them, with the per-address throttle off so that the lock-out itself is tested
(`benchmarks/security_bench.py` runs 20 such bursts, and again with the throttle on).

A lock-out checks at most SPECSCAN_LOGIN_MAX_FAILURES passwords of a burst, so the account locks once, and a right
password sent while those checks hold every place is refused; before the fix the lock was looked at only before
each check began, so every guess that arrived meanwhile was checked."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from scoring_support import free_port, stop_process, wait_until_answering

from specscan.settings import Settings
from specscan.webapp.accounts import create_user
from specscan.webapp.database import create_database_engine, session_factory, upgrade

USERNAME = "victim"
PASSWORD = "~".join(secrets.token_hex(1) for _ in range(12))  # made per run; never holds the username
GUESSES = 30
MAX_FAILURES = 5  # SPECSCAN_LOGIN_MAX_FAILURES, as the app below runs with it


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL, database file) of a running `specscan app --dev` holding the technician USERNAME."""
    home = tmp_path / "home"
    engine = create_database_engine(Settings(home=home).resolved_app_database_url)
    upgrade(engine)
    with session_factory(engine).begin() as db:
        create_user(db, USERNAME, PASSWORD, "technician", actor="test")
    engine.dispose()
    port = free_port()
    log = tmp_path / "app.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SPECSCAN_")}, "SPECSCAN_HOME": str(home),
           "SPECSCAN_LOGIN_THROTTLE_PER_MINUTE": "0", "SPECSCAN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
           "SPECSCAN_SCORING_URL": f"http://127.0.0.1:{free_port()}"}
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "specscan.cli", "app", "--dev", "--port", str(port)],
                                   env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/login", process, log, 60)
        yield f"http://127.0.0.1:{port}", home / "app.db"
    finally:
        stop_process(process)


def _browser(url: str) -> tuple[httpx.Client, str]:
    """A client that has opened the log-in form, and the form's CSRF token."""
    client = httpx.Client(base_url=url, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    return client, token


def _log_in(browser: tuple[httpx.Client, str], password: str) -> int:
    client, token = browser
    return client.post("/login", data={"username": USERNAME, "password": password, "csrf_token": token}).status_code


def _places_taken(database: Path) -> bool:
    """Whether the wrong guesses hold every place the lock-out gives (checks counted or in flight), or it locked."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        held, locked = db.execute("SELECT failed_logins + logins_in_flight, locked_until IS NOT NULL FROM users "
                                  "WHERE username = ?", (USERNAME,)).fetchone()
    return held >= MAX_FAILURES or bool(locked)


def test_f1_the_right_password_sent_while_parallel_guesses_hold_the_lock_outs_places_is_refused(
        app: tuple[str, Path]) -> None:
    url, database = app
    browsers = [_browser(url) for _ in range(GUESSES)]
    with ThreadPoolExecutor(GUESSES) as pool:
        wrong = [pool.submit(_log_in, browser, f"wrong-guess-{i:02d}") for i, browser in enumerate(browsers[:-1])]
        deadline = time.monotonic() + 60
        while not _places_taken(database):  # before the fix, the lock was looked at only before argon2 began
            assert time.monotonic() < deadline, "the wrong guesses never took the lock-out's places"
            time.sleep(0.002)
        right = _log_in(browsers[-1], PASSWORD)
        statuses = [w.result() for w in wrong]

    assert (right, set(statuses)) == (401, {401})
    assert _log_in(_browser(url), PASSWORD) == 401  # locked
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'user.locked'").fetchone() == (1,)


def test_f1_a_burst_of_parallel_guesses_locks_the_account_once(app: tuple[str, Path]) -> None:
    url, database = app
    browsers = [_browser(url) for _ in range(GUESSES)]
    with ThreadPoolExecutor(GUESSES) as pool:  # all at once, as the review sent them
        statuses = list(pool.map(_log_in, browsers, [f"wrong-guess-{i:02d}" for i in range(GUESSES)]))

    assert set(statuses) == {401}
    with sqlite3.connect(database) as db:  # before the fix: 3 locks a burst, from 8 or more passwords checked
        assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'user.locked'").fetchone() == (1,)

"""`specscan user create|list` and the first-admin bootstrap from the environment, as an operator runs them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner
from webapp_support import PASSWORD, sign_in

from specscan.cli.main import app
from specscan.errors import SpecscanError
from specscan.settings import Settings
from specscan.webapp import accounts
from specscan.webapp.app import build
from specscan.webapp.database import create_database_engine, session_factory
from specscan.webapp.models import User

runner = CliRunner()


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "app.db"
    monkeypatch.setenv("SPECSCAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPECSCAN_APP_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SPECSCAN_COOKIE_SECURE", "false")  # TestClient talks plain http://testserver
    return path


def secret_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(text + "\n")
    return path


def user_count(database_file: Path) -> int:
    engine = create_database_engine(f"sqlite:///{database_file}")
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(User.__table__))
    finally:
        engine.dispose()


def test_user_create_makes_a_user_who_is_listed_and_can_authenticate(database_file: Path, tmp_path: Path) -> None:
    created = runner.invoke(app, ["user", "create", "rosa", "--role", "reviewer",
                                  "--password-file", str(secret_file(tmp_path, PASSWORD))])
    assert created.exit_code == 0, created.output
    assert "created rosa (reviewer)" in created.stdout
    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0 and "rosa\treviewer\tactive" in listed.stdout
    engine = create_database_engine(f"sqlite:///{database_file}")
    with session_factory(engine)() as db:
        assert accounts.authenticate(db, "rosa", PASSWORD, Settings()).role == "reviewer"
    engine.dispose()


@pytest.mark.parametrize(("arguments", "password", "message"), [
    (["--role", "reviewer"], "short", "error: the password must have at least 12 characters"),
    (["--role", "wizard"], PASSWORD, "error: unknown role 'wizard'"),
    (["--role", "admin"], "", "error: the password must have at least 12 characters"),
    (["--role", "reviewer"], "password1234", "error: the password is on a list of commonly used passwords"),
    (["--role", "reviewer"], "Rosa.Reviewer.2026", "error: the password contains the username"),
], ids=["short-password", "bad-role", "empty-password", "common-password", "username-in-password"])
def test_user_create_refuses_bad_input_with_one_error_line_and_creates_nobody(
        database_file: Path, tmp_path: Path, arguments: list[str], password: str, message: str) -> None:
    result = runner.invoke(app, ["user", "create", "rosa", *arguments,
                                 "--password-file", str(secret_file(tmp_path, password))])
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
    assert user_count(database_file) == 0


def test_user_create_names_an_unreadable_password_file(database_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["user", "create", "rosa", "--password-file", str(tmp_path / "missing.txt")])
    assert result.exit_code == 1 and "error: cannot read the password file" in result.stderr
    assert "Traceback" not in result.output


def test_a_taken_username_is_refused(database_file: Path, tmp_path: Path) -> None:
    arguments = ["user", "create", "rosa", "--password-file", str(secret_file(tmp_path, PASSWORD))]
    assert runner.invoke(app, arguments).exit_code == 0
    again = runner.invoke(app, arguments)
    assert again.exit_code == 1 and "error: the username 'rosa' is taken" in again.stderr


@pytest.fixture
def built_app(database_file: Path) -> Iterator[Callable[[], TestClient]]:
    """`build` as `specscan app` calls it, over the environment's settings; disposes the engines it made."""
    made = []

    def make() -> TestClient:
        web = build(Settings(), run_worker=False)
        made.append(web)
        return TestClient(web, raise_server_exceptions=False)

    yield make
    for web in made:
        web.state.sessions.kw["bind"].dispose()


def test_the_first_admin_comes_from_the_environment_and_can_sign_in_and_administer(
        built_app: Callable[[], TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        database_file: Path) -> None:
    monkeypatch.setenv("SPECSCAN_ADMIN_USERNAME", "boss")
    monkeypatch.setenv("SPECSCAN_ADMIN_PASSWORD_FILE", str(secret_file(tmp_path, PASSWORD)))
    client = built_app()
    sign_in(client, "boss")
    assert client.get("/admin/users").status_code == 200
    built_app()  # a restart with the same environment creates nobody new
    assert user_count(database_file) == 1


def test_a_weak_first_admin_password_stops_the_start_with_the_reason_and_creates_nobody(
        built_app: Callable[[], TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        database_file: Path) -> None:
    monkeypatch.setenv("SPECSCAN_ADMIN_USERNAME", "boss")
    monkeypatch.setenv("SPECSCAN_ADMIN_PASSWORD_FILE", str(secret_file(tmp_path, "the-boss-password")))
    with pytest.raises(SpecscanError, match=r"SPECSCAN_ADMIN_PASSWORD.*the password contains the username"):
        built_app()
    assert user_count(database_file) == 0


def test_without_the_admin_variables_the_app_starts_with_no_user_and_no_default_password(
        built_app: Callable[[], TestClient], database_file: Path) -> None:
    client = built_app()
    assert user_count(database_file) == 0
    for username, password in (("admin", "admin"), ("admin", "password"), ("root", "changeme"), ("admin", "")):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 401 and "wrong username or password" in response.text

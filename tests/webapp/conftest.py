"""Web app fixtures: a migrated database on SQLite and (when a server is configured) PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from webapp_support import PASSWORD, ScriptedScoring

from specscan.settings import Settings
from specscan.webapp.accounts import create_user
from specscan.webapp.app import create_app
from specscan.webapp.database import create_database_engine, session_factory, upgrade


def sqlalchemy_url(url: str) -> str:
    """A libpq URL as SQLAlchemy's psycopg 3 URL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a schema of its own on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    server = sqlalchemy_url(request.getfixturevalue("postgres_url"))
    schema = f"webapp_{uuid.uuid4().hex[:12]}"
    admin = create_database_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    yield f"{server}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # TestClient talks plain http://testserver, so the session cookie must not be Secure (the default is)
    return Settings(home=tmp_path / "home", app_database_url=database_url, retry_interval=0.05, cookie_secure=False)


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker]:
    engine = create_database_engine(settings.resolved_app_database_url)
    upgrade(engine)
    with session_factory(engine).begin() as db:
        for name, role in (("tina", "technician"), ("rita", "reviewer"), ("ada", "admin")):
            create_user(db, name, PASSWORD, role, actor="test")
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def scoring() -> ScriptedScoring:
    return ScriptedScoring()


@pytest.fixture
def client(settings: Settings, sessions: sessionmaker, scoring: ScriptedScoring) -> Iterator[TestClient]:
    """The app with its retry worker off (tests drive `classify_pending` themselves)."""
    app = create_app(settings, sessions, scoring, run_worker=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client

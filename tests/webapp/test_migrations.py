"""The schema comes from the Alembic migrations, on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from specscan.webapp.database import create_database_engine, in_models, is_current, upgrade
from specscan.webapp.models import Base


def test_migrating_an_empty_database_creates_every_table_and_is_idempotent(database_url: str) -> None:
    engine = create_database_engine(database_url)
    assert not is_current(engine)
    upgrade(engine)
    upgrade(engine)  # a second start changes nothing
    assert is_current(engine)
    assert {"users", "web_sessions", "components", "audit_log", "alembic_version"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_migrations_produce_exactly_the_models_schema(database_url: str) -> None:
    engine = create_database_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": in_models})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], "models changed without a migration: run alembic revision --autogenerate"


def test_downgrade_to_empty_and_back(database_url: str) -> None:
    from alembic import command

    from specscan.webapp.database import _alembic_config

    engine = create_database_engine(database_url)
    upgrade(engine)
    command.downgrade(_alembic_config(engine), "base")
    assert "components" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "components" in inspect(engine).get_table_names()
    engine.dispose()



@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_on_postgresql_text_search_has_trigram_indexes(database_url: str) -> None:
    """(SQLite has none: its search scans, as the benchmark measures.)"""
    engine = create_database_engine(database_url)
    upgrade(engine)
    names = {index["name"] for index in inspect(engine).get_indexes("components")}
    engine.dispose()
    assert {"ix_components_description_trgm", "ix_components_part_number_trgm"} <= names


def test_usernames_are_unique_ignoring_case_in_the_database_itself(database_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    from specscan.webapp.database import session_factory
    from specscan.webapp.models import User

    engine = create_database_engine(database_url)
    upgrade(engine)
    with pytest.raises(IntegrityError), session_factory(engine).begin() as db:
        db.add_all([User(username=name, password_hash="x", role="technician") for name in ("Bob", "bob")])
    engine.dispose()


def test_a_database_of_revision_0002_keeps_its_users_and_unique_names_through_0003_and_back(database_url: str) -> None:
    """0003 adds the lock-out's columns to `users` in place: existing accounts start with no check in flight, and
    the case-insensitive unique index on the names survives the upgrade and the downgrade (SQLite included)."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from specscan.webapp.database import _alembic_config

    engine = create_database_engine(database_url)
    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (username, password_hash, role, active, failed_logins, created_at) "
                                "VALUES ('bob', 'x', 'technician', true, 2, CURRENT_TIMESTAMP)"))
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT failed_logins, logins_in_flight FROM users")).one() == (2, 0)
    command.downgrade(_alembic_config(engine), "0002")
    upgrade(engine)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("INSERT INTO users (username, password_hash, role, active, failed_logins, "
                                "created_at) VALUES ('BOB', 'x', 'technician', true, 0, CURRENT_TIMESTAMP)"))
    engine.dispose()

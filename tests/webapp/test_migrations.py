"""The schema comes from the Alembic migrations, on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from specscan.webapp.database import create_database_engine, is_current, upgrade
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


def test_the_migrations_produce_exactly_the_models_schema(database_url: str) -> None:
    engine = create_database_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       Base.metadata)
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


"""Trigram indexes for the list's text search, on PostgreSQL with pg_trgm (a no-op elsewhere).

`description ILIKE '%word%'` reads every row without them (~115 ms at 100,000 components). pg_trgm is
a trusted extension (PostgreSQL 13+): a user who may create objects in the database may install it.
Where it cannot be installed, the search still works, by scanning; the start-up log says so.

Revision ID: 0002
Revises: 0001
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)
COLUMNS = ("description", "part_number")
FIND_SCHEMA = text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                   "WHERE e.extname = 'pg_trgm'")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(FIND_SCHEMA).scalar()
    if schema is None:
        try:
            with bind.begin_nested():
                bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except DBAPIError as exc:
            log.warning("text search will scan every component: pg_trgm cannot be installed (%s); "
                        "a database owner can run CREATE EXTENSION pg_trgm, then recreate revision 0002",
                        str(exc.orig).strip().splitlines()[0])
            return
        schema = bind.execute(FIND_SCHEMA).scalar()
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_components_{column}_trgm ON components "
                   f'USING gin ({column} "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_components_{column}_trgm")

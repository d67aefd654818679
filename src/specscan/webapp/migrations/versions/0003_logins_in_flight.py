"""Password checks in flight: a log-in reserves its place on the account before its password is checked, so
parallel guesses cannot outrun the lock-out (security review F1).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs (SQLite 3.35+ drops columns): batch mode would rebuild `users` on SQLite from its reflection,
# which cannot read the lower(username) unique index, and so lose it.


def upgrade() -> None:
    op.add_column("users", sa.Column("logins_in_flight", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("users", sa.Column("login_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "login_started_at")
    op.drop_column("users", "logins_in_flight")

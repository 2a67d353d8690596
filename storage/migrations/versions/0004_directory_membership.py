"""Membership read from chat directories: where each group member came from, and when a
person's directory profile was last read

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `group_members.source` and `members.directory_checked_at` (both nullable).

    Existing rows keep NULL: every membership so far came from the playbook (source NULL),
    and no profile has been read yet, so the first refresh reads them all.
    """
    op.add_column("group_members", sa.Column("source", sa.String(length=210), nullable=True))
    op.add_column(
        "members",
        sa.Column("directory_checked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Drop both columns (batch mode, so SQLite rebuilds the tables)."""
    with op.batch_alter_table("members") as batch:
        batch.drop_column("directory_checked_at")
    with op.batch_alter_table("group_members") as batch:
        batch.drop_column("source")

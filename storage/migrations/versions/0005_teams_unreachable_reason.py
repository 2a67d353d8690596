"""Teams references: why a chat or channel stopped taking the bot's messages

A delivery refused with 403 (bot blocked, disabled by an admin, removed) or 404
(conversation gone) marks the stored reference as not installed, and this column keeps the
connector's reason, so `status` can tell admins why nothing reaches that person or channel
until the bot is added there again. NULL while the reference is usable.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `teams_references.unreachable_reason`."""
    op.add_column(
        "teams_references",
        sa.Column("unreachable_reason", sa.String(length=300), nullable=True),
    )


def downgrade() -> None:
    """Drop `teams_references.unreachable_reason` (batch mode: SQLite cannot drop in place)."""
    with op.batch_alter_table("teams_references") as batch:
        batch.drop_column("unreachable_reason")

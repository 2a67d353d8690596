"""What a retention purge kept of a round's answers: its figures, so trends stay readable

The purge deletes a round's answers once its retention has passed; the participation
figures live on in `participants`, but the means and medians of its ratings and measures,
and who answered part of it, were computed from the answers. They are written here first
(`bot.flows.retention`), so a trend over that round reads the same before and after.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `rounds.kept_figures` (JSON, empty until the round's answers are purged)."""
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("kept_figures", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop it: a purged round's trend points are empty again."""
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("kept_figures")

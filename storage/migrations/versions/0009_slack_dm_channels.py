"""Slack DM channel ids, kept so a restart or a new replica opens no DM twice

`conversations.open` is one of Slack's Tier 3 methods (about 50 calls a minute): opening
the DMs of a 5,000-person round again after every restart would take 100 minutes before
the first prompt could go out. A person's DM channel with the bot never changes, so the
first one opened (or seen on an incoming message) is kept here, per workspace.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `slack_dm_channels` (workspace, user) -> DM channel id."""
    op.create_table(
        "slack_dm_channels",
        sa.Column("team_id", sa.String(length=32), primary_key=True),
        sa.Column("user_id", sa.String(length=32), primary_key=True),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
    )


def downgrade() -> None:
    """Drop it: DMs are opened again (and cached in memory) as before."""
    op.drop_table("slack_dm_channels")

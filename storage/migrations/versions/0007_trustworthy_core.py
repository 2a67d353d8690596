"""Care dates, the current round of each member, acknowledged commands, health probes

- `conversations.scheduled_since`: rounds are owed only for scheduled times after a
  conversation came under the bot's care, so a new install never catches up on a round
  from before it existed. Backfilled with the conversation's first scheduled round
  (installs that ran it keep their catch-up), else the migration's time.
- `participants.shown_at`: which of a member's open rounds they are answering (the one
  whose question they were shown last). Backfilled with the round's opening time for
  participants that were prompted.
- `pending_commands`: slash commands stored before they are acknowledged.
- `health_checks`: the row `/healthz` commits to prove the database takes writes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns and tables, and backfill the two columns."""
    op.add_column(
        "conversations", sa.Column("scheduled_since", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "participants", sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "pending_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    op.create_index(
        "ix_pending_commands_due", "pending_commands", ["status", "received_at"], unique=False
    )
    op.create_table(
        "health_checks",
        sa.Column("replica", sa.String(length=200), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("replica"),
    )
    op.execute(
        "UPDATE conversations SET scheduled_since = (SELECT min(rounds.scheduled_for)"
        " FROM rounds WHERE rounds.conversation_id = conversations.id)"
    )
    # CURRENT_TIMESTAMP is UTC on both backends (SQLite writes it without a zone).
    op.execute(
        "UPDATE conversations SET scheduled_since = CURRENT_TIMESTAMP"
        " WHERE scheduled_since IS NULL"
    )
    op.execute(
        "UPDATE participants SET shown_at = (SELECT rounds.opened_at FROM rounds"
        " WHERE rounds.id = participants.round_id)"
        " WHERE participants.prompt_due_at IS NULL"
    )


def downgrade() -> None:
    """Drop what `upgrade` added (batch mode: SQLite cannot drop columns in place)."""
    op.drop_table("health_checks")
    op.drop_index("ix_pending_commands_due", table_name="pending_commands")
    op.drop_table("pending_commands")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("shown_at")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("scheduled_since")

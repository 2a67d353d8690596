"""Participants: when an opening prompt held for the participant's local time is due

A conversation with `local_time` ("09:30") holds each participant's opening prompt until
that time of day in their time zone. The due time is kept on the participant, not as a
future outbox row (the outbox delivers each destination in order, so a held row would
block that person's other messages); the engine's tick queues prompts that came due.
NULL when the prompt was sent (or never held), so existing rows need no backfill.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `participants.prompt_due_at` (nullable; every existing prompt has been sent)."""
    op.add_column(
        "participants",
        sa.Column("prompt_due_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Drop `participants.prompt_due_at` (batch mode: SQLite cannot drop in place).

    A prompt still held when downgrading is never sent as an opening prompt: the older
    code takes its participant as prompted, so they get only the round's reminders.
    """
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("prompt_due_at")

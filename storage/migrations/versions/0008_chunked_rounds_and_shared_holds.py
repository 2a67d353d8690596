"""Rounds opened and closed in chunks; rate-limit holds every replica sees

A round of 50,000 people is opened and closed in short transactions, each committing a
chunk of participants with their prompts (or of closed notices), so clicks keep being
answered meanwhile. `rounds.pending_work` says what is left ("open": participants and
their prompts are still being written; "close": closed notices and the digest) and
`rounds.work_cursor` how far it got (the last member or participant id done), so a crash
resumes from the next chunk and never writes a row twice. Existing rows have no pending
work (NULL).

`rate_limit_holds` keeps the platform's "retry after" per workspace or tenant (and per
API method where the platform limits by method) in the database, so a 429 seen by one
replica holds back every replica, and only for that workspace; `rate` is the sends a second the workspace was
seen to take before its 429, so a fresh process paces itself from the start.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `rounds.pending_work`, `rounds.work_cursor` and the `rate_limit_holds` table."""
    op.add_column("rounds", sa.Column("pending_work", sa.String(length=8), nullable=True))
    op.add_column("rounds", sa.Column("work_cursor", sa.Integer(), nullable=True))
    op.create_index("ix_rounds_pending_work", "rounds", ["pending_work"])
    op.create_table(
        "rate_limit_holds",
        sa.Column("scope", sa.String(length=200), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rate", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    """Drop them again (batch mode: SQLite cannot drop a column in place).

    A round still being opened or closed when downgrading keeps what it has: the older
    code sees an open round with the participants written so far, or a closed round.
    """
    op.drop_table("rate_limit_holds")
    op.drop_index("ix_rounds_pending_work", table_name="rounds")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("work_cursor")
        batch.drop_column("pending_work")

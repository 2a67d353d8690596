"""Teams channel references keep no speaker: drop the `user` stored before 0.1 kept none

A channel's (or group chat's) conversation reference was stored as Teams sent it with the
last activity there, so it named whoever spoke last: a person kept outside their own
reference, which `forget` deletes. The bot now stores channel references without the
user (`bot/adapters/teams/bot.py`); this removes it from the ones stored before. Proactive
posts into a channel do not need it. Personal-chat references keep their user: that is
the person the chat is with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_REFERENCES = sa.table(
    "teams_references",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("reference", sa.JSON()),
)


def upgrade() -> None:
    """Remove `user` from every stored reference that is not a personal chat's."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_REFERENCES.c.id, _REFERENCES.c.reference).where(
            _REFERENCES.c.kind != "personal"
        )
    ).all()
    for row_id, reference in rows:
        if isinstance(reference, dict) and "user" in reference:
            kept = {k: v for k, v in reference.items() if k != "user"}
            bind.execute(
                sa.update(_REFERENCES).where(_REFERENCES.c.id == row_id).values(reference=kept)
            )


def downgrade() -> None:
    """Nothing to restore: who spoke last in a channel is not kept anywhere else."""

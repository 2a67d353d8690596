"""Slack tokens encrypted at rest: the secret columns of slack_sdk's tables become TEXT

With SECRETS_KEYS set, the bot stores each Slack token (and refresh token, user token,
incoming webhook URL) as a Fernet token: url-safe base64 of 57 bytes plus the value padded
to whole 16-byte blocks, about 4/3 x (length + 73) characters. A rotating bot token of
about 150 characters becomes about 290, past slack_sdk's VARCHAR(200), which PostgreSQL
enforces. TEXT has no limit on either database, and is what `storage.models` declares
(the one deliberate difference from slack_sdk's schema, stated in tests/slack/test_oauth.py).

SQLite cannot alter a column's type in place: `batch_alter_table` copies the table (its
rows and index included) into the new shape. On PostgreSQL widening VARCHAR to TEXT is a
catalogue change, no rewrite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SECRET_COLUMNS = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
}


def upgrade() -> None:
    """VARCHAR(200) -> TEXT for every secret column."""
    for table, columns in SECRET_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.String(length=200),
                    type_=sa.Text(),
                    existing_nullable=True,
                )


def downgrade() -> None:
    """TEXT -> VARCHAR(200), as slack_sdk declares them.

    Run `strategy-bot secrets decrypt` first: on PostgreSQL an encrypted token does not fit
    in 200 characters and the downgrade fails (changing nothing); on SQLite, which does not
    enforce lengths, encrypted tokens would stay as they are.
    """
    for table, columns in SECRET_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=sa.String(length=200),
                    existing_nullable=True,
                )

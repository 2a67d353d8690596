"""Slack DM channel ids by workspace and user: opened once, kept across restarts.

The Slack adapter asks for a whole workspace's channels the first time it needs one (one
query, however many people), and writes each DM it opens or sees. This module knows rows
only; the adapter reaches it through its `DmChannels` port, never importing storage.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import SlackDmChannel

NO_TEAM = ""  # the SLACK_BOT_TOKEN workspace, whose addresses name no team


class DmChannelStore:
    """The `slack_dm_channels` table (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def team_channels(self, team: str | None) -> dict[str, str]:
        """Every known DM channel of a workspace: user id -> channel id."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(SlackDmChannel.user_id, SlackDmChannel.channel_id).where(
                    SlackDmChannel.team_id == (team or NO_TEAM)
                )
            )
            return {user: channel for user, channel in rows}

    def save(self, team: str | None, user: str, channel: str) -> None:
        """Keep a user's DM channel (the last one seen wins)."""
        table: Any = SlackDmChannel.__table__
        maker: Any = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        stmt = maker(table).values(team_id=team or NO_TEAM, user_id=user, channel_id=channel)
        stmt = stmt.on_conflict_do_update(
            index_elements=["team_id", "user_id"], set_={"channel_id": stmt.excluded.channel_id}
        )
        with self._db.transaction() as session:
            session.execute(stmt)

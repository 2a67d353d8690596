"""What the tests read back from the database: stored answers and outbox outcomes.

Shared by the Slack and Teams drivers, which differ in how people reach the bot but not in
what ends up stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage import models
from storage.db import Database


def stored_answers(db: Database, identity: str) -> dict[str, Any]:
    """A member's stored answers (all rounds), by question id."""
    with db.transaction() as s:
        rows = s.execute(
            select(models.Answer.question_id, models.Answer.value)
            .join(models.Participant)
            .join(models.Member)
            .where(models.Member.identity == identity)
        ).all()
        return {str(qid): value for qid, value in rows}


def outbox_outcomes(db: Database, destination: str) -> list[tuple[str, str | None]]:
    """(status, last error) of every outbox row to an address, oldest first."""
    with db.transaction() as s:
        rows = s.execute(
            select(models.OutboxMessage.status, models.OutboxMessage.last_error)
            .where(models.OutboxMessage.destination == destination)
            .order_by(models.OutboxMessage.id)
        ).all()
        return [(status, error) for status, error in rows]

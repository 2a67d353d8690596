"""The outbox table's writes and reads that are not delivery: insert once, list failures.

A message is a row before it is a delivery (see `bot.delivery.outbox` for the worker). The
insert is idempotent on the row's key, in the caller's transaction, so a message commits
(or not) with the change that caused it and writing it twice changes nothing. This module
knows rows and JSON payloads only; what a payload means is the engine's business.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import OutboxMessage

logger = logging.getLogger(__name__)
UNFINISHED = ("pending", "sending")
# Rows per multi-row INSERT: 9 parameters each stays far below SQLite's 32,766 and
# PostgreSQL's 65,535 bound parameters, and one statement per 500 messages is what makes
# a round of 50,000 people cheap to open.
INSERT_ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class NewRow:
    """One message for `insert_many`: the fields that differ from row to row."""

    key: str
    destination: str
    payload: dict[str, Any]


def insert(
    session: Session,
    *,
    key: str,
    platform: str,
    destination: str,
    payload: dict[str, Any],
    now: datetime,
    round_id: int | None = None,
) -> bool:
    """Insert an outbox row unless its idempotency key is there already.

    Returns:
        Whether a row was inserted (False when the key was already there).

    Raises:
        ValueError: the session is on a database other than SQLite or PostgreSQL.
    """
    values: dict[str, Any] = {
        "idempotency_key": key,
        "platform": platform,
        "destination": destination,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "round_id": round_id,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(OutboxMessage).values(values)
    elif dialect == "sqlite":
        stmt = sqlite.insert(OutboxMessage).values(values)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise ValueError(f"unsupported database dialect {dialect!r}")
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT run this way.
    stmt = stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(
        OutboxMessage.id
    )
    inserted = session.execute(stmt).first() is not None
    if not inserted:
        logger.debug("outbox key %s already enqueued", key)
    return inserted


def insert_many(
    session: Session,
    rows: Sequence[NewRow],
    *,
    now: datetime,
    round_id: int | None = None,
) -> int:
    """Insert many outbox rows in multi-row statements, skipping keys already there.

    The bulk form of `insert`, for a round's fan-out, reminders and closed notices: the
    idempotency key still decides, so a chunk written again after a crash adds nothing.
    Rows sharing a payload may share one dict (it is only read).

    Returns:
        How many rows were inserted.
    """
    if not rows:
        return 0
    values = [
        {
            "idempotency_key": row.key,
            "platform": row.destination.partition(":")[0],
            "destination": row.destination,
            "payload": row.payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "round_id": round_id,
            "created_at": now,
        }
        for row in rows
    ]
    # One compiled statement run with many parameter sets: SQLAlchemy's "insertmanyvalues"
    # sends them as multi-row INSERT ... VALUES (...), (...) of up to
    # INSERT_ROWS_PER_STATEMENT rows each, RETURNING the ids of the rows it inserted.
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_MANY.get(dialect)
    if stmt is None:  # built once per dialect: building it costs more than a small insert
        stmt = _INSERT_MANY[dialect] = (
            _insert_statement(session)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxMessage.id)
        )
    if len(values) == 1:  # an event's reply: a plain INSERT, without the batching
        return len(session.connection().execute(stmt, values[0]).all())
    conn = session.connection().execution_options(
        insertmanyvalues_page_size=INSERT_ROWS_PER_STATEMENT
    )
    return len(conn.execute(stmt, values).all())


_INSERT_MANY: dict[str, Any] = {}


def _insert_statement(session: Session) -> Any:
    table: Any = OutboxMessage.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {dialect!r}")  # pragma: no cover


def failures(session: Session, limit: int = 20) -> list[OutboxMessage]:
    """The newest messages that failed for good (for the ``status`` command)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def pending_count(session: Session) -> int:
    """How many messages are not delivered yet (``pending`` or being sent)."""
    stmt = select(func.count()).where(OutboxMessage.status.in_(UNFINISHED))
    return int(session.scalar(stmt) or 0)

"""Queue an outbound message in the caller's transaction (the outbox's front door).

The engine decides what to say and to whom; the message is written to the outbox in the
same transaction as the change that caused it, so it is never lost to a crash and, under
its idempotency key, never written twice. Delivering it is `bot.delivery`'s job, which
the engine does not need to know about.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.flows.outbound import OutboundMessage, dump_message
from storage import outbox


def enqueue(
    session: Session,
    *,
    key: str,
    address: str,
    message: OutboundMessage,
    now: datetime,
    round_id: int | None = None,
) -> bool:
    """Write a message to the outbox in the caller's transaction.

    Args:
        session: the caller's session; the row commits (or not) with the caller's work.
        key: the idempotency key; a second enqueue with the same key changes nothing.
        address: a ``platform:id`` address; the platform is the part before the first ``:``.
        message: what to send.
        now: the current time (the row is due at once).
        round_id: the round the message belongs to, if any.

    Returns:
        Whether a row was inserted (False when the key was already there).

    Raises:
        ValueError: if the address has no ``platform:`` prefix.
    """
    platform, sep, rest = address.partition(":")
    if not sep or not platform or not rest:
        raise ValueError(f"not a platform:id address: {address!r}")
    return outbox.insert(
        session,
        key=key,
        platform=platform,
        destination=address,
        payload=dump_message(message),
        now=now,
        round_id=round_id,
    )


def enqueue_many(
    session: Session,
    messages: Sequence[tuple[str, str, OutboundMessage]],
    *,
    now: datetime,
    round_id: int | None = None,
) -> int:
    """Write many (key, address, message) to the outbox in multi-row INSERTs.

    The bulk form of `enqueue` (a round's fan-out, reminders, closed notices): each message
    object is serialised once however many people it goes to, and a key already there is
    skipped, so a chunk written again after a crash adds nothing.

    Returns:
        How many rows were inserted.

    Raises:
        ValueError: if an address has no ``platform:`` prefix.
    """
    dumped: dict[int, dict[str, object]] = {}
    rows = []
    for key, address, message in messages:
        platform, sep, rest = address.partition(":")
        if not sep or not platform or not rest:
            raise ValueError(f"not a platform:id address: {address!r}")
        payload = dumped.get(id(message))
        if payload is None:
            payload = dumped[id(message)] = dump_message(message)
        rows.append(outbox.NewRow(key=key, destination=address, payload=payload))
    return outbox.insert_many(session, rows, now=now, round_id=round_id)

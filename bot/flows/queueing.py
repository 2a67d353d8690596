"""Queue an outbound message in the caller's transaction (the outbox's front door).

The engine decides what to say and to whom; the message is written to the outbox in the
same transaction as the change that caused it, so it is never lost to a crash and, under
its idempotency key, never written twice. Delivering it is `bot.delivery`'s job, which
the engine does not need to know about.
"""

from __future__ import annotations

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

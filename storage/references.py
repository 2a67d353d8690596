"""Where a chat platform can reach an address for messages nobody asked for.

Some platforms (Teams) let a bot post into a conversation only through the reference it
saw there when it was installed (service URL, conversation, tenant, bot and user). This
keeps those references as JSON, keyed by the address the engine uses, with whether the
conversation can still be reached and why not. It knows no platform's types: the adapter
serialises its own reference and words its own explanations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import TeamsReference, utcnow

REASON_CHARS = 150  # of a platform's reason kept in `unreachable_reason`


@dataclass(frozen=True)
class Stored:
    """What is known about an address: its reference, and whether it can be reached.

    Attributes:
        reference: the serialised reference, or None if the bot never saw the address.
        installed: False once the bot was removed or the platform refused it for good.
        reason: why it cannot be reached, when it cannot.
        since: when that was last recorded.
    """

    reference: dict[str, Any] | None
    installed: bool
    reason: str | None
    since: datetime | None


class References:
    """Stored references (synchronous: call through `asyncio.to_thread`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(
        self,
        address: str,
        kind: str,
        reference: dict[str, Any],
        on_install: Callable[[Session], None] | None = None,
    ) -> bool:
        """Insert or refresh the reference of an address and mark it reachable.

        A platform may announce one install twice (Teams sends `installationUpdate` and
        `conversationUpdate`) and redeliver either; only the change from "not reachable"
        to "reachable" says the bot was just (re)installed. That change is one conditional
        UPDATE (or the INSERT that wins the unique address), so concurrent deliveries see
        it once.

        Args:
            address: the engine address.
            kind: the platform's kind of conversation (`personal`, `channel`...).
            reference: the reference seen on the latest activity, serialised.
            on_install: called with the session when this is a new install, to write what
                must commit with it (a welcome): if either fails, neither is stored, and a
                redelivery finds a new install again.

        Returns:
            True when the address was unknown or unreachable before (a new install).
        """
        now = utcnow()
        usable = {
            "kind": kind,
            "reference": reference,
            "installed": True,
            "unreachable_reason": None,
            "updated_at": now,
        }
        with self.db.transaction() as session:
            revived = session.execute(
                update(TeamsReference)
                .where(TeamsReference.address == address, TeamsReference.installed.is_(False))
                .values(**usable)
                .execution_options(synchronize_session=False)
            )
            fresh = cast(CursorResult[Any], revived).rowcount == 1
            known = (
                fresh
                or session.scalar(
                    select(TeamsReference.id).where(TeamsReference.address == address)
                )
                is not None
            )
            if not known:
                try:
                    with session.begin_nested():
                        session.add(TeamsReference(address=address, **usable))
                    fresh = True
                except IntegrityError:  # a concurrent delivery inserted it first
                    fresh = False
            if fresh:
                if on_install is not None:
                    on_install(session)
                return True
            session.execute(
                update(TeamsReference)
                .where(TeamsReference.address == address)
                .values(kind=kind, reference=reference, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return False

    def mark_unreachable(self, address: str, reason: str) -> None:
        """Stop delivering to an address until the bot is added there again."""
        with self.db.transaction() as session:
            session.execute(
                update(TeamsReference)
                .where(TeamsReference.address == address)
                .values(
                    installed=False, unreachable_reason=reason[:REASON_CHARS], updated_at=utcnow()
                )
                .execution_options(synchronize_session=False)
            )

    def lookup(self, address: str) -> Stored:
        """What is stored for an address (`reference` None if nothing is)."""
        with self.db.transaction() as session:
            row = session.scalar(select(TeamsReference).where(TeamsReference.address == address))
            if row is None:
                return Stored(reference=None, installed=False, reason=None, since=None)
            return Stored(
                reference=dict(row.reference),
                installed=row.installed,
                reason=row.unreachable_reason,
                since=row.updated_at,
            )

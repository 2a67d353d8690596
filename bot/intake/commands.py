"""Commands acknowledged before they run: stored first, carried out once, after a crash too.

Why: Slack wants a slash command acknowledged within three seconds, and some commands take
longer (`ask` reads the directory and fans a round out to thousands of people). Acking
first and running in memory lost `close` and `pause` to a SIGKILL right after the ack, and
the admin got no reply. So an adapter stores the command (`store`, one short transaction,
unique per platform request id, so a replayed request stores nothing) and only then
acknowledges; the runner carries it out.

How "once" holds:

- The runner claims a stored command with one conditional UPDATE and a lease (like the
  outbox), so two runners (replicas, or a restart racing the old process's lease) never
  both take it while the lease lasts.
- It runs the command through the engine under the event id `command:<row id>`. The
  engine records processed event ids in the same transaction as the command's effects and
  its replies (`Engine.handle`), so a command that committed is never carried out again:
  a runner that re-runs it after a crash gets "duplicate" and only marks the row done.
- A command whose runner died before the commit is claimed again when its lease expires.

Replies go where the engine routes them: for a slash command, the request's
`response_url` (`bot.adapters.slack.respond`), which Slack honours for 30 minutes. A
command that could not be started within that time (the bot was down) is not carried
out: it is marked `expired`, and the person is told in their own chat what was not done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot import messages
from bot.flows.events import CommandInvoked, InboundEvent
from bot.flows.outbound import Notice, Outgoing
from bot.flows.queueing import enqueue
from bot.logs import Throttled
from storage.db import Database
from storage.models import PendingCommand

logger = logging.getLogger(__name__)
_throttled = Throttled(logger)

# Slack keeps a command's response_url valid this long; later, its replies cannot arrive.
MAX_AGE = timedelta(minutes=30)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5  # failures (not crashes) before a command is given up and the person told
RETRY_SECONDS = 2.0

Handle = Callable[[InboundEvent], Awaitable[list[Outgoing]]]


def serialise(event: CommandInvoked) -> dict[str, Any]:
    """The command as JSON, to be carried out later (without its event id)."""
    data = asdict(event)
    data.pop("event_id", None)
    return data


def deserialise(data: dict[str, Any], event_id: str) -> CommandInvoked:
    """The stored command, under the event id the engine de-duplicates it by."""
    fields = {k: v for k, v in data.items() if k in CommandInvoked.__dataclass_fields__}
    fields["event_id"] = event_id
    return CommandInvoked(**fields)


def store(db: Database, *, dedup_key: str, event: CommandInvoked, now: datetime) -> bool:
    """Store a command before the platform is told it arrived.

    Args:
        db: the database.
        dedup_key: the platform's id for the request (Slack's `trigger_id`): a replay of
            the same request stores nothing.
        event: the command.
        now: when it arrived.

    Returns:
        Whether it was stored (False: this request was stored before).
    """
    values = {
        "dedup_key": dedup_key[:200],
        "platform": event.actor.split(":", 1)[0],
        "event": serialise(event),
        "status": "pending",
        "attempts": 0,
        "received_at": now,
    }
    with db.transaction() as session:
        insert: Any = (postgresql if db.dialect == "postgresql" else sqlite).insert(PendingCommand)
        stmt = (
            insert.values(values)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(PendingCommand.id)
        )
        return session.execute(stmt).first() is not None


class CommandRunner:
    """Carries out stored commands (see the module docstring).

    Args:
        db: the database.
        handle: the runtime's event handler (membership refresh, then the engine).
        clock: the current time.
        on_queued: called (from a worker thread) after the runner itself wrote to the
            outbox, to wake its worker.
        lease: how long a claimed command stays with this runner. Only latency depends
            on it: a second runner that takes over a command still running finds its
            event id taken and carries out nothing (`Engine.handle`).
    """

    def __init__(
        self,
        db: Database,
        handle: Handle,
        *,
        clock: Callable[[], datetime],
        on_queued: Callable[[], None] = lambda: None,
        lease: timedelta = LEASE,
    ) -> None:
        self._lease = lease
        self._db = db
        self._handle = handle
        self._clock = clock
        self._on_queued = on_queued
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """A command was stored: run it now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Carry out stored commands until `stop` is set (commands left by a crash first)."""
        while not stop.is_set():
            self._wake.clear()
            try:
                ran = await self.run_once()
                _throttled.recovered("run", "stored commands run again")
            except Exception:
                _throttled.exception("run", "running stored commands failed")
                ran = 0
            if ran:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)

    async def run_once(self) -> int:
        """Claim and carry out every command that is due; returns how many were handled."""
        handled = 0
        while True:
            claimed = await asyncio.to_thread(self._claim)
            if claimed is None:
                return handled
            await self._carry_out(*claimed)
            handled += 1

    async def _carry_out(self, row_id: int, data: dict[str, Any], attempts: int) -> None:
        event = deserialise(data, f"command:{row_id}")
        try:
            await self._handle(event)
        except Exception:
            logger.exception("stored command %s (%s) failed", row_id, event.text.split()[:1])
            await asyncio.to_thread(self._failed, row_id, event, attempts)
            return
        await asyncio.to_thread(self._finish, row_id, "done")

    # -- database (in a worker thread) ------------------------------------------------

    def _claim(self) -> tuple[int, dict[str, Any], int] | None:
        now = self._clock()
        with self._db.transaction() as session:
            self._expire(session, now)
            due = and_(
                PendingCommand.status == "pending",
                or_(PendingCommand.lease_until.is_(None), PendingCommand.lease_until <= now),
            )
            row = session.execute(
                select(PendingCommand.id, PendingCommand.event, PendingCommand.attempts)
                .where(due)
                .order_by(PendingCommand.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            taken = session.execute(
                update(PendingCommand)
                .where(PendingCommand.id == row.id, due)
                .values(lease_until=now + self._lease, attempts=PendingCommand.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if not getattr(taken, "rowcount", 0):
                return None  # another runner took it between the read and the update
            return int(row.id), dict(row.event), int(row.attempts) + 1

    def _expire(self, session: Any, now: datetime) -> None:
        """Commands older than Slack lets us answer are not run; their authors are told."""
        stale = session.execute(
            select(PendingCommand.id, PendingCommand.event, PendingCommand.received_at).where(
                PendingCommand.status == "pending", PendingCommand.received_at < now - MAX_AGE
            )
        ).all()
        for row_id, data, received in stale:
            session.execute(
                update(PendingCommand)
                .where(PendingCommand.id == row_id, PendingCommand.status == "pending")
                .values(status="expired", finished_at=now, lease_until=None)
            )
            text = str(data.get("text") or "")
            enqueue(
                session,
                key=f"command-expired:{row_id}",
                address=str(data["actor"]),
                message=Notice(level="error", lines=(messages.command_expired(text, received),)),
                now=now,
            )
            logger.warning("stored command %s expired before it could run", row_id)
        if stale:
            self._on_queued()

    def _finish(self, row_id: int, status: str) -> None:
        with self._db.transaction() as session:
            session.execute(
                update(PendingCommand)
                .where(PendingCommand.id == row_id)
                .values(status=status, finished_at=self._clock(), lease_until=None)
            )

    def _failed(self, row_id: int, event: CommandInvoked, attempts: int) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            if attempts < MAX_ATTEMPTS:
                session.execute(
                    update(PendingCommand)
                    .where(PendingCommand.id == row_id)
                    .values(lease_until=now + timedelta(seconds=RETRY_SECONDS * attempts))
                )
                return
            session.execute(
                update(PendingCommand)
                .where(PendingCommand.id == row_id)
                .values(status="failed", finished_at=now, lease_until=None)
            )
            enqueue(
                session,
                key=f"command-failed:{row_id}",
                address=event.private_reply or event.actor,
                message=Notice(level="error", lines=(messages.GENERIC_FAILURE,)),
                now=now,
            )
        self._on_queued()


__all__ = ["MAX_AGE", "CommandRunner", "deserialise", "serialise", "store"]

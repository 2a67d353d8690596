"""The durable outbox: every outbound message is a row first, and a delivery second.

Why a table and not a direct call: a message written in the same transaction as the state
change that caused it (a round opening, an answer recorded) is never lost to a crash, a
restart or a platform outage, and an idempotency key makes writing it twice harmless.

Why claim-by-UPDATE instead of ``SELECT ... FOR UPDATE SKIP LOCKED``: SQLite has no row
locks, and the same code must serve SQLite (one process) and PostgreSQL (several replicas).
A worker claims a row with one atomic ``UPDATE ... WHERE id = :id AND <still claimable>``
and owns it only if exactly one row changed; a second worker's identical UPDATE then
matches nothing (PostgreSQL re-checks the WHERE clause on the row it waited for; SQLite
serialises writers). A claim sets a lease: a worker that dies between claim and result
leaves the row in ``sending`` until the lease expires, then any worker claims it again and
re-sends it with the same idempotency key.

Rules this module chooses:

- **Order per destination.** A row is claimable only if no older row to the same
  destination is still ``pending`` or ``sending``. One message in back-off holds the later
  ones to that destination: order matters more than latency in a conversation. A
  permanent failure does not block what follows.
- **Rate limits (429 / Retry-After never drop a message).** A ``retry`` result that carries
  ``retry_after`` is the platform's flow control, not a fault of the message: it does not
  count as an attempt (the claim's increment is undone), so no number of 429s ends in
  ``failed``. The row waits ``max(retry_after, back-off of its counted attempts)``, and at
  least one second.
  Because Slack's limits are per method and workspace, not per channel, this worker also
  holds *every* message to that platform until ``retry_after`` has passed. The hold lives
  in this process: another replica learns of the limit from its own first 429.
- **Giving up.** Transient failures (``retry`` without ``retry_after``, an adapter that
  raises, a lease that expired after a crash) count as attempts; the row fails for good
  with ``gave up after N attempts: <last error>`` once ``attempts >= max_attempts``.
  Back-off is 2, 4, 8 ... seconds with up to 25 % jitter, capped at 15 minutes.
- **Per-destination pacing.** One message per ``per_destination_interval`` seconds to one
  address (Slack allows about one per second per channel), measured with
  ``time.monotonic`` within this worker; different destinations go out concurrently.
- **A result is never dropped.** When a message went out but its result cannot be written
  (the database is down), the worker keeps the result in memory and writes it again with
  back-off (0.25 s doubling to 5 s), and at once when the database answers the turn's
  first query, before that turn claims anything; meanwhile it claims nothing for that
  destination, even after the row's lease has expired. So an outage without a crash sends
  nothing twice. Recording a result only needs the row to be
  still ``sending`` under this claim (the same ``attempts``), not an unexpired lease: a
  result kept through an outage longer than the lease still wins, unless another replica
  claimed the row first. If the worker stops with results unwritten, those rows are
  reclaimed after their lease, as after a crash.
- **Redelivery is announced.** A claim whose row had a counted attempt before (its lease
  expired after a crash or a lost result, or an attempt failed transiently, which may
  mean the platform took the message and the answer was lost) tells the adapter
  ``redelivery=True`` with the row's creation time, so an adapter that can ask its platform
  whether the message is already there does so instead of posting again. Rate-limited
  attempts are not counted and never reached the platform.
- **An outage is a few log lines.** Repeated failures (the drain, recording results, one
  platform's sends) go through `bot.logs.Throttled`: one traceback, then one counted line
  per interval, and a "recovered" line when it works again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.adapters.base import Adapter, DeliveryResult
from bot.flows.outbound import load_message
from bot.flows.queueing import enqueue
from bot.logs import DEFAULT_INTERVAL_SECONDS, Throttled
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import UNFINISHED, failures, pending_count

logger = logging.getLogger(__name__)
# Writing a row and listing failures are the engine's and storage's (re-exported here for
# callers that deliver and queue alike); this module is the worker.
__all__ = ["OutboxWorker", "backoff_seconds", "enqueue", "failures", "pending_count"]
# One alias for "an older row to the same destination", built once: a fresh alias per
# query would defeat SQLAlchemy's statement cache and cost more than the query itself.
_OLDER = aliased(OutboxMessage)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 15 * 60.0
MIN_RETRY_AFTER_SECONDS = 1.0  # a "Retry-After: 0" must not become a hot loop
ERROR_MAX_CHARS = 300  # the width of `OutboxMessage.last_error`
DEFAULT_LEASE_SECONDS = 60.0
# Writing a kept result again after the database failed: 0.25, 0.5, 1 ... s, at most 5 s,
# so the result is written within seconds of the database coming back.
RECORD_RETRY_BASE_SECONDS = 0.25
RECORD_RETRY_CAP_SECONDS = 5.0  # and at once when the database answers another query


def backoff_seconds(attempts: int, rng: random.Random) -> float:
    """Delay before the next try after `attempts` counted failures: 2, 4, 8 ... s, jittered.

    Args:
        attempts: counted (non-rate-limited) attempts so far; 0 means no delay.
        rng: the source of jitter.

    Returns:
        Seconds to wait, at most 15 minutes.
    """
    if attempts <= 0:
        return 0.0
    nominal = BACKOFF_BASE_SECONDS * 2 ** min(attempts - 1, 20)
    return min(BACKOFF_CAP_SECONDS, nominal * rng.uniform(1.0, 1.25))


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


@dataclass(frozen=True)
class _Claimed:
    """A row this worker owns until it records the result (or its lease expires)."""

    id: int
    key: str
    platform: str
    destination: str
    payload: dict[str, Any]
    attempts: int  # after the claim's increment: the fencing token for the result
    created_at: datetime

    @property
    def redelivery(self) -> bool:
        """Whether an earlier counted attempt may have reached the platform.

        Every claim counts an attempt and only a rate limit (which never reached the
        platform) or a release gives it back, so a second counted attempt means a lease
        that expired after a crash or a lost result, or a transient failure.
        """
        return self.attempts > 1


@dataclass(frozen=True)
class _Unrecorded:
    """A result the database did not take; kept until it does."""

    claimed: _Claimed
    result: DeliveryResult
    at: datetime  # when the send finished (the row's `sent_at`)


class OutboxWorker:
    """Delivers outbox rows through the platform adapters (see the module docstring).

    Args:
        db: the database.
        adapters: adapters by platform name (``slack``, ``teams``, ``console``).
        clock: the current time, for every timestamp written and every due check.
        max_attempts: counted failures after which a message fails for good.
        poll_seconds: how long `run` sleeps when there was nothing to do.
        per_destination_interval: minimum seconds between two sends to one address.
        lease_seconds: how long a claim lasts before another worker may take the row over
            (longer than the slowest send, or two workers may send one row at once).
        batch_size: at most this many destinations are started per `drain_once`.
        concurrency: at most this many sends in flight at once.
        rng: the source of back-off jitter (seed it in tests).
        log_interval: seconds between two log lines about the same ongoing failure.
    """

    def __init__(
        self,
        db: Database,
        adapters: Mapping[str, Adapter],
        *,
        clock: Callable[[], datetime],
        max_attempts: int = 8,
        poll_seconds: float = 1.0,
        per_destination_interval: float = 1.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        batch_size: int = 100,
        concurrency: int = 8,
        rng: random.Random | None = None,
        log_interval: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._db = db
        self._adapters = dict(adapters)
        self._clock = clock
        self._max_attempts = max_attempts
        self._poll_seconds = poll_seconds
        self._interval = per_destination_interval
        self._lease = timedelta(seconds=lease_seconds)
        self._batch_size = batch_size
        self._semaphore = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._wake = asyncio.Event()
        self._last_send: dict[str, float] = {}  # destination -> time.monotonic() of last send
        self._platform_hold: dict[str, datetime] = {}  # platform -> held until (clock time)
        self._log = Throttled(logger, interval=log_interval)
        # Results the database did not take, by row id, oldest first (see `_keep`).
        self._unrecorded: dict[int, _Unrecorded] = {}
        self._record_failures = 0
        self._record_retry_at = 0.0  # time.monotonic() of the next try to write them

    # -- running ---------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake `run` now (new rows were committed) instead of at the next poll."""
        self._wake.set()

    @property
    def unrecorded(self) -> int:
        """How many delivery results wait for the database (sent, not yet recorded)."""
        return len(self._unrecorded)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox until `stop` is set; errors are logged and the loop goes on.

        Args:
            stop: set it to end the loop (after the current drain).
        """
        logger.info("outbox worker started")
        while not stop.is_set():
            self._wake.clear()
            try:
                handled = await self.drain_once()
            except Exception:
                self._log.exception(
                    "drain", "outbox drain failed; retrying every %.1f s", self._poll_seconds
                )
                handled = 0
            else:
                self._log.recovered("drain", "outbox drain works again")
            if handled:
                await asyncio.sleep(0)
                continue
            await self._idle(stop)
        if self._unrecorded:
            await self._record_kept(now=True)
        if self._unrecorded:
            logger.warning(
                "outbox worker stopped with %d delivery result(s) not recorded (rows %s): "
                "they are claimed again when their lease expires",
                len(self._unrecorded),
                ", ".join(str(row_id) for row_id in self._unrecorded),
            )
        logger.info("outbox worker stopped")

    async def _idle(self, stop: asyncio.Event) -> None:
        timeout = self._poll_seconds
        if self._unrecorded:
            timeout = max(0.0, min(timeout, self._record_retry_at - time.monotonic()))
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def drain_once(self) -> int:
        """Deliver every row that is due now, each destination in order.

        Results kept from an earlier database failure are written first; a destination
        with a result still unwritten is skipped, so its row is not claimed again.

        Returns:
            The number of rows handled (sent, rescheduled or failed).
        """
        handled = await self._record_kept()
        heads = await asyncio.to_thread(self._due_heads)
        if self._unrecorded:
            # The database answers again: write what was kept now, before claiming anything.
            handled += await self._record_kept(now=True)
        waiting = {kept.claimed.destination for kept in self._unrecorded.values()}
        heads = [
            (row_id, dest, plat)
            for row_id, dest, plat in heads
            if dest not in waiting and not self._held(plat)
        ]
        if not heads:
            return handled
        results = await asyncio.gather(
            *(self._drain_destination(row_id, dest, plat) for row_id, dest, plat in heads),
            return_exceptions=True,
        )
        stopped = 0
        for (_, dest, _), result in zip(heads, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                stopped += 1
                try:
                    raise result  # log it with its traceback, at most once per interval
                except Exception:
                    self._log.exception(
                        "destination", "outbox delivery to %s stopped: %s", dest, result
                    )
            else:
                handled += result
        if not stopped:
            self._log.recovered("destination", "outbox deliveries work again")
        return handled

    # -- one destination -------------------------------------------------------------------

    async def _drain_destination(self, first_id: int, destination: str, platform: str) -> int:
        handled = 0
        row_id: int | None = first_id
        while row_id is not None and handled < self._batch_size:
            await self._pace(destination)
            async with self._semaphore:
                if self._held(platform):
                    return handled
                claimed = await asyncio.to_thread(self._claim, row_id)
                if claimed is None:
                    return handled  # another worker has it, or it is no longer due
                if self._held(claimed.platform):
                    # A 429 arrived for this platform between the check and the claim.
                    await asyncio.to_thread(self._release, claimed)
                    return handled
                result = await self._send(claimed)
                at = self._clock()
                # Later messages to a destination wait behind one that must be retried.
                follow = result.status != "retry"
                try:
                    row_id = await asyncio.to_thread(
                        self._record, claimed, result, follow=follow, now=at
                    )
                except Exception:
                    self._keep(claimed, result, at)
                    return handled
            handled += 1
        return handled

    def _keep(self, claimed: _Claimed, result: DeliveryResult, at: datetime) -> None:
        """Hold a result the database did not take, to write it on a later turn."""
        self._unrecorded[claimed.id] = _Unrecorded(claimed=claimed, result=result, at=at)
        self._record_failed()

    def _record_failed(self) -> None:
        self._record_failures += 1
        delay = RECORD_RETRY_BASE_SECONDS * 2 ** min(self._record_failures - 1, 10)
        self._record_retry_at = time.monotonic() + min(RECORD_RETRY_CAP_SECONDS, delay)
        self._log.exception(
            "record",
            "outbox: cannot record %d delivery result(s); keeping them and trying again",
            len(self._unrecorded),
        )

    async def _record_kept(self, *, now: bool = False) -> int:
        """Write the results kept from a database failure, oldest first, if it is time.

        Args:
            now: try at once, whatever the back-off says.

        Returns:
            How many were written now.
        """
        if not self._unrecorded or (not now and time.monotonic() < self._record_retry_at):
            return 0
        written = 0
        for row_id, kept in list(self._unrecorded.items()):
            try:
                await asyncio.to_thread(self._record, kept.claimed, kept.result, now=kept.at)
            except Exception:
                self._record_failed()
                return written
            del self._unrecorded[row_id]
            written += 1
        self._record_failures = 0
        self._log.recovered("record", "outbox: delivery results are recorded again")
        return written

    async def _pace(self, destination: str) -> None:
        last = self._last_send.get(destination)
        if last is None or self._interval <= 0:
            return
        wait = last + self._interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _held(self, platform: str) -> bool:
        until = self._platform_hold.get(platform)
        if until is None:
            return False
        if self._clock() >= until:
            del self._platform_hold[platform]
            return False
        return True

    async def _send(self, claimed: _Claimed) -> DeliveryResult:
        adapter = self._adapters.get(claimed.platform)
        if adapter is None:
            return DeliveryResult.failed(f"no adapter for platform {claimed.platform}")
        self._last_send[claimed.destination] = time.monotonic()
        key = f"send:{claimed.platform}"
        try:
            message = load_message(claimed.payload)
            result = await adapter.send(
                address=claimed.destination,
                message=message,
                idempotency_key=claimed.key,
                redelivery=claimed.redelivery,
                enqueued_at=claimed.created_at,
            )
        except Exception as exc:
            self._log.exception(
                key, "sending outbox row %s to %s raised", claimed.id, claimed.destination
            )
            return DeliveryResult.retry(type(exc).__name__)
        self._log.recovered(key, "outbox: sending to %s works again", claimed.platform)
        return result

    # -- database (run in a worker thread) -------------------------------------------------

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        older = _OLDER
        blocked = exists().where(
            older.destination == OutboxMessage.destination,
            older.id < OutboxMessage.id,
            older.status.in_(UNFINISHED),
        )
        due = or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == "sending", OutboxMessage.lease_until <= now),
        )
        return and_(due, ~blocked)

    def _due_heads(self) -> list[tuple[int, str, str]]:
        now = self._clock()
        stmt = (
            select(OutboxMessage.id, OutboxMessage.destination, OutboxMessage.platform)
            .where(self._claimable(now))
            .order_by(OutboxMessage.id)
            .limit(self._batch_size)
        )
        with self._db.transaction() as session:
            return [(row.id, row.destination, row.platform) for row in session.execute(stmt)]

    def _next_head(self, session: Session, destination: str) -> int | None:
        stmt = (
            select(OutboxMessage.id)
            .where(OutboxMessage.destination == destination, self._claimable(self._clock()))
            .order_by(OutboxMessage.id)
            .limit(1)
        )
        return session.scalar(stmt)

    def _claim(self, row_id: int) -> _Claimed | None:
        now = self._clock()
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, self._claimable(now))
            .values(
                status="sending",
                lease_until=now + self._lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        with self._db.transaction() as session:
            result = cast(CursorResult[Any], session.execute(stmt))
            if result.rowcount != 1:
                return None
            row = session.execute(
                select(
                    OutboxMessage.idempotency_key,
                    OutboxMessage.platform,
                    OutboxMessage.destination,
                    OutboxMessage.payload,
                    OutboxMessage.attempts,
                    OutboxMessage.created_at,
                ).where(OutboxMessage.id == row_id)
            ).one()
        return _Claimed(
            id=row_id,
            key=row.idempotency_key,
            platform=row.platform,
            destination=row.destination,
            payload=row.payload,
            attempts=row.attempts,
            created_at=row.created_at,
        )

    def _finish(self, claimed: _Claimed, *, follow: bool = False, **values: Any) -> int | None:
        """Record a claimed row's outcome; with `follow`, also find the destination's next head.

        Both happen in one transaction: a fan-out is mostly one message per destination, and
        each transaction costs more than the two statements in it. The row must still be
        ``sending`` under this claim (its ``attempts``); the lease may have run out (a result
        kept through a database outage), as long as no other worker claimed the row since.
        """
        stmt = (
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claimed.id,
                OutboxMessage.status == "sending",
                OutboxMessage.attempts == claimed.attempts,
            )
            .values(lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        with self._db.transaction() as session:
            result = cast(CursorResult[Any], session.execute(stmt))
            if result.rowcount != 1 and not self._already_recorded(session, claimed, values):
                logger.warning(
                    "outbox row %s: lease lost before its result (%s) was recorded",
                    claimed.id,
                    values.get("status"),
                )
            return self._next_head(session, claimed.destination) if follow else None

    def _already_recorded(
        self, session: Session, claimed: _Claimed, values: Mapping[str, Any]
    ) -> bool:
        """Whether the row already holds this outcome (a commit whose answer was lost)."""
        row = session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).where(
                OutboxMessage.id == claimed.id
            )
        ).first()
        return (
            row is not None
            and row.status == values.get("status")
            and row.attempts == values.get("attempts", claimed.attempts)
        )

    def _release(self, claimed: _Claimed) -> None:
        self._finish(claimed, status="pending", attempts=claimed.attempts - 1)

    def _record(
        self,
        claimed: _Claimed,
        result: DeliveryResult,
        *,
        follow: bool = False,
        now: datetime | None = None,
    ) -> int | None:
        """Store a send's outcome; returns the destination's next due row if `follow`.

        Args:
            claimed: the row, as claimed.
            result: what the adapter answered.
            follow: also find the destination's next due row (in the same transaction).
            now: when the send finished (default: now).
        """
        now = now or self._clock()
        error = _clip(result.error or "unknown error")
        if result.status == "sent":
            head = self._finish(
                claimed,
                follow=follow,
                status="sent",
                sent_at=now,
                platform_message_id=result.platform_message_id,
                last_error=None,
            )
            logger.debug("outbox row %s sent to %s", claimed.id, claimed.destination)
            return head
        elif result.status == "failed":
            head = self._finish(claimed, follow=follow, status="failed", last_error=error)
            logger.warning("outbox row %s to %s failed: %s", claimed.id, claimed.destination, error)
            return head
        elif result.retry_after is not None:
            # Flow control: not counted against the message, and the platform is held.
            attempts = claimed.attempts - 1
            retry_after = max(MIN_RETRY_AFTER_SECONDS, result.retry_after)
            delay = max(retry_after, backoff_seconds(attempts, self._rng))
            hold_until = now + timedelta(seconds=retry_after)
            previous = self._platform_hold.get(claimed.platform)
            if previous is None or previous < hold_until:
                self._platform_hold[claimed.platform] = hold_until
            self._finish(
                claimed,
                status="pending",
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=_clip(f"rate limited, retry after {retry_after:g} s: {error}"),
            )
            logger.info(
                "outbox row %s: %s rate-limited, holding the platform for %.1f s",
                claimed.id,
                claimed.platform,
                retry_after,
            )
        elif claimed.attempts >= self._max_attempts:
            reason = _clip(f"gave up after {claimed.attempts} attempts: {error}")
            self._finish(claimed, status="failed", last_error=reason)
            logger.warning("outbox row %s to %s: %s", claimed.id, claimed.destination, reason)
        else:
            delay = backoff_seconds(claimed.attempts, self._rng)
            self._finish(
                claimed,
                status="pending",
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=error,
            )
            logger.info(
                "outbox row %s to %s: attempt %d failed (%s), retry in %.1f s",
                claimed.id,
                claimed.destination,
                claimed.attempts,
                error,
                delay,
            )
        return None

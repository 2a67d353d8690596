"""The durable outbox: every outbound message is a row first, and a delivery second.

Why a table and not a direct call: a message written in the same transaction as the state
change that caused it (a round opening, an answer recorded) is never lost to a crash, a
restart or a platform outage, and an idempotency key makes writing it twice harmless.

How rows are claimed: in batches, one transaction that first writes the results of the
sends that just finished and then claims up to as many due rows as there are free sending
slots (`concurrency`), so a slot is refilled as soon as its send ends ("continuous
claiming": no send waits for a whole batch). The claim is one atomic
``UPDATE ... WHERE id IN (...) AND <still claimable> RETURNING ...``; on PostgreSQL the
candidates are first read with ``SELECT ... FOR UPDATE SKIP LOCKED``, so replicas claiming
at the same moment pass over each other's rows instead of queueing behind them (SQLite
serialises writers, and has no row locks). A claim sets a lease: a worker that dies
between claim and result leaves the row in ``sending`` until the lease expires, then any
worker claims it again and re-sends it with the same idempotency key.

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
  The limit also holds back every message to what the platform limited, until
  ``retry_after`` has passed: the result's ``hold_scope`` (an address prefix and method,
  such as ``slack:T0123/|chat.postMessage``: Slack limits per method per workspace), else
  the adapter's ``hold_scope(address)``, else the whole platform. Holds are rows of
  ``rate_limit_holds``, read by every claim, so every replica waits, and one workspace's
  429 never stops another's messages. A 429 of a method the adapter keeps back itself
  (its ``held_methods``: Slack's ``conversations.open``) holds that method only: the
  claim passes nothing over, each send is told what is held (``held``), and only the
  messages that need the method wait (`bot.delivery.holds`).
- **Per-workspace pacing** (`bot.delivery.pacing`). A 429 of the adapter's
  ``paced_method`` teaches the workspace's cap (kept with the hold, for every replica);
  from then on each post gets a start time ("slot") just under that cap, claimed up to
  `PACE_AHEAD` before it (one workspace waits in at most half the ``concurrency``, so
  the others' messages still go out). The adapter awaits its slot before each post (``pace``), so a
  long message's parts and a DM that must first be opened are paced as posts.
- **Giving up.** Transient failures (``retry`` without ``retry_after``, an adapter that
  raises, a lease that expired after a crash) count as attempts; the row fails for good
  with ``gave up after N attempts: <last error>`` once ``attempts >= max_attempts``.
  Back-off is 2, 4, 8 ... seconds with up to 25 % jitter, capped at 15 minutes.
- **Per-destination pacing.** One message per ``per_destination_interval`` seconds to one
  address (Slack allows about one per second per channel), measured with
  ``time.monotonic`` within this worker from the answer to its latest post (by then it is
  there, whatever the network's delay); a destination sent to too recently is passed
  over by the claim (it holds no slot while it waits), and different destinations go
  out concurrently.
- **A slow send keeps its row.** While a send runs (a big export's file is built first,
  which can take longer than the lease), its lease is renewed each time half of it is
  left, in the transaction that records results and claims, for up to
  ``MAX_SEND_SECONDS``; so no other replica takes over a send that is slow but alive.
  A crashed process renews nothing: its rows are taken over after their lease.
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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import inf
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.adapters.base import Adapter, DeliveryResult
from bot.delivery.holds import MethodHolds
from bot.delivery.pacing import Pacer, Post
from bot.flows.outbound import load_message
from bot.flows.queueing import enqueue
from bot.logs import DEFAULT_INTERVAL_SECONDS, Throttled
from storage.db import Database
from storage.models import OutboxMessage, RateLimitHold
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
# A send still running is kept claimed (its lease renewed when half of it is left) for up
# to this long: a big export's file takes about a minute to build, longer than the lease.
# A send that hangs longer than this loses its row to another worker after its lease.
MAX_SEND_SECONDS = 15 * 60.0
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


class _Gate:
    """The slots of one row's posts: awaited before each (`OutboxWorker._deliver`).

    The first post takes the slot its claim reserved; later ones (the parts of a long
    message, to the same channel) take the next free slot at least a
    `per_destination_interval` after the part before was answered. A post waits for a hold met since
    the claim (a new slot after it) and for `Pacer.earliest`, and then starts: nothing
    is awaited between that check and the post, so no other send starts in between.
    """

    def __init__(
        self,
        worker: OutboxWorker,
        scope: str,
        destination: str,
        slot: float | None,
        claimed_at: float,
    ) -> None:
        self._worker, self._scope, self._destination = worker, scope, destination
        self._slot, self._claimed_at = slot, claimed_at
        self.posts = 0  # posts started
        self.last: Post | None = None  # the last one

    def answered(self, now: float) -> None:
        """The send ended: the last post's answer came (or none will).

        The next send to this destination is paced from now: its last post is there.
        """
        if self.last is not None:
            self._worker._pacer.answered(self.last, now)
        self._worker._last_send[self._destination] = now

    async def __call__(self) -> None:
        pacer, scope = self._worker._pacer, self._scope
        slot = self._slot if self.posts == 0 else None
        # A later part goes to the same channel: a destination's interval after the part
        # before, whose answer has just come (so it is there, whatever the network's delay).
        not_before = 0.0 if self.posts == 0 else time.monotonic() + self._worker._interval
        held = 0.0
        while True:
            if slot is None:
                after = max(held, not_before)
                slot, _ = pacer.reserve(scope, time.monotonic(), ahead=inf, after=after)
            delay = (slot or 0.0) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            held = pacer.held_after(scope, self._claimed_at, now)
            if held > now:
                slot = None  # a 429 came meanwhile: a new slot after its hold
                continue
            slot = pacer.earliest(scope, now)
            if slot <= now:
                break
        if self.last is not None:  # the previous part's answer came: this part is next
            pacer.answered(self.last, now)
        self.last = pacer.start(scope, now)
        self.posts += 1


@dataclass(frozen=True)
class _Excluded:
    """Destinations a claim passes over: being sent or result unwritten, or paced."""

    busy: frozenset[str]
    paced: dict[str, float]  # destination -> seconds until it may be sent to again


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
        batch_size: at most this many rows are claimed in one transaction.
        concurrency: at most this many sends in flight at once (`OUTBOX_CONCURRENCY`).
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
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._wake = asyncio.Event()
        self._last_send: dict[str, float] = {}  # destination -> time.monotonic() of last send
        self._log = Throttled(logger, interval=log_interval)
        # Results the database did not take, by row id, oldest first (see `_keep`).
        self._unrecorded: dict[int, _Unrecorded] = {}
        self._record_failures = 0
        self._record_retry_at = 0.0  # time.monotonic() of the next try to write them
        # When the next rescheduled row comes due or hold ends (clock time), as last seen.
        self._next_due: datetime | None = None
        # What each workspace takes, learned from its 429s, and its sends' slots
        # (`bot.delivery.pacing`).
        self._pacer = Pacer()
        # Holds of one method that the adapter keeps back itself (`bot.delivery.holds`).
        self._method_holds = MethodHolds()
        # Claimed row id -> (its paced slot or None, time.monotonic() of the claim).
        self._slots: dict[int, tuple[float | None, float]] = {}
        # Row id in flight -> (when its lease ends, when it was claimed), clock time.
        self._leases: dict[int, tuple[datetime, datetime]] = {}

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
        if self._next_due is not None:
            # A row rescheduled (a 429, a back-off) or a hold ending sooner than the poll:
            # wake then, not up to a poll later (a workspace's 1 s holds add up).
            due_in = (self._next_due - self._clock()).total_seconds()
            timeout = max(0.0, min(timeout, due_in))
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
        """Deliver every row that is due now, each destination in order, then return.

        Claiming is continuous: whenever a send finishes, its result is recorded and the
        free slots are filled with the next due rows, in one transaction, so one slow
        destination (or one person with five queued replies) never holds up the others,
        and rows committed meanwhile are taken at once. A destination sent to less than
        `per_destination_interval` ago is left for a later claim instead of holding a
        slot while it waits. Results kept from an earlier database failure are written
        in the first transaction, before anything is claimed; a destination with a result
        still unwritten is not claimed.

        Returns:
            The number of rows handled (sent, rescheduled or failed).
        """
        handled = 0
        in_flight: dict[asyncio.Task[_Unrecorded], _Claimed] = {}
        finished: list[_Unrecorded] = []
        claiming = True
        try:
            while True:
                kept_due = bool(self._unrecorded) and (
                    finished or time.monotonic() >= self._record_retry_at
                )
                batch = [*self._unrecorded.values()] if kept_due else []
                batch += finished
                free = min(self._concurrency - len(in_flight), self._batch_size)
                renew = self._to_renew(in_flight.values())
                pace_wait: float | None = None
                if batch or (claiming and free > 0) or renew:
                    try:
                        claimed, pace_wait = await asyncio.to_thread(
                            self._cycle,
                            batch,
                            free if claiming else 0,
                            self._excluded(in_flight),
                            # Taken here, not in the thread: a 429 learned from here on is
                            # not in `batch`, so its hold is not in the database yet.
                            time.monotonic(),
                            renew,
                        )
                    except Exception:
                        for item in finished:
                            self._unrecorded[item.claimed.id] = item
                        finished = []
                        claiming = False  # the database is down: send nothing more now
                        if batch:
                            self._record_failed()
                        elif not in_flight:
                            raise
                        claimed = []
                    else:
                        if kept_due:
                            self._unrecorded.clear()
                            self._record_failures = 0
                            self._log.recovered(
                                "record", "outbox: delivery results are recorded again"
                            )
                        handled += len(batch)
                        finished = []
                    for row in claimed:
                        slot, claimed_at = self._slots.pop(row.id, (None, time.monotonic()))
                        task = asyncio.create_task(self._deliver(row, slot, claimed_at))
                        in_flight[task] = row
                    self._slots.clear()  # reserved for rows another worker took first
                if not in_flight:
                    if claiming and pace_wait is not None:
                        await asyncio.sleep(pace_wait)
                        continue
                    return handled
                # A send finishing frees a slot; a row committed meanwhile (`notify`) or the
                # poll may find more to claim for the free slots.
                self._wake.clear()
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait(
                        [*in_flight, woken],
                        timeout=min(self._poll_seconds, pace_wait or self._poll_seconds),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    woken.cancel()
                await asyncio.sleep(0)  # let sends finishing at the same moment join the batch
                for task in [t for t in in_flight if t.done()]:
                    self._leases.pop(in_flight.pop(task).id, None)
                    finished.append(task.result())
        finally:
            for task, row in in_flight.items():
                task.cancel()
                self._leases.pop(row.id, None)

    def _to_renew(self, in_flight: Iterable[_Claimed]) -> list[_Claimed]:
        """The rows in flight whose lease is half over, sent for less than MAX_SEND_SECONDS.

        Renewing them keeps another worker from taking over a send that is slow but alive
        (building a big export's file, waiting for its paced slot); a crashed process
        renews nothing, so its rows are taken over after their lease as before.
        """
        now = self._clock()
        half = self._lease / 2
        longest = timedelta(seconds=MAX_SEND_SECONDS)
        return [
            row
            for row in in_flight
            if (lease := self._leases.get(row.id)) is not None
            and lease[0] - now <= half
            and now - lease[1] < longest
        ]

    async def _deliver(
        self, claimed: _Claimed, start_at: float | None, claimed_at: float
    ) -> _Unrecorded:
        """Send one row, each of its posts in a paced slot, and learn from the answer at once.

        An adapter with a `paced_method` is given the slots as `pace`, to await before
        each post of that method (a long message is several, and a DM may have to be
        opened first); any other adapter's send is one post, started in its slot.
        """
        scope = self._scope_of(claimed.platform, claimed.destination)
        adapter = self._adapters.get(claimed.platform)
        paced = getattr(adapter, "paced_method", "")
        gate = _Gate(self, scope, claimed.destination, start_at, claimed_at)
        if not paced:
            await gate()
        try:
            result = await self._send(claimed, pace=gate if paced else None)
        finally:
            gate.answered(time.monotonic())
        now = time.monotonic()
        if result.status == "retry" and result.retry_after is not None and result.new_hold:
            # Learn now, not when the drain loop next reads the results: the sends claimed
            # meanwhile must already wait for the hold.
            hold = result.hold_scope or scope
            prefix, _, method = hold.partition("|")
            retry_after = max(MIN_RETRY_AFTER_SECONDS, result.retry_after)
            if self._holds_itself(claimed.platform, method):  # that method only
                until = self._clock() + timedelta(seconds=retry_after)
                self._method_holds.hold(prefix, method, until)
            else:
                self._pacer.refused(
                    prefix,
                    gate.last if method in ("", paced) else None,  # the refused post
                    now,
                    retry_after,
                    paced=method in ("", paced),
                )
        return _Unrecorded(claimed=claimed, result=result, at=self._clock())

    def _excluded(self, in_flight: Mapping[asyncio.Task[_Unrecorded], _Claimed]) -> _Excluded:
        """Destinations not to claim now: being sent, result unwritten, or paced."""
        busy = {c.destination for c in in_flight.values()}
        busy |= {kept.claimed.destination for kept in self._unrecorded.values()}
        paced: dict[str, float] = {}
        if self._interval > 0:
            now = time.monotonic()
            for dest, last in list(self._last_send.items()):
                wait = last + self._interval - now
                if wait > 0:
                    paced[dest] = wait
                else:
                    del self._last_send[dest]  # keeps the map as small as the recent sends
        return _Excluded(busy=frozenset(busy), paced=paced)

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
        """Write the results kept from a database failure, if it is time (at shut-down).

        Args:
            now: try at once, whatever the back-off says.

        Returns:
            How many were written now.
        """
        if not self._unrecorded or (not now and time.monotonic() < self._record_retry_at):
            return 0
        batch = list(self._unrecorded.values())
        try:
            await asyncio.to_thread(
                self._cycle, batch, 0, _Excluded(frozenset(), {}), time.monotonic()
            )
        except Exception:
            self._record_failed()
            return 0
        self._unrecorded.clear()
        self._record_failures = 0
        self._log.recovered("record", "outbox: delivery results are recorded again")
        return len(batch)

    def _holds_itself(self, platform: str, method: str) -> bool:
        """Whether a 429 of `method` holds that method only (the adapter keeps it back)."""
        return bool(method) and method in getattr(self._adapters.get(platform), "held_methods", ())

    def _scope_of(self, platform: str, destination: str) -> str:
        """What a 429 for this destination holds: the adapter's say, else its platform."""
        adapter = self._adapters.get(platform)
        scope = getattr(adapter, "hold_scope", None)
        if callable(scope):
            return str(scope(destination))
        return f"{platform}:"

    async def _send(
        self, claimed: _Claimed, *, pace: Callable[[], Awaitable[None]] | None = None
    ) -> DeliveryResult:
        adapter = self._adapters.get(claimed.platform)
        if adapter is None:
            return DeliveryResult.failed(f"no adapter for platform {claimed.platform}")
        self._last_send[claimed.destination] = time.monotonic()
        key = f"send:{claimed.platform}"
        options: dict[str, Any] = {} if pace is None else {"pace": pace}
        if getattr(adapter, "held_methods", ()):
            options["held"] = self._method_holds.for_address(claimed.destination, self._clock())
        try:
            message = load_message(claimed.payload)
            result = await adapter.send(
                address=claimed.destination,
                message=message,
                idempotency_key=claimed.key,
                redelivery=claimed.redelivery,
                enqueued_at=claimed.created_at,
                **options,
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
        return and_(or_(*_due(now)), _not_blocked())

    def _cycle(
        self,
        batch: list[_Unrecorded],
        free: int,
        excluded: _Excluded,
        mono: float,
        renew: Sequence[_Claimed] = (),
    ) -> tuple[list[_Claimed], float | None]:
        """Record finished sends, renew leases, then claim up to `free` due rows: one transaction.

        `mono` is the `time.monotonic()` of the results collected in `batch`: a row
        claimed here waits for the holds of 429s met after it (`Pacer.held_after`).
        `renew` are rows still being sent whose lease is extended (`_to_renew`).

        Returns:
            The rows claimed, and how long until a paced destination with a due row may
            be sent to again (None if none is waiting for that).
        """
        with self._db.transaction() as session:
            for item in batch:
                self._record_in(session, item.claimed, item.result, now=item.at)
            self._renew_in(session, renew)
            if free <= 0:
                return [], None
            return self._claim_in(session, free, excluded, mono)

    def _renew_in(self, session: Session, rows: Sequence[_Claimed]) -> None:
        """Extend the leases of rows still being sent under this worker's claim."""
        now = self._clock()
        for row in rows:
            if _update_claimed(session, row, lease_until=now + self._lease):
                _, claimed_at = self._leases.get(row.id, (now, now))
                self._leases[row.id] = (now + self._lease, claimed_at)
            else:  # another worker took it over (the lease ran out while we were away)
                self._leases.pop(row.id, None)

    def _held_prefixes(self, session: Session, now: datetime) -> set[str]:
        """The address prefixes under a rate-limit hold now (every replica's 429s).

        Also takes up the rates other processes learned (`RateLimitHold.rate`) for scopes
        this one has not met a 429 in yet, so a fresh replica paces from its first send.
        """
        held: set[str] = set()
        learned: dict[str, float] = {}
        for scope, until, rate in session.execute(
            select(RateLimitHold.scope, RateLimitHold.until, RateLimitHold.rate).where(
                or_(RateLimitHold.until > now, RateLimitHold.rate.is_not(None))
            )
        ):
            prefix, _, method = scope.partition("|")
            if until > now and self._holds_itself(prefix.partition(":")[0], method):
                self._method_holds.hold(prefix, method, until)
            elif until > now:
                held.add(prefix)
            if rate is not None:
                learned[prefix] = min(float(rate), learned.get(prefix, float(rate)))
        mono = time.monotonic()
        for prefix, rate in learned.items():
            self._pacer.adopt(prefix, rate, mono)
        return held

    def _claim_in(
        self, session: Session, free: int, excluded: _Excluded, mono: float
    ) -> tuple[list[_Claimed], float | None]:
        now = self._clock()
        not_held = [
            ~OutboxMessage.destination.startswith(prefix, autoescape=True)
            for prefix in sorted(self._held_prefixes(session, now))
        ]
        skip = excluded.busy | excluded.paced.keys()
        limit = free + len(skip)
        columns = (OutboxMessage.id, OutboxMessage.destination, OutboxMessage.platform)
        rows: list[Any]
        if session.get_bind().dialect.name == "postgresql":
            stmt = (
                select(*columns)
                .where(self._claimable(now), *not_held)
                .order_by(OutboxMessage.id)
                .limit(limit)
                # Replicas claiming at once pass over each other's rows instead of queueing.
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
            rows = list(session.execute(stmt))
        else:
            # Pending and lease-expired rows apart, each read in id order through
            # `ix_outbox_claim` and stopping at the limit: one query with the OR made
            # SQLite collect and sort every due row of a backlog at each claim.
            rows = []
            for due in _due(now, in_id_order=True):
                stmt = (
                    select(*columns)
                    .where(due, _not_blocked(), *not_held)
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
                rows.extend(session.execute(stmt))
            rows = sorted(rows, key=lambda row: int(row[0]))[:limit]
        self._next_due = self._due_next(session, now)
        ids: list[int] = []
        pace_wait: float | None = None
        for row_id, destination, platform in rows:
            if destination in skip:
                wait = excluded.paced.get(destination)
            else:
                start_at, wait = (
                    self._pacer.reserve(
                        self._scope_of(platform, destination),
                        time.monotonic(),
                        most=max(1, self._concurrency // 2),  # the rest for other workspaces
                    )
                    if self._pacer
                    else (None, 0.0)
                )
                if not wait:
                    ids.append(row_id)
                    self._slots[row_id] = (start_at, mono)
                    if len(ids) == free:
                        break
                    continue
            if wait:
                pace_wait = wait if pace_wait is None else min(pace_wait, wait)
        if not ids:
            return [], pace_wait
        claim = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), self._claimable(now))
            .values(
                status="sending",
                lease_until=now + self._lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.idempotency_key,
                OutboxMessage.platform,
                OutboxMessage.destination,
                OutboxMessage.payload,
                OutboxMessage.attempts,
                OutboxMessage.created_at,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = [
            _Claimed(
                id=row.id,
                key=row.idempotency_key,
                platform=row.platform,
                destination=row.destination,
                payload=row.payload,
                attempts=row.attempts,
                created_at=row.created_at,
            )
            for row in session.execute(claim)
        ]
        claimed.sort(key=lambda c: c.id)
        for row in claimed:
            self._leases[row.id] = (now + self._lease, now)
        return claimed, pace_wait

    def _due_next(self, session: Session, now: datetime) -> datetime | None:
        """The soonest moment a waiting row comes due or a hold ends (for `_idle`)."""
        row = session.scalar(
            select(OutboxMessage.next_attempt_at)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at > now)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(1)
        )
        hold = session.scalar(
            select(RateLimitHold.until)
            .where(RateLimitHold.until > now)
            .order_by(RateLimitHold.until)
            .limit(1)
        )
        found = [t for t in (row, hold) if t is not None]
        return min(found) if found else None

    def _finish_in(self, session: Session, claimed: _Claimed, **values: Any) -> None:
        """Record a claimed row's outcome.

        The row must still be ``sending`` under this claim (its ``attempts``); the lease
        may have run out (a result kept through a database outage), as long as no other
        worker claimed the row since.
        """
        updated = _update_claimed(session, claimed, lease_until=None, **values)
        if not updated and not self._already_recorded(session, claimed, values):
            logger.warning(
                "outbox row %s: lease lost before its result (%s) was recorded",
                claimed.id,
                values.get("status"),
            )

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

    def _hold(
        self, session: Session, scope: str, until: datetime, *, rate: float | None = None
    ) -> None:
        """Keep a rate-limit hold where every replica sees it (the later time wins).

        With `rate`, also the pace this worker learned for the scope.
        """
        dialect = session.get_bind().dialect.name
        table: Any = RateLimitHold.__table__
        maker: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = maker(table).values(scope=scope[:200], until=until)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope"],
            set_={"until": stmt.excluded.until},
            where=table.c.until < stmt.excluded.until,
        )
        session.execute(stmt)
        if rate is not None:
            session.execute(
                update(RateLimitHold)
                .where(RateLimitHold.scope == scope[:200])
                .values(rate=rate)
                .execution_options(synchronize_session=False)
            )

    def _record(self, claimed: _Claimed, result: DeliveryResult, *, now: datetime) -> None:
        """Store one send's outcome in a transaction of its own."""
        with self._db.transaction() as session:
            self._record_in(session, claimed, result, now=now)

    def _record_in(
        self, session: Session, claimed: _Claimed, result: DeliveryResult, *, now: datetime
    ) -> None:
        """Store a send's outcome in the caller's transaction.

        Args:
            session: the transaction (one per batch of results).
            claimed: the row, as claimed.
            result: what the adapter answered.
            now: when the send finished.
        """
        error = _clip(result.error or "unknown error")
        if result.status == "sent":
            self._finish_in(
                session,
                claimed,
                status="sent",
                sent_at=now,
                platform_message_id=result.platform_message_id,
                last_error=None,
            )
            logger.debug("outbox row %s sent to %s", claimed.id, claimed.destination)
        elif result.status == "failed":
            self._finish_in(session, claimed, status="failed", last_error=error)
            logger.warning("outbox row %s to %s failed: %s", claimed.id, claimed.destination, error)
        elif result.retry_after is not None:
            # Flow control: not counted against the message, and its scope is held.
            attempts = claimed.attempts - 1
            retry_after = max(MIN_RETRY_AFTER_SECONDS, result.retry_after)
            delay = max(retry_after, backoff_seconds(attempts, self._rng))
            scope = result.hold_scope or self._scope_of(claimed.platform, claimed.destination)
            prefix, _, method = scope.partition("|")
            paced = getattr(self._adapters.get(claimed.platform), "paced_method", "")
            if result.new_hold:  # not a wait for a hold already there, which it would extend
                self._hold(
                    session,
                    scope,
                    now + timedelta(seconds=retry_after),
                    rate=self._pacer.cap_of(prefix) if method in ("", paced) else None,
                )
            self._finish_in(
                session,
                claimed,
                status="pending",
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=_clip(f"rate limited, retry after {retry_after:g} s: {error}"),
            )
            logger.info(
                "outbox row %s: rate-limited, %s %s for %.1f s",
                claimed.id,
                "holding" if result.new_hold else "waiting for the hold of",
                scope,
                retry_after,
            )
        elif claimed.attempts >= self._max_attempts:
            reason = _clip(f"gave up after {claimed.attempts} attempts: {error}")
            self._finish_in(session, claimed, status="failed", last_error=reason)
            logger.warning("outbox row %s to %s: %s", claimed.id, claimed.destination, reason)
        else:
            delay = backoff_seconds(claimed.attempts, self._rng)
            self._finish_in(
                session,
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


def _update_claimed(session: Session, claimed: _Claimed, **values: Any) -> bool:
    """Update a row only if it is still ``sending`` under this claim (its ``attempts``).

    The claim's attempt count is the fencing token: a worker whose lease ran out and whose
    row another worker claimed since changes nothing.
    """
    stmt = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claimed.id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == claimed.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], session.execute(stmt)).rowcount == 1


def _due(
    now: datetime, *, in_id_order: bool = False
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Due rows: pending and due, or being sent under a lease that has run out.

    `in_id_order`: the times are compared through a function of the column, which no
    index serves, so SQLite reads each status's rows in id order (`ix_outbox_claim`) and
    stops at the limit, instead of ranging over `ix_outbox_due` and sorting what it found.
    """

    def when(column: Any) -> Any:
        return func.coalesce(column, column) if in_id_order else column

    return (
        and_(OutboxMessage.status == "pending", when(OutboxMessage.next_attempt_at) <= now),
        and_(OutboxMessage.status == "sending", when(OutboxMessage.lease_until) <= now),
    )


def _not_blocked() -> ColumnElement[bool]:
    """No older row to the same destination is still unfinished (order per destination)."""
    older = _OLDER
    return ~exists().where(
        older.destination == OutboxMessage.destination,
        older.id < OutboxMessage.id,
        older.status.in_(UNFINISHED),
    )

"""Opens rounds on each conversation's cadence and drives the engine's periodic tick.

`RoundScheduler` owns an APScheduler 3 `AsyncIOScheduler` with one job per active
conversation (job id = conversation key, trigger = `CadenceTrigger` over
`Cadence.next_after`), one interval job for `SchedulerTarget.tick` and one interval job for
`resync`. It talks to the engine only through the synchronous `SchedulerTarget` protocol,
called in the scheduler's own threads so database work never blocks the event loop.

Why the database decides, not the scheduler: APScheduler keeps its jobs in memory, and
several replicas may run at once. A round is unique per (conversation, scheduled time) in the
database, so `open_scheduled_round` returning False is the normal outcome for the replica that
lost the race, for a restart that re-fires, or for a catch-up that was already done.

Cadence changes: `resync` re-reads `cadences()` every `resync_seconds` and adds, replaces or
removes jobs whose cadence text or paused flag changed, so a change made in chat (perhaps on
another replica) takes effect without a restart. The replica that made the change can call
`reschedule()` to apply it at once. A changed or resumed cadence starts with its next
occurrence after now; nothing skipped while paused is opened or recorded.

Missed-round policy (applied once, in `start`, before any job is added):

- A round is owed only for a scheduled time at or after the conversation's care date,
  `scheduled_since(key)`: when it was first synchronised from the playbook, came back to
  it after leaving it, or was resumed or given a new cadence by an admin. Nothing from
  before is ever opened or recorded: a fresh install does not open the rounds whose times
  came a few hours before it first started, and a restart right after `schedule` or
  `resume` does not catch up on an occurrence of the old cadence or of the pause.
- For each non-paused conversation let t = the latest occurrence at or before now,
  since = `scheduled_since(key)` and last = `last_scheduled_for(key)`. Nothing is owed if
  since is None or t < since; nothing was missed if last is not None and t <= last.
- Otherwise, if now - t <= grace, the bot was only briefly down: open t once with trigger
  "catch-up". If it is later than that, `record_missed_round(key, t)`, so the CIO sees the
  gap.
- Only the most recent occurrence is considered. Older occurrences between last and t are
  neither opened nor recorded; one missed round stands for the whole outage, whose length is
  visible from the dates. This keeps a long outage from flooding the digest.
- While running, an occurrence that APScheduler could not start within grace (the process
  was suspended or the loop blocked) is recorded as missed when APScheduler reports it.
- The engine applies the care date too: `open_scheduled_round` and `record_missed_round`
  ignore a time before it, whichever path asks.

The tick runs every `tick_seconds` whatever happens; while the database is down it fails
every time, so its failures are logged through `bot.logs.Throttled` (one traceback, then a
counted line per interval, and a line when it works again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.flows.cadence import Cadence, parse_cadence
from bot.flows.retention import PURGE_AT
from bot.logs import Throttled

T = TypeVar("T")

logger = logging.getLogger(__name__)

TICK_JOB = "__tick__"  # conversation keys cannot contain underscores, so no clash
RESYNC_JOB = "__resync__"
PURGE_JOB = "__purge__"


class SchedulerTarget(Protocol):
    """What the scheduler needs from the engine. Methods are synchronous (they do I/O)."""

    def cadences(self) -> list[tuple[str, str, bool]]:
        """(conversation key, cadence text, paused) for every conversation."""
        ...

    def last_scheduled_for(self, key: str) -> datetime | None:
        """Scheduled time of the conversation's newest round (any status), or None."""
        ...

    def scheduled_since(self, key: str) -> datetime | None:
        """When the conversation came under the bot's care; None if it never did.

        Rounds are owed only for scheduled times at or after it (see the module docstring).
        """
        ...

    def open_scheduled_round(self, key: str, scheduled_for: datetime, trigger: str) -> bool:
        """Open the round for `scheduled_for`; False if it already exists.

        `trigger` is "schedule" or "catch-up".
        """
        ...

    def record_missed_round(self, key: str, scheduled_for: datetime) -> None:
        """Record that the round for `scheduled_for` was missed."""
        ...

    def tick(self, now: datetime) -> None:
        """Close rounds past deadline, send due reminders, re-prompt expired snoozes."""
        ...

    def purge(self, now: datetime) -> object:
        """The daily retention purge (`bot.flows.retention`)."""
        ...


class CadenceTrigger(BaseTrigger):
    """An APScheduler trigger that fires on a `Cadence`'s occurrences."""

    __slots__ = ("cadence",)

    def __init__(self, cadence: Cadence) -> None:
        self.cadence = cadence

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The occurrence after the previous fire time, or the first one after now.

        Args:
            previous_fire_time: When the job last fired, or None for a new job.
            now: The scheduler's current time.

        Returns:
            The next fire time (aware UTC).
        """
        return self.cadence.next_after(previous_fire_time or now)

    def __str__(self) -> str:
        return f"cadence[{self.cadence.describe()}]"

    def __repr__(self) -> str:
        return f"<CadenceTrigger {self.cadence.text!r} ({self.cadence.timezone})>"


class RoundScheduler:
    """Opens scheduled rounds, catches up after downtime and runs the engine's tick.

    Args:
        target: The engine, seen through `SchedulerTarget`.
        clock: Returns the current aware UTC time (a fake one in tests).
        tick_seconds: How often to call `target.tick`.
        grace: How late a round may still open: catch-up window on start, and APScheduler's
            misfire grace for the cadence jobs.
        resync_seconds: How often to re-read cadences and paused flags.
        before_open: Awaited with the conversation key right before a scheduled or
            catch-up round is opened (the runtime reads Slack-sourced membership there).
            It may take its time; if it raises, the round opens anyway.
        throttled: Where repeated failures of the tick and of resync are logged (a
            `Throttled` over this module's logger unless given).
    """

    def __init__(
        self,
        target: SchedulerTarget,
        *,
        clock: Callable[[], datetime],
        tick_seconds: float,
        grace: timedelta,
        resync_seconds: float = 60,
        before_open: Callable[[str], Awaitable[object]] | None = None,
        throttled: Throttled | None = None,
    ) -> None:
        if tick_seconds <= 0 or resync_seconds <= 0:
            raise ValueError("tick_seconds and resync_seconds must be positive")
        self._target = target
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._grace = grace
        self._resync_seconds = resync_seconds
        self._before_open = before_open
        self._throttled = throttled or Throttled(logger)
        self._scheduler: AsyncIOScheduler | None = None
        self._active: dict[str, Cadence] = {}
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        # The engine's database work runs in these threads (never on the event loop); `stop`
        # waits for the ones still running, so none holds a connection when the process
        # closes the database (a cancelled task does not stop its thread).
        self._threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scheduler")

    @property
    def running(self) -> bool:
        """Whether `start` has run and `stop` has not."""
        return self._scheduler is not None

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        """The underlying APScheduler instance while running (for inspection)."""
        return self._scheduler

    def active(self) -> dict[str, Cadence]:
        """The conversations that currently have a job, with their cadences."""
        return dict(self._active)

    async def start(self) -> None:
        """Catch up on missed rounds, then schedule every conversation, the tick and resync."""
        if self._scheduler is not None:
            raise RuntimeError("RoundScheduler is already running")
        await self.catch_up()
        scheduler = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        scheduler.start()
        self._scheduler = scheduler
        self._active = {}
        await self.resync()
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self._tick_seconds,
            id=TICK_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self.resync,
            "interval",
            seconds=self._resync_seconds,
            id=RESYNC_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self._purge,
            "cron",
            hour=PURGE_AT.hour,
            minute=PURGE_AT.minute,
            timezone=UTC,
            id=PURGE_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        logger.info(
            "scheduler started: %d conversation(s), tick every %ss, resync every %ss",
            len(self._active),
            self._tick_seconds,
            self._resync_seconds,
        )

    async def stop(self) -> None:
        """Stop the scheduler; running jobs are cancelled. Safe to call when stopped."""
        scheduler, self._scheduler = self._scheduler, None
        self._active = {}
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop iteration
        for task in list(self._background):
            task.cancel()
        threads, self._threads = (
            self._threads,
            ThreadPoolExecutor(max_workers=4, thread_name_prefix="scheduler"),
        )
        await asyncio.to_thread(threads.shutdown, True, cancel_futures=True)
        logger.info("scheduler stopped")

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in one of the scheduler's threads (see `__init__`)."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    async def catch_up(self) -> None:
        """Apply the missed-round policy (module docstring) to every active conversation."""
        now = self._clock()
        rows = await self._in_thread(self._target.cadences)
        for key, text, paused in rows:
            if paused:
                continue
            try:
                await self._catch_up_one(key, parse_cadence(text), now)
            except Exception:
                logger.exception("catch-up failed for conversation %s", key)

    async def _catch_up_one(self, key: str, cadence: Cadence, now: datetime) -> None:
        due = cadence.previous_at_or_before(now)
        if due is None:
            return
        since = await self._in_thread(self._target.scheduled_since, key)
        if since is None or due < _as_utc(since):
            logger.info(
                "catch-up for %s: nothing owed (last occurrence %s, in the bot's care since %s)",
                key,
                due.isoformat(),
                since.isoformat() if since else "never",
            )
            return
        last = await self._in_thread(self._target.last_scheduled_for, key)
        if last is not None and due <= _as_utc(last):
            return
        late = now - due
        if late <= self._grace:
            await self._prepare(key)
            opened = await self._in_thread(self._target.open_scheduled_round, key, due, "catch-up")
            logger.info(
                "catch-up for %s at %s (%s late): %s",
                key,
                due.isoformat(),
                late,
                "opened" if opened else "already open",
            )
        else:
            await self._in_thread(self._target.record_missed_round, key, due)
            logger.warning(
                "round of %s due at %s missed (%s late, grace %s)",
                key,
                due.isoformat(),
                late,
                self._grace,
            )

    async def reschedule(self) -> None:
        """Apply cadence and pause changes now (for the replica where the change was made)."""
        await self.resync()

    async def resync(self) -> None:
        """Re-read cadences and add, replace or remove jobs whose cadence or pause changed."""
        async with self._lock:
            scheduler = self._scheduler
            if scheduler is None:
                return
            try:
                rows = await self._in_thread(self._target.cadences)
            except Exception:
                self._throttled.exception(
                    "resync", "could not read cadences; keeping the current schedule"
                )
                return
            self._throttled.recovered("resync", "cadences can be read again")
            desired: dict[str, Cadence] = {}
            for key, text, paused in rows:
                if paused:
                    continue
                try:
                    desired[key] = parse_cadence(text)
                except ValueError as exc:
                    logger.error("conversation %s has an invalid cadence %r: %s", key, text, exc)
            for key, current in list(self._active.items()):
                wanted = desired.get(key)
                if wanted is None or wanted != current:
                    scheduler.remove_job(key)
                    del self._active[key]
                    if wanted is None:
                        logger.info("unscheduled %s (paused or removed)", key)
            for key, cadence in desired.items():
                if key in self._active:
                    continue
                job = scheduler.add_job(
                    self._fire,
                    trigger=CadenceTrigger(cadence),
                    args=[key],
                    id=key,
                    name=f"open round: {key}",
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=max(1, int(self._grace.total_seconds())),
                )
                self._active[key] = cadence
                logger.info(
                    "scheduled %s %s; next at %s", key, cadence.describe(), job.next_run_time
                )

    async def _fire(self, key: str) -> None:
        """Job callback: open the round for the occurrence that just came due."""
        cadence = self._active.get(key)
        if cadence is None:
            return
        # APScheduler 3 does not pass the scheduled time; with coalescing it is the latest
        # occurrence at or before now.
        scheduled_for = cadence.previous_at_or_before(self._clock())
        if scheduled_for is None:
            logger.warning("job for %s fired but no occurrence is due", key)
            return
        await self._prepare(key)
        opened = await self._in_thread(
            self._target.open_scheduled_round, key, scheduled_for, "schedule"
        )
        logger.info(
            "round of %s for %s: %s",
            key,
            scheduled_for.isoformat(),
            "opened" if opened else "already opened (another replica or a restart)",
        )

    async def _prepare(self, key: str) -> None:
        """Run `before_open`; a round never fails to open because of it."""
        if self._before_open is None:
            return
        try:
            await self._before_open(key)
        except Exception:
            logger.exception("preparing the round of %s failed; opening it anyway", key)

    async def _tick(self) -> None:
        try:
            await self._in_thread(self._target.tick, self._clock())
        except Exception:
            self._throttled.exception("tick", "tick failed")
        else:
            self._throttled.recovered("tick", "tick works again")

    async def _purge(self) -> None:
        # Daily (`bot.flows.retention.PURGE_AT` UTC); every replica runs it, and a second
        # run at the same time finds nothing left to delete.
        try:
            await self._in_thread(self._target.purge, self._clock())
        except Exception:
            self._throttled.exception("purge", "retention purge failed")
        else:
            self._throttled.recovered("purge", "retention purge works again")

    def _on_missed(self, event: JobExecutionEvent) -> None:
        key = str(event.job_id)
        if key not in self._active:
            return
        task = asyncio.get_running_loop().create_task(
            self._record_missed(key, _as_utc(event.scheduled_run_time))
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _record_missed(self, key: str, scheduled_for: datetime) -> None:
        try:
            await self._in_thread(self._target.record_missed_round, key, scheduled_for)
            logger.warning("round of %s due at %s missed", key, scheduled_for.isoformat())
        except Exception:
            logger.exception("could not record missed round of %s", key)


def _as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value (as some database drivers return) is taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)

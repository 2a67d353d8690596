"""RoundScheduler against a recording target: catch-up, resync, job wiring and the tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.flows.cadence import parse_cadence
from bot.scheduling import CadenceTrigger, RoundScheduler, SchedulerTarget
from tests.conftest import FakeClock

MONDAY_0830 = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # the clock fixture says 09:00
LAST_WEEK = MONDAY_0830 - timedelta(days=7)
INSTALLED = MONDAY_0830 - timedelta(days=60)  # when the conversations came under care


class RecordingTarget:
    """An in-memory engine: rounds are unique per (key, scheduled_for), like the database."""

    def __init__(self, rows: dict[str, tuple[str, bool]]) -> None:
        self.rows = rows
        self.since: dict[str, datetime | None] = dict.fromkeys(rows, INSTALLED)
        self.rounds: dict[str, set[datetime]] = {}
        self.opened: list[tuple[str, datetime, str]] = []
        self.missed: list[tuple[str, datetime]] = []
        self.ticks: list[datetime] = []
        self.purges: list[datetime] = []
        self.tick_error: Exception | None = None
        self.tick_attempts = 0

    def cadences(self) -> list[tuple[str, str, bool]]:
        return [(key, text, paused) for key, (text, paused) in self.rows.items()]

    def last_scheduled_for(self, key: str) -> datetime | None:
        return max(self.rounds.get(key, set()), default=None)

    def scheduled_since(self, key: str) -> datetime | None:
        return self.since.get(key)

    def open_scheduled_round(self, key: str, scheduled_for: datetime, trigger: str) -> bool:
        rounds = self.rounds.setdefault(key, set())
        if scheduled_for in rounds:
            return False
        rounds.add(scheduled_for)
        self.opened.append((key, scheduled_for, trigger))
        return True

    def record_missed_round(self, key: str, scheduled_for: datetime) -> None:
        self.rounds.setdefault(key, set()).add(scheduled_for)
        self.missed.append((key, scheduled_for))

    def purge(self, now: datetime) -> None:
        self.purges.append(now)

    def tick(self, now: datetime) -> None:
        self.tick_attempts += 1
        if self.tick_error:
            raise self.tick_error
        self.ticks.append(now)


Make = Callable[..., RoundScheduler]


@pytest.fixture
async def make(clock: FakeClock) -> AsyncIterator[Make]:
    made: list[RoundScheduler] = []

    def factory(
        target: SchedulerTarget, grace: timedelta = timedelta(hours=1), tick_seconds: float = 30
    ) -> RoundScheduler:
        rs = RoundScheduler(target, clock=clock, tick_seconds=tick_seconds, grace=grace)
        made.append(rs)
        return rs

    yield factory
    for rs in made:
        await rs.stop()


def weekly(history: bool = True, paused: bool = False) -> RecordingTarget:
    target = RecordingTarget({"social-media": ("every monday at 08:30", paused)})
    if history:
        target.rounds["social-media"] = {LAST_WEEK}
    return target


async def test_catch_up_within_grace_opens_once(make: Make) -> None:
    target = weekly()
    rs = make(target, grace=timedelta(hours=1))
    await rs.start()
    assert target.opened == [("social-media", MONDAY_0830, "catch-up")]
    assert target.missed == []


async def test_catch_up_outside_grace_records_missed(make: Make) -> None:
    target = weekly()
    rs = make(target, grace=timedelta(minutes=10))
    await rs.start()
    assert target.opened == []
    assert target.missed == [("social-media", MONDAY_0830)]


async def test_only_the_most_recent_missed_occurrence_is_recorded(make: Make) -> None:
    target = weekly()
    target.rounds["social-media"] = {LAST_WEEK - timedelta(days=21)}  # down for weeks
    await make(target, grace=timedelta(minutes=10)).start()
    assert target.missed == [("social-media", MONDAY_0830)]


async def test_a_conversation_without_rounds_is_owed_its_rounds_since_its_care_date(
    make: Make,
) -> None:
    late = weekly(history=False)
    await make(late, grace=timedelta(minutes=10)).start()
    assert late.opened == [] and late.missed == [("social-media", MONDAY_0830)]
    recent = weekly(history=False)
    await make(recent, grace=timedelta(hours=1)).start()
    assert recent.opened == [("social-media", MONDAY_0830, "catch-up")]


@pytest.mark.parametrize("history", [False, True], ids=["new", "with-rounds"])
@pytest.mark.parametrize("grace", [timedelta(hours=1), timedelta(minutes=10)], ids=str)
async def test_nothing_from_before_the_care_date_is_opened_or_recorded(
    make: Make, history: bool, grace: timedelta
) -> None:
    """Installed, resumed or re-scheduled at 08:31, restarted at 09:00: 08:30 is not owed."""
    target = weekly(history=history)
    target.since["social-media"] = MONDAY_0830 + timedelta(minutes=1)
    rs = make(target, grace=grace)
    await rs.start()
    assert target.opened == [] and target.missed == []
    assert set(rs.active()) == {"social-media"}  # its next occurrence is scheduled as usual


async def test_an_occurrence_at_the_care_date_itself_is_owed(make: Make) -> None:
    target = weekly(history=False)
    target.since["social-media"] = MONDAY_0830
    await make(target).start()
    assert target.opened == [("social-media", MONDAY_0830, "catch-up")]


async def test_a_conversation_never_in_care_is_owed_nothing(make: Make) -> None:
    target = weekly()
    target.since["social-media"] = None
    await make(target).start()
    assert target.opened == [] and target.missed == []


async def test_up_to_date_and_paused_conversations_are_left_alone(make: Make) -> None:
    target = RecordingTarget(
        {
            "social-media": ("every monday at 08:30", False),
            "intranet": ("every monday at 08:30", True),
        }
    )
    target.rounds["social-media"] = {MONDAY_0830}
    target.rounds["intranet"] = {LAST_WEEK}
    rs = make(target)
    await rs.start()
    assert target.opened == [] and target.missed == []
    assert set(rs.active()) == {"social-media"}
    assert rs.scheduler is not None and rs.scheduler.get_job("intranet") is None


@pytest.mark.parametrize("grace", [timedelta(hours=1), timedelta(minutes=10)])
async def test_second_start_opens_nothing_twice(make: Make, grace: timedelta) -> None:
    target = weekly()
    first = make(target, grace=grace)
    await first.start()
    await first.stop()
    await first.start()  # the same instance restarted
    await make(target, grace=grace).start()  # another replica
    assert len(target.opened) + len(target.missed) == 1


async def test_start_schedules_one_job_per_conversation(make: Make) -> None:
    target = weekly()
    rs = make(target)
    await rs.start()
    scheduler = rs.scheduler
    assert scheduler is not None
    job = scheduler.get_job("social-media")
    assert isinstance(job.trigger, CadenceTrigger)
    assert job.trigger.cadence == parse_cadence("every monday at 08:30")
    assert job.coalesce is True and job.max_instances == 1
    assert job.misfire_grace_time == 3600
    assert job.next_run_time.astimezone(UTC).strftime("%a %H:%M") == "Mon 08:30"
    assert {j.id for j in scheduler.get_jobs()} == {
        "social-media",
        "__tick__",
        "__resync__",
        "__purge__",
    }
    # The retention purge runs daily at 03:30 UTC (bot.flows.retention.PURGE_AT).
    purge = scheduler.get_job("__purge__")
    assert purge.next_run_time.astimezone(UTC).strftime("%H:%M") == "03:30"
    await purge.func()
    assert target.purges == [rs._clock()]
    with pytest.raises(RuntimeError, match="already running"):
        await rs.start()


async def test_resync_picks_up_cadence_change_pause_and_new_conversation(make: Make) -> None:
    target = weekly()
    rs = make(target)
    await rs.start()
    scheduler = rs.scheduler
    assert scheduler is not None

    target.rows["social-media"] = ("every 2 weeks on fri at 14:00 Europe/Berlin", False)
    await rs.reschedule()
    job = scheduler.get_job("social-media")
    assert job.trigger.cadence.text == "every 2 weeks on fri at 14:00 Europe/Berlin"
    assert job.next_run_time.astimezone(UTC).strftime("%a %H:%M") == "Fri 13:00"

    target.rows["social-media"] = ("every 2 weeks on fri at 14:00 Europe/Berlin", True)
    target.rows["intranet"] = ("0 10 * * tue", False)
    await rs.resync()
    assert scheduler.get_job("social-media") is None
    assert scheduler.get_job("intranet").trigger.cadence.text == "0 10 * * tue"
    assert set(rs.active()) == {"intranet"}

    target.rows["social-media"] = ("every day at 07:00", False)
    del target.rows["intranet"]
    await rs.resync()
    assert set(rs.active()) == {"social-media"}
    assert scheduler.get_job("intranet") is None
    assert scheduler.get_job("social-media").trigger.cadence.text == "every day at 07:00"
    assert target.opened == [("social-media", MONDAY_0830, "catch-up")]  # resync opens nothing


async def test_unchanged_cadence_keeps_its_job(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    target = weekly()
    rs = make(target)
    await rs.start()
    assert rs.scheduler is not None
    calls: list[object] = []
    monkeypatch.setattr(rs.scheduler, "add_job", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(rs.scheduler, "remove_job", lambda *a, **k: calls.append(a))
    await rs.resync()
    assert calls == []


async def test_invalid_cadence_is_logged_and_skipped(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    target = RecordingTarget(
        {"social-media": ("every mondy", False), "intranet": ("every day at 08:30", False)}
    )
    target.rounds["intranet"] = {LAST_WEEK}
    rs = make(target)
    with caplog.at_level(logging.ERROR, logger="bot.scheduling.scheduler"):
        await rs.start()
    assert set(rs.active()) == {"intranet"}
    assert target.opened == [("intranet", MONDAY_0830, "catch-up")]
    assert "invalid cadence 'every mondy'" in caplog.text


async def test_job_fires_and_opens_the_scheduled_round(make: Make, clock: FakeClock) -> None:
    target = weekly()
    rs = make(target)
    await rs.start()
    assert rs.scheduler is not None
    clock.current = MONDAY_0830 + timedelta(days=7, seconds=2)  # the job fires a little late
    rs.scheduler.get_job("social-media").modify(next_run_time=datetime.now(UTC))
    rs.scheduler.wakeup()
    for _ in range(50):
        if len(target.opened) == 2:
            break
        await asyncio.sleep(0.01)
    assert target.opened[-1] == ("social-media", MONDAY_0830 + timedelta(days=7), "schedule")


async def test_job_that_misfires_is_recorded_missed(make: Make) -> None:
    target = weekly()
    rs = make(target, grace=timedelta(seconds=1))
    await rs.start()
    assert rs.scheduler is not None
    late = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    rs.scheduler.get_job("social-media").modify(next_run_time=late)
    rs.scheduler.wakeup()
    for _ in range(50):
        if target.missed[1:]:
            break
        await asyncio.sleep(0.01)
    assert target.missed[-1] == ("social-media", late)


async def test_tick_job_calls_tick(make: Make, clock: FakeClock) -> None:
    target = weekly()
    rs = make(target, tick_seconds=0.05)
    await rs.start()
    for _ in range(40):
        if target.ticks:
            break
        await asyncio.sleep(0.01)
    assert target.ticks and target.ticks[0] == clock.current


async def test_a_tick_failing_every_time_is_logged_once_then_its_recovery(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """A database outage fails every tick: one traceback, not one per tick."""
    target = weekly()
    target.tick_error = RuntimeError("database down")
    rs = make(target, tick_seconds=0.02)
    with caplog.at_level(logging.WARNING, logger="bot.scheduling.scheduler"):
        await rs.start()
        for _ in range(200):
            if target.tick_attempts >= 5:
                break
            await asyncio.sleep(0.01)
        assert target.tick_attempts >= 5
        failed = [r for r in caplog.records if r.getMessage() == "tick failed"]
        assert len(failed) == 1 and failed[0].exc_info is not None
        target.tick_error = None
        for _ in range(200):
            if target.ticks:
                break
            await asyncio.sleep(0.01)
    recovered = [r.getMessage() for r in caplog.records if "tick works again" in r.getMessage()]
    assert len(recovered) == 1 and "more failure(s) not logged" in recovered[0]


def test_cadence_trigger_follows_the_cadence() -> None:
    trigger = CadenceTrigger(parse_cadence("every monday at 08:30"))
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, now) == MONDAY_0830 + timedelta(days=7)
    assert trigger.get_next_fire_time(LAST_WEEK, now) == MONDAY_0830
    assert "every Monday at 08:30 (UTC)" in str(trigger)


def test_rejects_non_positive_intervals(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        RoundScheduler(weekly(), clock=clock, tick_seconds=0, grace=timedelta(hours=1))

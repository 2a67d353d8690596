"""The scheduler driving the real engine on a real database (both backends)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.flows.engine import Engine
from bot.scheduling.scheduler import RoundScheduler
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness


def rounds(db: Database, key: str = "social-media") -> list[tuple[str, str, datetime]]:
    with db.transaction() as s:
        return [
            (r.status, r.trigger, r.scheduled_for)
            for r in s.scalars(select(models.Round).order_by(models.Round.id))
            if r.conversation.key == key
        ]


async def test_round_missed_briefly_opens_once_on_start(db: Database, clock: FakeClock) -> None:
    bot = EngineHarness(db, clock)
    # social-media runs "every 2 weeks on tue at 10:00" (UTC); be 2 hours after one.
    cadence_time = bot.engine.cadences()[0][1]
    from bot.flows.cadence import parse_cadence

    last = parse_cadence(cadence_time).previous_at_or_before(clock() + timedelta(days=14))
    assert last is not None
    clock.current = last + timedelta(hours=2)
    for _ in range(2):  # a restart runs catch-up again: nothing opens twice
        sched = RoundScheduler(bot.engine, clock=clock, tick_seconds=3600, grace=timedelta(hours=6))
        await sched.catch_up()
    opened = [r for r in rounds(db) if r[1] == "catch-up"]
    assert opened == [("open", "catch-up", last)]
    assert len(bot.queued("console:maria")) == 1  # one prompt, not two


async def test_round_missed_long_ago_is_recorded_not_opened(db: Database, clock: FakeClock) -> None:
    bot = EngineHarness(db, clock)
    bot.command("console:admin", "ask social-media")
    bot.command("console:admin", "close social-media")
    clock.advance(timedelta(days=20))
    sched = RoundScheduler(bot.engine, clock=clock, tick_seconds=3600, grace=timedelta(hours=1))
    await sched.catch_up()
    statuses = [r[0] for r in rounds(db)]
    assert statuses.count("missed") >= 1 and statuses.count("open") == 0


def test_replicas_racing_open_the_round_once(db: Database) -> None:
    when = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    harness = EngineHarness(db, lambda: when)
    replicas = [
        Engine(db=Database(db.url), playbook=harness.playbook, clock=lambda: when) for _ in range(4)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda e: e.open_scheduled_round("social-media", when, "schedule"), replicas)
        )
    assert sorted(results) == [False, False, False, True]
    assert [r[0] for r in rounds(db)] == ["open"]
    assert len(harness.queued("console:maria")) == 1
    for e in replicas:
        e.db.dispose()


def test_the_engine_opens_or_records_nothing_from_before_the_care_date(
    db: Database, clock: FakeClock
) -> None:
    """Whichever path asks (a late job, a misfire reported while running), not only catch-up."""
    bot = EngineHarness(db, clock)  # in the bot's care from now on
    assert bot.engine.scheduled_since("social-media") == clock()
    before = clock() - timedelta(minutes=1)
    assert not bot.engine.open_scheduled_round("social-media", before, "schedule")
    bot.engine.record_missed_round("social-media", before)
    assert rounds(db) == []
    assert bot.engine.open_scheduled_round("social-media", clock(), "schedule")
    assert rounds(db) == [("open", "schedule", clock())]

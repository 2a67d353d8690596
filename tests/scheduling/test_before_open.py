"""The scheduler's `before_open` hook: awaited right before a round opens, never in its way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduling import RoundScheduler
from tests.conftest import FakeClock
from tests.scheduling.test_scheduler import MONDAY_0830, RecordingTarget, weekly


class Prepared:
    """A `before_open` that records its calls, in order with the target's opens."""

    def __init__(self, target: RecordingTarget, fail: bool = False) -> None:
        self.events: list[str] = []
        self.fail = fail
        opener = target.open_scheduled_round

        def open_scheduled_round(key: str, scheduled_for: datetime, trigger: str) -> bool:
            self.events.append(f"open {key} {trigger}")
            return opener(key, scheduled_for, trigger)

        target.open_scheduled_round = open_scheduled_round  # type: ignore[method-assign]

    async def __call__(self, key: str) -> None:
        await asyncio.sleep(0.01)  # a directory takes a moment
        self.events.append(f"prepare {key}")
        if self.fail:
            raise RuntimeError("slack is down")


@pytest.fixture
async def made() -> AsyncIterator[list[RoundScheduler]]:
    schedulers: list[RoundScheduler] = []
    yield schedulers
    for rs in schedulers:
        await rs.stop()


def scheduler(
    target: RecordingTarget, prepared: Prepared, clock: FakeClock, grace: timedelta
) -> RoundScheduler:
    return RoundScheduler(target, clock=clock, tick_seconds=30, grace=grace, before_open=prepared)


async def test_a_scheduled_round_is_prepared_first(
    clock: FakeClock, made: list[RoundScheduler]
) -> None:
    target = weekly()
    target.rounds["social-media"].add(MONDAY_0830)  # nothing to catch up
    prepared = Prepared(target)
    rs = scheduler(target, prepared, clock, timedelta(hours=1))
    made.append(rs)
    await rs.start()
    assert prepared.events == []
    assert rs.scheduler is not None
    clock.current = MONDAY_0830 + timedelta(days=7, seconds=2)
    rs.scheduler.get_job("social-media").modify(next_run_time=datetime.now(UTC))
    rs.scheduler.wakeup()
    for _ in range(100):
        if target.opened:
            break
        await asyncio.sleep(0.01)
    assert prepared.events == ["prepare social-media", "open social-media schedule"]


async def test_a_catch_up_is_prepared_and_a_missed_round_is_not(
    clock: FakeClock, made: list[RoundScheduler]
) -> None:
    target = weekly()
    prepared = Prepared(target)
    rs = scheduler(target, prepared, clock, timedelta(hours=1))
    made.append(rs)
    await rs.start()
    assert prepared.events == ["prepare social-media", "open social-media catch-up"]

    late = weekly()
    skipped = Prepared(late)
    rs = scheduler(late, skipped, clock, timedelta(minutes=10))
    made.append(rs)
    await rs.start()
    assert late.missed and skipped.events == []


async def test_a_failing_preparation_still_opens_the_round(
    clock: FakeClock, made: list[RoundScheduler], caplog: pytest.LogCaptureFixture
) -> None:
    target = weekly()
    prepared = Prepared(target, fail=True)
    rs = scheduler(target, prepared, clock, timedelta(hours=1))
    made.append(rs)
    with caplog.at_level(logging.ERROR, logger="bot.scheduling.scheduler"):
        await rs.start()
    assert prepared.events == ["prepare social-media", "open social-media catch-up"]
    assert target.opened == [("social-media", MONDAY_0830, "catch-up")]
    assert "preparing the round of social-media failed; opening it anyway" in caplog.text

"""The schedule on the real engine and database, at every instant of `tests/instants.py`.

Each test here holds at any moment of the calendar: it starts from the frozen instant (the
`clock` fixture starts there) and works out what to expect from it, instead of hard-coding
a date. The clock-change tests at the end travel to the switches themselves.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from bot.flows.cadence import parse_cadence
from bot.flows.digest_text import render_digest_text
from bot.flows.outbound import DigestMessage, Notice, Prompt
from bot.playbook.loader import DEFAULT_PLAYBOOK, load_playbook
from bot.scheduling.scheduler import RoundScheduler
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness, text_of
from tests.instants import Instant

ADMIN = "console:admin"
GRACE = timedelta(hours=6)  # MISSED_ROUND_GRACE_HOURS' default


def rounds(db: Database, key: str | None = None) -> list[tuple[str, str, str, datetime]]:
    with db.transaction() as s:
        return [
            (r.conversation.key, r.status, r.trigger, r.scheduled_for)
            for r in s.scalars(select(models.Round).order_by(models.Round.id))
            if key is None or r.conversation.key == key
        ]


async def restart(bot: EngineHarness, clock: FakeClock) -> None:
    """What `strategy-bot serve` does on start: the missed-round catch-up."""
    await RoundScheduler(bot.engine, clock=clock, tick_seconds=3600, grace=GRACE).catch_up()


def with_cadence(cadence: str) -> dict[str, Any]:
    book = copy.deepcopy(PLAYBOOK)
    book["conversations"][0]["cadence"] = cadence
    return book


def success(replies: list[Any]) -> str:
    assert isinstance(replies[0], Notice) and replies[0].level == "success", replies
    return text_of(replies)


# --- never a round from before the bot took charge ------------------------------------------


@pytest.mark.instants
async def test_a_fresh_install_opens_no_round_from_before_it_then_keeps_the_schedule(
    db: Database, clock: FakeClock
) -> None:
    installed = clock()
    book = load_playbook(DEFAULT_PLAYBOOK)
    bot = EngineHarness(db, clock, book)  # type: ignore[arg-type]
    await restart(bot, clock)
    await restart(bot, clock)
    assert rounds(db) == []
    # The README's first step works on a fresh install, whatever the hour.
    assert "Social Media: round 1 is open" in success(bot.command(ADMIN, "ask social-media"))
    # The first occurrence after the install is owed: a restart soon after it opens it.
    spec = book.conversation("social-networking")
    assert spec is not None and spec.cadence == "every month on the 1st at 09:00 Europe/Berlin"
    due = parse_cadence(spec.cadence).next_after(installed)
    clock.current = due + timedelta(minutes=5)
    await restart(bot, clock)
    assert rounds(db, "social-networking") == [("social-networking", "open", "catch-up", due)]
    local = due.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.day, local.hour, local.minute) == (1, 9, 0)
    assert timedelta(0) < due - installed <= timedelta(days=31)


@pytest.mark.instants
@pytest.mark.parametrize("change", ["schedule", "resume"])
async def test_a_restart_right_after_a_change_owes_nothing_from_before_it(
    db: Database, clock: FakeClock, instant: Instant, change: str
) -> None:
    """A changed or resumed cadence starts with its next occurrence after now."""
    now = clock()
    hour_ago = (now - timedelta(hours=1)).astimezone(instant.at.tzinfo)
    cadence = f"every day at {hour_ago:%H:%M} {instant.zone}"  # came due an hour ago
    clock.current = now - timedelta(days=3)
    bot = EngineHarness(db, clock)  # in the bot's care for three days
    if change == "resume":
        success(bot.command(ADMIN, f"schedule social-media {cadence}"))
        success(bot.command(ADMIN, "pause social-media"))
        clock.current = now
        success(bot.command(ADMIN, "resume social-media"))
    else:
        clock.current = now
        success(bot.command(ADMIN, f"schedule social-media {cadence}"))
    clock.advance(timedelta(minutes=1))
    await restart(bot, clock)
    assert rounds(db, "social-media") == []
    nxt = parse_cadence(cadence).next_after(now)
    assert timedelta(hours=22) <= nxt - now <= timedelta(hours=24)  # tomorrow, same wall time
    clock.current = nxt + timedelta(minutes=1)
    await restart(bot, clock)
    assert rounds(db, "social-media") == [("social-media", "open", "catch-up", nxt)]


# --- reminders, snoozes, the deadline and the digest's dates --------------------------------


@pytest.mark.instants
def test_reminders_snoozes_deadline_and_digest_dates_follow_the_opening(
    db: Database, clock: FakeClock
) -> None:
    """Durations are exact: a 3-day window and a reminder a day before, whatever the zone."""
    opened = clock()
    bot = EngineHarness(db, clock)
    success(bot.command(ADMIN, "ask social-media"))
    bot.queued("console:#cio")  # whatever the opening told the CIO
    (maria,) = bot.queued("console:maria")
    assert isinstance(maria, Prompt) and maria.deadline == opened + timedelta(days=3)
    assert bot.queued("console:sam")
    assert "snooze" in text_of(bot.say("console:sam", "snooze 1d")).lower()

    def tick(at: datetime) -> None:
        clock.current = at
        bot.engine.tick()

    tick(opened + timedelta(days=1) - timedelta(minutes=1))
    assert bot.queued("console:sam") == []
    tick(opened + timedelta(days=1))
    (woken,) = bot.queued("console:sam")
    assert isinstance(woken, Prompt)
    remind_at = opened + timedelta(days=2)  # the deadline less the playbook's `1d`
    tick(remind_at - timedelta(minutes=1))
    assert bot.queued("console:maria") == []
    tick(remind_at)
    (reminder,) = bot.queued("console:maria")
    assert isinstance(reminder, Prompt) and reminder.reminder
    tick(opened + timedelta(days=3) - timedelta(minutes=1))
    assert bot.queued("console:#cio") == []
    deadline = opened + timedelta(days=3)
    tick(deadline)
    (posted,) = [m for m in bot.queued("console:#cio") if isinstance(m, DigestMessage)]
    (conv,) = posted.digest.conversations
    assert (conv.status, conv.opened_at, conv.deadline) == ("closed", opened, deadline)
    assert conv.closed_at == deadline
    text = "\n".join(render_digest_text(posted.digest))
    assert f"closed {deadline:%Y-%m-%d %H:%M} UTC" in text
    assert f"generated {deadline:%Y-%m-%d %H:%M} UTC" in text


# --- a scheduled round across a clock change: the real APScheduler job, time travelled ------


SWITCHES = {
    # Berlin springs forward on 2026-03-29: 02:30 does not exist and is read as 03:30 CEST.
    "eu-spring": (
        "every day at 02:30 Europe/Berlin",
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ),
    # Berlin falls back on 2026-10-25: 02:30 happens twice; the round opens at the first only.
    "eu-autumn": (
        "every day at 02:30 Europe/Berlin",
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ),
    "us-spring": (
        "every day at 02:30 America/New_York",
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),
    ),
    "us-autumn": (
        "every day at 01:30 America/New_York",
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize("switch", list(SWITCHES))
async def test_a_scheduled_round_opens_once_at_its_time_across_a_clock_change(
    db: Database, switch: str
) -> None:
    cadence, fires, then = SWITCHES[switch]
    zone = ZoneInfo(cadence.rsplit(" ", 1)[1])
    # The machine lives in the cadence's zone, a second before the round is due. Time stands
    # still until the test moves it, so a slow machine cannot let the job fire (or miss it)
    # before its next run time is read.
    with time_machine.travel((fires - timedelta(seconds=1)).astimezone(zone), tick=False) as now:

        def clock() -> datetime:
            return datetime.now(UTC)

        bot = EngineHarness(db, clock, with_cadence(cadence))
        scheduler = RoundScheduler(bot.engine, clock=clock, tick_seconds=3600, grace=GRACE)
        await scheduler.start()
        try:
            assert scheduler.scheduler is not None
            job = scheduler.scheduler.get_job("social-media")
            assert job.next_run_time == fires
            now.move_to(fires.astimezone(zone))
            scheduler.scheduler.wakeup()
            for _ in range(100):
                if rounds(db, "social-media"):
                    break
                await asyncio.sleep(0.05)
            assert rounds(db, "social-media") == [("social-media", "open", "schedule", fires)]
            assert job.next_run_time == then  # the next day's, not a second one tonight
        finally:
            await scheduler.stop()
        # A restart later that night (after the repeated hour in autumn) opens nothing more.
        clock_later = FakeClock(fires + timedelta(hours=2))
        await restart(bot, clock_later)
        assert len(rounds(db, "social-media")) == 1

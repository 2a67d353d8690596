"""Prompts at a local time of day (`local_time`): held per participant, released by the tick.

The engine runs on a real database (SQLite and PostgreSQL) with a fake clock; the
scheduler's tick is called by hand at chosen moments. The clock fixture starts on Monday
2026-11-23 09:00 UTC, when 09:30 local is: 14:30 UTC that day in New York (EST), 00:30
UTC the next day in Tokyo, 04:00 UTC the next day in Kolkata (the cadence's zone, for the
member without a zone of their own) and 08:30 UTC the next day in Berlin (CET).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.flows import rounds
from bot.flows.engine import Engine
from bot.flows.outbound import DigestMessage, Heard, Notice, OutboundMessage, Prompt, Summary
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness, text_of

ADMIN = "console:admin"
BERLIN, NEW_YORK, TOKYO, NOWHERE = (
    "console:berlin",
    "console:newyork",
    "console:tokyo",
    "console:nowhere",
)
ZONES = {BERLIN: "Europe/Berlin", NEW_YORK: "America/New_York", TOKYO: "Asia/Tokyo"}
OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the clock fixture's start
DUE = {
    NEW_YORK: datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
    TOKYO: datetime(2026, 11, 24, 0, 30, tzinfo=UTC),
    NOWHERE: datetime(2026, 11, 24, 4, 0, tzinfo=UTC),  # Asia/Kolkata, the cadence's zone
    BERLIN: datetime(2026, 11, 24, 8, 30, tzinfo=UTC),
}
EVERYONE = (BERLIN, NEW_YORK, TOKYO, NOWHERE)


def playbook(
    *,
    local_time: str | None = "09:30",
    cadence: str = "every monday at 10:00 Asia/Kolkata",
    window: str = "3d",
    reminders: tuple[str, ...] = ("1d",),
    members: tuple[str, ...] = EVERYONE,
    zones: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One conversation whose group has the given members, each in their zone (if any)."""
    zones = ZONES if zones is None else zones
    people = []
    for who in members:
        person: dict[str, Any] = {"id": who, "name": who.removeprefix("console:").title()}
        if who in zones:
            person["timezone"] = zones[who]
        people.append(person)
    conversation: dict[str, Any] = {
        "key": "social-media",
        "title": "Social Media",
        "purpose": "Brand management and customer engagement.",
        "groups": ["world"],
        "cadence": cadence,
        "response_window": window,
        "reminders": list(reminders),
        "questions": [
            {"id": "hearing", "text": "What are you hearing from customers?"},
            {"id": "next", "text": "What should we try next?"},
        ],
    }
    if local_time is not None:
        conversation["local_time"] = local_time
    return copy.deepcopy(
        {
            "organisation": "Acme",
            "cio_channel": "console:#cio",
            "roles": {"cio": ["console:cio"], "admins": [ADMIN]},
            "groups": {"world": {"title": "Around the world", "members": people}},
            "conversations": [conversation],
        }
    )


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock, playbook())


def ask(bot: EngineHarness) -> list[OutboundMessage]:
    replies = bot.command(ADMIN, "ask social-media")
    assert isinstance(replies[0], Notice) and replies[0].level == "success", replies
    return replies


def prompts(bot: EngineHarness, who: str) -> list[Prompt]:
    """The prompts newly queued for `who` (anything else queued for them fails the test)."""
    fresh = bot.queued(who)
    assert all(isinstance(m, Prompt) for m in fresh), fresh
    return [m for m in fresh if isinstance(m, Prompt)]


def nothing_new(bot: EngineHarness, *people: str) -> None:
    for who in people:
        assert bot.queued(who) == [], who


def tick_at(bot: EngineHarness, clock: FakeClock, moment: datetime) -> None:
    clock.current = moment
    bot.engine.tick()


def participant(bot: EngineHarness, who: str) -> models.Participant:
    with bot.db.transaction() as s:
        found = s.scalar(
            select(models.Participant).join(models.Member).where(models.Member.identity == who)
        )
        assert found is not None
        s.expunge(found)
        return found


def prompt_rows(bot: EngineHarness, who: str) -> list[models.OutboxMessage]:
    with bot.db.transaction() as s:
        rows = list(
            s.scalars(
                select(models.OutboxMessage).where(
                    models.OutboxMessage.destination == who,
                    models.OutboxMessage.idempotency_key.like("prompt:%"),
                )
            )
        )
        s.expunge_all()
        return rows


# --- each participant at 09:30 their time -------------------------------------------------


def test_each_participant_is_prompted_at_0930_in_their_own_zone(
    bot: EngineHarness, clock: FakeClock
) -> None:
    replies = ask(bot)
    assert "4 of them will be asked at 09:30" in text_of(replies)
    assert "4 of them will be asked at 09:30" in text_of(bot.queued("console:#cio"))
    nothing_new(bot, *EVERYONE)
    for who in sorted(DUE, key=DUE.__getitem__):  # New York, Tokyo, nowhere, Berlin
        tick_at(bot, clock, DUE[who] - timedelta(minutes=1))
        nothing_new(bot, *EVERYONE)
        tick_at(bot, clock, DUE[who])
        (prompt,) = prompts(bot, who)
        assert prompt.opening and prompt.purpose and prompt.question.id == "hearing"
        nothing_new(bot, *(p for p in EVERYONE if p != who))
        (row,) = prompt_rows(bot, who)
        zone = ZoneInfo(ZONES.get(who, "Asia/Kolkata"))
        assert row.next_attempt_at.astimezone(zone).time() == time(9, 30)
        assert row.idempotency_key == f"prompt:{prompt.round_id}:{participant(bot, who).member_id}"
        assert participant(bot, who).prompt_due_at is None


@pytest.mark.parametrize(
    ("zone", "opened", "due"),
    [
        # Berlin leaves summer time on Sunday 2026-10-25: 09:30 is then 08:30 UTC, not 07:30.
        ("Europe/Berlin", datetime(2026, 10, 24, 12, 0), datetime(2026, 10, 25, 8, 30)),
        # New York follows on 2026-11-01: 09:30 EST is 14:30 UTC, not 13:30.
        ("America/New_York", datetime(2026, 10, 31, 16, 0), datetime(2026, 11, 1, 14, 30)),
        # Spring: Berlin on 2026-03-29, New York on 2026-03-08, an hour earlier in UTC.
        ("Europe/Berlin", datetime(2026, 3, 28, 12, 0), datetime(2026, 3, 29, 7, 30)),
        ("America/New_York", datetime(2026, 3, 7, 16, 0), datetime(2026, 3, 8, 13, 30)),
    ],
    ids=["berlin-autumn", "new-york-autumn", "berlin-spring", "new-york-spring"],
)
def test_local_time_holds_across_a_daylight_saving_change(
    db: Database, clock: FakeClock, zone: str, opened: datetime, due: datetime
) -> None:
    clock.current = opened.replace(tzinfo=UTC)
    bot = EngineHarness(db, clock, playbook(members=(BERLIN,), zones={BERLIN: zone}))
    ask(bot)
    nothing_new(bot, BERLIN)
    # Adding 24 hours to the opening day's 09:30 would be an hour off either way: in
    # autumn a minute too early releases it, in spring the right moment would not.
    due = due.replace(tzinfo=UTC)
    tick_at(bot, clock, due - timedelta(minutes=1))
    nothing_new(bot, BERLIN)
    tick_at(bot, clock, due)
    (prompt,) = prompts(bot, BERLIN)
    assert prompt.opening
    (row,) = prompt_rows(bot, BERLIN)
    assert row.next_attempt_at.astimezone(ZoneInfo(zone)).time() == time(9, 30)


def test_a_time_skipped_by_the_clock_change_is_read_an_hour_later() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29 (02:00 -> 03:00): it becomes 03:30 CEST.
    berlin = ZoneInfo("Europe/Berlin")
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    due = rounds.next_local_time(after, time(2, 30), berlin)
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert due.astimezone(berlin).time() == time(3, 30)


def test_at_or_after_the_opening_moment() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    at_0930 = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # 09:30 CET
    assert rounds.next_local_time(at_0930, time(9, 30), berlin) == at_0930
    one_second_late = at_0930 + timedelta(seconds=1)
    assert rounds.next_local_time(one_second_late, time(9, 30), berlin) == at_0930 + timedelta(
        days=1
    )


# --- where the zone comes from -------------------------------------------------------------


def test_without_a_zone_of_their_own_the_cadence_zone_counts(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    assert participant(bot, NOWHERE).prompt_due_at == DUE[NOWHERE]  # 09:30 in Kolkata
    tick_at(bot, clock, DUE[NOWHERE])
    assert len(prompts(bot, NOWHERE)) == 1


def test_an_admins_cadence_override_lends_its_zone(bot: EngineHarness) -> None:
    reply = bot.command(ADMIN, "schedule social-media every monday at 10:00 Asia/Tokyo")
    assert isinstance(reply[0], Notice) and reply[0].level == "success", reply
    ask(bot)
    assert participant(bot, NOWHERE).prompt_due_at == DUE[TOKYO]


def test_without_any_zone_utc_counts(db: Database, clock: FakeClock) -> None:
    bot = EngineHarness(db, clock, playbook(cadence="every monday at 10:00", members=(NOWHERE,)))
    ask(bot)
    assert participant(bot, NOWHERE).prompt_due_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_a_zone_this_machine_does_not_know_falls_back() -> None:
    member = models.Member(identity="slack:U1", display_name="U1", timezone="Mars/Olympus")
    assert rounds.zone_of(member, "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert rounds.zone_of(member, "Nowhere/Either") == ZoneInfo("UTC")
    member.timezone = "Europe/Berlin"
    assert rounds.zone_of(member, "Asia/Tokyo") == ZoneInfo("Europe/Berlin")


# --- too late: sent at once ----------------------------------------------------------------


def test_a_local_time_too_late_in_the_window_sends_at_once(db: Database, clock: FakeClock) -> None:
    # A 4-hour window with a 1-hour reminder holds prompts up to 3 hours after opening:
    # 11:30 Berlin is 10:30 UTC (held); 11:30 New York is 16:30 UTC (sent at once).
    book = playbook(local_time="11:30", window="4h", reminders=("1h",), members=(BERLIN, NEW_YORK))
    bot = EngineHarness(db, clock, book)
    replies = ask(bot)
    assert "1 of them will be asked at 11:30" in text_of(replies)
    (now,) = prompts(bot, NEW_YORK)
    assert now.opening
    nothing_new(bot, BERLIN)
    assert participant(bot, NEW_YORK).prompt_due_at is None
    assert participant(bot, BERLIN).prompt_due_at == datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    tick_at(bot, clock, datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    assert len(prompts(bot, BERLIN)) == 1
    nothing_new(bot, NEW_YORK)


def test_latest_hold_is_the_first_reminder_or_three_quarters_of_the_window() -> None:
    opened = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    day = timedelta(days=1)
    # 3-day window, reminders 1d and 4h before the deadline: the 1d one comes first.
    assert rounds.latest_hold(opened, opened + 3 * day, (timedelta(hours=4), day)) == opened + (
        2 * day
    )
    # No reminders: a quarter of the window stays free.
    assert rounds.latest_hold(opened, opened + 4 * day, ()) == opened + 3 * day
    # A late reminder does not stretch the hold past three quarters.
    assert rounds.latest_hold(opened, opened + 4 * day, (timedelta(hours=1),)) == opened + 3 * day


def test_the_hold_boundary_is_inclusive() -> None:
    opened = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    deadline = opened + timedelta(hours=4)  # held at most until 12:00 UTC

    def due(at: time) -> datetime | None:
        return rounds.opening_due(
            ZoneInfo("UTC"), at, opened_at=opened, deadline=deadline, reminders=()
        )

    assert due(time(12, 0)) == opened + timedelta(hours=3)
    assert due(time(12, 1)) is None  # too late: sent at once
    assert due(time(9, 0)) is None  # the opening moment itself: sent at once
    assert due(time(9, 1)) == opened + timedelta(minutes=1)


def test_without_local_time_everyone_is_prompted_as_the_round_opens(
    db: Database, clock: FakeClock
) -> None:
    bot = EngineHarness(db, clock, playbook(local_time=None))
    replies = ask(bot)
    assert "will be asked at" not in text_of(replies)
    for who in EVERYONE:
        (prompt,) = prompts(bot, who)
        assert prompt.opening
        assert participant(bot, who).prompt_due_at is None


# --- once, whoever gets there first -------------------------------------------------------


def test_ticking_twice_or_on_two_replicas_sends_one_prompt(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    other_replica = Engine(db=bot.db, playbook=bot.playbook, clock=clock)
    clock.current = DUE[NEW_YORK]
    bot.engine.tick()
    bot.engine.tick()
    other_replica.tick()
    clock.advance(timedelta(minutes=5))
    other_replica.tick()
    assert len(prompts(bot, NEW_YORK)) == 1
    assert len(prompt_rows(bot, NEW_YORK)) == 1


# PostgreSQL only: SQLite runs one write transaction at a time, so two cannot interleave.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_held_prompt_is_claimed_once_even_from_a_stale_read(bot: EngineHarness) -> None:
    """Two transactions that both read the prompt as held: only the first claim wins."""
    ask(bot)
    with bot.db.transaction() as stale:
        held = stale.scalar(
            select(models.Participant).join(models.Member).where(models.Member.identity == NEW_YORK)
        )
        assert held is not None and held.prompt_due_at is not None
        with bot.db.transaction() as first:
            fresh = first.get(models.Participant, held.id)
            assert fresh is not None
            assert rounds.claim_held_prompt(first, fresh) is True
        assert rounds.claim_held_prompt(stale, held) is False
        assert held.prompt_due_at is None


def test_mine_before_the_local_time_delivers_the_prompt_once(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    notice, prompt = bot.say(NEW_YORK, "mine")
    assert isinstance(notice, Notice) and "Social Media round 1" in text_of([notice])
    assert isinstance(prompt, Prompt) and prompt.opening and prompt.purpose
    tick_at(bot, clock, DUE[NEW_YORK])
    tick_at(bot, clock, DUE[BERLIN])
    nothing_new(bot, NEW_YORK)
    assert prompt_rows(bot, NEW_YORK) == []
    (nxt,) = bot.say(NEW_YORK, "Lots about the new app")  # the reply now answers it
    assert isinstance(nxt, Prompt) and nxt.question.id == "next"
    # A second `mine` shows where they are, not the opening prompt again.
    _, again = bot.say(NEW_YORK, "mine")
    assert isinstance(again, Prompt) and not again.opening and again.question.id == "next"


def test_a_look_at_open_prompts_leaves_the_held_prompt_to_arrive_on_time(
    bot: EngineHarness, clock: FakeClock
) -> None:
    """Opening Slack's App Home shows the question but is not asking for it."""
    ask(bot)
    notice, shown = bot.engine.open_prompts(NEW_YORK)
    assert "Social Media round 1" in text_of([notice])
    assert isinstance(shown, Prompt) and shown.opening and shown.question.id == "hearing"
    assert participant(bot, NEW_YORK).prompt_due_at is not None
    nothing_new(bot, NEW_YORK)
    tick_at(bot, clock, DUE[NEW_YORK])
    assert len(prompt_rows(bot, NEW_YORK)) == 1


def test_text_before_the_local_time_is_not_taken_as_an_answer(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    (shown,) = bot.say(TOKYO, "hello?")
    assert isinstance(shown, Prompt) and shown.opening and shown.question.id == "hearing"
    with bot.db.transaction() as s:
        assert s.scalars(select(models.Answer)).all() == []
    tick_at(bot, clock, DUE[TOKYO])
    nothing_new(bot, TOKYO)
    (nxt,) = bot.say(TOKYO, "Customers want dark mode")
    assert isinstance(nxt, Prompt) and nxt.question.id == "next"


def test_skip_before_the_local_time_shows_the_question_first(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    (shown,) = bot.say(BERLIN, "skip")
    assert isinstance(shown, Prompt) and shown.opening and shown.question.id == "hearing"
    tick_at(bot, clock, DUE[BERLIN])
    nothing_new(bot, BERLIN)


def test_skipping_the_round_before_the_local_time_cancels_the_prompt(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    (done, *_) = bot.say(BERLIN, "skip round")
    assert isinstance(done, Notice) and done.level == "success"
    tick_at(bot, clock, DUE[BERLIN])
    nothing_new(bot, BERLIN)


# --- reminders, close, status ---------------------------------------------------------------


def test_an_admins_remind_skips_those_not_yet_prompted(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    tick_at(bot, clock, DUE[NEW_YORK])
    assert len(prompts(bot, NEW_YORK)) == 1
    (reply,) = bot.command(ADMIN, "remind social-media")
    assert isinstance(reply, Notice) and "1" in reply.lines[0], reply
    (reminder,) = prompts(bot, NEW_YORK)
    assert reminder.reminder
    nothing_new(bot, BERLIN, TOKYO, NOWHERE)


def test_a_prompt_released_late_is_not_followed_by_a_reminder(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    tick_at(bot, clock, DUE[NEW_YORK])
    assert len(prompts(bot, NEW_YORK)) == 1
    # The bot is down until after the first reminder (2 days in), still before the deadline.
    tick_at(bot, clock, OPENED + timedelta(days=2, minutes=1))
    (reminder,) = prompts(bot, NEW_YORK)
    assert reminder.reminder and not reminder.opening
    for who in (BERLIN, TOKYO, NOWHERE):
        (opening,) = prompts(bot, who)
        assert opening.opening and not opening.reminder
    tick_at(bot, clock, OPENED + timedelta(days=2, minutes=2))
    nothing_new(bot, *EVERYONE)


def test_the_round_waits_for_those_not_yet_asked_before_closing_early(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    bot.queued("console:#cio")  # the "round is open" notice
    tick_at(bot, clock, DUE[NEW_YORK])
    bot.say(NEW_YORK, "Lots about the new app")
    (summary, *_) = bot.say(NEW_YORK, "Try a listening tool")
    assert isinstance(summary, Summary) and summary.done
    (status,) = bot.command(ADMIN, "status social-media")
    assert "round 1 open: 1 of 4 answered" in text_of([status])
    assert "3 prompts waiting for local time" in text_of([status])
    nothing_new(bot, "console:#cio")  # no digest: the round is still open
    with bot.db.transaction() as s:
        assert s.scalars(select(models.Round.status)).all() == ["open"]


def test_closing_before_someones_local_time_leaves_them_out(
    bot: EngineHarness, clock: FakeClock
) -> None:
    ask(bot)
    bot.queued("console:#cio")
    tick_at(bot, clock, DUE[NEW_YORK])
    assert len(prompts(bot, NEW_YORK)) == 1
    (reply,) = bot.command(ADMIN, "close social-media")
    assert isinstance(reply, Notice) and "0 of 1" in text_of([reply]), reply
    closed, heard_back = bot.queued(NEW_YORK)
    assert isinstance(closed, Notice) and "has closed" in closed.lines[0]
    assert isinstance(heard_back, Heard) and (heard_back.answered, heard_back.invited) == (0, 1)
    nothing_new(bot, BERLIN, TOKYO, NOWHERE)  # never asked: no "you didn't answer"
    (digest,) = [m for m in bot.queued("console:#cio") if isinstance(m, DigestMessage)]
    (conv,) = digest.digest.conversations
    assert (conv.invited, conv.answered) == (1, 0)
    (group,) = conv.participation
    assert group.missing == ("Newyork",)
    tick_at(bot, clock, DUE[BERLIN])  # nothing is released for a closed round
    nothing_new(bot, *EVERYONE)


def test_status_counts_prompts_waiting_for_local_time(bot: EngineHarness, clock: FakeClock) -> None:
    ask(bot)
    (status,) = bot.command(ADMIN, "status")
    assert "4 prompts waiting for local time" in text_of([status])
    tick_at(bot, clock, DUE[NOWHERE])
    (status,) = bot.command(ADMIN, "status")
    assert "1 prompt waiting for local time" in text_of([status])
    tick_at(bot, clock, DUE[BERLIN])
    (status,) = bot.command(ADMIN, "status")
    assert "waiting for local time" not in text_of([status])


# --- at every instant of tests/instants.py -------------------------------------------------


def first_local(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment at or after `after` when the wall clock in `zone` reads `at`."""
    day = after.astimezone(zone).date()
    while True:
        moment = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if moment >= after:
            return moment
        day += timedelta(days=1)


@pytest.mark.instants
def test_each_prompt_waits_for_the_next_0930_in_its_zone_whenever_the_round_opens(
    db: Database, clock: FakeClock
) -> None:
    opened = clock()
    bot = EngineHarness(db, clock, playbook())
    ask(bot)
    due = {
        who: first_local(opened, time(9, 30), ZoneInfo(ZONES.get(who, "Asia/Kolkata")))
        for who in EVERYONE
    }
    at_once = [who for who in EVERYONE if due[who] == opened]  # 09:30 there right now
    for who in at_once:
        assert len(prompts(bot, who)) == 1
    for who in sorted(set(EVERYONE) - set(at_once), key=due.__getitem__):
        assert opened < due[who] <= opened + timedelta(hours=25), who  # within a day
        tick_at(bot, clock, due[who] - timedelta(minutes=1))
        nothing_new(bot, *EVERYONE)
        tick_at(bot, clock, due[who])
        (prompt,) = prompts(bot, who)
        assert prompt.opening and prompt.deadline == opened + timedelta(days=3)
        nothing_new(bot, *(p for p in EVERYONE if p != who))
        (row,) = prompt_rows(bot, who)
        zone = ZoneInfo(ZONES.get(who, "Asia/Kolkata"))
        assert row.next_attempt_at.astimezone(zone).time() == time(9, 30)

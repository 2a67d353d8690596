"""Cadence parsing and occurrence arithmetic, including DST and N-week anchoring."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.flows.cadence import EPOCH_MONDAY, parse_cadence
from tests.conftest import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Monday 2026-11-23 09:00 UTC, like the shared clock fixture.
NOW = utc(2026, 11, 23, 9, 0)


@pytest.mark.parametrize(
    ("text", "zone", "describe", "next_", "previous"),
    [
        (
            "every day at 09:00",
            "UTC",
            "every day at 09:00 (UTC)",
            utc(2026, 11, 24, 9),
            utc(2026, 11, 23, 9),
        ),
        (
            "every day",
            "UTC",
            "every day at 09:00 (UTC)",
            utc(2026, 11, 24, 9),
            utc(2026, 11, 23, 9),
        ),
        (
            "every weekday at 9:30 Europe/Paris",
            "Europe/Paris",
            "every weekday (Monday to Friday) at 09:30 (Europe/Paris)",
            utc(2026, 11, 24, 8, 30),
            utc(2026, 11, 23, 8, 30),
        ),
        (
            "every monday at 10:00",
            "UTC",
            "every Monday at 10:00 (UTC)",
            utc(2026, 11, 23, 10),
            utc(2026, 11, 16, 10),
        ),
        (
            "every week on mon,thu at 10:00",
            "UTC",
            "every week on Monday and Thursday at 10:00 (UTC)",
            utc(2026, 11, 23, 10),
            utc(2026, 11, 19, 10),
        ),
        (
            "every week on Monday, Thursday and sat at 08:00",
            "UTC",
            "every week on Monday, Thursday and Saturday at 08:00 (UTC)",
            utc(2026, 11, 26, 8),
            utc(2026, 11, 23, 8),
        ),
        (
            "every 2 weeks on tue at 10:00 Europe/Berlin",
            "Europe/Berlin",
            "every 2 weeks on Tuesday at 10:00 (Europe/Berlin)",
            utc(2026, 12, 1, 9),
            utc(2026, 11, 17, 9),
        ),
        (
            "every month on the 1st at 10:00",
            "UTC",
            "every month on the 1st at 10:00 (UTC)",
            utc(2026, 12, 1, 10),
            utc(2026, 11, 1, 10),
        ),
        (
            "every month on day 15",
            "UTC",
            "every month on the 15th at 09:00 (UTC)",
            utc(2026, 12, 15, 9),
            utc(2026, 11, 15, 9),
        ),
        (
            "every month on the 31st at 09:00",
            "UTC",
            "every month on the 31st (or the month's last day) at 09:00 (UTC)",
            utc(2026, 11, 30, 9),
            utc(2026, 10, 31, 9),
        ),
        (
            "every 3 months on the 1st at 09:00",
            "UTC",
            "every 3 months on the 1st at 09:00 (UTC)",
            utc(2027, 1, 1, 9),
            utc(2026, 10, 1, 9),
        ),
        (
            "EVERY Monday AT 10:00 europe/berlin",
            "Europe/Berlin",
            "every Monday at 10:00 (Europe/Berlin)",
            utc(2026, 11, 30, 9),
            utc(2026, 11, 23, 9),
        ),
        (
            "0 10 * * tue",
            "UTC",
            "cron '0 10 * * tue' (UTC)",
            utc(2026, 11, 24, 10),
            utc(2026, 11, 17, 10),
        ),
        (
            "30 9 1 * * Europe/London",
            "Europe/London",
            "cron '30 9 1 * *' (Europe/London)",
            utc(2026, 12, 1, 9, 30),
            utc(2026, 11, 1, 9, 30),
        ),
        # Cron numbers Sunday as 0 (and 7), Monday as 1, unlike APScheduler 3.
        ("0 9 * * 1", "UTC", "cron '0 9 * * 1' (UTC)", utc(2026, 11, 30, 9), utc(2026, 11, 23, 9)),
        ("0 9 * * 0", "UTC", "cron '0 9 * * 0' (UTC)", utc(2026, 11, 29, 9), utc(2026, 11, 22, 9)),
        ("0 9 * * 7", "UTC", "cron '0 9 * * 7' (UTC)", utc(2026, 11, 29, 9), utc(2026, 11, 22, 9)),
        (
            "0 9 * * 1-5",
            "UTC",
            "cron '0 9 * * 1-5' (UTC)",
            utc(2026, 11, 24, 9),
            utc(2026, 11, 23, 9),
        ),
        (
            "*/15 * * * *",
            "UTC",
            "cron '*/15 * * * *' (UTC)",
            utc(2026, 11, 23, 9, 15),
            utc(2026, 11, 23, 9),
        ),
    ],
)
def test_forms(text: str, zone: str, describe: str, next_: datetime, previous: datetime) -> None:
    cadence = parse_cadence(text)
    assert cadence.text == text
    assert cadence.timezone == zone
    assert cadence.describe() == describe
    assert cadence.next_after(NOW) == next_
    assert cadence.next_after(NOW).tzinfo is UTC
    assert cadence.previous_at_or_before(NOW) == previous


@pytest.mark.parametrize(
    "text",
    [
        "every day at 09:00",
        "every weekday at 9:30 Europe/Paris",
        "every week on mon,thu at 10:00",
        "every 2 weeks on tue at 10:00 Europe/Berlin",
        "every 3 months on the 1st at 09:00",
        "every month on day 31 America/New_York",
        "0 10 * * tue Europe/Berlin",
    ],
)
def test_next_and_previous_agree(text: str) -> None:
    cadence = parse_cadence(text)
    at = utc(2026, 1, 1, 0, 7)
    for _ in range(40):
        nxt = cadence.next_after(at)
        assert nxt > at
        assert cadence.previous_at_or_before(nxt) == nxt
        previous = cadence.previous_at_or_before(at)
        assert previous is not None and previous <= at
        assert cadence.next_after(previous) == nxt  # nothing fires in (previous, at]
        at = nxt + timedelta(hours=5, minutes=13)


def test_next_after_is_strict_and_accepts_any_zone() -> None:
    cadence = parse_cadence("every day at 10:00 Europe/Berlin")
    at = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    assert cadence.next_after(at) == utc(2026, 11, 24, 9)
    assert cadence.previous_at_or_before(at) == utc(2026, 11, 23, 9)


def test_naive_datetimes_are_refused() -> None:
    cadence = parse_cadence("every day")
    with pytest.raises(ValueError, match="aware"):
        cadence.next_after(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("after", "expected_utc", "expected_local_hour"),
    [
        # Spring forward on Sunday 2026-03-29: 10:00 CET (UTC+1), then 10:00 CEST (UTC+2).
        (utc(2026, 3, 27, 12), utc(2026, 3, 28, 9), 10),
        (utc(2026, 3, 28, 12), utc(2026, 3, 29, 8), 10),
        (utc(2026, 3, 29, 12), utc(2026, 3, 30, 8), 10),
        # Fall back on Sunday 2026-10-25: 10:00 CEST, then 10:00 CET.
        (utc(2026, 10, 23, 12), utc(2026, 10, 24, 8), 10),
        (utc(2026, 10, 24, 12), utc(2026, 10, 25, 9), 10),
    ],
)
def test_daily_keeps_wall_clock_across_dst(
    after: datetime, expected_utc: datetime, expected_local_hour: int
) -> None:
    cadence = parse_cadence("every day at 10:00 Europe/Berlin")
    nxt = cadence.next_after(after)
    assert nxt == expected_utc
    assert nxt.astimezone(BERLIN).hour == expected_local_hour
    assert cadence.previous_at_or_before(nxt + timedelta(hours=1)) == nxt


def test_time_in_spring_gap_shifts_forward() -> None:
    cadence = parse_cadence("every day at 02:30 Europe/Berlin")
    nxt = cadence.next_after(utc(2026, 3, 28, 12))
    assert nxt == utc(2026, 3, 29, 1, 30)  # 02:30 does not exist; 03:30 CEST
    assert nxt.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    assert cadence.next_after(nxt) == utc(2026, 3, 30, 0, 30)  # back to 02:30 CEST


def test_ambiguous_time_in_autumn_takes_the_first() -> None:
    cadence = parse_cadence("every day at 02:30 Europe/Berlin")
    nxt = cadence.next_after(utc(2026, 10, 24, 12))
    assert nxt == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not the second 02:30 CET
    assert cadence.next_after(nxt) == utc(2026, 10, 26, 1, 30)  # 02:30 CET
    assert cadence.previous_at_or_before(utc(2026, 10, 25, 1, 45)) == nxt


def test_weekly_across_dst_keeps_wall_clock() -> None:
    cadence = parse_cadence("every 2 weeks on sun at 10:00 Europe/Berlin")
    first = cadence.next_after(utc(2026, 3, 10))
    second = cadence.next_after(first)
    assert first.astimezone(BERLIN).hour == second.astimezone(BERLIN).hour == 10
    assert second - first == timedelta(days=14, hours=-1)  # the fortnight lost an hour


def test_every_two_weeks_is_anchored_on_a_fixed_epoch() -> None:
    cadence = parse_cadence("every 2 weeks on tue at 10:00 Europe/Berlin")
    # Wherever we start within the fortnight, we land on the same Tuesday.
    starts = [utc(2026, 11, 17, 10) + timedelta(hours=h) for h in range(0, 14 * 24, 7)]
    assert {cadence.next_after(s) for s in starts} == {utc(2026, 12, 1, 9)}
    at = utc(2026, 1, 1)
    fired: list[date] = []
    for _ in range(10):
        at = cadence.next_after(at)
        fired.append(at.astimezone(BERLIN).date())
    assert all(d.weekday() == 1 for d in fired)
    assert all(((d - EPOCH_MONDAY).days // 7) % 2 == 0 for d in fired)
    assert all(b - a == timedelta(days=14) for a, b in itertools.pairwise(fired))
    # Parsing again (a restart) does not shift the schedule.
    again = parse_cadence("every 2 weeks on tue at 10:00 Europe/Berlin")
    assert again.next_after(utc(2026, 1, 1)) == cadence.next_after(utc(2026, 1, 1))
    assert again == cadence


def test_every_three_months_is_anchored_on_january() -> None:
    cadence = parse_cadence("every 3 months on the 1st at 09:00")
    at = utc(2026, 2, 1)
    months = []
    for _ in range(4):
        at = cadence.next_after(at)
        months.append(at.month)
    assert months == [4, 7, 10, 1]


def test_previous_is_none_before_any_occurrence_in_window() -> None:
    cadence = parse_cadence("every month on the 1st at 10:00")
    assert cadence.previous_at_or_before(utc(2026, 11, 1, 10)) == utc(2026, 11, 1, 10)
    assert cadence.previous_at_or_before(utc(2026, 11, 1, 9, 59)) == utc(2026, 10, 1, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be empty; accepted forms: 'every day at 09:00'"),
        ("   ", "cannot be empty"),
        ("x" * 201, "at most 200 characters"),
        ("fortnightly", "is not a cadence; accepted forms"),
        ("every", "say how often after 'every'"),
        ("every 0 weeks on tue", "'every 0 weeks' never fires; the interval must be >= 1"),
        ("every 53 weeks on tue", "at most 52 weeks"),
        ("every 13 months on the 1st", "at most 12 months"),
        ("every 2 days", "'every 2 days' is not a supported cadence"),
        ("every week at 10:00", "say which day(s), e.g. 'every week on tue at 10:00'"),
        ("every day at 24:00", "hour 24 in '24:00' is out of range; use 00 to 23"),
        ("every day at 9:75", "minute 75 in '9:75' is out of range"),
        ("every day at noon", "'noon' is not a time; use 24-hour HH:MM"),
        ("every day at", "'at' must be followed by a time"),
        ("every tuseday at 10:00", "unknown weekday 'tuseday'; did you mean 'tuesday'?"),
        ("every week on mon,frday", "did you mean 'friday'?"),
        ("every week on mon,xyz", "unknown weekday 'xyz' (use full names or three letters"),
        ("every month", "say which day of the month"),
        ("every month on the 32nd", "day of the month must be 1 to 31"),
        ("every month on tuesday", "is not a day of the month"),
        ("every day at 10:00 Europe/Berln", "unknown timezone 'Europe/Berln'; did you mean"),
        ("every day at 10:00 Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("every day at 10:00 Europe/Berlin extra", "put the time and optional timezone last"),
        ("0 10 * *", "a cron cadence has 5 fields (minute hour day-of-month month day-of-week)"),
        ("0 10 * * * * UTC", "got 7 field(s)"),
        ("61 10 * * *", "bad cron line '61 10 * * *'"),
        ("0 10 * * funday", "bad cron line"),
        ("0 10 * * 9", "bad cron day-of-week '9'"),
        ("0 10 * * tue Nowhere/City", "unknown timezone 'Nowhere/City'"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_rejections(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_cadence(text)
    assert message in str(info.value)


def test_playbook_validator_uses_parse_cadence() -> None:
    from pydantic import ValidationError

    from bot.playbook.model import Conversation

    spec = {
        "key": "social-media",
        "title": "Social media",
        "purpose": "How we show up",
        "groups": ["marketing"],
        "questions": [{"id": "q1", "text": "How are we doing?"}],
    }
    assert Conversation(**spec, cadence="every monday at 10:00").cadence == "every monday at 10:00"
    with pytest.raises(ValidationError, match="did you mean 'monday'"):
        Conversation(**spec, cadence="every mondy at 10:00")


# --- at every instant of tests/instants.py -------------------------------------------------

# The default playbook's cadences, and some that meet the clock changes, month ends and the
# year's end head on.
AT_ANY_INSTANT = (
    ("every 2 weeks on tue at 10:00 Europe/Berlin", "10:00"),
    ("every month on the 1st at 09:00 Europe/Berlin", "09:00"),
    ("every 2 weeks on thu at 14:00 Europe/Berlin", "14:00"),
    ("every month on the 15th at 09:00 Europe/Berlin", "09:00"),
    ("every 2 weeks on wed at 11:00 Europe/Berlin", "11:00"),
    ("every month on the 1st at 11:00 Europe/Berlin", "11:00"),
    ("every day at 02:30 Europe/Berlin", "02:30"),
    ("every day at 01:30 America/New_York", "01:30"),
    ("every day at 02:30 America/New_York", "02:30"),
    ("every weekday at 9:30 Europe/Paris", "09:30"),
    ("every month on the 31st at 00:00 Asia/Tokyo", "00:00"),
    ("every 3 months on the 1st at 00:00", "00:00"),
    ("0 9 1 * *", "09:00"),
    ("30 23 * * * America/New_York", "23:30"),
)


def _exists(day: date, wall: time, zone: ZoneInfo) -> bool:
    """Whether the wall time happens that day (not skipped by a spring clock change)."""
    there = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC).astimezone(zone)
    return there.time() == wall


@pytest.mark.instants
def test_the_occurrences_around_now_agree_and_keep_their_wall_time(clock: FakeClock) -> None:
    now = clock()
    for text, wall in AT_ANY_INSTANT:
        cadence = parse_cadence(text)
        nxt = cadence.next_after(now)
        prev = cadence.previous_at_or_before(now)
        assert prev is not None and prev <= now < nxt, text
        assert cadence.next_after(prev) == nxt, f"{text}: an occurrence between {prev} and {nxt}"
        assert cadence.previous_at_or_before(nxt) == nxt, text
        assert cadence.previous_at_or_before(nxt - timedelta(seconds=1)) == prev, text
        stated = time.fromisoformat(wall)
        for moment in (prev, nxt):
            local = moment.astimezone(cadence.zone)
            if local.time() == stated:
                continue
            # Only a wall time the clock change skipped moves: to an hour later.
            shifted = (datetime.combine(local.date(), stated) + timedelta(hours=1)).time()
            assert not _exists(local.date(), stated, cadence.zone), (
                f"{text}: {moment} is {local:%H:%M} in {cadence.timezone}, not {wall}"
            )
            assert local.time() == shifted, text

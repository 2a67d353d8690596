"""Cadences: when a strategy conversation opens its next round.

A cadence is the short text an admin writes in the playbook or in chat ("every 2 weeks on
tue at 10:00 Europe/Berlin", or a cron line such as "0 10 * * tue"). This module turns it
into a `Cadence` that answers two questions for the scheduler: when is the next round after
a given instant, and which was the latest one at or before it (for catch-up after downtime).

Design points:

- Pure and I/O free, so the playbook validator and the scheduler share one definition.
- Human forms are computed in local wall time with `zoneinfo` and then converted to UTC, so
  "every day at 10:00 Europe/Berlin" stays at 10:00 local across DST changes. A local time
  that does not exist (spring gap) is shifted forward by the gap; an ambiguous one (autumn)
  resolves to its first occurrence.
- "every N weeks" and "every N months" are anchored on a fixed epoch (the week of Monday
  2024-01-01, the month of January 2024) rather than on "now", so that restarts, replicas,
  `next_after` and `previous_at_or_before` all agree on which weeks fire.
- Cron lines are evaluated by APScheduler 3's `CronTrigger`; we only translate cron's
  numeric weekdays (0/7 = Sunday) into names, because APScheduler 3 numbers Monday as 0.
- Every accepted cadence fires at least once in any ~400 days, which is what lets
  `previous_at_or_before` search a bounded window.
- The cadence words are English, like the commands; what people read back (`describe`,
  the reasons a cadence is refused) comes from `bot.messages`, so it follows BOT_LANGUAGE.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.cron import CronTrigger

from bot import messages

MAX_LENGTH = 200
LOOKBACK = timedelta(days=400)
EPOCH_MONDAY = date(2024, 1, 1)
DEFAULT_TIME = time(9, 0)
DEFAULT_ZONE = "UTC"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    name[:3]: i for i, name in enumerate(WEEKDAYS)
}
_CRON_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # cron numbering, 0..7
_CRON_DOW_ITEM = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
_MAX_WEEKS = 52
_MAX_MONTHS = 12


@dataclass(frozen=True)
class _Rule:
    """The parsed meaning of a cadence, one of three kinds."""

    kind: Literal["weekly", "monthly", "cron"]
    interval: int = 1  # weeks or months
    weekdays: frozenset[int] = frozenset()  # 0 = Monday (weekly)
    day: int = 1  # day of month (monthly); clamped to the month's last day
    at: time = DEFAULT_TIME
    cron: str = ""  # as APScheduler reads it (numeric weekdays rewritten as names)
    source: str = ""  # the cron line as written, for `describe`


@dataclass(frozen=True)
class Cadence:
    """A parsed cadence; compute occurrences with `next_after` and `previous_at_or_before`.

    Attributes:
        text: The cadence as written.
        timezone: The IANA zone the cadence is evaluated in ("UTC" when none was given).
    """

    text: str
    timezone: str
    _rule: _Rule

    @property
    def zone(self) -> ZoneInfo:
        """The cadence's zone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def next_after(self, after: datetime) -> datetime:
        """The first occurrence strictly after `after`.

        Args:
            after: An aware datetime (any zone).

        Returns:
            The occurrence as an aware UTC datetime.
        """
        _require_aware(after)
        rule = self._rule
        if rule.kind == "cron":
            return _cron_next(self._trigger(), after)
        if rule.kind == "weekly":
            return _weekly_next(rule, self.zone, after)
        return _monthly_next(rule, self.zone, after)

    def previous_at_or_before(self, at: datetime) -> datetime | None:
        """The latest occurrence at or before `at`, or None if none in the last ~400 days.

        Binary-searches on `next_after`, so it agrees with it by construction.

        Args:
            at: An aware datetime (any zone).

        Returns:
            The occurrence as an aware UTC datetime, or None.
        """
        _require_aware(at)
        at = at.astimezone(UTC)
        lo = at - LOOKBACK
        if self.next_after(lo) > at:
            return None
        hi = at  # invariant: next_after(lo) <= at < next_after(hi)
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            if self.next_after(mid) <= at:
                lo = mid
            else:
                hi = mid
        # Occurrences fall on whole minutes, so (lo, hi] holds at most one of them.
        return self.next_after(lo)

    def describe(self) -> str:
        """A human-readable summary, e.g. "every 2 weeks on Tuesday at 10:00 (Europe/Berlin)"."""
        rule = self._rule
        if rule.kind == "cron":
            return messages.cadence_cron(rule.source, self.timezone)
        at = f"{rule.at:%H:%M}"
        if rule.kind == "monthly":
            return messages.cadence_monthly(rule.interval, rule.day, at, self.timezone)
        return messages.cadence_weekly(rule.interval, sorted(rule.weekdays), at, self.timezone)

    def _trigger(self) -> CronTrigger:
        return _cron_trigger(self._rule.cron, self.timezone)


def parse_cadence(text: str) -> Cadence:
    """Parse a cadence written by a person (see the module docstring for the forms).

    Args:
        text: The cadence, e.g. "every monday at 10:00" or "0 10 * * tue Europe/Berlin".

    Returns:
        The parsed `Cadence`.

    Raises:
        ValueError: With a specific message, and the accepted forms where that helps.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(messages.cadence_empty())
    if len(text) > MAX_LENGTH:
        raise ValueError(messages.cadence_too_long(MAX_LENGTH, len(text)))
    tokens = text.split()
    if tokens[0].lower() == "every":
        zone, rule = _parse_human(tokens[1:])
    elif re.match(r"^[\d*]", tokens[0]):
        zone, rule = _parse_cron(tokens)
    else:
        raise ValueError(messages.cadence_unknown(repr(text)))
    cadence = Cadence(text=text, timezone=zone, _rule=rule)
    if rule.kind == "cron":
        _check_fires(cadence)
    return cadence


# --- human forms -------------------------------------------------------------------------


def _parse_human(tokens: list[str]) -> tuple[str, _Rule]:
    zone = DEFAULT_ZONE
    at = DEFAULT_TIME
    lowered = [t.lower() for t in tokens]
    if "at" in lowered:
        i = lowered.index("at")
        rest = tokens[i + 1 :]
        if not rest:
            raise ValueError(messages.cadence_at_without_time())
        if len(rest) > 2:
            raise ValueError(messages.cadence_words_after_zone(repr(" ".join(rest[2:]))))
        at = _parse_time(rest[0])
        if len(rest) == 2:
            zone = _parse_zone(rest[1])
        tokens, lowered = tokens[:i], lowered[:i]
    elif tokens and ("/" in tokens[-1] or tokens[-1].upper() == "UTC"):
        zone = _parse_zone(tokens[-1])
        tokens, lowered = tokens[:-1], lowered[:-1]
    if not lowered:
        raise ValueError(messages.cadence_every_alone())
    return zone, _parse_every(lowered, at)


def _parse_every(words: list[str], at: time) -> _Rule:
    written = " ".join(words)
    head = words[0]
    if words in (["day"], ["days"]):
        return _Rule("weekly", weekdays=frozenset(range(7)), at=at)
    if words in (["weekday"], ["weekdays"]):
        return _Rule("weekly", weekdays=frozenset(range(5)), at=at)
    interval = 1
    if head.isdigit():
        interval = int(head)
        words = words[1:]
        if not words:
            raise ValueError(messages.cadence_no_unit(interval))
        if interval < 1:
            raise ValueError(messages.cadence_never(interval, words[0]))
    unit = words[0]
    if unit in ("week", "weeks"):
        if interval > _MAX_WEEKS:
            raise ValueError(messages.cadence_weeks_too_rare(interval, _MAX_WEEKS))
        if len(words) < 2 or words[1] != "on":
            example = f"'every {_plural(interval, 'week')} on tue at 10:00'"
            raise ValueError(messages.cadence_which_weekdays(example))
        return _Rule("weekly", interval=interval, weekdays=_parse_days(words[2:]), at=at)
    if unit in ("month", "months"):
        if interval > _MAX_MONTHS:
            raise ValueError(messages.cadence_months_too_rare(interval, _MAX_MONTHS))
        return _Rule("monthly", interval=interval, day=_parse_day_of_month(words[1:]), at=at)
    if interval != 1 or unit in ("days", "day"):
        raise ValueError(messages.cadence_unsupported(written))
    return _Rule("weekly", weekdays=_parse_days(words), at=at)


def _parse_days(words: list[str]) -> frozenset[int]:
    names = [w for w in re.split(r"[,\s]+", " ".join(words)) if w and w != "and"]
    if not names:
        raise ValueError(messages.cadence_no_weekday())
    days: set[int] = set()
    for name in names:
        key = name[:-1] if name.endswith("s") and name[:-1] in WEEKDAYS else name
        if key not in _DAY_NAMES:
            close = difflib.get_close_matches(key, list(_DAY_NAMES), n=1, cutoff=0.6)
            hint = repr(WEEKDAYS[_DAY_NAMES[close[0]]]) if close else None
            raise ValueError(messages.cadence_unknown_weekday(repr(name), hint))
        days.add(_DAY_NAMES[key])
    return frozenset(days)


def _parse_day_of_month(words: list[str]) -> int:
    if not words or words[0] != "on":
        raise ValueError(messages.cadence_which_day_of_month())
    words = words[1:]
    if words[:1] == ["the"]:
        words = words[1:]
    number: str | None = None
    if len(words) == 2 and words[0] == "day" and words[1].isdigit():
        number = words[1]
    elif len(words) == 1 and (m := _ORDINAL.match(words[0])):
        number = m.group(1)
    if number is None:
        raise ValueError(messages.cadence_not_day_of_month(repr(" ".join(words))))
    day = int(number)
    if not 1 <= day <= 31:
        raise ValueError(messages.cadence_day_of_month_range(day))
    return day


def _parse_time(text: str) -> time:
    m = _TIME.match(text)
    if not m:
        raise ValueError(messages.cadence_not_a_time(repr(text)))
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23:
        raise ValueError(messages.cadence_hour_range(hour, repr(text)))
    if minute > 59:
        raise ValueError(messages.cadence_minute_range(minute, repr(text)))
    return time(hour, minute)


def _parse_zone(name: str) -> str:
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    zones = _zones()
    exact = {z.lower(): z for z in zones}.get(name.lower())
    if exact:
        return exact
    close = difflib.get_close_matches(name, sorted(zones), n=1, cutoff=0.6)
    raise ValueError(messages.cadence_unknown_zone(repr(name), repr(close[0]) if close else None))


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


# --- cron ------------------------------------------------------------------------------------


def _parse_cron(tokens: list[str]) -> tuple[str, _Rule]:
    if len(tokens) not in (5, 6):
        raise ValueError(messages.cadence_cron_fields(len(tokens)))
    zone = _parse_zone(tokens[5]) if len(tokens) == 6 else DEFAULT_ZONE
    fields = tokens[:5]
    fields[4] = _cron_weekdays(fields[4])
    expr = " ".join(fields)
    try:
        _cron_trigger(expr, zone)
    except ValueError as exc:
        raise ValueError(messages.cadence_bad_cron(repr(" ".join(tokens[:5])), str(exc))) from None
    return zone, _Rule("cron", cron=expr, source=" ".join(tokens[:5]))


def _cron_weekdays(field: str) -> str:
    """Rewrite cron's numeric weekdays (0 or 7 = Sunday) as names for APScheduler 3."""
    out: list[str] = []
    for item in field.split(","):
        m = _CRON_DOW_ITEM.match(item)
        if not m:
            out.append(item.lower())  # names, name ranges: APScheduler reads these as cron does
            continue
        span, step = m.group(1), int(m.group(2) or 1)
        if span == "*":
            if step == 1:
                out.append("*")
                continue
            first, last = 0, 6
        elif "-" in span:
            first, last = (int(x) for x in span.split("-"))
        else:
            first = last = int(span)
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last) or step < 1:
            raise ValueError(messages.cadence_bad_cron_weekday(repr(field)))
        out.extend(_CRON_DOW[n] for n in range(first, last + 1, step))
    return ",".join(dict.fromkeys(out))


@functools.lru_cache(maxsize=256)
def _cron_trigger(expr: str, zone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expr, timezone=ZoneInfo(zone))


def _cron_next(trigger: CronTrigger, after: datetime) -> datetime:
    # APScheduler returns the first fire time >= now, rounded up to whole seconds.
    nxt = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    if nxt is None:  # excluded at parse time; kept for the type checker
        raise ValueError("this cron cadence never fires")
    result: datetime = nxt.astimezone(UTC)
    return result


def _check_fires(cadence: Cadence) -> None:
    for ref in (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)):
        nxt = cadence._trigger().get_next_fire_time(None, ref)
        if nxt is None or nxt - ref > LOOKBACK:
            raise ValueError(messages.cadence_cron_never(repr(cadence._rule.source)))


# --- wall-clock arithmetic -------------------------------------------------------------------


def _weekly_next(rule: _Rule, zone: ZoneInfo, after: datetime) -> datetime:
    start = after.astimezone(zone).date()
    for offset in range(7 * rule.interval + 8):
        day = start + timedelta(days=offset)
        if day.weekday() not in rule.weekdays:
            continue
        if ((day - EPOCH_MONDAY).days // 7) % rule.interval:
            continue
        candidate = _wall_to_utc(day, rule.at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a weekly rule fires within its period")


def _monthly_next(rule: _Rule, zone: ZoneInfo, after: datetime) -> datetime:
    local = after.astimezone(zone)
    index = local.year * 12 + local.month - 1
    for offset in range(12 * rule.interval + 2):
        year, month0 = divmod(index + offset, 12)
        if ((year - 2024) * 12 + month0) % rule.interval:
            continue
        last = calendar.monthrange(year, month0 + 1)[1]
        day = date(year, month0 + 1, min(rule.day, last))
        candidate = _wall_to_utc(day, rule.at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a monthly rule fires within its period")


def _wall_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Local wall time to UTC: fold=0 shifts a gap time forward, takes an ambiguous one's first."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {value.isoformat()}")


def _plural(n: int, unit: str) -> str:
    return unit if n == 1 else f"{n} {unit}s"

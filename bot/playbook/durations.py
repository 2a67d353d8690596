"""Human durations ("30m", "4h", "3d", "1w", "1d 12h") used by playbooks and `snooze`.

Hand-written because the grammar is tiny and the error text must be ours; a library such
as pytimeparse would accept forms we then could not explain in help text.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

_UNITS = {"m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d{1,6})\s*(min|hr|m|h|d|w)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d{1,6}\s*(?:min|hr|m|h|d|w)\s*)+$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as "90m", "4h", "2d" or "1d 12h".

    Raises:
        ValueError: with a message that shows the accepted forms.
    """
    if not isinstance(text, str) or not _WHOLE.match(text):
        raise ValueError(f"{text!r} is not a duration; use forms like 30m, 4h, 2d, 1w or 1d 12h")
    seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a duration compactly, the inverse of `parse_duration` ("1d 12h")."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0m"


# -- retention ("24 months", "2 years", "90d") ------------------------------------------------
# A retention is long, so it also takes calendar months and years; anything else goes through
# the duration grammar above. It is kept as normalised text ("24 months", "90d") so the
# conversation's JSON snapshot reads back unchanged.

_CALENDAR = re.compile(r"^\s*(\d{1,4})\s*(months?|mo|years?|y)\s*$", re.IGNORECASE)


def parse_retention(text: object) -> str:
    """Normalise a retention: "24 months", "1 year" (= "12 months") or a duration ("90d").

    Raises:
        ValueError: neither form (the message shows both).
    """
    if isinstance(text, str):
        match = _CALENDAR.match(text)
        if match:
            count = int(match[1]) * (12 if match[2].lower().startswith("y") else 1)
            if count <= 0:
                raise ValueError(f"{text!r} is not a positive retention")
            return f"{count} month{'s' if count != 1 else ''}"
        try:
            return format_duration(parse_duration(text))
        except ValueError:
            pass
    raise ValueError(
        f"{text!r} is not a retention; use forms like 24 months, 2 years or a duration (90d)"
    )


def _months(text: str) -> int | None:
    match = _CALENDAR.match(text)
    return int(match[1]) if match else None


def retention_shortest(text: str) -> timedelta:
    """The shortest time a normalised retention can mean (a month is at least 28 days)."""
    months = _months(text)
    return timedelta(days=28 * months) if months is not None else parse_duration(text)


def retention_cutoff(text: str, now: datetime) -> datetime:
    """The moment before which data under this retention is due to go: `now` minus it.

    Calendar months step back by month (31 March minus one month is 28 or 29 February).
    """
    months = _months(text)
    if months is None:
        return now - parse_duration(text)
    total = now.year * 12 + (now.month - 1) - months
    year, month = divmod(total, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)

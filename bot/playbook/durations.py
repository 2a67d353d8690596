"""Human durations ("30m", "4h", "3d", "1w", "1d 12h") used by playbooks and `snooze`.

Hand-written because the grammar is tiny and the error text must be ours; a library such
as pytimeparse would accept forms we then could not explain in help text.
"""

from __future__ import annotations

import re
from datetime import timedelta

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

"""Logging that stays readable during an outage: a repeated problem is logged once per interval.

Why: when the database or a platform is down, every loop that touches it fails on every
turn (the outbox worker polls each second per destination), and a traceback per failure
fills a disk in hours while hiding the one line that says what is wrong. `Throttled`
logs the first occurrence of a problem in full, then at most one line per interval
saying how many more there were, so the log still shows when it started, that it goes
on, and when it stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_INTERVAL_SECONDS = 30.0


@dataclass
class _Seen:
    last_logged: float
    suppressed: int = 0


class Throttled:
    """A logger's view that logs each kind of problem at most once per interval.

    Args:
        logger: where the lines go.
        interval: seconds between two lines about the same problem.
        clock: monotonic seconds (a fake one in tests).

    A problem is named by a `key` the caller chooses ("drain", "tick"): failures with
    different details but the same cause share a key, so an outage is one line per
    interval, not one per destination.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def exception(self, key: str, msg: str, *args: object) -> None:
        """Log an error with its traceback the first time, then a counted line per interval.

        Call it from an `except` block, like `Logger.exception`.
        """
        self._log(logging.ERROR, key, msg, args, exc_info=True)

    def warning(self, key: str, msg: str, *args: object) -> None:
        """Log a warning, at most once per interval for this key."""
        self._log(logging.WARNING, key, msg, args, exc_info=False)

    def recovered(self, key: str, msg: str, *args: object) -> None:
        """Say that a problem is over (if it was logged), with how often it recurred."""
        with self._lock:
            seen = self._seen.pop(key, None)
        if seen is None:
            return
        text = msg % args if args else msg
        if seen.suppressed:
            self._logger.warning("%s (%d more failure(s) not logged)", text, seen.suppressed)
        else:
            self._logger.warning("%s", text)

    def _log(
        self, level: int, key: str, msg: str, args: tuple[object, ...], *, exc_info: bool
    ) -> None:
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.last_logged < self._interval:
                seen.suppressed += 1
                return
            first = seen is None
            suppressed = 0 if seen is None else seen.suppressed
            self._seen[key] = _Seen(last_logged=now)
        if first:
            self._logger.log(level, msg, *args, exc_info=exc_info)
            return
        # Still failing: one line, without the traceback already logged.
        self._logger.log(
            level,
            "%s (still failing: %d more time(s) in the last %.0f s)",
            msg % args if args else msg,
            suppressed,
            self._interval,
        )

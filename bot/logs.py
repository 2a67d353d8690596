"""Logging that stays readable during an outage: a repeated problem is logged once per interval.

Why: when the database or a platform is down, every loop that touches it fails on every
turn (the outbox worker polls each second per destination), and a traceback per failure
fills a disk in hours while hiding the one line that says what is wrong. `Throttled`
logs the first occurrence of a problem in full, then at most one line per interval
saying how many more there were, so the log still shows when it started, that it goes
on, and when it stopped.

`configure_logging` sets up the process's logging (`strategy-bot` calls it with
LOG_LEVEL). Privacy decides its shape: LOG_LEVEL applies to the bot's own loggers (`bot`,
`storage`) only. The HTTP and SDK libraries (slack_sdk, slack_bolt, botbuilder, msrest,
msal, urllib3, aiohttp, ...) log request and response bodies and tokens at DEBUG: a DM
channel next to the text of a summary of someone's answers links an anonymous answer to
its author, and the OAuth response carries the bot token. So they stay at INFO or above
whatever LOG_LEVEL says, and SQLAlchemy (whose INFO lines carry statement parameters, that
is answer text) at WARNING. Every line then goes through `redact`, which masks Slack
tokens, bearer and basic credentials, secrets in `key=value` or JSON form, passwords in
URLs, and the configured secrets themselves, should any library or message ever print them.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

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

    def error(self, key: str, msg: str, *args: object) -> None:
        """Log an error without a traceback, at most once per interval for this key."""
        self._log(logging.ERROR, key, msg, args, exc_info=False)

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


# -- the process's logging ---------------------------------------------------------------

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN_LOGGERS = ("bot", "storage")
# Libraries whose debug output carries message bodies or credentials, including the loggers
# the bot hands to slack_bolt and slack_sdk under its own name (bot.adapters.slack.*).
LIBRARY_LOGGERS = (
    "slack_sdk",
    "slack_bolt",
    "bot.adapters.slack.bolt",
    "bot.adapters.slack.oauth",
    "bot.adapters.slack.socket",
    "botbuilder",
    "botframework",
    "msrest",
    "msal",
    "azure",
    "urllib3",
    "requests",
    "aiohttp",
    "websockets",
    "httpx",
    "httpcore",
    "jwt",
    "alembic",
    "asyncio",
)
QUIET_LOGGERS = {
    "sqlalchemy": logging.WARNING,  # INFO logs statements with their parameters
    "alembic.runtime.plugins": logging.WARNING,  # INFO: seven lines of set-up noise per run
}
MASK = "[redacted]"
_MIN_LITERAL_SECRET = 6  # shorter configured "secrets" would mask ordinary words

_MASKED_FIELDS = (
    "client_secret|signing_secret|state_secret|app_password|password|passwd|secret"
    "|refresh_token|access_token|bot_token|app_token|id_token|token"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + MASK),
    # Slack tokens: xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, rotating xoxe.xoxb-, xapp-.
    (re.compile(r"\b(xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+"), r"\1-" + MASK),
    # user:password@ in URLs (DATABASE_URL).
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE),
        r"\1" + MASK + "@",
    ),
    # An OAuth code in a query string (the access log of /slack/oauth_redirect).
    (re.compile(r"([?&]code=)[^&\s\"']+"), r"\1" + MASK),
    # key=value (forms, query strings) and "key": "value" (JSON, dict reprs).
    (
        re.compile(
            r"(?P<key>[\"']?\b(?:" + _MASKED_FIELDS + r")[\"']?\s*[:=]\s*)"
            r"(?P<quote>[\"']?)(?!\[redacted\])(?P<value>[^\"'\s&,;}]+)",
            re.IGNORECASE,
        ),
        r"\g<key>\g<quote>" + MASK,
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with credentials masked (see the module docstring).

    Args:
        text: a formatted log line, traceback included.
        secrets: literal values to mask wherever they appear (the configured secrets).
    """
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_LITERAL_SECRET}, key=len):
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then masks credentials in the whole text."""

    def __init__(self, fmt: str = LOG_FORMAT, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """The line `logging.Formatter` would write, redacted."""
        return redact(super().format(record), self._secrets)


class _BotHandler(logging.StreamHandler):
    """The handler `configure_logging` installs (found again and replaced on a second call)."""


def configure_logging(
    level: str, *, stream: TextIO | None = None, secrets: Iterable[str] = ()
) -> logging.Handler:
    """Set up logging for the process: one redacting handler, LOG_LEVEL for our loggers only.

    Args:
        level: LOG_LEVEL (`DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`).
        stream: where lines go (default stderr).
        secrets: configured secret values to mask wherever they appear.

    Returns:
        The installed handler.
    """
    own = logging.getLevelName(level.upper())
    if not isinstance(own, int):
        raise ValueError(f"unknown log level {level!r}")
    library = max(own, logging.INFO)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _BotHandler)]:
        root.removeHandler(old)
    handler = _BotHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT, secrets))
    root.addHandler(handler)
    # Loggers nobody named here (a library added later) get the library level too.
    root.setLevel(library)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(own, quiet))
    # APScheduler logs every job run at INFO; the bot logs what matters itself.
    logging.getLogger("apscheduler").setLevel(library if own <= logging.DEBUG else logging.WARNING)
    return handler

"""A repeated failure is logged once in full, then as one counted line per interval."""

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.logs import (
    LIBRARY_LOGGERS,
    OWN_LOGGERS,
    QUIET_LOGGERS,
    Throttled,
    configure_logging,
    redact,
)
from storage import models
from storage.db import Database
from storage.migrate import upgrade


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_one_traceback_then_a_counted_line_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Ticks()
    log = Throttled(logging.getLogger("test.throttled"), interval=30, clock=clock)
    caplog.set_level(logging.WARNING, logger="test.throttled")
    for second in range(100):  # a failure every 0.35 s for 35 s
        clock.now = second * 0.35
        try:
            raise ConnectionError("database down")
        except ConnectionError:
            log.exception("drain", "outbox drain failed")
    records = [r for r in caplog.records if r.name == "test.throttled"]
    assert len(records) == 2
    assert records[0].exc_info is not None and records[0].getMessage() == "outbox drain failed"
    assert records[1].exc_info is None
    assert "still failing: 85 more time(s) in the last 30 s" in records[1].getMessage()
    log.recovered("drain", "outbox drain works again")
    assert "outbox drain works again (13 more failure(s) not logged)" in caplog.text


def test_different_problems_are_counted_apart(caplog: pytest.LogCaptureFixture) -> None:
    clock = Ticks()
    log = Throttled(logging.getLogger("test.throttled"), interval=30, clock=clock)
    caplog.set_level(logging.WARNING, logger="test.throttled")
    log.warning("tick", "tick failed")
    log.warning("drain", "drain failed")
    log.warning("tick", "tick failed")
    assert [r.getMessage() for r in caplog.records] == ["tick failed", "drain failed"]
    log.recovered("never-failed", "not said")
    assert "not said" not in caplog.text


# -- configure_logging and redaction ------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    names = ("", *OWN_LOGGERS, *LIBRARY_LOGGERS, *QUIET_LOGGERS, "apscheduler")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_log_level_debug_is_for_the_bots_loggers_only() -> None:
    configure_logging("DEBUG", stream=io.StringIO())
    assert logging.getLogger("bot.flows.engine").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("storage.db").getEffectiveLevel() == logging.DEBUG
    for library in ("slack_sdk.web.async_client", "slack_bolt.App", "botbuilder.core", "msal"):
        assert logging.getLogger(library).getEffectiveLevel() == logging.INFO, library
    assert logging.getLogger("bot.adapters.slack.bolt").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("sqlalchemy.engine.Engine").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("some.new.library").getEffectiveLevel() == logging.INFO


@pytest.mark.usefixtures("restore_logging")
def test_log_level_warning_applies_to_everyone() -> None:
    configure_logging("WARNING", stream=io.StringIO())
    assert logging.getLogger("bot").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("slack_sdk").getEffectiveLevel() == logging.WARNING


@pytest.mark.usefixtures("restore_logging")
def test_a_traceback_carrying_a_token_is_redacted() -> None:
    out = io.StringIO()
    configure_logging("INFO", stream=out, secrets=["my-signing-secret-value"])
    try:
        raise RuntimeError("call failed with token xoxb-123-456-abcdef and my-signing-secret-value")
    except RuntimeError:
        logging.getLogger("bot.test").exception("it failed")
    text = out.getvalue()
    assert "Traceback" in text and "it failed" in text
    assert "xoxb-123" not in text and "my-signing-secret-value" not in text
    assert "xoxb-[redacted]" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("token xoxb-1-2-abc", "token xoxb-[redacted]"),
        (
            "xoxp-1-2 and xapp-1-A0-3 and xoxe.xoxb-1-9",
            "xoxp-[redacted] and xapp-[redacted] and xoxe.xoxb-[redacted]",
        ),
        ("xoxe-1-abc", "xoxe-[redacted]"),
        ("Authorization: Bearer eyJ0eXAi.abc.def", "Authorization: Bearer [redacted]"),
        ("Basic MTExMS4yMjIyOnNlY3JldA==", "Basic [redacted]"),
        (
            "{'client_secret': 'abc', 'refresh_token': 'r1'}",
            "{'client_secret': '[redacted]', 'refresh_token': '[redacted]'}",
        ),
        (
            '{"token": "legacy", "type": "event_callback"}',
            '{"token": "[redacted]", "type": "event_callback"}',
        ),
        ("client_secret=abc&code=xyz&state=s", "client_secret=[redacted]&code=[redacted]&state=s"),
        ("postgresql://bot:pa55word@db:5432/x", "postgresql://bot:[redacted]@db:5432/x"),
        (
            "GET /slack/oauth_redirect?code=123.456&state=abc",
            "GET /slack/oauth_redirect?code=[redacted]&state=abc",
        ),
        (
            "outbox row 5 sent to slack:U0LEE (status code: 429)",
            "outbox row 5 sent to slack:U0LEE (status code: 429)",
        ),
        ("SLACK_SIGNING_SECRET is required", "SLACK_SIGNING_SECRET is required"),
    ],
)
def test_redact(raw: str, expected: str) -> None:
    assert redact(raw) == expected


def test_redact_masks_configured_secrets_but_not_short_words() -> None:
    assert (
        redact("secret is s3cr3t-value-1, ok", ["s3cr3t-value-1", "ok"])
        == "secret is [redacted], ok"
    )


def test_database_errors_do_not_carry_statement_parameters(tmp_path: Path) -> None:
    """A failed statement's message (which ends up in the log) never shows its values."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    db = Database(url)
    secret_answer = "answer-text-that-must-not-be-logged"
    row = {"replica": secret_answer, "checked_at": datetime(2026, 1, 1, tzinfo=UTC)}
    with db.transaction() as s:
        s.execute(insert(models.HealthCheck), [row])
    with pytest.raises(IntegrityError) as raised, db.transaction() as s:
        s.execute(insert(models.HealthCheck), [row])
    db.dispose()
    assert "UNIQUE constraint failed" in str(raised.value)
    assert secret_answer not in str(raised.value)

"""A repeated failure is logged once in full, then as one counted line per interval."""

import logging

import pytest

from bot.logs import Throttled


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

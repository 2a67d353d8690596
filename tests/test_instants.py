"""The frozen-instant plugin itself (tests/instants.py): travel, the clock, the chosen list."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FakeClock
from tests.instants import INSTANTS, Instant, parse_instants, subprocess_env


@pytest.mark.instants
def test_a_marked_test_lives_at_its_instant_in_its_zone(instant: Instant, clock: FakeClock) -> None:
    now = datetime.now(UTC)
    assert timedelta(0) <= now - instant.utc < timedelta(minutes=1)
    assert clock() == instant.utc
    local = datetime.fromtimestamp(time.time()).astimezone()  # the machine's own zone
    assert local.utcoffset() == instant.at.utcoffset()
    assert local.date() == instant.at.date()


@pytest.mark.instants("tokyo-new-year")
def test_a_child_process_starts_at_the_instant_in_its_zone(instant: Instant) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import datetime as d; print(d.datetime.now().astimezone())"],
        env={**os.environ, **subprocess_env()},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    child = datetime.fromisoformat(out.strip())
    assert child.utcoffset() == timedelta(hours=9)
    assert timedelta(seconds=-2) <= child - instant.utc <= timedelta(minutes=1)
    assert child.date().isoformat() == "2027-01-01"


def test_unmarked_tests_are_not_travelled() -> None:
    assert subprocess_env() == {}


def test_instant_ids_are_unique_and_readable() -> None:
    ids = [i.id for i in INSTANTS]
    assert len(set(ids)) == len(ids)
    (chosen,) = parse_instants("2026-12-01T13:44Z")
    assert chosen.id == "at-2026-12-01T13-44Z"


def test_instants_chosen_for_one_run() -> None:
    utc, tokyo = parse_instants(" 2026-12-01T13:44Z , 2027-01-01T00:30 Asia/Tokyo,")
    assert utc.at == datetime(2026, 12, 1, 13, 44, tzinfo=UTC) and utc.zone == "UTC"
    assert tokyo.at == datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert tokyo.zone == "Asia/Tokyo" and tokyo.utc == datetime(2026, 12, 31, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-12-01T13:44", "add an offset"),
        ("2026-12-01T13:44Z Asia/Tokyo", "either an offset or a zone"),
        ("2026-12-01T13:44 Mars/Olympus", "Mars/Olympus"),
        ("tomorrow", "cannot read 'tomorrow'"),
        (" , ", "names no instant"),
    ],
)
def test_a_bad_choice_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(pytest.UsageError, match=problem):
        parse_instants(text)

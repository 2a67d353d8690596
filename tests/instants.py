"""Run time-sensitive tests at chosen instants, with the clock frozen by `time-machine`.

Why: the bot's behaviour depends on the calendar (cadences, catch-up after downtime, local
times of day, reminders, digests), so a test that reads the real clock passes or fails with
the hour CI happens to run it. Tests marked `@pytest.mark.instants` are instead run once per
instant in `INSTANTS` (the test id names it, e.g. `test_x[eu-fall-back]`), with the whole
process travelled there by `time_machine.travel(instant, tick=True)`: `datetime.now()`,
`time.time()` and the machine's local time zone (each instant carries one) all say that
moment, and the clock ticks on from it, so servers, APScheduler and timeouts keep working.
`time.monotonic()` is left alone, as time-machine does.

`@pytest.mark.instants("eu-fall-back", ...)` runs a test at the named instants only (for the
slow tests that start a real server). The `clock` fixture (`tests.conftest.FakeClock`)
starts at the frozen instant in a marked test, and `instant` gives the test the `Instant`.

`TEST_INSTANTS` replaces the list for one run, e.g.
`TEST_INSTANTS="2026-12-01T13:44Z, 2027-01-01T00:30 Asia/Tokyo"`: an ISO 8601 moment with an
offset (Z for UTC), or a local wall time followed by an IANA zone, which then also becomes
the machine's zone.

A subprocess does not inherit time-machine's patch: `subprocess_env()` gives it Debian's
libfaketime (`LD_PRELOAD`, `FAKETIME`) and `TZ`, so `strategy-bot serve` started by a test
starts at the test's current moment, in its zone.

Not to be time-travelled: tests whose certificates or tokens OpenSSL checks against the real
clock (`tests/teams/test_auth.py`, `tests/fakes/bot_identity.py`): time-machine patches
Python's clock only, so a certificate made "now" in 2026 would look expired or not yet valid
to OpenSSL. None of them is marked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from glob import glob
from zoneinfo import ZoneInfo

import pytest
import time_machine

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")

MARKER = "instants"
ENV = "TEST_INSTANTS"
# Debian's libfaketime, multi-threaded build (the server runs threads); the folder names
# the machine's architecture (x86_64-linux-gnu, aarch64-linux-gnu...).
LIBFAKETIME_GLOB = "/usr/lib/*/faketime/libfaketimeMT.so.1"


@dataclass(frozen=True)
class Instant:
    """A moment to run tests at.

    Attributes:
        id: Shown in the test id.
        at: The moment, aware; a `ZoneInfo` (or UTC) also sets the machine's local zone.
        why: What makes it worth testing at.
    """

    id: str
    at: datetime
    why: str

    @property
    def utc(self) -> datetime:
        """The moment in UTC, without microseconds."""
        return self.at.astimezone(UTC)

    @property
    def zone(self) -> str:
        """The machine's local time zone while travelled there."""
        return getattr(self.at.tzinfo, "key", "UTC")


INSTANTS: tuple[Instant, ...] = (
    Instant(
        "berlin-tue-1st-1030",
        datetime(2026, 12, 1, 10, 30, tzinfo=BERLIN),
        "Tuesday the 1st, 10:30 in Berlin (09:30 UTC): three default cadences due that morning",
    ),
    Instant(
        "tue-1st-1344z",
        datetime(2026, 12, 1, 13, 44, tzinfo=UTC),
        "when a tester saw the suite fail: default cadences due 4-6 hours before",
    ),
    Instant(
        "eu-spring-forward",
        datetime(2026, 3, 29, 1, 59, tzinfo=BERLIN),
        "a minute before Berlin's clocks jump from 02:00 to 03:00",
    ),
    Instant(
        "eu-fall-back",
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN),
        "02:30 in Berlin for the second time that night (CET, 01:30 UTC)",
    ),
    Instant(
        "us-spring-forward",
        datetime(2026, 3, 8, 1, 59, tzinfo=NEW_YORK),
        "a minute before New York's clocks jump from 02:00 to 03:00",
    ),
    Instant(
        "us-fall-back",
        datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK),
        "01:30 in New York for the second time that night (EST, 06:30 UTC)",
    ),
    Instant(
        "new-years-eve-2359z",
        datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
        "the last minute of the year in UTC",
    ),
    Instant(
        "tokyo-new-year",
        datetime(2027, 1, 1, 0, 30, tzinfo=TOKYO),
        "already 1 January 2027 in Tokyo (the machine's zone), still 31 December in UTC",
    ),
)
BY_ID = {i.id: i for i in INSTANTS}
# The instants for tests that start a real server (a few seconds each): the morning when
# the default playbook's cadences had just come due, the reported failure, and a machine
# whose local date is a day and a year ahead of UTC.
SERVER_INSTANTS = ("berlin-tue-1st-1030", "tue-1st-1344z", "tokyo-new-year")


def parse_instants(text: str) -> tuple[Instant, ...]:
    """The instants named by a `TEST_INSTANTS` value (see the module docstring).

    Raises:
        pytest.UsageError: a part is neither an aware ISO 8601 moment nor a wall time
            followed by a known zone.
    """
    found: list[Instant] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        moment, _, zone = part.partition(" ")
        try:
            at = datetime.fromisoformat(moment.replace("Z", "+00:00"))
            if zone:
                if at.tzinfo is not None:
                    raise ValueError("give either an offset or a zone, not both")
                at = at.replace(tzinfo=ZoneInfo(zone.strip()))
            elif at.tzinfo is None:
                raise ValueError("add an offset (Z for UTC) or a zone name")
            elif at.utcoffset() == UTC.utcoffset(None):
                at = at.replace(tzinfo=UTC)
        except (ValueError, KeyError) as exc:
            raise pytest.UsageError(f"{ENV}: cannot read {part!r}: {exc}") from None
        label = re.sub(r"[^0-9A-Za-z]+", "-", part).strip("-")
        found.append(Instant(f"at-{label}", at, f"chosen with {ENV}"))
    if not found:
        raise pytest.UsageError(f"{ENV} is set but names no instant")
    return tuple(found)


def chosen(marker: pytest.Mark) -> Sequence[Instant]:
    """The instants a marked test runs at: `TEST_INSTANTS`, else the marker's, else all."""
    override = os.environ.get(ENV)
    if override:
        return parse_instants(override)
    unknown = [name for name in marker.args if name not in BY_ID]
    if unknown:
        raise pytest.UsageError(f"unknown instant(s) {unknown}; known: {sorted(BY_ID)}")
    return [BY_ID[name] for name in marker.args] if marker.args else INSTANTS


def generate(metafunc: pytest.Metafunc) -> None:
    """`pytest_generate_tests`: parametrise marked tests over their instants."""
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    if "instant" not in metafunc.fixturenames:
        metafunc.fixturenames.append("instant")
    instants = chosen(marker)
    metafunc.parametrize("instant", instants, ids=[i.id for i in instants])


def current(node: pytest.Item) -> Instant | None:
    """The instant this test runs at, if it is marked."""
    callspec = getattr(node, "callspec", None)
    value = callspec.params.get("instant") if callspec is not None else None
    return value if isinstance(value, Instant) else None


def travel(node: pytest.Item) -> Iterator[Instant | None]:
    """Freeze the process at the test's instant (ticking on) for the test's duration."""
    instant = current(node)
    if instant is None:
        yield None
        return
    with time_machine.travel(instant.at, tick=True):
        yield instant


def subprocess_env() -> dict[str, str]:
    """Environment for a child process to start at the current (travelled) time and zone.

    Empty when the test is not travelled. Call it right before starting the child: its
    clock starts at this moment and ticks on from there, like the test's (libfaketime's
    "start at" form, given as seconds since the epoch so that no zone is involved). Its
    monotonic clock moves along with it; `FAKETIME_DONT_FAKE_MONOTONIC` is not used,
    because with it this libfaketime makes Python's `time.sleep` fail (EINVAL).

    Raises:
        RuntimeError: libfaketime is missing (`make test` installs Debian's `faketime`).
    """
    if not time_machine.escape_hatch.is_travelling():
        return {}
    found = sorted(glob(LIBFAKETIME_GLOB))
    if not found:
        raise RuntimeError(
            f"no {LIBFAKETIME_GLOB}: a travelled test that starts a process needs Debian's "
            "faketime (`make test` installs it; or apt-get install faketime)"
        )
    preload = " ".join(p for p in (found[0], os.environ.get("LD_PRELOAD", "")) if p)
    return {
        "LD_PRELOAD": preload,
        "FAKETIME": f"@{int(datetime.now(UTC).timestamp())}",
        "FAKETIME_FMT": "%s",
        "TZ": os.environ.get("TZ", "UTC"),
    }

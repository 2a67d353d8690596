"""A database outage in the middle of a fan-out sends nothing twice (real PostgreSQL).

The worker reaches PostgreSQL through a loopback proxy (`tests/fakes/tcp_proxy.py`). The
adapter cuts the proxy right after its 30th successful send, so the sends in flight at
that moment succeed but their results cannot be written; the lease (1 s) runs out during
the outage (the worker's clock is moved past it), then the database comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import make_url, select

from bot.delivery import OutboxWorker, enqueue
from bot.flows.outbound import Notice
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import FakeClock
from tests.fakes.adapters import RecordingAdapter
from tests.fakes.tcp_proxy import TcpProxy

MESSAGES = 100
CUT_AFTER = 30
LEASE_SECONDS = 1.0


@pytest.fixture
def proxy(db_url: str) -> Iterator[TcpProxy]:
    """A cuttable proxy in front of the test's PostgreSQL server."""
    url = make_url(db_url)
    tcp = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    tcp.start()
    yield tcp
    tcp.stop()


def through(db_url: str, proxy: TcpProxy) -> str:
    """The same database (and schema), reached through the proxy."""
    url = make_url(db_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def statuses(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        rows = s.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))
        return {row.idempotency_key: row.status for row in rows}


async def wait_until(predicate: object, *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_an_outage_without_a_crash_sends_nothing_twice(
    db: Database, db_url: str, proxy: TcpProxy, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    keys = [f"prompt:1:{n}" for n in range(MESSAGES)]
    with db.transaction() as s:
        for n, key in enumerate(keys):
            enqueue(
                s, key=key, address=f"teams:person{n}", message=Notice(lines=(key,)), now=clock()
            )
    adapter = RecordingAdapter("teams", delay=0.01)
    adapter.on_sent = lambda count: proxy.cut() if count == CUT_AFTER else None
    proxied = Database(through(db_url, proxy))
    worker = OutboxWorker(
        proxied,
        {"teams": adapter},
        clock=clock,
        lease_seconds=LEASE_SECONDS,
        poll_seconds=0.05,
        per_destination_interval=0.0,
        concurrency=8,
    )
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO):
        task = asyncio.create_task(worker.run(stop))
        try:
            await wait_until(lambda: proxy.cut_now, within=20, what="the cut")
            await asyncio.sleep(1.5)  # the worker keeps trying the database all along
            assert len(adapter.sent) < MESSAGES  # nothing more went out during the outage
            clock.advance(timedelta(seconds=5 * LEASE_SECONDS))  # every lease has expired
            # Sent, but recorded as still being sent, with an expired lease: the risky state.
            in_doubt = {k for k, st in statuses(db).items() if st == "sending"}
            assert in_doubt & set(adapter.sent_keys)
            proxy.restore()
            await wait_until(
                lambda: set(statuses(db).values()) == {"sent"}, within=30, what="every row sent"
            )
            await asyncio.sleep(0.3)  # anything sent twice would be sent by now
        finally:
            stop.set()
            worker.notify()
            await asyncio.wait_for(task, timeout=10)
            proxied.dispose()

    twice = {key: n for key, n in Counter(adapter.sent_keys).items() if n > 1}
    assert twice == {}, f"{len(twice)} message(s) delivered more than once"
    assert sorted(adapter.sent_keys) == sorted(keys)
    assert set(statuses(db).values()) == {"sent"}
    # One traceback per kind of failure, not one per attempt, and the recovery is logged.
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    tracebacks = [r for r in ours if r.exc_info]
    assert 1 <= len(tracebacks) <= 4, [r.getMessage() for r in tracebacks]
    assert len([r for r in ours if r.levelno >= logging.WARNING]) <= 12
    assert "delivery results are recorded again" in caplog.text

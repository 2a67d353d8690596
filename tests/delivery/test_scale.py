"""The outbox at scale: nobody waits behind one busy person, a 429 holds only what it limits.

On SQLite and PostgreSQL (where claims use `FOR UPDATE SKIP LOCKED`), with the recording
fake adapter on the far side.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bot.adapters.base import DeliveryResult
from bot.config import load_settings
from bot.delivery import OutboxWorker, enqueue
from bot.errors import ConfigError
from bot.flows.outbound import Notice
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.adapters import HANG, RecordingAdapter


def put(db: Database, clock: FakeClock, key: str, address: str) -> None:
    with db.transaction() as s:
        enqueue(s, key=key, address=address, message=Notice(lines=(key,)), now=clock())


def worker_for(db: Database, clock: FakeClock, adapter: Any, **kwargs: Any) -> OutboxWorker:
    options: dict[str, Any] = {"per_destination_interval": 0.0, "rng": random.Random(7)}
    options.update(kwargs)
    return OutboxWorker(db, {adapter.platform: adapter}, clock=clock, **options)


class WorkspaceAdapter(RecordingAdapter):
    """Slack-like addresses `slack:T…/U…`: a rate limit holds one workspace."""

    def hold_scope(self, address: str) -> str:
        return address.split("/", 1)[0] + "/"


async def test_one_busy_person_holds_up_nobody_else(db: Database, clock: FakeClock) -> None:
    for n in range(5):
        put(db, clock, f"reply:{n}", "teams:busy")
    for n in range(30):
        put(db, clock, f"prompt:{n}", f"teams:person{n}")
    teams = RecordingAdapter("teams")
    worker = worker_for(db, clock, teams, per_destination_interval=1.0, concurrency=4)
    start = time.monotonic()
    assert await worker.drain_once() == 35
    took = time.monotonic() - start
    busy = [i for i, key in enumerate(teams.sent_keys) if key.startswith("reply:")]
    others = [i for i, key in enumerate(teams.sent_keys) if key.startswith("prompt:")]
    assert max(others) < busy[1]  # everyone else went out while the busy one was paced
    assert [teams.sent_keys[i] for i in busy] == [f"reply:{n}" for n in range(5)]  # in order
    gaps = [b - a for a, b in zip(teams.sent_times, teams.sent_times[1:], strict=False)]
    assert all(g >= 0 for g in gaps)
    assert 3.9 < took < 8  # four paced gaps of a second; nothing else waited for them


async def wait_for(predicate: Any, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_row_written_during_a_slow_send_goes_out_before_it_ends(
    db: Database, clock: FakeClock
) -> None:
    teams = RecordingAdapter("teams")
    teams.script([HANG], address="teams:slow")  # a send that never comes back
    put(db, clock, "slow", "teams:slow")
    worker = worker_for(db, clock, teams)
    task = asyncio.create_task(worker.drain_once())
    try:
        await wait_for(lambda: [key for _, _, key in teams.calls] == ["slow"])
        put(db, clock, "fast", "teams:fast")
        worker.notify()  # what the engine does when it commits a row
        await wait_for(lambda: teams.sent_keys == ["fast"])  # no waiting for the slow one
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_429_holds_only_its_workspace_and_every_replica_sees_it(
    db: Database, clock: FakeClock
) -> None:
    first = WorkspaceAdapter("slack")
    first.script([DeliveryResult.retry("ratelimited", retry_after=3.0)], address="slack:T1/U1")
    put(db, clock, "a", "slack:T1/U1")
    put(db, clock, "b", "slack:T2/U2")
    assert await worker_for(db, clock, first).drain_once() == 2
    assert first.sent_keys == ["b"]  # the other workspace went out

    put(db, clock, "c", "slack:T1/U3")
    put(db, clock, "d", "slack:T2/U4")
    second = WorkspaceAdapter("slack")  # another replica: nothing in its memory
    replica = worker_for(db, clock, second)
    assert await replica.drain_once() == 1
    assert second.sent_keys == ["d"]  # T1 is held here too, from the database

    clock.advance(timedelta(seconds=3))
    assert await replica.drain_once() == 2
    assert sorted(second.sent_keys) == ["a", "c", "d"]


async def test_two_replicas_draining_at_once_send_each_row_once(
    db: Database, clock: FakeClock
) -> None:
    keys = [f"prompt:{n}" for n in range(120)]
    for n, key in enumerate(keys):
        put(db, clock, key, f"teams:person{n}")
    one, two = RecordingAdapter("teams", delay=0.002), RecordingAdapter("teams", delay=0.002)
    results = await asyncio.gather(
        worker_for(db, clock, one, concurrency=8).drain_once(),
        worker_for(db, clock, two, concurrency=8).drain_once(),
    )
    assert sum(results) == len(keys)
    sent = Counter(one.sent_keys + two.sent_keys)
    assert sorted(sent) == sorted(keys)
    assert set(sent.values()) == {1}


def test_concurrency_is_a_setting(monkeypatch: pytest.MonkeyPatch, db: Database) -> None:
    monkeypatch.delenv("OUTBOX_CONCURRENCY", raising=False)
    assert load_settings().outbox_concurrency == 16
    assert load_settings(OUTBOX_CONCURRENCY="64").outbox_concurrency == 64
    with pytest.raises(ConfigError, match="OUTBOX_CONCURRENCY"):
        load_settings(OUTBOX_CONCURRENCY="0")

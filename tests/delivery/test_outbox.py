"""The outbox and its worker, on SQLite and PostgreSQL, with a recording fake adapter."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.base import Adapter, DeliveryResult
from bot.config import load_settings
from bot.delivery import OutboxWorker, backoff_seconds, enqueue, failures, pending_count
from bot.delivery.outbox import MAX_SEND_SECONDS
from bot.errors import ConfigError
from bot.flows.outbound import Notice
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import FakeClock
from tests.fakes.adapters import HANG, RecordingAdapter


def put(db: Database, clock: FakeClock, key: str, address: str, text: str | None = None) -> bool:
    with db.transaction() as s:
        return enqueue(
            s, key=key, address=address, message=Notice(lines=(text or key,)), now=clock()
        )


def rows(db: Database) -> dict[str, OutboxMessage]:
    with db.transaction() as s:
        return {r.idempotency_key: r for r in s.scalars(select(OutboxMessage))}


def make_worker(
    db: Database, clock: FakeClock, *adapters: RecordingAdapter, **kwargs: Any
) -> OutboxWorker:
    options: dict[str, Any] = {"per_destination_interval": 0.0, "rng": random.Random(7)}
    options.update(kwargs)
    by_platform: dict[str, Adapter] = {a.platform: a for a in adapters}
    return OutboxWorker(db, by_platform, clock=clock, **options)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    assert backoff_seconds(0, rng) == 0
    for attempts, nominal in [(1, 2), (2, 4), (3, 8), (4, 16)]:
        assert nominal <= backoff_seconds(attempts, rng) <= nominal * 1.25
    assert backoff_seconds(30, rng) == 15 * 60


async def test_enqueue_twice_with_one_key_makes_one_row_and_one_delivery(
    db: Database, clock: FakeClock
) -> None:
    assert put(db, clock, "k1", "slack:U1", "first") is True
    clock.advance(timedelta(seconds=5))
    assert put(db, clock, "k1", "slack:U2", "second") is False
    stored = rows(db)
    assert list(stored) == ["k1"]
    assert stored["k1"].destination == "slack:U1"
    assert stored["k1"].platform == "slack"
    assert stored["k1"].payload["lines"] == ["first"]

    slack = RecordingAdapter("slack")
    assert await make_worker(db, clock, slack).drain_once() == 1
    assert [(addr, key) for addr, _, key in slack.sent] == [("slack:U1", "k1")]


def test_enqueue_joins_the_callers_transaction(db: Database, clock: FakeClock) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        enqueue(s, key="k1", address="slack:U1", message=Notice(), now=clock())
        raise RuntimeError("the caller's work failed")
    assert rows(db) == {}


def test_enqueue_needs_a_platform_address(db: Database, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="platform:id"), db.transaction() as s:
        enqueue(s, key="k1", address="U1", message=Notice(), now=clock())


async def test_a_sent_row_is_never_sent_again(db: Database, clock: FakeClock) -> None:
    put(db, clock, "k1", "slack:U1")
    slack = RecordingAdapter("slack")
    worker = make_worker(db, clock, slack)
    assert await worker.drain_once() == 1
    row = rows(db)["k1"]
    assert row.status == "sent"
    assert row.sent_at == clock()
    assert row.platform_message_id == "slack-1"
    assert row.lease_until is None

    clock.advance(timedelta(days=1))
    assert await worker.drain_once() == 0
    assert await make_worker(db, clock, slack).drain_once() == 0
    assert len(slack.calls) == 1
    with db.transaction() as s:
        assert pending_count(s) == 0


async def test_429_is_not_retried_before_retry_after(db: Database, clock: FakeClock) -> None:
    put(db, clock, "k1", "slack:C1")
    slack = RecordingAdapter("slack")
    slack.script([DeliveryResult.retry("ratelimited", retry_after=3.0)])
    worker = make_worker(db, clock, slack)

    assert await worker.drain_once() == 1
    row = rows(db)["k1"]
    assert (row.status, row.attempts) == ("pending", 0)  # a 429 is not counted
    assert row.next_attempt_at == clock() + timedelta(seconds=3)
    assert row.last_error is not None and "rate limited" in row.last_error

    clock.advance(timedelta(seconds=2.9))
    assert await worker.drain_once() == 0
    assert len(slack.calls) == 1

    clock.advance(timedelta(seconds=0.1))
    assert await worker.drain_once() == 1
    assert slack.sent_keys == ["k1"]
    assert rows(db)["k1"].status == "sent"


async def test_429_holds_the_whole_platform(db: Database, clock: FakeClock) -> None:
    slack, teams = RecordingAdapter("slack"), RecordingAdapter("teams")
    slack.script([DeliveryResult.retry("ratelimited", retry_after=3.0)])
    worker = make_worker(db, clock, slack, teams)
    put(db, clock, "c1", "slack:C1")
    assert await worker.drain_once() == 1

    put(db, clock, "c2", "slack:C2")
    put(db, clock, "t1", "teams:T1")
    assert await worker.drain_once() == 1
    assert teams.sent_keys == ["t1"]
    assert slack.sent_keys == []

    clock.advance(timedelta(seconds=3))
    assert await worker.drain_once() == 2
    assert sorted(slack.sent_keys) == ["c1", "c2"]


async def test_a_429_storm_never_ends_in_failed(db: Database, clock: FakeClock) -> None:
    put(db, clock, "k1", "slack:C1")
    slack = RecordingAdapter("slack")
    slack.script([DeliveryResult.retry("ratelimited", retry_after=30.0)] * 30)
    worker = make_worker(db, clock, slack, max_attempts=3)

    for _ in range(40):
        await worker.drain_once()
        if rows(db)["k1"].status != "pending":
            break
        clock.advance(timedelta(seconds=30))
    row = rows(db)["k1"]
    assert row.status == "sent"
    assert row.attempts == 1
    assert len(slack.calls) == 31
    assert slack.sent_keys == ["k1"]


async def test_transient_errors_back_off_then_give_up(db: Database, clock: FakeClock) -> None:
    put(db, clock, "k1", "slack:U1")
    slack = RecordingAdapter("slack")
    slack.script([DeliveryResult.retry("upstream 503")] * 5)
    worker = make_worker(db, clock, slack, max_attempts=3)

    assert await worker.drain_once() == 1
    row = rows(db)["k1"]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "upstream 503")
    wait = (row.next_attempt_at - clock()).total_seconds()
    assert 2 <= wait <= 2.5
    assert await worker.drain_once() == 0  # not due yet

    clock.advance(timedelta(seconds=2.5))
    assert await worker.drain_once() == 1
    row = rows(db)["k1"]
    assert row.attempts == 2
    assert 4 <= (row.next_attempt_at - clock()).total_seconds() <= 5

    clock.advance(timedelta(seconds=5))
    assert await worker.drain_once() == 1
    row = rows(db)["k1"]
    assert row.status == "failed"
    assert row.last_error == "gave up after 3 attempts: upstream 503"
    clock.advance(timedelta(hours=1))
    assert await worker.drain_once() == 0
    assert len(slack.calls) == 3
    with db.transaction() as s:
        assert [r.idempotency_key for r in failures(s)] == ["k1"]


async def test_an_adapter_that_raises_is_retried(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    put(db, clock, "k1", "slack:U1")
    slack = RecordingAdapter("slack")
    slack.script([ConnectionResetError("peer went away")])
    worker = make_worker(db, clock, slack)

    with caplog.at_level(logging.ERROR, logger="bot.delivery.outbox"):
        assert await worker.drain_once() == 1
    row = rows(db)["k1"]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "ConnectionResetError")
    assert any(r.exc_info for r in caplog.records)

    clock.advance(timedelta(seconds=3))
    assert await worker.drain_once() == 1
    assert slack.sent_keys == ["k1"]


async def test_permanent_failure_is_recorded_and_listed(db: Database, clock: FakeClock) -> None:
    slack = RecordingAdapter("slack")
    slack.script([DeliveryResult.failed("channel_archived")], address="slack:C1")
    slack.script([DeliveryResult.failed("user_not_found")], address="slack:U9")
    put(db, clock, "a1", "slack:C1")
    put(db, clock, "a2", "slack:C1")
    put(db, clock, "u1", "slack:U9")
    worker = make_worker(db, clock, slack)

    assert await worker.drain_once() == 3
    stored = rows(db)
    assert (stored["a1"].status, stored["a1"].last_error) == ("failed", "channel_archived")
    assert (stored["u1"].status, stored["u1"].last_error) == ("failed", "user_not_found")
    assert stored["a2"].status == "sent"  # a permanent failure does not block what follows
    assert len(slack.calls) == 3
    with db.transaction() as s:
        assert [r.idempotency_key for r in failures(s)] == ["u1", "a1"]
        assert [r.idempotency_key for r in failures(s, limit=1)] == ["u1"]
        assert pending_count(s) == 0


async def test_unknown_platform_fails(db: Database, clock: FakeClock) -> None:
    put(db, clock, "w1", "whatsapp:+4915")
    worker = make_worker(db, clock, RecordingAdapter("slack"))
    assert await worker.drain_once() == 1
    row = rows(db)["w1"]
    assert (row.status, row.last_error) == ("failed", "no adapter for platform whatsapp")


async def _wait_for(predicate: Any, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_a_crash_mid_fan_out_resends_each_unsent_row_once(
    db: Database, clock: FakeClock
) -> None:
    keys = [f"{dest}-{n}" for dest in ("C1", "C2", "C3") for n in (1, 2)]
    for key in keys:
        put(db, clock, key, f"slack:{key.split('-')[0]}")
    dying = RecordingAdapter("slack")
    dying.script([HANG], address="slack:C2")
    dying.script([DeliveryResult.sent("x"), HANG], address="slack:C3")
    task = asyncio.create_task(make_worker(db, clock, dying, lease_seconds=60).drain_once())
    await _wait_for(lambda: len(dying.calls) == 5)
    await asyncio.sleep(0.05)
    task.cancel()  # the process dies: results of the hung sends are never recorded
    with contextlib.suppress(asyncio.CancelledError):
        await task
    stored = rows(db)
    assert {k for k, r in stored.items() if r.status == "sent"} == {"C1-1", "C1-2", "C3-1"}
    assert {k for k, r in stored.items() if r.status == "sending"} == {"C2-1", "C3-2"}
    assert stored["C2-2"].status == "pending"

    fresh = RecordingAdapter("slack")
    worker = make_worker(db, clock, fresh, lease_seconds=60)
    clock.advance(timedelta(seconds=59))
    assert await worker.drain_once() == 0  # leases still held; C2-2 waits behind C2-1

    clock.advance(timedelta(seconds=1))
    assert await worker.drain_once() == 3
    assert sorted(fresh.sent_keys) == ["C2-1", "C2-2", "C3-2"]
    assert fresh.sent_keys.index("C2-1") < fresh.sent_keys.index("C2-2")
    assert sorted(dying.sent_keys + fresh.sent_keys) == sorted(keys)
    stored = rows(db)
    assert all(r.status == "sent" for r in stored.values())
    assert stored["C2-1"].attempts == 2  # the lost attempt counts
    clock.advance(timedelta(hours=1))
    assert await worker.drain_once() == 0


async def test_a_send_slower_than_its_lease_keeps_its_row_while_alive(
    db: Database, clock: FakeClock
) -> None:
    """A big export's file takes longer to build than the lease: no replica sends it too."""
    put(db, clock, "export", "slack:D1")
    slow = RecordingAdapter("slack")
    slow.script([HANG], address="slack:D1")  # still building, as long as the test wants
    worker = make_worker(db, clock, slow, lease_seconds=60, poll_seconds=0.02)
    task = asyncio.create_task(worker.drain_once())
    other = RecordingAdapter("slack")
    replica = make_worker(db, clock, other, lease_seconds=60)

    def lease_left() -> float:
        lease = rows(db)["export"].lease_until
        return -1.0 if lease is None else (lease - clock()).total_seconds()

    try:
        await _wait_for(lambda: len(slow.calls) == 1)
        for _ in range(20):  # ten minutes, half a lease at a time
            clock.advance(timedelta(seconds=30))
            await _wait_for(lambda: lease_left() > 30)  # renewed by the live worker
            assert await replica.drain_once() == 0
        assert other.calls == []
        assert rows(db)["export"].attempts == 1

        # A send that hangs past MAX_SEND_SECONDS is not kept alive: another worker takes
        # the row over after its lease, as after a crash.
        clock.advance(timedelta(seconds=MAX_SEND_SECONDS))
        await asyncio.sleep(0.1)
        clock.advance(timedelta(seconds=60))
        assert await replica.drain_once() == 1
        assert other.sent_keys == ["export"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_two_workers_send_each_message_exactly_once(db: Database, clock: FakeClock) -> None:
    keys = [f"m{n:02d}" for n in range(50)]
    for n, key in enumerate(keys):
        put(db, clock, key, f"slack:C{n % 10}")
    slack = RecordingAdapter("slack")
    first, second = make_worker(db, clock, slack), make_worker(db, clock, slack)

    for _ in range(10):
        await asyncio.gather(first.drain_once(), second.drain_once())
        with db.transaction() as s:
            if pending_count(s) == 0:
                break
    assert sorted(slack.sent_keys) == keys
    assert len(slack.calls) == 50
    for dest in range(10):
        to_dest = [key for addr, _, key in slack.sent if addr == f"slack:C{dest}"]
        assert to_dest == sorted(to_dest)


async def test_order_per_destination_survives_a_retry(db: Database, clock: FakeClock) -> None:
    for key in ("x1", "x2", "x3"):
        put(db, clock, key, "slack:X")
    put(db, clock, "y1", "slack:Y")
    slack = RecordingAdapter("slack")
    slack.script([DeliveryResult.retry("timeout")], address="slack:X")
    worker = make_worker(db, clock, slack)

    assert await worker.drain_once() == 2
    assert slack.sent_keys == ["y1"]  # x2, x3 wait behind x1; Y is not held up
    assert await worker.drain_once() == 0

    clock.advance(timedelta(seconds=3))
    assert await worker.drain_once() == 3
    assert slack.sent_keys == ["y1", "x1", "x2", "x3"]


async def test_per_destination_interval_paces_one_address_only(
    db: Database, clock: FakeClock
) -> None:
    for n in range(3):
        put(db, clock, f"x{n}", "slack:X")
        put(db, clock, f"y{n}", "slack:Y")
    slack = RecordingAdapter("slack")
    worker = make_worker(db, clock, slack, per_destination_interval=0.05)

    started = time.monotonic()
    assert await worker.drain_once() == 6
    elapsed = time.monotonic() - started
    for dest in ("X", "Y"):
        times = [
            t
            for (addr, _, _), t in zip(slack.sent, slack.sent_times, strict=True)
            if addr == f"slack:{dest}"
        ]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 2
        assert all(gap >= 0.045 for gap in gaps), gaps
    assert elapsed < 0.5  # the two destinations went out side by side, not one after another


async def test_run_wakes_on_notify_survives_errors_and_stops(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    slack = RecordingAdapter("slack")
    worker = make_worker(db, clock, slack, poll_seconds=30)
    real_drain = worker.drain_once
    calls = 0

    async def flaky_drain() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real_drain()

    worker.drain_once = flaky_drain  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await _wait_for(lambda: calls >= 1)
    put(db, clock, "k1", "slack:U1")
    worker.notify()  # without this the next drain would be 30 s away
    await _wait_for(lambda: slack.sent_keys == ["k1"], limit=2)
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert "outbox drain failed" in caplog.text


async def test_after_a_crash_only_the_rows_in_flight_are_sent_again(
    db: Database, clock: FakeClock
) -> None:
    """A platform that cannot say what it already has (Teams, the console after a restart)."""
    keys = [f"prompt:1:{n}" for n in range(60)]
    for n, key in enumerate(keys):
        put(db, clock, key, f"teams:person{n}")
    dying = RecordingAdapter("teams")

    def die_from_the_20th(count: int) -> None:
        if count == 20:
            dying.hang_after_send = True

    dying.on_sent = die_from_the_20th
    concurrency = 8
    worker = make_worker(db, clock, dying, concurrency=concurrency, lease_seconds=60)
    task = asyncio.create_task(worker.drain_once())
    await _wait_for(lambda: len(dying.sent) == 20 + concurrency - 1)
    await asyncio.sleep(0.05)
    assert len(dying.sent) == 20 + concurrency - 1  # the others wait for a free slot
    task.cancel()  # the crash: delivered, never recorded
    with contextlib.suppress(asyncio.CancelledError):
        await task
    in_flight = {k for k, r in rows(db).items() if r.status == "sending"}
    assert len(in_flight) == concurrency

    fresh = RecordingAdapter("teams")
    clock.advance(timedelta(seconds=60))
    while await make_worker(db, clock, fresh).drain_once():
        pass
    assert all(r.status == "sent" for r in rows(db).values())
    twice = {key for key, n in Counter(dying.sent_keys + fresh.sent_keys).items() if n > 1}
    assert twice == in_flight  # at most `concurrency` duplicates per crash
    assert sorted(fresh.redeliveries) == sorted(in_flight)  # each flagged to the adapter
    assert all(fresh.enqueued[key] == clock() - timedelta(seconds=60) for key in in_flight)


def test_the_lease_is_a_setting(
    monkeypatch: pytest.MonkeyPatch, db: Database, clock: FakeClock
) -> None:
    monkeypatch.delenv("OUTBOX_LEASE_SECONDS", raising=False)
    assert load_settings().outbox_lease_seconds == 60
    assert load_settings(OUTBOX_LEASE_SECONDS="2.5").outbox_lease_seconds == 2.5
    with pytest.raises(ConfigError, match="OUTBOX_LEASE_SECONDS"):
        load_settings(OUTBOX_LEASE_SECONDS="0")
    with pytest.raises(ValueError, match="lease_seconds"):
        OutboxWorker(db, {}, clock=clock, lease_seconds=0)

"""Delivery through the Web API: rate limits, permanent failures, errors, and redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy import select

from bot.adapters.slack.adapter import SlackAdapter, classify, make_client
from bot.delivery import OutboxWorker, enqueue
from bot.flows.outbound import Notice
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import FakeClock
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.state import outbox_outcomes
from tests.slack.conftest import ADMIN, SAM, SlackDriver, text_of


def _outbox(slack: SlackDriver, destination: str) -> list[tuple[str, str | None]]:
    return outbox_outcomes(slack.runtime.db, destination)


async def _settled(
    slack: SlackDriver, destination: str, expected: list[tuple[str, str | None]]
) -> list[tuple[str, str | None]]:
    """Wait for the worker to record the outcome: the fake answers before the row is updated."""
    for _ in range(100):
        if (rows := _outbox(slack, destination)) == expected:
            return rows
        await asyncio.sleep(0.05)
    return _outbox(slack, destination)


async def test_a_429_is_waited_out_and_the_message_delivered(slack: SlackDriver) -> None:
    slack.fake.script(
        "chat.postMessage", status=429, headers={"Retry-After": "1"}, match={"channel": "D0SAM"}
    )
    await slack.command(ADMIN, "ask social-media")
    delivered = await slack.fake.wait_for("chat.postMessage", 2, channel="D0SAM")
    limited, sent = delivered
    assert sent.at - limited.at >= 0.95  # Retry-After was honoured
    assert "What are you hearing from customers?" in text_of(sent.body)
    assert await _settled(slack, f"slack:{SAM}", [("sent", None)]) == [("sent", None)]


async def test_user_not_found_fails_and_admins_see_it_in_status(slack: SlackDriver) -> None:
    slack.fake.script(
        "conversations.open", body={"ok": False, "error": "user_not_found"}, match={"users": SAM}
    )
    await slack.command(ADMIN, "ask social-media")
    await slack.fake.wait_for("chat.postMessage", channel="D0MARIA")
    failed = [("failed", "user_not_found")]
    assert await _settled(slack, f"slack:{SAM}", failed) == failed
    await slack.command(ADMIN, "status", name="status")
    await slack.fake.wait_for("respond", 2)
    reply = next(r for r in slack.fake.calls("respond") if r.path == "/respond/status")
    assert "slack:U0SAM: user_not_found" in text_of(reply.body)


def _error(status: int, body: dict[str, object], headers: dict[str, str]) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=body,
        headers=headers,
        status_code=status,
    )
    return SlackApiError("failed", response)


def test_errors_are_classified() -> None:
    limited = classify(_error(429, {"ok": False, "error": "ratelimited"}, {"retry-after": "7"}))
    assert (limited.status, limited.retry_after) == ("retry", 7.0)
    unsure = classify(_error(429, {"ok": False}, {}))
    assert (unsure.status, unsure.retry_after) == ("retry", 1.0)
    assert classify(_error(503, {"ok": False}, {})).status == "retry"
    for code in ("user_not_found", "is_archived", "channel_not_found", "invalid_auth"):
        assert classify(_error(200, {"ok": False, "error": code}, {})).status == "failed"
    assert classify(_error(200, {"ok": False, "error": "internal_error"}, {})).status == "retry"
    assert classify(ConnectionResetError()).status == "retry"


async def test_an_unreachable_api_is_retried(fake: FakeSlackApi) -> None:
    base = fake.url
    await fake.stop()  # nothing listens there any more
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=base))
    result = await adapter.send(
        address="slack:C0CIO", message=Notice(lines=("hello",)), idempotency_key="k1"
    )
    assert result.status == "retry" and result.error


async def test_bad_addresses_fail(fake: FakeSlackApi) -> None:
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))
    result = await adapter.send(
        address="teams:abc", message=Notice(lines=("hello",)), idempotency_key="k2"
    )
    assert result.status == "failed"


async def test_a_long_message_is_threaded_and_resumed_after_a_429(fake: FakeSlackApi) -> None:
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))
    long = Notice(lines=tuple(f"line {i} " + "x" * 2900 for i in range(60)))
    # With its clock standing still the fake's first ts is ...000000: limit the second part.
    fake.clock = lambda: 1700000000.0
    first_ts = "1700000000.000000"
    fake.script(
        "chat.postMessage", status=429, headers={"Retry-After": "2"}, match={"thread_ts": first_ts}
    )
    limited = await adapter.send(address="slack:C0CIO", message=long, idempotency_key="long")
    assert (limited.status, limited.retry_after) == ("retry", 2.0)
    posted = await adapter.send(address="slack:C0CIO", message=long, idempotency_key="long")
    assert (posted.status, posted.platform_message_id) == ("sent", first_ts)
    calls = fake.calls("chat.postMessage")
    heads = [c for c in calls if "thread_ts" not in c.body]
    assert len(heads) == 1  # the retry did not post the first part again
    assert len(calls) >= 3 and all(c.body["thread_ts"] == first_ts for c in calls[1:])


async def test_each_post_of_a_long_message_waits_for_its_own_slot(fake: FakeSlackApi) -> None:
    """The outbox paces posts, not messages: `pace` comes before every chat.postMessage."""
    fake.add_user("U0NEW", "New Person")
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))
    seen: list[tuple[int, int]] = []  # (DMs opened, posts made) as each slot is asked for

    async def pace() -> None:
        seen.append((len(fake.calls("conversations.open")), len(fake.calls("chat.postMessage"))))

    long = Notice(lines=tuple(f"line {i} " + "x" * 2900 for i in range(60)))
    result = await adapter.send(
        address="slack:U0NEW", message=long, idempotency_key="long", pace=pace
    )
    assert result.status == "sent"
    posts = len(fake.calls("chat.postMessage"))
    assert posts >= 2  # a long message: the first part, the rest in its thread
    # The DM was opened before the first slot; each post had one slot, just before it.
    assert seen == [(1, n) for n in range(posts)]


async def test_the_parts_of_a_long_message_keep_the_channel_interval(
    fake: FakeSlackApi, db: Database, clock: FakeClock
) -> None:
    """Slack allows about one post a second per channel, and a thread is in its channel."""
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))
    long = Notice(lines=tuple(f"line {i} " + "x" * 2900 for i in range(60)))
    _enqueue(db, clock, "long", "slack:C0CIO", long)
    worker = OutboxWorker(
        db, {"slack": adapter}, clock=clock, per_destination_interval=0.2, rng=random.Random(3)
    )
    assert await worker.drain_once() == 1
    posts = fake.calls("chat.postMessage")
    assert len(posts) >= 2
    assert all(b.at - a.at >= 0.19 for a, b in itertools.pairwise(posts))


# -- Redelivery: what an earlier attempt posted is found in Slack, not posted again ---------


def _enqueue(db: Database, clock: FakeClock, key: str, address: str, message: Notice) -> None:
    with db.transaction() as s:
        enqueue(s, key=key, address=address, message=message, now=clock())


def _worker(db: Database, clock: FakeClock, adapter: SlackAdapter) -> OutboxWorker:
    return OutboxWorker(
        db, {"slack": adapter}, clock=clock, per_destination_interval=0.0, rng=random.Random(3)
    )


def _adapter(fake: FakeSlackApi) -> SlackAdapter:
    """A new adapter: a process that remembers nothing of earlier attempts."""
    return SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))


def _outcome(db: Database, key: str) -> tuple[str, str | None, int]:
    with db.transaction() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()
        return row.status, row.platform_message_id, row.attempts


async def test_a_reclaimed_row_already_posted_is_not_posted_again(
    db: Database, clock: FakeClock, fake: FakeSlackApi
) -> None:
    fake.clock = lambda: clock().timestamp()  # Slack's ts and the outbox share one clock
    _enqueue(db, clock, "prompt:1:1", f"slack:{SAM}", Notice(lines=("Round 1 is open",)))
    fake.post_delay = 30  # Slack posts at once, but the process dies before the answer
    first = asyncio.create_task(_worker(db, clock, _adapter(fake)).drain_once())
    await fake.wait_for("chat.postMessage")
    first.cancel()  # the crash: the post reached Slack, its result was never recorded
    with contextlib.suppress(asyncio.CancelledError):
        await first
    assert _outcome(db, "prompt:1:1")[0] == "sending"
    fake.post_delay = 0

    clock.advance(timedelta(seconds=61))  # the lease has expired: another process takes over
    assert await _worker(db, clock, _adapter(fake)).drain_once() == 1

    (posted,) = fake.posts_to("D0SAM")
    assert len(fake.calls("chat.postMessage")) == 1
    assert _outcome(db, "prompt:1:1") == ("sent", posted["ts"], 2)
    (look,) = fake.calls("conversations.history")
    assert look.body["channel"] == "D0SAM" and look.body["include_all_metadata"] == "1"
    assert float(look.body["oldest"]) == (clock() - timedelta(seconds=61, minutes=10)).timestamp()


async def test_a_5xx_after_slack_posted_is_not_posted_again(
    db: Database, clock: FakeClock, fake: FakeSlackApi
) -> None:
    fake.clock = lambda: clock().timestamp()
    _enqueue(db, clock, "digest:1", "slack:C0CIO", Notice(lines=("Digest",)))
    fake.script("chat.postMessage", status=503, posted=True)  # Slack took it, then failed
    worker = _worker(db, clock, _adapter(fake))
    assert await worker.drain_once() == 1
    assert _outcome(db, "digest:1")[0] == "pending"  # a retry, counted
    clock.advance(timedelta(seconds=3))
    assert await worker.drain_once() == 1
    (posted,) = fake.posts_to("C0CIO")
    assert _outcome(db, "digest:1") == ("sent", posted["ts"], 2)
    assert len(fake.calls("chat.postMessage")) == 1


async def test_a_first_attempt_does_not_read_the_history(
    db: Database, clock: FakeClock, fake: FakeSlackApi
) -> None:
    fake.clock = lambda: clock().timestamp()
    _enqueue(db, clock, "prompt:1:2", f"slack:{SAM}", Notice(lines=("hello",)))
    assert await _worker(db, clock, _adapter(fake)).drain_once() == 1
    assert fake.calls("conversations.history") == []
    (posted,) = fake.posts_to("D0SAM")
    assert posted["metadata"] == {
        "event_type": "strategy_bot_outbox",
        "event_payload": {"key": "prompt:1:2", "part": 0},
    }


def _parts(fake: FakeSlackApi, channel: str, key: str) -> list[int]:
    return [
        m["metadata"]["event_payload"]["part"]
        for m in fake.posts_to(channel)
        if m.get("metadata", {}).get("event_payload", {}).get("key") == key
    ]


@pytest.mark.parametrize("restarted", [False, True], ids=["same-process", "after-a-crash"])
async def test_a_long_message_resumes_after_the_parts_slack_has(
    fake: FakeSlackApi, restarted: bool
) -> None:
    fake.clock = lambda: 1700000000.0
    long = Notice(lines=tuple(f"line {i} " + "x" * 2900 for i in range(200)))  # 4 parts
    first_ts = "1700000000.000000"
    # The second part reaches Slack but its answer is a 503: it may or may not be there.
    fake.script("chat.postMessage", status=503, posted=True, match={"thread_ts": first_ts})
    adapter = _adapter(fake)
    failed = await adapter.send(address="slack:C0CIO", message=long, idempotency_key="long")
    assert failed.status == "retry"
    assert _parts(fake, "C0CIO", "long") == [0, 1]

    again = _adapter(fake) if restarted else adapter
    posted = await again.send(
        address="slack:C0CIO", message=long, idempotency_key="long", redelivery=True
    )
    assert (posted.status, posted.platform_message_id) == ("sent", first_ts)
    parts = _parts(fake, "C0CIO", "long")
    assert parts == [0, 1, 2, 3]  # each part exactly once
    replies = [m for m in fake.posts_to("C0CIO") if m["ts"] != first_ts]
    assert all(m["thread_ts"] == first_ts for m in replies)


async def test_without_the_history_scope_a_redelivery_is_posted(
    fake: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script(
        "conversations.history",
        body={
            "ok": False,
            "error": "missing_scope",
            "needed": "channels:history",
            "provided": "chat:write,commands,im:history,im:write",
        },
    )
    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.adapter"):
        result = await _adapter(fake).send(
            address="slack:C0CIO",
            message=Notice(lines=("hello",)),
            idempotency_key="k3",
            redelivery=True,
        )
    assert result.status == "sent"
    assert len(fake.posts_to("C0CIO")) == 1
    assert "cannot read the history of C0CIO (missing_scope)" in caplog.text


async def test_an_unreadable_history_for_now_is_a_retry_without_posting(
    fake: FakeSlackApi,
) -> None:
    fake.script("conversations.history", status=429, headers={"Retry-After": "4"})
    result = await _adapter(fake).send(
        address="slack:C0CIO",
        message=Notice(lines=("hello",)),
        idempotency_key="k4",
        redelivery=True,
    )
    assert (result.status, result.retry_after) == ("retry", 4.0)
    fake.script("conversations.history", status=502)
    result = await _adapter(fake).send(
        address="slack:C0CIO",
        message=Notice(lines=("hello",)),
        idempotency_key="k4",
        redelivery=True,
    )
    assert result.status == "retry"
    assert fake.calls("chat.postMessage") == []


async def test_the_history_is_read_page_by_page_within_the_window(fake: FakeSlackApi) -> None:
    adapter = _adapter(fake)
    sent = await adapter.send(
        address="slack:C0CIO", message=Notice(lines=("old",)), idempotency_key="k5"
    )
    for n in range(150):  # newer messages push it onto the second page
        await adapter.send(
            address="slack:C0CIO", message=Notice(lines=(f"n{n}",)), idempotency_key=f"n{n}"
        )
    again = await _adapter(fake).send(
        address="slack:C0CIO", message=Notice(lines=("old",)), idempotency_key="k5", redelivery=True
    )
    assert again == sent
    pages = fake.calls("conversations.history")
    assert len(pages) == 2 and pages[1].body["cursor"]
    assert len(fake.posts_to("C0CIO")) == 151


async def test_a_message_beyond_the_window_is_posted_again_with_a_warning(
    fake: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = _adapter(fake)
    await adapter.send(address="slack:C0CIO", message=Notice(lines=("old",)), idempotency_key="k6")
    for n in range(200):
        await adapter.send(
            address="slack:C0CIO", message=Notice(lines=(f"n{n}",)), idempotency_key=f"n{n}"
        )
    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.adapter"):
        again = await _adapter(fake).send(
            address="slack:C0CIO",
            message=Notice(lines=("old",)),
            idempotency_key="k6",
            redelivery=True,
        )
    assert again.status == "sent"
    assert _parts(fake, "C0CIO", "k6") == [0, 0]  # at least once, beyond the window
    assert "k6 is not among the 200 newest messages of C0CIO" in caplog.text

"""Delivery through the Web API: rate limits, permanent failures and how errors are read."""

from __future__ import annotations

import asyncio

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.adapters.slack.adapter import SlackAdapter, classify, make_client
from bot.flows.outbound import Notice
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
    # The fake numbers its ts from 1, so the first part is ...000001: limit the second.
    first_ts = "1700000000.000001"
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

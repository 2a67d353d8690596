"""Delivery through botbuilder's connector client: 429s, permanent failures, long digests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot import messages
from bot.adapters.teams.adapter import TeamsAdapter, classify
from bot.flows.outbound import Notice
from tests.teams.conftest import ADMIN, MARIA, TeamsDriver, address, chat


async def test_a_429_is_waited_out_and_the_prompt_delivered(teams: TeamsDriver) -> None:
    await teams.join(MARIA, ADMIN)
    teams.fake.script("send", status=429, headers={"Retry-After": "1"}, conversation=chat(MARIA))
    await teams.open_round()
    limited, sent = await teams.fake.wait_for("send", 2, conversation=chat(MARIA))
    assert sent.at - limited.at >= 0.95  # Retry-After was honoured
    assert "What are you hearing from customers?" in json.dumps(sent.cards)
    assert await teams.settle(address(MARIA)) == [("sent", None)] * 2  # welcome, prompt


def _unreachable(cause: str) -> str:
    return messages.chat_unreachable(cause, datetime(2000, 1, 1, tzinfo=UTC)).split(" (", 1)[1]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "ConversationBlockedByUser"),
        (403, "BotDisabledByAdmin"),
        (404, "ConversationNotFound"),
    ],
)
async def test_a_chat_that_refuses_the_bot_fails_fast_until_reinstalled(
    teams: TeamsDriver, status: int, code: str
) -> None:
    await teams.join(MARIA, ADMIN)
    teams.fake.script("send", status=status, code=code, conversation=chat(MARIA))
    await teams.open_round()
    cause = f"{code} (HTTP {status})"
    ((state, error),) = (await teams.settle(address(MARIA)))[1:]  # after the welcome
    assert state == "failed" and error is not None
    assert error.startswith("unreachable since ") and error.endswith(_unreachable(cause))
    row = teams.reference(address(MARIA))
    assert row is not None and not row.installed and row.unreachable_reason == cause

    # Later messages fail at once, with the same reason, without calling Teams.
    assert (await teams.say(ADMIN, "remind social-media")).status == 200
    rows = await teams.settle(address(MARIA))
    assert len(rows) == 3 and rows[2] == ("failed", error)
    assert len(teams.fake.calls("send", chat(MARIA))) == 1

    # Admins see who and why in `status`.
    assert (await teams.say(ADMIN, "status")).status == 200
    await teams.settle(address(ADMIN))
    status_card = json.dumps(teams.fake.calls("send", chat(ADMIN))[-1].cards, ensure_ascii=False)
    assert f"{address(MARIA)}: unreachable since" in status_card and code in status_card

    # Reinstalling makes the chat reachable again: the welcome, then the waiting prompt.
    teams.fake.forget()
    assert (await teams.install(MARIA)).status == 200
    row = teams.reference(address(MARIA))
    assert row is not None and row.installed and row.unreachable_reason is None
    sent = await teams.fake.wait_for("send", 3, conversation=chat(MARIA))
    assert "Welcome to strategy-bot" in json.dumps(sent[0].cards)
    assert "What are you hearing from customers?" in json.dumps(sent[-1].cards)
    assert (await teams.settle(address(MARIA)))[3:] == [("sent", None)] * 3


async def test_errors_that_are_not_about_the_chat_leave_it_reachable(teams: TeamsDriver) -> None:
    await teams.join(ADMIN)
    teams.fake.script("send", status=400, code="BadSyntax", conversation=chat(ADMIN))
    teams.fake.script("send", status=401, code="Unauthorized", conversation=chat(ADMIN))
    assert (await teams.say(ADMIN, "help")).status == 200
    assert (await teams.say(ADMIN, "mine")).status == 200
    assert (await teams.say(ADMIN, "status")).status == 200
    rows = await teams.settle(address(ADMIN))
    assert rows[1:] == [
        ("failed", "BadSyntax (HTTP 400)"),
        ("failed", "Unauthorized (HTTP 401)"),
        ("sent", None),
    ]
    row = teams.reference(address(ADMIN))
    assert row is not None and row.installed and row.unreachable_reason is None


async def test_a_long_message_is_several_cards_resumed_after_a_429(teams: TeamsDriver) -> None:
    await teams.join(ADMIN)
    adapter = teams.runtime.adapters["teams"]
    long = Notice(lines=tuple(f"line {i} " + "x" * 2900 for i in range(30)))
    teams.fake.script("send", status=429, headers={"Retry-After": "2"}, after=1)  # 2nd card
    teams.fake.requests.clear()
    first = await adapter.send(address=address(ADMIN), message=long, idempotency_key="long")
    assert (first.status, first.retry_after) == ("retry", 2.0)
    second = await adapter.send(address=address(ADMIN), message=long, idempotency_key="long")
    assert second.status == "sent"
    calls = teams.fake.calls("send", chat(ADMIN))
    bodies = [json.dumps(c.cards) for c in calls]
    assert sum("line 0 " in b for b in bodies) == 1  # the retry did not post part one again
    assert "line 29 " in bodies[-1]
    assert len(calls) >= 4 and bodies[1] == bodies[2]  # part two: refused, then sent
    assert second.platform_message_id == calls[0].created_id  # the first card's id


def test_network_errors_are_retried() -> None:
    assert classify(ConnectionResetError()).status == "retry"


async def test_one_connector_client_serves_every_proactive_message(teams: TeamsDriver) -> None:
    """Without sharing, botbuilder builds a connector client (an HTTP session) per message."""
    await teams.join(MARIA, ADMIN)
    await teams.open_round()
    assert (await teams.say(ADMIN, "remind social-media")).status == 200
    await teams.settle(address(MARIA))
    await teams.settle(address(ADMIN))  # two replies: the second waits out the chat's pace
    adapter = teams.runtime.adapters["teams"]
    assert isinstance(adapter, TeamsAdapter)
    sends = [r for r in teams.fake.requests if r.kind == "send"]
    assert len(sends) >= 4  # the prompt, the reminder, the admin's two replies
    assert adapter.connectors.created == 1  # one service URL, one app

"""Delivery through botbuilder's connector client: 429s, permanent failures, long digests."""

from __future__ import annotations

import asyncio
import json

from bot.adapters.teams.adapter import classify
from bot.flows.outbound import Notice
from tests.teams.conftest import ADMIN, MARIA, TeamsDriver, address, chat


async def _settled(teams: TeamsDriver, addr: str, status: str) -> list[tuple[str, str | None]]:
    for _ in range(200):
        rows = teams.outbox(addr)
        if rows and all(s == status for s, _ in rows):
            return rows
        await asyncio.sleep(0.05)
    return teams.outbox(addr)


async def test_a_429_is_waited_out_and_the_prompt_delivered(teams: TeamsDriver) -> None:
    teams.fake.script("send", status=429, headers={"Retry-After": "1"}, conversation=chat(MARIA))
    await teams.open_round()
    limited, sent = await teams.fake.wait_for("send", 2, conversation=chat(MARIA))
    assert sent.at - limited.at >= 0.95  # Retry-After was honoured
    assert "What are you hearing from customers?" in json.dumps(sent.cards)
    assert await _settled(teams, address(MARIA), "sent") == [("sent", None)]


async def test_a_blocked_conversation_is_a_recorded_failure(teams: TeamsDriver) -> None:
    teams.fake.script(
        "send", status=403, code="ConversationBlockedByUser", conversation=chat(MARIA)
    )
    await teams.open_round()
    rows = await _settled(teams, address(MARIA), "failed")
    assert rows == [("failed", "ConversationBlockedByUser (HTTP 403)")]
    await teams.say(ADMIN, "status")
    replies = await teams.fake.wait_for("send", 2, conversation=chat(ADMIN))
    assert "ConversationBlockedByUser" in json.dumps(replies[-1].cards)


async def test_a_long_message_is_several_cards_resumed_after_a_429(teams: TeamsDriver) -> None:
    await teams.install(ADMIN)
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
    assert second.platform_message_id == "1:1"  # the first card's id (the fake counts from 1)


def test_network_errors_are_retried() -> None:
    assert classify(ConnectionResetError()).status == "retry"

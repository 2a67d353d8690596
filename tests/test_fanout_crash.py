"""Two SIGKILLs during a Slack fan-out: every member still gets exactly one opening prompt.

The real `strategy-bot serve` runs as a subprocess (as in `tests/test_durability.py`),
configured for Slack against the fake Slack Web API on loopback (`SLACK_API_URL`), with
a playbook of 300 Slack members. The fake answers `chat.postMessage` 0.15 s after it has
posted, so several prompts are always posted-but-unanswered, and the server is killed
twice while that is so: those rows are reclaimed after the short lease
(`OUTBOX_LEASE_SECONDS=2`) and, being redeliveries, looked for in the DM's history
before anything is posted again. No scheduler runs (`SCHEDULER_ENABLED=false`), so the
only round is the admin's `ask`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import OutboxMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.serving import Server, slack_server, write_playbook
from tests.slack.conftest import ADMIN, CIO, post_slash_command, slack_playbook

MEMBERS = [f"U1{n:05d}" for n in range(300)]
KILL_AFTER_POSTS = 60  # prompts posted since the (re)start before each kill
POST_DELAY = 0.15


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    """The fake Slack Web API, knowing every member (users.info)."""
    api = FakeSlackApi(post_delay=POST_DELAY)
    for user in [*MEMBERS, ADMIN, CIO]:
        api.add_user(user, f"Person {user}", tz="Europe/Berlin")
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    return write_playbook(tmp_path / "playbook.yml", slack_playbook(), MEMBERS)


@pytest.fixture
def server(db_url: str, fake: FakeSlackApi, playbook: Path) -> Iterator[Server]:
    with slack_server(db_url, fake.url, playbook, OUTBOX_LEASE_SECONDS="2") as srv:
        yield srv


async def ask(server: Server, fake: FakeSlackApi, conversation: str) -> None:
    """The admin's `/strategy ask <conversation>`, signed as Slack signs it."""
    await post_slash_command(
        server.port, fake, f"ask {conversation}", "trigger.ask.1", response="ask"
    )


def prompts_posted(fake: FakeSlackApi) -> int:
    return len([c for c in fake.calls("chat.postMessage") if c.body["channel"].startswith("D")])


async def posted_more(fake: FakeSlackApi, than: int, *, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while prompts_posted(fake) < than + count:
        assert time.monotonic() < deadline, f"{count} more prompts not posted in {within} s"
        await asyncio.sleep(0.01)


def unfinished(db: Database) -> dict[str, int]:
    with db.transaction() as s:
        rows = s.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(("pending", "sending")))
            .group_by(OutboxMessage.status)
        )
        return {status: n for status, n in rows}


async def test_two_sigkills_mid_fan_out_send_each_member_one_prompt(
    server: Server, fake: FakeSlackApi, db_url: str
) -> None:
    db = Database(db_url)
    try:
        await asyncio.to_thread(server.start)
        await ask(server, fake, "social-media")
        in_flight: list[int] = []
        for _ in range(2):
            await posted_more(fake, prompts_posted(fake), count=KILL_AFTER_POSTS, within=60)
            await asyncio.to_thread(server.kill)  # no shutdown hooks: sends in flight are lost
            in_flight.append(unfinished(db).get("sending", 0))
            await asyncio.to_thread(server.start)
        deadline = time.monotonic() + 30  # less than the default lease: the setting is used
        while unfinished(db):
            assert time.monotonic() < deadline, f"outbox not drained: {unfinished(db)}"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a duplicate still on its way would arrive by now
    finally:
        db.dispose()

    # Each kill left prompts posted at Slack whose results were never recorded.
    assert all(n > 0 for n in in_flight), in_flight
    per_member = Counter(
        c.body["channel"] for c in fake.calls("chat.postMessage") if c.body["channel"][0] == "D"
    )
    duplicates = {channel: n for channel, n in per_member.items() if n > 1}
    assert duplicates == {}, f"{sum(duplicates.values()) - len(duplicates)} duplicate prompt(s)"
    assert set(per_member) == {"D" + user[1:] for user in MEMBERS}
    assert fake.calls("conversations.history")  # redeliveries looked before posting
    # What the outbox recorded is the one message each member has.
    posted: dict[str, Any] = {ch: fake.posts_to(ch)[0]["ts"] for ch in per_member}
    assert recorded_ts_by_channel(db_url) == posted


def recorded_ts_by_channel(db_url: str) -> dict[str, str | None]:
    db = Database(db_url)
    try:
        with db.transaction() as s:
            rows = s.execute(
                select(OutboxMessage.destination, OutboxMessage.platform_message_id).where(
                    OutboxMessage.idempotency_key.like("prompt:%")
                )
            )
            return {"D" + dest.removeprefix("slack:")[1:]: ts for dest, ts in rows}
    finally:
        db.dispose()

"""A restarted (or second) process reaches people already reached without opening a DM.

`conversations.open` is Slack's Tier 3 (about 50 calls a minute): reopening every DM after
a restart would hold a big round's prompts back for an hour and more. The real
`strategy-bot serve` runs as a subprocess against the fake Slack Web API on loopback; it
opens each member's DM once, is killed, and a fresh process closes that round and opens
the next one: every "it closed" notice and every new prompt reaches its DM with no
`conversations.open` at all. A 429 holds its workspace, not the platform (`hold_scope`);
a 429 of `conversations.open` holds only the messages that need a DM opened.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.adapters.slack.adapter import SlackAdapter, make_client
from bot.delivery import OutboxWorker, enqueue
from bot.flows.outbound import Notice
from storage.db import Database
from storage.dm_channels import DmChannelStore
from storage.models import OutboxMessage, RateLimitHold
from tests.conftest import FakeClock
from tests.fakes.slack_api import FakeSlackApi
from tests.serving import Server, slack_server, write_playbook
from tests.slack.conftest import ADMIN, CIO, post_slash_command, slack_playbook
from tests.test_fanout_crash import unfinished

MEMBERS = [f"U2{n:05d}" for n in range(40)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    for user in [*MEMBERS, ADMIN, CIO]:
        api.add_user(user, f"Person {user}", tz="Europe/Berlin")
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def server(db_url: str, fake: FakeSlackApi, tmp_path: Path) -> Iterator[Server]:
    path = write_playbook(tmp_path / "playbook.yml", slack_playbook(), MEMBERS)
    with slack_server(db_url, fake.url, path, OUTBOX_DESTINATION_INTERVAL_SECONDS="0") as srv:
        yield srv


async def command(server: Server, fake: FakeSlackApi, text: str, trigger: str) -> None:
    """An admin types `/strategy <text>` (signed as Slack signs it)."""
    await post_slash_command(server.port, fake, text, trigger)


def dm_posts(fake: FakeSlackApi) -> int:
    return len([c for c in fake.calls("chat.postMessage") if c.body["channel"].startswith("D")])


async def drained(db: Database, fake: FakeSlackApi, posts: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while dm_posts(fake) < posts or unfinished(db):
        assert time.monotonic() < deadline, f"{dm_posts(fake)} of {posts} DMs posted"
        await asyncio.sleep(0.05)


async def test_a_fresh_process_reaches_everyone_without_opening_a_dm(
    server: Server, fake: FakeSlackApi, db_url: str
) -> None:
    db = Database(db_url)
    try:
        await asyncio.to_thread(server.start)
        await command(server, fake, "ask social-media", "trigger.ask.1")
        await drained(db, fake, len(MEMBERS))
        opened = {c.body["users"] for c in fake.calls("conversations.open")}
        assert set(MEMBERS) <= opened
        before = len(fake.calls("conversations.open"))
        await asyncio.to_thread(server.kill)

        await asyncio.to_thread(server.start)  # a new process: nothing in its memory
        await command(server, fake, "close social-media", "trigger.close.1")
        await drained(db, fake, 2 * len(MEMBERS))  # everyone hears it closed
        await command(server, fake, "ask social-media", "trigger.ask.2")
        await drained(db, fake, 3 * len(MEMBERS))  # and gets the next round's prompt
    finally:
        db.dispose()
    assert len(fake.calls("conversations.open")) == before


async def test_a_429_holds_its_workspace_and_method(fake: FakeSlackApi, db: Database) -> None:
    fake.script("chat.postMessage", status=429, headers={"Retry-After": "7"})
    adapter = SlackAdapter(
        client=make_client(token="xoxb-test", base_url=fake.url),
        dm_channels=DmChannelStore(db),
    )
    await adapter.start()
    try:
        result = await adapter.send(
            address=f"slack:{MEMBERS[0]}", message=Notice(lines=("hi",)), idempotency_key="k"
        )
        assert (result.status, result.retry_after) == ("retry", 7.0)
        assert result.hold_scope == "slack:|chat.postMessage"
        assert adapter.hold_scope("slack:T0OTHER/U1") == "slack:T0OTHER/"
        # The DM it opened is kept for the next process.
        await adapter.stop()
        assert DmChannelStore(db).team_channels(None) == {MEMBERS[0]: "D" + MEMBERS[0][1:]}
    finally:
        await adapter.stop()


def adapter_for(db: Database, fake: FakeSlackApi) -> SlackAdapter:
    return SlackAdapter(
        client=make_client(token="xoxb-test", base_url=fake.url), dm_channels=DmChannelStore(db)
    )


def put(db: Database, clock: FakeClock, key: str, address: str) -> None:
    with db.transaction() as s:
        enqueue(s, key=key, address=address, message=Notice(lines=(key,)), now=clock())


async def drain(db: Database, clock: FakeClock, adapter: SlackAdapter) -> int:
    worker = OutboxWorker(
        db,
        {"slack": adapter},
        clock=clock,
        per_destination_interval=0.0,
        concurrency=1,  # one send at a time: the 429 is back before the next one starts
        rng=random.Random(7),
    )
    await adapter.start()
    try:
        return await worker.drain_once()
    finally:
        await adapter.stop()


def hold_ends(db: Database) -> dict[str, datetime]:
    with db.transaction() as s:
        return {
            h.scope: h.until.replace(tzinfo=UTC) if h.until.tzinfo is None else h.until
            for h in s.scalars(select(RateLimitHold))
        }


def status_of(db: Database) -> dict[str, tuple[str, int]]:
    with db.transaction() as s:
        return {r.idempotency_key: (r.status, r.attempts) for r in s.scalars(select(OutboxMessage))}


async def test_a_429_of_conversations_open_holds_only_the_dms_still_to_open(
    fake: FakeSlackApi, db: Database, clock: FakeClock
) -> None:
    new, later, known = MEMBERS[0], MEMBERS[1], MEMBERS[2]
    DmChannelStore(db).save(None, known, "D" + known[1:])  # reached in an earlier round
    fake.script("conversations.open", status=429, headers={"Retry-After": "45"})
    put(db, clock, "to-new", f"slack:{new}")
    put(db, clock, "to-later", f"slack:{later}")
    put(db, clock, "to-known", f"slack:{known}")
    put(db, clock, "to-channel", "slack:C0CIO")

    opened_at = clock()
    assert await drain(db, clock, adapter_for(db, fake)) == 4
    # A minute's Tier 3 hold keeps back the two DMs still to open, and nothing else:
    # the DM already open and the channel hear at once, and Slack was asked once only.
    assert len(fake.posts_to("D" + known[1:])) == 1
    assert len(fake.posts_to("C0CIO")) == 1
    assert len(fake.calls("conversations.open")) == 1
    rows = status_of(db)
    assert rows["to-known"][0] == rows["to-channel"][0] == "sent"
    assert rows["to-new"] == rows["to-later"] == ("pending", 0)  # a 429 is not an attempt

    # Another replica, nothing in its memory: the hold is in the database.
    put(db, clock, "to-known-2", f"slack:{known}")
    put(db, clock, "to-new-2", f"slack:{MEMBERS[3]}")
    clock.advance(timedelta(seconds=20))
    assert await drain(db, clock, adapter_for(db, fake)) == 2
    assert len(fake.posts_to("D" + known[1:])) == 2
    assert len(fake.calls("conversations.open")) == 1
    assert status_of(db)["to-new-2"] == ("pending", 0)

    # A message that comes due just before the hold ends waits for it, and does not
    # push the hold's end further (each would, and the DMs would never be opened).
    clock.advance(timedelta(seconds=24.5))
    put(db, clock, "to-last", f"slack:{MEMBERS[4]}")
    assert await drain(db, clock, adapter_for(db, fake)) == 1
    assert hold_ends(db) == {"slack:|conversations.open": opened_at + timedelta(seconds=45)}
    assert len(fake.calls("conversations.open")) == 1

    clock.advance(timedelta(seconds=5.5))  # the hold is over: each DM is opened once
    assert await drain(db, clock, adapter_for(db, fake)) == 4
    assert sorted(c.body["users"] for c in fake.calls("conversations.open")) == sorted(
        [new, new, later, MEMBERS[3], MEMBERS[4]]
    )
    assert {status for status, _ in status_of(db).values()} == {"sent"}
    for user in (new, later, MEMBERS[3], MEMBERS[4]):
        assert len(fake.posts_to("D" + user[1:])) == 1

"""A slash command that Slack got its ack for is carried out once, even if the bot is killed.

The real `strategy-bot serve` runs as a subprocess (as in `tests/test_durability.py`),
configured for Slack against the fake Slack Web API on loopback. An admin types
`/strategy close social-media`, then `/strategy pause social-media`, and each time the
server is SIGKILLed the moment the ack arrives. After a restart each command has been
carried out exactly once (one digest, one audit entry each) and its reply reached the
command's `response_url`. No scheduler runs (`SCHEDULER_ENABLED=false`), so the calendar
plays no part.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import models
from storage.db import Database
from tests.fakes.slack_api import FakeSlackApi
from tests.serving import Server, slack_server, write_playbook
from tests.slack.conftest import (
    ADMIN,
    CIO,
    CIO_CHANNEL,
    LEE,
    MARIA,
    SAM,
    post_slash_command,
    slack_playbook,
    text_of,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    for user in (MARIA, SAM, ADMIN, CIO, LEE):
        api.add_user(user, f"Person {user}", tz="Europe/Berlin")
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def server(db_url: str, fake: FakeSlackApi, tmp_path: Path) -> Iterator[Server]:
    playbook = write_playbook(tmp_path / "playbook.yml", slack_playbook())
    with slack_server(db_url, fake.url, playbook, OUTBOX_LEASE_SECONDS="2") as srv:
        yield srv


async def slash(server: Server, fake: FakeSlackApi, text: str, name: str) -> None:
    """`/strategy <text>` by the admin, signed as Slack signs it; returns once acked."""
    await post_slash_command(server.port, fake, text, f"trigger.{name}", response=name)


async def until(check: object, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def audit(db: Database, action: str) -> int:
    with db.transaction() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(models.AuditEntry)
                .where(models.AuditEntry.action == action)
            )
            or 0
        )


def replies_to(fake: FakeSlackApi, name: str) -> list[str]:
    return [text_of(c.body) for c in fake.calls("respond") if c.path == f"/respond/{name}"]


async def test_a_command_acked_just_before_a_sigkill_is_carried_out_once(
    server: Server, fake: FakeSlackApi, db_url: str
) -> None:
    db = Database(db_url)
    try:
        await asyncio.to_thread(server.start)
        await slash(server, fake, "ask social-media", "ask")
        await until(lambda: replies_to(fake, "ask"))

        for text, name, action in (
            ("close social-media", "close", "close"),
            ("pause social-media", "pause", "pause"),
        ):
            await slash(server, fake, text, name)
            await asyncio.to_thread(server.kill)  # the ack is all Slack got
            await asyncio.to_thread(server.start)
            await until(lambda name=name: replies_to(fake, name))
            await until(lambda action=action: audit(db, action) == 1)

        await asyncio.sleep(1.0)  # a second run's effects and replies would arrive by now
        assert (audit(db, "close"), audit(db, "pause")) == (1, 1)
        digests = [
            c
            for c in fake.calls("chat.postMessage", channel=CIO_CHANNEL)
            if "round 1 digest" in text_of(c.body)
        ]
        assert len(digests) == 1
        assert "round 1 closed" in replies_to(fake, "close")[0]
        assert "paused" in replies_to(fake, "pause")[0]
        with db.transaction() as s:
            paused = s.scalar(
                select(models.Conversation.paused).where(models.Conversation.key == "social-media")
            )
            left = s.scalar(
                select(func.count())
                .select_from(models.PendingCommand)
                .where(models.PendingCommand.status != "done")
            )
        assert paused is True and left == 0
    finally:
        db.dispose()

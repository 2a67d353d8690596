"""Commands stored before their ack are carried out once: after a crash, a replay, a failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.flows.events import CommandInvoked, InboundEvent
from bot.flows.outbound import Outgoing, load_message
from bot.intake.commands import CommandRunner, deserialise, store
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness

ADMIN = "console:admin"
REPLIES = "console:#admin-replies"  # stands in for a slash command's private reply address


def command(text: str) -> CommandInvoked:
    return CommandInvoked(actor=ADMIN, text=text, private_reply=REPLIES)


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock)


def runner(
    bot: EngineHarness, handle: Callable[[InboundEvent], Awaitable[list[Outgoing]]] | None = None
) -> CommandRunner:
    async def through_engine(event: InboundEvent) -> list[Outgoing]:
        return bot.engine.handle(event)

    return CommandRunner(
        bot.db, handle or through_engine, clock=bot.clock, lease=timedelta(seconds=5)
    )


def rows(bot: EngineHarness) -> list[tuple[str, int]]:
    with bot.db.transaction() as s:
        return [
            (r.status, r.attempts)
            for r in s.scalars(select(models.PendingCommand).order_by(models.PendingCommand.id))
        ]


def rounds_opened(bot: EngineHarness) -> int:
    with bot.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(models.Round)) or 0)


def private_replies(bot: EngineHarness) -> list[str]:
    with bot.db.transaction() as s:
        payloads = s.scalars(
            select(models.OutboxMessage.payload)
            .where(models.OutboxMessage.destination == REPLIES)
            .order_by(models.OutboxMessage.id)
        ).all()
    return [" ".join(load_message(p).lines) for p in payloads]  # type: ignore[union-attr]


async def test_a_stored_command_runs_once_and_its_reply_goes_to_the_private_address(
    bot: EngineHarness,
) -> None:
    assert store(
        bot.db, dedup_key="slack:trigger.1", event=command("ask social-media"), now=bot.clock()
    )
    # The same request again (Slack's 5-minute replay window): nothing more is stored.
    assert not store(
        bot.db, dedup_key="slack:trigger.1", event=command("ask social-media"), now=bot.clock()
    )
    assert await runner(bot).run_once() == 1
    assert await runner(bot).run_once() == 0
    assert rows(bot) == [("done", 1)]
    assert rounds_opened(bot) == 1
    (reply,) = private_replies(bot)
    assert "round 1 is open" in reply


async def test_a_command_that_committed_before_a_crash_is_not_carried_out_again(
    bot: EngineHarness,
) -> None:
    store(bot.db, dedup_key="slack:trigger.2", event=command("ask social-media"), now=bot.clock())
    with bot.db.transaction() as s:
        row = s.scalars(select(models.PendingCommand)).one()
        row_id, data = row.id, dict(row.event)
    # The first process ran it through the engine, then died before marking the row done.
    bot.engine.handle(deserialise(data, f"command:{row_id}"))
    bot.clock.advance(timedelta(seconds=10))
    assert await runner(bot).run_once() == 1
    assert rows(bot) == [("done", 1)]
    assert rounds_opened(bot) == 1
    assert len(private_replies(bot)) == 1


async def test_a_command_claimed_by_a_process_that_died_runs_after_its_lease(
    bot: EngineHarness,
) -> None:
    store(bot.db, dedup_key="slack:trigger.3", event=command("pause social-media"), now=bot.clock())

    async def dies(event: InboundEvent) -> list[Outgoing]:
        raise SystemExit  # stands in for SIGKILL: the claim stays, nothing ran

    with pytest.raises(SystemExit):
        await runner(bot, dies).run_once()
    assert await runner(bot).run_once() == 0  # still leased to the dead runner
    bot.clock.advance(timedelta(seconds=6))
    assert await runner(bot).run_once() == 1
    with bot.db.transaction() as s:
        paused = s.scalar(
            select(models.Conversation.paused).where(models.Conversation.key == "social-media")
        )
    assert paused is True
    assert rows(bot) == [("done", 2)]
    assert "paused" in private_replies(bot)[0]


async def test_a_command_too_old_to_answer_is_not_run_and_its_author_is_told(
    bot: EngineHarness,
) -> None:
    store(bot.db, dedup_key="slack:trigger.4", event=command("close social-media"), now=bot.clock())
    bot.clock.advance(timedelta(minutes=31))  # the bot was down longer than Slack waits
    assert await runner(bot).run_once() == 0
    assert rows(bot) == [("expired", 0)]
    (told,) = bot.queued(ADMIN)
    assert "“close social-media”" in told.lines[0] and "not carried out" in told.lines[0]  # type: ignore[union-attr]


async def test_a_command_that_keeps_failing_is_given_up_with_an_apology(
    bot: EngineHarness,
) -> None:
    store(bot.db, dedup_key="slack:trigger.5", event=command("status"), now=bot.clock())
    calls: list[Any] = []

    async def broken(event: InboundEvent) -> list[Outgoing]:
        calls.append(event)
        raise RuntimeError("database went away")

    for _ in range(5):
        await runner(bot, broken).run_once()
        bot.clock.advance(timedelta(seconds=30))
    assert len(calls) == 5 and rows(bot) == [("failed", 5)]
    (apology,) = private_replies(bot)
    assert "Something went wrong on our side" in apology

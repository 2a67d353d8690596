"""Retention: old answers go on the daily purge, the digest figures stay; delivery rows pruned."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.flows.outbound import DigestMessage, History, Notice
from bot.flows.retention import KEEP_DELIVERY, next_purge
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness, text_of
from tests.flows.table_scan import traces

ADMIN = "console:admin"
MARIA_SAID = "Customers keep asking about the loyalty card"
SAM_SAID = "Sales hear about delivery times"


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    playbook = copy.deepcopy(PLAYBOOK)
    playbook["conversations"][0]["retention"] = "1 month"
    return EngineHarness(db, clock, playbook)


def closed_round(bot: EngineHarness) -> int:
    bot.command(ADMIN, "ask social-media")
    with bot.db.transaction() as s:
        rid = s.scalars(select(models.Round.id)).one()
    for who, said, rating in (("console:maria", MARIA_SAID, 4), ("console:sam", SAM_SAID, 2)):
        bot.submit(who, rid, {"hearing": said, "external": rating, "channel": "Blogs"})
    (digest,) = bot.command("console:cio", "digest social-media")
    assert isinstance(digest, DigestMessage) and MARIA_SAID in text_of([digest])
    return rid


def count(bot: EngineHarness, table: type[models.Base]) -> int:
    with bot.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_answers_past_the_policy_go_and_the_figures_stay(
    bot: EngineHarness, clock: FakeClock
) -> None:
    closed_round(bot)
    bot.command(ADMIN, "ask social-liability")
    bot.say("console:lee", "A risk with no policy on it")  # kept: no retention there
    clock.advance(timedelta(days=29))
    assert bot.engine.purge().answers == 0  # not a month yet
    clock.advance(timedelta(days=3))
    purged = bot.engine.purge()
    assert purged.answers == 8 and purged.digests >= 1
    assert traces(bot.db, [MARIA_SAID, SAM_SAID]) == []
    assert traces(bot.db, ["A risk with no policy on it"])
    with bot.db.transaction() as s:
        kept = s.scalars(select(models.Digest).where(models.Digest.scope == "social-media")).all()
        for row in kept:
            conv = row.payload["conversations"][0]
            rating = next(q for q in conv["questions"] if q["question_id"] == "external")
            assert conv["answered"] == 2 and rating["rating"]["mean"] == 3.0
        entry = s.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "purge")
        ).one()
        assert entry.actor == "strategy-bot" and entry.detail["answers"] == 8
    # Participation is kept: the round still counts who answered.
    assert count(bot, models.Participant) == 3
    assert bot.engine.purge().answers == 0  # a second run finds nothing


def test_a_purged_rounds_trend_points_read_the_same(bot: EngineHarness, clock: FakeClock) -> None:
    """The roll-ups stay: history and a range digest give the same figures after the purge."""
    closed_round(bot)
    bot.command(ADMIN, "close social-media")
    clock.advance(timedelta(days=1))
    bot.command(ADMIN, "ask social-media")  # a second round, open: only the first is purged
    commands = ("history social-media", "digest social-media rounds 2")
    before = {c: _over_time(bot, c) for c in commands}
    (point,) = before["history social-media"]["rounds"]
    assert point["answered"] == 2 and point["external"] == 3.0
    clock.advance(timedelta(days=40))
    assert bot.engine.purge().answers == 8
    assert traces(bot.db, [MARIA_SAID, SAM_SAID]) == []
    assert {c: _over_time(bot, c) for c in before} == before
    assert bot.engine.purge().answers == 0  # kept once, never recomputed from nothing


def _over_time(bot: EngineHarness, command: str) -> dict[str, object]:
    """The rounds and trends a command shows for the conversation (what a purge must keep)."""
    (reply,) = bot.command("console:cio", command)
    if isinstance(reply, History):
        return {"rounds": [p.model_dump() for p in reply.rounds]}
    assert isinstance(reply, DigestMessage)
    (conv,) = reply.digest.conversations
    return {"rounds": [p.model_dump() for p in conv.rounds], "trends": conv.trends}


def test_sent_messages_and_event_ids_are_pruned_after_the_window(
    bot: EngineHarness, clock: FakeClock
) -> None:
    bot.say("console:maria", "mine", event_id="Ev1")
    with bot.db.transaction() as s:
        s.execute(update(models.OutboxMessage).values(status="sent", sent_at=clock()))
    clock.advance(timedelta(hours=1))
    bot.command(ADMIN, "ask social-media")  # pending prompts: never pruned
    pending = count(bot, models.OutboxMessage) - 1
    clock.advance(KEEP_DELIVERY - timedelta(hours=2))
    assert bot.engine.purge().outbox == 0  # not past the window yet
    clock.advance(timedelta(hours=2))
    purged = bot.engine.purge()
    assert (purged.outbox, purged.events) == (1, 1)
    assert count(bot, models.OutboxMessage) == pending
    assert count(bot, models.InboundEvent) == 0


def test_status_shows_the_policy_and_the_next_purge(bot: EngineHarness, clock: FakeClock) -> None:
    (shown,) = bot.command("console:cio", "status")
    assert isinstance(shown, Notice)
    assert (
        "    Retention: answers kept 1 month after their round closes;"
        " next purge Tue 24 Nov 03:30 UTC."
    ) in shown.lines
    assert "    Retention: answers kept until someone is forgotten (no policy set)." in shown.lines


def test_next_purge_is_the_next_half_past_three_utc() -> None:
    assert next_purge(datetime(2026, 11, 23, 3, 0, tzinfo=UTC)) == datetime(
        2026, 11, 23, 3, 30, tzinfo=UTC
    )
    assert next_purge(datetime(2026, 11, 23, 3, 30, tzinfo=UTC)) == datetime(
        2026, 11, 24, 3, 30, tzinfo=UTC
    )

"""The read-only conversation overview (what the Slack Home shows admins)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.flows.overview import conversation_overview
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock)


def test_lists_every_conversation_with_cadence_and_next_round(bot: EngineHarness) -> None:
    items = conversation_overview(bot.db, bot.clock())
    assert [o.key for o in items] == ["social-media", "social-liability"]
    media, liability = items
    assert media.title == "Social Media"
    assert media.cadence == "every 2 weeks on tue at 10:00"
    assert media.cadence_description == "every 2 weeks on Tuesday at 10:00 (UTC)"
    assert media.next_round_at is not None and media.next_round_at > bot.clock()
    assert not media.paused and media.open_round is None and media.last_closed is None
    assert media.delivery_failures == 0
    # "0 9 1 * *": the 1st of next month at 09:00 UTC.
    assert liability.next_round_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_paused_has_no_next_round(bot: EngineHarness) -> None:
    bot.command("console:admin", "pause social-media")
    media = conversation_overview(bot.db, bot.clock())[0]
    assert media.paused and media.next_round_at is None


def test_an_override_shows_the_cadence_in_force(bot: EngineHarness) -> None:
    bot.command("console:admin", "schedule social-media every monday at 08:00")
    media = conversation_overview(bot.db, bot.clock())[0]
    assert media.cadence == "every monday at 08:00"
    assert media.next_round_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_open_round_progress_then_last_closed(bot: EngineHarness) -> None:
    bot.command("console:admin", "ask social-media")
    bot.command("console:sam", "skip round")
    media = conversation_overview(bot.db, bot.clock())[0]
    assert media.open_round is not None
    assert (media.open_round.number, media.open_round.invited) == (1, 2)
    assert (media.open_round.answered, media.open_round.skipped) == (0, 1)
    assert media.open_round.deadline == bot.clock() + timedelta(days=3)

    bot.clock.advance(timedelta(hours=1))
    bot.command("console:admin", "close social-media")
    media = conversation_overview(bot.db, bot.clock())[0]
    assert media.open_round is None
    assert media.last_closed is not None
    assert (media.last_closed.number, media.last_closed.closed_at) == (1, bot.clock())


def test_counts_permanent_delivery_failures_per_conversation(bot: EngineHarness) -> None:
    bot.command("console:admin", "ask social-media")
    with bot.db.transaction() as s:
        row_id = s.scalar(
            select(models.OutboxMessage.id).where(
                models.OutboxMessage.idempotency_key.like("prompt:%")
            )
        )
        s.execute(
            update(models.OutboxMessage)
            .where(models.OutboxMessage.id == row_id)
            .values(status="failed", last_error="user_not_found")
        )
    counts = {o.key: o.delivery_failures for o in conversation_overview(bot.db, bot.clock())}
    assert counts == {"social-media": 1, "social-liability": 0}


def test_it_only_reads(bot: EngineHarness) -> None:
    before = bot.outbox_count()
    conversation_overview(bot.db, bot.clock())
    assert bot.outbox_count() == before
    with bot.db.transaction() as s:
        assert s.scalars(select(models.AuditEntry)).all() == []

"""`audit`: admins read back who did what, newest first, filtered by day and conversation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.flows.admin_commands import AUDIT_LINES
from bot.flows.outbound import Notice
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness

ADMIN = "console:admin"


def audit(bot: EngineHarness, text: str = "audit", who: str = ADMIN) -> Notice:
    (reply,) = bot.command(who, text)
    assert isinstance(reply, Notice), reply
    return reply


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock)


def test_admin_actions_read_back_newest_first_with_who_and_what(
    bot: EngineHarness, clock: FakeClock
) -> None:
    bot.command(ADMIN, "ask social-media")
    clock.advance(timedelta(minutes=5))
    bot.command(ADMIN, "schedule social-media every week on mon at 09:00")
    clock.advance(timedelta(minutes=5))
    bot.command(ADMIN, "close social-media")
    shown = audit(bot)
    assert shown.title == "Audit log"
    close, schedule, ask = shown.lines
    at = clock().strftime("%Y-%m-%d %H:%M")
    assert close == f"{at} UTC · console:admin · close social-media (round 1)"
    assert schedule.endswith(
        "console:admin · schedule social-media: every 2 weeks on tue at 10:00"
        " → every week on mon at 09:00"
    )
    assert ask.endswith("console:admin · ask social-media (round 1)")


def test_filters_by_day_and_conversation(bot: EngineHarness, clock: FakeClock) -> None:
    assert audit(bot, "audit").lines == ("Nothing recorded for that yet.",)
    bot.command(ADMIN, "pause social-media")
    assert audit(bot, "audit social-liability").lines == ("Nothing recorded for that yet.",)
    clock.advance(timedelta(days=2))
    day = clock().strftime("%Y-%m-%d")
    bot.command(ADMIN, "resume social-media")
    bot.command(ADMIN, "pause social-liability")
    since = audit(bot, f"audit since {day}").lines
    assert [line.split(" · ")[2] for line in since] == [
        "pause social-liability",
        "resume social-media",
    ]
    media = audit(bot, f"audit since {day} social-media").lines
    assert [line.split(" · ")[2] for line in media] == ["resume social-media"]
    either_order = audit(bot, f"audit social-media since {day}").lines
    assert either_order == media


def test_a_long_log_says_how_much_more_there_is(bot: EngineHarness, clock: FakeClock) -> None:
    for _ in range(AUDIT_LINES // 2 + 1):
        bot.command(ADMIN, "pause social-media")
        bot.command(ADMIN, "resume social-media")
        clock.advance(timedelta(minutes=1))
    lines = audit(bot).lines
    assert len(lines) == AUDIT_LINES + 1
    assert lines[-1] == "… and 2 older; narrow it with “since <date>” or a conversation."


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("audit since", "Write the day after “since”"),
        ("audit since yesterday", "“yesterday” is not a date"),
        ("audit since 2099-01-01", "2099-01-01 is in the future"),
        ("audit social-medai", "social-media"),  # did you mean
        ("audit social-media social-liability", "audit [since <date>] [conversation]"),
    ],
)
def test_bad_words_get_a_clear_sentence(bot: EngineHarness, text: str, says: str) -> None:
    bot.command(ADMIN, "pause social-media")
    reply = audit(bot, text)
    assert reply.level == "error" and says in " ".join(reply.lines), reply


def test_only_admins_read_the_log(bot: EngineHarness) -> None:
    bot.command(ADMIN, "pause social-media")
    for who in ("console:maria", "console:cio"):
        reply = audit(bot, who=who)
        assert reply.level == "error" and "pause" not in " ".join(reply.lines)

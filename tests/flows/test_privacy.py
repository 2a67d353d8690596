"""A person's data: `forget` leaves no trace of them in any table; `mine history` shows it all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.flows.events import Action
from bot.flows.outbound import DigestMessage, Notice
from bot.flows.privacy import Scrubber, without_quotes
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness, text_of
from tests.flows.table_scan import traces

ADMIN = "console:admin"
MARIA = "console:maria"
MARIA_SAID = "Customers ask about the zebra-striped tariff, ünïcødé"
MARIA_FIRST = "A first thought she took back"
SAM_SAID = "Sales hear about delivery times"


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock)


def round_id(bot: EngineHarness, key: str) -> int:
    with bot.db.transaction() as s:
        return (
            s.scalars(
                select(models.Round.id)
                .join(models.Conversation)
                .where(models.Conversation.key == key)
                .order_by(models.Round.id.desc())
            ).first()
            or 0
        )


def answered_round(bot: EngineHarness, clock: FakeClock) -> None:
    """Maria and Sam answer (Maria edits hers), the round closes, the CIO reads the digest."""
    bot.command(ADMIN, "ask social-media")
    rid = round_id(bot, "social-media")
    bot.submit(MARIA, rid, {"hearing": MARIA_FIRST, "external": 4, "channel": "Blogs"})
    bot.press(MARIA, Action.EDIT, rid, "hearing")
    bot.say(MARIA, MARIA_SAID)
    bot.command(MARIA, "mine history")  # audited under her identity
    bot.submit("console:sam", rid, {"hearing": SAM_SAID, "external": 2, "channel": "Blogs"})
    (digest,) = bot.command("console:cio", "digest social-media")
    assert isinstance(digest, DigestMessage) and MARIA_SAID in text_of([digest])
    clock.advance(timedelta(days=14))
    bot.command(ADMIN, "ask social-media")  # a prompt to her still waits in the outbox


def test_forget_leaves_no_trace_of_the_person_in_any_table(
    bot: EngineHarness, clock: FakeClock
) -> None:
    answered_round(bot, clock)
    needles = [MARIA, "Maria (Marketing)", MARIA_SAID, MARIA_FIRST]
    assert len(traces(bot.db, needles)) > 5  # the scan does find her before

    (reply,) = bot.command(ADMIN, "forget console:maria")

    assert isinstance(reply, Notice) and reply.level == "success", reply
    said = " ".join(reply.lines)
    assert "4 answers (1 earlier version) in 2 rounds" in said
    assert "1 group membership" in said
    assert "Kept: the counts, means and medians" in said
    assert "still listed in the playbook (marketing)" in said
    assert "Maria" not in said and MARIA not in said
    assert traces(bot.db, needles) == []
    # What others said, and the round's figures, stay.
    assert traces(bot.db, [SAM_SAID])
    with bot.db.transaction() as s:
        kept = s.scalars(select(models.Digest).order_by(models.Digest.id)).first()
        assert kept is not None
        conv = kept.payload["conversations"][0]
        rating = next(q for q in conv["questions"] if q["question_id"] == "external")
        assert conv["answered"] == 2 and rating["rating"]["mean"] == 3.0
        entry = s.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "forget")
        ).one()
        assert entry.actor == ADMIN and entry.detail["answers"] == 4
    assert "forget a person" in text_of(bot.command(ADMIN, "audit"))


def test_forget_in_an_anonymous_conversation_removes_the_unsigned_quote(
    bot: EngineHarness,
) -> None:
    bot.command(ADMIN, "ask social-liability")
    bot.say("console:lee", "Records retention of DMs worries me")
    bot.command("console:cio", "digest social-liability")
    (reply,) = bot.command(ADMIN, "forget Lee (Counsel)")  # by full name
    assert isinstance(reply, Notice) and reply.level == "success", reply
    assert traces(bot.db, ["console:lee", "Lee (Counsel)", "Records retention of DMs"]) == []


@pytest.mark.parametrize("who", ["console:nobody", "Nobody At All"])
def test_an_unknown_person_changes_nothing(bot: EngineHarness, who: str) -> None:
    bot.command(ADMIN, "ask social-media")
    before = traces(bot.db, [MARIA])
    (reply,) = bot.command(ADMIN, f"forget {who}")
    assert isinstance(reply, Notice) and reply.level == "error"
    assert f"I know nobody called “{who}”, so nothing was changed." in reply.lines[0]
    assert traces(bot.db, [MARIA]) == before
    assert "forget" not in text_of(bot.command(ADMIN, "audit"))


def test_only_admins_forget(bot: EngineHarness) -> None:
    bot.command(ADMIN, "ask social-media")
    for who in ("console:sam", "console:cio"):
        (reply,) = bot.command(who, "forget console:maria")
        assert isinstance(reply, Notice) and reply.level == "error"
    assert traces(bot.db, [MARIA])


def test_mine_history_shows_everything_stored_about_me(
    bot: EngineHarness, clock: FakeClock
) -> None:
    answered_round(bot, clock)
    (shown,) = bot.command(MARIA, "mine history")
    assert isinstance(shown, Notice) and shown.private
    assert shown.title == "What is stored about you"
    assert "Identity: console:maria" in shown.lines
    assert "Groups: Marketing, PR and sales" in shown.lines
    assert "Rounds you were asked in: 2" in shown.lines
    text = "\n".join(shown.lines)
    assert "Social Media · round 1 · 2026-11-23 09:00 UTC · What are you hearing" in text
    assert f"→ {MARIA_SAID} (edited 1 time)" in text
    assert "→ 4/5 (leading)" not in text and "→ 4/5" in text
    assert SAM_SAID not in text  # only her own
    (export,) = bot.command(MARIA, "mine export")
    assert isinstance(export, Notice) and export.title == "Your data (export)"
    assert export.lines[0].startswith("strategy-bot: your stored data\nIdentity: console:maria")
    actions = text_of(bot.command(ADMIN, "audit"))
    assert "mine history their own data" in actions and "mine export" in actions


def test_mine_history_of_a_stranger_and_a_bad_word(bot: EngineHarness) -> None:
    (shown,) = bot.command("console:nobody", "mine history")
    assert isinstance(shown, Notice) and "Nothing is stored about you" in shown.lines[0]
    (bad,) = bot.command(MARIA, "mine everything")
    assert isinstance(bad, Notice) and bad.level == "error"
    assert "mine [history|export]" in bad.lines[0]


def test_a_theme_quote_cut_from_an_anonymous_answer_goes_too() -> None:
    said = "Our retention of direct messages breaks the records policy, says counsel"
    theme = {
        "label": "records policy",
        "quotes": [
            {"text": "… direct messages breaks the records policy …", "author": None},
            {"text": "Someone else on records policy", "author": None},
        ],
    }
    kept = Scrubber("console:lee", "Lee (Counsel)", frozenset({said})).json(theme)
    assert kept["quotes"] == [{"text": "Someone else on records policy", "author": None}]
    assert without_quotes(theme, frozenset({said}))["quotes"] == kept["quotes"]

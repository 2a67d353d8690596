"""What we heard: a closed round's figures told back, never a name or someone's own words."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from bot.flows.digest import build_digest
from bot.flows.digest_model import ConversationDigest
from bot.flows.events import Action
from bot.flows.heard import heard
from bot.flows.outbound import Heard, Prompt
from bot.presentation import build_view
from bot.presentation.text import lines
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness
from tests.flows.seeded_history import seed
from tests.flows.test_digest import built, q_rating, q_simple

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def conversation_digest(db: Database, key: str, now: datetime) -> ConversationDigest:
    with db.transaction() as s:
        return build_digest(s, scope=key, organisation="Acme", now=now).conversations[0]


def test_the_group_hears_its_figures_and_what_comes_next(db: Database) -> None:
    clock = FakeClock(START)
    seed(db, clock)
    support = conversation_digest(db, "social-support", clock())
    next_round = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
    told = heard(support, next_round=next_round)
    assert told is not None
    assert (told.round_number, told.answered, told.invited) == (3, 2, 2)
    shown = lines(build_view(told))
    text = "\n".join(shown)
    assert shown[0] == "What we heard · Social Support, round 3"
    assert "Thank you: 2 of 2 answered. Here is what the group said." in shown
    assert "4.0 / 5 mean" in text  # internal maturity: 4 and 4
    assert "31% median (from 30% to 32%) · target 30% met" in text
    # Text answers are counted, never quoted, and nobody is named.
    assert "2 answers, read in full by the CIO." in text
    assert "sofia on hearing" not in text and "Sofia" not in text and "Tim" not in text
    assert "Next round: 2026-10-15 12:00 UTC" in shown


def test_the_cio_looks_next_at_low_ratings_and_missed_targets(db: Database) -> None:
    clock = FakeClock(START)
    seed(db, clock)
    networking = conversation_digest(db, "social-networking", clock())
    told = heard(networking, next_round=None)
    assert told is not None
    # Internal maturity 1.75 and external 2.0 are the two lowest ratings under 3.
    assert told.next_looks == (
        "How mature is our internal, employee-facing collaboration on social platforms?",
        "How well do our networks connect employees with customers, partners and outside experts?",
    )
    assert "Next, the CIO will look at: How mature is our internal" in "\n".join(
        lines(build_view(told))
    )


def test_an_anonymous_round_withholds_questions_too_few_answered(db: Database) -> None:
    with built(db) as b:
        conv = b.conversation(
            "social-liability",
            [q_rating("risk"), q_simple("worry", "text")],
            anonymous=True,
        )
        rnd = b.round(conv, 1, "closed")
        for name, score in (("Ann", 2), ("Bob", 4), ("Cy", 3)):
            p = b.participant(rnd, name, "marketing", "done")
            b.answer(p, "risk", score)
        p = b.participant(rnd, "Dee", "marketing", "done")
        b.answer(p, "worry", "The new policy leaks data")
    told = heard(conversation_digest(db, "social-liability", NOW), next_round=None)
    assert told is not None
    assert [q.question_id for q in told.questions] == ["risk"]  # three answers: shared
    assert told.withheld == 1  # one text answer: whose it is would be plain
    text = "\n".join(lines(build_view(told)))
    assert "3.0 / 5 mean" in text
    assert "1 question had too few answers to share" in text
    assert "policy leaks" not in text and "Dee" not in text


def test_an_open_round_is_not_told_back(db: Database) -> None:
    with built(db) as b:
        conv = b.conversation("social-media", [q_rating("reach")])
        b.round(conv, 1, "open")
    assert heard(conversation_digest(db, "social-media", NOW), next_round=None) is None


# ---------------------------------------------------------------- told when the round closes


def _social_media_round(bot: EngineHarness) -> int:
    bot.command("console:admin", "ask social-media")
    prompt = next(m for m in bot.queued("console:maria") if isinstance(m, Prompt))
    bot.queued("console:sam")
    return prompt.round_id


def _heard(bot: EngineHarness, who: str) -> list[Heard]:
    return [m for m in bot.queued(who) if isinstance(m, Heard)]


def test_closing_a_round_tells_everyone_asked_but_those_who_skipped(db: Database) -> None:
    clock = FakeClock(NOW)
    bot = EngineHarness(db, clock)
    round_id = _social_media_round(bot)
    bot.submit("console:maria", round_id, {"hearing": "Pricing", "external": 4, "channel": "Blogs"})
    bot.press("console:sam", Action.SKIP_ROUND, round_id)
    bot.command("console:admin", "close social-media")
    (told,) = _heard(bot, "console:maria")
    assert (told.round_id, told.answered, told.invited) == (round_id, 1, 2)
    # The next round by the playbook's cadence (every 2 weeks on Tuesday at 10:00).
    assert told.next_round is not None and told.next_round > NOW
    assert told.next_round.weekday() == 1 and told.next_round.hour == 10
    assert _heard(bot, "console:sam") == []  # skipped: not told
    assert _heard(bot, "console:lee") == []  # not in the conversation's groups


def test_a_paused_conversation_names_no_next_round(db: Database) -> None:
    bot = EngineHarness(db, FakeClock(NOW))
    _social_media_round(bot)
    bot.command("console:admin", "pause social-media")
    bot.command("console:admin", "close social-media")
    (told,) = _heard(bot, "console:maria")
    assert told.next_round is None
    assert "next round" not in "\n".join(lines(build_view(told))).lower()


def test_the_playbook_can_switch_it_off(db: Database) -> None:
    playbook = copy.deepcopy(PLAYBOOK)
    playbook["conversations"][0]["what_we_heard"] = False
    bot = EngineHarness(db, FakeClock(NOW), playbook)
    round_id = _social_media_round(bot)
    bot.submit("console:maria", round_id, {"hearing": "Pricing", "external": 4, "channel": "Blogs"})
    bot.command("console:admin", "close social-media")
    assert _heard(bot, "console:maria") == [] and _heard(bot, "console:sam") == []

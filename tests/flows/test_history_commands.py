"""History on demand: `digest <conversation> rounds <n>`, `... since <date>`, `history`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.flows.digest_text import render_digest_text
from bot.flows.outbound import DigestMessage, History, Notice, OutboundMessage
from bot.presentation import build_view
from bot.presentation.text import lines
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.flows.seeded_history import seed

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def bot(db: Database) -> EngineHarness:
    return seed(db, FakeClock(START))


def one(replies: list[OutboundMessage]) -> OutboundMessage:
    assert len(replies) == 1
    return replies[0]


def error_of(replies: list[OutboundMessage]) -> str:
    reply = one(replies)
    assert isinstance(reply, Notice) and reply.level == "error", reply
    return " ".join(reply.lines)


def test_digest_over_the_last_rounds(bot: EngineHarness) -> None:
    reply = one(bot.command("console:cio", "digest social-support rounds 2"))
    assert isinstance(reply, DigestMessage)
    d = reply.digest
    assert d.span is not None and (d.span.first_round, d.span.last_round) == (2, 3)
    (conv,) = d.conversations
    assert [r.round_number for r in conv.rounds] == [2, 3]
    shares = next(t for t in conv.trends if t.question_id == "community-share")
    assert [p.value for p in shares.points] == [26.0, 31.0]
    # The recurring answers: every "yes" to monitoring over both rounds (2 people, 2 rounds).
    monitoring = next(r for r in conv.recurring if r.question_id == "monitoring")
    assert monitoring.counts == {"yes": 4, "no": 0} and monitoring.rounds == 2
    text = "\n".join(render_digest_text(d))
    assert "rounds 2 to 3" in text
    assert "Community answers 26% → 31% (rounds 2 to 3)" in text


def test_digest_since_a_date(bot: EngineHarness) -> None:
    # Rounds closed on Sep 1, Sep 15 and Sep 29 (two weeks apart): since Sep 10 is 2 and 3.
    reply = one(bot.command("console:cio", "digest social-media since 2026-09-10"))
    assert isinstance(reply, DigestMessage)
    assert reply.digest.span is not None
    assert (reply.digest.span.first_round, reply.digest.span.last_round) == (2, 3)
    assert reply.digest.span.since == datetime(2026, 9, 10, tzinfo=UTC)


def test_history_lists_the_rounds(bot: EngineHarness) -> None:
    reply = one(bot.command("console:cio", "history social-media"))
    assert isinstance(reply, History)
    assert [(r.round_number, r.answered, r.invited) for r in reply.rounds] == [
        (1, 3, 3),
        (2, 3, 3),
        (3, 2, 3),
    ]
    assert [(r.internal, r.external) for r in reply.rounds] == [
        (1.33, 2.33),
        (2.33, 3.67),
        (2.5, 4.5),
    ]
    shown = lines(build_view(reply))
    assert shown[0] == "Social Media · history"
    # Newest first, as the CIO reads a history.
    assert shown[1].startswith("  Round 3 · Closed ")
    assert "Answered 67% (2/3) · Internal 2.5 · External 4.5 · Stage externally mature" in shown[1]
    assert "  External: 2.3 → 3.7 → 4.5" in shown


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("digest social-media rounds 0", "“0” is not a number of rounds: give one from 1 to 50"),
        ("digest social-media rounds 51", "“51” is not a number of rounds"),
        ("digest social-media rounds two", "“two” is not a number of rounds"),
        ("digest social-media rounds", "“rounds” needs a number: “digest social-media rounds 3”"),
        ("digest social-media since", "“since” needs a date"),
        ("digest social-media since 1/9/2026", "“1/9/2026” is not a date: write it as year"),
        ("digest social-media since 2027-01-01", "2027-01-01 is in the future"),
        # The seed ends two weeks after round 3 closed (Sep 29): nothing closed since Oct 10.
        (
            "digest social-media since 2026-10-10",
            "Social Media has no round closed since 2026-10-10",
        ),
        ("digest all rounds 3", "A range digest is of one conversation"),
        ("digest rounds 3", "A range digest is of one conversation"),
        ("digest social-media weeks 3", "“digest” does not take “weeks 3”"),
        ("digest social-madia rounds 3", "Did you mean “social-media”?"),
        ("history social-madia", "Did you mean “social-media”?"),
        ("history", "is used like this: “history <conversation>”"),
    ],
)
def test_bad_input_gets_a_clear_sentence(bot: EngineHarness, command: str, said: str) -> None:
    assert said in error_of(bot.command("console:cio", command))


def test_a_conversation_with_no_closed_round(db: Database) -> None:
    bot = EngineHarness(db, FakeClock(START))
    assert "has no closed round yet" in error_of(
        bot.command("console:cio", "digest social-media rounds 3")
    )
    reply = one(bot.command("console:cio", "history social-media"))
    assert isinstance(reply, History) and reply.rounds == ()
    assert "No closed round yet" in "\n".join(lines(build_view(reply)))


def test_stakeholders_cannot_read_history(bot: EngineHarness) -> None:
    assert "history" in error_of(bot.command("console:rosa", "history social-media"))

"""The CIO's strategy view after three rounds of all six conversations, checked by hand.

Every figure below is computed from the answers planted in `tests/flows/seeded_history.py`
(ratings per person and round), the way the README explains the summary's numbers: a
conversation's axis is the mean of its maturity ratings; the organisation's is the mean of
the conversations' means; participation is who finished of who was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.flows.digest_model import Digest
from bot.flows.digest_text import render_digest_text
from bot.flows.strategy_model import Standing
from storage.db import Database
from tests.conftest import FakeClock
from tests.flows.seeded_history import digest_all, open_round, seed

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def digest(db: Database) -> Digest:
    return digest_all(seed(db, FakeClock(START))).digest


def row(d: Digest, key: str) -> Standing:
    return next(s for s in d.standings if s.conversation_key == key)


def test_the_organisation_is_placed_per_conversation_and_moved(digest: Digest) -> None:
    m = digest.maturity
    assert m is not None
    # (2.5 + 1.75 + 4.0 + 3.0 + 2.0) / 5 and (4.5 + 2.0 + 3.5 + 2.5 + 3.0) / 5
    assert (m.internal, m.external) == (2.65, 3.1)
    assert m.stage == "externally mature"
    # Each conversation one round earlier: (2.33 + 2 + 3 + 3 + 3) / 5, (3.67 + 2 + 3 + 2 + 2) / 5
    assert (m.previous_internal, m.previous_external) == (2.67, 2.53)
    assert m.previous_stage == "laggard"
    assert [(p.back, p.internal, p.external) for p in m.history] == [
        (2, 2.27, 2.27),
        (1, 2.67, 2.53),
        (0, 2.65, 3.1),
    ]
    placed = {p.conversation_key: (p.internal, p.external, p.stage) for p in m.placed}
    assert placed == {
        "social-media": (2.5, 4.5, "externally mature"),
        "social-networking": (1.75, 2.0, "laggard"),
        "social-support": (4.0, 3.5, "enterprise maturity"),
        "social-innovation": (3.0, 2.5, "internally mature"),
        "social-technologies": (2.0, 3.0, "externally mature"),
    }  # Social Liability rates governance, not social maturity: not placed


def test_each_conversation_has_its_row(digest: Digest) -> None:
    sm = row(digest, "social-media")
    assert sm.last is not None and sm.previous is not None
    assert (sm.last.round_number, sm.last.answered, sm.last.invited) == (3, 2, 3)
    assert (sm.previous.answered, sm.previous.invited) == (3, 3)
    assert (sm.last.internal, sm.last.external) == (2.5, 4.5)
    assert (sm.previous.internal, sm.previous.external) == (2.33, 3.67)
    assert sm.stage == "externally mature"
    # Participation fell 33 points, more than external maturity rose (0.8 of a 4-point scale).
    assert sm.notable is not None and sm.notable.kind == "participation"
    assert (sm.notable.before, sm.notable.after, sm.notable.improved) == (100.0, 66.7, False)

    support = row(digest, "social-support")
    # Hours to a first answer fell from 6 to 4 (lower is better): a third, the biggest change.
    assert support.notable is not None
    assert (support.notable.what, support.notable.before, support.notable.after) == (
        "First answer",
        6.0,
        4.0,
    )
    assert support.notable.improved

    liability = row(digest, "social-liability")
    assert liability.stage is None and liability.notable is None
    assert liability.last is not None and liability.last.rate == 100.0


def test_what_needs_the_cio(digest: Digest) -> None:
    found = {
        (s.conversation_key, a.kind, a.what or a.group, a.before, a.after)
        for s in digest.standings
        for a in s.attention
    }
    assert found == {
        ("social-media", "drop", "Participation", 100.0, 66.7),
        ("social-networking", "silent_group", "Operations executives", None, None),
        ("social-technologies", "drop", "Internal maturity", 3.0, 2.0),
    }


def test_trends_cover_the_closed_rounds(digest: Digest) -> None:
    support = next(c for c in digest.conversations if c.conversation_key == "social-support")
    trends = {t.question_id: [p.value for p in t.points] for t in support.trends}
    assert trends["community-share"] == [22.0, 26.0, 31.0]  # medians of 20/24, 25/27, 30/32
    assert trends["response-hours"] == [8.0, 6.0, 4.0]
    assert trends["maturity-internal"] == [3.0, 3.0, 4.0]
    assert [r.round_number for r in support.rounds] == [1, 2, 3]


def test_the_summary_reads_the_figures(digest: Digest) -> None:
    lines = render_digest_text(digest)
    text = "\n".join(lines)
    assert "Social maturity: externally mature (was laggard)" in lines
    assert any(line.startswith("Next move: Partner with marketing") for line in lines)
    assert (
        "Social Media and Social Technologies are externally mature, Social Support has"
        " enterprise maturity, Social Innovation is internally mature; Social Networking lags."
    ) in lines
    assert (
        "  Social Media (round 3) · Answered 67% ▼ 33 pts (2/3) · Internal 2.5 ▲ 0.2"
        " · External 4.5 ▲ 0.8 · Stage externally mature · Biggest change Participation"
        " 100% → 67%"
    ) in lines
    assert "Social Technologies: Internal maturity went from 3.0 to 2.0 in round 3." in lines
    assert "Social Networking: Operations executives answered nothing in round 3 (1 asked)." in (
        lines
    )
    # The map, and the organisation over the rounds, in words where no chart is drawn.
    assert "  Social Networking: internal 1.8, external 2.0 (laggard)" in lines
    assert "  External: 2.3 → 2.5 → 3.1" in lines
    assert "  Social Media: 100% → 100% → 67%" in lines
    # The details follow the summary: a conversation's questions come after it.
    assert text.index("Details") > text.index("Needs you")
    assert text.index("== Social Media ==") > text.index("Details")


def test_an_open_round_changes_nothing_in_the_comparison(db: Database) -> None:
    clock = FakeClock(START)
    bot = seed(db, clock)
    before = digest_all(bot).digest
    bot.command("console:admin", "ask social-media")
    bot.submit(
        "console:maria",
        open_round(bot, "social-media"),
        {"maturity-internal": 1, "maturity-external": 1},
    )
    during = digest_all(bot).digest
    assert during.maturity == before.maturity
    sm = row(during, "social-media")
    assert sm.open_round_number == 4
    assert sm.last is not None and sm.last.round_number == 3


def test_a_conversation_two_periods_late_is_overdue(db: Database) -> None:
    clock = FakeClock(START)
    bot = seed(db, clock)
    # Social Media runs every two weeks; nothing closes for seven more weeks.
    clock.advance(timedelta(weeks=7))
    late = row(digest_all(bot).digest, "social-media")
    overdue = [a for a in late.attention if a.kind == "overdue"]
    assert len(overdue) == 1
    assert overdue[0].periods is not None and overdue[0].periods >= 2
    assert overdue[0].since is not None
    bot.command("console:admin", "pause social-media")
    paused = row(digest_all(bot).digest, "social-media")
    assert not [a for a in paused.attention if a.kind == "overdue"]

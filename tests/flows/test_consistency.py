"""The consistency view after three seeded rounds of all six conversations.

Round 3's text answers are the labelled sample (`tests/flows/theme_samples.py`), its
ratings those planted in `tests/flows/seeded_history.py`: what the CIO should see is
written there, and nothing else may appear.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.themes import names
from bot.flows.consistency_model import Consistency
from bot.flows.digest_text import render_digest_text
from bot.flows.outbound import ConsistencyMessage, Notice
from bot.presentation.sections import plain_text
from bot.presentation.views import build_view
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.flows.seeded_history import digest_all, seed
from tests.flows.theme_samples import ACROSS, TOPICS

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db: Database) -> tuple[EngineHarness, FakeClock]:
    clock = FakeClock(START)
    return seed(db, clock), clock


def consistency(bot: EngineHarness, who: str = "console:cio") -> Consistency:
    (reply,) = bot.command(who, "consistency")
    assert isinstance(reply, ConsistencyMessage)
    return reply.consistency


def test_topics_raised_in_several_conversations_are_shown_side_by_side(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    c = consistency(seeded[0])
    across = {a.theme.label: a for a in c.across}
    for topic in ("Twitter", "WhatsApp groups", "records retention", "support forum"):
        assert topic in across, sorted(across)
        assert set(across[topic].theme.conversations) == ACROSS[topic]
    twitter = across["Twitter"]
    assert twitter.id == "across:twitter"
    assert len({q.conversation_key for q in twitter.theme.quotes}) == 3
    assert "joint session" in twitter.action
    # Nothing invented: every topic shown is one a careful reader lists, quoted from what
    # people wrote.
    for a in c.across:
        assert any(names(a.theme, topic) for topic in TOPICS), a.theme.label
    for t in c.themes:
        assert any(names(t, topic) for topic in TOPICS), t.label
    for a in c.across:
        for q in a.theme.quotes:
            assert a.theme.label.split()[0].casefold().rstrip("s") in q.text.casefold()


def test_hand_offs_name_where_a_topic_was_raised_and_where_it_belongs(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    c = consistency(seeded[0])
    pairs = {(h.from_key, h.to_key): h for h in c.handoffs}
    ip = pairs[("social-innovation", "social-liability")]
    assert "IP" in ip.words and ip.people == 2
    assert ip.id == "handoff:social-innovation:social-liability"
    facebook = pairs[("social-media", "social-technologies")]
    assert "tool" in facebook.words
    assert any("Facebook page" in q.text for q in facebook.quotes)
    records = pairs[("social-technologies", "social-liability")]
    assert "records retention" in records.words
    # Anonymous Social Liability's answers are quoted without a name.
    for h in c.handoffs:
        if h.from_key == "social-liability":
            assert all(q.author is None for q in h.quotes)


def test_divergent_maturity_is_shown_with_its_figures(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    c = consistency(seeded[0])
    by_id = {d.id: d for d in c.divergences}
    internal = by_id["divergence:maturity-internal"]
    # Round 3: Social Support 4.0 and Social Networking 1.75 (seeded_history.PLANTED).
    assert (internal.figures[0].key, internal.figures[0].value) == ("social-support", 4.0)
    assert (internal.figures[-1].key, internal.figures[-1].value) == ("social-networking", 1.75)
    assert internal.spread == 2.25
    external = by_id["divergence:maturity-external"]
    assert (external.figures[0].key, external.figures[-1].key) == (
        "social-media",
        "social-networking",
    )
    assert external.spread == 2.5
    assert "Social Support and Social Networking" in internal.action


def test_gaps_an_overdue_conversation_and_a_silent_group(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    bot, clock = seeded
    assert consistency(bot).gaps == ()
    # Operations stops answering Social Networking for a second round; time passes.
    from tests.flows.seeded_history import open_round

    bot.command("console:admin", "ask social-networking")
    rid = open_round(bot, "social-networking")
    for person in ("hannah", "maria", "peter", "sam"):
        bot.submit(
            f"console:{person}",
            rid,
            {
                "hearing": "fine",
                "expertise-findable": 3,
                "pilot-next": "Employee blogs",
                "maturity-internal": 2,
                "maturity-external": 2,
            },
        )
    bot.command("console:admin", "close social-networking")
    clock.advance(timedelta(days=40))
    gaps = {g.id: g for g in consistency(bot).gaps}
    absent = gaps["gap:absent:social-networking:operations"]
    assert absent.rounds == (3, 4) and absent.group_title == "Operations executives"
    assert "Follow up with Operations executives" in absent.action
    overdue = gaps["gap:overdue:social-media"]  # fortnightly, last closed 40+ days ago
    assert overdue.periods is not None and overdue.periods >= 2


def test_digest_all_carries_it_in_the_details_not_the_summary(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    digest = digest_all(seeded[0]).digest
    assert digest.consistency is not None
    view = build_view(digest_all(seeded[0]))
    details = next(s for s in view.sections if s.type == "details")
    summary = repr([s for s in view.sections if s.type != "details"])
    assert "Raised in" not in summary and "across:" not in summary
    assert "Raised in Social Innovation" in "\n".join(render_digest_text(digest))
    listening = next(s for s in details.sections if getattr(s, "role", None) == "listening")
    text = repr(listening)
    assert "Raised in Social Innovation, belongs to Social Liability" in text
    assert "Twitter" in text and "across:twitter" in text


def test_the_command_is_for_the_cio_and_admins(seeded: tuple[EngineHarness, FakeClock]) -> None:
    bot = seeded[0]
    (refused,) = bot.command("console:maria", "consistency")
    assert isinstance(refused, Notice) and refused.level == "error"
    assert consistency(bot, "console:admin").across
    (help_reply,) = bot.command("console:cio", "help")
    assert isinstance(help_reply, Notice)
    assert any(line.startswith("“consistency”") for line in help_reply.lines)


def test_no_closed_round_yet_says_so(db: Database) -> None:
    from bot.playbook.loader import DEFAULT_PLAYBOOK, load_playbook

    bot = EngineHarness(
        db, FakeClock(START), load_playbook(DEFAULT_PLAYBOOK).model_dump(mode="json")
    )
    (reply,) = bot.command("console:cio", "consistency")
    view = build_view(reply)
    words = " ".join(plain_text(s.text) for s in view.sections if s.type == "paragraph")
    assert "No conversation has a closed round yet" in words


def test_slack_and_teams_lay_it_out_within_their_limits(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    from bot.adapters.slack.render import MAX_BLOCKS
    from bot.adapters.slack.render import layout_view as slack_layout
    from bot.adapters.teams.cards import CARD_BUDGET, card_size
    from bot.adapters.teams.cards import layout_view as teams_layout

    bot = seeded[0]
    (reply,) = bot.command("console:cio", "consistency")
    for view in (build_view(digest_all(bot)), build_view(reply)):
        payloads = slack_layout(view)
        assert all(len(p["blocks"]) <= MAX_BLOCKS for p in payloads)
        slack_text = repr(payloads)
        assert "Raised in Social Innovation, belongs to Social Liability" in slack_text
        cards = teams_layout(view)
        assert all(card_size(c) <= CARD_BUDGET for c in cards)
        assert "Raised in Social Innovation, belongs to Social Liability" in repr(cards)


def test_anonymous_answers_carry_no_name_nor_group(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    c = consistency(seeded[0])
    quotes = [q for t in c.themes for q in t.quotes] + [q for h in c.handoffs for q in h.quotes]
    liability = [q for q in quotes if q.conversation_key == "social-liability"]
    assert liability, "the sample quotes Social Liability"
    assert all(q.author is None and q.group_title is None for q in liability)
    for t in c.themes:
        if t.conversations == ("social-liability",):
            assert t.groups == ()
    text = repr(build_view(ConsistencyMessage(organisation="x", generated_at=START, consistency=c)))
    for name in ("Lena", "Stefan", "Priya", "Rick", "Carl", "Regina"):
        assert name not in text


def test_a_conversations_digest_and_range_carry_its_own_themes(
    seeded: tuple[EngineHarness, FakeClock],
) -> None:
    from bot.flows.outbound import DigestMessage

    bot = seeded[0]
    (reply,) = bot.command("console:cio", "digest social-technologies")
    assert isinstance(reply, DigestMessage)
    (tech,) = reply.digest.conversations
    labels = [t.label.casefold() for t in tech.themes]
    assert "shadow tools" in labels and "trello" in labels
    assert "Trello" in "\n".join(render_digest_text(reply.digest))
    (ranged,) = bot.command("console:cio", "digest social-liability rounds 3")
    assert isinstance(ranged, DigestMessage)
    (liability,) = ranged.digest.conversations
    retention = next(t for t in liability.themes if t.label == "records retention")
    assert retention.people == 2
    assert all(q.author is None for q in retention.quotes)

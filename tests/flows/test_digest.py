"""The CIO's digest: the numbers a CIO would read, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.flows.digest import build_digest, save_digest
from bot.flows.digest_model import ConversationDigest, Digest, QuestionRollup
from bot.flows.digest_text import render_digest_text
from bot.messages import NEXT_MOVES
from storage.db import Database
from storage.models import Answer, Conversation, Group, Member, Participant, Round
from storage.models import Digest as DigestRow

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


# --- a small builder that writes rows the way the engine does ------------------------------


def q_rating(qid: str, maturity: str | None = None) -> dict[str, Any]:
    return {
        "id": qid,
        "text": f"How would you rate {qid}?",
        "type": "rating",
        "required": True,
        "options": [],
        "labels": {"1": "poor", "5": "excellent"},
        "maturity": maturity,
        "help": None,
    }


def q_choice(qid: str, options: list[str], *, multiple: bool = False) -> dict[str, Any]:
    return {
        "id": qid,
        "text": f"Which {qid}?",
        "type": "multiple_choice" if multiple else "single_choice",
        "required": True,
        "options": options,
        "labels": {},
        "maturity": None,
        "help": None,
    }


def q_simple(qid: str, qtype: str) -> dict[str, Any]:
    return {
        "id": qid,
        "text": f"Tell us about {qid}",
        "type": qtype,
        "required": False,
        "options": [],
        "labels": {},
        "maturity": None,
        "help": None,
    }


class Builder:
    """Inserts groups, conversations, rounds, participants and answers directly."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.members: dict[str, Member] = {}
        self.tick = 0

    def group(self, key: str, title: str) -> None:
        if self.s.scalars(select(Group).where(Group.key == key)).first() is None:
            self.s.add(Group(key=key, title=title))

    def conversation(
        self,
        key: str,
        questions: list[dict[str, Any]],
        *,
        groups: tuple[str, ...] = ("marketing", "sales"),
        anonymous: bool = False,
        active: bool = True,
    ) -> Conversation:
        spec = self.agenda(key, questions, groups=groups, anonymous=anonymous)
        conv = Conversation(
            key=key,
            title=key.replace("-", " ").title(),
            spec=spec,
            cadence="every monday 09:00",
            active=active,
        )
        self.s.add(conv)
        self.s.flush()
        return conv

    @staticmethod
    def agenda(
        key: str,
        questions: list[dict[str, Any]],
        *,
        groups: tuple[str, ...] = ("marketing", "sales"),
        anonymous: bool = False,
    ) -> dict[str, Any]:
        return {
            "key": key,
            "title": key.replace("-", " ").title(),
            "purpose": "Map it out.",
            "groups": list(groups),
            "cadence": "every monday 09:00",
            "response_window": "P3D",
            "reminders": ["P1D"],
            "anonymous": anonymous,
            "questions": questions,
        }

    def round(
        self,
        conv: Conversation,
        number: int,
        status: str,
        questions: list[dict[str, Any]] | None = None,
    ) -> Round:
        agenda = dict(conv.spec)
        if questions is not None:
            agenda["questions"] = questions
        opened = NOW - timedelta(weeks=10 - number)
        rnd = Round(
            conversation_id=conv.id,
            number=number,
            scheduled_for=opened,
            status=status,
            trigger="schedule",
            opened_at=None if status == "missed" else opened,
            deadline=opened + timedelta(days=3),
            closed_at=opened + timedelta(days=3) if status == "closed" else None,
            agenda=agenda,
        )
        self.s.add(rnd)
        self.s.flush()
        return rnd

    def member(self, name: str) -> Member:
        if name not in self.members:
            ident = "console:" + name.lower().replace(" ", "-")
            found = self.s.scalars(select(Member).where(Member.identity == ident)).first()
            self.members[name] = found or Member(identity=ident, display_name=name)
            self.s.add(self.members[name])
            self.s.flush()
        return self.members[name]

    def participant(self, rnd: Round, name: str, group_key: str, status: str) -> Participant:
        p = Participant(
            round_id=rnd.id, member_id=self.member(name).id, group_key=group_key, status=status
        )
        self.s.add(p)
        self.s.flush()
        return p

    def answer(self, p: Participant, qid: str, value: Any, *, skipped: bool = False) -> None:
        self.tick += 1
        self.s.add(
            Answer(
                participant_id=p.id,
                question_id=qid,
                value=None if skipped else value,
                skipped=skipped,
                answered_at=NOW - timedelta(days=100) + timedelta(minutes=self.tick),
            )
        )

    def answers(self, p: Participant, **values: Any) -> None:
        for qid, value in values.items():
            self.answer(p, qid, value)


@contextmanager
def built(db: Database) -> Iterator[Builder]:
    with db.transaction() as s:
        b = Builder(s)
        b.group("marketing", "Marketing & PR")
        b.group("sales", "Sales")
        yield b


def digest_of(db: Database, scope: str, which: str = "last") -> Digest:
    with db.transaction() as s:
        return build_digest(s, scope=scope, which=which, organisation="Acme", now=NOW)  # type: ignore[arg-type]


def only(digest: Digest) -> ConversationDigest:
    assert len(digest.conversations) == 1
    return digest.conversations[0]


def question(conv: ConversationDigest, qid: str) -> QuestionRollup:
    return next(q for q in conv.questions if q.question_id == qid)


# --- the social-media scenario: two closed rounds and a missed one --------------------------

ROUND1_QUESTIONS = [
    q_rating("reach", maturity="external"),
    q_choice("channel", ["Blogs", "Fan pages", "Listening"]),
    q_simple("budget", "yes_no"),
]
ROUND2_QUESTIONS = [
    q_rating("reach", maturity="external"),
    q_choice("channel", ["Blogs", "Fan pages", "Listening"]),
    q_choice("tools", ["Blogs", "Wiki", "CRM"], multiple=True),
    q_simple("budget", "yes_no"),
    q_simple("heard", "text"),
]


def social_media(db: Database) -> None:
    with built(db) as b:
        conv = b.conversation("social-media", ROUND2_QUESTIONS)
        r1 = b.round(conv, 1, "closed", ROUND1_QUESTIONS)
        ann = b.participant(r1, "Ann Archer", "marketing", "done")
        bob = b.participant(r1, "Bob Baker", "marketing", "done")
        dan = b.participant(r1, "Dan Dyer", "sales", "done")
        b.participant(r1, "Eve Evans", "sales", "pending")
        b.answers(ann, reach=2, channel="Blogs", budget=True)
        b.answers(bob, reach=3, channel="Blogs", budget=False)
        b.answers(dan, reach=2, channel="Listening", budget=False)

        r2 = b.round(conv, 2, "closed")
        ann = b.participant(r2, "Ann Archer", "marketing", "done")
        bob = b.participant(r2, "Bob Baker", "marketing", "done")
        b.participant(r2, "Cat Cole", "marketing", "skipped")
        dan = b.participant(r2, "Dan Dyer", "sales", "done")
        b.participant(r2, "Eve Evans", "sales", "pending")
        fay = b.participant(r2, "Fay Fox", "sales", "answering")
        b.answer(bob, "heard", "Customers ask for   faster replies")
        b.answers(bob, reach=5, channel="Listening", tools=["Wiki"], budget=True)
        b.answers(ann, reach=4, channel="Listening", tools=["Blogs", "Wiki"], budget=True)
        b.answer(ann, "heard", "  More video  ")
        b.answers(dan, reach=3, channel="Blogs", budget=False)
        b.answer(dan, "heard", None, skipped=True)
        b.answer(fay, "reach", 4)  # partial: Fay is still answering

        b.round(conv, 3, "missed")  # a missed round is never digested


def test_rating_mean_distribution_labels_and_previous_mean(db: Database) -> None:
    social_media(db)
    conv = only(digest_of(db, "social-media"))
    assert (conv.status, conv.round_number, conv.previous_round_number) == ("closed", 2, 1)
    reach = question(conv, "reach")
    assert reach.type == "rating"
    assert reach.rating is not None
    assert reach.rating.mean == 4.0  # 4, 5, 3 and Fay's partial 4
    assert reach.rating.count == 4
    assert reach.answered == 4
    assert reach.rating.distribution == {1: 0, 2: 0, 3: 1, 4: 2, 5: 1}
    assert reach.rating.labels == {1: "poor", 5: "excellent"}
    assert reach.rating.previous_mean == 2.33  # (2 + 3 + 2) / 3


def test_choice_counts_list_every_option_with_zeros_and_previous_counts(db: Database) -> None:
    social_media(db)
    conv = only(digest_of(db, "social-media"))
    channel = question(conv, "channel")
    assert channel.choices is not None
    assert channel.choices.counts == {"Blogs": 1, "Fan pages": 0, "Listening": 2}
    assert list(channel.choices.counts) == ["Blogs", "Fan pages", "Listening"]
    assert channel.choices.previous_counts == {"Blogs": 2, "Fan pages": 0, "Listening": 1}

    tools = question(conv, "tools")  # new this round: nothing to compare with
    assert tools.choices is not None
    assert tools.choices.counts == {"Blogs": 1, "Wiki": 2, "CRM": 0}
    assert tools.choices.previous_counts is None
    assert tools.answered == 2


def test_yes_no_counts_as_yes_and_no(db: Database) -> None:
    social_media(db)
    budget = question(only(digest_of(db, "social-media")), "budget")
    assert budget.type == "yes_no"
    assert budget.choices is not None
    assert budget.choices.counts == {"yes": 2, "no": 1}
    assert budget.choices.previous_counts == {"yes": 1, "no": 2}


def test_text_answers_carry_author_and_group_in_answer_order(db: Database) -> None:
    social_media(db)
    heard = question(only(digest_of(db, "social-media")), "heard")
    assert [(t.text, t.author, t.group_key) for t in heard.texts] == [
        ("Customers ask for   faster replies", "Bob Baker", "marketing"),
        ("More video", "Ann Archer", "marketing"),
    ]
    assert (heard.answered, heard.skipped) == (2, 1)


def test_participation_per_group_with_missing_names_and_previous_round(db: Database) -> None:
    social_media(db)
    conv = only(digest_of(db, "social-media"))
    marketing, sales = conv.participation
    assert (marketing.group_key, marketing.title) == ("marketing", "Marketing & PR")
    assert (marketing.invited, marketing.answered, marketing.skipped) == (3, 2, 1)
    assert marketing.missing == ()
    assert (sales.invited, sales.answered, sales.partly, sales.skipped) == (3, 1, 1, 0)
    assert sales.missing == ("Eve Evans",)  # Fay answered part of it before the round closed
    assert (conv.invited, conv.answered, conv.partly) == (6, 3, 1)
    assert (conv.previous_invited, conv.previous_answered) == (4, 3)


def test_previous_picks_the_round_before_the_last(db: Database) -> None:
    social_media(db)
    digest = digest_of(db, "social-media", which="previous")
    conv = only(digest)
    assert digest.which == "previous"
    assert (conv.round_number, conv.previous_round_number, conv.previous_invited) == (1, None, None)
    assert [q.question_id for q in conv.questions] == ["reach", "channel", "budget"]
    reach = question(conv, "reach")
    assert reach.rating is not None
    assert (reach.rating.mean, reach.rating.previous_mean) == (2.33, None)
    assert question(conv, "budget").choices.counts == {"yes": 1, "no": 2}  # type: ignore[union-attr]
    assert (conv.invited, conv.answered) == (4, 3)
    assert conv.participation[1].missing == ("Eve Evans",)


def test_open_round_gives_a_partial_digest(db: Database) -> None:
    social_media(db)
    with built(db) as b:
        conv = b.s.scalars(select(Conversation).where(Conversation.key == "social-media")).one()
        r4 = b.round(conv, 4, "open")
        ann = b.participant(r4, "Ann Archer", "marketing", "done")
        bob = b.participant(r4, "Bob Baker", "marketing", "answering")
        b.participant(r4, "Cat Cole", "marketing", "pending")
        b.answers(ann, reach=5, channel="Fan pages", tools=["CRM"], budget=True, heard="Ship it")
        b.answers(bob, reach=2, channel="Fan pages")
    conv_d = only(digest_of(db, "social-media"))
    # In progress: nothing is compared with the previous round until this one has closed.
    assert (conv_d.status, conv_d.round_number, conv_d.previous_round_number) == ("open", 4, None)
    assert (conv_d.previous_invited, conv_d.previous_answered) == (None, None)
    assert conv_d.closed_at is None and conv_d.deadline is not None
    reach = question(conv_d, "reach")
    assert reach.rating is not None
    assert (reach.rating.mean, reach.rating.count, reach.rating.previous_mean) == (3.5, 2, None)
    channel = question(conv_d, "channel").choices
    assert channel is not None and channel.counts["Fan pages"] == 2
    assert channel.previous_counts is None
    assert (conv_d.invited, conv_d.answered, conv_d.partly) == (3, 1, 1)
    assert conv_d.participation[0].missing == ("Cat Cole",)  # Bob has begun
    # "previous" now means the last closed round, compared with the one before it
    previous = only(digest_of(db, "social-media", which="previous"))
    assert (previous.round_number, previous.previous_round_number) == (2, 1)


def test_anonymous_conversation_shows_no_names_anywhere(db: Database) -> None:
    names = ["Zelda Quill", "Yorick Plume", "Xavier Nib"]
    with built(db) as b:
        b.group("legal", "Legal & Security")
        questions = [q_simple("risks", "text"), q_rating("policy")]
        conv = b.conversation("social-liability", questions, groups=("legal",), anonymous=True)
        r1 = b.round(conv, 1, "closed")
        zelda = b.participant(r1, names[0], "legal", "done")
        b.participant(r1, names[1], "legal", "pending")
        xavier = b.participant(r1, names[2], "legal", "answering")
        b.answers(zelda, risks="Personal data in fan pages", policy=2)
        b.answers(xavier, risks="Retention of chat records")
    digest = digest_of(db, "social-liability")
    conv_d = only(digest)
    assert conv_d.anonymous
    risks = question(conv_d, "risks")
    assert [t.text for t in risks.texts] == [
        "Personal data in fan pages",
        "Retention of chat records",
    ]
    assert all(t.author is None for t in risks.texts)
    legal = conv_d.participation[0]
    assert (legal.invited, legal.answered, legal.missing) == (3, 1, ())
    dumped = json.dumps(digest.model_dump(mode="json"))
    rendered = "\n".join(render_digest_text(digest))
    for name in names:
        for part in name.split():
            assert part not in dumped
            assert part not in rendered


def test_a_conversation_without_rounds_has_status_none(db: Database) -> None:
    with built(db) as b:
        conv = b.conversation("social-support", [q_rating("speed")])
        b.round(conv, 1, "missed")
    conv_d = only(digest_of(db, "social-support"))
    assert conv_d.status == "none"
    assert (conv_d.round_id, conv_d.round_number, conv_d.questions) == (None, None, ())
    assert only(digest_of(db, "social-support", which="previous")).status == "none"


def test_all_includes_every_active_conversation_in_order(db: Database) -> None:
    social_media(db)
    with built(db) as b:
        b.conversation("social-support", [q_rating("speed")])
        b.conversation("social-retired", [q_rating("old")], active=False)
    digest = digest_of(db, "all")
    assert digest.scope == "all"
    assert [c.conversation_key for c in digest.conversations] == [
        "social-media",
        "social-support",
    ]
    assert [c.status for c in digest.conversations] == ["closed", "none"]
    assert digest.maturity is not None
    assert digest.maturity.external == 4.0
    # an inactive conversation can still be asked for by name
    assert only(digest_of(db, "social-retired")).status == "none"


def maturity_case(db: Database, internal: list[int], external: list[int]) -> None:
    """Two conversations, each with one maturity rating, answered in round 2 (round 1: 1s)."""
    with built(db) as b:
        inside = b.conversation("social-networking", [q_rating("inside", maturity="internal")])
        outside = b.conversation("social-media", [q_rating("outside", maturity="external")])
        for conv, qid, scores in ((inside, "inside", internal), (outside, "outside", external)):
            first = b.round(conv, 1, "closed")
            second = b.round(conv, 2, "closed")
            for i, score in enumerate(scores):
                name = f"Person {qid} {i}"
                b.answer(b.participant(first, name, "marketing", "done"), qid, 1)
                b.answer(b.participant(second, name, "marketing", "done"), qid, score)


@pytest.mark.parametrize(
    ("internal", "external", "stage", "move"),
    [
        ([2, 2], [2, 3], "laggard", "Experiment within IT"),
        ([2, 3], [4, 2], "externally mature", "Partner with marketing"),
        ([4, 2], [1, 2], "internally mature", "Encourage customer-facing initiatives"),
        ([3, 3], [5, 4], "enterprise maturity", "Formulate the social business strategy"),
    ],
)
def test_maturity_stage_for_each_quadrant(
    db: Database, internal: list[int], external: list[int], stage: str, move: str
) -> None:
    maturity_case(db, internal, external)
    maturity = digest_of(db, "all").maturity
    assert maturity is not None
    assert maturity.internal == sum(internal) / len(internal)
    assert maturity.external == sum(external) / len(external)
    assert maturity.stage == stage
    assert maturity.next_move.startswith(move)
    assert maturity.next_move == NEXT_MOVES[stage]
    assert maturity.previous_stage == "laggard"  # round 1 was all ones


def test_maturity_is_the_mean_of_each_conversations_own_mean(db: Database) -> None:
    with built(db) as b:
        for key, scores in (("social-networking", [5]), ("social-support", [2, 2])):
            conv = b.conversation(key, [q_rating("inside", maturity="internal")])
            r1 = b.round(conv, 1, "closed")
            for i, score in enumerate(scores):
                b.answer(b.participant(r1, f"{key} {i}", "sales", "done"), "inside", score)
    maturity = digest_of(db, "all").maturity
    assert maturity is not None
    # Per conversation, not per person: (5 + (2+2)/2) / 2, not (5+2+2)/3; a bigger group
    # weighs no more than a smaller one.
    assert (maturity.internal, maturity.external) == (3.5, None)
    assert maturity.stage == "internally mature"
    assert maturity.previous_stage is None  # no earlier rounds to compare with
    assert [(p.conversation_key, p.internal) for p in maturity.placed] == [
        ("social-networking", 5.0),
        ("social-support", 2.0),
    ]


def test_a_single_conversation_digest_has_no_maturity_view(db: Database) -> None:
    social_media(db)
    assert digest_of(db, "social-media").maturity is None


def test_unknown_scope_names_the_known_conversations(db: Database) -> None:
    social_media(db)
    with built(db) as b:
        b.conversation("social-support", [q_rating("speed")])
    with pytest.raises(UserError) as err:
        digest_of(db, "social-medai")
    message = str(err.value)
    assert "social-medai" in message
    assert "social-media" in message and "social-support" in message and "all" in message


def test_scope_is_case_and_space_insensitive(db: Database) -> None:
    social_media(db)
    digest = digest_of(db, "  Social-Media ")
    assert digest.scope == "social-media"
    assert only(digest).round_number == 2


def big_conversation(db: Database, people: int) -> None:
    with built(db) as b:
        conv = b.conversation("social-media", ROUND2_QUESTIONS)
        for number in (1, 2):
            rnd = b.round(conv, number, "closed")
            for i in range(people):
                p = b.participant(rnd, f"Person {i}", "sales" if i % 2 else "marketing", "done")
                b.answers(
                    p,
                    reach=1 + i % 5,
                    channel="Blogs",
                    tools=["Wiki", "CRM"],
                    budget=bool(i % 2),
                    heard=f"note {i}",
                )
        b.conversation("social-support", [q_rating("speed")])


def count_queries(db: Database, scope: str) -> int:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        digest_of(db, scope)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def wipe(db: Database) -> None:
    with db.transaction() as s:
        for model in (Answer, Participant, Round, Conversation, Member, Group):
            s.execute(delete(model))


@pytest.mark.parametrize("scope", ["social-media", "all"])
def test_query_count_does_not_grow_with_participants(db: Database, scope: str) -> None:
    big_conversation(db, 5)
    few = count_queries(db, scope)
    assert question(digest_of(db, scope).conversations[0], "reach").answered == 5

    wipe(db)
    big_conversation(db, 50)
    many = count_queries(db, scope)
    assert question(digest_of(db, scope).conversations[0], "reach").answered == 50

    assert many == few
    assert few <= 12  # the rounds, their people and answers, history (4), group titles


def test_save_digest_keeps_the_json_payload(db: Database) -> None:
    social_media(db)
    digest = digest_of(db, "social-media")
    with db.transaction() as s:
        digest_id = save_digest(
            s, digest, round_id=digest.conversations[0].round_id, requested_by="slack:UCIO"
        )
    with db.transaction() as s:
        row = s.get(DigestRow, digest_id)
        assert row is not None
        assert (row.scope, row.requested_by) == ("social-media", "slack:UCIO")
        assert row.round_id == digest.conversations[0].round_id
        assert row.created_at == NOW
        assert Digest.model_validate(row.payload) == digest


def test_render_digest_text_shows_the_key_lines(db: Database) -> None:
    social_media(db)
    with built(db) as b:
        b.conversation("social-support", [q_rating("speed")])
        inside = b.conversation("social-networking", [q_rating("inside", maturity="internal")])
        r1 = b.round(inside, 1, "closed")
        b.answer(b.participant(r1, "Gil Gray", "sales", "done"), "inside", 4)
    lines = render_digest_text(digest_of(db, "all"))
    text = "\n".join(lines)
    # The wording every platform shows (bot.presentation), laid out as plain text.
    assert lines[0] == "Strategy digest · Acme"
    assert lines[1].startswith("All conversations · generated ")
    assert "Social maturity: enterprise maturity" in lines
    # Each conversation's mean, then their mean: (4.0 + 4.0) / 2 internal, 4.0 external.
    assert "Internal 4.0 / 5 · External 4.0 / 5 · mean of 2 conversations" in lines
    assert "Next move: Formulate the social business strategy" in text
    assert "== Social Media ==" in lines
    assert "Round 2 · closed 2026-10-01 09:00 UTC" in lines
    # 3 of 6 now, 3 of 4 in round 1: the rate fell by 25 points.
    assert "3 of 6 answered (50%), 1 partly ▼ 25 pts since round 1" in lines
    assert "  Marketing & PR  ▇▇░ 2/3 · 1 skipped" in lines
    assert "  Sales           ▇░░ 1/3 · 1 partly" in lines
    assert "    Did not answer: Eve Evans" in lines
    assert "4.0 / 5 mean ▲ 1.7 (was 2.3)" in lines
    assert "rating 1-5 · 4 answered" in lines
    assert "  1 · poor       ░░ 0" in lines and "  5 · excellent  ▇░ 1" in lines
    assert "  Listening  ▇▇ 2 ▲ 1" in lines
    assert "  Blogs      ▇░ 1 ▼ 1" in lines
    assert "Not chosen: Fan pages" in lines  # nobody, then or now: no empty bar
    assert "Q4. Tell us about budget" in lines and "yes/no · 3 answered" in lines
    assert "  Yes  ▇▇ 2 ▲ 1" in lines
    assert "  “Customers ask for faster replies” — Bob Baker" in lines
    assert lines[lines.index("== Social Support ==") + 1] == "No round yet"
    assert all("\n" not in line for line in lines)


def test_answers_of_someone_who_then_skipped_the_round_are_not_counted(db: Database) -> None:
    with built(db) as b:
        conv = b.conversation("social-media", ROUND2_QUESTIONS)
        r1 = b.round(conv, 1, "closed")
        ann = b.participant(r1, "Ann Archer", "marketing", "done")
        cat = b.participant(r1, "Cat Cole", "marketing", "skipped")
        b.answers(ann, reach=4, channel="Blogs", budget=True)
        b.answers(cat, reach=1, channel="Listening")  # then Cat sat the round out
        b.answer(cat, "heard", "Nobody reads our blog")
    conv_d = only(digest_of(db, "social-media"))
    # "1 of 2 answered, 1 skipped" above "1 answered": the same people everywhere.
    assert (conv_d.invited, conv_d.answered, conv_d.partly) == (2, 1, 0)
    assert conv_d.participation[0].skipped == 1
    reach = question(conv_d, "reach")
    assert reach.answered == 1 and reach.rating is not None and reach.rating.mean == 4.0
    assert question(conv_d, "channel").choices.counts["Listening"] == 0  # type: ignore[union-attr]
    assert question(conv_d, "heard").texts == ()


def test_a_digest_during_an_open_round_never_compares_it(db: Database) -> None:
    social_media(db)
    with built(db) as b:
        conv = b.s.scalars(select(Conversation).where(Conversation.key == "social-media")).one()
        b.round(conv, 4, "open")
        b.participant(
            b.s.scalars(select(Round).where(Round.number == 4)).one(), "Ann", "marketing", "pending"
        )
    text = "\n".join(render_digest_text(digest_of(db, "social-media")))
    assert "open, partial" in text and "round 2:" not in text and "▼" not in text

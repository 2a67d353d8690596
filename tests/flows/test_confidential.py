"""Confidential questions: only the roles named read the answers; everyone else, counts.

Through the engine, on both databases: the CIO channel and unentitled readers (admins,
the CIO where not named) see how many answered and nothing an answer would show (its
words, a mean, a median, a tally); an entitled reader sees everything, in their own chat
only, and each such view is in the audit log; nothing built across conversations (themes,
consistency, the maturity map, history, what we heard, the language-model summary, the
export) carries a confidential answer.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.flows import export
from bot.flows.confidential import counts_only, secrets_of
from bot.flows.digest_model import ConversationDigest, Digest, QuestionRollup
from bot.flows.engine import EngineHooks
from bot.flows.events import Action, CommandInvoked
from bot.flows.outbound import (
    ConsistencyMessage,
    DigestMessage,
    Heard,
    History,
    Notice,
    OutboundMessage,
    Outgoing,
    Prompt,
)
from bot.flows.overview import strategy_digest
from bot.flows.summary import OpenAICompatible
from bot.presentation import build_view
from bot.presentation.sections import Field
from bot.presentation.text import lines
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.flows.confidential_playbook import (
    ADMIN,
    CHANNEL,
    CIO,
    COUNSEL,
    EXPOSURE,
    HEARING_SAID,
    INCIDENTS,
    LEGAL,
    RISK_SAID,
    confidential_playbook,
)
from tests.flows.test_summary import FakeModel

# What a view that may not read Social Liability's answers must never show: the words,
# the rating's mean (3.67 → "3.7"), the measure's median and range, the choice's tally.
LIABILITY_SECRETS = (*RISK_SAID, "3.7", "3.67", "from 7 to 11", "median", "Not chosen")


def shown(message: OutboundMessage) -> str:
    """Everything a reader would see of a message (its plain-text layout) and its data."""
    return "\n".join(lines(build_view(message))) + "\n" + message.model_dump_json()


def leaks(message: OutboundMessage, secrets: tuple[str, ...] = LIABILITY_SECRETS) -> list[str]:
    text = shown(message)
    return [s for s in secrets if s in text]


def answer_liability(bot: EngineHarness) -> None:
    """Everyone in legal answers Social Liability's round; it closes as they finish."""
    bot.command(ADMIN, "ask social-liability")
    owners = ("Legal", "IT", "Legal")
    said = (*RISK_SAID, RISK_SAID[0])  # two say the same: a theme, if it were counted
    for who, text, rating, figure, owner in zip(
        LEGAL, said, EXPOSURE, INCIDENTS, owners, strict=True
    ):
        for reply in (text, str(rating), str(figure), owner):
            bot.say(who, reply)


def answer_media(bot: EngineHarness) -> None:
    """Maria and Sam answer Social Media; its listening question is for general counsel."""
    bot.command(ADMIN, "ask social-media")
    for who in ("console:maria", "console:sam"):
        for reply in (HEARING_SAID, "4", "Blogs", "yes"):
            bot.say(who, reply)


def handle(bot: EngineHarness, actor: str, text: str, place: str | None = None) -> list[Outgoing]:
    return bot.engine.handle(CommandInvoked(actor=actor, text=text, place=place))


def audited(bot: EngineHarness) -> list[tuple[str, str, str, dict[str, Any]]]:
    with bot.db.transaction() as s:
        rows = s.scalars(
            select(models.AuditEntry)
            .where(models.AuditEntry.action == "read confidential answers")
            .order_by(models.AuditEntry.id)
        ).all()
        return [(r.actor, r.action, r.target, dict(r.detail)) for r in rows]


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock, confidential_playbook())


def test_the_cio_channel_gets_counts_and_who_may_read_the_answers(bot: EngineHarness) -> None:
    answer_liability(bot)
    (digest,) = [m for m in bot.queued(CHANNEL) if isinstance(m, DigestMessage)]
    assert leaks(digest) == []
    text = shown(digest)
    assert "3 of 3 answered" in text
    for question in ("What risk worries you most?", "How exposed are we?"):
        assert question in text  # the questions are there, with their counts
    assert text.count("rating 1-5 · 3 answered") == 1
    assert (
        "4 questions are confidential to the CIO and general counsel: they read their answers"
        " in their own chat with the bot, with “digest social-liability” there" in text
    )
    assert audited(bot) == []  # a channel's view shows nothing confidential: nothing to audit


def test_an_entitled_reader_sees_everything_in_their_own_chat_and_is_audited(
    bot: EngineHarness, clock: FakeClock
) -> None:
    answer_liability(bot)
    (out,) = handle(bot, CIO, "digest social-liability")
    assert out.address == CIO
    text = shown(out.message)
    for secret in (*RISK_SAID, "3.7 / 5 mean", "9 median (from 7 to 11)", "Lee (Counsel)"):
        assert secret in text
    assert "recorded in the audit log" in text
    assert audited(bot) == [
        (
            CIO,
            "read confidential answers",
            "social-liability",
            {
                "platform": "console",
                "round": "1",
                "questions": "risk, exposure, incidents, owner",
            },
        )
    ]
    (log,) = bot.command(ADMIN, "audit social-liability")
    assert isinstance(log, Notice)
    at = clock().strftime("%Y-%m-%d %H:%M")
    assert log.lines[0] == (
        f"{at} UTC · console:cio · read confidential answers social-liability"
        " (platform console, questions risk, exposure, incidents, owner, round 1)"
    )


def test_admins_see_counts_and_are_not_audited(bot: EngineHarness) -> None:
    answer_liability(bot)
    for text in ("digest social-liability", "digest all", "digest social-liability previous"):
        for out in handle(bot, ADMIN, text):
            assert leaks(out.message) == [], text
    assert audited(bot) == []


def test_asked_in_the_cio_channel_the_channel_gets_counts_and_the_asker_their_view(
    bot: EngineHarness,
) -> None:
    answer_liability(bot)
    channel, private = handle(bot, CIO, "digest social-liability", place=CHANNEL)
    assert channel.address == CHANNEL and leaks(channel.message) == []
    assert private.address == CIO and RISK_SAID[1] in shown(private.message)
    assert len(audited(bot)) == 1
    # Someone not entitled asking there: the channel's view only, nothing private.
    (only,) = handle(bot, ADMIN, "digest social-liability", place=CHANNEL)
    assert only.address == CHANNEL and leaks(only.message) == []
    assert len(audited(bot)) == 1


def test_the_cio_not_named_reads_counts_like_anyone(bot: EngineHarness) -> None:
    answer_media(bot)
    (out,) = handle(bot, CIO, "digest social-media")
    text = shown(out.message)
    assert HEARING_SAID not in text
    assert "Confidential: only general counsel read these answers" in text
    assert "Blogs" in text and "4.0 / 5 mean" in text  # the rest is the CIO's as ever
    assert audited(bot) == []


def test_a_role_of_its_own_reads_only_what_is_confidential_to_it(bot: EngineHarness) -> None:
    answer_media(bot)
    answer_liability(bot)
    (media,) = handle(bot, COUNSEL, "digest social-media")
    text = shown(media.message)
    assert HEARING_SAID in text
    # Not the CIO's reading: the other questions, the rating's mean, who answered.
    assert "Which channel matters most?" not in text and "4.0 / 5" not in text
    assert "Maria (Marketing)" in text  # the author of the words they may read
    (liability,) = handle(bot, COUNSEL, "digest social-liability")
    assert all(s in shown(liability.message) for s in RISK_SAID)
    assert [(a, t, d["platform"]) for a, _, t, d in audited(bot)] == [
        (COUNSEL, "social-media", "console"),
        (COUNSEL, "social-liability", "console"),
    ]
    (refused,) = handle(bot, COUNSEL, "digest all")
    assert isinstance(refused.message, Notice) and refused.message.level == "error"
    assert refused.message.lines == (
        "Your role reads the confidential answers of one conversation at a time:"
        " “digest social-media”, “digest social-liability”.",
    )
    for command in ("status", "history social-liability", "consistency"):
        (denied,) = handle(bot, COUNSEL, command)
        assert isinstance(denied.message, Notice) and denied.message.level == "error"
    (helped,) = handle(bot, COUNSEL, "help")
    assert "digest" in shown(helped.message) and "status" not in shown(helped.message)
    # Help offers only what the role may ask for: no `digest all`, which it is refused.
    assert "digest <conversation> [last|previous]" in shown(helped.message)
    assert "conversation|all" not in shown(helped.message)
    assert len(audited(bot)) == 2


def test_nothing_across_the_six_carries_a_confidential_answer(
    db: Database, clock: FakeClock
) -> None:
    playbook = confidential_playbook()
    playbook["conversations"][0]["questions"][0].pop("confidential")  # media: no secrets
    bot = EngineHarness(db, clock, playbook)
    answer_media(bot)
    answer_liability(bot)
    (out,) = handle(bot, CIO, "digest all")
    digest = out.message
    assert isinstance(digest, DigestMessage) and digest.digest.consistency is not None
    # The CIO is entitled, so Social Liability's own round shows them in full ...
    assert RISK_SAID[1] in shown(digest)
    # ... but the themes, the standings and the maturity map, built for everyone, do not.
    across = json.dumps(
        [
            digest.digest.consistency.model_dump(mode="json"),
            [s.model_dump(mode="json") for s in digest.digest.standings],
            digest.digest.maturity.model_dump(mode="json") if digest.digest.maturity else None,
        ]
    )
    assert all(s not in across for s in (*RISK_SAID, "admin rights", "3.67"))
    assert "Customers quote our leaked roadmap" in across  # themes still come from the rest
    maturity = digest.digest.maturity
    assert maturity is not None
    # Social Liability's only maturity rating is confidential: it is not on the map.
    assert [p.conversation_key for p in maturity.placed] == ["social-media"]
    assert maturity.internal is None
    (consistency,) = bot.command(CIO, "consistency")
    assert isinstance(consistency, ConsistencyMessage)
    assert leaks(consistency) == []
    (history,) = bot.command(CIO, "history social-liability")
    assert isinstance(history, History)
    assert [(r.answered, r.internal) for r in history.rounds] == [(3, None)]


def test_what_we_heard_tells_how_many_answered_and_who_reads_them(bot: EngineHarness) -> None:
    answer_liability(bot)
    (heard,) = [m for m in bot.queued("console:lee") if isinstance(m, Heard)]
    assert leaks(heard) == []
    assert "3 answers, confidential: read only by the CIO and general counsel." in shown(heard)


def test_the_language_model_is_never_sent_a_confidential_answer(
    db: Database, clock: FakeClock
) -> None:
    fake = FakeModel()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        playbook = confidential_playbook()
        playbook["conversations"][0]["questions"][0].pop("confidential")
        bot = EngineHarness(db, clock, playbook)
        bot.engine.hooks = EngineHooks(summariser=OpenAICompatible(base_url=fake.url, model="m"))
        answer_media(bot)
        answer_liability(bot)
        bot.command(CIO, "consistency")
        (request,) = fake.requests
        sent = json.dumps(request["body"])
        assert HEARING_SAID in sent
        assert all(s not in sent for s in RISK_SAID)
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def test_a_range_keeps_trends_and_choices_to_their_readers(
    bot: EngineHarness, clock: FakeClock
) -> None:
    answer_liability(bot)
    answer_liability(bot)
    (admin,) = handle(bot, ADMIN, "digest social-liability rounds 2")
    assert isinstance(admin.message, DigestMessage)
    (conv,) = admin.message.digest.conversations
    assert conv.trends == () and conv.recurring == ()
    assert leaks(admin.message) == []
    (cio,) = handle(bot, CIO, "digest social-liability rounds 2")
    assert isinstance(cio.message, DigestMessage)
    (conv,) = cio.message.digest.conversations
    assert {t.question_id for t in conv.trends} == {"exposure", "incidents"}
    assert [r.question_id for r in conv.recurring] == ["owner"]
    ((_, _, _, detail),) = audited(bot)
    assert detail["round"] == "1-2"


def test_the_promise_made_when_answering_is_kept(db: Database, clock: FakeClock) -> None:
    bot = EngineHarness(db, clock, confidential_playbook())
    answer_liability(bot)
    # The playbook drops the promise: the round answered under it stays confidential.
    lifted = confidential_playbook()
    lifted["conversations"][1].pop("confidential")
    after = EngineHarness(db, clock, lifted)
    (admin,) = handle(after, ADMIN, "digest social-liability")
    assert leaks(admin.message) == []
    # It narrows the list to general counsel: the CIO no longer reads even the old round.
    narrowed = confidential_playbook()
    narrowed["conversations"][1]["confidential"] = ["general_counsel"]
    later = EngineHarness(db, clock, narrowed)
    (cio,) = handle(later, CIO, "digest social-liability")
    assert leaks(cio.message) == []
    (counsel,) = handle(later, COUNSEL, "digest social-liability")
    assert RISK_SAID[0] in shown(counsel.message)


def test_the_export_carries_counts_unless_the_reader_is_entitled(bot: EngineHarness) -> None:
    answer_media(bot)
    answer_liability(bot)
    with bot.db.transaction() as s:
        found = [r for r, _ in export.rounds_to_export(s, None, None)]
        default = list(export.rows(s, found))
        entitled = list(export.rows(s, found, reader=frozenset({"general_counsel"})))
    answers = [r for r in default if r.record == "answer"]
    liability = [r.answer for r in answers if r.conversation == "social-liability"]
    assert [a for a in liability if "confidential" not in a] == []
    assert HEARING_SAID not in {r.answer for r in answers}
    assert {
        (r.conversation, r.question, r.answer, r.person)
        for r in answers
        if "confidential" in r.answer
    } == {
        ("social-media", "What are you hearing from customers?", "2 answers, confidential", ""),
        ("social-liability", "What risk worries you most?", "3 answers, confidential", ""),
        ("social-liability", "How exposed are we?", "3 answers, confidential", ""),
        ("social-liability", "Incidents this quarter?", "3 answers, confidential", ""),
        ("social-liability", "Who should own it?", "3 answers, confidential", ""),
    }
    assert {"Blogs", "Yes"} <= {r.answer for r in answers}  # the rest is as it was
    said = {r.answer for r in entitled if r.record == "answer"}
    assert set(RISK_SAID) | {HEARING_SAID, "Legal"} <= said


def test_a_playbook_without_confidential_questions_shows_and_audits_as_before(
    db: Database, clock: FakeClock
) -> None:
    from tests.fakes.engine import PLAYBOOK

    bot = EngineHarness(db, clock, copy.deepcopy(PLAYBOOK))
    answer_media(bot)
    (out,) = handle(bot, ADMIN, "digest social-media")
    assert HEARING_SAID in shown(out.message)
    assert audited(bot) == []


def test_the_people_asked_are_told_who_will_read_their_answer(bot: EngineHarness) -> None:
    bot.command(ADMIN, "ask social-liability")
    (prompt,) = [m for m in bot.queued("console:lee") if isinstance(m, Prompt)]
    told = "Confidential: only the CIO and general counsel will read your answer"
    assert told in shown(prompt)
    (form,) = bot.press("console:lee", Action.ANSWER_ALL, prompt.round_id)
    hints = [f.help for f in build_view(form).sections if isinstance(f, Field)]
    assert len(hints) == 4 and all(h and told in h for h in hints)  # in the form too
    bot.command(ADMIN, "ask social-media")
    (media,) = [m for m in bot.queued("console:maria") if isinstance(m, Prompt)]
    assert "only general counsel will read your answer" in shown(media)  # its listening one


def test_the_slack_home_look_shows_no_confidential_answer(
    bot: EngineHarness, clock: FakeClock
) -> None:
    answer_liability(bot)
    look = strategy_digest(bot.db, clock(), "Acme")
    assert leaks(DigestMessage(digest=look)) == []
    assert audited(bot) == []


def test_a_round_and_the_playbook_with_no_role_in_common_leave_nobody_to_read_it() -> None:
    agenda = {"confidential": ["cio", "general_counsel"], "questions": [{"id": "risk"}]}
    now = {"questions": [{"id": "risk", "confidential": ["admins"]}]}
    assert secrets_of(now, agenda) == {"risk": frozenset()}
    assert secrets_of({"questions": [{"id": "risk"}]}, {"questions": [{"id": "risk"}]}) == {}
    nobody = counts_only(
        QuestionRollup(
            question_id="risk", text="Risk?", type="text", answered=2, skipped=0, confidential=()
        )
    )
    text = "\n".join(lines(build_view(DigestMessage(digest=_one(nobody)))))
    assert "Confidential: nobody reads these answers" in text


def _one(question: QuestionRollup) -> Digest:
    return Digest(
        scope="social-liability",
        organisation="Acme",
        generated_at=datetime(2026, 11, 23, tzinfo=UTC),
        conversations=(
            ConversationDigest(
                conversation_key="social-liability",
                title="Social Liability",
                round_id=1,
                round_number=1,
                status="closed",
                questions=(question,),
                withheld=1,
            ),
        ),
    )

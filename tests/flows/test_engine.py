"""The engine end to end on a real database, with no adapter: what each user sees."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.flows.events import Action
from bot.flows.outbound import DigestMessage, Form, Heard, Notice, Prompt, Summary
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness, text_of


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock)


def open_round(bot: EngineHarness) -> int:
    replies = bot.command("console:admin", "ask social-media")
    assert isinstance(replies[0], Notice) and replies[0].level == "success", replies
    prompt = bot.queued("console:maria")[0]
    assert isinstance(prompt, Prompt)
    return prompt.round_id


def test_ask_prompts_every_member_once_and_tells_the_cio(bot: EngineHarness) -> None:
    round_id = open_round(bot)
    for who in ("console:maria", "console:sam"):
        msgs = bot.queued(who) if who != "console:maria" else []
        if who == "console:sam":
            assert len(msgs) == 1 and isinstance(msgs[0], Prompt)
            assert msgs[0].opening and msgs[0].purpose and msgs[0].question.id == "hearing"
    assert bot.queued("console:lee") == []  # not in the conversation's groups
    cio = bot.queued("console:#cio")
    assert "round 1 is open. 2 stakeholders prompted" in text_of(cio)
    again = bot.command("console:admin", "ask social-media")
    assert isinstance(again[0], Notice) and again[0].level == "error"
    assert "already open" in again[0].lines[0]
    assert bot.queued("console:sam") == []
    assert round_id > 0


def test_answering_one_question_at_a_time_then_done(bot: EngineHarness) -> None:
    open_round(bot)
    (q2,) = bot.say("console:maria", "Customers love the new blog 🎉")
    assert isinstance(q2, Prompt) and q2.question.id == "external"
    (again,) = bot.say("console:maria", "9")
    assert isinstance(again, Prompt) and again.question.id == "external"
    assert again.note and "outside the scale" in again.note and "1 (not started)" in again.note
    (q3,) = bot.say("console:maria", "4")
    assert isinstance(q3, Prompt) and q3.question.id == "channel"
    (bad,) = bot.say("console:maria", "Twiter")
    assert isinstance(bad, Prompt) and bad.note and "Did you mean “Twitter”" in bad.note
    (q4,) = bot.say("console:maria", "twitter")
    assert isinstance(q4, Prompt) and q4.question.id == "pilot"
    done = bot.say("console:maria", "skip")
    assert isinstance(done[0], Summary) and done[0].done
    answers = {i.question_id: i.answer for i in done[0].items}
    assert answers == {
        "hearing": "Customers love the new blog 🎉",
        "external": "4/5",
        "channel": "Twitter",
        "pilot": None,
    }
    assert "no open questions" in text_of(bot.say("console:maria", "mine"))


def test_required_question_cannot_be_skipped(bot: EngineHarness) -> None:
    open_round(bot)
    (reply,) = bot.say("console:maria", "skip")
    assert isinstance(reply, Notice) and "required" in reply.lines[0]


def test_free_text_that_starts_like_a_command_is_an_answer(bot: EngineHarness) -> None:
    open_round(bot)
    (nxt,) = bot.say("console:maria", "close collaboration with support is key")
    assert isinstance(nxt, Prompt) and nxt.question.id == "external"


def test_form_stores_everything_or_nothing(bot: EngineHarness) -> None:
    round_id = open_round(bot)
    (form,) = bot.press("console:sam", Action.ANSWER_ALL, round_id)
    assert isinstance(form, Form) and len(form.questions) == 4
    (bad,) = bot.submit(
        "console:sam", round_id, {"hearing": "", "external": "7", "channel": "Blogs"}
    )
    assert isinstance(bad, Form)
    assert set(bad.errors) == {"hearing", "external"}
    with bot.db.transaction() as s:
        assert s.scalars(select(models.Answer)).all() == []
    good = bot.submit(
        "console:sam",
        round_id,
        {
            "hearing": "Fans ask for faster replies",
            "external": 3,
            "channel": "Blogs",
            "pilot": True,
        },
    )
    assert isinstance(good[0], Summary) and good[0].done


def test_unknown_form_fields_are_refused(bot: EngineHarness) -> None:
    round_id = open_round(bot)
    (bad,) = bot.submit("console:sam", round_id, {"hacker": "x", "hearing": "a"})
    assert isinstance(bad, Form) and "not on the agenda" in bad.errors["_form"]


def test_edit_an_answer_keeps_history(bot: EngineHarness) -> None:
    round_id = open_round(bot)
    bot.submit("console:sam", round_id, {"hearing": "v1", "external": 2, "channel": "Blogs"})
    (prompt,) = bot.press("console:sam", Action.EDIT, round_id, "hearing")
    assert isinstance(prompt, Prompt) and prompt.question.id == "hearing"
    (summary,) = bot.say("console:sam", "v2")
    assert isinstance(summary, Summary)
    assert summary.items[0].answer == "v2"
    with bot.db.transaction() as s:
        revs = s.scalars(select(models.AnswerRevision)).all()
        assert [r.value for r in revs] == ["v1"]


def test_everyone_answering_closes_early_with_a_digest(bot: EngineHarness) -> None:
    round_id = open_round(bot)
    bot.queued("console:#cio")
    for who, rating in (("console:maria", 4), ("console:sam", 2)):
        bot.submit(
            who, round_id, {"hearing": f"{who} hears", "external": rating, "channel": "Blogs"}
        )
    cio = bot.queued("console:#cio")
    digests = [m for m in cio if isinstance(m, DigestMessage)]
    assert len(digests) == 1
    conv = digests[0].digest.conversations[0]
    assert conv.status == "closed" and conv.answered == 2
    rating = next(q for q in conv.questions if q.question_id == "external").rating
    assert rating is not None and rating.mean == 3.0
    late = bot.say("console:maria", "one more thing")
    assert "closed" in text_of(late) and "wasn't recorded" in text_of(late)


def test_deadline_closes_and_late_button_is_refused(bot: EngineHarness, clock: FakeClock) -> None:
    round_id = open_round(bot)
    bot.say("console:sam", "We hear a lot about response times")
    bot.queued("console:sam")
    clock.advance(timedelta(days=3, minutes=1))
    bot.engine.tick()
    (reply,) = bot.press("console:maria", Action.SKIP_ROUND, round_id)
    assert isinstance(reply, Notice) and reply.level == "error" and "closed" in reply.lines[0]
    # Those who had not finished are told, once, and what they said is kept.
    told, heard_back = bot.queued("console:sam")
    assert isinstance(told, Notice) and "What you had answered is in the digest" in told.lines[0]
    told_maria, heard_maria = bot.queued("console:maria")
    assert "asked again next round" in told_maria.lines[0]  # type: ignore[union-attr]
    # Then what the group said, to everyone the round asked (`bot.flows.heard`).
    assert isinstance(heard_back, Heard) and heard_back.round_id == round_id
    assert heard_maria == heard_back


def test_reminders_go_once_to_those_unfinished(bot: EngineHarness, clock: FakeClock) -> None:
    round_id = open_round(bot)
    bot.queued("console:sam")
    bot.submit("console:maria", round_id, {"hearing": "x", "external": 3, "channel": "Blogs"})
    bot.queued("console:maria")
    clock.advance(timedelta(days=2, hours=1))  # the 1d-before-deadline reminder is due
    bot.engine.tick()
    bot.engine.tick()
    reminders = bot.queued("console:sam")
    assert len(reminders) == 1 and isinstance(reminders[0], Prompt) and reminders[0].reminder
    assert bot.queued("console:maria") == []


def test_snooze_delays_and_then_asks_again(bot: EngineHarness, clock: FakeClock) -> None:
    open_round(bot)
    bot.queued("console:sam")
    (ok,) = bot.say("console:sam", "snooze 2h")
    assert isinstance(ok, Notice) and "Snoozed" in ok.lines[0]
    clock.advance(timedelta(hours=1))
    bot.engine.tick()
    assert bot.queued("console:sam") == []
    clock.advance(timedelta(hours=1, minutes=1))
    bot.engine.tick()
    (again,) = bot.queued("console:sam")
    assert isinstance(again, Prompt)
    (bad,) = bot.say("console:sam", "snooze forever")
    assert isinstance(bad, Notice) and bad.level == "error" and "duration" in bad.lines[0]


def test_retried_event_is_processed_once(bot: EngineHarness) -> None:
    open_round(bot)
    first = bot.say("console:maria", "first answer", event_id="Ev1")
    assert first
    assert bot.say("console:maria", "first answer", event_id="Ev1") == []
    with bot.db.transaction() as s:
        assert len(s.scalars(select(models.Answer)).all()) == 1


@pytest.mark.parametrize(
    ("actor", "command", "expected"),
    [
        ("console:maria", "ask social-media", "Only admins can use “ask”"),
        ("console:maria", "digest", "Only the CIO and admins can use “digest”"),
        ("console:cio", "schedule social-media every day", "Only admins"),
        ("console:admin", "ask social-medai", "Did you mean “social-media”"),
        ("console:admin", "stauts", "Did you mean “status”"),
        ("console:admin", "schedule social-media every blue moon", "blue"),
        ("console:admin", "close social-media", "has no open round"),
        ("console:admin", "pause", "“pause” is used like this"),
    ],
)
def test_command_errors_are_specific(
    bot: EngineHarness, actor: str, command: str, expected: str
) -> None:
    (reply,) = bot.command(actor, command)
    assert isinstance(reply, Notice) and reply.level == "error"
    assert expected in reply.lines[0]


def test_schedule_pause_resume_are_stored_and_audited(bot: EngineHarness) -> None:
    (ok,) = bot.command(
        "console:admin", "schedule social-media every monday at 08:30 Europe/Berlin"
    )
    assert ok.level == "success" and "Next round" in ok.lines[0]  # type: ignore[union-attr]
    bot.command("console:admin", "pause social-media")
    assert ("social-media", "every monday at 08:30 Europe/Berlin", True) in bot.engine.cadences()
    (status,) = bot.command("console:cio", "status social-media")
    assert "paused" in text_of([status])
    bot.command("console:admin", "resume social-media")
    with bot.db.transaction() as s:
        actions = [a.action for a in s.scalars(select(models.AuditEntry))]
    assert actions == ["schedule", "pause", "resume"]


def test_paused_conversation_opens_no_scheduled_round(bot: EngineHarness, clock: FakeClock) -> None:
    bot.command("console:admin", "pause social-media")
    assert not bot.engine.open_scheduled_round("social-media", clock(), "schedule")
    bot.command("console:admin", "resume social-media")
    assert bot.engine.open_scheduled_round("social-media", clock(), "schedule")
    assert not bot.engine.open_scheduled_round("social-media", clock(), "schedule")


def test_enterprise_digest_places_nobody_without_maturity_ratings(bot: EngineHarness) -> None:
    (empty,) = bot.command("console:cio", "digest all")
    assert isinstance(empty, DigestMessage) and empty.digest.maturity is None
    round_id = open_round(bot)
    bot.submit("console:sam", round_id, {"hearing": "x", "external": 4, "channel": "Blogs"})
    (running,) = bot.command("console:cio", "digest all")
    # An open round is still filling up: the organisation is placed when it closes.
    assert isinstance(running, DigestMessage) and running.digest.maturity is None
    bot.command("console:admin", "close social-media")
    (rated,) = bot.command("console:cio", "digest all")
    assert isinstance(rated, DigestMessage) and rated.digest.maturity is not None
    assert rated.digest.maturity.stage == "externally mature"


def test_help_shows_commands_for_the_role(bot: EngineHarness) -> None:
    stakeholder = text_of(bot.say("console:maria", "help"))
    admin = text_of(bot.command("console:admin", "help"))
    assert "snooze" in stakeholder and "schedule" not in stakeholder
    assert "schedule" in admin and "digest" in admin


def test_stranger_is_told_how_to_join(bot: EngineHarness) -> None:
    assert "aren't in any strategy conversation" in text_of(bot.say("console:nobody", "hello"))


def test_anonymous_digest_names_nobody(bot: EngineHarness) -> None:
    bot.command("console:admin", "ask social-liability")
    bot.say("console:lee", "Records retention of DMs")
    (digest,) = bot.command("console:cio", "digest social-liability")
    assert isinstance(digest, DigestMessage)
    assert "Records retention of DMs" in text_of([digest])
    assert "Lee" not in text_of([digest])


@pytest.mark.parametrize(
    "answer",
    ["x" * 40_000, "\x00\x1b[31m", "שלום עולם 👋 مرحبا", "<!channel> <@U123> <script>"],
)
def test_hostile_or_huge_text_is_handled(bot: EngineHarness, answer: str) -> None:
    open_round(bot)
    (reply,) = bot.say("console:maria", answer)
    assert isinstance(reply, Prompt)
    if len(answer) > 4000:
        assert reply.question.id == "hearing" and reply.note and "40,000 characters" in reply.note
    elif answer.startswith("\x00"):
        assert reply.question.id == "external"  # stored with controls stripped: "[31m"
    else:
        assert reply.question.id == "external"
        (summary,) = bot.command("console:maria", "review")
        assert isinstance(summary, Summary) and summary.items[0].answer == answer


async def test_status_shows_permanent_delivery_failures(bot: EngineHarness) -> None:
    from bot.adapters.base import DeliveryResult
    from bot.delivery.outbox import OutboxWorker
    from tests.fakes.adapters import RecordingAdapter

    open_round(bot)
    console = RecordingAdapter("console")
    console.script([DeliveryResult.failed("user_not_found")], address="console:sam")
    worker = OutboxWorker(bot.db, {"console": console}, clock=bot.clock, per_destination_interval=0)
    while await worker.drain_once():
        pass
    (status,) = bot.command("console:admin", "status")
    text = text_of([status])
    assert "Delivery problems" in text and "console:sam: user_not_found" in text
    assert "round 1 open: 0 of 2 answered" in text


def test_a_button_on_an_older_prompt_names_its_question_and_never_answers_another(
    bot: EngineHarness,
) -> None:
    from bot.flows.events import AnswerGiven

    round_id = open_round(bot)
    bot.say("console:sam", "Fans want faster replies")  # now on "external"
    bot.say("console:sam", "3")  # now on "channel"
    # Sam presses "5" on the older "external" prompt: a stale click. It neither answers
    # "channel" (the question on screen now) nor silently rewrites "external".
    out = bot.engine.handle(
        AnswerGiven(actor="console:sam", round_id=round_id, question_id="external", value="5")
    )
    (stale,) = [o.message for o in out]
    assert isinstance(stale, Notice) and "already answered" in stale.lines[0]
    assert "(3/5" in stale.lines[0] and "review" in stale.lines[0]
    (summary,) = bot.command("console:sam", "review")
    assert isinstance(summary, Summary)
    assert {i.question_id: i.answer for i in summary.items} == {
        "hearing": "Fans want faster replies",
        "external": "3/5",
    }
    # Edit asks it again; then the same button changes it, and the next question follows.
    (again,) = bot.press("console:sam", Action.EDIT, round_id, "external")
    assert isinstance(again, Prompt) and again.question.id == "external"
    out = bot.engine.handle(
        AnswerGiven(actor="console:sam", round_id=round_id, question_id="external", value="5")
    )
    (nxt,) = [o.message for o in out]
    assert isinstance(nxt, Prompt) and nxt.question.id == "channel"
    (summary,) = bot.command("console:sam", "review")
    assert isinstance(summary, Summary)
    assert {i.question_id: i.answer for i in summary.items}["external"] == "5/5 (leading)"


def test_finishing_by_chat_replies_closes_the_round_when_everyone_is_done(
    bot: EngineHarness,
) -> None:
    round_id = open_round(bot)
    bot.submit("console:sam", round_id, {"hearing": "x", "external": 2, "channel": "Blogs"})
    for reply in ("We hear a lot", "4", "Blogs", "no"):
        bot.say("console:maria", reply)
    bot.queued("console:#cio")
    with bot.db.transaction() as s:
        assert s.get(models.Round, round_id).status == "closed"  # type: ignore[union-attr]

"""A person in two conversations answers one round at a time: a reply goes where they look.

Maria is in marketing (Social Media) and legal (Social Liability). When both rounds are
open, a typed reply, `skip`, `skip round` and `snooze` act on the round whose question she
was shown last; the other round is announced as waiting, with buttons, never with a
question of its own that a reply could be mistaken for.
"""

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.flows.events import Action, AnswerGiven
from bot.flows.outbound import Heard, Notice, OutboundMessage, Prompt, Summary
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness, text_of

MARIA = "console:maria"
ADMIN = "console:admin"


def two_group_playbook() -> dict[str, Any]:
    playbook = copy.deepcopy(PLAYBOOK)
    playbook["groups"]["legal"]["members"].append({"id": MARIA, "name": "Maria (Marketing)"})
    liability = playbook["conversations"][1]
    liability["anonymous"] = False
    liability["questions"] = [
        {"id": "risk", "text": "What risk worries you most?"},
        {"id": "policy", "text": "Which policy needs work first?"},
    ]
    return playbook


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock, two_group_playbook())


def answers(bot: EngineHarness, conversation: str) -> dict[str, Any]:
    with bot.db.transaction() as s:
        rows = s.execute(
            select(models.Answer.question_id, models.Answer.value)
            .join(models.Participant)
            .join(models.Member)
            .join(models.Round, models.Round.id == models.Participant.round_id)
            .join(models.Conversation)
            .where(models.Member.identity == MARIA, models.Conversation.key == conversation)
        ).all()
    return dict(rows)


def open_both(bot: EngineHarness) -> tuple[Prompt, Prompt]:
    bot.command(ADMIN, "ask social-media")
    bot.clock.advance(timedelta(minutes=5))
    bot.command(ADMIN, "ask social-liability")
    media, liability = bot.queued(MARIA)
    assert isinstance(media, Prompt) and isinstance(liability, Prompt)
    return media, liability


def only_prompt(messages: list[OutboundMessage]) -> Prompt:
    prompts = [m for m in messages if isinstance(m, Prompt)]
    assert len(prompts) == 1, messages
    return prompts[0]


def test_a_second_round_is_announced_while_the_first_is_answered(bot: EngineHarness) -> None:
    media, liability = open_both(bot)
    assert media.waiting_for is None and media.question.id == "hearing"
    assert liability.waiting_for == "Social Media" and liability.opening
    assert "answer_now" in liability.actions and "skip_question" not in liability.actions
    # Lee, who has nothing else open, is asked the Liability question at once.
    (lee,) = bot.queued("console:lee")
    assert isinstance(lee, Prompt) and lee.waiting_for is None
    nxt = only_prompt(bot.say(MARIA, "Customers praise our support forum"))
    assert nxt.conversation_key == "social-media" and nxt.question.id == "external"
    assert answers(bot, "social-media") == {"hearing": "Customers praise our support forum"}
    assert answers(bot, "social-liability") == {}


def test_skip_round_typed_skips_the_round_on_screen_then_asks_the_next(
    bot: EngineHarness,
) -> None:
    open_both(bot)
    replies = bot.say(MARIA, "skip round")
    assert "skipping this Social Media round" in text_of(replies)
    nxt = only_prompt(replies)
    assert nxt.conversation_key == "social-liability" and nxt.opening and nxt.purpose
    assert nxt.waiting_for is None and nxt.question.id == "risk"
    bot.say(MARIA, "IP leaking through personal accounts")
    assert answers(bot, "social-liability") == {"risk": "IP leaking through personal accounts"}
    with bot.db.transaction() as s:
        statuses = dict(
            s.execute(
                select(models.Conversation.key, models.Participant.status)
                .join(models.Round, models.Round.id == models.Participant.round_id)
                .join(models.Conversation)
                .join(models.Member)
                .where(models.Member.identity == MARIA)
            ).all()
        )
    assert statuses == {"social-media": "skipped", "social-liability": "answering"}


def test_answer_now_switches_rounds_and_finishing_it_goes_back(bot: EngineHarness) -> None:
    _, liability = open_both(bot)
    bot.say(MARIA, "We hear a lot about the blog")  # Social Media, now on "external"
    switched = only_prompt(bot.press(MARIA, Action.ANSWER_NOW, liability.round_id))
    assert switched.conversation_key == "social-liability" and switched.opening
    bot.say(MARIA, "Records retention of DMs")
    (summary, back) = bot.say(MARIA, "The social media policy")
    assert isinstance(summary, Summary) and summary.done
    assert isinstance(back, Prompt) and back.conversation_key == "social-media"
    assert back.question.id == "external" and not back.opening
    assert back.note and "Back to Social Media" in back.note
    bot.say(MARIA, "4")
    assert answers(bot, "social-media") == {
        "hearing": "We hear a lot about the blog",
        "external": 4,
    }
    assert answers(bot, "social-liability") == {
        "risk": "Records retention of DMs",
        "policy": "The social media policy",
    }


def test_finishing_the_first_round_asks_the_waiting_one(bot: EngineHarness) -> None:
    media, _ = open_both(bot)
    values = {"hearing": "Lots", "external": 3, "channel": "Blogs"}
    summary, nxt = bot.submit(MARIA, media.round_id, values)
    assert isinstance(summary, Summary) and summary.done
    assert isinstance(nxt, Prompt) and nxt.conversation_key == "social-liability"
    assert nxt.opening and nxt.waiting_for is None
    bot.say(MARIA, "Phishing through fake fan pages")
    assert answers(bot, "social-liability") == {"risk": "Phishing through fake fan pages"}


def test_a_reminder_of_the_waiting_round_does_not_take_the_screen(
    bot: EngineHarness, clock: FakeClock
) -> None:
    open_both(bot)
    clock.advance(timedelta(days=2, hours=1))  # both rounds' one-day reminders are due
    bot.engine.tick()
    media, liability = bot.queued(MARIA)
    assert isinstance(media, Prompt) and media.reminder and media.waiting_for is None
    assert isinstance(liability, Prompt) and liability.reminder
    assert liability.waiting_for == "Social Media"
    bot.say(MARIA, "Mostly praise")
    assert answers(bot, "social-media") == {"hearing": "Mostly praise"}


def test_closing_the_round_being_answered_hands_over_to_the_waiting_one(
    bot: EngineHarness,
) -> None:
    open_both(bot)
    bot.say(MARIA, "Half an answer")
    bot.command(ADMIN, "close social-media")
    closed, nxt, heard_back = bot.queued(MARIA)
    assert isinstance(heard_back, Heard) and heard_back.conversation_key == "social-media"
    assert isinstance(closed, Notice) and "has closed" in closed.lines[0]
    assert isinstance(nxt, Prompt) and nxt.conversation_key == "social-liability"
    assert nxt.opening and nxt.waiting_for is None
    bot.say(MARIA, "Regulators asking about archiving")
    assert answers(bot, "social-liability") == {"risk": "Regulators asking about archiving"}


def test_mine_shows_the_round_being_answered(bot: EngineHarness) -> None:
    open_both(bot)
    listing, prompt = bot.command(MARIA, "mine")
    assert isinstance(listing, Notice) and len(listing.lines) == 2
    assert isinstance(prompt, Prompt) and prompt.conversation_key == "social-media"


def test_a_double_click_on_skip_question_skips_one_question(bot: EngineHarness) -> None:
    open_both(bot)
    bot.say(MARIA, "Heard plenty")
    bot.say(MARIA, "2")
    bot.say(MARIA, "Blogs")  # now on "pilot", the optional question
    round_id = _round_of(bot, "social-media")
    first = bot.press(MARIA, Action.SKIP_QUESTION, round_id, question_id="pilot")
    assert isinstance(first[0], Summary) and first[0].done
    second = bot.press(MARIA, Action.SKIP_QUESTION, round_id, question_id="pilot")
    assert isinstance(second[0], Notice) and "already skipped" in second[0].lines[0]


def test_a_stale_skip_button_never_skips_the_current_question(bot: EngineHarness) -> None:
    playbook = two_group_playbook()
    playbook["conversations"][0]["questions"][0]["required"] = False
    harness = EngineHarness(bot.db, bot.clock, playbook)
    open_both(harness)
    round_id = _round_of(harness, "social-media")
    harness.say(MARIA, "A first answer")  # "hearing" answered; now on "external" (required)
    # The Skip button of the first card, pressed again: "external" is required and current.
    (reply,) = harness.press(MARIA, Action.SKIP_QUESTION, round_id, question_id="hearing")
    assert isinstance(reply, Notice) and "already answered" in reply.lines[0]
    assert answers(harness, "social-media") == {"hearing": "A first answer"}


def test_the_same_form_sent_twice_changes_nothing_the_second_time(bot: EngineHarness) -> None:
    media, _ = open_both(bot)
    values = {"hearing": "Same words", "external": 3, "channel": "Blogs"}
    bot.submit(MARIA, media.round_id, values)
    bot.submit(MARIA, media.round_id, values)
    with bot.db.transaction() as s:
        assert s.scalars(select(models.AnswerRevision)).all() == []
        revisions = s.scalars(select(models.Answer.revision)).all()
    assert set(revisions) == {1}


def _round_of(bot: EngineHarness, key: str) -> int:
    with bot.db.transaction() as s:
        return int(
            s.scalar(
                select(models.Round.id)
                .join(models.Conversation)
                .where(models.Conversation.key == key, models.Round.status == "open")
            )
            or 0
        )


def test_a_rating_button_of_a_waiting_round_answers_that_round(bot: EngineHarness) -> None:
    playbook = two_group_playbook()
    playbook["conversations"][1]["questions"][0] = {
        "id": "risk",
        "text": "How exposed are we to social media risk?",
        "type": "rating",
    }
    harness = EngineHarness(bot.db, bot.clock, playbook)
    open_both(harness)
    liability = _round_of(harness, "social-liability")
    out = harness.engine.handle(
        AnswerGiven(actor=MARIA, round_id=liability, question_id="risk", value="4")
    )
    nxt = only_prompt([o.message for o in out])
    assert nxt.conversation_key == "social-liability" and nxt.question.id == "policy"
    harness.say(MARIA, "Archiving")  # the question on screen now is Liability's "policy"
    assert answers(harness, "social-liability") == {"risk": 4, "policy": "Archiving"}


def test_a_repeated_skip_round_or_snooze_on_a_finished_round_changes_nothing(
    bot: EngineHarness,
) -> None:
    media, _ = open_both(bot)
    first = bot.press(MARIA, Action.SKIP_ROUND, media.round_id)
    assert "skipping this Social Media round" in text_of(first)
    for action in (Action.SKIP_ROUND, Action.SNOOZE, Action.ANSWER_NOW):
        (again,) = bot.press(MARIA, action, media.round_id)
        assert isinstance(again, Notice) and "already skipped" in again.lines[0]
    with bot.db.transaction() as s:
        snoozed = s.scalars(select(models.Participant.snoozed_until)).all()
    assert snoozed == [None, None, None, None]

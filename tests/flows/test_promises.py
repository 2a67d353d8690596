"""Rounds that add up, replies that survive a crash, words that are neither answer nor command."""

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.flows.events import TextMessage
from bot.flows.outbound import DigestMessage, Notice, Prompt, Summary
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness, text_of

MARIA, SAM, ADMIN = "console:maria", "console:sam", "console:admin"
ANSWERS = {"hearing": "We hear a lot", "external": 4, "channel": "Blogs", "pilot": True}


def playbook(**social_media: Any) -> dict[str, Any]:
    book = copy.deepcopy(PLAYBOOK)
    book["conversations"][0].update(social_media)
    return book


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock, playbook(close_when_all_answered=False))


def open_round(bot: EngineHarness) -> int:
    bot.command(ADMIN, "ask social-media")
    prompt = bot.queued(MARIA)[0]
    assert isinstance(prompt, Prompt)
    bot.queued(SAM)
    bot.queued("console:#cio")
    return prompt.round_id


def round_status(bot: EngineHarness, round_id: int) -> str:
    with bot.db.transaction() as s:
        return str(s.scalar(select(models.Round.status).where(models.Round.id == round_id)))


# --- early close is a playbook setting, off by default -----------------------------------------


def test_by_default_a_round_stays_open_until_its_deadline(
    bot: EngineHarness, clock: FakeClock
) -> None:
    round_id = open_round(bot)
    bot.submit(SAM, round_id, ANSWERS)
    (summary,) = bot.submit(MARIA, round_id, ANSWERS)
    assert isinstance(summary, Summary) and summary.done and summary.editable
    assert round_status(bot, round_id) == "open"
    assert not [m for m in bot.queued("console:#cio") if isinstance(m, DigestMessage)]
    # Editing works until the deadline, as the summary says.
    (again,) = bot.submit(MARIA, round_id, {**ANSWERS, "hearing": "We hear even more"})
    assert isinstance(again, Summary) and again.editable
    clock.advance(timedelta(days=3, minutes=1))
    bot.engine.tick()
    assert round_status(bot, round_id) == "closed"


def test_with_close_when_all_answered_the_last_answer_closes_it_read_only(
    db: Database, clock: FakeClock
) -> None:
    bot = EngineHarness(db, clock, playbook(close_when_all_answered=True))
    round_id = open_round(bot)
    (first,) = bot.submit(SAM, round_id, ANSWERS)
    assert isinstance(first, Summary) and first.editable  # Maria has not answered yet
    (last,) = bot.submit(MARIA, round_id, ANSWERS)
    assert round_status(bot, round_id) == "closed"
    # The round closed with this answer: its summary offers no Edit.
    assert isinstance(last, Summary) and last.done and not last.editable
    digests = [m for m in bot.queued("console:#cio") if isinstance(m, DigestMessage)]
    assert len(digests) == 1


# --- ask, close, ask -----------------------------------------------------------------------------


def test_ask_close_ask_in_the_same_instant_opens_a_second_round(bot: EngineHarness) -> None:
    first = bot.command(ADMIN, "ask social-media")
    bot.command(ADMIN, "close social-media")
    (second,) = bot.command(ADMIN, "ask social-media")  # the clock has not moved at all
    assert isinstance(second, Notice) and second.level == "success", second
    assert "round 2 is open" in second.lines[0]
    assert "round 0" not in text_of([*first, second])
    with bot.db.transaction() as s:
        statuses = s.scalars(select(models.Round.status).order_by(models.Round.id)).all()
    assert statuses == ["closed", "open"]


# --- replies are written with the event --------------------------------------------------------


def test_a_reply_is_queued_with_the_answer_and_a_redelivery_adds_nothing(
    bot: EngineHarness,
) -> None:
    open_round(bot)
    event = TextMessage(actor=MARIA, text="Customers want a forum", event_id="Ev42")
    (shown,) = bot.engine.handle(event)
    assert shown.key == "reply:console:Ev42:0" and shown.address == MARIA
    with bot.db.transaction() as s:
        row = s.scalar(
            select(models.OutboxMessage).where(
                models.OutboxMessage.idempotency_key == "reply:console:Ev42:0"
            )
        )
        assert row is not None and row.destination == MARIA
        assert row.payload["kind"] == "prompt" and row.payload["question"]["id"] == "external"
        before = s.scalar(select(func.count()).select_from(models.OutboxMessage))
    # The platform redelivers (the process died after the commit, before it answered):
    # nothing runs twice, and the reply is already in the outbox to be delivered.
    assert bot.engine.handle(event) == []
    with bot.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(models.OutboxMessage)) == before
        assert s.scalar(select(func.count()).select_from(models.Answer)) == 1


# --- neither an answer nor a command -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("publish all", "I don't know the command “publish”"),
        ("purge all", "I don't know the command “purge”"),
        ("delete maria", "I don't know the command “delete”"),
        ("stauts", "Did you mean “status”?"),
    ],
)
def test_words_that_are_neither_answer_nor_command_get_help(
    bot: EngineHarness, text: str, expected: str
) -> None:
    (reply,) = bot.say(MARIA, text)
    assert isinstance(reply, Notice)
    shown = text_of([reply])
    assert expected in shown and "help" in shown and "no open questions" in shown


def test_a_stranger_gets_help_and_is_told_how_to_join(bot: EngineHarness) -> None:
    (reply,) = bot.say("console:nobody", "publish everything")
    assert "I don't know the command “publish”" in text_of([reply])
    assert "aren't in any strategy conversation" in text_of([reply])


def test_an_admin_typing_an_unknown_word_gets_a_did_you_mean(bot: EngineHarness) -> None:
    (reply,) = bot.say(ADMIN, "pasue social-media")
    assert "Did you mean “pause”?" in text_of([reply])

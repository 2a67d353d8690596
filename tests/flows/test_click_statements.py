"""What one answer click costs the database: a count of statements, held where it is now.

Slack waits for an answer to be stored before the click is acknowledged, and at issue
10's measurements over 90% of a click was the engine's own Python around a handful of
statements (bench/README.md, the ingest row). These tests count the SQL statements and
ORM flushes of `Engine.handle` for one answer (not its time: a count is the same on
every machine), so a change that adds a query to every click is noticed here, with the
statements listed, rather than in a benchmark run months later.

The counts differ by backend only in how a transaction begins: SQLite's `BEGIN
IMMEDIATE` is a statement the driver sees; psycopg begins PostgreSQL's implicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.flows import commands
from bot.flows.events import AnswerGiven, TextMessage
from bot.flows.outbound import Notice, Prompt, Summary
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness

# The statements of a typed answer: the event id recorded (`INSERT ... ON CONFLICT DO
# NOTHING`), the member locked, their open participations, the round locked, their
# answers, the reply queued, then the one flush: the answer inserted, and the
# participant's progress and `shown_at` in one UPDATE; last, whether any round has work
# left for chunks. SQLite adds its BEGIN IMMEDIATE.
TYPED_ANSWER = {"sqlite": 10, "postgresql": 9}
# The button of the last question: the participant found by the round the button names
# instead of among the open ones, and after the flush the round's unfinished counted (it
# closes when everyone has answered) and the member's other open rounds read (is one
# next in line?).
LAST_BUTTON = {"sqlite": 12, "postgresql": 11}
# Flushes: the handler's changes, written once.
FLUSHES = 1


class Counted:
    """The SQL statements and ORM flushes seen while counting."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.flushes = 0

    def listing(self) -> str:
        return "\n".join(" ".join(s.split())[:120] for s in self.statements)


@contextmanager
def counting(db: Database) -> Iterator[Counted]:
    counted = Counted()

    def statement(*args: object) -> None:
        counted.statements.append(str(args[2]))

    def flush(*args: object) -> None:
        counted.flushes += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(Session, "before_flush", flush)
    try:
        yield counted
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(Session, "before_flush", flush)


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    bot = EngineHarness(db, clock)
    bot.command("console:admin", "ask social-media")
    bot.queued("console:maria")
    # A minute later, so showing the next question changes `shown_at` (and is counted).
    clock.advance(timedelta(minutes=1))
    return bot


def test_a_typed_answer_runs_a_fixed_number_of_statements(bot: EngineHarness) -> None:
    event_ = TextMessage(actor="console:maria", text="Customers like the blog", event_id="Ev1")
    with counting(bot.db) as counted:
        out = bot.engine.handle(event_)
    (reply,) = (o.message for o in out)
    assert isinstance(reply, Prompt) and reply.question.id == "external"
    assert len(counted.statements) == TYPED_ANSWER[bot.db.dialect], counted.listing()
    assert counted.flushes == FLUSHES


def test_the_last_answer_button_runs_a_fixed_number_of_statements(
    bot: EngineHarness, clock: FakeClock
) -> None:
    for answer in ("Customers like the blog", "4", "Blogs"):
        bot.say("console:maria", answer)
    clock.advance(timedelta(minutes=1))
    with bot.db.transaction() as s:
        round_id = s.scalars(select(models.Round.id)).one()
    event_ = AnswerGiven(
        actor="console:maria", round_id=round_id, question_id="pilot", value="yes", event_id="E2"
    )
    with counting(bot.db) as counted:
        out = bot.engine.handle(event_)
    (summary,) = (o.message for o in out)
    assert isinstance(summary, Summary) and summary.done and summary.editable
    assert len(counted.statements) == LAST_BUTTON[bot.db.dialect], counted.listing()
    assert counted.flushes == FLUSHES


def test_a_mistake_is_answered_once_and_changes_nothing(bot: EngineHarness) -> None:
    # Without a savepoint around each handler, a mistake rolls back the event's whole
    # transaction and its error is queued in one of its own, with the event's id.
    before = bot.outbox_count()
    (error,) = bot.say("console:maria", "snooze forever", event_id="Ev3")
    assert isinstance(error, Notice) and error.level == "error"
    assert bot.say("console:maria", "snooze forever", event_id="Ev3") == []
    assert bot.outbox_count() == before + 1
    with bot.db.transaction() as s:
        (maria,) = s.scalars(
            select(models.Participant)
            .join(models.Member)
            .where(models.Member.identity == "console:maria")
        ).all()
        assert maria.snoozed_until is None and maria.status == "pending"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "/strategy",
        "strategy",
        "mine",
        "/mine",
        "MINE",
        "skip",
        "skip round",
        "snooze 2h",
        "digest",
        "digest social-media previous extra words here",
        "ask",
        "Customers love the blog",
        "/ mine",
        "@strategy-bot help",
        "helpp",
    ],
)
def test_is_command_agrees_with_parse(text: str) -> None:
    try:
        commands.parse(text)
    except UserError:
        parses = False
    else:
        parses = bool(text.strip())
    assert commands.is_command(text) is parses

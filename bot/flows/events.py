"""Inbound events: what adapters turn platform payloads into.

Frozen dataclasses, so an event cannot change on its way through the engine. `actor` is a
platform identity (`slack:U0123`, `teams:29:1a...`, `console:maria`); `event_id` is the
platform's own id for the delivery (Slack event id, Teams activity id) and makes retries
no-ops. `None` means the platform gives no id (the engine then cannot de-duplicate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, kw_only=True)
class InboundEvent:
    """Base of every inbound event."""

    actor: str
    event_id: str | None = None
    actor_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class TextMessage(InboundEvent):
    """Text a user sent the bot in a DM (or with a mention in a channel).

    While a question is waiting, text is the answer unless it is a complete, valid command.
    """

    text: str


@dataclass(frozen=True, kw_only=True)
class CommandInvoked(InboundEvent):
    """A command: Slack's `/strategy <text>`, or the console's command box."""

    text: str


class Action(StrEnum):
    """Buttons on prompts and summaries."""

    ANSWER_ALL = "answer_all"  # open the form with every question
    SKIP_QUESTION = "skip_question"
    SKIP_ROUND = "skip_round"
    SNOOZE = "snooze"  # value: a duration such as "2h" (default 2h)
    REVIEW = "review"  # show my answers so far
    EDIT = "edit"  # value: a question id; asks that question again


@dataclass(frozen=True, kw_only=True)
class ActionPressed(InboundEvent):
    """A button press on a message the bot sent."""

    action: Action
    round_id: int
    value: str | None = None


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(InboundEvent):
    """A whole form (Slack modal, Teams card, console form) submitted at once.

    `values` maps question id to the raw value the platform gave: a string, a list of
    strings (multiple choice), a bool (yes/no) or None for an empty input.
    """

    round_id: int
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AnswerGiven(InboundEvent):
    """An answer given on a specific question's prompt (a rating button, a choice).

    Unlike a chat reply, which answers whatever question is current, a button on an older
    prompt must answer the question it was shown with.
    """

    round_id: int
    question_id: str
    value: str


# Round ids are `Integer` columns (32-bit on PostgreSQL): an id outside this range cannot
# name a round, and handing it to the database fails there (an overflow, not "not found").
MIN_ROUND_ID = 1
MAX_ROUND_ID = 2**31 - 1


def check_round_id(value: int) -> int:
    """Return `value` if it can be a round id, so parsers of platform payloads share one bound.

    Raises:
        ValueError: the id is below 1 or above `MAX_ROUND_ID`.
    """
    if not MIN_ROUND_ID <= value <= MAX_ROUND_ID:
        shown = str(value) if len(str(value)) <= 20 else str(value)[:20] + "…"
        raise ValueError(f"round id {shown} is out of range ({MIN_ROUND_ID} to {MAX_ROUND_ID})")
    return value

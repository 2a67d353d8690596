"""Inbound events: what adapters turn platform payloads into.

Frozen dataclasses, so an event cannot change on its way through the engine. `actor` is a
platform identity (`slack:U0123`, `teams:29:1a...`, `console:maria`); `event_id` is the
platform's own id for the delivery (Slack event id, Teams activity id) and makes retries
no-ops. `None` means the platform gives no id (the engine then cannot de-duplicate).

Where replies go is the engine's decision (`bot.flows.routing`), from two facts an adapter
knows about the place the event came from: `place`, the address of the channel it was
typed in (None for the actor's own DM or personal chat), and `private_reply`, an address
only the actor can read in that place (Slack's `response_url` for a slash command).
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
    place: str | None = None
    private_reply: str | None = None


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


# How long a Snooze button (and `snooze` without a duration on a button) waits.
DEFAULT_SNOOZE = "2h"


class Action(StrEnum):
    """Buttons on prompts and summaries."""

    ANSWER_ALL = "answer_all"  # open the form with every question
    ANSWER_NOW = "answer_now"  # answer this round now (it was waiting its turn)
    SKIP_QUESTION = "skip_question"  # question_id: the question the button was shown with
    SKIP_ROUND = "skip_round"
    SNOOZE = "snooze"  # value: a duration such as "2h" (default 2h)
    REVIEW = "review"  # show my answers so far
    EDIT = "edit"  # value: a question id; asks that question again


@dataclass(frozen=True, kw_only=True)
class ActionPressed(InboundEvent):
    """A button press on a message the bot sent.

    `question_id` is the question the button was shown with, for buttons that act on one
    (Skip question): a repeated or stale click must not act on whichever question is
    current by then.
    """

    action: Action
    round_id: int
    value: str | None = None
    question_id: str | None = None


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

"""Outbound messages: what the engine says, before any platform renders it.

Pydantic models, because every one is written to the outbox as JSON first and read back
by the delivery worker; `OutboundMessage` is a discriminated union on `kind`. All text in
here is plain data: renderers escape it for Slack mrkdwn, Adaptive Cards or HTML.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.flows.consistency_model import Consistency
from bot.flows.digest_model import Digest, QuestionRollup
from bot.flows.strategy_model import RoundPoint
from bot.playbook.model import QuestionType


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuestionView(_Out):
    """A question as shown to a stakeholder."""

    id: str
    text: str
    type: QuestionType
    required: bool
    options: tuple[str, ...] = ()
    labels: dict[int, str] = Field(default_factory=dict)
    help: str | None = None
    unit: str | None = None  # a figure's unit (number questions)
    index: int  # 1-based position in the agenda
    total: int
    # Only these roles will read the answer (`bot.flows.confidential`): said with the question.
    confidential: tuple[str, ...] | None = None


class Notice(_Out):
    """Plain lines of text: command replies, confirmations, errors, help."""

    kind: Literal["notice"] = "notice"
    level: Literal["info", "success", "error"] = "info"
    title: str | None = None
    lines: tuple[str, ...] = ()
    # About one person's own data (`mine history`): shown in their own chat only.
    private: bool = False


class Prompt(_Out):
    """A question of a round, with the round's context and the buttons that apply.

    The first prompt of a round (`opening`) carries the conversation's purpose; a reminder
    says so; `note` explains why a question is asked again (an invalid answer).

    A member answers one round at a time. A round that opens (or reminds) while they are
    in the middle of another is announced as `waiting_for` that round's title: the
    renderers then show the round and its buttons but not the question, so a typed reply
    can only ever answer the question on screen.
    """

    kind: Literal["prompt"] = "prompt"
    round_id: int
    conversation_key: str
    conversation_title: str
    round_number: int
    deadline: datetime
    purpose: str | None = None
    opening: bool = False
    reminder: bool = False
    note: str | None = None
    question: QuestionView
    actions: tuple[str, ...] = ("answer_all", "skip_question", "skip_round", "snooze")
    waiting_for: str | None = None


class Form(_Out):
    """Every question of a round at once, with current answers filled in."""

    kind: Literal["form"] = "form"
    round_id: int
    conversation_key: str
    conversation_title: str
    deadline: datetime
    questions: tuple[QuestionView, ...]
    values: dict[str, str | int | bool | list[str] | None] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)


class SummaryItem(_Out):
    """One answered (or skipped) question in a summary."""

    question_id: str
    question: str
    answer: str | None  # display text; None when skipped
    skipped: bool = False


class Summary(_Out):
    """A participant's answers in a round: after finishing, and for review."""

    kind: Literal["summary"] = "summary"
    round_id: int
    conversation_key: str
    conversation_title: str
    deadline: datetime
    done: bool
    editable: bool
    items: tuple[SummaryItem, ...]


class DigestMessage(_Out):
    """A digest for the CIO channel (or the CIO who asked)."""

    kind: Literal["digest"] = "digest"
    digest: Digest


class History(_Out):
    """`history <conversation>`: its closed rounds with dates, participation and maturity."""

    kind: Literal["history"] = "history"
    conversation_key: str
    title: str
    rounds: tuple[RoundPoint, ...]  # oldest first
    more: int = 0  # closed rounds older than those listed
    open_round_number: int | None = None


class ConsistencyMessage(_Out):
    """`consistency`: where the conversations meet, hand over, disagree or go quiet."""

    kind: Literal["consistency"] = "consistency"
    organisation: str
    generated_at: datetime
    consistency: Consistency


class Heard(_Out):
    """What we heard: a closed round's results, told back to the people asked.

    Anonymity-respecting by construction: `questions` carry figures only (no text answer,
    no name; a text question says how many answered). In an anonymous conversation a
    question answered by fewer than `bot.flows.heard.MIN_SHARED` people is left out and
    counted in `withheld`, so nobody can work out a colleague's answer.
    `next_looks` names what the CIO will look at next; `next_round` is when it runs again.
    """

    kind: Literal["heard"] = "heard"
    round_id: int
    conversation_key: str
    conversation_title: str
    round_number: int
    answered: int
    invited: int
    questions: tuple[QuestionRollup, ...] = ()
    withheld: int = 0
    next_looks: tuple[str, ...] = ()
    next_round: datetime | None = None


ExportFormat = Literal["csv", "xlsx", "md"]


class ExportSpec(_Out):
    """What an export holds: enough to build its file again, the same, at any attempt.

    `round_ids` are the rounds in scope when it was asked for (so a round opened later is
    not in it); the rows are read when the file is built (`bot.flows.export_chat`).
    """

    target: str  # a conversation key, or "all"
    format: ExportFormat
    since: date | None = None
    round_ids: tuple[int, ...]


class FileReply(_Out):
    """A file for the person who asked for it (`export`), in their own chat only.

    The message carries what the file is and how to build it, not its bytes, because:
    an export can be large (every answer of every round), and the outbox row is read by
    every delivery attempt and scanned by `forget` and the retention purge; the bytes
    would be a second copy of people's answers, which `forget` and retention could not
    reach inside a CSV or a zip. Built when delivered, from the database, the file never
    holds an answer that was erased meanwhile, and never exists anywhere but in transit.
    `token` (random, 128 bits) names the file where a platform fetches it later: the
    console's download link, Teams' consent card; each hands it out only to
    `requested_by`, and only until `expires_at`.
    """

    kind: Literal["file"] = "file"
    token: str
    filename: str
    media_type: str
    title: str
    lines: tuple[str, ...] = ()
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    export: ExportSpec


OutboundMessage = Annotated[
    Notice
    | Prompt
    | Form
    | Summary
    | DigestMessage
    | History
    | Heard
    | ConsistencyMessage
    | FileReply,
    Field(discriminator="kind"),
]
# Through `Any`: mypy sometimes reads the Annotated union as a value, not a type.
OUTBOUND_ADAPTER: TypeAdapter[OutboundMessage] = TypeAdapter(cast(Any, OutboundMessage))


def dump_message(message: OutboundMessage) -> dict[str, object]:
    """JSON-ready dict of a message, for the outbox."""
    return message.model_dump(mode="json")


def load_message(payload: dict[str, object]) -> OutboundMessage:
    """Read a message back from its outbox JSON."""
    return OUTBOUND_ADAPTER.validate_python(payload)


class Outgoing(_Out):
    """A message and where it goes (a `platform:id` address: a user or a channel).

    `key` is the outbox idempotency key the engine queued it under, in the same
    transaction as the event that caused it; None for what is only shown in the moment
    (a form). An adapter that also shows the reply at once (the console) uses the key so
    the queued copy is not shown twice.
    """

    address: str
    message: OutboundMessage
    key: str | None = None

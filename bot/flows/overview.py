"""A read-only snapshot of every strategy conversation, for dashboards such as Slack's Home.

Why a separate module: admins need one glance at all six conversations (cadence, next
round, the open round's progress, delivery problems) in places that are not a chat reply,
such as the Slack App Home. The `status` command says the same in sentences; this gives
the same facts as data, so each platform can lay them out its own way without parsing
text and without any platform code in the engine. It only reads: roles, audit and every
change stay with the engine's commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.flows.cadence import parse_cadence
from bot.flows.confidential import channel_view
from bot.flows.digest import build_digest
from bot.flows.digest_model import Digest
from bot.flows.rounds import opening_key
from storage import models
from storage.db import Database

ANSWERED = "done"
SKIPPED = "skipped"


@dataclass(frozen=True, kw_only=True)
class OpenRoundProgress:
    """How far the open round of a conversation has got.

    Attributes:
        round_id: The round's database id.
        number: The round's number within its conversation (1, 2, 3...).
        answered: Participants who finished the round.
        skipped: Participants who sat the round out.
        invited: Everyone who was prompted.
        deadline: When the round closes.
    """

    round_id: int
    number: int
    answered: int
    skipped: int
    invited: int
    deadline: datetime | None


@dataclass(frozen=True, kw_only=True)
class ClosedRound:
    """The latest closed round of a conversation.

    Attributes:
        number: The round's number.
        closed_at: When it closed.
    """

    number: int
    closed_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ConversationOverview:
    """One conversation as an admin's dashboard shows it.

    Attributes:
        key: The conversation key (`social-media`), used in commands.
        title: Its title.
        cadence: The cadence in force, as written (an admin's override, else the playbook's).
        cadence_description: The cadence in words, or why it cannot be read.
        paused: Whether an admin paused it.
        next_round_at: When the next round opens; None while paused or when the cadence
            cannot be read.
        open_round: The open round's progress, if one is open.
        last_closed: The newest closed round, if any.
        delivery_failures: Messages of this conversation's rounds that failed for good.
    """

    key: str
    title: str
    cadence: str
    cadence_description: str
    paused: bool
    next_round_at: datetime | None
    open_round: OpenRoundProgress | None
    last_closed: ClosedRound | None
    delivery_failures: int


@dataclass(frozen=True, kw_only=True)
class PromptRef:
    """Where a round's opening prompt to one person was delivered.

    Attributes:
        destination: the address it went to.
        message_id: what the platform answered for it (Slack's `ts`, or `channel:ts`).
        round_number: the round's number, for a note on the message.
    """

    destination: str
    message_id: str
    round_number: int


def opening_prompt(session: Session, actor: str, round_id: int) -> PromptRef | None:
    """The delivered opening prompt of `actor` in a round, if it was posted.

    A platform that edits a prompt after the person has finished (Slack's "Done —
    thanks") finds the message here, by the key the round gave it (`rounds.opening_key`).

    Returns:
        Where it is, or None (never sent, not yet delivered, or no such participant).
    """
    member_id = session.scalar(select(models.Member.id).where(models.Member.identity == actor))
    if member_id is None:
        return None
    row = session.execute(
        select(
            models.OutboxMessage.destination,
            models.OutboxMessage.platform_message_id,
            models.Round.number,
        )
        .join(models.Round, models.OutboxMessage.round_id == models.Round.id)
        .where(
            models.OutboxMessage.idempotency_key == opening_key(round_id, member_id),
            models.OutboxMessage.status == "sent",
            models.OutboxMessage.platform_message_id.is_not(None),
        )
    ).first()
    if row is None:
        return None
    return PromptRef(
        destination=str(row.destination),
        message_id=str(row.platform_message_id),
        round_number=int(row.number),
    )


def overview(session: Session, *, now: datetime) -> list[ConversationOverview]:
    """Every active conversation, in playbook order, as of `now`.

    Args:
        session: An open session (nothing is written).
        now: The current time (aware), from which the next round is computed.

    Returns:
        One `ConversationOverview` per active conversation.
    """
    conversations = list(
        session.scalars(
            select(models.Conversation)
            .where(models.Conversation.active)
            .order_by(models.Conversation.id)
        )
    )
    failures = _failures_by_conversation(session)
    return [
        _one(session, conv, now=now, failures=failures.get(conv.id, 0)) for conv in conversations
    ]


def conversation_overview(db: Database, now: datetime) -> list[ConversationOverview]:
    """`overview` in a transaction of its own (for callers outside the engine).

    Args:
        db: The bot's database.
        now: The current time (aware).

    Returns:
        One `ConversationOverview` per active conversation.
    """
    with db.transaction() as session:
        return overview(session, now=now)


def strategy_digest(db: Database, now: datetime, organisation: str) -> Digest:
    """The enterprise digest (`digest all`), read-only and not kept: a dashboard's look.

    The Slack App Home shows the CIO its one-screen summary each time the tab opens; the
    `digest all` command, which keeps a copy in the `digests` table, is for reading it in
    the channel.
    """
    with db.transaction() as session:
        built = build_digest(session, scope="all", organisation=organisation, now=now)
    # A look, not a request (nothing is audited), so it shows no confidential answer.
    return channel_view(built)


def _one(
    session: Session, conv: models.Conversation, *, now: datetime, failures: int
) -> ConversationOverview:
    text = conv.effective_cadence
    try:
        cadence = parse_cadence(text)
    except ValueError as exc:
        description, next_at = f"cannot be read: {exc}", None
    else:
        description = cadence.describe()
        next_at = None if conv.paused else cadence.next_after(now)
    return ConversationOverview(
        key=conv.key,
        title=conv.title,
        cadence=text,
        cadence_description=description,
        paused=conv.paused,
        next_round_at=next_at,
        open_round=_open_round(session, conv),
        last_closed=_last_closed(session, conv),
        delivery_failures=failures,
    )


def _open_round(session: Session, conv: models.Conversation) -> OpenRoundProgress | None:
    round_ = session.scalar(
        select(models.Round)
        .where(models.Round.conversation_id == conv.id, models.Round.status == "open")
        .order_by(models.Round.id.desc())
        .limit(1)
    )
    if round_ is None:
        return None
    counts: dict[str, int] = {
        str(status): int(count)
        for status, count in session.execute(
            select(models.Participant.status, func.count())
            .where(models.Participant.round_id == round_.id)
            .group_by(models.Participant.status)
        ).all()
    }
    return OpenRoundProgress(
        round_id=round_.id,
        number=round_.number,
        answered=counts.get(ANSWERED, 0),
        skipped=counts.get(SKIPPED, 0),
        invited=sum(counts.values()),
        deadline=round_.deadline,
    )


def _last_closed(session: Session, conv: models.Conversation) -> ClosedRound | None:
    round_ = session.scalar(
        select(models.Round)
        .where(models.Round.conversation_id == conv.id, models.Round.status == "closed")
        .order_by(models.Round.closed_at.desc(), models.Round.id.desc())
        .limit(1)
    )
    return None if round_ is None else ClosedRound(number=round_.number, closed_at=round_.closed_at)


def _failures_by_conversation(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(models.Round.conversation_id, func.count(models.OutboxMessage.id))
        .join(models.Round, models.OutboxMessage.round_id == models.Round.id)
        .where(models.OutboxMessage.status == "failed")
        .group_by(models.Round.conversation_id)
    ).all()
    return {int(conv_id): int(count) for conv_id, count in rows}


__all__ = [
    "ClosedRound",
    "ConversationOverview",
    "OpenRoundProgress",
    "PromptRef",
    "conversation_overview",
    "opening_prompt",
    "overview",
]

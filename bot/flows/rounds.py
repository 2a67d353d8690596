"""Round lifecycle: open (once per scheduled time), remind, snooze wake-ups, close.

All functions take the caller's session and run inside its transaction, so a round, its
participants and their prompts are committed together: a crash mid-fan-out leaves either
nothing or everything in the outbox, and the outbox worker resumes delivery from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages
from bot.delivery.outbox import enqueue
from bot.errors import InvalidTransition
from bot.flows.digest import build_digest, save_digest
from bot.flows.outbound import DigestMessage, Notice, Prompt, QuestionView
from bot.playbook.durations import parse_duration
from bot.playbook.model import Conversation as ConversationSpec
from storage import models

UNFINISHED = ("pending", "answering")


def deadline_of(round_: models.Round) -> datetime:
    """An open or closed round's deadline (missed rounds have none).

    Raises:
        InvalidTransition: asked of a round that never opened.
    """
    if round_.deadline is None:
        raise InvalidTransition(f"round {round_.id} never opened, so it has no deadline")
    return round_.deadline


def agenda_of(round_: models.Round) -> ConversationSpec:
    """The conversation as it was when the round opened."""
    return ConversationSpec.model_validate(round_.agenda)


def question_view(spec: ConversationSpec, index: int) -> QuestionView:
    """The question at `index` (0-based) as shown to a stakeholder."""
    q = spec.questions[index]
    return QuestionView(
        id=q.id,
        text=q.text,
        type=q.type.value,
        required=q.required,
        options=q.options,
        labels=dict(q.labels),
        help=q.help,
        index=index + 1,
        total=len(spec.questions),
    )


def prompt_for(
    round_: models.Round,
    participant: models.Participant,
    *,
    opening: bool = False,
    reminder: bool = False,
    note: str | None = None,
) -> Prompt:
    """The prompt for a participant's current question."""
    spec = agenda_of(round_)
    index = min(participant.current_question, len(spec.questions) - 1)
    return Prompt(
        round_id=round_.id,
        conversation_key=spec.key,
        conversation_title=spec.title,
        round_number=round_.number,
        deadline=deadline_of(round_),
        purpose=spec.purpose if opening or reminder else None,
        opening=opening,
        reminder=reminder,
        note=note,
        question=question_view(spec, index),
    )


def open_round(
    session: Session,
    conv: models.Conversation,
    *,
    scheduled_for: datetime,
    trigger: str,
    now: datetime,
    cio_channel: str,
    opened_by: str | None = None,
) -> models.Round | None:
    """Open a round and queue a prompt for every member of the conversation's groups.

    Returns None when the round for `scheduled_for` exists already (another replica, a
    retry or a restart got there first): the unique constraint decides, inside a savepoint.
    """
    spec = ConversationSpec.model_validate(conv.spec)
    number = (
        session.scalar(
            select(func.max(models.Round.number)).where(models.Round.conversation_id == conv.id)
        )
        or 0
    ) + 1
    round_ = models.Round(
        conversation_id=conv.id,
        number=number,
        scheduled_for=scheduled_for,
        status="open",
        trigger=trigger,
        opened_by=opened_by,
        opened_at=now,
        deadline=now + spec.response_window,
        agenda=conv.spec,
    )
    try:
        with session.begin_nested():
            session.add(round_)
            session.flush()
    except IntegrityError:
        return None
    rows = session.execute(
        select(models.Member, models.Group.key)
        .join(models.GroupMember, models.GroupMember.member_id == models.Member.id)
        .join(models.Group, models.Group.id == models.GroupMember.group_id)
        .where(models.Group.key.in_(spec.groups))
        .order_by(models.Member.id)
    ).all()
    order = {g: i for i, g in enumerate(spec.groups)}
    seen: dict[int, tuple[models.Member, str]] = {}
    for member, gkey in sorted(rows, key=lambda r: (order[r[1]], r[0].id)):
        seen.setdefault(member.id, (member, gkey))
    participants = [
        models.Participant(round_id=round_.id, member_id=m.id, group_key=g, status="pending")
        for m, g in seen.values()
    ]
    session.add_all(participants)
    session.flush()
    for p, (member, _) in zip(participants, seen.values(), strict=True):
        enqueue(
            session,
            key=f"prompt:{round_.id}:{member.id}",
            address=member.identity,
            message=prompt_for(round_, p, opening=True),
            now=now,
            round_id=round_.id,
        )
    enqueue(
        session,
        key=f"opened:{round_.id}",
        address=cio_channel,
        message=Notice(
            lines=(
                messages.round_opened(spec.title, number, len(participants), deadline_of(round_)),
            )
        ),
        now=now,
        round_id=round_.id,
    )
    return round_


def record_missed(session: Session, conv: models.Conversation, scheduled_for: datetime) -> bool:
    """Record a scheduled round that was missed while the bot was down (no prompts)."""
    number = (
        session.scalar(
            select(func.max(models.Round.number)).where(models.Round.conversation_id == conv.id)
        )
        or 0
    )
    try:
        with session.begin_nested():
            session.add(
                models.Round(
                    conversation_id=conv.id,
                    number=number,  # a missed round takes no number of its own
                    scheduled_for=scheduled_for,
                    status="missed",
                    trigger="schedule",
                    agenda=conv.spec,
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def close_round(
    session: Session,
    round_: models.Round,
    *,
    now: datetime,
    reason: str,
    cio_channel: str,
    organisation: str,
) -> None:
    """Close a round and post its digest to the CIO channel (queued in the same transaction)."""
    round_.status = "closed"
    round_.closed_at = now
    # The column holds 40 characters; "closed by teams:<AAD object id>" is longer, and who
    # closed it is in the audit log in full.
    round_.close_reason = reason[:40]
    title = agenda_of(round_).title
    for p in session.scalars(
        select(models.Participant).where(
            models.Participant.round_id == round_.id,
            models.Participant.status.in_(UNFINISHED),
        )
    ):
        enqueue(
            session,
            key=f"closed:{round_.id}:{p.member_id}",
            address=p.member.identity,
            message=Notice(lines=(messages.round_closed_for_you(title, p.status == "answering"),)),
            now=now,
            round_id=round_.id,
        )
    session.flush()
    digest = build_digest(
        session, scope=round_.conversation.key, organisation=organisation, now=now
    )
    save_digest(session, digest, round_id=round_.id, requested_by=None)
    enqueue(
        session,
        key=f"digest:round:{round_.id}",
        address=cio_channel,
        message=DigestMessage(digest=digest),
        now=now,
        round_id=round_.id,
    )


def reminder_times(round_: models.Round) -> list[datetime]:
    """When reminders are due for this round, earliest first."""
    spec = agenda_of(round_)
    return sorted(deadline_of(round_) - r for r in spec.reminders)


def due_reminders(session: Session, round_: models.Round, now: datetime) -> int:
    """Queue the reminders that have come due for unfinished, un-snoozed participants."""
    due = sum(1 for t in reminder_times(round_) if t <= now)
    if not due:
        return 0
    sent = 0
    for p in session.scalars(
        select(models.Participant).where(
            models.Participant.round_id == round_.id,
            models.Participant.status.in_(UNFINISHED),
            models.Participant.reminders_sent < due,
        )
    ):
        if p.snoozed_until and p.snoozed_until > now:
            continue
        p.reminders_sent = due
        p.last_reminded_at = now
        enqueue(
            session,
            key=f"remind:{p.id}:{due}",
            address=p.member.identity,
            message=prompt_for(round_, p, reminder=True),
            now=now,
            round_id=round_.id,
        )
        sent += 1
    return sent


def remind_now(session: Session, round_: models.Round, now: datetime) -> int:
    """Remind every unfinished participant at once (the admin's `remind`)."""
    count = 0
    for p in session.scalars(
        select(models.Participant).where(
            models.Participant.round_id == round_.id,
            models.Participant.status.in_(UNFINISHED),
        )
    ):
        p.last_reminded_at = now
        enqueue(
            session,
            key=f"remind:{p.id}:manual:{now.isoformat()}",
            address=p.member.identity,
            message=prompt_for(round_, p, reminder=True),
            now=now,
            round_id=round_.id,
        )
        count += 1
    return count


def wake_snoozed(session: Session, now: datetime) -> int:
    """Ask again those whose snooze has run out."""
    count = 0
    for p in session.scalars(
        select(models.Participant)
        .join(models.Round)
        .where(
            models.Round.status == "open",
            models.Participant.status.in_(UNFINISHED),
            models.Participant.snoozed_until.is_not(None),
            models.Participant.snoozed_until <= now,
        )
    ):
        until = p.snoozed_until or now
        p.snoozed_until = None
        enqueue(
            session,
            key=f"snooze:{p.id}:{until.isoformat()}",
            address=p.member.identity,
            message=prompt_for(p.round, p, reminder=True),
            now=now,
            round_id=p.round_id,
        )
        count += 1
    return count


def capped_snooze(round_: models.Round, now: datetime, text: str) -> tuple[datetime, bool]:
    """When a snooze ends: never later than an hour before the deadline.

    Raises:
        ValueError: the duration does not parse.
    """
    until = now + parse_duration(text)
    latest = max(now, deadline_of(round_) - timedelta(hours=1))
    return (latest, True) if until > latest else (until, False)

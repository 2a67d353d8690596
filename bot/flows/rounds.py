"""Round lifecycle: open (once per scheduled time), remind, snooze wake-ups, close.

All functions take the caller's session and run inside its transaction, so a round, its
participants and their prompts are committed together: a crash mid-fan-out leaves either
nothing or everything in the outbox, and the outbox worker resumes delivery from there.

**Prompts at a local time of day.** A conversation with `local_time: "09:30"` holds each
participant's opening prompt until the next 09:30 on their own wall clock, at or after the
round opens: the member's time zone (playbook or chat directory), else the zone of the
conversation's cadence, else UTC. The rule for "too late" (`latest_hold`): a prompt is
held only while it would still go out no later than the first reminder and with at least
a quarter of the response window left; otherwise it is sent as the round opens, so
nobody is asked too late to answer and nobody gets their first prompt and a reminder
together. Why the pieces look as they do:

- The due time is `Participant.prompt_due_at`, not a future outbox row: the outbox
  delivers each destination in order, so a held row would block that person's other
  messages until their morning.
- The engine's tick (`release_held_prompts`) queues what came due, with the idempotency
  key the opening prompt would have had at open (`prompt:<round>:<member>`). Taking a
  held prompt is one conditional UPDATE (`claim_held_prompt`), so a tick racing itself,
  a second replica, or the person typing `mine` at that moment: exactly one of them wins.
- Whoever reaches the round first - the tick, `mine`, a reply, a button - takes the held
  prompt; after that it is never sent again.
- Until their prompt goes out a participant is not reminded (automatically or by an
  admin's `remind`), since a reminder of a question never asked makes no sense.
- A participant still waiting when the round closes (an admin's `close`, or a deadline
  passed while the bot was down) was never asked: they are removed from the round, so
  they get no "the round has closed" notice and the digest neither counts them invited
  nor lists them as missing. While they wait, the round does not close early as
  "everyone answered": they have not had their turn.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import messages
from bot.errors import InvalidTransition
from bot.flows import focus
from bot.flows.cadence import parse_cadence
from bot.flows.digest import build_digest, save_digest
from bot.flows.heard import queue_heard
from bot.flows.outbound import DigestMessage, Notice, Prompt, QuestionView
from bot.flows.queueing import enqueue
from bot.playbook.durations import parse_duration
from bot.playbook.model import Conversation as ConversationSpec
from storage import models

UNFINISHED = focus.UNFINISHED
# Buttons on a round announced as waiting its turn: start it now, or deal with it whole.
WAITING_ACTIONS = ("answer_now", "answer_all", "skip_round", "snooze")
# A prompt held for local time must leave at least this share of the response window.
HOLD_SHARE_LEFT = 4  # a quarter: held prompts go no later than 3/4 into the window


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
        type=q.type,
        required=q.required,
        options=q.options,
        labels=dict(q.labels),
        help=q.help,
        unit=q.unit,
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
    waiting_for: str | None = None,
) -> Prompt:
    """The prompt for a participant's current question.

    With `waiting_for` (the title of the round the member is answering now), the prompt
    announces this round instead of asking its question (see `bot.flows.focus`).
    """
    spec = agenda_of(round_)
    index = min(participant.current_question, len(spec.questions) - 1)
    if waiting_for is not None:
        return Prompt(
            round_id=round_.id,
            conversation_key=spec.key,
            conversation_title=spec.title,
            round_number=round_.number,
            deadline=deadline_of(round_),
            purpose=spec.purpose if opening or reminder else None,
            opening=opening,
            reminder=reminder,
            question=question_view(spec, index),
            actions=WAITING_ACTIONS,
            waiting_for=waiting_for,
        )
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

    With the conversation's `local_time`, a member's prompt is held instead (their
    participant's `prompt_due_at`) when their local time comes soon enough, see
    `opening_due`; the tick sends it then (`release_held_prompts`).

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
    at = spec.local_time_of_day()
    fallback = cadence_zone(conv) if at is not None else "UTC"
    for p, (member, _) in zip(participants, seen.values(), strict=True):
        if at is not None:
            p.prompt_due_at = opening_due(
                zone_of(member, fallback),
                at,
                opened_at=now,
                deadline=deadline_of(round_),
                reminders=spec.reminders,
            )
    session.add_all(participants)
    session.flush()
    # Who is answering another round right now gets this one announced, not asked.
    focus.lock_members(session, seen)
    busy = focus.current_rounds(session, seen)
    for p, (member, _) in zip(participants, seen.values(), strict=True):
        if p.prompt_due_at is None:
            current = busy.get(member.id)
            _queue_opening(session, round_, p, member, now, current)
    held = sum(1 for p in participants if p.prompt_due_at is not None)
    lines = [messages.round_opened(spec.title, number, len(participants), deadline_of(round_))]
    if held and spec.local_time:
        lines.append(held_line(held, spec.local_time))
    enqueue(
        session,
        key=f"opened:{round_.id}",
        address=cio_channel,
        message=Notice(lines=tuple(lines)),
        now=now,
        round_id=round_.id,
    )
    return round_


def manual_slot(session: Session, conv: models.Conversation, now: datetime) -> datetime:
    """The scheduled time an admin's `ask` takes: now, or just after the newest round.

    A round is unique per (conversation, scheduled time); `ask`, `close`, `ask` within
    the same instant must still open the second round, so the slot moves on by a
    microsecond past whatever was scheduled last.
    """
    latest = session.scalar(
        select(func.max(models.Round.scheduled_for)).where(models.Round.conversation_id == conv.id)
    )
    if latest is None or latest < now:
        return now
    return latest + timedelta(microseconds=1)


def opening_key(round_id: int, member_id: int) -> str:
    """The outbox key of a member's opening prompt in a round (one per round and member)."""
    return f"prompt:{round_id}:{member_id}"


def _queue_opening(
    session: Session,
    round_: models.Round,
    participant: models.Participant,
    member: models.Member,
    now: datetime,
    current: focus.Current | None,
) -> None:
    # One key per (round, member) whether sent at open or released by a tick, so the
    # outbox's unique key is the last line of defence against a second opening prompt.
    waiting = _waiting_for(participant, current)
    queue_prompt(
        session,
        participant,
        prompt_for(round_, participant, opening=True, waiting_for=waiting),
        key=opening_key(round_.id, member.id),
        address=member.identity,
        now=now,
    )


def _waiting_for(participant: models.Participant, current: focus.Current | None) -> str | None:
    """The title of the round the member is answering instead of this one, if any."""
    if current is None or current.participant_id == participant.id:
        return None
    return current.title


def queue_prompt(
    session: Session,
    participant: models.Participant,
    prompt: Prompt,
    *,
    key: str,
    address: str,
    now: datetime,
) -> None:
    """Queue a prompt; one that asks its question makes its round the member's current one."""
    enqueue(session, key=key, address=address, message=prompt, now=now, round_id=prompt.round_id)
    if prompt.waiting_for is None:
        participant.shown_at = now


# --- prompts at a local time of day (see the module docstring) ----------------------------


def cadence_zone(conv: models.Conversation) -> str:
    """The zone of the cadence in force (an admin's override, else the playbook's).

    It stands in for a participant whose own zone is unknown: the cadence's zone is where
    the organisation said the conversation lives. "UTC" when the cadence names none.
    """
    try:
        return parse_cadence(conv.effective_cadence).timezone
    except ValueError:  # validated when set; an unreadable one must not stop a round
        return "UTC"


def zone_of(member: models.Member, fallback: str) -> ZoneInfo:
    """The member's own time zone, else `fallback` (itself UTC if unusable).

    A directory can hand us a zone this machine's tz database does not know (or an old
    alias): that falls back too, rather than failing the whole round's opening.
    """
    for name in (member.timezone, fallback):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_local_time(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment at or after `after` when the wall clock in `zone` shows `at`.

    Wall-clock arithmetic, so 09:30 stays 09:30 across a daylight-saving change (never
    "24 hours later"). A time that does not exist that day (02:30 when clocks jump from
    02:00 to 03:00) is read with the offset before the jump, i.e. an hour later on the
    new clock (03:30); one that happens twice is its first occurrence.

    Args:
        after: an aware datetime.
        at: the wall-clock time of day.
        zone: the zone whose wall clock counts.

    Returns:
        An aware UTC datetime.
    """
    day = after.astimezone(zone).date()
    today = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
    if today >= after:
        return today
    return datetime.combine(day + timedelta(days=1), at, tzinfo=zone).astimezone(UTC)


def latest_hold(
    opened_at: datetime, deadline: datetime, reminders: tuple[timedelta, ...]
) -> datetime:
    """The latest moment a held opening prompt may go out.

    No later than the first reminder (so a participant is never reminded of, or gets a
    reminder right behind, a question they were just asked) and with at least a quarter of
    the response window left to answer in. A 3-day window with a 1-day reminder holds up
    to 48 hours, so every zone's next morning fits; a 4-hour window holds up to 3 hours.
    """
    window = deadline - opened_at
    latest = deadline - window / HOLD_SHARE_LEFT
    if reminders:
        latest = min(latest, deadline - max(reminders))
    return latest


def opening_due(
    zone: ZoneInfo,
    at: time,
    *,
    opened_at: datetime,
    deadline: datetime,
    reminders: tuple[timedelta, ...],
) -> datetime | None:
    """When a participant's opening prompt is due, or None to send it as the round opens.

    None when `at` in `zone` is the opening moment itself, or comes later than
    `latest_hold` allows.
    """
    due = next_local_time(opened_at, at, zone)
    if due <= opened_at or due > latest_hold(opened_at, deadline, reminders):
        return None
    return due


def claim_held_prompt(session: Session, participant: models.Participant) -> bool:
    """Take a participant's held opening prompt, if it is still held; True if this call did.

    One conditional UPDATE (`... WHERE prompt_due_at IS NOT NULL`), so of two transactions
    racing for it (two ticks, two replicas, a tick and the person's `mine`) exactly one
    sees a row changed: PostgreSQL re-checks the condition after the other commits, and
    SQLite runs one writer at a time. The loser then sends nothing.
    """
    if participant.prompt_due_at is None:
        return False  # cleared in this transaction, or never held (it is never set again)
    result = session.connection().execute(
        update(models.Participant)
        .where(
            models.Participant.id == participant.id,
            models.Participant.prompt_due_at.is_not(None),
        )
        .values(prompt_due_at=None)
    )
    # Mirror the database without marking the attribute dirty (no second UPDATE).
    set_committed_value(participant, "prompt_due_at", None)
    return bool(result.rowcount)


def release_held_prompts(session: Session, round_: models.Round, now: datetime) -> int:
    """Queue the opening prompts of this round held for a local time that has come (tick).

    Reminders whose time has passed already (the bot was down at the prompt's time) count
    as sent, so the person gets their question once, not the question and a reminder.

    Returns:
        How many prompts were queued.
    """
    sent = 0
    due_reminders_now = sum(1 for t in reminder_times(round_) if t <= now)
    due = list(
        session.scalars(
            select(models.Participant)
            .where(
                models.Participant.round_id == round_.id,
                models.Participant.prompt_due_at.is_not(None),
                models.Participant.prompt_due_at <= now,
            )
            .order_by(models.Participant.id)
        )
    )
    if not due:
        return 0
    focus.lock_members(session, (p.member_id for p in due))
    busy = focus.current_rounds(session, (p.member_id for p in due))
    for p in due:
        if not claim_held_prompt(session, p) or p.status not in UNFINISHED:
            continue
        p.reminders_sent = max(p.reminders_sent, due_reminders_now)
        _queue_opening(session, round_, p, p.member, now, busy.get(p.member_id))
        sent += 1
    return sent


def held_count(session: Session, round_: models.Round) -> int:
    """How many of this round's opening prompts still wait for a local time of day."""
    return (
        session.scalar(
            select(func.count())
            .select_from(models.Participant)
            .where(
                models.Participant.round_id == round_.id,
                models.Participant.prompt_due_at.is_not(None),
            )
        )
        or 0
    )


def held_line(count: int, local_time: str) -> str:
    """Said to the CIO channel and the admin when a round opens with prompts held."""
    return f"{count} of them will be asked at {local_time} in their own time zone."


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


def lock_round(session: Session, round_id: int) -> models.Round | None:
    """The round, re-read under its row lock (PostgreSQL) for the rest of the transaction.

    Whatever changes a round's participants takes this lock after the members' (see
    `bot.flows.focus`), so deciding that everyone has answered, or that the round is still
    open when an answer is stored, is serialised per round: of two final answers that
    arrive together, the second sees the first and closes the round. SQLite runs one
    writer at a time, so there the lock is implied.
    """
    return session.scalar(
        select(models.Round)
        .where(models.Round.id == round_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def close_round(
    session: Session,
    round_: models.Round,
    *,
    now: datetime,
    reason: str,
    cio_channel: str,
    organisation: str,
) -> bool:
    """Close a round and post its digest to the CIO channel (queued in the same transaction).

    Those who had not finished hear that it closed; whoever was answering it is asked their
    next open round, if any (`bot.flows.focus`).

    Returns:
        False if the round was no longer open (another replica's tick, or an admin, closed
        it first): nothing is changed then.
    """
    unfinished = list(
        session.scalars(
            select(models.Participant).where(
                models.Participant.round_id == round_.id,
                models.Participant.status.in_(UNFINISHED),
                models.Participant.prompt_due_at.is_(None),
            )
        )
    )
    focus.lock_members(session, (p.member_id for p in unfinished))
    busy = focus.current_rounds(session, (p.member_id for p in unfinished))
    locked = lock_round(session, round_.id)
    if locked is None or locked.status != "open":
        return False
    round_.status = "closed"
    round_.closed_at = now
    # The column holds 40 characters; "closed by teams:<AAD object id>" is longer, and who
    # closed it is in the audit log in full.
    round_.close_reason = reason[:40]
    title = agenda_of(round_).title
    # Still waiting for their local time: never asked, so not participants of this round
    # (no "you didn't answer" notice, neither invited nor missing in the digest).
    session.execute(
        delete(models.Participant).where(
            models.Participant.round_id == round_.id,
            models.Participant.prompt_due_at.is_not(None),
        )
    )
    for p in unfinished:
        enqueue(
            session,
            key=f"closed:{round_.id}:{p.member_id}",
            address=p.member.identity,
            message=Notice(lines=(messages.round_closed_for_you(title, p.status == "answering"),)),
            now=now,
            round_id=round_.id,
        )
    session.flush()
    for p in unfinished:
        current = busy.get(p.member_id)
        if current is not None and current.participant_id == p.id:
            _hand_over(session, p, now)
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
    if agenda_of(round_).what_we_heard and digest.conversations:
        queue_heard(session, round_, digest.conversations[0], now=now)
    return True


def _hand_over(session: Session, closed: models.Participant, now: datetime) -> None:
    """The member was answering the round that just closed: ask their next round, if any.

    A round held for their local time stays held (the tick asks it then).
    """
    nxt = focus.next_in_line(focus.open_participations(session, closed.member_id))
    if nxt is None or nxt.prompt_due_at is not None:
        return
    first_sight = nxt.shown_at is None
    note = None if first_sight else messages.back_to(agenda_of(nxt.round).title)
    queue_prompt(
        session,
        nxt,
        prompt_for(nxt.round, nxt, opening=first_sight, note=note),
        key=f"next:{closed.round_id}:{closed.member_id}",
        address=closed.member.identity,
        now=now,
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
    candidates = [
        p
        for p in session.scalars(
            select(models.Participant).where(
                models.Participant.round_id == round_.id,
                models.Participant.status.in_(UNFINISHED),
                models.Participant.reminders_sent < due,
                models.Participant.prompt_due_at.is_(None),  # not asked yet: nothing to remind
            )
        )
        if not (p.snoozed_until and p.snoozed_until > now)
    ]
    busy = _lock_and_find_current(session, candidates)
    for p in candidates:
        p.reminders_sent = due
        p.last_reminded_at = now
        _queue_reminder(session, round_, p, busy, key=f"remind:{p.id}:{due}", now=now)
        sent += 1
    return sent


def _lock_and_find_current(
    session: Session, participants: list[models.Participant]
) -> dict[int, focus.Current]:
    if not participants:
        return {}
    focus.lock_members(session, (p.member_id for p in participants))
    return focus.current_rounds(session, (p.member_id for p in participants))


def _queue_reminder(
    session: Session,
    round_: models.Round,
    participant: models.Participant,
    busy: dict[int, focus.Current],
    *,
    key: str,
    now: datetime,
) -> None:
    waiting = _waiting_for(participant, busy.get(participant.member_id))
    queue_prompt(
        session,
        participant,
        prompt_for(round_, participant, reminder=True, waiting_for=waiting),
        key=key,
        address=participant.member.identity,
        now=now,
    )


def remind_now(session: Session, round_: models.Round, now: datetime) -> int:
    """Remind every unfinished participant at once (the admin's `remind`).

    Those whose opening prompt still waits for their local time are left out: they have
    not been asked yet, and will be at their time.
    """
    count = 0
    candidates = list(
        session.scalars(
            select(models.Participant).where(
                models.Participant.round_id == round_.id,
                models.Participant.status.in_(UNFINISHED),
                models.Participant.prompt_due_at.is_(None),
            )
        )
    )
    busy = _lock_and_find_current(session, candidates)
    for p in candidates:
        p.last_reminded_at = now
        key = f"remind:{p.id}:manual:{now.isoformat()}"
        _queue_reminder(session, round_, p, busy, key=key, now=now)
        count += 1
    return count


def wake_snoozed(session: Session, now: datetime) -> int:
    """Ask again those whose snooze has run out."""
    count = 0
    woken = list(
        session.scalars(
            select(models.Participant)
            .join(models.Round)
            .where(
                models.Round.status == "open",
                models.Participant.status.in_(UNFINISHED),
                models.Participant.snoozed_until.is_not(None),
                models.Participant.snoozed_until <= now,
                models.Participant.prompt_due_at.is_(None),
            )
        )
    )
    busy = _lock_and_find_current(session, woken)
    for p in woken:
        until = p.snoozed_until or now
        p.snoozed_until = None
        key = f"snooze:{p.id}:{until.isoformat()}"
        _queue_reminder(session, p.round, p, busy, key=key, now=now)
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

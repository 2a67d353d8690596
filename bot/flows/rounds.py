"""Round lifecycle: open (once per scheduled time), remind, snooze wake-ups, close.

All functions take the caller's session and run inside its transaction.

**Big rounds in chunks.** Opening or closing a round of 50,000 people in one transaction
would hold SQLite's single writer (and PostgreSQL's row locks) for seconds, and every click
made meanwhile would miss Slack's 3-second ack. So the work is done `CHUNK` people at a
time, each chunk in its own short transaction:

- `open_round` writes the round with `pending_work = "open"` and its first chunk; each
  further chunk (`work_chunk`, driven by `bot.flows.engine.Engine.continue_rounds`) writes
  the next members' participants *and their opening prompts together*, in multi-row
  INSERTs, and moves `work_cursor` (the last member id done) in the same transaction. A
  crash between chunks leaves whole participants with their prompts; the next chunk starts
  after the cursor, and the outbox's idempotency keys (`prompt:<round>:<member>`) and the
  participants' unique (round, member) make a chunk written twice add nothing. The CIO
  channel's "round opened" notice goes out with the last chunk, counting everyone.
- While `pending_work` is "open" the round does not close early as "everyone answered":
  not everyone has been asked yet.
- `close_round` closes the round in the caller's transaction (status, and the removal of
  those still held for their local time), so no answer is stored into it from then on;
  the "it closed" notices and hand-overs to each person's next round follow in chunks
  (`pending_work = "close"`, the cursor being the last participant id done), and the
  digest, built with `up_to_number` so a round opened meanwhile does not count, is saved
  and queued with the last chunk. A round small enough for one chunk does all of it at
  once, in the caller's transaction, as before.
- Every chunk locks its members, then the round (the order of `bot.flows.focus`), and
  re-checks the round's state, so a close racing the fan-out stops it cleanly.

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

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bot import messages
from bot.errors import InvalidTransition
from bot.flows import focus
from bot.flows.cadence import parse_cadence
from bot.flows.confidential import channel_view
from bot.flows.digest import build_digest, save_digest
from bot.flows.digest_model import Digest
from bot.flows.heard import queue_heard
from bot.flows.outbound import DigestMessage, Notice, OutboundMessage, Prompt, QuestionView
from bot.flows.queueing import enqueue, enqueue_many
from bot.playbook.durations import parse_duration
from bot.playbook.model import Conversation as ConversationSpec
from storage import models

UNFINISHED = focus.UNFINISHED
# Buttons on a round announced as waiting its turn: start it now, or deal with it whole.
WAITING_ACTIONS = ("answer_now", "answer_all", "skip_round", "snooze")
# A prompt held for local time must leave at least this share of the response window.
HOLD_SHARE_LEFT = 4  # a quarter: held prompts go no later than 3/4 into the window
# People per transaction when a round opens, closes, reminds or wakes snoozes: a few tens of ms
# of SQLite's single writer each, so a click waits at most that long behind a big round.
CHUNK = 250
OPEN = "open"
CLOSE = "close"
DIGEST = "digest"  # the digest, built outside the writer's lock
HEARD = "heard"  # what we heard, after the digest


def deadline_of(round_: models.Round) -> datetime:
    """An open or closed round's deadline (missed rounds have none).

    Raises:
        InvalidTransition: asked of a round that never opened.
    """
    if round_.deadline is None:
        raise InvalidTransition(f"round {round_.id} never opened, so it has no deadline")
    return round_.deadline


def agenda_of(round_: models.Round) -> ConversationSpec:
    """The conversation as it was when the round opened.

    Validating the agenda costs more than a click's SQL, and a click asks for it several
    times; a round's agenda is a snapshot that never changes once the round is written,
    so the parsed (frozen) spec is kept per round id (`_AGENDAS`).
    """
    return _AGENDAS.spec(round_)


class _AgendaCache:
    """Parsed agendas by round id: a bounded LRU, shared by every thread of the process.

    Safe without invalidation because what it is derived from never changes: the round's
    agenda is written once, when the round opens. Each hit is still checked against the
    agenda the caller holds (a dict comparison, much cheaper than validating), so an id
    that names another round (a second database in the process, a test's truncated
    tables) is parsed afresh instead of answered from the wrong snapshot. Replicas each
    keep their own cache of the same immutable data, so they cannot disagree.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._specs: OrderedDict[int, tuple[dict[str, Any], ConversationSpec]] = OrderedDict()

    def spec(self, round_: models.Round) -> ConversationSpec:
        raw = round_.agenda
        key = round_.id
        if key is not None:
            with self._lock:
                hit = self._specs.get(key)
                if hit is not None and (hit[0] is raw or hit[0] == raw):
                    self._specs.move_to_end(key)
                    return hit[1]
        parsed = ConversationSpec.model_validate(raw)
        if key is not None:
            with self._lock:
                # A copy: the caller's dict belongs to its session, and could be changed.
                self._specs[key] = (copy.deepcopy(raw), parsed)
                self._specs.move_to_end(key)
                while len(self._specs) > self._size:
                    self._specs.popitem(last=False)
        return parsed


# Open rounds are few (one per conversation); closed ones are read by digests and exports.
_AGENDAS = _AgendaCache(size=256)


def question_view(spec: ConversationSpec, index: int) -> QuestionView:
    """The question at `index` (0-based) as shown to a stakeholder."""
    q = spec.questions[index]
    readers = q.confidential or spec.confidential  # as the round was asked: its promise
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
        confidential=readers,
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
    return _prompt(spec, round_, participant.current_question, opening, reminder, note, waiting_for)


def _prompt(
    spec: ConversationSpec,
    round_: models.Round,
    current_question: int,
    opening: bool = False,
    reminder: bool = False,
    note: str | None = None,
    waiting_for: str | None = None,
) -> Prompt:
    index = min(current_question, len(spec.questions) - 1)
    prompt = Prompt(
        round_id=round_.id,
        conversation_key=spec.key,
        conversation_title=spec.title,
        round_number=round_.number,
        deadline=deadline_of(round_),
        purpose=spec.purpose if opening or reminder else None,
        opening=opening,
        reminder=reminder,
        note=note if waiting_for is None else None,
        question=question_view(spec, index),
    )
    if waiting_for is None:
        return prompt
    # Announcing this round while another is answered: its own actions, no question asked.
    return prompt.model_copy(update={"actions": WAITING_ACTIONS, "waiting_for": waiting_for})


def open_round(
    session: Session,
    conv: models.Conversation,
    *,
    scheduled_for: datetime,
    trigger: str,
    now: datetime,
    cio_channel: str,
    opened_by: str | None = None,
    chunk: int | None = None,
) -> models.Round | None:
    """Open a round and queue a prompt for every member of the conversation's groups.

    The round and its first `chunk` members (participants with their prompts) are written
    in the caller's transaction; a bigger round leaves `pending_work = "open"` for
    `work_chunk` to finish in further short transactions (see the module docstring).

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
        pending_work=OPEN,
        work_cursor=0,
    )
    try:
        with session.begin_nested():
            session.add(round_)
            session.flush()
    except IntegrityError:
        return None
    _open_chunk(session, round_, now=now, cio_channel=cio_channel, limit=chunk or CHUNK)
    return round_


def invited_count(session: Session, round_: models.Round) -> int:
    """Who is asked in this round: its participants, or everyone its groups hold.

    The second while it is still being opened (its participants are written in chunks).
    """
    if round_.pending_work == OPEN:
        spec = agenda_of(round_)
        return int(
            session.scalar(
                select(func.count(func.distinct(models.GroupMember.member_id)))
                .join(models.Group, models.Group.id == models.GroupMember.group_id)
                .where(models.Group.key.in_(spec.groups))
            )
            or 0
        )
    return int(
        session.scalar(
            select(func.count())
            .select_from(models.Participant)
            .where(models.Participant.round_id == round_.id)
        )
        or 0
    )


def work_chunk(
    session: Session,
    round_: models.Round,
    *,
    now: datetime,
    cio_channel: str,
    organisation: str,
    chunk: int | None = None,
) -> bool:
    """Do the next chunk of a round's opening or closing, in the caller's transaction.

    Returns:
        True when nothing is left to do for this round.
    """
    if round_.pending_work == OPEN:
        return _open_chunk(session, round_, now=now, cio_channel=cio_channel, limit=chunk or CHUNK)
    if round_.pending_work == HEARD:
        return _heard_chunk(session, round_, now=now, limit=chunk or CHUNK)
    if round_.pending_work == CLOSE:
        return _close_chunk(
            session,
            round_,
            now=now,
            cio_channel=cio_channel,
            organisation=organisation,
            limit=chunk or CHUNK,
        )
    return True


def _open_chunk(
    session: Session,
    round_: models.Round,
    *,
    now: datetime,
    cio_channel: str,
    limit: int,
) -> bool:
    """Write the participants and opening prompts of the next `limit` members (by id)."""
    spec = agenda_of(round_)
    cursor = round_.work_cursor or 0
    ids = list(
        session.scalars(
            select(models.GroupMember.member_id)
            .join(models.Group, models.Group.id == models.GroupMember.group_id)
            .where(models.Group.key.in_(spec.groups), models.GroupMember.member_id > cursor)
            .group_by(models.GroupMember.member_id)
            .order_by(models.GroupMember.member_id)
            .limit(limit)
        )
    )
    # Members before rounds (`bot.flows.focus`); then re-check: a close may have come first.
    focus.lock_members(session, ids)
    locked = lock_round(session, round_.id)
    if locked is None or locked.status != "open" or locked.pending_work != OPEN:
        return True
    if ids:
        _open_members(session, round_, spec, ids, now)
        round_.work_cursor = ids[-1]
    if len(ids) == limit:
        return False
    round_.pending_work = None
    round_.work_cursor = None
    invited = invited_count(session, round_)
    held = held_count(session, round_)
    lines = [messages.round_opened(spec.title, round_.number, invited, deadline_of(round_))]
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
    return True


def _open_members(
    session: Session,
    round_: models.Round,
    spec: ConversationSpec,
    ids: Sequence[int],
    now: datetime,
) -> None:
    """Participants and opening prompts for these members: two multi-row INSERTs."""
    order = {g: i for i, g in enumerate(spec.groups)}
    group_of: dict[int, str] = {}
    for member_id, gkey in session.execute(
        select(models.GroupMember.member_id, models.Group.key)
        .join(models.Group, models.Group.id == models.GroupMember.group_id)
        .where(models.Group.key.in_(spec.groups), models.GroupMember.member_id.in_(ids))
    ).all():
        if member_id not in group_of or order[gkey] < order[group_of[member_id]]:
            group_of[member_id] = gkey
    members = {
        member_id: (identity, timezone)
        for member_id, identity, timezone in session.execute(
            select(models.Member.id, models.Member.identity, models.Member.timezone).where(
                models.Member.id.in_(ids)
            )
        )
    }
    # Who is answering another round right now gets this one announced, not asked.
    busy = focus.current_rounds(session, ids)
    at = spec.local_time_of_day()
    fallback = cadence_zone(round_.conversation) if at is not None else "UTC"
    rows: list[dict[str, Any]] = []
    for member_id in ids:
        due = None
        if at is not None:
            due = opening_due(
                _zone(members[member_id][1], fallback),
                at,
                opened_at=now,
                deadline=deadline_of(round_),
                reminders=spec.reminders,
            )
        asked = due is None and member_id not in busy
        rows.append(
            {
                "round_id": round_.id,
                "member_id": member_id,
                "group_key": group_of[member_id],
                "status": "pending",
                "current_question": 0,
                "reminders_sent": 0,
                "prompt_due_at": due,
                "shown_at": now if asked else None,
            }
        )
    new = set(_insert_participants(session, rows))  # a chunk written twice adds nobody
    prompts: dict[str | None, Prompt] = {}
    queued: list[tuple[str, str, OutboundMessage]] = []
    for row in rows:
        member_id = row["member_id"]
        if member_id not in new or row["prompt_due_at"] is not None:
            continue
        current = busy.get(member_id)
        waiting = current.title if current is not None else None
        if waiting not in prompts:
            prompts[waiting] = _prompt(spec, round_, 0, opening=True, waiting_for=waiting)
        queued.append((opening_key(round_.id, member_id), members[member_id][0], prompts[waiting]))
    enqueue_many(session, queued, now=now, round_id=round_.id)


def _insert_participants(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert participants unless there already; the member ids of those inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    table = models.Participant.__table__
    maker: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        maker(table)
        .on_conflict_do_nothing(index_elements=["round_id", "member_id"])
        .returning(table.c.member_id)
    )
    # One compiled statement, many parameter sets: sent as multi-row INSERTs
    # ("insertmanyvalues"), `CHUNK` rows each.
    conn = session.connection().execution_options(insertmanyvalues_page_size=CHUNK)
    return list(conn.execute(stmt, rows).scalars())


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


def _waiting_for(participant: models.Participant, current: focus.Current | None) -> str | None:
    """The title of the round the member is answering instead of this one, if any."""
    if current is None or current.participant_id == participant.id:
        return None
    return current.title


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
    return _zone(member.timezone, fallback)


def _zone(own: str | None, fallback: str) -> ZoneInfo:
    for name in (own, fallback):
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


def release_held_prompts(
    session: Session, round_: models.Round, now: datetime, *, limit: int | None = None
) -> int:
    """Queue the opening prompts of this round held for a local time that has come (tick).

    Reminders whose time has passed already (the bot was down at the prompt's time) count
    as sent, so the person gets their question once, not the question and a reminder.
    Takes at most `limit` held prompts (everyone in one zone comes due at once; the tick
    calls again, in a new transaction, while the whole `limit` came back).

    Returns:
        How many held prompts were taken (queued, or dropped for someone who finished).
    """
    due_reminders_now = sum(1 for t in reminder_times(round_) if t <= now)
    stmt = (
        select(models.Participant)
        .options(joinedload(models.Participant.member))
        .where(
            models.Participant.round_id == round_.id,
            models.Participant.prompt_due_at.is_not(None),
            models.Participant.prompt_due_at <= now,
        )
        .order_by(models.Participant.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    due = list(session.scalars(stmt))
    if not due:
        return 0
    focus.lock_members(session, (p.member_id for p in due))
    busy = focus.current_rounds(session, (p.member_id for p in due))
    # One conditional UPDATE for the chunk: what another transaction took first is not
    # returned, so exactly one of two racing ticks (or a tick and `mine`) sends each.
    claimed = set(
        session.connection().scalars(
            update(models.Participant)
            .where(
                models.Participant.id.in_([p.id for p in due]),
                models.Participant.prompt_due_at.is_not(None),
            )
            .values(prompt_due_at=None)
            .returning(models.Participant.id)
        )
    )
    spec = agenda_of(round_)
    prompts: dict[str | None, Prompt] = {}
    queued: list[tuple[str, str, OutboundMessage]] = []
    for p in due:
        set_committed_value(p, "prompt_due_at", None)
        if p.id not in claimed or p.status not in UNFINISHED:
            continue
        p.reminders_sent = max(p.reminders_sent, due_reminders_now)
        waiting = _waiting_for(p, busy.get(p.member_id))
        if waiting not in prompts:
            prompts[waiting] = _prompt(
                spec, round_, p.current_question, opening=True, waiting_for=waiting
            )
        queued.append((opening_key(round_.id, p.member_id), p.member.identity, prompts[waiting]))
        if waiting is None:
            p.shown_at = now
    enqueue_many(session, queued, now=now, round_id=round_.id)
    return len(due)


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
    return session.scalar(_LOCK_ROUND, {"round": round_id})


# Built once (every click locks its round).
_LOCK_ROUND = (
    select(models.Round)
    .where(models.Round.id == bindparam("round"))
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
    chunk: int | None = None,
) -> bool:
    """Close a round and post its digest to the CIO channel.

    The round closes in the caller's transaction; those who had not finished hear that it
    closed, and whoever was answering it is asked their next open round, if any
    (`bot.flows.focus`), `chunk` people at a time: the first chunk here, the rest (and
    then the digest) by `work_chunk` in transactions of their own (module docstring).

    Returns:
        False if the round was no longer open (another replica's tick, or an admin, closed
        it first): nothing is changed then.
    """
    chunk = chunk or CHUNK
    first = _unfinished_after(session, round_.id, 0, chunk)
    focus.lock_members(session, (p.member_id for p in first))
    locked = lock_round(session, round_.id)
    if locked is None or locked.status != "open":
        return False
    round_.status = "closed"
    round_.closed_at = now
    # The column holds 40 characters; "closed by teams:<AAD object id>" is longer, and who
    # closed it is in the audit log in full.
    round_.close_reason = reason[:40]
    round_.pending_work = CLOSE
    round_.work_cursor = 0
    # Still waiting for their local time: never asked, so not participants of this round
    # (no "you didn't answer" notice, neither invited nor missing in the digest).
    session.execute(
        delete(models.Participant).where(
            models.Participant.round_id == round_.id,
            models.Participant.prompt_due_at.is_not(None),
        )
    )
    _close_chunk(
        session,
        round_,
        now=now,
        cio_channel=cio_channel,
        organisation=organisation,
        limit=chunk,
        prefetched=first,
    )
    return True


def _unfinished_after(
    session: Session, round_id: int, after: int, limit: int
) -> list[models.Participant]:
    """The next `limit` unfinished, asked participants of a round by id, with their members."""
    return list(
        session.scalars(
            select(models.Participant)
            .options(joinedload(models.Participant.member))
            .where(
                models.Participant.round_id == round_id,
                models.Participant.status.in_(UNFINISHED),
                models.Participant.prompt_due_at.is_(None),
                models.Participant.id > after,
            )
            .order_by(models.Participant.id)
            .limit(limit)
        )
    )


def _close_chunk(
    session: Session,
    round_: models.Round,
    *,
    now: datetime,
    cio_channel: str,
    organisation: str,
    limit: int,
    prefetched: list[models.Participant] | None = None,
) -> bool:
    """Closed notices and hand-overs for the next chunk; the digest after the last one."""
    parts = prefetched
    if parts is None:
        parts = _unfinished_after(session, round_.id, round_.work_cursor or 0, limit)
        focus.lock_members(session, (p.member_id for p in parts))
        locked = lock_round(session, round_.id)
        if locked is None or locked.pending_work != CLOSE:
            return True
    if parts:
        title = agenda_of(round_).title
        notices = {
            answering: Notice(lines=(messages.round_closed_for_you(title, answering),))
            for answering in (False, True)
        }
        enqueue_many(
            session,
            [
                (
                    f"closed:{round_.id}:{p.member_id}",
                    p.member.identity,
                    notices[p.status == "answering"],
                )
                for p in parts
            ],
            now=now,
            round_id=round_.id,
        )
        _hand_over_all(session, round_, parts, now)
        round_.work_cursor = parts[-1].id
    if len(parts) == limit:
        return False
    if prefetched is None:
        # A big round: its digest is built outside the writer's lock (`closed_digest`,
        # then `post_digest`), so clicks are not kept waiting while 50,000 answers add up.
        round_.pending_work, round_.work_cursor = DIGEST, None
        return False
    digest = closed_digest(session, round_, organisation=organisation, now=now)
    return post_digest(session, round_, digest, now=now, cio_channel=cio_channel, limit=limit)


def closed_digest(
    session: Session, round_: models.Round, *, organisation: str, now: datetime
) -> Digest:
    """The digest of a round that has closed (only reads: any transaction will do).

    Nothing it counts changes once the round is closed, so it may be built in a read-only
    transaction, outside SQLite's writer lock, and posted by `post_digest` afterwards.
    """
    return build_digest(
        session,
        scope=round_.conversation.key,
        organisation=organisation,
        now=now,
        up_to_number=round_.number,
    )


def post_digest(
    session: Session,
    round_: models.Round,
    digest: Digest,
    *,
    now: datetime,
    cio_channel: str,
    limit: int | None = None,
) -> bool:
    """Keep and queue a closed round's digest, then start telling what we heard.

    Returns:
        True when nothing is left to do for the round.
    """
    if round_.pending_work == DIGEST:  # another replica or thread may have posted it
        locked = lock_round(session, round_.id)
        if locked is None or locked.pending_work != DIGEST:
            return True
    limit = limit or CHUNK
    save_digest(session, digest, round_id=round_.id, requested_by=None)
    enqueue(
        session,
        key=f"digest:round:{round_.id}",
        address=cio_channel,
        # Everyone in the channel reads it: confidential answers as counts only.
        message=DigestMessage(digest=channel_view(digest)),
        now=now,
        round_id=round_.id,
    )
    round_.pending_work = None
    round_.work_cursor = None
    if agenda_of(round_).what_we_heard and digest.conversations:
        round_.pending_work, round_.work_cursor = HEARD, 0
        return _heard_chunk(session, round_, now=now, limit=limit, digest=digest)
    return True


def _heard_chunk(
    session: Session,
    round_: models.Round,
    *,
    now: datetime,
    limit: int,
    digest: Digest | None = None,
) -> bool:
    """Tell the next `limit` people asked what we heard (`bot.flows.heard`)."""
    if digest is None:
        locked = lock_round(session, round_.id)
        if locked is None or locked.pending_work != HEARD:
            return True
        payload = session.scalar(
            select(models.Digest.payload)
            .where(models.Digest.round_id == round_.id, models.Digest.requested_by.is_(None))
            .order_by(models.Digest.id.desc())
            .limit(1)
        )
        digest = Digest.model_validate(payload) if payload is not None else None
    if digest is None or not digest.conversations:
        round_.pending_work, round_.work_cursor = None, None
        return True
    _, last = queue_heard(
        session,
        round_,
        digest.conversations[0],
        now=now,
        after=round_.work_cursor or 0,
        limit=limit,
    )
    if last is not None:
        round_.work_cursor = last
        return False
    round_.pending_work, round_.work_cursor = None, None
    return True


def _hand_over_all(
    session: Session, closed: models.Round, parts: Sequence[models.Participant], now: datetime
) -> None:
    """Those who were answering the round that closed are asked their next round, if any.

    One query for the whole chunk's other open participations. A round held for their
    local time stays held (the tick asks it then).
    """
    others: dict[int, list[models.Participant]] = {}
    for p in session.scalars(
        select(models.Participant)
        .join(models.Round, models.Round.id == models.Participant.round_id)
        .options(joinedload(models.Participant.round))
        .where(
            models.Participant.member_id.in_([p.member_id for p in parts]),
            models.Round.status == "open",
            models.Participant.status.in_(UNFINISHED),
        )
        .order_by(models.Round.opened_at, models.Round.id)
    ):
        others.setdefault(p.member_id, []).append(p)
    queued: list[tuple[str, str, OutboundMessage]] = []
    for closed_part in parts:
        theirs = others.get(closed_part.member_id, [])
        if not _was_current(closed_part, theirs):
            continue
        nxt = focus.next_in_line(theirs)
        if nxt is None or nxt.prompt_due_at is not None:
            continue
        first_sight = nxt.shown_at is None
        note = None if first_sight else messages.back_to(agenda_of(nxt.round).title)
        prompt = prompt_for(nxt.round, nxt, opening=first_sight, note=note)
        key = f"next:{closed.id}:{closed_part.member_id}"
        queued.append((key, closed_part.member.identity, prompt))
        nxt.shown_at = now
    enqueue_many(session, queued, now=now)


def _was_current(closed: models.Participant, others: Sequence[models.Participant]) -> bool:
    """Whether the closed round's participation was the member's current one (`focus`)."""
    if closed.shown_at is None:
        return False
    shown = focus.current(others)
    return shown is None or (shown.shown_at or closed.shown_at, shown.id) < (
        closed.shown_at,
        closed.id,
    )


def reminder_times(round_: models.Round) -> list[datetime]:
    """When reminders are due for this round, earliest first."""
    spec = agenda_of(round_)
    return sorted(deadline_of(round_) - r for r in spec.reminders)


def due_reminders(
    session: Session, round_: models.Round, now: datetime, *, limit: int | None = None
) -> int:
    """Queue the reminders that have come due for unfinished, un-snoozed participants.

    At most `limit` of them (the tick calls it again, in a new transaction, until fewer
    come back): those reminded are marked in the same transaction, so each call takes
    the next ones.
    """
    due = sum(1 for t in reminder_times(round_) if t <= now)
    if not due:
        return 0
    stmt = (
        select(models.Participant)
        .options(joinedload(models.Participant.member))
        .where(
            models.Participant.round_id == round_.id,
            models.Participant.status.in_(UNFINISHED),
            models.Participant.reminders_sent < due,
            models.Participant.prompt_due_at.is_(None),  # not asked yet: nothing to remind
            or_(
                models.Participant.snoozed_until.is_(None),
                models.Participant.snoozed_until <= now,
            ),
        )
        .order_by(models.Participant.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    candidates = list(session.scalars(stmt))
    for p in candidates:
        p.reminders_sent = due
    return _queue_reminders(
        session, candidates, now, lambda p: f"remind:{p.id}:{due}", reminded=True
    )


def _queue_reminders(
    session: Session,
    participants: Sequence[models.Participant],
    now: datetime,
    key: Callable[[models.Participant], str],
    *,
    reminded: bool,
) -> int:
    """Queue a reminder prompt for each (one multi-row INSERT per 500); how many."""
    if not participants:
        return 0
    focus.lock_members(session, (p.member_id for p in participants))
    busy = focus.current_rounds(session, (p.member_id for p in participants))
    prompts: dict[tuple[int, int, str | None], Prompt] = {}
    queued: list[tuple[str, str, OutboundMessage]] = []
    for p in participants:
        waiting = _waiting_for(p, busy.get(p.member_id))
        variant = (p.round_id, p.current_question, waiting)
        if variant not in prompts:
            prompts[variant] = prompt_for(p.round, p, reminder=True, waiting_for=waiting)
        queued.append((key(p), p.member.identity, prompts[variant]))
        if reminded:
            p.last_reminded_at = now
        if waiting is None:
            p.shown_at = now
    enqueue_many(session, queued, now=now)
    return len(participants)


def remind_now(session: Session, round_: models.Round, now: datetime) -> int:
    """Remind every unfinished participant at once (the admin's `remind`).

    Those whose opening prompt still waits for their local time are left out: they have
    not been asked yet, and will be at their time.
    """
    candidates = list(
        session.scalars(
            select(models.Participant)
            .options(joinedload(models.Participant.member))
            .where(
                models.Participant.round_id == round_.id,
                models.Participant.status.in_(UNFINISHED),
                models.Participant.prompt_due_at.is_(None),
            )
            .order_by(models.Participant.id)
        )
    )
    stamp = now.isoformat()
    return _queue_reminders(
        session, candidates, now, lambda p: f"remind:{p.id}:manual:{stamp}", reminded=True
    )


def wake_snoozed(session: Session, now: datetime, *, limit: int | None = None) -> int:
    """Ask again those whose snooze has run out (at most `limit`; see `due_reminders`)."""
    stmt = (
        select(models.Participant)
        .join(models.Round)
        .options(joinedload(models.Participant.member), joinedload(models.Participant.round))
        .where(
            models.Round.status == "open",
            models.Participant.status.in_(UNFINISHED),
            models.Participant.snoozed_until.is_not(None),
            models.Participant.snoozed_until <= now,
            models.Participant.prompt_due_at.is_(None),
        )
        .order_by(models.Participant.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    woken = list(session.scalars(stmt))
    keys = {p.id: f"snooze:{p.id}:{(p.snoozed_until or now).isoformat()}" for p in woken}
    for p in woken:
        p.snoozed_until = None
    return _queue_reminders(session, woken, now, lambda p: keys[p.id], reminded=False)


def capped_snooze(round_: models.Round, now: datetime, text: str) -> tuple[datetime, bool]:
    """When a snooze ends: never later than an hour before the deadline.

    Raises:
        ValueError: the duration does not parse.
    """
    until = now + parse_duration(text)
    latest = max(now, deadline_of(round_) - timedelta(hours=1))
    return (latest, True) if until > latest else (until, False)

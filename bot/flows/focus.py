"""Which of a member's open rounds they are answering: one round at a time.

A stakeholder in two groups can have two rounds open at once (Social Media and Social
Networking). Chat has no notion of "the card I am looking at": a typed reply, `skip` or
`snooze` must go to the question the person sees as current, and a DM shows whatever came
last. So a member answers one round at a time, and the bot never puts a second round's
question in their chat while they are in the middle of one:

- **Current** is the unfinished participation (open round, not held for local time) whose
  question was shown to the member most recently (`Participant.shown_at`). Every prompt
  that shows a question sets it: the opening prompt, the next question after an answer, a
  reminder, a snooze's wake-up, `mine`, Edit, the "Answer now" button.
- **Waiting**: a round that opens, is released at local time, reminds or wakes while the
  member has another current round is *announced* instead (`Prompt.waiting_for`: the round,
  its deadline and buttons, not its question), and its `shown_at` stays empty.
- **Next in line**, when the current round is finished, skipped or closed: the member's
  most recently shown other round (its question is shown again), else the oldest waiting
  round, else a round held for local time (shown now, since they are here).
- A button always names its round (and question), so pressing one on any message acts on
  that round; if it shows a question, that round becomes current.

Concurrency: deciding "current" reads a member's other rounds, so every transaction that
decides it takes the member's row lock first (`lock_members`, in id order; members before
rounds before participants everywhere), and two replicas opening two rounds for the same
person cannot both show a question. SQLite runs one writer at a time, so the lock is a
no-op there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from storage import models

UNFINISHED = ("pending", "answering")
_LOCK_CHUNK = 5000  # ids per locking statement (SQLite and drivers cap bound parameters)


@dataclass(frozen=True)
class Current:
    """A member's current round: the participation and the conversation's title."""

    participant_id: int
    title: str


def lock_members(session: Session, member_ids: Iterable[int]) -> None:
    """Take these members' row locks for the rest of the transaction (PostgreSQL).

    Always in id order, so two transactions locking overlapping sets cannot deadlock.
    """
    ids = sorted(set(member_ids))
    for start in range(0, len(ids), _LOCK_CHUNK):
        chunk = ids[start : start + _LOCK_CHUNK]
        session.execute(
            select(models.Member.id)
            .where(models.Member.id.in_(chunk))
            .order_by(models.Member.id)
            .with_for_update()
        ).all()


# Built once: every click runs it, and building it costs more than SQLite takes to run it.
_OPEN_PARTICIPATIONS = (
    select(models.Participant)
    .join(models.Round)
    .where(
        models.Participant.member_id == bindparam("member"),
        models.Round.status == "open",
        models.Participant.status.in_(UNFINISHED),
    )
    .order_by(models.Round.opened_at, models.Round.id)
)


def open_participations(session: Session, member_id: int) -> list[models.Participant]:
    """The member's unfinished participations in open rounds, oldest round first."""
    return list(session.scalars(_OPEN_PARTICIPATIONS, {"member": member_id}))


def current(parts: Sequence[models.Participant]) -> models.Participant | None:
    """The participation whose question the member saw last, or None."""
    shown = [p for p in parts if p.shown_at is not None and p.prompt_due_at is None]
    return max(shown, key=lambda p: (p.shown_at, p.id), default=None)


def next_in_line(
    parts: Sequence[models.Participant], *, without: models.Participant | None = None
) -> models.Participant | None:
    """Whom to ask next when the current round is done (see the module docstring)."""
    others = [p for p in parts if without is None or p.id != without.id]
    shown = current(others)
    if shown is not None:
        return shown
    waiting = [p for p in others if p.shown_at is None and p.prompt_due_at is None]
    if waiting:
        return waiting[0]
    held = [p for p in others if p.prompt_due_at is not None]
    return held[0] if held else None


def current_rounds(session: Session, member_ids: Iterable[int]) -> dict[int, Current]:
    """Each of these members' current round, for those who have one.

    One query for any number of members (a round's whole fan-out), in chunks.
    """
    ids = sorted(set(member_ids))
    best: dict[int, tuple[datetime, int, str]] = {}
    for start in range(0, len(ids), _LOCK_CHUNK):
        chunk = ids[start : start + _LOCK_CHUNK]
        rows = session.execute(
            select(
                models.Participant.member_id,
                models.Participant.id,
                models.Participant.shown_at,
                models.Conversation.title,
            )
            .join(models.Round, models.Round.id == models.Participant.round_id)
            .join(models.Conversation, models.Conversation.id == models.Round.conversation_id)
            .where(
                models.Participant.member_id.in_(chunk),
                models.Round.status == "open",
                models.Participant.status.in_(UNFINISHED),
                models.Participant.shown_at.is_not(None),
                models.Participant.prompt_due_at.is_(None),
            )
        ).all()
        for member_id, participant_id, shown_at, title in rows:
            if shown_at is None:  # excluded by the query; keeps the type checker informed
                continue
            seen = best.get(member_id)
            if seen is None or (shown_at, participant_id) > (seen[0], seen[1]):
                best[member_id] = (shown_at, participant_id, title)
    return {m: Current(participant_id=p, title=t) for m, (_, p, t) in best.items()}


def mark_shown(session: Session, member_id: int, round_id: int, now: datetime) -> None:
    """A question of this round was just shown to the member: it is their current round.

    When the participation is already in the session (the click that answered it), the
    change goes with the participant's other changes in one UPDATE at the next flush;
    else one UPDATE here. Only loaded attributes are compared, so nothing is read for it.
    """
    for obj in session.identity_map.values():
        if not isinstance(obj, models.Participant):
            continue
        loaded = vars(obj)
        if loaded.get("round_id") == round_id and loaded.get("member_id") == member_id:
            obj.shown_at = now
            return
    session.execute(
        update(models.Participant)
        .where(models.Participant.round_id == round_id, models.Participant.member_id == member_id)
        .values(shown_at=now)
    )

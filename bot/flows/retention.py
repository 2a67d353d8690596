"""Retention: answers older than their conversation's policy go; the roll-ups stay.

Why: the bot keeps what executives wrote about risks and incidents, and a records policy
says for how long. Once a day (`PURGE_AT` UTC, a job of `bot.scheduling`) `purge`:

- deletes the answers, and their earlier revisions, of every round of a conversation
  that closed longer ago than its retention (`retention:` in the playbook, else the
  playbook's default; with neither, nothing is purged). Who was asked and whether they
  finished (the participation figures) is kept, and first the figures computed from the
  answers (each rating's mean, each measure's median, who answered part) are written to
  the round (`Round.kept_figures`), so its trend points and history read the same after;
- takes the quoted free-text answers and the names of those who answered nothing out of
  the digests of those rounds (stored in `digests`, and any copy still in the outbox), so
  the counts, means, medians and trends in them stay readable while nobody's words do,
  and deletes any summary of those rounds' answers still in the outbox;
- prunes sent outbox messages, processed event ids and finished stored commands older
  than `KEEP_DELIVERY` (a platform retries an event within minutes, and a sent message's
  row is only needed to look it up again after a crash, within hours).

Every purge that removed something is written to the audit log as `strategy-bot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.flows.history import figures_to_keep
from bot.flows.privacy import without_quotes
from bot.playbook.durations import retention_cutoff
from bot.playbook.model import Playbook
from storage import models

#: When the daily purge runs (UTC).
PURGE_AT = time(3, 30)
#: Sent messages, processed event ids and finished commands are kept this long.
KEEP_DELIVERY = timedelta(days=30)
#: The actor of the purge's audit entries.
PURGER = "strategy-bot"
_CHUNK = 500


def next_purge(now: datetime) -> datetime:
    """When the daily purge runs next after `now`."""
    today = datetime.combine(now.astimezone(UTC).date(), PURGE_AT, tzinfo=UTC)
    return today if today > now else today + timedelta(days=1)


@dataclass
class Purged:
    """What a purge removed."""

    answers: int = 0
    rounds: list[int] = field(default_factory=list)
    digests: int = 0
    outbox: int = 0
    events: int = 0
    commands: int = 0


def _without_texts(value: Any, rounds: set[int], texts: frozenset[str] = frozenset()) -> Any:
    """A JSON document in which the digests of `rounds` quote nobody and name nobody.

    Quotes elsewhere (the themes of `digest all` and `consistency`, which name no round)
    are dropped when they are one of the purged `texts`, whole or cut.
    """
    if texts:
        value = without_quotes(value, texts)
    if isinstance(value, list):
        return [_without_texts(v, rounds) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _without_texts(v, rounds) for k, v in value.items()}
    if out.get("round_id") in rounds and "questions" in out:
        out["questions"] = [{**q, "texts": []} for q in out["questions"]]
        out["participation"] = [{**p, "missing": []} for p in out.get("participation", [])]
    return out


def _scrub(session: Session, table: Any, rounds: set[int], texts: frozenset[str]) -> int:
    """Rewrite the digests of `rounds` in a table of JSON payloads; drop summaries of them.

    A summary (a person's own answers, shown back to them) of a purged round is deleted
    outright: it is nothing but the answers.
    """
    changed: list[tuple[int, Any]] = []
    gone: list[int] = []
    rows: Any = session.scalars(
        select(table).order_by(table.id).execution_options(yield_per=_CHUNK)
    )
    for row in rows:
        payload = row.payload
        if payload.get("kind") == "summary" and payload.get("round_id") in rounds:
            gone.append(row.id)
            continue
        after = _without_texts(payload, rounds, texts)
        if after != payload:
            changed.append((row.id, after))
    for row_id, after in changed:
        session.execute(update(table).where(table.id == row_id).values(payload=after))
    if gone:
        session.execute(delete(table).where(table.id.in_(gone)))
    return len(changed)


def _texts_of(session: Session, answer_ids: list[int]) -> set[str]:
    """The free texts among these answers and their earlier versions (to drop their quotes)."""
    if not answer_ids:
        return set()
    values: list[Any] = list(
        session.scalars(select(models.Answer.value).where(models.Answer.id.in_(answer_ids)))
    )
    values += session.scalars(
        select(models.AnswerRevision.value).where(models.AnswerRevision.answer_id.in_(answer_ids))
    )
    # Every string: only a quote (a dict with `text` and `author`) is matched against them.
    return {v for v in values if isinstance(v, str) and v.strip()}


def _count(session: Session, statement: Any) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def purge_answers(session: Session, playbook: Playbook, now: datetime) -> Purged:
    """Delete the answers of rounds closed longer ago than their retention (module doc)."""
    purged = Purged()
    texts: set[str] = set()
    convs = session.scalars(select(models.Conversation).where(models.Conversation.active))
    for conv in convs:
        policy = playbook.retention_of(conv.key)
        if policy is None:
            continue
        cutoff = retention_cutoff(policy, now)
        due = list(
            session.scalars(
                select(models.Round).where(
                    models.Round.conversation_id == conv.id,
                    models.Round.status == "closed",
                    models.Round.closed_at < cutoff,
                    models.Round.kept_figures.is_(None),  # not purged yet
                )
            )
        )
        if not due:
            continue
        round_ids = [r.id for r in due]
        # Before the answers go: the figures history computes from them, kept on the round.
        for round_id, kept in figures_to_keep(session, due).items():
            session.execute(
                update(models.Round).where(models.Round.id == round_id).values(kept_figures=kept)
            )
        answers = (
            select(models.Answer.id)
            .join(models.Participant, models.Answer.participant_id == models.Participant.id)
            .where(models.Participant.round_id.in_(round_ids))
        )
        answer_ids = list(session.scalars(answers))
        texts.update(_texts_of(session, answer_ids))
        if answer_ids:
            session.execute(
                delete(models.AnswerRevision).where(models.AnswerRevision.answer_id.in_(answer_ids))
            )
            purged.answers += _count(
                session, delete(models.Answer).where(models.Answer.id.in_(answer_ids))
            )
            purged.rounds.extend(round_ids)
    if purged.rounds:
        rounds = set(purged.rounds)
        quoted = frozenset(texts)
        purged.digests = _scrub(session, models.Digest, rounds, quoted)
        _scrub(session, models.OutboxMessage, rounds, quoted)
    return purged


def prune_delivery(session: Session, now: datetime, purged: Purged) -> None:
    """Prune sent outbox rows, processed event ids and finished commands past the window."""
    before = now - KEEP_DELIVERY
    purged.outbox = _count(
        session,
        delete(models.OutboxMessage).where(
            models.OutboxMessage.status == "sent", models.OutboxMessage.sent_at < before
        ),
    )
    purged.events = _count(
        session, delete(models.InboundEvent).where(models.InboundEvent.received_at < before)
    )
    purged.commands = _count(
        session,
        delete(models.PendingCommand).where(
            models.PendingCommand.status.in_(("done", "expired", "failed")),
            models.PendingCommand.finished_at < before,
        ),
    )


def purge(session: Session, playbook: Playbook, now: datetime) -> Purged:
    """The daily purge, in the caller's transaction: answers, then delivery bookkeeping."""
    purged = purge_answers(session, playbook, now)
    prune_delivery(session, now, purged)
    if purged.answers or purged.outbox or purged.events or purged.commands:
        session.add(
            models.AuditEntry(
                at=now,
                actor=PURGER,
                action="purge",
                target="retention",
                detail={
                    "answers": purged.answers,
                    "rounds": len(purged.rounds),
                    "sent messages": purged.outbox,
                    "event ids": purged.events,
                },
            )
        )
    return purged

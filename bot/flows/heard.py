"""What we heard: when a round closes, each person asked hears what the group said.

Peers who run conversations like these report that closing the loop is what brings people
back for the next round: an answer that vanishes into a CIO's inbox is an answer people stop
giving. So every closed round (unless the playbook's `what_we_heard` is off) tells the
people it asked how many took part, each rating's mean, each measure's median, the most
chosen options, and what the CIO will look at next.

It is built from the round's own digest, and never carries a name or a text answer: text
questions say how many answered, and so do confidential questions of every type (their
figures are for the roles they name only, `bot.flows.confidential`). In an anonymous
conversation a question with fewer than `MIN_SHARED` answers is withheld, so nobody can
work out a colleague's answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.flows.cadence import parse_cadence
from bot.flows.confidential import counts_only
from bot.flows.digest_model import ConversationDigest, QuestionRollup
from bot.flows.outbound import Heard
from bot.flows.queueing import enqueue_many
from storage import models

#: In an anonymous conversation, a question's figures are shared from this many answers.
MIN_SHARED = 3
#: The CIO looks next at ratings below this mean.
LOW_RATING = 3.0
#: At most this many things the CIO will look at next.
NEXT_LOOKS = 2


def heard(digest: ConversationDigest, *, next_round: datetime | None) -> Heard | None:
    """The "what we heard" of a closed round, from its digest.

    Args:
        digest: the round's conversation digest (status "closed").
        next_round: when the conversation's next round opens, if it is scheduled.

    Returns:
        The message to send each person asked, or None for a round that did not close.
    """
    if digest.status != "closed" or digest.round_id is None or digest.round_number is None:
        return None
    shared: list[QuestionRollup] = []
    withheld = 0
    for q in digest.questions:
        if digest.anonymous and q.answered < MIN_SHARED:
            withheld += 1
            continue
        if q.confidential is not None:  # the people asked are not its readers: counts only
            shared.append(counts_only(q))
            continue
        shared.append(q.model_copy(update={"texts": ()}))
    return Heard(
        round_id=digest.round_id,
        conversation_key=digest.conversation_key,
        conversation_title=digest.title,
        round_number=digest.round_number,
        answered=digest.answered,
        invited=digest.invited,
        questions=tuple(shared),
        withheld=withheld,
        next_looks=_next_looks(shared),
        next_round=next_round,
    )


def queue_heard(
    session: Session,
    round_: models.Round,
    digest: ConversationDigest,
    *,
    now: datetime,
    after: int = 0,
    limit: int | None = None,
) -> tuple[int, int | None]:
    """Queue the closed round's "what we heard" to everyone it asked, in the caller's transaction.

    Everyone asked hears it, answered or not (the ones who did not answer are the ones the
    next round most needs back), except those who skipped the round: they said they would
    rather not hear about it. The outbox key (`heard:<round>:<member>`) makes a retried close
    send nothing twice. A big round is told `limit` people at a time, by participant id
    after `after` (`bot.flows.rounds` drives the chunks), in multi-row INSERTs.

    Returns:
        How many were queued, and the last participant id done if `limit` of them were
        (more may follow), else None.
    """
    told = heard(digest, next_round=_next_round(round_.conversation, now))
    if told is None:
        return 0, None
    stmt = (
        select(models.Participant.id, models.Member.identity)
        .join(models.Member, models.Member.id == models.Participant.member_id)
        .where(
            models.Participant.round_id == round_.id,
            models.Participant.status != "skipped",
            models.Participant.id > after,
        )
        .order_by(models.Participant.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    people = session.execute(stmt).all()
    member_of = dict(
        session.execute(
            select(models.Participant.id, models.Participant.member_id).where(
                models.Participant.id.in_([pid for pid, _ in people])
            )
        ).all()
    )
    enqueue_many(
        session,
        [(f"heard:{round_.id}:{member_of[pid]}", identity, told) for pid, identity in people],
        now=now,
        round_id=round_.id,
    )
    more = limit is not None and len(people) == limit
    return len(people), (people[-1][0] if more else None)


def _next_round(conversation: models.Conversation, now: datetime) -> datetime | None:
    """When the conversation runs again by its cadence; None while it is paused."""
    if conversation.paused or not conversation.active:
        return None
    return parse_cadence(conversation.effective_cadence).next_after(now)


def _next_looks(questions: list[QuestionRollup]) -> tuple[str, ...]:
    """The lowest ratings under 3, then the measures short of their target."""
    low = sorted(
        (q.rating.mean, q.text)
        for q in questions
        if q.rating is not None and q.rating.mean is not None and q.rating.mean < LOW_RATING
    )
    short = [
        q.text
        for q in questions
        if q.numbers is not None
        and q.numbers.median is not None
        and q.numbers.target is not None
        and not _met(q.numbers.median, q.numbers.target, q.numbers.better)
    ]
    return tuple([text for _, text in low] + short)[:NEXT_LOOKS]


def _met(value: float, target: float, better: str) -> bool:
    return value >= target if better == "higher" else value <= target

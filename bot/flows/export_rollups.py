"""The digest roll-ups of an export: one `rollup` row per question of each closed round.

Why from the stored digest (`digests`, the one posted when the round closed) and not
computed again: it is what the CIO read, with the same figures, and it is already what
privacy asks of a roll-up: anonymous conversations carry no names in it, `forget` and the
retention purge take people's words out of it and leave the figures. It is read as the
CIO channel reads it (`confidential.channel_view`): a confidential question's roll-up is
its count, "3 answers, confidential", in every export, as its answers are. A row says the
question and its figures in words in the `answer` column ("mean 3.5 of 5; ratings 1: 0,
2: 1, …; 4 answered, 1 skipped"); text questions give their counts only, since their
answers are rows of their own. A round still open has no roll-up yet; a digest stored by
an older version that no longer reads is left out rather than guessed at.

The rows come after the answer rows, round by round, one stored digest at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.flows.confidential import channel_view
from bot.flows.digest_model import Digest, QuestionRollup
from bot.flows.export import Row
from storage import models

_CHUNK = 100


def rollup_rows(session: Session, round_ids: Iterable[int]) -> Iterator[Row]:
    """The roll-up rows of the closed rounds among `round_ids`, oldest round first."""
    wanted = list(round_ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        latest: dict[int, int] = {}
        for found_id, of_round in session.execute(
            select(models.Digest.id, models.Digest.round_id).where(
                models.Digest.round_id.in_(chunk)
            )
        ):
            if of_round is not None:
                latest[of_round] = max(found_id, latest.get(of_round, 0))
        for round_id in chunk:
            digest_id = latest.get(round_id)
            if digest_id is None:
                continue
            payload = session.scalar(
                select(models.Digest.payload).where(models.Digest.id == digest_id)
            )
            try:
                # As a place several people read sees it: a file travels, so a
                # confidential question is counts only, whoever asked (`confidential`).
                digest = channel_view(Digest.model_validate(payload))
            except ValidationError:
                continue
            for conv in digest.conversations:
                if conv.round_id != round_id or conv.round_number is None:
                    continue
                for question in conv.questions:
                    yield Row(
                        record="rollup",
                        conversation=conv.conversation_key,
                        round=str(conv.round_number),
                        question=question.text,
                        answer=describe(question),
                    )


def describe(question: QuestionRollup) -> str:
    """A question's roll-up in words (see the module docstring)."""
    if question.withheld:
        return messages.confidential_answers(question.answered)
    parts: list[str] = []
    if question.rating is not None:
        if question.rating.mean is not None:
            parts.append(messages.export_rollup_mean(question.rating.mean))
        parts.append(messages.export_rollup_distribution(question.rating.distribution))
    if question.numbers is not None:
        numbers = question.numbers
        if numbers.median is not None:
            parts.append(
                messages.export_rollup_median(messages.figure(numbers.median, numbers.unit))
            )
        if numbers.low is not None and numbers.high is not None:
            parts.append(
                messages.export_rollup_range(
                    messages.figure(numbers.low, numbers.unit),
                    messages.figure(numbers.high, numbers.unit),
                )
            )
        if numbers.target is not None:
            parts.append(
                messages.export_rollup_target(messages.figure(numbers.target, numbers.unit))
            )
    if question.choices is not None:
        parts.append(", ".join(f"{o}: {n}" for o, n in question.choices.counts.items()))
    parts.append(messages.export_rollup_answered(question.answered, question.skipped))
    return "; ".join(parts)

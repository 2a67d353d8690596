"""A participant answering: one question at a time, all at once in a form, skip, edit.

The next question is always the first one (in agenda order) without an answer, so edits,
skips and form submissions all converge on the same rule, and "done" means "nothing left".

A click reads the participant's answers once (`answers_of`) and hands the dict along
(`answers=`): `store_answer` keeps it up to date, so what comes next (the next question,
the summary) is decided from it without reading the answers again or flushing first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot import messages
from bot.flows.answers import InvalidAnswer, display_value, parse_answer
from bot.flows.outbound import Form, Notice, OutboundMessage, Summary, SummaryItem
from bot.flows.rounds import agenda_of, deadline_of, prompt_for, question_view
from storage import models

Answers = dict[str, models.Answer]
_ANSWERS = select(models.Answer).where(models.Answer.participant_id == bindparam("participant"))


def answers_of(
    session: Session, participant: models.Participant, answers: Answers | None = None
) -> Answers:
    """The participant's answers by question id (`answers` when the caller has them)."""
    if answers is not None:
        return answers
    return {a.question_id: a for a in session.scalars(_ANSWERS, {"participant": participant.id})}


def store_answer(
    session: Session,
    participant: models.Participant,
    question_id: str,
    value: Any,
    *,
    skipped: bool,
    now: datetime,
    existing: models.Answer | None,
    answers: Answers | None = None,
) -> None:
    """Insert an answer, or keep the old value as a revision and update it.

    The same answer given again (a repeated click, a form sent twice) changes nothing:
    no revision, no new time. `answers`, the participant's answers read earlier in the
    transaction, gets the new one.
    """
    if existing is not None and existing.value == value and existing.skipped == skipped:
        return
    if existing is None:
        answer = models.Answer(
            participant_id=participant.id,
            question_id=question_id,
            value=value,
            skipped=skipped,
            revision=1,
            answered_at=now,
        )
        session.add(answer)
        if answers is not None:
            answers[question_id] = answer
        return
    session.add(
        models.AnswerRevision(
            answer_id=existing.id,
            revision=existing.revision,
            value=existing.value,
            skipped=existing.skipped,
            answered_at=existing.answered_at,
        )
    )
    existing.value = value
    existing.skipped = skipped
    existing.revision += 1
    existing.answered_at = now


def advance(
    session: Session, participant: models.Participant, now: datetime, answers: Answers
) -> OutboundMessage:
    """Move to the first unanswered question, or finish; return what to show next.

    `answers` are the participant's answers, including those just stored.
    """
    spec = agenda_of(participant.round)
    for index, q in enumerate(spec.questions):
        if q.id not in answers:
            participant.current_question = index
            participant.status = "answering"
            return prompt_for(participant.round, participant)
    participant.status = "done"
    participant.completed_at = participant.completed_at or now
    return summary(session, participant, now=now, answers=answers)


def answer_text(
    session: Session,
    participant: models.Participant,
    raw: str,
    now: datetime,
    answers: Answers | None = None,
) -> OutboundMessage:
    """Answer the current question from chat text; re-prompt with a note when invalid."""
    spec = agenda_of(participant.round)
    question = spec.questions[participant.current_question]
    try:
        value = parse_answer(question, raw)
    except InvalidAnswer as exc:
        return prompt_for(participant.round, participant, note=str(exc))
    answers = answers_of(session, participant, answers)
    store_answer(
        session,
        participant,
        question.id,
        value,
        skipped=value is None,
        now=now,
        existing=answers.get(question.id),
        answers=answers,
    )
    return advance(session, participant, now, answers)


def answer_question(
    session: Session, participant: models.Participant, question_id: str, raw: str, now: datetime
) -> OutboundMessage | None:
    """Answer a named question (from its prompt's button); None for an unknown id.

    A button answers its question only while that question is open to an answer: not yet
    answered, or asked again for an edit. A repeated or stale click on a question already
    answered changes nothing and says so (with how to change it).
    """
    spec = agenda_of(participant.round)
    for index, q in enumerate(spec.questions):
        if q.id == question_id:
            answers = answers_of(session, participant)
            stale = stale_question(session, participant, question_id, answers)
            if stale is not None:
                return Notice(lines=(stale,))
            participant.current_question = index
            return answer_text(session, participant, raw, now, answers)
    return None


def stale_question(
    session: Session,
    participant: models.Participant,
    question_id: str,
    answers: Answers | None = None,
) -> str | None:
    """Why a button of this question may no longer act on it, or None if it may.

    It may while the question has no answer yet, or while it is being edited (Edit asks
    it again: it is then the participant's current question).
    """
    spec = agenda_of(participant.round)
    index = next((i for i, q in enumerate(spec.questions) if q.id == question_id), None)
    if index is None:
        return messages.NOT_ON_AGENDA
    existing = answers_of(session, participant, answers).get(question_id)
    editing = participant.status == "answering" and participant.current_question == index
    if existing is None or editing:
        return None
    question = spec.questions[index]
    shown = None if existing.skipped else display_value(question, existing.value)
    return messages.already_answered(question.text, shown)


def skip_question(
    session: Session,
    participant: models.Participant,
    now: datetime,
    answers: Answers | None = None,
) -> OutboundMessage | None:
    """Skip the current question; None when it is required (the caller explains)."""
    spec = agenda_of(participant.round)
    question = spec.questions[participant.current_question]
    if question.required:
        return None
    answers = answers_of(session, participant, answers)
    store_answer(
        session,
        participant,
        question.id,
        None,
        skipped=True,
        now=now,
        existing=answers.get(question.id),
        answers=answers,
    )
    return advance(session, participant, now, answers)


def edit(
    session: Session, participant: models.Participant, question_id: str
) -> OutboundMessage | None:
    """Ask a question again so its answer can be changed; None for an unknown id."""
    spec = agenda_of(participant.round)
    for index, q in enumerate(spec.questions):
        if q.id == question_id:
            participant.current_question = index
            participant.status = "answering"
            return prompt_for(participant.round, participant)
    return None


def form(session: Session, participant: models.Participant, errors: dict[str, str]) -> Form:
    """The whole agenda as a form, pre-filled with the answers so far."""
    round_ = participant.round
    spec = agenda_of(round_)
    values = {qid: a.value for qid, a in answers_of(session, participant).items() if not a.skipped}
    return Form(
        round_id=round_.id,
        conversation_key=spec.key,
        conversation_title=spec.title,
        deadline=deadline_of(round_),
        questions=tuple(question_view(spec, i) for i in range(len(spec.questions))),
        values=values,
        errors=errors,
    )


def submit_form(
    session: Session,
    participant: models.Participant,
    values: dict[str, object],
    now: datetime,
) -> OutboundMessage:
    """Store every answer of a form, or none: invalid fields send the form back with errors."""
    spec = agenda_of(participant.round)
    known = {q.id for q in spec.questions}
    errors: dict[str, str] = {}
    unknown = sorted(set(values) - known)
    if unknown:
        errors["_form"] = "This form has fields that are not on the agenda: " + ", ".join(
            u[:40] for u in unknown[:5]
        )
    parsed: dict[str, Any] = {}
    for q in spec.questions:
        try:
            parsed[q.id] = parse_answer(q, values.get(q.id))
        except InvalidAnswer as exc:
            errors[q.id] = str(exc)
    if errors:
        return form(session, participant, errors)
    answers = answers_of(session, participant)
    for q in spec.questions:
        store_answer(
            session,
            participant,
            q.id,
            parsed[q.id],
            skipped=parsed[q.id] is None,
            now=now,
            existing=answers.get(q.id),
            answers=answers,
        )
    return advance(session, participant, now, answers)


def summary(
    session: Session,
    participant: models.Participant,
    *,
    now: datetime,
    answers: Answers | None = None,
) -> Summary:
    """The participant's answers so far."""
    round_ = participant.round
    spec = agenda_of(round_)
    answers = answers_of(session, participant, answers)
    items = []
    for q in spec.questions:
        a = answers.get(q.id)
        if a is None:
            continue
        items.append(
            SummaryItem(
                question_id=q.id,
                question=q.text,
                answer=None if a.skipped else display_value(q, a.value),
                skipped=a.skipped,
            )
        )
    return Summary(
        round_id=round_.id,
        conversation_key=spec.key,
        conversation_title=spec.title,
        deadline=deadline_of(round_),
        done=participant.status == "done",
        editable=round_.status == "open",
        items=tuple(items),
    )

"""A stakeholder taking part: a typed reply, a button, a form, `skip`, `snooze`, `mine`.

Which round an act applies to is `bot.flows.focus`'s rule (one round at a time: the one
whose question the person saw last); how an answer is read and stored is
`bot.flows.answering`'s. This module ties them to the events: it locks what it changes
(the member, then the round: see `focus`), refuses what came too late (a round that has
closed), and decides what to show next (the next question, the next round in line, or a
read-only summary when the last answer closed the round).
"""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm.attributes import set_committed_value

from bot import messages
from bot.errors import UserError
from bot.flows import answering, focus, rounds
from bot.flows.events import (
    DEFAULT_SNOOZE,
    Action,
    ActionPressed,
    AnswerGiven,
    FormSubmitted,
    TextMessage,
)
from bot.flows.outbound import Notice, OutboundMessage, Prompt, Summary
from bot.flows.rounds import deadline_of
from bot.flows.turn import Turn
from storage import models

# A reply this soon after its round closed is a late answer, not a new conversation.
LATE_REPLY_WINDOW = timedelta(days=1)
# Buttons of a round the person has finished or skipped: a click on them changes nothing.
_AFTER_FINISHING = (Action.SKIP_ROUND, Action.SNOOZE, Action.ANSWER_NOW)


# --- events --------------------------------------------------------------------------------


def typed_reply(turn: Turn, event: TextMessage) -> list[OutboundMessage] | None:
    """A typed text that is not a command: the answer to the question on screen.

    Returns:
        What to show, or None when the person has nothing to answer and no round of
        theirs has just closed (the text is then neither answer nor command).
    """
    member = turn.lock_member(event.actor)
    parts = focus.open_participations(turn.session, member.id) if member is not None else []
    current = focus.current(parts)
    if current is None and parts:
        # Nothing they could be answering is on their screen (the round waits for their
        # local time, or its turn): the text cannot answer a question they have not
        # seen, so show it now instead.
        nxt = focus.next_in_line(parts)
        assert nxt is not None  # noqa: S101 - parts is not empty
        return [show(turn, nxt)]
    if current is not None:
        lock_open_round(turn, current)
        shown = answering.answer_text(turn.session, current, event.text, turn.now)
        return progress(turn, current, shown)
    late = recently_closed(turn, event.actor)
    if late is not None:
        return [Notice(lines=(messages.round_closed(late.agenda["title"], late.closed_at),))]
    return None


def button(turn: Turn, event: ActionPressed) -> list[OutboundMessage]:
    """A button on a prompt, an announcement or a summary; it names its round."""
    participant = participant_in_round(turn, event.actor, event.round_id)
    action = event.action
    if participant.status in ("done", "skipped") and action in _AFTER_FINISHING:
        # A repeated click, or a button of a round they have finished: nothing to do.
        title = rounds.agenda_of(participant.round).title
        return [Notice(lines=(messages.already_finished(title, participant.status),))]
    match action:
        case Action.ANSWER_ALL:
            return [answering.form(turn.session, participant, {})]
        case Action.ANSWER_NOW:
            return [show(turn, participant)]
        case Action.SKIP_QUESTION:
            return skip(turn, participant, event.question_id)
        case Action.SKIP_ROUND:
            return skip_round(turn, participant)
        case Action.SNOOZE:
            return snooze(turn, participant, event.value or DEFAULT_SNOOZE)
        case Action.REVIEW:
            return [answering.summary(turn.session, participant, now=turn.now)]
        case Action.EDIT:
            shown = answering.edit(turn.session, participant, event.value or "")
            if shown is None:
                raise UserError(messages.NOT_ON_AGENDA)
            return [shown]
        case _:  # a new Action fails the type check here until it is handled
            assert_never(action)


def answer_button(turn: Turn, event: AnswerGiven) -> list[OutboundMessage]:
    """An answer button (a rating, a choice, a card's Send): answers the question it names."""
    participant = participant_in_round(turn, event.actor, event.round_id)
    shown = answering.answer_question(
        turn.session, participant, event.question_id, event.value, turn.now
    )
    if shown is None:
        raise UserError(messages.NOT_ON_AGENDA)
    return progress(turn, participant, shown)


def form(turn: Turn, event: FormSubmitted) -> list[OutboundMessage]:
    """Every question of a round answered at once."""
    participant = participant_in_round(turn, event.actor, event.round_id)
    shown = answering.submit_form(turn.session, participant, dict(event.values), turn.now)
    return progress(turn, participant, shown)


# --- typed commands about one's own questions ----------------------------------------------


def mine(turn: Turn, actor: str, *, take_held: bool) -> list[OutboundMessage]:
    """The person's open rounds, and the question to answer now.

    `take_held=False` is a look without effects (Slack's App Home): a prompt held for the
    person's local time stays held, and the round they answer stays current.
    """
    member = turn.lock_member(actor) if take_held else turn.member(actor)
    open_ = [] if member is None else focus.open_participations(turn.session, member.id)
    if not open_:
        return [Notice(lines=(messages.nothing_open(),))]
    lines = []
    for p in open_:
        spec = rounds.agenda_of(p.round)
        lines.append(
            messages.open_question_line(
                spec.title,
                p.round.number,
                p.current_question + 1,
                len(spec.questions),
                deadline_of(p.round),
            )
        )
    current = focus.current(open_) or focus.next_in_line(open_) or open_[0]
    if take_held:
        # Asking before their local time (or while a round waits its turn) gets its
        # question now, as the opening prompt if they have not seen it.
        prompt = show(turn, current)
    else:
        prompt = rounds.prompt_for(current.round, current, opening=current.shown_at is None)
    return [Notice(title=messages.OPEN_QUESTIONS_TITLE, lines=tuple(lines)), prompt]


def review(turn: Turn, actor: str) -> list[OutboundMessage]:
    """The person's answers in every open round (with Edit buttons)."""
    parts = list(
        turn.session.scalars(
            select(models.Participant)
            .join(models.Round)
            .join(models.Member)
            .where(models.Member.identity == actor, models.Round.status == "open")
            .order_by(models.Round.opened_at, models.Round.id)
        )
    )
    if not parts:
        return [Notice(lines=(messages.nothing_open(),))]
    return [answering.summary(turn.session, p, now=turn.now) for p in parts]


def typed_skip(turn: Turn, actor: str, whole_round: bool) -> list[OutboundMessage]:
    """`skip` (the question on screen) or `skip round`."""
    participant, on_screen = target(turn, actor)
    if participant is None:
        return [Notice(lines=(messages.nothing_open(),))]
    if whole_round:
        rounds.claim_held_prompt(turn.session, participant)  # sitting it out: none later
        return skip_round(turn, participant)
    if not on_screen:  # a question they were never shown: show it rather than skip it
        return [show(turn, participant)]
    return skip(turn, participant)


def typed_snooze(turn: Turn, actor: str, duration: str) -> list[OutboundMessage]:
    """`snooze <duration>` of the round on screen (or the next in line)."""
    participant, _ = target(turn, actor)
    if participant is None:
        return [Notice(lines=(messages.nothing_open(),))]
    # The snooze's wake-up asks them instead of the held prompt.
    rounds.claim_held_prompt(turn.session, participant)
    return snooze(turn, participant, duration)


# --- shared steps --------------------------------------------------------------------------


def target(turn: Turn, actor: str) -> tuple[models.Participant | None, bool]:
    """What a typed `skip` or `snooze` acts on: the current round, else the next in line.

    Returns:
        The participant (None if nothing is open) and whether its question is the one
        on the person's screen (False: they have not been asked it yet).
    """
    member = turn.lock_member(actor)
    parts = [] if member is None else focus.open_participations(turn.session, member.id)
    current = focus.current(parts)
    chosen = current or focus.next_in_line(parts)
    if chosen is not None:
        lock_open_round(turn, chosen)
    return chosen, current is not None


def lock_open_round(turn: Turn, participant: models.Participant) -> None:
    """Lock the participant's round, and refuse if it closed meanwhile.

    Raises:
        UserError: the round is no longer open (it closed after we read it).
    """
    round_ = rounds.lock_round(turn.session, participant.round_id)
    if round_ is None or round_.status != "open":
        closed = round_ or participant.round
        raise UserError(messages.round_closed(closed.agenda["title"], closed.closed_at))
    # The participant holds the round it was just read under its lock: the session keeps
    # objects only while something refers to them, and would otherwise read it again.
    set_committed_value(participant, "round", round_)


def participant_in_round(turn: Turn, actor: str, round_id: int) -> models.Participant:
    """The actor's participation in the round a button or form names, locked.

    Raises:
        UserError: not theirs, no such round, or it has closed.
    """
    turn.lock_member(actor)
    participant = turn.session.scalar(_PARTICIPANT_IN_ROUND, {"actor": actor, "round": round_id})
    if participant is None:
        raise UserError(messages.NOT_YOUR_PROMPT)
    lock_open_round(turn, participant)
    return participant


_PARTICIPANT_IN_ROUND = (
    select(models.Participant)
    .join(models.Member)
    .where(
        models.Member.identity == bindparam("actor"),
        models.Participant.round_id == bindparam("round"),
    )
)


def recently_closed(turn: Turn, actor: str) -> models.Round | None:
    """A round of this member's that closed in the last day (a reply to it came late)."""
    return turn.session.scalar(
        select(models.Round)
        .join(models.Participant)
        .join(models.Member)
        .where(
            models.Member.identity == actor,
            models.Round.status == "closed",
            models.Round.closed_at >= turn.now - LATE_REPLY_WINDOW,
        )
        .order_by(models.Round.closed_at.desc())
        .limit(1)
    )


def show(turn: Turn, participant: models.Participant) -> Prompt:
    """Show the participant's current question now (taking a prompt held for later).

    A round they have not seen yet opens with its purpose; one they had left for another
    round says they are back to it.
    """
    rounds.claim_held_prompt(turn.session, participant)  # shown here: not again later
    first_sight = participant.shown_at is None
    note = None if first_sight else messages.back_to(rounds.agenda_of(participant.round).title)
    return rounds.prompt_for(participant.round, participant, opening=first_sight, note=note)


def progress(
    turn: Turn, participant: models.Participant, shown: OutboundMessage
) -> list[OutboundMessage]:
    """What follows an answer, a skip or a form: the next question, or what comes next.

    A summary shown as the round closes early is read-only: there is nothing left to edit
    once it has closed.
    """
    after = after_progress(turn, participant)
    if isinstance(shown, Summary) and participant.round.status != "open":
        shown = shown.model_copy(update={"editable": False})
    return [shown, *after]


def after_progress(turn: Turn, participant: models.Participant) -> list[OutboundMessage]:
    """After someone finishes: close early if so configured, and ask their next round.

    Only the round they were answering hands over: finishing a round that was waiting its
    turn (skipping it from its announcement) leaves the current question on screen.
    """
    if participant.status not in ("done", "skipped"):
        return []
    session = turn.session
    session.flush()
    round_ = participant.round
    if (
        rounds.agenda_of(round_).close_when_all_answered
        and round_.pending_work != rounds.OPEN  # not everyone has been asked yet
        and not _unfinished(turn, round_)
    ):
        turn.close(round_, reason="everyone answered")
    others = focus.open_participations(session, participant.member_id)
    current = focus.current(others)
    if current is not None and (
        participant.shown_at is None or (current.shown_at or turn.now) > participant.shown_at
    ):
        return []
    nxt = focus.next_in_line(others)
    return [] if nxt is None else [show(turn, nxt)]


def _unfinished(turn: Turn, round_: models.Round) -> int:
    # Counted under the round's lock (taken when the event began), so of two final
    # answers arriving at once the second sees the first.
    return (
        turn.session.scalar(
            select(func.count())
            .select_from(models.Participant)
            .where(
                models.Participant.round_id == round_.id,
                models.Participant.status.in_(rounds.UNFINISHED),
            )
        )
        or 0
    )


def skip(
    turn: Turn, participant: models.Participant, question_id: str | None = None
) -> list[OutboundMessage]:
    """Skip the question on screen (or the one a button names, if still open to it)."""
    answers = answering.answers_of(turn.session, participant)
    if question_id is not None:
        stale = answering.stale_question(turn.session, participant, question_id, answers)
        if stale is not None:
            return [Notice(lines=(stale,))]
    shown = answering.skip_question(turn.session, participant, turn.now, answers)
    if shown is None:
        raise UserError(messages.required_cannot_skip())
    return progress(turn, participant, shown)


def skip_round(turn: Turn, participant: models.Participant) -> list[OutboundMessage]:
    """Sit the whole round out."""
    participant.status = "skipped"
    participant.completed_at = turn.now
    title = participant.round.agenda["title"]
    return [
        Notice(level="success", lines=(messages.skipped_round(title),)),
        *after_progress(turn, participant),
    ]


def snooze(turn: Turn, participant: models.Participant, text: str) -> list[OutboundMessage]:
    """Ask again later (never later than an hour before the deadline)."""
    try:
        until, capped = rounds.capped_snooze(participant.round, turn.now, text)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    participant.snoozed_until = until
    line = messages.snooze_capped(until) if capped else messages.snoozed(until)
    return [Notice(level="success", lines=(line,))]

"""The engine: one entry point (`handle`) for every platform's inbound events.

Each call runs in one database transaction that also records the platform's event id, so
an answer is stored before the adapter acknowledges it, and a retried delivery is a no-op.
The engine returns what to show the person who acted; everything for other people (prompts,
reminders, digests) goes to the outbox in the same transaction. Its methods are synchronous:
the async server calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages
from bot.delivery.outbox import enqueue, failures
from bot.errors import PermissionDenied, UserError
from bot.flows import answering, focus, rounds
from bot.flows.cadence import parse_cadence
from bot.flows.commands import (
    ParsedCommand,
    Role,
    is_command,
    parse,
    suggest,
)
from bot.flows.digest import build_digest, save_digest
from bot.flows.directory import unreachable_lines
from bot.flows.events import (
    DEFAULT_SNOOZE,
    Action,
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
)
from bot.flows.outbound import (
    DigestMessage,
    Notice,
    OutboundMessage,
    Outgoing,
    Prompt,
    Summary,
)
from bot.flows.rounds import deadline_of
from bot.flows.routing import reply_address
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database

log = logging.getLogger(__name__)
# A reply this soon after its round closed is a late answer, not a new conversation.
LATE_REPLY_WINDOW = timedelta(days=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _reply_prefix(event: InboundEvent) -> str:
    """The outbox keys of an event's replies: from its platform id, so a retry adds none."""
    if not event.event_id:
        return f"reply:{uuid.uuid4().hex}"
    platform = event.actor.split(":", 1)[0]
    ident = f"{platform}:{event.event_id}"
    if len(ident) > 150:  # keys are 200 characters; long platform ids are hashed
        ident = f"{platform}:#{hashlib.sha256(event.event_id.encode()).hexdigest()}"
    return f"reply:{ident}"


@dataclass
class EngineHooks:
    """Thread-safe callbacks into the async world: wake the outbox, re-read schedules."""

    outbox_changed: Callable[[], None] = lambda: None
    schedule_changed: Callable[[], None] = lambda: None


@dataclass
class Engine:
    """The conversation-flow engine."""

    db: Database
    playbook: Playbook
    clock: Callable[[], datetime] = _utcnow
    hooks: EngineHooks = field(default_factory=EngineHooks)

    # ----------------------------------------------------------------- inbound events

    def handle(self, event: InboundEvent) -> list[Outgoing]:
        """Process one inbound event; return the messages to show the actor.

        The replies are also queued in the outbox, in the same transaction as the event
        they answer (see `_deliver`): a crash after the commit loses none of them, even
        though the redelivered event is then ignored as a duplicate. Raises nothing for
        user mistakes: they come back as error notices.
        """
        now = self.clock()
        try:
            with self.db.transaction() as session:
                if event.event_id and not self._first_delivery(session, event, now):
                    log.info("duplicate %s event %s ignored", type(event).__name__, event.event_id)
                    return []
                try:
                    with session.begin_nested():
                        replies = self._dispatch(session, event, now)
                except UserError as exc:
                    replies = [Notice(level="error", lines=(str(exc),))]
                return self._deliver(session, event, replies, now)
        finally:
            self.hooks.outbox_changed()

    def _first_delivery(self, session: Session, event: InboundEvent, now: datetime) -> bool:
        platform = event.actor.split(":", 1)[0]
        try:
            with session.begin_nested():
                session.add(
                    models.InboundEvent(
                        platform=platform, event_id=str(event.event_id)[:200], received_at=now
                    )
                )
                session.flush()
        except IntegrityError:
            return False
        return True

    def _deliver(
        self,
        session: Session,
        event: InboundEvent,
        replies: Sequence[OutboundMessage],
        now: datetime,
    ) -> list[Outgoing]:
        """Queue the replies where the routing policy sends them; a question shown is current.

        Every prompt that asks its question makes that round the actor's current one
        (`bot.flows.focus`), so their next typed reply answers what they see.
        """
        member = self._member(session, event.actor)
        if member is not None:
            for message in replies:
                if isinstance(message, Prompt) and message.waiting_for is None:
                    focus.mark_shown(session, member.id, message.round_id, now)
        prefix = _reply_prefix(event)
        out = []
        for index, message in enumerate(replies):
            address = reply_address(event, message, self.playbook.cio_channel)
            if address is None:  # shown in the moment only (a form)
                out.append(Outgoing(address=event.actor, message=message))
                continue
            key = f"{prefix}:{index}"
            enqueue(session, key=key, address=address, message=message, now=now)
            out.append(Outgoing(address=address, message=message, key=key))
        return out

    def _dispatch(
        self, session: Session, event: InboundEvent, now: datetime
    ) -> list[OutboundMessage]:
        if isinstance(event, CommandInvoked):
            return self._command(session, event.actor, parse(event.text), now)
        if isinstance(event, TextMessage):
            return self._text(session, event, now)
        if isinstance(event, ActionPressed):
            return self._action(session, event, now)
        if isinstance(event, FormSubmitted):
            return self._form(session, event, now)
        if isinstance(event, AnswerGiven):
            return self._answer_given(session, event, now)
        raise TypeError(f"unsupported event {type(event).__name__}")

    def _text(self, session: Session, event: TextMessage, now: datetime) -> list[OutboundMessage]:
        if is_command(event.text):
            return self._command(session, event.actor, parse(event.text), now)
        member = self._lock_member(session, event.actor)
        parts = focus.open_participations(session, member.id) if member is not None else []
        current = focus.current(parts)
        if current is None and parts:
            # Nothing they could be answering is on their screen (the round waits for their
            # local time, or its turn): the text cannot answer a question they have not
            # seen, so show it now instead.
            nxt = focus.next_in_line(parts)
            assert nxt is not None  # noqa: S101 - parts is not empty
            return [self._show(session, nxt)]
        if current is not None:
            self._lock_open_round(session, current)
            shown = answering.answer_text(session, current, event.text, now)
            return self._progress(session, current, shown, now)
        late = self._recently_closed(session, event.actor, now)
        if late is not None:
            return [Notice(lines=(messages.round_closed(late.agenda["title"], late.closed_at),))]
        known = member is not None or bool(self._role(event.actor))
        return [self._not_understood(event.text, known)]

    def _not_understood(self, text: str, known: bool) -> Notice:
        """Neither an answer nor a command: say so, with a "did you mean", and what is open."""
        try:
            parse(text)
        except UserError as exc:
            hint = str(exc)
        else:  # pragma: no cover - a valid command never gets here
            hint = messages.usage("help", "help")
        context = messages.nothing_open() if known else messages.not_a_participant()
        return Notice(lines=(hint, context))

    def _action(
        self, session: Session, event: ActionPressed, now: datetime
    ) -> list[OutboundMessage]:
        participant = self._participant_in_round(session, event.actor, event.round_id)
        finished = participant.status in ("done", "skipped")
        if finished and event.action in (Action.SKIP_ROUND, Action.SNOOZE, Action.ANSWER_NOW):
            # A repeated click, or a button of a round they have finished: nothing to do.
            title = rounds.agenda_of(participant.round).title
            return [Notice(lines=(messages.already_finished(title, participant.status),))]
        if event.action is Action.ANSWER_ALL:
            return [answering.form(session, participant, {})]
        if event.action is Action.ANSWER_NOW:
            return [self._show(session, participant)]
        if event.action is Action.SKIP_QUESTION:
            return self._skip(session, participant, now, event.question_id)
        if event.action is Action.SKIP_ROUND:
            return self._skip_round(session, participant, now)
        if event.action is Action.SNOOZE:
            return self._snooze(participant, event.value or DEFAULT_SNOOZE, now)
        if event.action is Action.REVIEW:
            return [answering.summary(session, participant, now=now)]
        shown = answering.edit(session, participant, event.value or "")
        if shown is None:
            raise UserError(messages.NOT_ON_AGENDA)
        return [shown]

    def _answer_given(
        self, session: Session, event: AnswerGiven, now: datetime
    ) -> list[OutboundMessage]:
        participant = self._participant_in_round(session, event.actor, event.round_id)
        shown = answering.answer_question(session, participant, event.question_id, event.value, now)
        if shown is None:
            raise UserError(messages.NOT_ON_AGENDA)
        return self._progress(session, participant, shown, now)

    def _form(self, session: Session, event: FormSubmitted, now: datetime) -> list[OutboundMessage]:
        participant = self._participant_in_round(session, event.actor, event.round_id)
        shown = answering.submit_form(session, participant, dict(event.values), now)
        return self._progress(session, participant, shown, now)

    # ----------------------------------------------------------------- participants

    def _member(self, session: Session, actor: str) -> models.Member | None:
        return session.scalar(select(models.Member).where(models.Member.identity == actor))

    def _lock_member(self, session: Session, actor: str) -> models.Member | None:
        """The actor's member row, locked first (members before rounds: `bot.flows.focus`)."""
        return session.scalar(
            select(models.Member).where(models.Member.identity == actor).with_for_update()
        )

    def _open_participations(self, session: Session, actor: str) -> list[models.Participant]:
        member = self._member(session, actor)
        return [] if member is None else focus.open_participations(session, member.id)

    def _current_participant(self, session: Session, actor: str) -> models.Participant | None:
        """The round the person is answering (`bot.flows.focus`), locked, or None."""
        member = self._lock_member(session, actor)
        if member is None:
            return None
        current = focus.current(focus.open_participations(session, member.id))
        if current is not None:
            self._lock_open_round(session, current)
        return current

    def _lock_open_round(self, session: Session, participant: models.Participant) -> None:
        """Lock the participant's round, and refuse if it closed meanwhile.

        Raises:
            UserError: the round is no longer open (it closed after we read it).
        """
        round_ = rounds.lock_round(session, participant.round_id)
        if round_ is None or round_.status != "open":
            closed = round_ or participant.round
            raise UserError(messages.round_closed(closed.agenda["title"], closed.closed_at))

    def _recently_closed(self, session: Session, actor: str, now: datetime) -> models.Round | None:
        """A round of this member's that closed in the last day (a reply to it came late)."""
        return session.scalar(
            select(models.Round)
            .join(models.Participant)
            .join(models.Member)
            .where(
                models.Member.identity == actor,
                models.Round.status == "closed",
                models.Round.closed_at >= now - LATE_REPLY_WINDOW,
            )
            .order_by(models.Round.closed_at.desc())
            .limit(1)
        )

    def _participant_in_round(
        self, session: Session, actor: str, round_id: int
    ) -> models.Participant:
        self._lock_member(session, actor)
        participant = session.scalar(
            select(models.Participant)
            .join(models.Member)
            .where(models.Member.identity == actor, models.Participant.round_id == round_id)
        )
        if participant is None:
            raise UserError(messages.NOT_YOUR_PROMPT)
        self._lock_open_round(session, participant)
        return participant

    def _show(self, session: Session, participant: models.Participant) -> Prompt:
        """Show the participant's current question now (taking a prompt held for later).

        A round they have not seen yet opens with its purpose; one they had left for
        another round says they are back to it.
        """
        rounds.claim_held_prompt(session, participant)  # shown here: not again at local time
        first_sight = participant.shown_at is None
        note = None if first_sight else messages.back_to(rounds.agenda_of(participant.round).title)
        return rounds.prompt_for(participant.round, participant, opening=first_sight, note=note)

    def _progress(
        self,
        session: Session,
        participant: models.Participant,
        shown: OutboundMessage,
        now: datetime,
    ) -> list[OutboundMessage]:
        """What follows an answer, a skip or a form: the next question, or what comes next.

        A summary shown as the round closes early is read-only: there is nothing left to
        edit once it has closed.
        """
        after = self._after_progress(session, participant, now)
        if isinstance(shown, Summary) and participant.round.status != "open":
            shown = shown.model_copy(update={"editable": False})
        return [shown, *after]

    def _after_progress(
        self, session: Session, participant: models.Participant, now: datetime
    ) -> list[OutboundMessage]:
        """After someone finishes: close early if so configured, and ask their next round.

        Only the round they were answering hands over: finishing a round that was waiting
        its turn (skipping it from its announcement) leaves the current question on screen.
        """
        if participant.status not in ("done", "skipped"):
            return []
        session.flush()
        round_ = participant.round
        if rounds.agenda_of(round_).close_when_all_answered and not self._unfinished(
            session, round_
        ):
            self._close(session, round_, now, reason="everyone answered")
        others = self._open_participations(session, participant.member.identity)
        current = focus.current(others)
        if current is not None and (
            participant.shown_at is None or (current.shown_at or now) > participant.shown_at
        ):
            return []
        nxt = focus.next_in_line(others)
        return [] if nxt is None else [self._show(session, nxt)]

    def _unfinished(self, session: Session, round_: models.Round) -> int:
        # Counted under the round's lock (taken when the event began), so of two final
        # answers arriving at once the second sees the first.
        return (
            session.scalar(
                select(func.count())
                .select_from(models.Participant)
                .where(
                    models.Participant.round_id == round_.id,
                    models.Participant.status.in_(rounds.UNFINISHED),
                )
            )
            or 0
        )

    def _skip(
        self,
        session: Session,
        participant: models.Participant,
        now: datetime,
        question_id: str | None = None,
    ) -> list[OutboundMessage]:
        if question_id is not None:
            stale = answering.stale_question(session, participant, question_id)
            if stale is not None:
                return [Notice(lines=(stale,))]
        shown = answering.skip_question(session, participant, now)
        if shown is None:
            raise UserError(messages.required_cannot_skip())
        return self._progress(session, participant, shown, now)

    def _skip_round(
        self, session: Session, participant: models.Participant, now: datetime
    ) -> list[OutboundMessage]:
        participant.status = "skipped"
        participant.completed_at = now
        title = participant.round.agenda["title"]
        return [
            Notice(level="success", lines=(messages.skipped_round(title),)),
            *self._after_progress(session, participant, now),
        ]

    def _snooze(
        self, participant: models.Participant, text: str, now: datetime
    ) -> list[OutboundMessage]:
        try:
            until, capped = rounds.capped_snooze(participant.round, now, text)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        participant.snoozed_until = until
        line = messages.snooze_capped(until) if capped else messages.snoozed(until)
        return [Notice(level="success", lines=(line,))]

    # ----------------------------------------------------------------- commands

    def _role(self, actor: str) -> set[Role]:
        roles: set[Role] = set()
        if actor in self.playbook.roles.cio or actor in self.playbook.roles.admins:
            roles.add(Role.READER)
        if actor in self.playbook.roles.admins:
            roles.add(Role.ADMIN)
        return roles

    def _conversation(self, session: Session, word: str) -> models.Conversation:
        convs = list(session.scalars(select(models.Conversation).where(models.Conversation.active)))
        for conv in convs:
            if conv.key == word.lower():
                return conv
        keys = [c.key for c in convs]
        raise UserError(messages.unknown_conversation(word[:40], keys, suggest(word, keys)))

    def _command(
        self, session: Session, actor: str, cmd: ParsedCommand, now: datetime
    ) -> list[OutboundMessage]:
        needed = cmd.spec.role
        if needed is not Role.ANYONE and needed not in self._role(actor):
            raise PermissionDenied(messages.not_allowed(cmd.name, needed.value))
        handler = getattr(self, f"_cmd_{cmd.name}")
        result: list[OutboundMessage] = handler(session, actor, cmd.args, now)
        return result

    def _cmd_help(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        roles = self._role(actor)
        lines = [messages.HELP_INTRO, ""]
        sections: list[tuple[tuple[str, str], ...]] = [messages.HELP_STAKEHOLDER]
        if Role.READER in roles:
            sections.append(messages.HELP_CIO)
        if Role.ADMIN in roles:
            sections.append(messages.HELP_ADMIN)
        for section in sections:
            lines.extend(f"`{usage}` — {text}" for usage, text in section)
        return [Notice(title="strategy-bot commands", lines=tuple(lines))]

    def open_prompts(self, actor: str) -> list[OutboundMessage]:
        """What `mine` shows, without its effects: for views a person did not ask for.

        Slack's App Home is rebuilt whenever someone opens the tab; that is a look, not a
        request, so a prompt held for their local time stays held and still arrives then,
        and the round they answer in chat stays the current one.
        """
        with self.db.transaction() as session:
            return self._mine(session, actor, take_held=False)

    def show_open_prompts(self, actor: str, cause: str) -> bool:
        """Queue what `mine` shows, if the person has a question open (after a welcome).

        A chat app installed mid-round (Teams) had its opening prompt refused; this is the
        moment the person is there to answer it. Nothing is queued when nothing is open.

        Args:
            actor: the person's identity.
            cause: a unique id for the occasion (the install activity), so a repeat of the
                same occasion queues nothing more.

        Returns:
            Whether a prompt was queued.
        """
        now = self.clock()
        event = CommandInvoked(actor=actor, text="mine", event_id=f"shown:{cause}")
        try:
            with self.db.transaction() as session:
                if not self._member(session, actor) or not self._open_participations(
                    session, actor
                ):
                    return False
                if not self._first_delivery(session, event, now):
                    return False
                self._deliver(session, event, self._mine(session, actor, take_held=True), now)
                return True
        finally:
            self.hooks.outbox_changed()

    def _cmd_mine(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        return self._mine(session, actor, take_held=True)

    def _mine(self, session: Session, actor: str, *, take_held: bool) -> list[OutboundMessage]:
        member = self._lock_member(session, actor) if take_held else self._member(session, actor)
        open_ = [] if member is None else focus.open_participations(session, member.id)
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
            prompt = self._show(session, current)
        else:
            first_sight = current.shown_at is None
            prompt = rounds.prompt_for(current.round, current, opening=first_sight)
        return [Notice(title=messages.OPEN_QUESTIONS_TITLE, lines=tuple(lines)), prompt]

    def _cmd_review(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        parts = list(
            session.scalars(
                select(models.Participant)
                .join(models.Round)
                .join(models.Member)
                .where(models.Member.identity == actor, models.Round.status == "open")
                .order_by(models.Round.opened_at, models.Round.id)
            )
        )
        if not parts:
            return [Notice(lines=(messages.nothing_open(),))]
        return [answering.summary(session, p, now=now) for p in parts]

    def _target(self, session: Session, actor: str) -> tuple[models.Participant | None, bool]:
        """What a typed `skip` or `snooze` acts on: the current round, else the next in line.

        Returns:
            The participant (None if nothing is open) and whether its question is the one
            on the person's screen (False: they have not been asked it yet).
        """
        member = self._lock_member(session, actor)
        parts = [] if member is None else focus.open_participations(session, member.id)
        current = focus.current(parts)
        target = current or focus.next_in_line(parts)
        if target is not None:
            self._lock_open_round(session, target)
        return target, current is not None

    def _cmd_skip(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        if args and args[0].lower() != "round":
            raise UserError(messages.usage("skip", "skip [round]"))
        participant, on_screen = self._target(session, actor)
        if participant is None:
            return [Notice(lines=(messages.nothing_open(),))]
        if args:
            rounds.claim_held_prompt(session, participant)  # sitting it out: none at local time
            return self._skip_round(session, participant, now)
        if not on_screen:  # a question they were never shown: show it rather than skip it
            return [self._show(session, participant)]
        return self._skip(session, participant, now)

    def _cmd_snooze(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        participant, _ = self._target(session, actor)
        if participant is None:
            return [Notice(lines=(messages.nothing_open(),))]
        # The snooze's wake-up asks them instead of the held prompt.
        rounds.claim_held_prompt(session, participant)
        return self._snooze(participant, " ".join(args), now)

    def _cmd_status(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        convs = (
            [self._conversation(session, args[0])]
            if args
            else list(
                session.scalars(
                    select(models.Conversation)
                    .where(models.Conversation.active)
                    .order_by(models.Conversation.id)
                )
            )
        )
        lines = []
        for conv in convs:
            cadence = parse_cadence(conv.effective_cadence)
            state = (
                "paused" if conv.paused else f"next round {messages.when(cadence.next_after(now))}"
            )
            lines.append(f"{conv.title} ({conv.key}): {cadence.describe()}; {state}")
            open_round = self._open_round(session, conv)
            if open_round is not None:
                counts = self._status_counts(session, open_round)
                total = sum(counts.values())
                lines.append(
                    f"    round {open_round.number} open: {counts.get('done', 0)} of {total}"
                    f" answered, {counts.get('skipped', 0)} skipped;"
                    f" closes {messages.when(deadline_of(open_round))}"
                )
                held = rounds.held_count(session, open_round)
                if held:
                    lines.append(f"    {held} prompt(s) waiting for local time")
        problems = failures(session, limit=10)
        if problems:
            lines.append("")
            lines.append("Delivery problems:")
            lines.extend(f"    {f.destination}: {f.last_error}" for f in problems)
        unreachable = unreachable_lines(session, (g for c in convs for g in c.spec["groups"]))
        if unreachable:  # e.g. an email: member nobody in Slack has (bot.flows.directory)
            lines.extend(["", "Not reachable:", *(f"    {line}" for line in unreachable)])
        return [Notice(title="Strategy conversations", lines=tuple(lines))]

    def _cmd_digest(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        scope, which = "all", "last"
        for word in args:
            if word.lower() in ("last", "previous"):
                which = word.lower()
            elif word.lower() == "all":
                scope = "all"
            else:
                scope = self._conversation(session, word).key
        digest = build_digest(
            session,
            scope=scope,
            which=which,  # type: ignore[arg-type]
            organisation=self.playbook.organisation,
            now=now,
        )
        save_digest(session, digest, round_id=None, requested_by=actor)
        return [DigestMessage(digest=digest)]

    def _open_round(self, session: Session, conv: models.Conversation) -> models.Round | None:
        return session.scalar(
            select(models.Round).where(
                models.Round.conversation_id == conv.id, models.Round.status == "open"
            )
        )

    def _require_open_round(
        self, session: Session, word: str
    ) -> tuple[models.Conversation, models.Round]:
        conv = self._conversation(session, word)
        round_ = self._open_round(session, conv)
        if round_ is None:
            raise UserError(messages.no_open_round(conv.title))
        return conv, round_

    def _status_counts(self, session: Session, round_: models.Round) -> dict[str, int]:
        """Participants of a round by status (pending, answering, done, skipped)."""
        return {
            status: count
            for status, count in session.execute(
                select(models.Participant.status, func.count())
                .where(models.Participant.round_id == round_.id)
                .group_by(models.Participant.status)
            ).all()
        }

    def _audit(
        self, session: Session, actor: str, action: str, target: str, **detail: object
    ) -> None:
        session.add(
            models.AuditEntry(
                at=self.clock(), actor=actor, action=action, target=target, detail=detail
            )
        )

    def _cmd_ask(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        conv = self._conversation(session, args[0])
        existing = self._open_round(session, conv)
        if existing is not None:
            raise UserError(messages.round_already_open(conv.title, existing.number))
        round_ = rounds.open_round(
            session,
            conv,
            scheduled_for=rounds.manual_slot(session, conv, now),
            trigger="manual",
            now=now,
            cio_channel=self.playbook.cio_channel,
            opened_by=actor,
        )
        if round_ is None:  # another admin (or replica) opened one at this very moment
            existing = self._open_round(session, conv)
            if existing is None:
                raise UserError(messages.GENERIC_FAILURE)
            raise UserError(messages.round_already_open(conv.title, existing.number))
        invited = session.scalar(
            select(func.count())
            .select_from(models.Participant)
            .where(models.Participant.round_id == round_.id)
        )
        if not invited:
            raise UserError(messages.no_members(conv.title))
        self._audit(session, actor, "ask", conv.key, round=round_.number)
        lines = [messages.round_opened(conv.title, round_.number, invited, deadline_of(round_))]
        held = rounds.held_count(session, round_)
        local_time = rounds.agenda_of(round_).local_time
        if held and local_time:
            lines.append(rounds.held_line(held, local_time))
        return [Notice(level="success", lines=tuple(lines))]

    def _cmd_close(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        conv, round_ = self._require_open_round(session, args[0])
        if not self._close(session, round_, now, reason=f"closed by {actor}"):
            raise UserError(messages.no_open_round(conv.title))
        self._audit(session, actor, "close", conv.key, round=round_.number)
        counts = self._status_counts(session, round_)
        return [
            Notice(
                level="success",
                lines=(
                    messages.round_closed_notice(
                        conv.title, round_.number, counts.get("done", 0), sum(counts.values())
                    ),
                ),
            )
        ]

    def _cmd_remind(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        conv, round_ = self._require_open_round(session, args[0])
        count = rounds.remind_now(session, round_, now)
        self._audit(session, actor, "remind", conv.key, count=count)
        return [Notice(level="success", lines=(messages.reminders_sent(conv.title, count),))]

    def _cmd_schedule(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        conv = self._conversation(session, args[0])
        text = " ".join(args[1:])
        try:
            cadence = parse_cadence(text)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        old = conv.effective_cadence
        conv.cadence_override = text
        conv.scheduled_since = now  # the new cadence starts with its next occurrence
        self._audit(session, actor, "schedule", conv.key, old=old, new=text)
        self.hooks.schedule_changed()
        return [
            Notice(
                level="success",
                lines=(
                    messages.schedule_changed(
                        conv.title,
                        cadence.describe(),
                        None if conv.paused else cadence.next_after(now),
                    ),
                ),
            )
        ]

    def _cmd_pause(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        conv = self._conversation(session, args[0])
        conv.paused = True
        self._audit(session, actor, "pause", conv.key)
        self.hooks.schedule_changed()
        return [Notice(level="success", lines=(messages.paused(conv.title),))]

    def _cmd_resume(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        conv = self._conversation(session, args[0])
        if conv.paused:
            conv.scheduled_since = now  # nothing skipped while paused is owed
        conv.paused = False
        self._audit(session, actor, "resume", conv.key)
        self.hooks.schedule_changed()
        nxt = parse_cadence(conv.effective_cadence).next_after(now)
        return [Notice(level="success", lines=(messages.resumed(conv.title, nxt),))]

    def _close(self, session: Session, round_: models.Round, now: datetime, reason: str) -> bool:
        return rounds.close_round(
            session,
            round_,
            now=now,
            reason=reason,
            cio_channel=self.playbook.cio_channel,
            organisation=self.playbook.organisation,
        )

    # ----------------------------------------------------------------- scheduler target

    def cadences(self) -> list[tuple[str, str, bool]]:
        """(key, cadence in force, paused) of every active conversation."""
        with self.db.transaction() as session:
            return [
                (c.key, c.effective_cadence, c.paused)
                for c in session.scalars(
                    select(models.Conversation).where(models.Conversation.active)
                )
            ]

    def last_scheduled_for(self, key: str) -> datetime | None:
        """When the newest round of a conversation (of any status) was scheduled."""
        with self.db.transaction() as session:
            return session.scalar(
                select(func.max(models.Round.scheduled_for))
                .join(models.Conversation)
                .where(models.Conversation.key == key)
            )

    def scheduled_since(self, key: str) -> datetime | None:
        """When the conversation came under the bot's care (`Conversation.scheduled_since`)."""
        with self.db.transaction() as session:
            return self._conversation(session, key).scheduled_since

    @staticmethod
    def _owed(conv: models.Conversation, scheduled_for: datetime) -> bool:
        """Whether a round is owed for this time: at or after the conversation's care date."""
        since = conv.scheduled_since
        if since is None or scheduled_for < since:
            log.info("%s: no round owed for %s (in care since %s)", conv.key, scheduled_for, since)
            return False
        return True

    def open_scheduled_round(self, key: str, scheduled_for: datetime, trigger: str) -> bool:
        """Open the round scheduled for this time, unless it exists already.

        A paused conversation opens nothing, nor does a time before the conversation came
        under the bot's care (`scheduled_since`); while a round is still open, the new time
        is recorded as missed rather than stacking two rounds of one conversation.
        """
        now = self.clock()
        try:
            with self.db.transaction() as session:
                conv = self._conversation(session, key)
                if conv.paused or not self._owed(conv, scheduled_for):
                    return False
                current = self._open_round(session, conv)
                if current is not None:
                    log.warning("%s: round %s still open at %s", key, current.number, scheduled_for)
                    rounds.record_missed(session, conv, scheduled_for)
                    return False
                opened = rounds.open_round(
                    session,
                    conv,
                    scheduled_for=scheduled_for,
                    trigger=trigger,
                    now=now,
                    cio_channel=self.playbook.cio_channel,
                )
                return opened is not None
        finally:
            self.hooks.outbox_changed()

    def record_missed_round(self, key: str, scheduled_for: datetime) -> None:
        """Record a round missed while the bot was down (not one from before its care date)."""
        with self.db.transaction() as session:
            conv = self._conversation(session, key)
            if self._owed(conv, scheduled_for):
                rounds.record_missed(session, conv, scheduled_for)

    def tick(self, now: datetime | None = None) -> None:
        """Close rounds past their deadline, send held prompts and reminders, wake snoozes.

        Held prompts are those waiting for a participant's local time (`rounds`).
        """
        now = now or self.clock()
        try:
            with self.db.transaction() as session:
                open_rounds = list(
                    session.scalars(select(models.Round).where(models.Round.status == "open"))
                )
                for round_ in open_rounds:
                    if deadline_of(round_) <= now:
                        self._close(session, round_, now, reason="deadline")
                    else:
                        # Prompts first: one released late (the bot was down) counts the
                        # reminders already due as sent, so it is not followed by one.
                        rounds.release_held_prompts(session, round_, now)
                        rounds.due_reminders(session, round_, now)
                rounds.wake_snoozed(session, now)
        finally:
            self.hooks.outbox_changed()

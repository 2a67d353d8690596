"""The engine: one entry point (`handle`) for every platform's inbound events.

Each call runs in one database transaction that also records the platform's event id, so
an answer is stored before the adapter acknowledges it, and a retried delivery is a no-op.
The engine returns what to show the person who acted; everything for other people (prompts,
reminders, digests) goes to the outbox in the same transaction. Its methods are synchronous:
the async server calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages
from bot.delivery.outbox import failures
from bot.errors import PermissionDenied, UserError
from bot.flows import answering, rounds
from bot.flows.cadence import parse_cadence
from bot.flows.commands import (
    ParsedCommand,
    Role,
    is_command,
    looks_like_command,
    parse,
    suggest,
)
from bot.flows.digest import build_digest, save_digest
from bot.flows.directory import unreachable_lines
from bot.flows.events import (
    Action,
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
)
from bot.flows.outbound import DigestMessage, Notice, OutboundMessage, Outgoing
from bot.flows.rounds import deadline_of
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database

log = logging.getLogger(__name__)
# A reply this soon after its round closed is a late answer, not a new conversation.
LATE_REPLY_WINDOW = timedelta(days=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


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

        Raises nothing for user mistakes: they come back as error notices.
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
        finally:
            self.hooks.outbox_changed()
        return [Outgoing(address=event.actor, message=m) for m in replies]

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
        participant = self._current_participant(session, event.actor)
        if is_command(event.text):
            return self._command(session, event.actor, parse(event.text), now)
        if participant is not None and participant.prompt_due_at is not None:
            # Their only open round has not asked them yet (it waits for their local time):
            # the text cannot answer a question they have not seen, so show it now instead.
            rounds.claim_held_prompt(session, participant)
            return [rounds.prompt_for(participant.round, participant, opening=True)]
        if participant is not None:
            shown = answering.answer_text(session, participant, event.text, now)
            return [shown, *self._after_progress(session, participant, now)]
        late = self._recently_closed(session, event.actor, now)
        if late is not None:
            return [Notice(lines=(messages.round_closed(late.agenda["title"], late.closed_at),))]
        if self._member(session, event.actor) is None and not self._role(event.actor):
            return [Notice(lines=(messages.not_a_participant(),))]
        if not looks_like_command(event.text):
            return [Notice(lines=(messages.nothing_open(),))]
        return self._command(session, event.actor, parse(event.text), now)

    def _action(
        self, session: Session, event: ActionPressed, now: datetime
    ) -> list[OutboundMessage]:
        participant = self._participant_in_round(session, event.actor, event.round_id)
        if event.action is Action.ANSWER_ALL:
            return [answering.form(session, participant, {})]
        if event.action is Action.SKIP_QUESTION:
            return self._skip(session, participant, now)
        if event.action is Action.SKIP_ROUND:
            return self._skip_round(session, participant, now)
        if event.action is Action.SNOOZE:
            return self._snooze(participant, event.value or "2h", now)
        if event.action is Action.REVIEW:
            return [answering.summary(session, participant, now=now)]
        shown = answering.edit(session, participant, event.value or "")
        if shown is None:
            raise UserError("That question is not on this round's agenda.")
        return [shown]

    def _answer_given(
        self, session: Session, event: AnswerGiven, now: datetime
    ) -> list[OutboundMessage]:
        participant = self._participant_in_round(session, event.actor, event.round_id)
        shown = answering.answer_question(session, participant, event.question_id, event.value, now)
        if shown is None:
            raise UserError("That question is not on this round's agenda.")
        return [shown, *self._after_progress(session, participant, now)]

    def _form(self, session: Session, event: FormSubmitted, now: datetime) -> list[OutboundMessage]:
        participant = self._participant_in_round(session, event.actor, event.round_id)
        shown = answering.submit_form(session, participant, dict(event.values), now)
        return [shown, *self._after_progress(session, participant, now)]

    # ----------------------------------------------------------------- participants

    def _member(self, session: Session, actor: str) -> models.Member | None:
        return session.scalar(select(models.Member).where(models.Member.identity == actor))

    def _open_participations(self, session: Session, actor: str) -> list[models.Participant]:
        return list(
            session.scalars(
                select(models.Participant)
                .join(models.Round)
                .join(models.Member)
                .where(
                    models.Member.identity == actor,
                    models.Round.status == "open",
                    models.Participant.status.in_(rounds.UNFINISHED),
                )
                .order_by(models.Round.opened_at, models.Round.id)
            )
        )

    def _current_participant(self, session: Session, actor: str) -> models.Participant | None:
        """The round a chat reply answers: the one being answered, else the oldest open one.

        Rounds whose prompt still waits for the person's local time come last: a reply is
        meant for a question they have been asked.
        """
        open_ = self._open_participations(session, actor)
        answering_ = [p for p in open_ if p.status == "answering"]
        asked = [p for p in open_ if p.prompt_due_at is None]
        candidates = answering_ or asked or open_
        return candidates[0] if candidates else None

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
        participant = session.scalar(
            select(models.Participant)
            .join(models.Member)
            .where(models.Member.identity == actor, models.Participant.round_id == round_id)
        )
        if participant is None:
            raise UserError("That prompt isn't addressed to you, or the round no longer exists.")
        round_ = participant.round
        if round_.status != "open":
            raise UserError(messages.round_closed(round_.agenda["title"], round_.closed_at))
        # Acting on this round's card means they have its question: a prompt still held for
        # their local time would only repeat it later.
        rounds.claim_held_prompt(session, participant)
        return participant

    def _after_progress(
        self, session: Session, participant: models.Participant, now: datetime
    ) -> list[OutboundMessage]:
        """After someone finishes: close early if everyone has, or point to their next round."""
        if participant.status not in ("done", "skipped"):
            return []
        session.flush()
        round_ = participant.round
        left = session.scalar(
            select(func.count())
            .select_from(models.Participant)
            .where(
                models.Participant.round_id == round_.id,
                models.Participant.status.in_(rounds.UNFINISHED),
            )
        )
        if not left:
            self._close(session, round_, now, reason="everyone answered")
        nxt = self._current_participant(session, participant.member.identity)
        if nxt is not None:
            rounds.claim_held_prompt(session, nxt)  # shown here: not again at their local time
            return [rounds.prompt_for(nxt.round, nxt, opening=True)]
        return []

    def _skip(
        self, session: Session, participant: models.Participant, now: datetime
    ) -> list[OutboundMessage]:
        shown = answering.skip_question(session, participant, now)
        if shown is None:
            raise UserError(messages.required_cannot_skip())
        return [shown, *self._after_progress(session, participant, now)]

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
        request, so a prompt held for their local time stays held and still arrives then.
        """
        with self.db.transaction() as session:
            return self._mine(session, actor, take_held=False)

    def _cmd_mine(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        return self._mine(session, actor, take_held=True)

    def _mine(self, session: Session, actor: str, *, take_held: bool) -> list[OutboundMessage]:
        open_ = self._open_participations(session, actor)
        if not open_:
            return [Notice(lines=(messages.nothing_open(),))]
        lines = []
        for p in open_:
            spec = rounds.agenda_of(p.round)
            lines.append(
                f"{spec.title} round {p.round.number}: question {p.current_question + 1}"
                f" of {len(spec.questions)}, closes {messages.when(deadline_of(p.round))}"
            )
        current = self._current_participant(session, actor) or open_[0]
        # Asking before their local time gets the prompt now, as the opening one (with the
        # purpose) since they have not seen it; the held copy is then never sent.
        if take_held:
            first_sight = rounds.claim_held_prompt(session, current)
        else:
            first_sight = current.prompt_due_at is not None
        return [
            Notice(title="Your open questions", lines=tuple(lines)),
            rounds.prompt_for(current.round, current, opening=first_sight),
        ]

    def _cmd_review(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        parts = list(
            session.scalars(
                select(models.Participant)
                .join(models.Round)
                .join(models.Member)
                .where(models.Member.identity == actor, models.Round.status == "open")
            )
        )
        if not parts:
            return [Notice(lines=(messages.nothing_open(),))]
        return [answering.summary(session, p, now=now) for p in parts]

    def _cmd_skip(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        participant = self._current_participant(session, actor)
        if participant is None:
            return [Notice(lines=(messages.nothing_open(),))]
        if args and args[0].lower() != "round":
            raise UserError(messages.usage("skip", "skip [round]"))
        first_sight = rounds.claim_held_prompt(session, participant)  # none at local time now
        if args:
            return self._skip_round(session, participant, now)
        if first_sight:  # a question they were never shown: show it rather than skip it
            return [rounds.prompt_for(participant.round, participant, opening=True)]
        return self._skip(session, participant, now)

    def _cmd_snooze(
        self, session: Session, actor: str, args: Sequence[str], now: datetime
    ) -> list[OutboundMessage]:
        participant = self._current_participant(session, actor)
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
            scheduled_for=now.replace(microsecond=0),
            trigger="manual",
            now=now,
            cio_channel=self.playbook.cio_channel,
            opened_by=actor,
        )
        if round_ is None:
            raise UserError(messages.round_already_open(conv.title, 0))
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
        self._close(session, round_, now, reason=f"closed by {actor}")
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

    def _close(self, session: Session, round_: models.Round, now: datetime, reason: str) -> None:
        rounds.close_round(
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

"""The engine: one entry point (`handle`) for every platform's inbound events.

Each call runs in one database transaction that also records the platform's event id, so
an answer is stored before the adapter acknowledges it, and a retried delivery is a no-op.
The replies to the person who acted are routed (`bot.flows.routing`) and written to the
outbox in that same transaction (`_deliver`), and returned for adapters that show them at
once; everything for other people (prompts, reminders, digests) goes to the outbox in it
too. The methods are synchronous: the async server calls them through `asyncio.to_thread`.

What an event does is decided elsewhere, one concept per module: answers and buttons in
`participation`, commands in `commands` (the table) and its handler modules; this module
only dispatches, de-duplicates and delivers, and is what the scheduler calls.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.flows import commands, confidential, focus, participation, retention, rounds
from bot.flows.digest_model import Digest
from bot.flows.events import (
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
)
from bot.flows.outbound import Notice, OutboundMessage, Outgoing, Prompt
from bot.flows.queueing import enqueue, enqueue_many
from bot.flows.rounds import deadline_of
from bot.flows.routing import reply_address
from bot.flows.turn import EngineHooks, Turn
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["Engine", "EngineHooks"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _record_event_statement(insert: Any) -> Any:
    table: Any = models.InboundEvent.__table__
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(table.c.id)
    )


# Built once per dialect (a statement built per event costs more than running it).
_RECORD_EVENT = {
    "sqlite": _record_event_statement(sqlite.insert),
    "postgresql": _record_event_statement(postgresql.insert),
}


class _NoWork:
    """No round has opening or closing work left (`Engine._digest_to_post`)."""


NO_WORK = _NoWork()
# Whether any round has work left: nearly always none, so one small indexed read.
_ANY_WORK_LEFT = select(models.Round.id).where(models.Round.pending_work.is_not(None)).limit(1)
# Rounds with work left, oldest first.
_PENDING_WORK = (
    select(models.Round.id, models.Round.pending_work)
    .where(models.Round.pending_work.is_not(None))
    .order_by(models.Round.id)
)


def _work_left(session: Session) -> bool:
    """Whether any round has opening or closing left for chunks.

    Asked in an event's own transaction rather than one of its own afterwards: it sees
    what this event left and what others had committed (work they commit later, they
    carry on themselves).
    """
    return session.execute(_ANY_WORK_LEFT).first() is not None


def _reply_prefix(event: InboundEvent) -> str:
    """The outbox keys of an event's replies: from its platform id, so a retry adds none."""
    if not event.event_id:
        return f"reply:{uuid.uuid4().hex}"
    platform = event.actor.split(":", 1)[0]
    ident = f"{platform}:{event.event_id}"
    if len(ident) > 150:  # keys are 200 characters; long platform ids are hashed
        ident = f"{platform}:#{hashlib.sha256(event.event_id.encode()).hexdigest()}"
    return f"reply:{ident}"


def _command(turn: Turn, event: CommandInvoked) -> list[OutboundMessage]:
    return commands.run(turn, event.actor, commands.parse(event.text))


def _text(turn: Turn, event: TextMessage) -> list[OutboundMessage]:
    # While a question is waiting, text is the answer unless it is a complete command.
    if commands.is_command(event.text):
        return commands.run(turn, event.actor, commands.parse(event.text))
    replies = participation.typed_reply(turn, event)
    if replies is not None:
        return replies
    return [commands.not_understood(turn, event.actor, event.text)]


# Each inbound event type and what handles it (a new event type needs a row here).
_HANDLERS: dict[type[InboundEvent], Callable[[Turn, object], list[OutboundMessage]]] = {
    CommandInvoked: _command,  # type: ignore[dict-item]
    TextMessage: _text,  # type: ignore[dict-item]
    ActionPressed: participation.button,  # type: ignore[dict-item]
    AnswerGiven: participation.answer_button,  # type: ignore[dict-item]
    FormSubmitted: participation.form,  # type: ignore[dict-item]
}


@dataclass
class Engine:
    """The conversation-flow engine."""

    db: Database
    playbook: Playbook
    clock: Callable[[], datetime] = _utcnow
    hooks: EngineHooks = field(default_factory=EngineHooks)
    # Rounds' opening and closing left for chunks (`rounds.work_chunk`): one thread of the
    # process does them at a time; a request for more while it runs makes it look again.
    _work_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _work_wanted: bool = field(default=False, repr=False)

    # ----------------------------------------------------------------- inbound events

    def handle(self, event: InboundEvent) -> list[Outgoing]:
        """Process one inbound event; return the messages to show the actor.

        The replies are also queued in the outbox, in the same transaction as the event
        they answer (see `_deliver`): a crash after the commit loses none of them, even
        though the redelivered event is then ignored as a duplicate. Raises nothing for
        user mistakes: they come back as error notices.

        Raises:
            TypeError: an event type the engine does not know.
        """
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise TypeError(f"unsupported event {type(event).__name__}")
        now = self.clock()
        work_left = True  # unless the transaction finds none (a failure cannot tell)
        try:
            try:
                with self.db.transaction() as session:
                    if not self._first_delivery(session, event, now):
                        return []
                    turn = self._turn(session, now)
                    out = self._deliver(turn, event, handler(turn, event))
                    work_left = _work_left(session)
                    return out
            except UserError as exc:
                # A mistake changes nothing: the handler's work went with the transaction
                # it raised in (a savepoint around every handler would cost every click two
                # statements). The error is the reply, in a transaction of its own that
                # records the event, so a retried delivery is still a no-op.
                error = Notice(level="error", lines=(str(exc),))
            with self.db.transaction() as session:
                if not self._first_delivery(session, event, now):
                    return []
                out = self._deliver(self._turn(session, now), event, [error])
                work_left = _work_left(session)
                return out
        finally:
            self.hooks.outbox_changed()
            if work_left:
                self._rounds_changed()

    def _turn(self, session: Session, now: datetime) -> Turn:
        return Turn(session=session, now=now, playbook=self.playbook, hooks=self.hooks)

    def _first_delivery(self, session: Session, event: InboundEvent, now: datetime) -> bool:
        """Record the event's platform id; False if it was recorded before (a redelivery).

        True for an event without an id (the platform gives none: no de-duplication).

        One `INSERT ... ON CONFLICT DO NOTHING RETURNING`: the unique (platform, event id)
        decides, as a failed insert in a savepoint did, without the savepoint and flush.
        On PostgreSQL a concurrent delivery of the same id waits for the first one's
        transaction and then sees its row, so exactly one of them goes on.
        """
        if not event.event_id:
            return True
        platform = event.actor.split(":", 1)[0]
        conn = session.connection()
        row = conn.execute(
            _RECORD_EVENT[conn.dialect.name],
            {"platform": platform, "event_id": str(event.event_id)[:200], "received_at": now},
        ).first()
        if row is None:
            log.info("duplicate %s event %s ignored", type(event).__name__, event.event_id)
        return row is not None

    def _deliver(
        self, turn: Turn, event: InboundEvent, replies: Sequence[OutboundMessage]
    ) -> list[Outgoing]:
        """Queue the replies where the routing policy sends them; a question shown is current."""
        self._mark_shown(turn, event, replies)
        return self._queue(turn, event, replies)

    @staticmethod
    def _mark_shown(turn: Turn, event: InboundEvent, replies: Sequence[OutboundMessage]) -> None:
        """Every prompt that asks its question makes that round the actor's current one.

        (See `bot.flows.focus`.) So their next typed reply answers what they see. Marked
        before the transaction's one flush, so for the participation the click changed
        it goes in the same UPDATE as its progress (`focus.mark_shown`).
        """
        shown = {m.round_id for m in replies if isinstance(m, Prompt) and m.waiting_for is None}
        if not shown:
            return
        member = turn.member(event.actor)
        if member is None:
            return
        for round_id in sorted(shown):
            focus.mark_shown(turn.session, member.id, round_id, turn.now)

    def _queue(
        self, turn: Turn, event: InboundEvent, replies: Sequence[OutboundMessage]
    ) -> list[Outgoing]:
        """Queue the replies where the routing policy sends them, in one multi-row INSERT."""
        prefix = _reply_prefix(event)
        out = []
        queued: list[tuple[str, str, OutboundMessage]] = []
        for index, reply in enumerate(replies):
            address = reply_address(event, reply, self.playbook.cio_channel)
            if address is None:  # shown in the moment only (a form)
                out.append(Outgoing(address=event.actor, message=reply))
                continue
            # A digest is shown as its place may read it (`bot.flows.confidential`).
            for to, message, suffix in confidential.deliveries(turn, event, reply, address):
                key = f"{prefix}:{index}{suffix}"
                queued.append((key, to, message))
                out.append(Outgoing(address=to, message=message, key=key))
        enqueue_many(turn.session, queued, now=turn.now)
        return out

    # ----------------------------------------------------------------- looks from outside

    def open_prompts(self, actor: str) -> list[OutboundMessage]:
        """What `mine` shows, without its effects: for views a person did not ask for.

        Slack's App Home is rebuilt whenever someone opens the tab; that is a look, not a
        request, so a prompt held for their local time stays held and still arrives then,
        and the round they answer in chat stays the current one.
        """
        with self.db.transaction() as session:
            return participation.mine(self._turn(session, self.clock()), actor, take_held=False)

    def greet(
        self, session: Session, address: str, welcome: Notice, *, cause: str, personal: bool
    ) -> None:
        """Queue a welcome, then (in a person's own chat) their open question, if any.

        Called inside the transaction that records a chat app's install (see
        `storage.references.References.save`), so both commit together or neither does.
        A chat installed mid-round (Teams) had its opening prompt refused; this is the
        moment the person is there to answer it. Nothing follows the welcome when nothing
        is open, so it is never followed by "you have no open questions".

        Args:
            session: the install's transaction.
            address: the chat (a person, or a channel).
            welcome: what to say.
            cause: a unique id for the install (its activity id).
            personal: whether the chat is one person's own.
        """
        now = self.clock()
        turn = self._turn(session, now)
        enqueue(session, key=f"welcome:{cause}", address=address, message=welcome, now=now)
        if not personal:
            return
        member = turn.member(address)
        if member is None or not focus.open_participations(session, member.id):
            return
        event = CommandInvoked(actor=address, text="mine", event_id=f"shown:{cause}")
        if self._first_delivery(session, event, now):
            self._deliver(turn, event, participation.mine(turn, address, take_held=True))

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
            return self._turn(session, self.clock()).conversation(key).scheduled_since

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
                conv = self._turn(session, now).conversation(key)
                if conv.paused or not self._owed(conv, scheduled_for):
                    return False
                current = self._turn(session, now).open_round(conv)
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
            self._rounds_changed()

    def record_missed_round(self, key: str, scheduled_for: datetime) -> None:
        """Record a round missed while the bot was down (not one from before its care date)."""
        with self.db.transaction() as session:
            conv = self._turn(session, self.clock()).conversation(key)
            if self._owed(conv, scheduled_for):
                rounds.record_missed(session, conv, scheduled_for)

    def tick(self, now: datetime | None = None) -> None:
        """Close rounds past their deadline, send held prompts and reminders, wake snoozes.

        Held prompts are those waiting for a participant's local time (`rounds`). Each
        round's work is done in transactions of `rounds.CHUNK` people, so a reminder to
        50,000 people never holds the database for long; then whatever opening or closing
        is left (a crash mid-fan-out) is carried on (`continue_rounds`).
        """
        now = now or self.clock()
        try:
            with self.db.transaction() as session:
                open_rounds = [
                    (r.id, deadline_of(r))
                    for r in session.scalars(
                        select(models.Round).where(models.Round.status == "open")
                    )
                ]
            for round_id, deadline in open_rounds:
                if deadline <= now:
                    with self.db.transaction() as session:
                        round_ = session.get(models.Round, round_id)
                        if round_ is not None and round_.status == "open":
                            self._turn(session, now).close(round_, reason="deadline")
                    continue
                # Prompts first: one released late (the bot was down) counts the
                # reminders already due as sent, so it is not followed by one.
                self._in_chunks(
                    round_id,
                    lambda s, r: rounds.release_held_prompts(s, r, now, limit=rounds.CHUNK),
                )
                self._in_chunks(
                    round_id, lambda s, r: rounds.due_reminders(s, r, now, limit=rounds.CHUNK)
                )
            while True:
                with self.db.transaction() as session:
                    if rounds.wake_snoozed(session, now, limit=rounds.CHUNK) < rounds.CHUNK:
                        break
        finally:
            self.hooks.outbox_changed()
        self.continue_rounds()

    def _in_chunks(self, round_id: int, step: Callable[[Session, models.Round], int]) -> None:
        """Run `step` on an open round in transactions of its own while it does a whole chunk."""
        while True:
            with self.db.transaction() as session:
                round_ = session.get(models.Round, round_id)
                if round_ is None or round_.status != "open":
                    return
                if step(session, round_) < rounds.CHUNK:
                    return

    def _digest_to_post(self) -> tuple[int, Digest] | _NoWork | None:
        """A closed round's digest waiting to be built, built in a read-only transaction.

        `NO_WORK` when no round has anything left (what nearly every call finds): then
        the caller needs no writing transaction, and on SQLite takes no writer's lock
        after every click only to find nothing to do.
        """
        with self.db.reading() as session:
            pending = session.execute(_PENDING_WORK).all()
            if not pending:
                return NO_WORK
            digests = [round_id for round_id, work in pending if work == rounds.DIGEST]
            round_ = session.get(models.Round, digests[0]) if digests else None
            if round_ is None:
                return None
            digest = rounds.closed_digest(
                session, round_, organisation=self.playbook.organisation, now=self.clock()
            )
            return round_.id, digest

    def _rounds_changed(self) -> None:
        """Carry on any round's opening or closing left for chunks.

        After an event only when some round has work left (`handle`), so a click starts no
        thread and no transaction for it; the scheduler's tick looks every time.

        In the background if the process provides a way (`EngineHooks.rounds_pending`),
        else at once.
        """
        if self.hooks.rounds_pending is not None:
            self.hooks.rounds_pending()
        else:
            self.continue_rounds()

    def continue_rounds(self) -> int:
        """Do the opening and closing of big rounds left for chunks, one chunk per transaction.

        Between two chunks the database is free for clicks (SQLite's writer lock is handed
        over in order, see `storage.db`). Safe to run anywhere, any number of times, on any
        replica: each chunk re-checks the round under its lock and the outbox's keys keep
        a chunk done twice from adding anything (`bot.flows.rounds`).

        Returns:
            How many chunks this call did.
        """
        done = 0
        self._work_wanted = True
        while self._work_wanted and self._work_lock.acquire(blocking=False):
            try:
                self._work_wanted = False
                while True:
                    digest = self._digest_to_post()
                    if digest is NO_WORK:
                        break
                    with self.db.transaction() as session:
                        round_ = session.scalar(
                            select(models.Round)
                            .where(models.Round.pending_work.is_not(None))
                            .order_by(models.Round.id)
                            .limit(1)
                        )
                        if round_ is None:
                            break
                        if round_.pending_work == rounds.DIGEST:
                            if isinstance(digest, tuple) and digest[0] == round_.id:
                                rounds.post_digest(
                                    session,
                                    round_,
                                    digest[1],
                                    now=self.clock(),
                                    cio_channel=self.playbook.cio_channel,
                                )
                            done += 1
                            continue
                        rounds.work_chunk(
                            session,
                            round_,
                            now=self.clock(),
                            cio_channel=self.playbook.cio_channel,
                            organisation=self.playbook.organisation,
                        )
                    done += 1
                    self.hooks.outbox_changed()
            finally:
                self._work_lock.release()
        return done

    def purge(self, now: datetime | None = None) -> retention.Purged:
        """The daily retention purge (`bot.flows.retention`), in one transaction."""
        with self.db.transaction() as session:
            return retention.purge(session, self.playbook, now or self.clock())

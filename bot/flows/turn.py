"""One event being handled: its transaction, its time, the playbook, and shared look-ups.

Every handler of the engine (answers in `participation`, the commands in
`*_commands`) runs inside one `Turn`: the session of the event's single transaction (so
the event id, the state change and the replies commit together, see `engine.Engine`),
the moment it is handled, and the look-ups they all need (members, conversations, the
open round, the audit log, closing a round). Keeping them here, not on the engine, lets
each concept live in a module of its own without a god object.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from bot import messages
from bot.errors import UserError
from bot.flows import rounds
from bot.flows.roles import Role, roles_of
from bot.flows.summary import Summariser
from bot.playbook.model import Playbook
from storage import models


@dataclass
class EngineHooks:
    """Thread-safe callbacks into the async world: wake the outbox, re-read schedules."""

    outbox_changed: Callable[[], None] = lambda: None
    schedule_changed: Callable[[], None] = lambda: None
    # The optional language-model summariser of `digest all` and `consistency` (a port:
    # `bot.flows.summary`); None unless SUMMARY_URL and SUMMARY_MODEL are set.
    summariser: Summariser | None = None
    # A round's opening or closing was left for chunks: run `Engine.continue_rounds`
    # (in a worker thread, so the event that caused it is answered first). None: the
    # engine runs it at once, before returning (tests, the CLI).
    rounds_pending: Callable[[], None] | None = None


# Built once: building a statement costs more than SQLite takes to run it.
_MEMBER = select(models.Member).where(models.Member.identity == bindparam("identity"))
_LOCK_MEMBER = _MEMBER.with_for_update()


def suggest(word: str, known: list[str]) -> str | None:
    """The closest known word, for "did you mean" hints."""
    close = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.5)
    return close[0] if close else None


@dataclass
class Turn:
    """The context every handler receives (see the module docstring)."""

    session: Session
    now: datetime
    playbook: Playbook
    hooks: EngineHooks = field(default_factory=EngineHooks)
    # Members this turn has read (and locked) by identity: a click reads its actor when it
    # begins and again when its replies are delivered, and one SELECT does for both.
    _members: dict[str, models.Member] = field(default_factory=dict, init=False, repr=False)
    _locked: set[str] = field(default_factory=set, init=False, repr=False)

    def _known(self, actor: str) -> models.Member | None:
        """The member read earlier in this turn, unless it has been deleted since."""
        member = self._members.get(actor)
        if member is None or not inspect(member).persistent or member.identity != actor:
            return None
        return member

    def roles(self, actor: str) -> set[Role]:
        """The actor's roles (`bot.flows.roles`)."""
        return roles_of(self.playbook, actor)

    def member(self, actor: str) -> models.Member | None:
        """The member with this identity, if any."""
        member = self._known(actor)
        if member is None:
            member = self.session.scalar(_MEMBER, {"identity": actor})
            if member is not None:
                self._members[actor] = member
        return member

    def lock_member(self, actor: str) -> models.Member | None:
        """The actor's member row, locked first (members before rounds: `bot.flows.focus`).

        Locked once per turn: a row lock is held to the end of the transaction.
        """
        member = self._known(actor) if actor in self._locked else None
        if member is None:
            member = self.session.scalar(_LOCK_MEMBER, {"identity": actor})
            if member is not None:
                self._members[actor] = member
                self._locked.add(actor)
        return member

    def conversation(self, word: str) -> models.Conversation:
        """The active conversation with this key.

        Raises:
            UserError: no such conversation (with a "did you mean").
        """
        convs = list(
            self.session.scalars(select(models.Conversation).where(models.Conversation.active))
        )
        for conv in convs:
            if conv.key == word.lower():
                return conv
        keys = [c.key for c in convs]
        raise UserError(messages.unknown_conversation(word[:40], keys, suggest(word, keys)))

    def open_round(self, conv: models.Conversation) -> models.Round | None:
        """The conversation's open round, if one is open."""
        return self.session.scalar(
            select(models.Round).where(
                models.Round.conversation_id == conv.id, models.Round.status == "open"
            )
        )

    def require_open_round(self, word: str) -> tuple[models.Conversation, models.Round]:
        """The conversation and its open round.

        Raises:
            UserError: no such conversation, or it has no open round.
        """
        conv = self.conversation(word)
        round_ = self.open_round(conv)
        if round_ is None:
            raise UserError(messages.no_open_round(conv.title))
        return conv, round_

    def status_counts(self, round_: models.Round) -> dict[str, int]:
        """Participants of a round by status (pending, answering, done, skipped)."""
        return {
            status: count
            for status, count in self.session.execute(
                select(models.Participant.status, func.count())
                .where(models.Participant.round_id == round_.id)
                .group_by(models.Participant.status)
            ).all()
        }

    def audit(self, actor: str, action: str, target: str, **detail: object) -> None:
        """Record an admin's action in the audit log."""
        self.session.add(
            models.AuditEntry(at=self.now, actor=actor, action=action, target=target, detail=detail)
        )

    def close(self, round_: models.Round, reason: str) -> bool:
        """Close a round and queue its digest; False if it was no longer open."""
        return rounds.close_round(
            self.session,
            round_,
            now=self.now,
            reason=reason,
            cio_channel=self.playbook.cio_channel,
            organisation=self.playbook.organisation,
        )

"""An engine on a real database with a fake clock, and helpers to read what it queued.

The engine-level equivalent of errbot's TestBot: `say()` pushes an inbound event and returns
what the actor sees; `queued()` pops what went to the outbox for an address.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from bot.flows.engine import Engine
from bot.flows.events import Action, ActionPressed, CommandInvoked, FormSubmitted, TextMessage
from bot.flows.outbound import OutboundMessage, load_message
from bot.flows.sync import sync_playbook
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database

PLAYBOOK: dict[str, Any] = {
    "organisation": "Acme",
    "cio_channel": "console:#cio",
    "roles": {"cio": ["console:cio"], "admins": ["console:admin"]},
    "groups": {
        "marketing": {
            "title": "Marketing, PR and sales",
            "members": [
                {"id": "console:maria", "name": "Maria (Marketing)"},
                {"id": "console:sam", "name": "Sam (Sales)"},
            ],
        },
        "legal": {
            "title": "Legal and security",
            "members": [{"id": "console:lee", "name": "Lee (Counsel)"}],
        },
    },
    "conversations": [
        {
            "key": "social-media",
            "title": "Social Media",
            "purpose": "Brand management and customer engagement.",
            "groups": ["marketing"],
            "cadence": "every 2 weeks on tue at 10:00",
            "response_window": "3d",
            "reminders": ["1d"],
            "close_when_all_answered": True,
            "questions": [
                {"id": "hearing", "text": "What are you hearing from customers?"},
                {
                    "id": "external",
                    "text": "How mature is our customer-facing social work?",
                    "type": "rating",
                    "labels": {1: "not started", 5: "leading"},
                    "maturity": "external",
                },
                {
                    "id": "channel",
                    "text": "Which channel matters most?",
                    "type": "single_choice",
                    "options": ["Blogs", "Twitter", "Fan pages"],
                },
                {
                    "id": "pilot",
                    "text": "Should we pilot a listening tool?",
                    "type": "yes_no",
                    "required": False,
                },
            ],
        },
        {
            "key": "social-liability",
            "title": "Social Liability",
            "purpose": "Legal, regulatory and security risks.",
            "groups": ["legal"],
            "cadence": "0 9 1 * *",
            "anonymous": True,
            "questions": [{"id": "risk", "text": "What risk worries you most?"}],
        },
    ],
}


class EngineHarness:
    """Drive an engine like a chat user would."""

    def __init__(self, db: Database, clock: Any, playbook: dict[str, Any] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.playbook = Playbook.model_validate(playbook or PLAYBOOK)
        with db.transaction() as s:
            sync_playbook(s, self.playbook, now=clock())
        self.engine = Engine(db=db, playbook=self.playbook, clock=clock)
        self._ids = itertools.count(1)
        self._seen: set[int] = set()

    def say(self, actor: str, text: str, *, event_id: str | None = None) -> list[OutboundMessage]:
        out = self.engine.handle(TextMessage(actor=actor, text=text, event_id=event_id))
        return [o.message for o in out]

    def command(self, actor: str, text: str) -> list[OutboundMessage]:
        return [o.message for o in self.engine.handle(CommandInvoked(actor=actor, text=text))]

    def press(
        self,
        actor: str,
        action: Action,
        round_id: int,
        value: str | None = None,
        *,
        question_id: str | None = None,
    ) -> list[OutboundMessage]:
        event = ActionPressed(
            actor=actor, action=action, round_id=round_id, value=value, question_id=question_id
        )
        return [o.message for o in self.engine.handle(event)]

    def submit(self, actor: str, round_id: int, values: dict[str, object]) -> list[OutboundMessage]:
        event = FormSubmitted(actor=actor, round_id=round_id, values=values)
        return [o.message for o in self.engine.handle(event)]

    def queued(self, address: str) -> list[OutboundMessage]:
        """Outbox messages for an address not returned by an earlier call.

        Replies to what someone did are left out: `say`, `press` and the others return
        them (they are queued too, under `reply:` keys, see `Engine.handle`).
        """
        with self.db.transaction() as s:
            rows = s.scalars(
                select(models.OutboxMessage)
                .where(
                    models.OutboxMessage.destination == address,
                    models.OutboxMessage.idempotency_key.not_like("reply:%"),
                )
                .order_by(models.OutboxMessage.id)
            ).all()
        fresh = [r for r in rows if r.id not in self._seen]
        self._seen.update(r.id for r in fresh)
        return [load_message(r.payload) for r in fresh]

    def outbox_count(self) -> int:
        with self.db.transaction() as s:
            return len(s.scalars(select(models.OutboxMessage.id)).all())


def text_of(messages: list[OutboundMessage]) -> str:
    """Everything a user would read in these messages, as one string (for assertions)."""
    return "\n".join(m.model_dump_json() for m in messages)

"""The local web console as a chat platform: an in-memory transcript per address.

The console is what runs when no Slack or Teams credentials are set, so that a CIO can try
the six strategy conversations (and engineers can test them end to end) on one machine.
It plays both sides of a chat platform: the outbox worker delivers the engine's messages
through `send`, exactly as it would to Slack, and the browser reads them back from the
transcript (`feed`); what a person types in the browser becomes an engine event
(`submit`), and the engine's immediate replies go straight into the transcript.

Each bot entry carries the message (`message`, the outbox JSON) and its view (`view`,
`bot.presentation.dump_view`): the sections every platform shows, worded once. The page
only lays the view out, so it says exactly what Slack and Teams say.

The transcript lives in memory and is bounded per address, because the database (the
outbox and the answers) is the record; `seed` can restore recent history at start-up.

An export (`FileReply`) is an entry like any other, whose page shows a download link
(`routes.py`, `GET /console/api/file`): the file is built when the link is followed, for
the person it was made for, from the outbox row that offered it.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bot.adapters.base import DeliveryResult, ExportFiles
from bot.flows.events import InboundEvent
from bot.flows.outbound import OutboundMessage, Outgoing, dump_message, load_message
from bot.presentation import build_view, dump_view

logger = logging.getLogger(__name__)

PREFIX = "console:"
CIO_CHANNEL = "console:#cio"
DEFAULT_MAX_ENTRIES = 500
_MAX_REMEMBERED_KEYS = 10_000

Handle = Callable[[InboundEvent], Awaitable[list[Outgoing]]]
Entry = dict[str, Any]


@dataclass(frozen=True)
class Person:
    """Someone the browser can act as.

    Attributes:
        address: their console identity and DM address, e.g. ``console:maria``.
        name: display name for the chooser and the transcript.
        role: a short role label (``cio``, ``admin``, ``stakeholder``...).
    """

    address: str
    name: str
    role: str

    def as_json(self) -> dict[str, str]:
        """JSON-ready form for the people endpoint."""
        return {"address": self.address, "name": self.name, "role": self.role}


class ConsoleAdapter:
    """The console platform: delivers to, and reads from, an in-memory transcript.

    Args:
        handle: the engine; takes an inbound event, returns the messages to show now.
        people: ``(address, display name, role label)`` for each person the browser
            can act as; addresses must start with ``console:``.
        max_entries: how many entries each address keeps (oldest dropped first).
        files: where an export's file is looked up and built when its download link is
            followed (the core); None serves no files.

    Raises:
        ValueError: a person's address does not start with ``console:`` or repeats.
    """

    platform = "console"

    def __init__(
        self,
        *,
        handle: Handle,
        people: Sequence[tuple[str, str, str]],
        max_entries: int = DEFAULT_MAX_ENTRIES,
        files: ExportFiles | None = None,
    ) -> None:
        self.handle = handle
        self.files = files
        self._people: dict[str, Person] = {}
        for address, name, role in people:
            if not address.startswith(PREFIX) or len(address) <= len(PREFIX):
                raise ValueError(f"console person address must look like console:<id>: {address!r}")
            if address in self._people:
                raise ValueError(f"console person listed twice: {address!r}")
            self._people[address] = Person(address, name, role)
        self._max_entries = max_entries
        self._transcripts: dict[str, deque[Entry]] = {}
        self._ids = itertools.count(1)
        self._last_id = 0
        # Idempotency keys the outbox already delivered, mapped to the entry id it got.
        self._delivered: OrderedDict[str, int] = OrderedDict()
        # Client event ids already handled, mapped to the entries that answered them.
        self._answered: OrderedDict[str, list[Entry]] = OrderedDict()
        # `send` may be called from a worker thread; keep appends atomic.
        self._lock = threading.Lock()

    # -- Adapter protocol ---------------------------------------------------------------

    async def start(self) -> None:
        """Nothing to connect: the routes are mounted by `register_console_routes`."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def send(
        self,
        *,
        address: str,
        message: OutboundMessage,
        idempotency_key: str,
        redelivery: bool = False,
        enqueued_at: datetime | None = None,
    ) -> DeliveryResult:
        """Deliver one message from the outbox into an address's transcript.

        Args:
            address: ``console:<id>`` for a person's DM or ``console:#cio``.
            message: what to show.
            idempotency_key: the outbox's key; a key already delivered is not shown twice.
            redelivery: an earlier attempt may have delivered it; this process's record
                of delivered keys answers that (after a restart the transcript, kept in
                memory, starts empty, so a redelivered row is shown once in it).
            enqueued_at: when the outbox row was written (unused).

        Returns:
            `DeliveryResult.sent` with the entry id, or `failed` for a non-console address.
        """
        if not address.startswith(PREFIX) or len(address) <= len(PREFIX):
            return DeliveryResult.failed(f"not a console address: {address!r}")
        with self._lock:
            known = self._delivered.get(idempotency_key)
            if known is not None:
                logger.debug(
                    "console: key %s already delivered as entry %s", idempotency_key, known
                )
                return DeliveryResult.sent(str(known))
            entry = self._append_locked(address, "bot", **_bot_fields(message))
            self._remember(self._delivered, idempotency_key, entry["id"])
        return DeliveryResult.sent(str(entry["id"]))

    # -- People and transcript ------------------------------------------------------------

    @property
    def people(self) -> list[Person]:
        """Everyone the browser can act as, in the order given."""
        return list(self._people.values())

    def person(self, address: str) -> Person | None:
        """The person with this address, or None."""
        return self._people.get(address)

    @property
    def last_id(self) -> int:
        """The id of the newest entry in any transcript (0 when empty)."""
        return self._last_id

    def latest(self) -> dict[str, int]:
        """The newest entry id per address, so the page can mark unread conversations."""
        with self._lock:
            return {address: t[-1]["id"] for address, t in self._transcripts.items() if t}

    def feed(self, address: str, after: int = 0, limit: int = DEFAULT_MAX_ENTRIES) -> list[Entry]:
        """Entries of one address with an id greater than `after`, oldest first.

        A person's DM transcript holds both the bot's messages and what that person typed.
        """
        with self._lock:
            transcript = self._transcripts.get(address, ())
            found = [dict(e) for e in transcript if e["id"] > after]
        return found[:limit]

    def append_bot(
        self, address: str, message: OutboundMessage, idempotency_key: str | None = None
    ) -> Entry:
        """Show a message from the bot at once (a reply to what the person just did).

        The engine also queued the reply in the outbox under `idempotency_key`; whichever
        of the two shows it first, the other finds the key delivered and shows it once.
        """
        with self._lock:
            if idempotency_key is not None:
                known = self._delivered.get(idempotency_key)
                if known is not None:
                    shown = self._entry_locked(address, known)
                    if shown is not None:
                        return dict(shown)
            entry = self._append_locked(address, "bot", **_bot_fields(message))
            if idempotency_key is not None:
                self._remember(self._delivered, idempotency_key, entry["id"])
            return dict(entry)

    def _entry_locked(self, address: str, entry_id: int) -> Entry | None:
        for entry in self._transcripts.get(address, ()):
            if entry["id"] == entry_id:
                return entry
        return None

    def append_user(self, address: str, *, actor: str, text: str, kind: str = "text") -> Entry:
        """Show what a person typed or pressed.

        Args:
            address: where it was typed (their DM, or the CIO channel).
            actor: who typed it.
            text: the text as shown.
            kind: ``text``, ``command``, ``action`` or ``form``.
        """
        with self._lock:
            return dict(self._append_locked(address, "user", text=text, actor=actor, kind=kind))

    def seed(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Restore earlier history (e.g. recent outbox rows) before serving.

        Each entry needs ``address``, ``from`` and either ``message`` or ``text``; ``id``
        and ``at`` are kept when given (ids must grow), assigned otherwise. Malformed
        entries are logged and skipped.

        Returns:
            How many entries were restored.
        """
        restored = 0
        with self._lock:
            for raw in entries:
                address = raw.get("address")
                sender = raw.get("from")
                if not isinstance(address, str) or not address.startswith(PREFIX):
                    logger.warning("console seed: skipping entry without console address")
                    continue
                if sender not in ("bot", "user") or ("message" not in raw and "text" not in raw):
                    logger.warning("console seed: skipping malformed entry for %s", address)
                    continue
                wanted = raw.get("id")
                if isinstance(wanted, int) and wanted > self._last_id:
                    self._ids = itertools.count(wanted)
                extra = {k: v for k, v in raw.items() if k not in ("id", "address", "from")}
                if "message" in extra and "view" not in extra:
                    extra["view"] = _seeded_view(extra["message"], address)
                self._append_locked(address, sender, **extra)
                restored += 1
        return restored

    # -- Helpers for the routes ----------------------------------------------------------

    def answered(self, event_id: str) -> list[Entry] | None:
        """The entries that answered a client event id, if it was handled already."""
        with self._lock:
            found = self._answered.get(event_id)
            return None if found is None else [dict(e) for e in found]

    def remember_answer(self, event_id: str, entries: list[Entry]) -> None:
        """Record the entries that answered a client event id (a retry gets them again)."""
        with self._lock:
            self._remember(self._answered, event_id, entries)

    def _append_locked(self, address: str, sender: Literal["bot", "user"], **fields: Any) -> Entry:
        entry_id = next(self._ids)
        self._last_id = entry_id
        entry: Entry = {
            "id": entry_id,
            "address": address,
            "from": sender,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        entry.update(fields)
        transcript = self._transcripts.get(address)
        if transcript is None:
            transcript = self._transcripts[address] = deque(maxlen=self._max_entries)
        transcript.append(entry)
        return entry

    @staticmethod
    def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > _MAX_REMEMBERED_KEYS:
            store.popitem(last=False)


def _bot_fields(message: OutboundMessage) -> dict[str, Any]:
    """A bot entry's message and the view the page lays out."""
    return {"message": dump_message(message), "view": dump_view(build_view(message))}


def _seeded_view(message: object, address: str) -> dict[str, object] | None:
    """The view of a restored message; None (the page says it cannot show it) if unreadable."""
    try:
        if not isinstance(message, dict):
            raise ValueError("not an object")
        return dump_view(build_view(load_message(message)))
    except ValueError:
        logger.warning("console seed: a message for %s cannot be read; not shown", address)
        return None

"""The one contract every platform adapter meets.

The outbox worker calls `send` for each stored message; the result tells it whether to
mark the message sent, retry it later (transient errors, 429 with Retry-After) or record a
permanent failure (user gone, channel archived) that admins then see in `status`.

`send` is told when an earlier attempt at the same row may already have reached the
platform (`redelivery`): the worker crashed or lost its lease between sending and recording,
or the attempt failed in a way that does not say whether the platform took the message
(a timeout, a dropped connection, a 5xx). An adapter whose platform can answer "was this
posted?" looks before posting again (Slack: message metadata, see
`bot/adapters/slack/adapter.py`); one that cannot (Teams, the console after a restart) sends
again, so the outbox is at least once there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot import messages
from bot.flows.digest_model import Digest
from bot.flows.events import CommandInvoked, InboundEvent
from bot.flows.export_chat import BuiltFile
from bot.flows.outbound import FileReply, Notice, OutboundMessage, Outgoing
from bot.flows.overview import ConversationOverview, PromptRef
from bot.flows.people import Directory, DirectoryError, Person
from bot.flows.roles import Role

# What a person sees when a click or submit could not be read (stale or forged payload).
UNREADABLE_CLICK_NOTICE = Notice(level="error", lines=(messages.UNREADABLE_CLICK,))


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    """How one delivery attempt went."""

    status: Literal["sent", "retry", "failed"]
    platform_message_id: str | None = None
    retry_after: float | None = None  # seconds the platform asked us to wait
    error: str | None = None
    # What a rate limit holds back, as an address prefix with the limited method after a
    # "|" (`slack:T0123/|chat.postMessage`); None: the adapter's `hold_scope(address)`,
    # else the whole platform. Held in the database, so every replica waits too.
    hold_scope: str | None = None
    # False: the wait is for a hold already known (`waiting`), not a new rate limit: it
    # is not held again, or each message waiting for a hold would push its end further.
    new_hold: bool = True

    @classmethod
    def sent(cls, platform_message_id: str | None = None) -> DeliveryResult:
        """Delivered."""
        return cls(status="sent", platform_message_id=platform_message_id)

    @classmethod
    def retry(
        cls, error: str, retry_after: float | None = None, hold_scope: str | None = None
    ) -> DeliveryResult:
        """A transient failure: try again later."""
        return cls(status="retry", error=error, retry_after=retry_after, hold_scope=hold_scope)

    @classmethod
    def waiting(cls, error: str, seconds: float) -> DeliveryResult:
        """Not attempted: a method it needs is still held for `seconds` (try again then)."""
        return cls(status="retry", error=error, retry_after=seconds, new_hold=False)

    @classmethod
    def failed(cls, error: str) -> DeliveryResult:
        """A permanent failure: never retried, shown to admins."""
        return cls(status="failed", error=error)


class Adapter(Protocol):
    """A chat platform, as the rest of the bot sees it.

    Optional, for platforms with rate limits (`bot.delivery.outbox`): an adapter that
    names a `paced_method` gets `pace=` (await it before each post of that method), and
    one that names `held_methods` gets `held=` (seconds each of those methods is still
    rate-limited for the address) with each `send`.
    """

    platform: str

    async def start(self) -> None:
        """Connect (or mount routes); called once at start-up."""

    async def stop(self) -> None:
        """Disconnect; called once at shut-down."""

    async def send(
        self,
        *,
        address: str,
        message: OutboundMessage,
        idempotency_key: str,
        redelivery: bool = False,
        enqueued_at: datetime | None = None,
    ) -> DeliveryResult:
        """Deliver one message to a `platform:id` address.

        Args:
            address: where to, `platform:id`.
            message: what to deliver.
            idempotency_key: the outbox row's unique key (the same on every attempt).
            redelivery: an earlier attempt at this row may have reached the platform;
                look for it there before posting, where the platform allows.
            enqueued_at: when the row was written: no earlier attempt is older.
        """
        ...


# Directories (who is in a platform's groups) are a port of the core's: re-exported here
# for the adapters that provide one.
__all__ = [
    "UNREADABLE_CLICK_NOTICE",
    "Adapter",
    "BuiltFile",
    "Core",
    "DeliveryResult",
    "Directory",
    "DirectoryError",
    "ExportFiles",
    "Person",
    "ReferenceBook",
    "StoredReference",
]


# -- The port: what an adapter may ask of the rest of the bot ----------------------------


class ExportFiles(Protocol):
    """An export's file, as the platform delivering it needs it (`bot.flows.export_chat`).

    A `FileReply` carries what to build, not the bytes: the adapter builds the file when
    it hands it out (an upload, a download), reads it, closes it, and reports that it was
    handed out, which is audited.
    """

    def now(self) -> datetime:
        """The current time (a file is handed out until its `expires_at`)."""
        ...

    async def offered_file(self, address: str, token: str) -> FileReply | None:
        """The file offered to `address` under `token` (None: none, or not theirs)."""
        ...

    async def build_file(self, reply: FileReply) -> BuiltFile:
        """The file's bytes, built now from the database; `close` it when done."""
        ...

    async def file_handed_out(self, reply: FileReply, built: BuiltFile, how: str) -> None:
        """Audit that the file went out (`how`: "slack upload", "console download"...)."""
        ...


class Core(ExportFiles, Protocol):
    """The rest of the bot, as an adapter sees it (implemented by `bot.app.Runtime`).

    Why a port: an adapter translates between its platform and the engine and nothing
    else; with this small interface it needs neither the process's wiring nor the
    database, so a platform can be added, read and tested on its own (`tests/fakes`
    implements it too). Every method that does I/O is async and runs the engine in a
    worker thread; none raises for a user's mistake (those come back as notices).
    """

    @property
    def cio_channel(self) -> str:
        """Where digests are posted (the playbook's `cio_channel` address)."""
        ...

    @property
    def organisation(self) -> str:
        """The organisation's name, for welcomes and headers."""
        ...

    def now(self) -> datetime:
        """The current time (the engine's clock)."""
        ...

    def roles(self, actor: str) -> set[Role]:
        """The roles of an identity (to decide what to *show*; the engine decides what runs)."""
        ...

    async def handle(self, event: InboundEvent) -> list[Outgoing]:
        """Run an event through the engine; its replies are already queued (except forms)."""
        ...

    async def store_command(self, event: CommandInvoked, *, dedup_key: str) -> bool:
        """Store a command to carry out after the platform's ack; False for a replay."""
        ...

    async def queue(self, replies: list[Outgoing], prefix: str) -> None:
        """Queue an adapter's own notices (an unreadable click) in the outbox."""
        ...

    async def open_prompts(self, actor: str) -> list[OutboundMessage]:
        """What `mine` shows, without its effects (a dashboard's look)."""
        ...

    async def overview(self) -> list[ConversationOverview]:
        """Every conversation's cadence, next round and progress (read-only)."""
        ...

    async def strategy(self) -> Digest:
        """The enterprise digest (`digest all`), read-only: the CIO's dashboard."""
        ...

    async def opening_prompt(self, actor: str, round_id: int) -> PromptRef | None:
        """Where the round's opening prompt to `actor` was delivered, if it was."""
        ...

    def welcome_writer(
        self, address: str, welcome: Notice, *, cause: str, personal: bool
    ) -> Callable[[Any], None]:
        """What to write, in the install's own transaction, when a chat installs the bot.

        The welcome, then (in a person's own chat) what `mine` would show if a question is
        open. Pass it to the reference store's `save`, which calls it only for a new
        install, so a redelivered install activity welcomes nobody twice.
        """
        ...

    def outbox_changed(self) -> None:
        """Something was queued outside `handle` (a welcome): deliver it now."""
        ...


class StoredReference(Protocol):
    """What the reference store knows of an address (see `ReferenceBook.lookup`)."""

    @property
    def reference(self) -> dict[str, Any] | None:
        """The serialised reference; None if the bot never saw this address."""
        ...

    @property
    def installed(self) -> bool:
        """False once the bot was removed there or refused for good."""
        ...

    @property
    def reason(self) -> str | None:
        """Why it cannot be reached, when it cannot."""
        ...

    @property
    def since(self) -> datetime | None:
        """When that was last recorded."""
        ...


class ReferenceBook(Protocol):
    """Stored references for proactive messages (`storage.references.References`)."""

    def save(
        self,
        address: str,
        kind: str,
        reference: dict[str, Any],
        on_install: Callable[[Any], None] | None = None,
    ) -> bool:
        """Insert or refresh a reference; True for a new install."""
        ...

    def mark_unreachable(self, address: str, reason: str) -> None:
        """Stop delivering to an address until the bot is added there again."""
        ...

    def lookup(self, address: str) -> StoredReference:
        """What is stored for an address."""
        ...

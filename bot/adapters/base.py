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

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot import messages
from bot.flows.outbound import Notice, OutboundMessage

# What a person sees when a click or submit could not be read (stale or forged payload).
UNREADABLE_CLICK_NOTICE = Notice(level="error", lines=(messages.UNREADABLE_CLICK,))


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    """How one delivery attempt went."""

    status: Literal["sent", "retry", "failed"]
    platform_message_id: str | None = None
    retry_after: float | None = None  # seconds the platform asked us to wait
    error: str | None = None

    @classmethod
    def sent(cls, platform_message_id: str | None = None) -> DeliveryResult:
        """Delivered."""
        return cls(status="sent", platform_message_id=platform_message_id)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> DeliveryResult:
        """A transient failure: try again later."""
        return cls(status="retry", error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str) -> DeliveryResult:
        """A permanent failure: never retried, shown to admins."""
        return cls(status="failed", error=error)


class Adapter(Protocol):
    """A chat platform, as the rest of the bot sees it."""

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


# -- Directories: who is in a platform's groups, and who they are --------------------------


@dataclass(frozen=True, kw_only=True)
class Person:
    """Someone a chat directory knows, as the bot needs them.

    Attributes:
        identity: their engine identity and address (`slack:U0123ABCD`).
        name: the name people know them by, if the directory has one.
        timezone: their IANA time zone (`Europe/Berlin`), if the directory has one.
        active: False for a deactivated (deleted) account: never prompted.
        bot: True for a bot or app user: never prompted.
    """

    identity: str
    name: str | None = None
    timezone: str | None = None
    active: bool = True
    bot: bool = False

    @property
    def promptable(self) -> bool:
        """Whether this is an active human, the only kind of member a round asks."""
        return self.active and not self.bot


class DirectoryError(Exception):
    """A directory could not answer now (outage, 429, missing scope, unknown source).

    The caller keeps what it knew before: membership read earlier stays, so a round never
    fails to open because a directory is down. The message says what went wrong, for the
    log.
    """


class Directory(Protocol):
    """A chat platform's people directory, as the membership refresh sees it (optional).

    Why a port of its own, next to `Adapter`: the engine must know no platform, yet a
    playbook group can be defined as a Slack user group or channel, and an `email:` member
    must become the chat user who answers. The refresh (`bot.flows.directory`) asks these
    three questions of whichever platform a source or address names, and stores the
    answers; only the platform's adapter knows the API calls behind them, their pagination
    and their rate limits. An adapter without a directory simply does not provide one.

    Every method raises `DirectoryError` when the platform cannot answer now; "no such
    person" is an answer (None), not an error.
    """

    platform: str

    @property
    def resolves_email(self) -> bool:
        """Whether `find_email` can be asked (e.g. a workspace token is configured)."""
        ...

    async def members(self, source: str) -> list[str]:
        """The identities of everyone in a playbook source (`slack:usergroup:S…`).

        The list may include bots and deactivated accounts; `profile` tells them apart.
        """
        ...

    async def find_email(self, email: str) -> Person | None:
        """The person with this email address (without `email:`), or None if nobody has it."""
        ...

    async def profile(self, identity: str) -> Person | None:
        """The person behind an identity of this platform, or None if there is no such user."""
        ...

"""The one contract every platform adapter meets.

The outbox worker calls `send` for each stored message; the result tells it whether to
mark the message sent, retry it later (transient errors, 429 with Retry-After) or record a
permanent failure (user gone, channel archived) that admins then see in `status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.flows.outbound import OutboundMessage


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
        self, *, address: str, message: OutboundMessage, idempotency_key: str
    ) -> DeliveryResult:
        """Deliver one message to a `platform:id` address."""
        ...

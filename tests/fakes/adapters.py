"""A recording, scriptable platform adapter for delivery tests."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from bot.adapters.base import DeliveryResult
from bot.flows.outbound import OutboundMessage

HANG: Literal["hang"] = "hang"
ScriptItem = DeliveryResult | Exception | Literal["hang"]


class RecordingAdapter:
    """An `Adapter` that records every call and answers from a script.

    Each call to `send` takes the next scripted item: a `DeliveryResult` is returned, an
    exception is raised, and `HANG` blocks forever (a process that dies mid-send). When
    the script is empty the message is sent. `calls` holds every attempt, `sent` only the
    deliveries that succeeded, both as (address, message, idempotency key); `redeliveries`
    the keys of the calls the worker flagged as redeliveries. `on_sent`, if set, is called
    with the number of successful deliveries so far, right after each one (before `send`
    returns), e.g. to cut the database at a chosen moment; with `hang_after_send` set, a
    delivery is recorded and then never answered (the platform took it, the process died).
    """

    def __init__(self, platform: str, *, delay: float = 0.0) -> None:
        self.platform = platform
        self.delay = delay
        self.calls: list[tuple[str, OutboundMessage, str]] = []
        self.sent: list[tuple[str, OutboundMessage, str]] = []
        self.sent_times: list[float] = []  # time.monotonic() of each successful send
        self.redeliveries: list[str] = []
        self.enqueued: dict[str, datetime | None] = {}  # key -> enqueued_at of its last call
        self.on_sent: Callable[[int], None] | None = None
        # Deliver, then never answer (the process dies after the platform took it).
        self.hang_after_send = False
        self._script: deque[ScriptItem] = deque()
        self._by_address: dict[str, deque[ScriptItem]] = {}

    def script(self, items: list[ScriptItem], *, address: str | None = None) -> None:
        """Queue results for the next calls (to `address` only, if given)."""
        queue = self._script if address is None else self._by_address.setdefault(address, deque())
        queue.extend(items)

    @property
    def sent_keys(self) -> list[str]:
        """Idempotency keys of successful deliveries, in order."""
        return [key for _, _, key in self.sent]

    async def start(self) -> None:
        """Nothing to connect."""

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
        """Record the call and answer from the script."""
        self.calls.append((address, message, idempotency_key))
        self.enqueued[idempotency_key] = enqueued_at
        if redelivery:
            self.redeliveries.append(idempotency_key)
        await asyncio.sleep(self.delay)
        queue = self._by_address.get(address)
        item: ScriptItem | None = None
        if queue:
            item = queue.popleft()
        elif self._script:
            item = self._script.popleft()
        if item == HANG:
            await asyncio.Event().wait()
        if isinstance(item, Exception):
            raise item
        if isinstance(item, DeliveryResult) and item.status != "sent":
            return item
        self.sent.append((address, message, idempotency_key))
        self.sent_times.append(time.monotonic())
        if self.on_sent is not None:
            self.on_sent(len(self.sent))
        if self.hang_after_send:
            await asyncio.Event().wait()
        if isinstance(item, DeliveryResult):
            return item
        return DeliveryResult.sent(f"{self.platform}-{len(self.sent)}")

"""Delivery: the durable outbox every outbound message goes through.

Callers `enqueue` a message in the same transaction as the change that caused it; the
`OutboxWorker` delivers it through the platform's adapter, with retries, rate limits and
per-destination ordering (see `bot.delivery.outbox`).
"""

from __future__ import annotations

from bot.delivery.outbox import OutboxWorker, backoff_seconds, enqueue, failures, pending_count

__all__ = ["OutboxWorker", "backoff_seconds", "enqueue", "failures", "pending_count"]

"""Prometheus metrics served at `GET /metrics`.

A private registry (not the global default) so tests can build several apps in one process.
Database-derived gauges are read at scrape time, which keeps them right across replicas.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select

from storage import models
from storage.db import Database


class Metrics:
    """The bot's metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "strategybot_inbound_events",
            "Inbound events handled, by platform and kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.errors = Counter(
            "strategybot_handler_errors", "Inbound events that failed", registry=self.registry
        )
        self.open_rounds = Gauge(
            "strategybot_open_rounds", "Rounds currently open", registry=self.registry
        )
        self.outbox = Gauge(
            "strategybot_outbox_messages",
            "Outbox messages by status",
            ["status"],
            registry=self.registry,
        )

    def render(self, db: Database) -> bytes:
        """Refresh the database gauges and return the exposition text."""
        with db.transaction() as session:
            self.open_rounds.set(
                session.scalar(
                    select(func.count())
                    .select_from(models.Round)
                    .where(models.Round.status == "open")
                )
                or 0
            )
            counts = dict(
                session.execute(
                    select(models.OutboxMessage.status, func.count()).group_by(
                        models.OutboxMessage.status
                    )
                ).all()
            )
        for status in ("pending", "sending", "sent", "failed"):
            self.outbox.labels(status=status).set(counts.get(status, 0))
        return generate_latest(self.registry)

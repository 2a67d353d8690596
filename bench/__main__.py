"""Run the benchmarks: `python -m bench [--database-url URL] [--quick]`.

Three figures, each beside a floor measured in the same run on the same database:
- answers ingested per second through `Engine.handle` vs raw INSERTs of answer rows;
- digest build time for 10,000 answers vs one raw SQL aggregate over the same rows;
- fan-out of one round to 5,000 participants through the outbox (open + deliver) vs raw
  INSERTs of 5,000 outbox rows.
The ratio says how much the product's bookkeeping (dedup, validation, transactions,
leases) costs over the bare database; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from bot.adapters.base import DeliveryResult
from bot.delivery.outbox import OutboxWorker
from bot.flows.digest import build_digest
from bot.flows.engine import Engine
from bot.flows.events import CommandInvoked, TextMessage
from bot.flows.outbound import OutboundMessage
from bot.flows.sync import sync_playbook
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database
from storage.migrate import upgrade

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class NullAdapter:
    """Accepts every message at once: the far side of the network costs nothing here."""

    platform = "console"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(
        self,
        *,
        address: str,
        message: OutboundMessage,
        idempotency_key: str,
        redelivery: bool = False,
        enqueued_at: datetime | None = None,
    ) -> DeliveryResult:
        return DeliveryResult.sent()


def playbook(members: int) -> Playbook:
    return Playbook.model_validate(
        {
            "cio_channel": "console:#cio",
            "roles": {"cio": ["console:cio"], "admins": ["console:admin"]},
            "groups": {
                "all": {
                    "title": "Everyone",
                    "members": [
                        {"id": f"console:p{i}", "name": f"Person {i}"} for i in range(members)
                    ],
                }
            },
            "conversations": [
                {
                    "key": "social-media",
                    "title": "Social Media",
                    "purpose": "Brand and customer engagement.",
                    "groups": ["all"],
                    "cadence": "every monday at 10:00",
                    "questions": [
                        {"id": "hearing", "text": "What are you hearing?"},
                        {
                            "id": "ext",
                            "text": "External maturity?",
                            "type": "rating",
                            "maturity": "external",
                        },
                    ],
                }
            ],
        }
    )


def fresh_db(url: str | None, workdir: Path, name: str) -> Database:
    if url is None:
        url = f"sqlite:///{workdir / name}.db"
    else:
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.dispose()
    upgrade(url)
    return Database(url)


def engine_for(db: Database, members: int) -> Engine:
    pb = playbook(members)
    with db.transaction() as s:
        sync_playbook(s, pb, now=NOW)
    return Engine(db=db, playbook=pb, clock=lambda: NOW)


def ratio(label: str, figure: float, floor: float, unit: str) -> None:
    print(
        f"{label:<46} {figure:>12.1f} {unit:<10} floor {floor:>12.1f}   ratio {figure / floor:6.2f}"
    )


def bench_ingest(url: str | None, workdir: Path, n: int) -> None:
    db = fresh_db(url, workdir, "ingest")
    engine = engine_for(db, n)
    engine.handle(CommandInvoked(actor="console:admin", text="ask social-media"))
    start = time.perf_counter()
    for i in range(n):
        engine.handle(TextMessage(actor=f"console:p{i}", text=f"answer {i}", event_id=f"E{i}"))
    product = time.perf_counter() - start
    with db.transaction() as s:
        pids = s.scalars(select(models.Participant.id)).all()
    start = time.perf_counter()
    for i, pid in enumerate(pids[:n]):
        with db.transaction() as s:
            s.execute(
                insert(models.Answer).values(
                    participant_id=pid,
                    question_id="floor",
                    value=f"x{i}",
                    skipped=False,
                    revision=1,
                    answered_at=NOW,
                )
            )
    floor = time.perf_counter() - start
    ratio("answers ingested per second (1 tx each)", n / product, n / floor, "answers/s")
    db.dispose()


def bench_digest(url: str | None, workdir: Path, n: int) -> None:
    db = fresh_db(url, workdir, "digest")
    engine = engine_for(db, n // 2)
    engine.handle(CommandInvoked(actor="console:admin", text="ask social-media"))
    with db.transaction() as s:
        pids = s.scalars(select(models.Participant.id)).all()
        rows: list[dict[str, Any]] = []
        for i, pid in enumerate(pids):
            rows.append(
                {
                    "participant_id": pid,
                    "question_id": "hearing",
                    "value": f"text {i}",
                    "skipped": False,
                    "revision": 1,
                    "answered_at": NOW,
                }
            )
            rows.append(
                {
                    "participant_id": pid,
                    "question_id": "ext",
                    "value": 1 + i % 5,
                    "skipped": False,
                    "revision": 1,
                    "answered_at": NOW,
                }
            )
        s.execute(insert(models.Answer), rows)
    runs = 5
    start = time.perf_counter()
    for _ in range(runs):
        with db.transaction() as s:
            build_digest(s, scope="social-media", organisation="Bench", now=NOW)
    product = (time.perf_counter() - start) / runs
    start = time.perf_counter()
    for _ in range(runs):
        with db.transaction() as s:
            s.execute(
                select(models.Answer.question_id, func.count(), func.count(models.Answer.value))
                .join(models.Participant)
                .group_by(models.Answer.question_id)
            ).all()
            s.execute(
                select(models.Answer.value, models.Participant.group_key).join(models.Participant)
            ).all()
    floor = (time.perf_counter() - start) / runs
    ratio(f"digest build for {len(rows):,} answers", product * 1000, floor * 1000, "ms")
    db.dispose()


def bench_fanout(url: str | None, workdir: Path, n: int) -> None:
    db = fresh_db(url, workdir, "fanout")
    engine = engine_for(db, n)
    # The product's defaults: each participant is its own destination, so pacing never waits.
    worker = OutboxWorker(db, {"console": NullAdapter()}, clock=lambda: NOW)
    start = time.perf_counter()
    engine.handle(CommandInvoked(actor="console:admin", text="ask social-media"))

    async def drain() -> None:
        while await worker.drain_once():
            pass

    asyncio.run(drain())
    product = time.perf_counter() - start
    with db.transaction() as s:
        sent = s.scalar(
            select(func.count())
            .select_from(models.OutboxMessage)
            .where(models.OutboxMessage.status == "sent")
        )
    assert sent == n + 1, sent
    start = time.perf_counter()
    with db.transaction() as s:
        s.execute(
            insert(models.OutboxMessage),
            [
                {
                    "idempotency_key": f"floor:{i}",
                    "platform": "console",
                    "destination": f"console:p{i}",
                    "payload": {"kind": "notice", "lines": ["x"]},
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                }
                for i in range(n)
            ],
        )
    floor = time.perf_counter() - start
    ratio(f"fan-out to {n:,} participants (open + deliver)", product, floor, "s")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        backend = "postgresql" if args.database_url else "sqlite"
        print(f"strategy-bot benchmarks on {backend} (figure vs floor measured in this run)")
        bench_ingest(args.database_url, workdir, 2000 // scale)
        bench_digest(args.database_url, workdir, 10_000 // scale)
        bench_fanout(args.database_url, workdir, 5000 // scale)


if __name__ == "__main__":
    main()

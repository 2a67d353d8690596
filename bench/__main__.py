"""Run the benchmarks: `python -m bench [--database-url URL] [--quick]`.

Three figures, each beside a floor measured in the same run on the same database. Each
floor does the same work with the same guarantees the simplest correct way (plain SQL on a
bare connection), so the ratio is the cost of the product's code, not of work the floor
skips:
- answers ingested per second through `Engine.handle` vs the same five statements per
  answer in one transaction (event-id dedup insert, participant lookup, answer upsert,
  participant progress update, outbox reply insert);
- digest build time for 10,000 answers vs one raw SQL aggregate over the same rows;
- fan-out of one round to 5,000 participants through the outbox (open + deliver) vs bulk
  INSERTs of the round's participants and pending outbox rows, delivered by a minimal
  claim / mark-sent loop (a lease per claim, `FOR UPDATE SKIP LOCKED` on PostgreSQL) to
  the same accepting adapter.
Absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, bindparam, func, insert, select, text
from sqlalchemy.engine import Connection

from bot.adapters.base import DeliveryResult
from bot.delivery.outbox import OutboxWorker
from bot.flows.digest import build_digest
from bot.flows.engine import Engine
from bot.flows.events import CommandInvoked, TextMessage
from bot.flows.outbound import OutboundMessage, load_message
from bot.flows.sync import sync_playbook
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database
from storage.migrate import upgrade
from storage.models import UTCDateTime

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


# Typed parameters for the floors' plain SQL: the same JSON and UTC timestamp encodings as
# the product's columns, so the floors write rows the product could read.
NOW_PARAM = bindparam("now", type_=UTCDateTime())

INGEST_STATEMENTS = {
    "dedup": text(
        "INSERT INTO inbound_events (platform, event_id, received_at)"
        " VALUES (:platform, :event_id, :now) ON CONFLICT (platform, event_id) DO NOTHING"
    ).bindparams(NOW_PARAM),
    "participant": text(
        "SELECT p.id, p.round_id, p.current_question FROM participants p"
        " JOIN members m ON m.id = p.member_id JOIN rounds r ON r.id = p.round_id"
        " WHERE m.identity = :actor AND r.status = 'open'"
        " AND p.status IN ('pending', 'answering')"
    ),
    "answer": text(
        "INSERT INTO answers (participant_id, question_id, value, skipped, revision, answered_at)"
        " VALUES (:pid, :question, :value, false, 1, :now)"
        " ON CONFLICT (participant_id, question_id) DO UPDATE SET value = excluded.value,"
        " skipped = excluded.skipped, revision = answers.revision + 1,"
        " answered_at = excluded.answered_at"
    ).bindparams(NOW_PARAM, bindparam("value", type_=JSON())),
    "progress": text(
        "UPDATE participants SET status = 'answering', current_question = :next, shown_at = :now"
        " WHERE id = :pid"
    ).bindparams(NOW_PARAM),
    "reply": text(
        "INSERT INTO outbox (idempotency_key, platform, destination, payload, status, attempts,"
        " next_attempt_at, round_id, created_at)"
        " VALUES (:key, 'console', :destination, :payload, 'pending', 0, :now, :round_id, :now)"
        " ON CONFLICT (idempotency_key) DO NOTHING"
    ).bindparams(NOW_PARAM, bindparam("payload", type_=JSON())),
}


def ingest_floor(
    conn: Connection, actor: str, value: str, event_id: str, reply: dict[str, Any]
) -> None:
    """One answer the simplest correct way: the engine's reads and writes, one transaction."""
    with conn.begin():
        seen = conn.execute(
            INGEST_STATEMENTS["dedup"], {"platform": "console", "event_id": event_id, "now": NOW}
        )
        if seen.rowcount == 0:
            return  # a redelivered event: already handled
        row = conn.execute(INGEST_STATEMENTS["participant"], {"actor": actor}).one()
        conn.execute(
            INGEST_STATEMENTS["answer"],
            {"pid": row.id, "question": "hearing", "value": value, "now": NOW},
        )
        conn.execute(
            INGEST_STATEMENTS["progress"],
            {"pid": row.id, "next": row.current_question + 1, "now": NOW},
        )
        conn.execute(
            INGEST_STATEMENTS["reply"],
            {
                "key": f"reply:console:{event_id}:0",
                "destination": actor,
                "payload": reply,
                "round_id": row.round_id,
                "now": NOW,
            },
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
        # The engine's own reply (the next question's prompt), so the floor writes as much.
        reply: dict[str, Any] = s.scalars(
            select(models.OutboxMessage.payload).where(
                models.OutboxMessage.idempotency_key == "reply:console:E0:0"
            )
        ).one()
    db.dispose()
    # The floor answers the same round on a database of its own, set up the same way.
    db = fresh_db(url, workdir, "ingest-floor")
    engine = engine_for(db, n)
    engine.handle(CommandInvoked(actor="console:admin", text="ask social-media"))
    with db.engine.connect() as conn:
        start = time.perf_counter()
        for i in range(n):
            ingest_floor(
                conn, f"console:p{i}", f"answer {i}", f"E{i}", json.loads(json.dumps(reply))
            )
        floor = time.perf_counter() - start
    with db.transaction() as s:
        answers = s.scalar(select(func.count()).select_from(models.Answer))
    assert answers == n, answers
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


def open_floor(conn: Connection, prompt: dict[str, Any], others: dict[str, dict[str, Any]]) -> int:
    """Open the round the simplest correct way, in one transaction.

    Its row, its participants and their prompts, pending in the outbox under the product's
    idempotency keys: what `ask` writes, without the product's chunking and checks.
    """
    with conn.begin():
        conversation = conn.execute(
            text("SELECT id, spec FROM conversations WHERE key = 'social-media'")
        ).one()
        round_id: int = conn.execute(
            text(
                'INSERT INTO rounds (conversation_id, number, scheduled_for, status, "trigger",'
                " opened_by, opened_at, deadline, agenda)"
                " VALUES (:cid, 1, :now, 'open', 'manual', 'console:admin', :now, :now, :agenda)"
                " RETURNING id"
            ).bindparams(NOW_PARAM, bindparam("agenda", type_=JSON())),
            {"cid": conversation.id, "now": NOW, "agenda": conversation.spec},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO participants (round_id, member_id, group_key, status,"
                " current_question, reminders_sent, prompt_due_at)"
                " SELECT :rid, gm.member_id, g.key, 'pending', 0, 0, :now FROM group_members gm"
                " JOIN groups g ON g.id = gm.group_id WHERE g.key = 'all'"
            ).bindparams(NOW_PARAM),
            {"rid": round_id, "now": NOW},
        )
        members: list[str] = list(
            conn.execute(
                text(
                    "SELECT m.identity FROM participants p JOIN members m ON m.id = p.member_id"
                    " WHERE p.round_id = :rid ORDER BY p.id"
                ),
                {"rid": round_id},
            ).scalars()
        )
        outbox = text(
            "INSERT INTO outbox (idempotency_key, platform, destination, payload, status,"
            " attempts, next_attempt_at, round_id, created_at)"
            " VALUES (:key, 'console', :destination, :payload, 'pending', 0, :now, :rid, :now)"
        ).bindparams(NOW_PARAM, bindparam("payload", type_=JSON()))
        rows = [
            {
                "key": f"prompt:{round_id}:{identity}",
                "destination": identity,
                "payload": {**prompt, "round_id": round_id},
                "rid": round_id,
                "now": NOW,
            }
            for identity in members
        ]
        rows += [
            {
                "key": f"opened:{round_id}:{destination}",
                "destination": destination,
                "payload": payload,
                "rid": round_id,
                "now": NOW,
            }
            for destination, payload in others.items()
        ]
        conn.execute(outbox, rows)
    return len(rows)


async def deliver_floor(conn: Connection, adapter: NullAdapter, postgres: bool) -> int:
    """Deliver every pending row the simplest correct way: claim, send, mark sent.

    A batch is claimed under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas
    could share the table), sent, and marked sent; a worker that died between the two
    would leave its rows for the lease to free, so the guarantee is the product's.
    """
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    claim = (
        text(
            "SELECT id, destination, payload, idempotency_key FROM outbox"
            " WHERE status = 'pending' AND next_attempt_at <= :now ORDER BY id LIMIT 100" + lock
        )
        .bindparams(NOW_PARAM)
        .columns(payload=JSON())
    )
    lease = text(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = :lease"
        " WHERE id IN :ids"
    ).bindparams(bindparam("lease", type_=UTCDateTime()), bindparam("ids", expanding=True))
    sent = text(
        "UPDATE outbox SET status = 'sent', sent_at = :now, lease_until = NULL"
        " WHERE id IN :ids AND status = 'sending'"
    ).bindparams(NOW_PARAM, bindparam("ids", expanding=True))
    delivered = 0
    while True:
        with conn.begin():
            rows = conn.execute(claim, {"now": NOW}).all()
            if not rows:
                return delivered
            ids = [r.id for r in rows]
            conn.execute(lease, {"lease": NOW + timedelta(minutes=5), "ids": ids})
        results = await asyncio.gather(
            *(
                adapter.send(
                    address=r.destination,
                    message=load_message(r.payload),
                    idempotency_key=r.idempotency_key,
                )
                for r in rows
            )
        )
        with conn.begin():
            conn.execute(
                sent,
                {
                    "now": NOW,
                    "ids": [
                        r.id for r, ok in zip(rows, results, strict=True) if ok.status == "sent"
                    ],
                },
            )
        delivered += len(rows)


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
        # A prompt as the product wrote it, so the floor's rows are as large.
        prompt: dict[str, Any] = s.scalars(
            select(models.OutboxMessage.payload)
            .where(models.OutboxMessage.destination == "console:p0")
            .limit(1)
        ).one()
        # The CIO channel's "opened" notice and the admin's reply, written with the prompts.
        others = {
            row.destination: row.payload
            for row in s.execute(
                select(models.OutboxMessage.destination, models.OutboxMessage.payload).where(
                    models.OutboxMessage.destination.in_(["console:#cio", "console:admin"])
                )
            )
        }
    assert sent == n + 2, sent
    db.dispose()
    # The floor opens and delivers the same round on a database of its own, set up the same way.
    db = fresh_db(url, workdir, "fanout-floor")
    engine_for(db, n)
    with db.engine.connect() as conn:
        start = time.perf_counter()
        written = open_floor(conn, prompt, others)
        delivered = asyncio.run(deliver_floor(conn, NullAdapter(), db.dialect == "postgresql"))
        floor = time.perf_counter() - start
    assert written == delivered == n + 2, (written, delivered)
    with db.transaction() as s:
        sent = s.scalar(
            select(func.count())
            .select_from(models.OutboxMessage)
            .where(models.OutboxMessage.status == "sent")
        )
    assert sent == n + 2, sent
    ratio(f"fan-out to {n:,} participants (open + deliver)", product * 1000, floor * 1000, "ms")
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

"""Click acks while a 50,000-person round opens and closes: `python -m bench.rounds`.

What Slack waits for when someone clicks a rating button is `Engine.handle` of the answer
(the answer is stored and committed before the ack). This measures that time for clicks
arriving steadily (one every 20 ms, from their own threads, as the server's worker threads
run them) in four phases on the same SQLite file:

- **floor**: the clicks alone, on an idle database (the same clickers, the same answers);
- **open**: while an admin's `ask` opens a round for 50,000 other people (every
  participant and prompt written, in chunks of `bot.flows.rounds.CHUNK`);
- **deliver**: while the outbox worker (`bot.delivery.outbox`, its default concurrency)
  delivers those prompts to an adapter that takes each at once, as fast as the database
  lets it claim and record them (the worst case for the clicks: no network to wait on);
- **close**: while the admin's `close` closes it (50,000 "it closed" notices, then the
  digest).

It prints p50/p99 per phase beside the floor, with their ratios, and how long the open
and the close took. The clickers answer another conversation (a round of their own that
is already open), so each click is a real first answer, never a stale one.

    .venv/bin/python -m bench.rounds              # 50,000 people, about ten minutes
    .venv/bin/python -m bench.rounds --people 5000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from bench.__main__ import NullAdapter
from bot.delivery.outbox import OutboxWorker
from bot.flows.engine import Engine
from bot.flows.events import AnswerGiven, CommandInvoked
from bot.flows.sync import sync_playbook
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database
from storage.migrate import upgrade

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLICK_EVERY = 0.02  # seconds between two clicks
CLICKERS = 40_000  # people who click, one click each (the delivery phase takes minutes)
ADMIN = "console:admin"


def playbook() -> Playbook:
    """Two conversations: `big` (its group filled in bulk below) and `clicks`."""
    rating = {"id": "ext", "text": "External maturity?", "type": "rating"}
    return Playbook.model_validate(
        {
            "cio_channel": "console:#cio",
            "roles": {"cio": ["console:cio"], "admins": [ADMIN]},
            "groups": {
                "everyone": {"title": "Everyone", "members": []},
                "clickers": {"title": "Clickers", "members": []},
            },
            "conversations": [
                {
                    "key": "big",
                    "title": "Social Networking",
                    "purpose": "Internal collaboration.",
                    "groups": ["everyone"],
                    "cadence": "every monday at 10:00",
                    "questions": [{"id": "hearing", "text": "What are you hearing?"}, rating],
                },
                {
                    "key": "clicks",
                    "title": "Social Media",
                    "purpose": "Brand and customer engagement.",
                    "groups": ["clickers"],
                    "cadence": "every monday at 10:00",
                    "questions": [rating, {"id": "hearing", "text": "What are you hearing?"}],
                },
            ],
        }
    )


def add_members(db: Database, group: str, prefix: str, count: int) -> list[str]:
    """Fill a group in bulk, as a chat directory would (`sources:`)."""
    identities = [f"console:{prefix}{i}" for i in range(count)]
    with db.transaction() as s:
        group_id = s.scalar(select(models.Group.id).where(models.Group.key == group))
        s.execute(
            insert(models.Member),
            [{"identity": ident, "display_name": ident} for ident in identities],
        )
        ids = s.scalars(
            select(models.Member.id).where(models.Member.identity.like(f"console:{prefix}%"))
        ).all()
        s.execute(
            insert(models.GroupMember),
            [{"group_id": group_id, "member_id": i, "source": "bench"} for i in ids],
        )
    return identities


class Clicker:
    """Clicks a rating button every `CLICK_EVERY` s, each from a thread of its own."""

    def __init__(self, engine: Engine, round_id: int, actors: list[str]) -> None:
        self.engine, self.round_id, self.actors = engine, round_id, actors
        self.latencies: list[float] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _click(self, actor: str, n: int) -> None:
        start = time.perf_counter()
        self.engine.handle(
            AnswerGiven(
                actor=actor,
                round_id=self.round_id,
                question_id="ext",
                value=str(1 + n % 5),
                event_id=f"click-{actor}",
            )
        )
        with self._lock:
            self.latencies.append(time.perf_counter() - start)

    def run_while(self, busy: Callable[[], bool], minimum: int) -> list[float]:
        """Click until `busy()` turns false (and at least `minimum` times)."""
        self.latencies = []
        n = 0
        while (busy() or n < minimum) and self.actors:
            actor = self.actors.pop()
            t = threading.Thread(target=self._click, args=(actor, n))
            t.start()
            self._threads.append(t)
            n += 1
            time.sleep(CLICK_EVERY)
        for t in self._threads:
            t.join()
        self._threads = []
        return self.latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def during(clicker: Clicker, work: Callable[[], object], minimum: int) -> tuple[list[float], float]:
    """Clicks while `work` runs in another thread; (latencies, seconds the work took)."""
    took: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        work()
        took.append(time.perf_counter() - start)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.05)  # the work has begun
    latencies = clicker.run_while(thread.is_alive, minimum)
    thread.join()
    return latencies, took[0]


def big_prompts_unsent(db: Database) -> int:
    """The big round's prompts not yet delivered."""
    with db.transaction() as s:
        return len(
            s.scalars(
                select(models.OutboxMessage.id).where(
                    models.OutboxMessage.idempotency_key.like("prompt:%"),
                    models.OutboxMessage.destination.like("console:p%"),
                    models.OutboxMessage.status != "sent",
                )
            ).all()
        )


def deliver_big_round(db: Database, worker: OutboxWorker) -> None:
    """Run the worker until every prompt of the big round is delivered.

    The clicks' own replies go out meanwhile too (they share the worker), but the phase
    ends with the big round's prompts, not when the clicks stop producing replies.
    """

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        while await asyncio.to_thread(big_prompts_unsent, db):  # noqa: ASYNC110 - the database says
            await asyncio.sleep(1.0)
        stop.set()
        worker.notify()
        await task

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rounds", description=__doc__)
    parser.add_argument("--people", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'rounds.db'}"
        upgrade(url)
        db = Database(url)
        pb = playbook()
        with db.transaction() as s:
            sync_playbook(s, pb, now=NOW)
        add_members(db, "everyone", "p", args.people)
        clickers = add_members(db, "clickers", "c", CLICKERS)
        engine = Engine(db=db, playbook=pb, clock=lambda: NOW)
        engine.handle(CommandInvoked(actor=ADMIN, text="ask clicks"))
        with db.transaction() as s:
            round_id = s.scalar(select(models.Round.id))
            # The clickers saw their prompts long ago: only the big round's are delivered.
            s.execute(
                update(models.OutboxMessage)
                .where(models.OutboxMessage.destination.like("console:c%"))
                .values(status="sent")
            )
        assert round_id is not None
        clicker = Clicker(engine, round_id, clickers)
        floor = clicker.run_while(lambda: False, 300)
        opening, open_s = during(
            clicker, lambda: engine.handle(CommandInvoked(actor=ADMIN, text="ask big")), 50
        )
        worker = OutboxWorker(
            db, {"console": NullAdapter()}, clock=lambda: NOW, per_destination_interval=0.0
        )
        delivering, deliver_s = during(clicker, lambda: deliver_big_round(db, worker), 50)
        with db.transaction() as s:
            delivered = len(
                s.scalars(
                    select(models.OutboxMessage.id).where(
                        models.OutboxMessage.idempotency_key.like("prompt:%"),
                        models.OutboxMessage.status == "sent",
                    )
                ).all()
            )
        assert delivered >= args.people, delivered  # every prompt of the big round went out
        closing, close_s = during(
            clicker, lambda: engine.handle(CommandInvoked(actor=ADMIN, text="close big")), 50
        )
        with db.transaction() as s:
            prompts = len(
                s.scalars(
                    select(models.OutboxMessage.id).where(
                        models.OutboxMessage.idempotency_key.like("prompt:%")
                    )
                ).all()
            )
        assert prompts == args.people + CLICKERS, prompts
        print(
            f"click acks on SQLite, a round of {args.people:,} people (open {open_s:.1f} s,"
            f" its {args.people:,} prompts delivered in {deliver_s:.1f} s, close {close_s:.1f} s)"
        )
        f50, f99 = pct(floor, 0.5), pct(floor, 0.99)
        print(f"{'phase':<28} {'clicks':>6} {'p50 ms':>8} {'ratio':>6} {'p99 ms':>8} {'ratio':>6}")
        print(f"{'floor (idle database)':<28} {len(floor):>6} {f50:>8.1f} {'':>6} {f99:>8.1f}")
        phases = (
            ("while it opens", opening),
            ("while it is delivered", delivering),
            ("while it closes", closing),
        )
        for label, lat in phases:
            p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
            print(
                f"{label:<28} {len(lat):>6} {p50:>8.1f} {p50 / f50:>6.2f}"
                f" {p99:>8.1f} {p99 / f99:>6.2f}"
            )
        every = floor + opening + delivering + closing
        print(f"(mean of all clicks {statistics.mean(every) * 1000:.1f} ms)")
        db.dispose()


if __name__ == "__main__":
    main()

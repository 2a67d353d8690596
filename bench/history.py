"""A digest over 50 rounds and 100,000 answers: build time beside a raw SQL floor, and limits.

Run `python -m bench.history` (SQLite in a temporary directory) or with `--database-url
postgresql://...` (its public schema is reset: give it a scratch database); `--quick` uses
a tenth of the people. Not part of `make test`: timing belongs here.

What it measures, on one conversation with 50 closed rounds of 1,000 people each answering
a maturity rating and a measure (100,000 answers) plus a text question:

- `digest <conversation> rounds 50` built by `bot.flows.digest.build_digest` (the rounds,
  their participation, every trend, the recurring choices, the newest round's roll-up);
- the floor: the same statements (rounds, participant counts, the measured answers, the
  newest two rounds' people and answers) run as plain SQL on a bare connection, with the
  means and medians computed in a loop;
- `history <conversation>` (the history read alone);
- the range digest laid out for Slack and Teams: how many messages and cards, and that
  each stays within its platform's limits (50 blocks and 2 charts per Slack message, the
  Teams card budget).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

import bench.__main__ as bench_main
from bot.adapters.slack.render import layout_view as slack_layout
from bot.adapters.teams.cards import CARD_BUDGET, card_size
from bot.adapters.teams.cards import layout_view as teams_layout
from bot.flows.digest import build_digest
from bot.flows.history import closed_rounds
from bot.presentation.digest import digest_view
from storage import models
from storage.db import Database

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
QUESTIONS = [
    {"id": "hearing", "text": "What are you hearing?", "type": "text", "required": True},
    {
        "id": "maturity-external",
        "text": "How mature is our customer-facing social work?",
        "label": "External maturity",
        "type": "rating",
        "required": True,
        "maturity": "external",
    },
    {
        "id": "community-share",
        "text": "What share of questions did the community answer?",
        "label": "Community answers",
        "type": "number",
        "unit": "%",
        "target": 30,
        "required": False,
    },
]


def fresh_db(url: str | None, workdir: Path) -> Database:
    """An empty, migrated database for this benchmark (`bench.__main__.fresh_db`)."""
    return bench_main.fresh_db(url, workdir, "history")


def seed(db: Database, rounds: int, people: int) -> int:
    """Write the history directly (bulk inserts); returns the answers written."""
    agenda = {
        "key": "social-support",
        "title": "Social Support",
        "purpose": "Support, socially.",
        "groups": ["support"],
        "cadence": "every monday at 10:00",
        "questions": QUESTIONS,
        "trend_rounds": 50,
    }
    with db.transaction() as s:
        s.add(models.Group(key="support", title="Support"))
        conv = models.Conversation(
            key="social-support", title="Social Support", spec=agenda, cadence=agenda["cadence"]
        )
        s.add(conv)
        s.execute(
            insert(models.Member),
            [{"identity": f"console:p{i}", "display_name": f"Person {i}"} for i in range(people)],
        )
        s.flush()
        member_ids = s.scalars(select(models.Member.id).order_by(models.Member.id)).all()
        written = 0
        for number in range(1, rounds + 1):
            opened = NOW - timedelta(weeks=rounds - number + 1)
            rnd = models.Round(
                conversation_id=conv.id,
                number=number,
                scheduled_for=opened,
                status="closed",
                trigger="schedule",
                opened_at=opened,
                deadline=opened + timedelta(days=3),
                closed_at=opened + timedelta(days=3),
                agenda=agenda,
            )
            s.add(rnd)
            s.flush()
            s.execute(
                insert(models.Participant),
                [
                    {"round_id": rnd.id, "member_id": m, "group_key": "support", "status": "done"}
                    for m in member_ids
                ],
            )
            pids = s.scalars(
                select(models.Participant.id).where(models.Participant.round_id == rnd.id)
            ).all()
            rows: list[dict[str, Any]] = []
            for i, pid in enumerate(pids):
                for qid, value in (
                    ("maturity-external", 1 + (i + number) % 5),
                    ("community-share", float((i * 7 + number) % 60)),
                ):
                    rows.append(
                        {
                            "participant_id": pid,
                            "question_id": qid,
                            "value": value,
                            "skipped": False,
                            "revision": 1,
                            "answered_at": opened,
                        }
                    )
            if number == rounds:  # the newest round's text answers, for its roll-up
                rows += [
                    {
                        "participant_id": pid,
                        "question_id": "hearing",
                        "value": f"Customers ask about topic {i % 40}",
                        "skipped": False,
                        "revision": 1,
                        "answered_at": opened,
                    }
                    for i, pid in enumerate(pids)
                ]
            s.execute(insert(models.Answer), rows)
            written += len(rows)
    return written


def floor(db: Database) -> float:
    """The history's statements as plain SQL, its figures computed in a loop."""
    start = time.perf_counter()
    with db.engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM rounds WHERE status = 'closed' ORDER BY number DESC LIMIT 50")
            )
        ]
        marks = ", ".join(str(i) for i in ids)
        conn.execute(
            text(
                "SELECT round_id, group_key, status, count(*) FROM participants"
                f" WHERE round_id IN ({marks}) GROUP BY round_id, group_key, status"
            )
        ).all()
        rows = conn.execute(
            text(
                "SELECT p.round_id, a.question_id, a.value FROM answers a"
                " JOIN participants p ON p.id = a.participant_id"
                f" WHERE p.round_id IN ({marks}) AND p.status != 'skipped' AND NOT a.skipped"
                " AND a.question_id IN ('maturity-external', 'community-share')"
            )
        ).all()
        # The newest round and the one before it, rolled up in full (people and answers).
        latest = ", ".join(str(i) for i in ids[:2])
        conn.execute(
            text(
                "SELECT p.id, p.round_id, p.group_key, p.status, m.display_name"
                " FROM participants p JOIN members m ON m.id = p.member_id"
                f" WHERE p.round_id IN ({latest})"
            )
        ).all()
        conn.execute(
            text(
                "SELECT p.round_id, a.question_id, a.value, a.skipped, p.group_key,"
                " m.display_name, p.id FROM answers a"
                " JOIN participants p ON p.id = a.participant_id"
                " JOIN members m ON m.id = p.member_id"
                f" WHERE p.round_id IN ({latest}) AND p.status != 'skipped'"
                " ORDER BY a.answered_at, a.id"
            )
        ).all()
    values: dict[tuple[int, str], list[float]] = defaultdict(list)
    for round_id, qid, value in rows:
        values[(round_id, qid)].append(float(value))  # JSON text on SQLite, a number on PG
    for (_, qid), given in values.items():
        _ = sum(given) / len(given) if qid == "maturity-external" else statistics.median(given)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the people")
    args = parser.parse_args()
    people = 100 if args.quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_db(args.database_url, Path(tmp))
        answers = seed(db, 50, people)
        backend = "postgresql" if args.database_url else "sqlite"
        print(f"strategy-bot history benchmark on {backend}: 50 rounds, {answers:,} answers")
        runs = 3
        start = time.perf_counter()
        for _ in range(runs):
            with db.transaction() as s:
                digest = build_digest(
                    s, scope="social-support", organisation="Bench", now=NOW, rounds=50
                )
        product = (time.perf_counter() - start) / runs
        bare = min(floor(db) for _ in range(runs))
        print(
            f"{'range digest (50 rounds) build':<40} {product * 1000:>9.1f} ms"
            f"   floor {bare * 1000:>9.1f} ms   ratio {product / bare:6.2f}"
        )
        start = time.perf_counter()
        with db.transaction() as s:
            conv_id = s.scalars(select(models.Conversation.id)).one()
            closed_rounds(s, [conv_id], depth=50)
        print(f"{'history read (50 rounds)':<40} {(time.perf_counter() - start) * 1000:>9.1f} ms")
        view = digest_view(digest)
        start = time.perf_counter()
        payloads = slack_layout(view)
        cards = teams_layout(view)
        laid = time.perf_counter() - start
        most_blocks = max(len(p["blocks"]) for p in payloads)
        most_charts = max(
            sum(1 for b in p["blocks"] if b["type"] == "data_visualization") for p in payloads
        )
        biggest = max(card_size(c) for c in cards)
        print(
            f"{'laid out for Slack and Teams':<40} {laid * 1000:>9.1f} ms   Slack: {len(payloads)}"
            f" messages, at most {most_blocks} blocks and {most_charts} charts each;"
            f" Teams: {len(cards)} cards, the largest {biggest:,} of {CARD_BUDGET:,} bytes"
        )
        assert most_blocks <= 50 and most_charts <= 2 and biggest <= CARD_BUDGET
        db.dispose()


if __name__ == "__main__":
    main()

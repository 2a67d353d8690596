"""1, 2 and 3 replicas sharing one PostgreSQL database: `python -m bench.replicas`.

Each run starts `replicas` real `strategy-bot serve` processes (subprocesses, as in
`bench.fanout`) on one PostgreSQL database, all posting to the loopback fake Slack of
`bench/fake_slack.py` with its limits lifted (no per-channel second, no Tier 3, no
workspace cap): what is measured is how fast the replicas together drain one round's
fan-out, not Slack's limits. An admin's `/strategy ask` to one replica opens a round
for N people whose DM channels are already known (kept in `slack_dm_channels` from an
earlier round, as in steady state), so every message is one `chat.postMessage`; every
replica's outbox worker claims from the same table (`FOR UPDATE SKIP LOCKED`).

It prints, per replica count, the posts, the time from the first to the last, the rate,
and messages lost (not marked sent, or marked sent and never taken by Slack) and
duplicated (an outbox key Slack took twice). The database is a scratch one this bench
creates and drops (`--admin-url` names the server; it never touches another database).

    .venv/bin/python -m bench.replicas                  # 2,000 people, 1-3 replicas
    .venv/bin/python -m bench.replicas --people 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from sqlalchemy import create_engine, insert, text

from bench.fake_slack import FakeSlack, Limits
from bench.fanout import SECRET, Server, outbox, playbook, slash, until_posted
from storage.db import Database, normalise_url
from storage.migrate import upgrade
from storage.models import SlackDmChannel

UNLIMITED = Limits(workspace_per_second=1e9, tier3_per_minute=10**9, channel_interval=0.0)


def scratch(admin_url: str, name: str, *, create: bool) -> None:
    """Create (or drop) the scratch database `name` on the server of `admin_url`."""
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


async def one_run(url: str, replicas: int, people: list[str], workdir: Path) -> dict[str, float]:
    """Open one round through `replicas` servers on a fresh schema; what Slack took."""
    reset = Database(url)
    with reset.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    reset.dispose()
    upgrade(url)
    db = Database(url)
    with db.transaction() as s:  # the DMs an earlier round opened
        s.execute(
            insert(SlackDmChannel),
            [{"team_id": "", "user_id": u, "channel_id": "D" + u[1:]} for u in people],
        )
    book = workdir / "playbook.yml"
    book.write_text(yaml.safe_dump(playbook(people), sort_keys=False))
    fake = FakeSlack(limits=UNLIMITED)
    await fake.start()
    env = {
        "DATABASE_URL": url,
        "PLAYBOOK_PATH": str(book),
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "CONSOLE_ENABLED": "false",
        "SCHEDULER_ENABLED": "false",
        "OUTBOX_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    servers = [Server(env) for _ in range(replicas)]
    try:
        for server in servers:  # one at a time: each syncs the playbook as it starts
            await asyncio.to_thread(server.start)
        await slash(servers[0], fake, "ask social-media", "bench.replicas.ask")
        await until_posted(fake, db, len(people), within=1800)
    finally:
        for server in servers:
            await asyncio.to_thread(server.kill)
    times = sorted(p.at for p in fake.posted)
    posted = Counter(p.key for p in fake.posted if p.key)
    rows = outbox(db)
    lost = [k for k, status in rows if status != "sent" or posted[k] == 0]
    duplicated = [k for k, n in posted.items() if n > 1]
    db.dispose()
    await fake.stop()
    seconds = times[-1] - times[0]
    return {
        "posts": len(times),
        "seconds": seconds,
        "rate": (len(times) - 1) / seconds,
        "lost": len(lost),
        "duplicated": len(duplicated),
        "rows": len(rows),
    }


async def run(admin_url: str, people_count: int, counts: list[int]) -> None:
    people = [f"U1{n:05d}" for n in range(people_count)]
    name = f"bench_replicas_{os.getpid()}"
    base = admin_url.rsplit("/", 1)[0]
    scratch(admin_url, name, create=True)
    try:
        print(
            f"replicas on one PostgreSQL database, one round to {people_count} people, fake"
            f" Slack without limits; this machine has {os.cpu_count()} cores (the servers,"
            " PostgreSQL and the fake share them)"
        )
        print(
            f"{'replicas':>8} {'msgs':>6} {'seconds':>8} {'msg/s':>8} {'vs 1':>6}"
            f" {'lost':>5} {'dup':>5}"
        )
        first: float | None = None
        for replicas in counts:
            with tempfile.TemporaryDirectory() as tmp:
                figures = await one_run(f"{base}/{name}", replicas, people, Path(tmp))
            first = first or figures["rate"]
            print(
                f"{replicas:>8} {figures['posts']:>6.0f} {figures['seconds']:>8.1f}"
                f" {figures['rate']:>8.1f} {figures['rate'] / first:>6.2f}"
                f" {figures['lost']:>5.0f} {figures['duplicated']:>5.0f}"
            )
    finally:
        scratch(admin_url, name, create=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server's URL; the bench creates and drops a scratch database there",
    )
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(run(args.admin_url, args.people, args.replicas))
    print(f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()

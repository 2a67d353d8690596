"""Fan-out against Slack's limits, and a fresh process's next round: `python -m bench.fanout`.

The real `strategy-bot serve` (a subprocess, SQLite or `--database-url`) posts to the
loopback fake Slack of `bench/fake_slack.py`, which enforces one message per second per
channel, Tier 3 for `conversations.open` (50 a minute) and a workspace-wide cap. Two
phases:

1. **First round**, DMs never opened: an admin's `/strategy ask` to N people. What the
   limits allow: the N-th DM can be opened at the earliest `60 s * floor((N - 1) / 50)`
   after the first, and N posts take N / cap seconds; the slower of the two bounds it.
2. **Next round from a fresh process**: the server is killed (SIGKILL) and a new one
   started on the same database; `close` then `ask`: every person gets "it closed" and
   the new prompt (2 N messages, two per DM, so the per-channel second matters) and the
   CIO channel its digest. Allowed: 2 N / cap seconds. It must need no `conversations.open`
   at all: the DM channels were kept in the database.

Each phase prints messages, seconds, the rate, the rate the limits allow and their ratio
(the share of the allowed rate reached), then lost (a row the outbox marked sent that
Slack never took, or one not sent) and duplicated (an outbox key Slack took twice).

    .venv/bin/python -m bench.fanout                  # 100 people, cap 20/s: about 90 s
    .venv/bin/python -m bench.fanout --people 40      # under one Tier 3 minute
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml
from sqlalchemy import select, text

from bench.fake_slack import FakeSlack, Limits
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage

SECRET = "bench-signing-secret"  # noqa: S105 - the loopback fake's, not a credential
ADMIN, CIO, CIO_CHANNEL = "U0ADMIN", "U0CIO", "C0CIO"
# Slack's one second per channel, the default: the outbox measures it from the answer to
# the last post, by when the post has arrived.
DESTINATION_INTERVAL = "1.0"


def playbook(people: list[str]) -> dict[str, Any]:
    """One conversation asking `people` one question."""
    return {
        "organisation": "Bench",
        "cio_channel": f"slack:{CIO_CHANNEL}",
        "roles": {"cio": [f"slack:{CIO}"], "admins": [f"slack:{ADMIN}"]},
        "groups": {
            "everyone": {
                "title": "Everyone",
                "members": [{"id": f"slack:{u}", "name": f"Person {u}"} for u in people],
            }
        },
        "conversations": [
            {
                "key": "social-media",
                "title": "Social Media",
                "purpose": "Brand and customer engagement.",
                "groups": ["everyone"],
                "cadence": "every monday at 10:00",
                "questions": [{"id": "hearing", "text": "What are you hearing?"}],
            }
        ],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`strategy-bot serve` as a subprocess."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "PORT": str(self.port)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=5
                ) as r:
                    json.loads(r.read())
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("strategy-bot serve did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


async def slash(server: Server, fake: FakeSlack, words: str, trigger: str) -> None:
    """An admin types `/strategy <words>`, signed as Slack signs it."""
    body = urlencode(
        {
            "team_id": "T0BENCH",
            "channel_id": "C0GENERAL",
            "user_id": ADMIN,
            "command": "/strategy",
            "text": words,
            "api_app_id": "A0APP",
            "response_url": fake.respond_url(trigger),
            "trigger_id": trigger,
        }
    )
    stamp = int(time.time())  # Slack's signatures carry the wall clock
    signature = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": "v0=" + signature.hexdigest(),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{server.port}/slack/events", data=body, headers=headers
        ) as r,
    ):
        assert r.status == 200, r.status


def outbox(db: Database) -> list[tuple[str, str]]:
    """Every outbox row's key and status, read without SQLite's writer lock.

    A write transaction here would queue behind the bot's (and hold up its claims), and
    waiting for it on the event loop would stall the fake Slack's clock: posts arriving
    meanwhile would be stamped together, a burst the bot never sent.
    """
    with db.reading() as s:
        return [
            (key, status)
            for key, status in s.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.status).where(
                    ~OutboxMessage.idempotency_key.like("reply:%")
                )
            )
        ]


async def until_posted(fake: FakeSlack, db: Database, total: int, within: float) -> float:
    """Wait until Slack took `total` DMs and the outbox is idle; when the last DM came.

    The database is read only once the DMs are all there: a read while the bot writes can
    hold this process (and the fake Slack's event loop, which stamps each post as it
    arrives) for a few hundred milliseconds, and the posts arriving meanwhile would be
    stamped together, a burst the bot never sent.
    """
    deadline = time.monotonic() + within
    while True:
        dms = [p for p in fake.posted if p.channel.startswith("D")]
        if len(dms) >= total:
            rows = await asyncio.to_thread(outbox, db)
            if all(status in ("sent", "failed") for _, status in rows):
                return max(p.at for p in dms)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(dms)} of {total} DMs posted in {within:.0f} s")
        await asyncio.sleep(0.05)


def report(label: str, times: list[float], allowed_seconds: float) -> float:
    """Print a phase: its posts after the first, over the time from the first to the last.

    `allowed_seconds` is the least time Slack's limits need between that first and last
    message, so the share is what fraction of the allowed rate the bot reached.
    """
    times = sorted(times)
    seconds = times[-1] - times[0]
    intervals = len(times) - 1
    rate, allowed = intervals / seconds, intervals / allowed_seconds
    print(
        f"{label:<34} {len(times):>6} {seconds:>8.1f} {rate:>8.2f} {allowed:>8.2f}"
        f" {rate / allowed:>7.0%}"
    )
    return rate / allowed


def least_seconds(messages: int, cap: float, opens: int, tier3: int) -> float:
    """The least time from the first to the last of `messages` posts the limits allow.

    The cap is `cap` posts in any rolling window of `cap_count / cap` seconds; the n-th
    DM of `opens` new ones opens `60 s * floor((n - 1) / tier3)` after the first.
    """
    count = max(1, round(cap))
    window = count / cap
    by_cap = window * ((messages - 1) // count)
    by_opens = 60.0 * ((opens - 1) // tier3) if opens else 0.0
    return max(by_cap, by_opens, 1.0)  # at least the second between two posts to a DM


async def run(people_count: int, cap: float, database_url: str | None) -> None:
    people = [f"U1{n:05d}" for n in range(people_count)]
    fake = FakeSlack(limits=Limits(workspace_per_second=cap))
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'fanout.db'}"
        if database_url:
            reset = Database(database_url)
            with reset.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            reset.dispose()
        upgrade(url)
        book = Path(tmp) / "playbook.yml"
        book.write_text(yaml.safe_dump(playbook(people), sort_keys=False))
        env = {
            "DATABASE_URL": url,
            "PLAYBOOK_PATH": str(book),
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.url,
            "CONSOLE_ENABLED": "false",
            "SCHEDULER_ENABLED": "false",
            "OUTBOX_POLL_SECONDS": "0.2",
            "OUTBOX_DESTINATION_INTERVAL_SECONDS": DESTINATION_INTERVAL,
            "LOG_LEVEL": "WARNING",
        }
        db = Database(url)
        server = Server(env)
        try:
            await asyncio.to_thread(server.start)
            print(
                f"fan-out on {db.dialect} to {people_count} people; fake Slack: 1 msg/s per"
                f" channel, conversations.open {fake.limits.tier3_per_minute}/min,"
                f" workspace cap {cap:g} msg/s"
            )
            print(
                f"{'phase':<34} {'msgs':>6} {'seconds':>8} {'msg/s':>8} {'allowed':>8} {'share':>7}"
            )
            await slash(server, fake, "ask social-media", "bench.ask.1")
            await until_posted(fake, db, people_count, within=3600)
            first_opens = len(fake.opened)
            first_limited = Counter(fake.rate_limited)
            # Every post counts against the workspace cap: the CIO channel's too.
            first = [p.at for p in fake.posted]
            tier3 = fake.limits.tier3_per_minute
            shares = [
                report(
                    "first round (DMs opened)",
                    first,
                    least_seconds(len(first), cap, people_count, tier3),
                )
            ]
            await asyncio.to_thread(server.kill)

            fresh = Server(env)  # a second process: nothing in memory
            await asyncio.to_thread(fresh.start)
            server = fresh
            await slash(server, fake, "close social-media", "bench.close.1")
            await slash(server, fake, "ask social-media", "bench.ask.2")
            await until_posted(fake, db, 3 * people_count, within=3600)
            second = [p.at for p in fake.posted][len(first) :]
            shares.append(
                report("next round, fresh process", second, least_seconds(len(second), cap, 0, 1))
            )
        finally:
            server.kill()
        posted = Counter(p.key for p in fake.posted if p.key)
        rows = outbox(db)
        lost = [k for k, status in rows if status != "sent" or posted[k] == 0]
        duplicated = {k: n for k, n in posted.items() if n > 1}
        print(
            f"conversations.open: {first_opens} in the first round,"
            f" {len(fake.opened) - first_opens} in the fresh process's round;"
            f" 429s: {dict(first_limited)} in the first round,"
            f" {dict(fake.rate_limited - first_limited)} in the fresh process's round;"
            f" lost {len(lost)}, duplicated {len(duplicated)} of {len(rows)} messages"
        )
        db.dispose()
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--cap", type=float, default=20.0, help="workspace posts per second")
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!)")
    args = parser.parse_args()
    asyncio.run(run(args.people, args.cap, args.database_url))


if __name__ == "__main__":
    main()

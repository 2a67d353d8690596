"""Slack ack latency: `python -m bench.slack_ack [--requests N] [--quick]`.

Slack gives an app three seconds to acknowledge a slash command or a button, and our
listeners store an answer *before* acking (README, "Invariants and how they hold"), so the
ack carries real work. This measures what that costs: signed requests over loopback to

- **the full app**: `build_app` + `mount_slack` on a SQLite file, with the outbox worker
  running and delivering every reply to the fake Slack Web API (`tests/fakes/slack_api`);
- **a bare Bolt `AsyncApp`** mounted the same way (aiohttp route -> `to_bolt_request` ->
  `async_dispatch` -> `to_aiohttp_response`), verifying the same signatures, whose
  listeners do the same storage before `await ack()` the simplest correct way, plain SQL
  on a bare connection of a copy of the same SQLite database (same file settings), one
  writer at a time as the product's lock: the slash command stored in `pending_commands`
  (deduplicated on its trigger id), the button as the engine's five statements
  (`bench.INGEST_STATEMENTS`: the event id, the participant, the answer upsert, the
  progress, the reply in the outbox with the payload of the round's own prompt).

Both run in the same process and the same run, one request at a time, timed from send to
the full response. The figures are p50/p99 per kind and the full/bare ratios. The slash
command (`/strategy status` by an admin) is acked at once and runs in the background; the
button (a rating answer on an open round's prompt) is stored before the ack.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import re
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from sqlalchemy import JSON, bindparam, select, text

from bench.__main__ import NOW_PARAM, ingest_floor
from bot.adapters.slack.adapter import make_client
from bot.adapters.slack.app import EVENTS_PATH
from bot.app import RUNTIME, build_app
from bot.config import load_settings
from storage import models
from storage.db import Database
from tests.fakes.slack_api import FakeSlackApi

SECRET = "bench-secret"  # noqa: S105 - signs loopback requests only
TOKEN = "xoxb-test"  # noqa: S105 - what the fake Web API accepts
ADMIN, MEMBERS = "U0ADMIN", ("U0MARIA", "U0SAM")
Request = Callable[[int], tuple[str, str]]  # n -> (body, content type)
WIDTH = 50  # requests in flight at once in the burst phase


def playbook() -> dict[str, Any]:
    """One conversation, two members, Slack identities."""
    return {
        "organisation": "Bench",
        "cio_channel": "slack:C0CIO",
        "roles": {"cio": ["slack:U0CIO"], "admins": [f"slack:{ADMIN}"]},
        "groups": {
            "marketing": {
                "title": "Marketing",
                "members": [{"id": f"slack:{m}", "name": m} for m in MEMBERS],
            }
        },
        "conversations": [
            {
                "key": "social-media",
                "title": "Social Media",
                "purpose": "Brand management and customer engagement.",
                "groups": ["marketing"],
                "cadence": "every 2 weeks on tue at 10:00",
                "questions": [
                    {"id": "hearing", "text": "What are you hearing?"},
                    {"id": "external", "text": "External maturity?", "type": "rating"},
                ],
            }
        ],
    }


def signed(body: str) -> dict[str, str]:
    """Headers Slack would send with this body."""
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest}


def command_request(fake: FakeSlackApi) -> Request:
    """`/strategy status` typed by the admin."""

    def make(n: int) -> tuple[str, str]:
        form = {
            "token": "legacy",
            "team_id": "T0TEAM",
            "channel_id": "C0GENERAL",
            "user_id": ADMIN,
            "command": "/strategy",
            "text": "status",
            "api_app_id": "A0APP",
            "response_url": fake.respond_url(f"bench{n}"),
            "trigger_id": f"trigger.{n}",
        }
        return urlencode(form), "application/x-www-form-urlencoded"

    return make


def button_request(round_id: int) -> Request:
    """A rating button ("4") on the open round's prompt, pressed by alternating members."""

    def make(n: int) -> tuple[str, str]:
        user = MEMBERS[n % len(MEMBERS)]
        payload = {
            "type": "block_actions",
            "team": {"id": "T0TEAM"},
            "user": {"id": user, "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "token": "legacy",
            "trigger_id": f"trigger.{n}",
            "channel": {"id": "D" + user[1:]},
            "actions": [
                {
                    "type": "button",
                    "action_id": "strategy:answer:4",
                    "block_id": f"strategy:r:{round_id}:external",
                    "value": json.dumps({"r": round_id, "v": "4"}),
                    "action_ts": f"1700000000.{n:06d}",
                }
            ],
            "state": {"values": {}},
        }
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"

    return make


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run an aiohttp app on a free loopback port; returns the runner and the events URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}{EVENTS_PATH}"


class Floor:
    """The bare app's storage: what the product stores before each ack, in plain SQL."""

    def __init__(self, url: str, reply: dict[str, Any]) -> None:
        self.db = Database(url)  # for its engine's SQLite settings (WAL, busy timeout)
        self.reply = reply
        self._writer = threading.Lock()  # one writer at a time, as the product's lock

    def store_command(self, form: dict[str, Any]) -> None:
        event = {"actor": f"slack:{form['user_id']}", "text": form["text"]}
        with self._writer, self.db.engine.connect() as conn, conn.begin():
            conn.execute(
                STORE_COMMAND,
                {"key": form["trigger_id"], "event": event, "now": datetime.now(UTC)},
            )

    def store_answer(self, user: str, value: str, event_id: str) -> None:
        with self._writer, self.db.engine.connect() as conn:
            ingest_floor(conn, f"slack:{user}", value, event_id, self.reply)

    def close(self) -> None:
        self.db.dispose()


STORE_COMMAND = text(
    "INSERT INTO pending_commands (dedup_key, platform, event, status, attempts, received_at)"
    " VALUES (:key, 'slack', :event, 'pending', 0, :now) ON CONFLICT (dedup_key) DO NOTHING"
).bindparams(NOW_PARAM, bindparam("event", type_=JSON()))


def bare_app(fake: FakeSlackApi, floor: Floor) -> web.Application:
    """A Bolt AsyncApp doing the product's storage before the ack, mounted like ours."""
    bolt = AsyncApp(
        client=make_client(token=TOKEN, base_url=fake.url),
        signing_secret=SECRET,
        process_before_response=True,
        logger=logging.getLogger("bench.bare-bolt"),
    )

    async def command(ack: Callable[..., Awaitable[Any]], command: dict[str, Any]) -> None:
        await asyncio.to_thread(floor.store_command, command)
        await ack()

    async def button(ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        action = body["actions"][0]
        value = json.loads(action["value"])["v"]
        event_id = f"{body['user']['id']}:{action['action_ts']}"
        await asyncio.to_thread(floor.store_answer, body["user"]["id"], value, event_id)
        await ack()

    bolt.command("/strategy")(command)
    bolt.action(re.compile("^strategy:"))(button)

    async def events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    return app


def floor_copy(app: web.Application, workdir: Path) -> Floor:
    """A copy of the full app's database once its round is open, and its prompt's payload.

    A copy, so the floor's answers do not move the full app's participants on.
    """
    runtime = app[RUNTIME]
    with runtime.db.transaction() as s:
        reply = s.scalars(
            select(models.OutboxMessage.payload).where(
                models.OutboxMessage.payload["kind"].as_string() == "prompt"
            )
        ).first()
    assert reply is not None, "the round's prompts are not in the outbox"
    source = str(runtime.db.engine.url.database)
    target = workdir / "floor.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return Floor(f"sqlite:///{target}", reply)


def full_app(fake: FakeSlackApi, workdir: Path) -> web.Application:
    """The real application with Slack mounted, on a fresh SQLite file."""
    path = workdir / "playbook.yml"
    path.write_text(yaml.safe_dump(playbook(), sort_keys=False))
    settings = load_settings(
        DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        PLAYBOOK_PATH=str(path),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.url,
        MICROSOFT_APP_ID=None,
        CONSOLE_ENABLED=False,
        SCHEDULER_ENABLED=False,
        TICK_SECONDS=3600,
        OUTBOX_POLL_SECONDS=0.2,
    )
    return build_app(settings, migrate=True)


async def one(session: aiohttp.ClientSession, url: str, body: str, content_type: str) -> float:
    """One signed request; its latency (ms) from send to the full response."""
    headers = {"Content-Type": content_type, **signed(body)}
    start = time.perf_counter()
    async with session.post(url, data=body.encode(), headers=headers) as resp:
        await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url} answered {resp.status}")
    return (time.perf_counter() - start) * 1000


async def timed(
    session: aiohttp.ClientSession,
    url: str,
    make: Request,
    n: int,
    warmup: int,
    settled: Callable[[int], Awaitable[None]] | None = None,
) -> list[float]:
    """Send `warmup + n` requests one at a time; returns the last n latencies (ms).

    `settled(i)` waits, between requests, until the work request i left for after its ack
    is done (a slash command's reply through its `response_url`), so each ack is measured
    on an idle app rather than behind a backlog the benchmark itself piled up.
    """
    latencies = []
    for i in range(warmup + n):
        body, content_type = make(i)
        latency = await one(session, url, body, content_type)
        if i >= warmup:
            latencies.append(latency)
        if settled is not None:
            await settled(i)
    return latencies


async def concurrent(
    session: aiohttp.ClientSession, url: str, make: Request, n: int, width: int, first: int
) -> list[float]:
    """`n` requests, `width` in flight at once (a burst, as when a round's prompts land)."""
    gate = asyncio.Semaphore(width)

    async def go(i: int) -> float:
        async with gate:
            return await one(session, url, *make(first + i))

    return list(await asyncio.gather(*(go(i) for i in range(n))))


def responded(fake: FakeSlackApi, app_is_full: bool) -> Callable[[int], Awaitable[None]] | None:
    """For the full app: wait until slash command i has had its reply posted."""
    if not app_is_full:
        return None

    async def wait(i: int) -> None:
        for _ in range(2000):
            if any(c.path == f"/respond/bench{i}" for c in fake.calls("respond")):
                return
            await asyncio.sleep(0.002)
        raise RuntimeError(f"slash command {i} got no reply")

    return wait


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of some latencies."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def open_round(
    app: web.Application, fake: FakeSlackApi, session: aiohttp.ClientSession, url: str
) -> int:
    """Open a round as the admin; returns its id once the prompts are out."""
    form = command_request(fake)(0)[0].replace("text=status", "text=ask+social-media")
    await session.post(
        url,
        data=form.encode(),
        headers={**signed(form), "Content-Type": "application/x-www-form-urlencoded"},
    )
    runtime = app[RUNTIME]
    for _ in range(500):
        with runtime.db.transaction() as s:
            round_id = s.scalar(select(models.Round.id).where(models.Round.status == "open"))
        if round_id is not None:
            return int(round_id)
        await asyncio.sleep(0.01)
    raise RuntimeError("the round did not open")


async def run(n: int) -> None:
    """Measure both apps and print the figures."""
    logging.basicConfig(level=logging.ERROR)
    fake = FakeSlackApi()
    await fake.start()
    warmup = max(20, n // 20)
    results: dict[tuple[str, str], list[float]] = {}
    kinds = (
        "slash command",
        "button",
        f"slash command, {WIDTH} at once",
        f"button, {WIDTH} at once",
    )
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        full = full_app(fake, Path(tmp))
        full_runner, full_url = await serve(full)
        floor: Floor | None = None
        bare_runner: web.AppRunner | None = None
        try:
            async with aiohttp.ClientSession() as session:
                round_id = await open_round(full, fake, session, full_url)
                floor = floor_copy(full, Path(tmp))
                bare_runner, bare_url = await serve(bare_app(fake, floor))
                for kind, make in (
                    ("slash command", command_request(fake)),
                    ("button", button_request(round_id)),
                ):
                    for name, url in (("bare", bare_url), ("full", full_url)):
                        settled = responded(fake, name == "full") if kind != "button" else None
                        results[kind, name] = await timed(session, url, make, n, warmup, settled)
                        results[f"{kind}, {WIDTH} at once", name] = await concurrent(
                            session, url, make, n, WIDTH, first=warmup + n
                        )
        finally:
            # The worker paces each DM at one message a second; the replies still queued
            # would take minutes to deliver, and nobody is waiting for them here.
            for task in full[RUNTIME]._tasks:
                task.cancel()
            await full_runner.cleanup()
            if bare_runner is not None:
                await bare_runner.cleanup()
            if floor is not None:
                floor.close()
            await fake.stop()
    print(f"Slack ack latency over loopback, {n} signed requests each (after {warmup} warm-up)")
    print(
        f"{'':30}{'full p50':>10}{'bare p50':>10}{'ratio':>7}{'full p99':>11}{'bare p99':>10}"
        f"{'ratio':>7}"
    )
    for kind in kinds:
        full_l, bare_l = results[kind, "full"], results[kind, "bare"]
        f50, b50, f99, b99 = (
            pct(full_l, 0.5),
            pct(bare_l, 0.5),
            pct(full_l, 0.99),
            pct(bare_l, 0.99),
        )
        print(
            f"{kind:30}{f50:>8.2f}ms{b50:>8.2f}ms{f50 / b50:>6.1f}x"
            f"{f99:>9.2f}ms{b99:>8.2f}ms{f99 / b99:>6.1f}x"
            f"   (full mean {statistics.fmean(full_l):.2f} ms)"
        )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.slack_ack", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per kind/app")
    parser.add_argument("--quick", action="store_true", help="200 requests, a smoke run")
    args = parser.parse_args()
    asyncio.run(run(200 if args.quick else max(10, args.requests)))


if __name__ == "__main__":
    main()

"""The event loop while a big round opens and goes out: `python -m bench.loop_lag`.

Every request the server answers (a Slack click's ack, a Teams activity, a console post)
waits for the event loop. This runs the real app (the web console on SQLite, the outbox
delivering to it) in a child process with `--people` members, has the admin `ask`, and
for `--seconds` measures two things on that loop: how late a 10 ms timer fires (the lag)
and how long a `GET /healthz` over loopback takes, one every 20 ms. It does so twice, in
fresh processes: as `strategy-bot serve` runs (its start-up heap frozen, `bot/heap.py`)
and without the freeze, as the floor (the same process doing the same work, with every
full garbage collection walking the whole heap). Ratios are the served run over the floor.

    .venv/bin/python -m bench.loop_lag                # 5,000 people, about a minute
    .venv/bin/python -m bench.loop_lag --people 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PLAYBOOK = Path(__file__).resolve().parent.parent / "bot" / "playbook" / "default.yml"
GROUP = "marketing-pr-sales"  # asked in `social-media`, the default playbook's first


def _playbook(path: Path, people: int) -> None:
    book = yaml.safe_load(DEFAULT_PLAYBOOK.read_text())
    book["groups"][GROUP]["members"] = [
        {"id": f"console:p{n}", "name": f"Person {n}"} for n in range(people)
    ]
    path.write_text(yaml.safe_dump(book, sort_keys=False))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(people: int, seconds: float, frozen: bool) -> dict[str, Any]:
    import aiohttp
    from aiohttp import web

    from bot.app import build_app
    from bot.config import load_settings
    from bot.heap import freeze_startup_heap

    work = Path(tempfile.mkdtemp(prefix="loop-lag-"))
    _playbook(work / "playbook.yml", people)
    settings = load_settings(
        DATABASE_URL=f"sqlite:///{work / 'bot.db'}",
        PLAYBOOK_PATH=str(work / "playbook.yml"),
        TICK_SECONDS=3600,
        SCHEDULER_ENABLED=False,
        CONSOLE_ENABLED=True,
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
    )
    app = build_app(settings)
    if frozen:
        app.on_startup.append(freeze_startup_heap)  # as `strategy-bot serve` does
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    lags: list[float] = []
    gets: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - start - 0.01)

    async def prober(http: aiohttp.ClientSession) -> None:
        while not done.is_set():
            start = time.monotonic()
            async with http.get(base + "/healthz") as resp:
                await resp.read()
            gets.append(time.monotonic() - start)
            await asyncio.sleep(0.02)

    async with aiohttp.ClientSession() as http:
        tasks = [asyncio.create_task(ticker()), asyncio.create_task(prober(http))]
        body = {"as": "console:admin", "text": "ask social-media", "command": True}
        async with http.post(base + "/console/api/message", json={**body, "event_id": "a1"}):
            pass
        await asyncio.sleep(seconds)
        done.set()
        await asyncio.gather(*tasks)
    await runner.cleanup()
    return {
        "lag_p99": _pct(lags, 0.99),
        "lag_max": max(lags),
        "stalls": sum(1 for lag in lags if lag > 0.1),
        "get_p50": statistics.median(gets),
        "get_p99": _pct(gets, 0.99),
        "get_max": max(gets),
        "gets": len(gets),
    }


def _child(people: int, seconds: float, frozen: bool) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - this interpreter, this module
        [
            sys.executable,
            "-m",
            "bench.loop_lag",
            "--child",
            "frozen" if frozen else "plain",
            "--people",
            str(people),
            "--seconds",
            str(seconds),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--child", choices=["plain", "frozen"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(_measure(args.people, args.seconds, args.child == "frozen"))
        print(json.dumps(result))
        return
    floor = _child(args.people, args.seconds, frozen=False)
    served = _child(args.people, args.seconds, frozen=True)
    print(f"a round for {args.people:,} people opened and delivered, {args.seconds:g} s each")
    print(f"{'':28}{'served':>10}{'floor':>10}{'ratio':>8}")
    for label, key in (
        ("loop lag p99 (ms)", "lag_p99"),
        ("loop lag max (ms)", "lag_max"),
        ("GET /healthz p50 (ms)", "get_p50"),
        ("GET /healthz p99 (ms)", "get_p99"),
        ("GET /healthz max (ms)", "get_max"),
    ):
        a, b = served[key] * 1000, floor[key] * 1000
        print(f"{label:28}{a:>10.1f}{b:>10.1f}{a / b if b else float('nan'):>8.2f}")
    print(f"{'stalls over 100 ms':28}{served['stalls']:>10}{floor['stalls']:>10}")


if __name__ == "__main__":
    main()

"""A loopback Slack Web API that enforces Slack's published rate limits, for `bench.fanout`.

Shaped like Slack on the wire (form or JSON bodies, `{"ok": ...}` answers, HTTP 429 with
`Retry-After` in whole seconds), it enforces:

- **`chat.postMessage`: one message per second per channel** ("special" tier: Slack
  allows bursts of a few, then 429s; here strictly one per rolling second, the strictest
  reading), and a **workspace-wide cap** of `workspace_per_second` posts a second over
  all channels (Slack's docs speak of several hundred messages a minute per workspace;
  the cap is a parameter so the bench says which one it used).
- **`conversations.open`: Tier 3**, 50 calls per rolling minute.
- `users.info` (Tier 4) answers every person as an active human in UTC, unthrottled: the
  bench measures delivery, not the directory.

Every accepted post is recorded (channel, the outbox key from its metadata), so the bench
counts what was lost or posted twice.
"""

from __future__ import annotations

import collections
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TIER3_PER_MINUTE = 50
CHANNEL_INTERVAL = 1.0


@dataclass
class Limits:
    """What the fake allows."""

    workspace_per_second: float = 20.0
    tier3_per_minute: int = TIER3_PER_MINUTE
    channel_interval: float = CHANNEL_INTERVAL


@dataclass
class Posted:
    """One message Slack took."""

    channel: str
    key: str | None
    at: float


@dataclass
class FakeSlack:
    """The fake server (see the module docstring); `start` it on a free loopback port."""

    limits: Limits = field(default_factory=Limits)
    posted: list[Posted] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)  # users whose DM was opened
    rate_limited: collections.Counter[str] = field(default_factory=collections.Counter)
    _last_post: dict[str, float] = field(default_factory=dict)
    _posts: collections.deque[float] = field(default_factory=collections.deque)
    _opens: collections.deque[float] = field(default_factory=collections.deque)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        """The Web API base URL (SLACK_API_URL)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def respond_url(self, name: str) -> str:
        """A slash command's `response_url` on this server."""
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the Web API ----------------------------------------------------------------------

    async def _respond(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            raw = await request.text()
            body.update(json.loads(raw) if raw else {})
        else:
            body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        now = time.monotonic()
        if method == "auth.test":
            return _ok(team_id="T0BENCH", user_id="U0BOT", bot_id="B0BOT", team="Bench")
        if method == "users.info":
            user = str(body.get("user", ""))
            return _ok(
                user={
                    "id": user,
                    "name": user.lower(),
                    "real_name": user,
                    "deleted": False,
                    "is_bot": False,
                    "tz": "UTC",
                    "profile": {"real_name": user, "display_name": ""},
                }
            )
        if method == "conversations.open":
            wait = _window(self._opens, now, 60.0, self.limits.tier3_per_minute)
            if wait:
                return self._limited(method, wait)
            self._opens.append(now)
            user = str(body.get("users", "")).split(",")[0]
            self.opened.append(user)
            return _ok(channel={"id": "D" + user[1:]})
        if method == "chat.postMessage":
            channel = str(body.get("channel") or "")
            last = self._last_post.get(channel)
            if last is not None and now - last < self.limits.channel_interval:
                return self._limited(method, self.limits.channel_interval - (now - last))
            cap = max(1, round(self.limits.workspace_per_second))
            wait = _window(self._posts, now, cap / self.limits.workspace_per_second, cap)
            if wait:
                return self._limited(method, wait)
            self._last_post[channel] = now
            self._posts.append(now)
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            key = None
            if isinstance(metadata, dict):
                key = (metadata.get("event_payload") or {}).get("key")
            self.posted.append(Posted(channel=channel, key=key, at=now))
            return _ok(channel=channel, ts=f"{now:.6f}")
        if method in ("conversations.history", "conversations.replies"):
            return _ok(messages=[], has_more=False)
        return web.json_response({"ok": False, "error": "unknown_method"})

    def _limited(self, method: str, wait: float) -> web.Response:
        self.rate_limited[method] += 1
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


def _window(calls: collections.deque[float], now: float, span: float, allowed: int) -> float:
    """Seconds until one more call fits `allowed` per rolling `span` (0: it fits now)."""
    while calls and now - calls[0] >= span:
        calls.popleft()
    if len(calls) < allowed:
        return 0.0
    return span - (now - calls[0])

"""A fake Bot Connector service on loopback, for tests that run the real botbuilder path.

Teams tells a bot where to answer with each activity's `serviceUrl`, and botbuilder's
`ConnectorClient` calls whatever that URL says. Tests put `fake.service_url` in the
activities they POST to `/api/messages`, so every reply, proactive message and card
update goes through botbuilder's real connector client to this server, which records it
(kind, conversation id, activity id, parsed body, headers) and answers like the Bot
Connector does (`{"id": ...}`).

Failures are scripted per kind (`send`: POST .../activities, `reply`: POST
.../activities/{id}, `update`: PUT .../activities/{id}), optionally only for one
conversation, and used `times` times: `script("send", status=429, headers={"Retry-After":
"1"}, conversation="a:sam")`. The body of an error is the connector's `ErrorResponse`
shape (`{"error": {"code", "message"}}`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import listen

KINDS = ("send", "reply", "update")
_DEFAULT_CODES = {
    429: "TooManyRequests",
    403: "BotDisabledByAdmin",
    404: "ConversationNotFound",
    500: "ServiceError",
}


@dataclass
class Recorded:
    """One request the fake received."""

    kind: str  # send | reply | update
    conversation: str
    activity_id: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 0  # what the fake answered
    created_id: str | None = None  # the id the fake gave a posted activity (2xx sends)

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The Adaptive Cards attached to the activity."""
        return [
            a["content"]
            for a in self.body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


@dataclass
class _Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    conversation: str | None
    times: int
    after: int = 0  # matching requests to let through first


@dataclass
class FakeBotConnector:
    """The fake service; `start()` it, then use `service_url` in activities."""

    requests: list[Recorded] = field(default_factory=list)
    _scripts: dict[str, list[_Scripted]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _base: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def service_url(self) -> str:
        """The `serviceUrl` to put in activities (ends in "/", like Teams' own)."""
        return f"{self._base}/teams/"

    async def start(self) -> str:
        """Listen on 127.0.0.1 (a free port); returns the base URL."""
        app = web.Application()
        app.router.add_post("/teams/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post(
            "/teams/v3/conversations/{conversation}/activities/{activity}", self._reply
        )
        app.router.add_put(
            "/teams/v3/conversations/{conversation}/activities/{activity}", self._update
        )
        self._runner, address = await listen(app)
        self._base = f"http://{address}"
        return self._base

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting and reading --------------------------------------------------------

    def script(
        self,
        kind: str,
        *,
        status: int,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        conversation: str | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer `times` requests of `kind` (to `conversation`) with an error.

        The first `after` matching requests are answered normally.
        """
        assert kind in KINDS
        error = {"code": code or _DEFAULT_CODES.get(status, "BadSyntax"), "message": "scripted"}
        self._scripts.setdefault(kind, []).append(
            _Scripted(status, {"error": error}, dict(headers or {}), conversation, times, after)
        )

    def forget(self) -> None:
        """Drop what was recorded so far (scripts stay), so a test counts from here."""
        self.requests.clear()

    def calls(self, kind: str, conversation: str | None = None) -> list[Recorded]:
        """Requests of one kind (to one conversation)."""
        return [
            r
            for r in self.requests
            if r.kind == kind and (conversation is None or r.conversation == conversation)
        ]

    async def wait_for(
        self, kind: str, count: int = 1, *, conversation: str | None = None, within: float = 10.0
    ) -> list[Recorded]:
        """Wait until at least `count` matching requests arrived; returns them all."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = self.calls(kind, conversation)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [(r.kind, r.conversation) for r in self.requests]
                raise AssertionError(f"{count} x {kind} to {conversation} not received; got {seen}")
            await asyncio.sleep(0.02)

    # -- handlers ----------------------------------------------------------------------

    async def _record(self, request: web.Request, kind: str) -> web.Response:
        raw = await request.text()
        body = json.loads(raw) if raw else {}
        conversation = request.match_info["conversation"]
        activity_id = request.match_info.get("activity")
        recorded = Recorded(kind, conversation, activity_id, body, dict(request.headers))
        self.requests.append(recorded)
        for item in self._scripts.get(kind, []):
            if item.conversation in (None, conversation):
                if item.after > 0:
                    item.after -= 1
                    break
                item.times -= 1
                if item.times <= 0:
                    self._scripts[kind].remove(item)
                recorded.status = item.status
                return web.json_response(item.body, status=item.status, headers=item.headers)
        if kind == "update":
            recorded.status = 200
            return web.json_response({"id": activity_id})
        recorded.status, recorded.created_id = 201, f"1:{next(self._ids)}"
        return web.json_response({"id": recorded.created_id}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(request, "update")

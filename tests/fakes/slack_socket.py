"""A fake Slack Socket Mode server on loopback: Slack's side of the WebSocket.

Socket Mode works in two steps, and both cross the network boundary we fake:
`apps.connections.open` (a Web API call with the app-level token, answered by
`FakeSlackApi` through `script`) returns a `wss://` URL; the client connects there, Slack
greets it with `hello` and then pushes envelopes (`slash_commands`, `events_api`,
`interactive`) that the client must acknowledge by echoing their `envelope_id`, with a
`payload` when the listener returned one. Slack also asks clients to reconnect with a
`disconnect` message (`refresh_requested`, `warning`) a few times an hour.

The shapes follow https://api.slack.com/apis/socket-mode and slack_sdk's own Socket
Mode tests (`tests/slack_sdk/socket_mode/mock_socket_mode_server.py`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.loopback import listen
from tests.fakes.slack_api import FakeSlackApi


@dataclass
class FakeSocketMode:
    """Slack's WebSocket endpoint; `start()` it, then `expect_connections` on the Web API fake."""

    api: FakeSlackApi
    app_id: str = "A0APP"
    connections: int = 0  # WebSockets accepted so far
    closed: int = 0  # WebSockets the client closed
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope_id -> ack
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _acked: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _base: str = ""

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port)."""
        app = web.Application()
        app.router.add_get("/link", self._socket)
        self._runner, address = await listen(app)
        self._base = f"ws://{address}"

    async def stop(self) -> None:
        """Close every socket and stop listening."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def expect_connections(self, times: int = 5) -> None:
        """Make `apps.connections.open` hand out this server's URL `times` times."""
        for _ in range(times):
            n = next(self._ids)
            self.api.script(
                "apps.connections.open",
                body={"ok": True, "url": f"{self._base}/link?ticket=t{n}&app_id={self.app_id}"},
            )

    @property
    def open_sockets(self) -> int:
        """Sockets currently connected."""
        return sum(not ws.closed for ws in self._sockets)

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> None:
        """Wait until `count` connections were accepted in all."""
        async with asyncio.timeout(within):
            while self.connections < count:
                self._connected.clear()
                await self._connected.wait()

    async def push(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
    ) -> str:
        """Send one envelope down the newest open socket; returns its envelope_id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        live = [ws for ws in self._sockets if not ws.closed]
        assert live, "no Socket Mode client is connected"
        await live[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def ack(self, envelope_id: str, within: float = 10.0) -> dict[str, Any]:
        """Wait for the client's acknowledgement of one envelope."""
        async with asyncio.timeout(within), self._acked:
            await self._acked.wait_for(lambda: envelope_id in self.acks)
            return self.acks[envelope_id]

    async def ask_to_reconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the client this connection is going away, as Slack does periodically."""
        live = [ws for ws in self._sockets if not ws.closed]
        assert live, "no Socket Mode client is connected"
        await live[-1].send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        )

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections += 1
        self._connected.set()
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            if isinstance(ack, dict) and "envelope_id" in ack:
                async with self._acked:
                    self.acks[str(ack["envelope_id"])] = ack
                    self._acked.notify_all()
        self.closed += 1
        return ws

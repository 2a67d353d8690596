"""A fake OneDrive upload session on loopback: where Teams' `uploadUrl` points in tests.

When a person accepts a bot's file consent card, Teams answers with an `uploadUrl`: a
OneDrive (Microsoft Graph) upload session in their own drive, beyond the network boundary.
This plays it the way Graph documents upload sessions: each `PUT` carries a byte range
(`Content-Range: bytes {start}-{end}/{total}`, `Content-Length`), pieces in order; a
piece that is not the last answers `202 Accepted` with `nextExpectedRanges`, the last one
`201 Created` with the new drive item (`id`, `name`, `size`, `file`). A range that does
not start where the last ended is `416 Requested Range Not Satisfiable`, a piece that is
not a multiple of 320 KiB (except the last) `400`, a session never opened `404`. `fail`
scripts the next answer (a 503, a 507 drive full). What arrived is in `files`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import listen

_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
PIECE_MULTIPLE = 320 * 1024


@dataclass
class _Session:
    name: str
    received: bytearray = field(default_factory=bytearray)
    total: int | None = None
    done: bool = False


@dataclass
class FakeOneDrive:
    """Upload sessions by id; `start()` it, then hand out `upload_url(name)`."""

    sessions: dict[str, _Session] = field(default_factory=dict)
    puts: list[dict[str, Any]] = field(default_factory=list)  # every PUT: range, length
    _fail: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _base: str = ""

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_put("/up/{session}", self._put)
        self._runner, address = await listen(app)
        self._base = f"http://{address}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def upload_url(self, name: str) -> str:
        """Open an upload session for a file name; its URL (what Teams puts in uploadInfo)."""
        session = f"s{len(self.sessions) + 1}"
        self.sessions[session] = _Session(name)
        return f"{self._base}/up/{session}"

    def fail(self, status: int) -> None:
        """Answer the next PUT with this status."""
        self._fail.append(status)

    @property
    def files(self) -> dict[str, bytes]:
        """Every completed upload, by file name."""
        return {s.name: bytes(s.received) for s in self.sessions.values() if s.done}

    async def _put(self, request: web.Request) -> web.Response:
        data = await request.read()
        header = request.headers.get("Content-Range", "")
        self.puts.append({"range": header, "length": len(data)})
        if self._fail:
            return web.json_response({"error": {"code": "scripted"}}, status=self._fail.pop(0))
        session = self.sessions.get(request.match_info["session"])
        if session is None or session.done:
            return web.json_response({"error": {"code": "itemNotFound"}}, status=404)
        found = _RANGE.fullmatch(header)
        if found is None or request.headers.get("Content-Length") != str(len(data)):
            return web.json_response({"error": {"code": "invalidRange"}}, status=400)
        start, end, total = (int(g) for g in found.groups())
        if start != len(session.received) or end - start + 1 != len(data):
            return web.json_response({"error": {"code": "invalidRange"}}, status=416)
        last = end + 1 == total
        if not last and len(data) % PIECE_MULTIPLE:
            return web.json_response({"error": {"code": "invalidRequest"}}, status=400)
        session.total = total
        session.received.extend(data)
        if not last:
            return web.json_response(
                {
                    "expirationDateTime": "2026-12-02T00:00:00Z",
                    "nextExpectedRanges": [f"{end + 1}-"],
                },
                status=202,
            )
        session.done = True
        item = {
            "id": f"01ITEM{len(self.files):04d}",
            "name": session.name,
            "size": total,
            "file": {"mimeType": "application/octet-stream"},
        }
        return web.json_response(item, status=201)

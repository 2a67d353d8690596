"""Serving a fake platform on loopback: an aiohttp app on 127.0.0.1 and a free port."""

from __future__ import annotations

from aiohttp import web


async def listen(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start `app` on 127.0.0.1 (a port the OS picks); returns its runner and `host:port`.

    Call `runner.cleanup()` to stop it.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"{host}:{port}"

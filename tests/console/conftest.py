"""Fixtures for the console tests: an echoing engine, a live server and a real browser.

`serve_app` and `browser` are meant to be reused by browser tests against the real
engine (`bot.app.build_app`): start any aiohttp application on a loopback port, then
drive it with Debian's Chromium through Playwright. A missing Chromium fails the run
rather than skipping it, so the browser tests can never silently stop running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from bot.adapters.console import ConsoleAdapter, register_console_routes
from bot.flows.outbound import OutboundMessage
from tests.console.samples import PEOPLE, EchoEngine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ServeApp = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
def engine() -> EchoEngine:
    """The echoing stand-in engine (records every event it gets)."""
    return EchoEngine()


@pytest.fixture
def adapter(engine: EchoEngine) -> ConsoleAdapter:
    """A console adapter wired to the echo engine, with three people."""
    return ConsoleAdapter(handle=engine, people=PEOPLE)


@pytest.fixture
def console_app(adapter: ConsoleAdapter) -> web.Application:
    """An application serving only the console."""
    app = web.Application()
    register_console_routes(app, adapter)
    return app


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient]],
    console_app: web.Application,
) -> TestClient:
    """Aiohttp's test client on the console application."""
    return await aiohttp_client(console_app)


@pytest.fixture
async def serve_app() -> AsyncIterator[ServeApp]:
    """Start an aiohttp application on 127.0.0.1 (a free port); returns its base URL.

    Every application started is cleaned up when the test ends.
    """
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; fails (not skips) the test when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(run `make browser-deps`, or apt-get install chromium)."
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Headless Chromium driven by Playwright's async API."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


# A laptop screen: what "one screen" means for the console.
LAPTOP: ViewportSize = {"width": 1280, "height": 900}


@asynccontextmanager
async def console_showing(
    browser: Browser, serve_app: ServeApp, address: str, message: OutboundMessage, name: str
) -> AsyncIterator[Page]:
    """A laptop-sized page (1280x900, Berlin time) of a console that delivered `message` to
    `address`, who is the only person on it: what they see when they open the console.
    """
    adapter = ConsoleAdapter(handle=EchoEngine(), people=[(address, "Chris CIO", "it")])
    app = web.Application()
    register_console_routes(app, adapter)
    base = await serve_app(app)
    await adapter.send(address=address, message=message, idempotency_key=name)
    context = await browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    try:
        page = await context.new_page()
        await page.goto(base + "/")
        yield page
    finally:
        await context.close()

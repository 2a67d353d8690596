"""Confidential answers in the console, in headless Chromium against the REAL app.

The app runs the confidential test playbook (`tests.flows.confidential_playbook`) on
SQLite and PostgreSQL. People answer and ask through the console's own HTTP API, as the page
does; what is checked is what the page then shows, read from its DOM: the #cio channel
and an admin's chat show how many answered and never an answer; the CIO's own chat
shows them, and says the reading is recorded; general counsel reads Social Liability too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from playwright.async_api import Browser, Page, expect

from bot.app import build_app
from bot.config import load_settings
from tests.console.conftest import ServeApp
from tests.flows.confidential_playbook import (
    ADMIN,
    CHANNEL,
    CIO,
    COUNSEL,
    EXPOSURE,
    INCIDENTS,
    LEGAL,
    RISK_SAID,
    confidential_playbook,
)

pytestmark = pytest.mark.browser

WAIT_MS = 15_000


class Console:
    """The console's HTTP API (what the page posts) and a page reading what it shows."""

    def __init__(self, base: str, page: Page, http: aiohttp.ClientSession) -> None:
        self.base = base
        self.page = page
        self.http = http
        self.sent = 0

    async def post(
        self, who: str, text: str, *, command: bool = False, where: str | None = None
    ) -> None:
        self.sent += 1
        body: dict[str, Any] = {"as": who, "text": text, "command": command}
        body["event_id"] = f"confidential-{self.sent}"
        if where is not None:
            body["in"] = where
        async with self.http.post(self.base + "/console/api/message", json=body) as resp:
            assert resp.status == 200, await resp.text()

    async def shown_to(self, who: str, *, channel: bool = False, digests: int = 1) -> str:
        """The text someone's chat (or the #cio channel) shows once it holds `digests`."""
        page = self.page
        await page.get_by_test_id("person-select").select_option(who)
        if channel:
            await page.get_by_test_id("channel-cio").click()
            await expect(page.get_by_test_id("conversation-title")).to_have_text("#cio channel")
        else:
            await expect(page.get_by_test_id("conversation-title")).to_contain_text(
                "Direct messages"
            )
        await expect(page.get_by_test_id("digest")).to_have_count(digests)
        return await page.get_by_test_id("transcript").inner_text()


@pytest.fixture
async def console(
    browser: Browser, serve_app: ServeApp, tmp_path: Path, db_url: str
) -> AsyncIterator[Console]:
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(confidential_playbook(), sort_keys=False))
    settings = load_settings(
        DATABASE_URL=db_url,
        TICK_SECONDS=3600,
        SCHEDULER_ENABLED=False,
        PLAYBOOK_PATH=str(playbook),
        CONSOLE_ENABLED=True,
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
    )
    base = await serve_app(build_app(settings, migrate=False))
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    await page.goto(base + "/")
    try:
        async with aiohttp.ClientSession() as http:
            yield Console(base, page, http)
    finally:
        expect.set_options(timeout=None)
        await context.close()


async def test_the_console_shows_confidential_answers_to_their_readers_only(
    console: Console,
) -> None:
    await console.post(ADMIN, "ask social-liability", command=True)
    said = (*RISK_SAID, RISK_SAID[0])
    for who, text, rating, figure in zip(LEGAL, said, EXPOSURE, INCIDENTS, strict=True):
        for reply in (text, str(rating), str(figure), "Legal"):
            await console.post(who, reply)

    channel = await console.shown_to(CIO, channel=True)
    assert "4 questions are confidential to the CIO and general counsel" in channel
    assert all(s not in channel for s in (*RISK_SAID, "3.7 / 5", "9 median"))

    await console.post(ADMIN, "digest social-liability", command=True)
    admin = await console.shown_to(ADMIN)
    assert "Confidential: only the CIO and general counsel read these answers" in admin
    assert all(s not in admin for s in (*RISK_SAID, "3.7 / 5", "9 median"))

    await console.post(CIO, "digest social-liability", command=True, where=CHANNEL)
    mine = await console.shown_to(CIO)  # asked in the channel, their own view comes here
    assert all(s in mine for s in (*RISK_SAID, "3.7 / 5 mean", "9 median"))
    assert "recorded in the audit log" in mine
    channel = await console.shown_to(CIO, channel=True, digests=2)
    assert all(s not in channel for s in RISK_SAID)

    await console.post(COUNSEL, "digest social-liability", command=True)
    counsel = await console.shown_to(COUNSEL)
    assert all(s in counsel for s in RISK_SAID)

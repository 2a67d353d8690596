"""The consistency view in the console, from the seeded history, read back from Chromium.

The reply is the real one (`consistency` after three seeded rounds whose third writes the
labelled sample), delivered by `ConsoleAdapter.send`. Set CONSISTENCY_SCREENSHOT=<file.png>
to keep a picture of it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.flows.outbound import ConsistencyMessage
from storage.db import Database
from tests.conftest import FakeClock
from tests.console.conftest import ServeApp, console_showing
from tests.flows.seeded_history import seed

pytestmark = pytest.mark.browser

CIO = "console:cio"
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def reply(sqlite_template: Path, tmp_path: Path) -> ConsistencyMessage:
    path = tmp_path / "bot.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        (message,) = seed(db, FakeClock(START)).command(CIO, "consistency")
    finally:
        db.dispose()
    assert isinstance(message, ConsistencyMessage)
    return message


@pytest.fixture
async def page(
    browser: Browser, serve_app: ServeApp, reply: ConsistencyMessage
) -> AsyncIterator[Page]:
    async with console_showing(browser, serve_app, CIO, reply, "consistency") as page:
        await expect(page.get_by_test_id("consistency-title")).to_be_visible()
        yield page


async def test_the_console_shows_topics_hand_offs_and_divergence(page: Page) -> None:
    across = page.locator('[data-id="across:twitter"]')
    await expect(across).to_contain_text("Twitter")
    await expect(across).to_contain_text("Suggested: Hold a joint session")
    handoff = page.locator('[data-id="handoff:social-innovation:social-liability"]')
    await expect(handoff).to_contain_text(
        "Raised in Social Innovation, belongs to Social Liability"
    )
    await expect(handoff).to_contain_text("who owns the IP?")
    divergence = page.locator('[data-id="divergence:maturity-internal"]')
    await expect(divergence).to_contain_text("Social Support")
    await expect(divergence).to_contain_text("4.0 (round 3)")
    # The anonymous conversation's quotes name the conversation only.
    liability = page.get_by_test_id("theme-quote").filter(has_text="Records retention rules")
    await expect(liability.first).to_contain_text("Social Liability")
    await expect(page.get_by_text("Lena")).to_have_count(0)
    shot = os.environ.get("CONSISTENCY_SCREENSHOT")
    if shot:
        await page.screenshot(path=shot, full_page=True)

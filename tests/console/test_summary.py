"""The CIO's one-screen summary in the console: a table, SVG charts, the details on demand.

The digest is the real one: three rounds of every default conversation answered through
the engine (`tests/flows/seeded_history.py`, whose figures `tests/flows/test_strategy.py`
computes by hand), delivered to the page by `ConsoleAdapter.send` and read back from the
DOM of Debian's Chromium.

Set SUMMARY_SCREENSHOT=docs/images/console-summary.png to refresh the README's picture
(`make screenshots`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.flows.outbound import DigestMessage
from storage.db import Database
from tests.conftest import FakeClock
from tests.console.conftest import LAPTOP, ServeApp, console_showing
from tests.flows.seeded_history import digest_all, seed

pytestmark = pytest.mark.browser

CIO = "console:cio"
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
SCREEN = LAPTOP


@pytest.fixture
def seeded_digest(sqlite_template: Path, tmp_path: Path) -> DigestMessage:
    path = tmp_path / "bot.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        return digest_all(seed(db, FakeClock(START)))
    finally:
        db.dispose()


@pytest.fixture
async def page(
    browser: Browser, serve_app: ServeApp, seeded_digest: DigestMessage
) -> AsyncIterator[Page]:
    async with console_showing(browser, serve_app, CIO, seeded_digest, "summary") as page:
        await expect(page.get_by_test_id("digest")).to_be_visible()
        yield page


async def test_the_summary_is_a_table_with_a_row_per_conversation(page: Page) -> None:
    table = page.get_by_test_id("standings")
    rows = table.get_by_test_id("standings-row")
    await expect(rows).to_have_count(6)
    media = table.locator('tr[data-key="social-media"]')
    # Social Media ends externally mature (internal 2.5, external 4.5 in round 3).
    await expect(media).to_contain_text("Social Media")
    await expect(media.get_by_test_id("stage")).to_have_text("externally mature")
    networking = table.locator('tr[data-key="social-networking"]')
    await expect(networking.get_by_test_id("stage")).to_have_text("laggard")
    headers = await table.locator("thead th").all_text_contents()
    assert headers[0] and len(headers) == 6


async def test_the_maturity_map_places_each_conversation_on_two_axes(page: Page) -> None:
    chart = page.get_by_test_id("maturity-map")
    await expect(chart.get_by_test_id("chart-svg")).to_be_visible()
    points = chart.get_by_test_id("map-point")
    # Five conversations rate social maturity; Social Liability rates governance only.
    await expect(points).to_have_count(5)
    # Social Media sits right of the external threshold and below the internal one:
    # externally mature, bottom right of the map.
    svg = await chart.get_by_test_id("chart-svg").bounding_box()
    titles = await points.evaluate_all("ps => ps.map(p => p.textContent)")
    media = titles.index(next(t for t in titles if t.startswith("Social Media")))
    box = await points.nth(media).bounding_box()
    assert svg is not None and box is not None
    assert box["x"] > svg["x"] + svg["width"] * 0.55
    assert box["y"] > svg["y"] + svg["height"] * 0.3
    # Its figures are also in words under the picture.
    await expect(chart.get_by_test_id("chart-figures")).to_contain_text("Social Media")


async def test_charts_over_rounds_draw_one_line_per_series(page: Page) -> None:
    over_time = page.get_by_test_id("maturity-over-time").first
    await expect(over_time.get_by_test_id("chart-line")).to_have_count(2)
    await expect(over_time.get_by_test_id("chart-point")).to_have_count(6)


async def test_the_summary_fits_one_screen_and_the_details_wait_behind_a_toggle(
    page: Page, tmp_path: Path
) -> None:
    card = page.get_by_test_id("digest")
    toggle = card.get_by_test_id("details-toggle").first
    body = card.locator("details.details > .details-body").first
    await expect(toggle).to_be_visible()
    await expect(body).to_be_hidden()
    top = await card.bounding_box()
    end = await toggle.bounding_box()
    assert top is not None and end is not None
    summary_height = end["y"] + end["height"] - top["y"]
    # One screen: the part of the window the transcript shows, under the console's own bars.
    visible = await page.get_by_test_id("transcript").evaluate("t => t.clientHeight")
    assert summary_height <= visible, f"the summary is {summary_height:.0f} of {visible} px"
    target = os.environ.get("SUMMARY_SCREENSHOT") or str(tmp_path / "summary.png")
    await page.set_viewport_size({"width": SCREEN["width"], "height": 1400})
    await card.scroll_into_view_if_needed()
    await card.screenshot(path=target)
    await toggle.click()
    await expect(body).to_be_visible()
    await expect(body.locator('[data-key="social-support"]').first).to_contain_text(
        "Social Support"
    )

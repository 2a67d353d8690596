"""The console page in headless Chromium, against the echoing stand-in engine.

Messages reach the page the way they do in production: the test delivers them through
`ConsoleAdapter.send` (what the outbox worker calls), and the page picks them up by polling.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from bot.adapters.console import ConsoleAdapter
from bot.flows.events import ActionPressed, AnswerGiven, FormSubmitted
from tests.console.conftest import ServeApp
from tests.console.samples import CHANNEL, CIO, MARIA, EchoEngine, digest, prompt

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def page(
    browser: Browser, serve_app: ServeApp, console_app: web.Application
) -> AsyncIterator[Page]:
    """A fresh browser page on a live console server, failing on any script error or dialog.

    HTTP error statuses the browser logs ("Failed to load resource") are expected in the
    tests that send bad input, so only script errors count.
    """
    base = await serve_app(console_app)
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: problems.append(f"dialog opened: {dialog.message}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    await page.goto(base + "/")
    yield page
    await context.close()
    assert problems == []


async def choose(page: Page, address: str) -> None:
    await page.get_by_test_id("person-select").select_option(address)
    await expect(page.get_by_test_id("conversation-title")).to_contain_text("Direct messages")


async def test_prompt_rating_click_and_reply(
    page: Page, adapter: ConsoleAdapter, engine: EchoEngine
) -> None:
    await adapter.send(address=MARIA, message=prompt(reminder=True), idempotency_key="p1")
    await choose(page, MARIA)

    card = page.get_by_test_id("prompt")
    await expect(card).to_be_visible()
    await expect(card.get_by_test_id("conversation-name")).to_have_text("Social Media")
    await expect(card.get_by_test_id("round-number")).to_have_text("Round 4")
    await expect(card.get_by_test_id("reminder-badge")).to_have_text("Reminder")
    await expect(card.get_by_test_id("purpose")).to_contain_text("Brand management")
    for n in range(1, 6):
        await expect(card.get_by_test_id(f"rating-button-{n}")).to_be_visible()
    await expect(card.get_by_test_id("rating-button-5")).to_contain_text("Embedded")
    for action in ("answer_all", "skip_round", "snooze"):
        await expect(card.get_by_test_id(f"action-{action}")).to_be_visible()
    await expect(card.get_by_test_id("action-skip_question")).to_have_count(0)  # required

    await card.get_by_test_id("rating-button-4").click()
    await expect(page.get_by_test_id("notice").filter(has_text="You rated it 4/5.")).to_be_visible()
    await expect(page.get_by_test_id("summary")).to_contain_text("4/5")
    # The button names the round and question it was shown with (not plain text).
    assert engine.events[-1] == AnswerGiven(
        actor=MARIA,
        actor_name="Maria Lopez",
        event_id=engine.events[-1].event_id,
        round_id=7,
        question_id="listening",
        value="4",
    )
    assert engine.events[-1].event_id  # the page sends a client id for retries

    await card.get_by_test_id("action-snooze").click()
    await expect(
        page.get_by_test_id("notice").filter(has_text="snooze round 7 value 2h")
    ).to_be_visible()
    await page.get_by_test_id("edit-listening").click()
    await expect(
        page.get_by_test_id("notice").filter(has_text="edit round 7 value listening")
    ).to_be_visible()


async def test_answer_all_form_round_trip(
    page: Page, engine: EchoEngine, adapter: ConsoleAdapter
) -> None:
    await adapter.send(address=MARIA, message=prompt(), idempotency_key="p1")
    await choose(page, MARIA)
    await page.get_by_test_id("action-answer_all").click()
    form = page.get_by_test_id("answer-form")
    await expect(form).to_be_visible()
    await expect(form.get_by_test_id("field-listening-4")).to_be_checked()
    await form.get_by_test_id("field-listening-2").check()
    await form.get_by_test_id("form-field").nth(1).get_by_text("Fan pages").click()
    await form.get_by_test_id("field-heard").fill("Pricing questions")
    await form.get_by_test_id("form-submit").click()
    await expect(page.get_by_test_id("notice").filter(has_text="Form saved")).to_be_visible()
    assert engine.events[-1] == FormSubmitted(
        actor=MARIA,
        actor_name="Maria Lopez",
        event_id=engine.events[-1].event_id,
        round_id=7,
        values={"listening": 2, "channels": ["Fan pages"], "heard": "Pricing questions"},
    )
    assert isinstance(engine.events[-2], ActionPressed)


async def test_digest_renders_in_the_cio_channel(page: Page, adapter: ConsoleAdapter) -> None:
    await adapter.send(address=CHANNEL, message=digest(), idempotency_key="d1")
    await choose(page, CIO)
    await expect(page.get_by_test_id("channel-cio").get_by_test_id("unread-dot")).to_be_visible()
    await page.get_by_test_id("channel-cio").click()
    card = page.get_by_test_id("digest")
    await expect(card).to_be_visible()
    await expect(card.get_by_test_id("digest-title")).to_contain_text("Acme Corp")
    await expect(card.get_by_test_id("maturity-stage")).to_have_text("externally mature")
    await expect(card.get_by_test_id("next-move")).to_contain_text("Partner with marketing")
    await expect(card.get_by_test_id("participation-total")).to_contain_text("4 of 6 answered")
    await expect(card.get_by_test_id("participation-bar")).to_have_count(2)
    await expect(card.get_by_test_id("group-participation").nth(1)).to_contain_text("Lee, Ana")
    await expect(card.get_by_test_id("rating-mean")).to_contain_text("3.5")
    await expect(card.get_by_test_id("rating-mean").get_by_test_id("delta")).to_have_text("▲ 0.7")
    await expect(card.get_by_test_id("distribution-bar")).to_have_count(5)
    await expect(card.get_by_test_id("choice-bar")).to_have_count(3)
    await expect(card.get_by_test_id("text-answer").first).to_contain_text("— Maria Lopez")


async def test_command_box_posts_a_digest(page: Page, adapter: ConsoleAdapter) -> None:
    await choose(page, CIO)
    await page.get_by_test_id("message-input").fill("/strategy digest")
    await page.get_by_test_id("message-input").press("Enter")
    await expect(
        page.get_by_test_id("notice").filter(has_text="Digest posted to #cio.")
    ).to_be_visible()
    await expect(page.get_by_test_id("message-input")).to_have_value("")
    await page.get_by_test_id("channel-cio").click()
    await expect(page.get_by_test_id("digest")).to_be_visible()


async def test_typed_markup_shows_as_text(page: Page, adapter: ConsoleAdapter) -> None:
    await adapter.send(
        address=CHANNEL, message=digest(text_answer=XSS, title=XSS), idempotency_key="d1"
    )
    await choose(page, MARIA)
    await page.get_by_test_id("message-input").fill(XSS)
    await page.get_by_test_id("message-input").press("Enter")
    await expect(page.get_by_test_id("user-text").last).to_have_text(XSS)
    await expect(page.get_by_test_id("notice").last).to_contain_text(XSS)
    await page.get_by_test_id("channel-cio").click()
    await expect(page.get_by_test_id("text-answer").first).to_contain_text(XSS)
    # A conversation's name is a chart label too: drawn as SVG text, never parsed.
    await expect(page.get_by_test_id("maturity-map").locator("svg text").last).to_have_text(
        XSS[:21] + "…"
    )
    await expect(page.get_by_test_id("chart-figures")).to_contain_text(XSS)
    assert await page.locator("img").count() == 0
    assert await page.evaluate("document.querySelectorAll('[onerror]').length") == 0


async def test_bad_input_error_is_shown_and_text_kept(page: Page) -> None:
    await choose(page, MARIA)
    await page.get_by_test_id("message-input").fill("boom")
    await page.get_by_test_id("send-button").click()
    await expect(page.get_by_test_id("error-banner")).to_have_text(
        "Something went wrong on our side; nothing you sent was lost."
    )
    await expect(page.get_by_test_id("message-input")).to_have_value("boom")


async def test_screenshot_of_prompt_and_digest(
    page: Page, adapter: ConsoleAdapter, tmp_path: Path
) -> None:
    """Set CONSOLE_SCREENSHOT=/some/file.png to keep the picture for a human to judge."""
    await adapter.send(address=CIO, message=prompt(reminder=True), idempotency_key="p1")
    await adapter.send(address=CIO, message=digest(), idempotency_key="d1")
    await choose(page, CIO)
    await expect(page.get_by_test_id("digest")).to_be_visible()
    # The transcript scrolls inside the page; a tall window shows both messages at once.
    await page.set_viewport_size({"width": 1360, "height": 1900})
    target = os.environ.get("CONSOLE_SCREENSHOT") or str(tmp_path / "console.png")
    await page.screenshot(path=target, full_page=True)

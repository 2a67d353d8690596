"""`export` in the console: the real app on loopback, its HTTP API, both databases.

The command is typed as the console page sends it (`POST /console/api/message`); the file
is fetched as the page's download link does (`GET /console/api/file`), and opened as a
spreadsheet program would open it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from openpyxl import load_workbook
from playwright.async_api import Browser, expect
from sqlalchemy import select, update

from bot import messages
from bot.app import RUNTIME, Runtime, build_app
from bot.config import load_settings
from bot.flows.export import HEADER
from storage import models
from tests.console.conftest import ServeApp
from tests.fakes.engine import PLAYBOOK

CIO, ADMIN, MARIA, SAM = "console:cio", "console:admin", "console:maria", "console:sam"
WORDS = "Grüße aus Köln 👋 東京の顧客 שלום"


class Console:
    """The console's HTTP API, as its page uses it."""

    def __init__(self, base: str, session: aiohttp.ClientSession, runtime: Runtime) -> None:
        self.base = base
        self.session = session
        self.runtime = runtime

    async def post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        async with self.session.post(self.base + path, json={"id": uuid.uuid4().hex, **body}) as r:
            assert r.status == 200, await r.text()
            entries: list[dict[str, Any]] = (await r.json())["entries"]
            return entries

    async def command(self, who: str, text: str, where: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"as": who, "text": text, "command": True}
        if where is not None:
            body["in"] = where
        return (await self.post("/console/api/message", body))[1:]  # after what was typed

    async def download(self, who: str, token: str) -> aiohttp.ClientResponse:
        url = f"{self.base}/console/api/file"
        response = await self.session.get(url, params={"as": who, "token": token})
        await response.read()
        return response

    def audit(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        with self.runtime.db.transaction() as s:
            return [
                (e.actor, e.action, e.target, e.detail)
                for e in s.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id))
            ]


@pytest.fixture
async def console(db_url: str, tmp_path: Path, serve_app: ServeApp) -> AsyncIterator[Console]:
    """The real app (console on, scheduler off) on each database, with one answered round."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    settings = load_settings(
        DATABASE_URL=db_url,
        PLAYBOOK_PATH=str(playbook),
        CONSOLE_ENABLED=True,
        SCHEDULER_ENABLED=False,
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
        OUTBOX_POLL_SECONDS=0.2,
    )
    app = build_app(settings)
    base = await serve_app(app)
    async with aiohttp.ClientSession() as session:
        driver = Console(base, session, app[RUNTIME])
        (opened,) = await driver.command(ADMIN, "ask social-media")
        assert "round 1 is open" in str(opened["message"]), opened
        with driver.runtime.db.transaction() as s:
            round_id = s.scalar(select(models.Round.id))
        for who, says in ((MARIA, WORDS), (SAM, "=1+1")):
            values = {"hearing": says, "external": "4", "channel": "Blogs"}
            await driver.post(
                "/console/api/form", {"as": who, "round_id": round_id, "values": values}
            )
        yield driver


def file_entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [e for e in entries if e["message"]["kind"] == "file"]
    return found


async def test_the_cio_downloads_an_xlsx_with_the_right_characters_and_no_formula(
    console: Console,
) -> None:
    entries = await console.command(CIO, "export social-media xlsx")
    notice, offered = entries
    assert notice["message"]["level"] == "success"
    assert "Exporting 1 round of Social Media as xlsx" in notice["message"]["lines"][0]
    assert offered["address"] == CIO  # the file is in the CIO's own chat
    view = offered["view"]
    assert view["kind"] == "file" and view["data"]["for"] == CIO
    token, name = view["data"]["token"], view["data"]["filename"]
    assert name.startswith("strategy-bot-social-media-") and name.endswith(".xlsx")

    response = await console.download(CIO, token)
    assert response.status == 200
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{name}"')
    book = load_workbook(io.BytesIO(await response.read()))
    rows = list(book["export"].iter_rows())
    assert tuple(c.value for c in rows[0]) == HEADER
    answer, person = HEADER.index("answer"), HEADER.index("person")
    said = {r[person].value: r[answer] for r in rows[1:] if r[answer].value in (WORDS, "=1+1")}
    assert said["Maria (Marketing)"].value == WORDS
    assert said["Sam (Sales)"].data_type == "s"  # "=1+1" is text: no formula runs

    # The download is audited once it has been handed out, just after its last byte.
    downloaded = (CIO, "export file", "social-media")
    for _ in range(100):
        actions = [(actor, action, target) for actor, action, target, _ in console.audit()]
        if downloaded in actions:
            break
        await asyncio.sleep(0.05)
    assert (CIO, "export", "social-media") in actions
    assert downloaded in actions  # the download, audited too


async def test_a_csv_asked_in_the_cio_channel_comes_to_the_askers_own_chat(
    console: Console,
) -> None:
    entries = await console.command(ADMIN, "export all since 2026-01-01", where="console:#cio")
    notice, offered = entries
    assert notice["address"] == "console:#cio"  # the answer where it was asked
    assert offered["address"] == ADMIN  # the file only in the asker's chat
    response = await console.download(ADMIN, offered["view"]["data"]["token"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert {r["answer"] for r in table} >= {WORDS, "'=1+1"}


async def test_the_file_is_for_its_requester_only_and_for_a_day(console: Console) -> None:
    (_, offered) = await console.command(CIO, "export social-media md")
    token = offered["view"]["data"]["token"]
    other = await console.download(ADMIN, token)  # an admin, but not the one who asked
    assert other.status == 404
    assert (await other.json())["error"] == messages.EXPORT_NO_SUCH_FILE
    assert (await console.download(CIO, "0" * 32)).status == 404
    assert (await console.download(CIO, "../../etc/passwd")).status == 404
    with console.runtime.db.transaction() as s:  # a day later
        (row,) = [
            r
            for r in s.scalars(
                select(models.OutboxMessage).where(models.OutboxMessage.destination == CIO)
            )
            if r.payload["kind"] == "file"
        ]
        payload = dict(row.payload, expires_at="2020-01-01T00:00:00Z")
        s.execute(
            update(models.OutboxMessage)
            .where(models.OutboxMessage.id == row.id)
            .values(payload=payload)
        )
    expired = await console.download(CIO, token)
    assert expired.status == 410
    assert (await expired.json())["error"] == messages.EXPORT_LINK_EXPIRED
    assert [a for _, a, _, _ in console.audit()].count("export file") == 0


@pytest.mark.parametrize(
    ("who", "words", "says"),
    [
        (MARIA, "export all", "Only the CIO and admins can use “export”."),
        (CIO, "export social-medai", "There is no conversation “social-medai”. Did you mean"),
        (CIO, "export all since 2999-01-01", "2999-01-01 is in the future"),
        (CIO, "export all since 2026-13-01", "is not a date"),
        (CIO, "export all pdf", "“export” does not take “pdf”"),
        (CIO, "export all since", "“since” needs a date"),
        (CIO, "export social-liability", "No round of Social Liability has been opened yet"),
    ],
)
async def test_bad_words_get_one_sentence_no_file_and_change_nothing(
    console: Console, who: str, words: str, says: str
) -> None:
    before = console.audit()
    entries = await console.command(who, words)
    (reply,) = entries
    assert reply["message"]["kind"] == "notice" and reply["message"]["level"] == "error"
    assert says in reply["message"]["lines"][0], reply["message"]["lines"]
    assert console.audit() == before


@pytest.mark.browser
async def test_the_cio_clicks_download_in_the_browser(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """Set EXPORT_SCREENSHOT=/some/file.png to keep the page for a human to judge."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    try:
        page = await context.new_page()
        await page.goto(console.base + "/")
        await page.get_by_test_id("person-select").select_option(CIO)
        await page.get_by_test_id("command-toggle").check()
        box = page.get_by_test_id("message-input")
        await box.fill("export social-media xlsx")
        await box.press("Enter")
        link = page.get_by_test_id("file-download")
        await expect(link).to_be_visible(timeout=15_000)
        await expect(page.get_by_test_id("file-title")).to_have_text("Export: Social Media")
        if os.environ.get("EXPORT_SCREENSHOT"):
            await page.screenshot(path=os.environ["EXPORT_SCREENSHOT"])
        async with page.expect_download() as waiting:
            await link.click()
        download = await waiting.value
        assert download.suggested_filename.endswith(".xlsx")
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        sheet = load_workbook(saved)["export"]
        texts = {c.value for row in sheet.iter_rows() for c in row}
        assert WORDS in texts and "=1+1" in texts
    finally:
        await context.close()


async def test_an_answer_forgotten_after_the_export_was_asked_is_not_in_its_file(
    console: Console,
) -> None:
    (_, offered) = await console.command(CIO, "export social-media")
    (erased,) = await console.command(ADMIN, "forget console:maria")
    assert erased["message"]["level"] == "success"
    response = await console.download(CIO, offered["view"]["data"]["token"])
    assert response.status == 200
    text = (await response.read()).decode("utf-8-sig")
    assert WORDS not in text and "Maria" not in text  # built when handed out: no copy kept
    assert "'=1+1" in text  # Sam's answer is still there

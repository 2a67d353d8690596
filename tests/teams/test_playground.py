"""Teams end to end in Microsoft's own emulator: the real bot, the Agents Playground, Chromium.

The Microsoft 365 Agents Playground (`@microsoft/m365agentsplayground`, pinned in
`tests/teams/playground/package-lock.json`, installed by `make playground-deps`) is the
local Teams emulator: a web UI that looks like Teams and a mock Bot Connector. It POSTs
activities to our `/api/messages` with its own `/_connector` as `serviceUrl`, so everything
the bot sends (replies through the outbox, proactive prompts and digests, card updates)
goes back to it and is rendered with Teams' Adaptive Card renderer. It works offline and
headless; it needs no login, and telemetry is switched off.

The test starts the real application (real engine, outbox and Teams adapter on a SQLite
file) on a free loopback port, with Teams mounted without an app id (unauthenticated, which
the playground expects: it sends no token), starts the playground pointed at it on another
free port, and drives the playground's page in headless Chromium as the admin (who is
also a stakeholder): `help`; the app is installed in the CIO channel; `ask social-media`
opens a round and the prompt card arrives; the first question is answered by a reply, the
rest in the form, and the form turns into a read-only summary; `close social-media` posts
the digest in the CIO channel.

Node.js and the installed playground are required: when either is missing the test fails
with what to do, it is never skipped.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from sqlalchemy import select

from bot.adapters.teams.app import MESSAGES_PATH
from bot.app import RUNTIME, Runtime, build_app
from bot.config import load_settings
from storage import models
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.fakes.engine import PLAYBOOK

pytestmark = pytest.mark.browser

PLAYGROUND_DIR = Path(__file__).parent / "playground"
PLAYGROUND_CLI = PLAYGROUND_DIR / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
WAIT_MS = 15_000  # the longest a UI step may take (delivery goes through the outbox)
START_SECONDS = 30.0  # the longest the playground may take to listen

# The Teams world the playground emulates (its config file): who is typing, the bot, the
# team and its channels. Ids are shaped like Teams' own.
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ADA_AAD = "6a1e0c2d-0000-4000-8000-00000000ada0"  # the admin, CIO and a stakeholder
BEN_AAD = "6a1e0c2d-0000-4000-8000-00000000beb0"  # a stakeholder who never opens Teams
ADA = f"teams:{ADA_AAD}"
BEN = f"teams:{BEN_AAD}"
TEAM_ID = "19:strategy0general@thread.tacv2"  # also the General channel's id
CIO_CHANNEL_ID = "19:strategy0cio@thread.tacv2"
TEAM_NAME = "Strategy"


def _user(key: str, name: str, aad: str) -> dict[str, str]:
    given, surname = name.split(" ", 1)
    return {
        "id": f"29:1{key}-teams-id",
        "name": name,
        "userPrincipleName": f"{key}@example.com",
        "aadObjectId": aad,
        "givenName": given,
        "surname": surname,
        "email": f"{key}@example.com",
    }


def playground_config() -> dict[str, Any]:
    """The playground's `.m365agentsplayground.yml` (its schema wants exactly five users)."""
    others = [("ben", "Ben Sales", BEN_AAD)] + [
        (f"user{n}", f"User Number{n}", f"6a1e0c2d-0000-4000-8000-00000000000{n}")
        for n in range(1, 5)
    ]
    return {
        "version": "0.1.1",
        "tenantId": TENANT,
        "bot": {"id": "28:strategy-bot-app-id", "name": "Strategy Bot"},
        "currentUser": _user("ada", "Ada Admin", ADA_AAD),
        "users": [_user(*other) for other in others],
        "personalChat": {"id": "a:1personal-ada"},
        "groupChat": {"id": "19:strategy0group@thread.v2", "name": "Group Chat"},
        "team": {
            "id": TEAM_ID,
            "name": TEAM_NAME,
            "aadGroupId": "6a1e0c2d-0000-4000-8000-0000000000f0",
            "channels": [{"id": CIO_CHANNEL_ID, "name": "CIO"}],
        },
    }


def playbook() -> dict[str, Any]:
    """One conversation; Ada is admin, CIO and stakeholder; Ben keeps the round open."""
    social_media = copy.deepcopy(PLAYBOOK["conversations"][0])
    assert social_media["key"] == "social-media"
    del social_media["reminders"]
    return {
        "organisation": "Acme",
        "cio_channel": f"teams:{CIO_CHANNEL_ID}",
        "roles": {"cio": [ADA], "admins": [ADA]},
        "groups": {
            "marketing": {
                "title": "Marketing, PR and sales",
                "members": [{"id": ADA, "name": "Ada Admin"}, {"id": BEN, "name": "Ben Sales"}],
            },
        },
        # The engine tests' Social Media agenda, without reminders (the round is short).
        "conversations": [social_media],
    }


# -- the bot ------------------------------------------------------------------------------


@pytest.fixture
async def bot(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, Runtime]]:
    """The real app with Teams mounted, on a free loopback port; its messages URL."""
    db = tmp_path / "bot.db"
    shutil.copy(sqlite_template, db)
    book = tmp_path / "playbook.yml"
    book.write_text(yaml.safe_dump(playbook(), sort_keys=False))
    settings = load_settings(
        DATABASE_URL=f"sqlite:///{db}",
        PLAYBOOK_PATH=str(book),
        SLACK_BOT_TOKEN=None,
        SLACK_SIGNING_SECRET=None,
        SLACK_APP_TOKEN=None,
        MICROSOFT_APP_ID=None,  # the playground sends no token and checks none
        TEAMS_ENABLED=True,  # so Teams is served unauthenticated, as for a trial by hand
        CONSOLE_ENABLED=False,
        SCHEDULER_ENABLED=False,
        OUTBOX_POLL_SECONDS=0.2,
    )
    app = build_app(settings, migrate=False)
    runtime = app[RUNTIME]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}{MESSAGES_PATH}", runtime
    finally:
        await runner.cleanup()


# -- the playground -----------------------------------------------------------------------


@dataclass
class Playground:
    """The running playground: its UI address and what it printed."""

    url: str
    output: list[str]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is missing: tests/teams/test_playground.py runs Microsoft's Teams emulator"
            " (@microsoft/m365agentsplayground), which needs Node.js 20+ and npm;"
            " install them, then run `make playground-deps`."
        )
    if not PLAYGROUND_CLI.exists():
        pytest.fail(
            f"{PLAYGROUND_CLI} is missing: run `make playground-deps`"
            " (npm ci --prefix tests/teams/playground)."
        )
    return node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def playground(bot: tuple[str, Runtime], tmp_path: Path) -> AsyncIterator[Playground]:
    """Microsoft 365 Agents Playground in Teams mode, pointed at the bot."""
    node = _node()
    endpoint, _ = bot
    home = tmp_path / "playground"
    home.mkdir()
    config = home / ".m365agentsplayground.yml"
    config.write_text(yaml.safe_dump(playground_config(), sort_keys=False))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_", "BOT_ENDPOINT"))
    }
    env.update(
        M365_AGENTS_PLAYGROUND_CONFIG_PATH=str(config),
        M365_AGENTS_PLAYGROUND_LOGFILE=str(home / "playground.log"),
        TEAMSAPPTESTER_BROWSER="none",  # never try to open a desktop browser
    )
    # The playground takes another port if this one is taken meanwhile; it says which.
    args = ["-c", "msteams", "-e", endpoint, "-p", str(_free_port()), "--disable-telemetry"]
    proc = await asyncio.create_subprocess_exec(
        node,
        str(PLAYGROUND_CLI),
        *args,
        cwd=home,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def read() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            found = re.match(r"Listening on (\d+)$", line)
            if found and not listening.done():
                listening.set_result(int(found[1]))

    reader = asyncio.create_task(read())
    exited = asyncio.create_task(proc.wait())
    try:
        done, _ = await asyncio.wait(
            {listening, exited}, timeout=START_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        if listening not in done:
            await asyncio.wait({reader}, timeout=1)  # the last lines it printed
            pytest.fail(
                f"the playground did not start within {START_SECONDS:.0f} s"
                f" (exit code {proc.returncode}); it printed:\n" + "\n".join(output)
            )
        yield Playground(url=f"http://127.0.0.1:{listening.result()}/", output=output)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(exited), 10)
            except TimeoutError:
                proc.kill()
        await exited
        await reader
        listening.cancel()


# -- the browser --------------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium; fails (not skips) when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium"
            " (run `make browser-deps`, or apt-get install chromium)."
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, playground: Playground) -> AsyncIterator[Page]:
    """The playground's page, offline (its web fonts come from a CDN), failing on script errors."""
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    local = playground.url.rstrip("/")
    await context.route(lambda url: not url.startswith(local), lambda route: route.abort())
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(playground.url)
    yield page
    await context.close()
    assert errors == [], f"script errors in the playground page: {errors}"


async def say(page: Page, text: str) -> None:
    """Type a message in the open chat's compose box and send it."""
    box = page.locator("[data-lexical-editor=true]")
    await box.click()
    await box.press_sequentially(text)
    await box.press("Enter")


def card(page: Page, text: str) -> Locator:
    """The Adaptive Cards on the page that contain `text` (the last is the newest)."""
    return page.locator(".ac-adaptiveCard").filter(has_text=text)


async def visible(locator: Locator) -> None:
    await expect(locator).to_be_visible(timeout=WAIT_MS)


async def settled_outbox(runtime: Runtime) -> list[tuple[str, str]]:
    """(destination, status) of every outbox row, once none is pending (or after WAIT_MS)."""
    deadline = asyncio.get_running_loop().time() + WAIT_MS / 1000
    while True:
        with runtime.db.transaction() as session:
            rows = session.execute(
                select(models.OutboxMessage.destination, models.OutboxMessage.status)
            ).all()
        found = [(str(destination), str(status)) for destination, status in rows]
        if all(status != "pending" for _, status in found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


# -- the test -----------------------------------------------------------------------------


async def test_help_round_and_digest_in_the_teams_playground(
    page: Page, bot: tuple[str, Runtime]
) -> None:
    _, runtime = bot
    chats = page.get_by_role("treeitem")
    cio = chats.filter(has_text=TEAM_NAME).filter(has_text="CIO")

    # Opening the page installs the app in Ada's personal chat: the welcome card arrives
    # proactively, through the playground's connector.
    await visible(card(page, "Welcome to strategy-bot"))

    await say(page, "help")
    commands = card(page, "strategy-bot commands")
    await visible(commands)
    await visible(commands.get_by_text("open a round now"))  # an admin's commands too

    # Opening the CIO channel installs the app there (where digests are posted).
    await cio.click()
    await visible(card(page, "Welcome to strategy-bot"))
    await chats.filter(has_text="Personal Chat").click()

    await say(page, "ask social-media")
    first = card(page, "What are you hearing from customers?")
    await visible(first.last)
    await visible(page.get_by_text("Social Media: round 1 is open"))

    # A reply answers the waiting question; the next one arrives as a card.
    await say(page, "Customers love the blog")
    second = card(page, "How mature is our customer-facing social work?").last
    await visible(second)

    # The rest in the form: a choice set, radio buttons, Action.Submit.
    await second.get_by_role("button", name="Answer all in a form").click()
    form = page.locator(".ac-adaptiveCard").filter(
        has=page.get_by_role("button", name="Submit answers")
    )
    await visible(form)
    await form.get_by_role("combobox").click()
    await page.get_by_role("option", name="4", exact=True).click()
    await form.get_by_label("Blogs").check()
    await form.get_by_label("Yes").check()
    await form.get_by_role("button", name="Submit answers").click()

    # The form is updated in place to the read-only summary (PUT on the connector), and a
    # summary with edit buttons follows.
    await expect(form).to_have_count(0, timeout=WAIT_MS)
    summary = card(page, "Customers love the blog").filter(has_text="4/5").filter(has_text="Blogs")
    await expect(summary).to_have_count(2, timeout=WAIT_MS)
    await visible(page.get_by_role("button", name="Edit answer 1"))

    await say(page, "close social-media")
    await visible(page.get_by_text("Social Media round 1 closed: 1 of 2 answered"))
    await cio.click()
    digest = card(page, "Strategy digest").filter(has_text="Round 1 · closed")
    await visible(digest)
    await visible(digest.get_by_text("1 of 2 answered (50%)"))
    await visible(digest.get_by_text("Customers love the blog"))

    # Everything for Ada and the channel was delivered; Ben never installed the app.
    rows = await settled_outbox(runtime)
    statuses: dict[str, set[str]] = {}
    for destination, status in rows:
        statuses.setdefault(destination, set()).add(status)
    assert statuses[ADA] == {"sent"}, rows
    assert statuses[f"teams:{CIO_CHANNEL_ID}"] == {"sent"}, rows
    assert statuses[BEN] == {"failed"}, rows

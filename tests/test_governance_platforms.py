"""The governance commands over every platform's real path, on SQLite and PostgreSQL.

Why a module of its own: `forget <person>`, `mine history`, `mine export` and `audit` are
tested in the engine (`tests/flows/test_privacy.py`, `test_audit.py`), but what makes them
safe is also what each platform does with their replies: a person's own data must reach
that person only (a Slack ephemeral reply or their DM, a Teams personal chat, the
console's DM), never a channel, even when they ask in one; their answers must read as they
typed them (escaped for Slack mrkdwn and Teams Markdown); a stakeholder asking for an
admin's command must get the refusal and change nothing; and `forget` must leave no trace
of the person's words in any table, whichever platform's tables (Slack's DM channels,
Teams' conversation references) the requests went through.

So each behaviour is one test, parametrised over the three platforms and both databases
(`db_url` from tests/conftest.py): the real app (`bot.app.build_app`) serves on loopback,
with the scheduler off, and is driven as each platform drives it: signed `/strategy`
slash commands and DM events through slack-bolt against the fake Slack Web API
(tests/fakes/slack_api.py), activities through botbuilder against the fake Bot Connector
(tests/fakes/bot_connector.py), and the console's JSON API (`/console/api/message`,
`/console/api/feed`). What people read is what reached the fake (or the console's feed).
A small driver per platform (`say`, `answer`, `replies`, `channel_posts`) hides how; the
assertions are the same for all three.

The clock is frozen (`pytest.mark.instants`, ticking on from one instant), so the dates the
audit log shows and `audit since <date>` are the test's, not the wall clock's.

The harness fixtures of tests/slack, tests/teams and tests/console build SQLite apps from
a template; these are built here from their public helpers with `DATABASE_URL=db_url`.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import time_machine
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.adapters.slack import mrkdwn
from bot.adapters.teams import markdown
from bot.adapters.teams.app import mount_teams
from bot.app import RUNTIME, Runtime, build_app
from bot.config import load_settings
from storage import models
from storage.db import Database
from storage.references import References
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.engine import PLAYBOOK
from tests.fakes.slack_api import FakeSlackApi, Recorded
from tests.fakes.state import stored_answers
from tests.flows.table_scan import traces
from tests.instants import Instant
from tests.slack import conftest as slack_harness
from tests.teams import conftest as teams_harness

pytestmark = pytest.mark.instants("tue-1st-1344z")

# The people, by the name every driver knows them by.
MARIA, SAM, ADMIN, CIO = "maria", "sam", "admin", "cio"
MARIA_NAME = "Maria (Marketing)"
# Typed with characters each platform's markup would take for its own.
MARIA_SAID = "Customers ask for R&D <news> on the *zebra* tariff"
MARIA_REPLIES = (MARIA_SAID, "4", "Blogs", "yes")
SAM_SAID = "Sales hear about delivery times"

SETTLE_SECONDS = 20.0


def strings(node: Any) -> Iterator[str]:
    """Every string in a JSON document (a Slack payload, a card, a console view)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def shown(node: Any) -> str:
    """What a message shows, as one text (its strings, one a line)."""
    return "\n".join(strings(node))


class Platform(ABC):
    """One platform's way in and out, over its real request path."""

    name: ClassVar[str]

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._ids = itertools.count(1)

    @property
    def db(self) -> Database:
        """The app's own database."""
        return self.runtime.db

    @abstractmethod
    def identity(self, person: str) -> str:
        """The person's identity on this platform (the engine's address)."""

    @abstractmethod
    def naming(self, person: str) -> str:
        """How an admin names the person in `forget` here."""

    @abstractmethod
    def escaped(self, text: str) -> str:
        """How a message of this platform carries typed text (its markup's escaping)."""

    def footprints(self, person: str) -> list[str]:
        """The platform's own ids and names for the person, besides their identity."""
        return []

    @abstractmethod
    async def _command(self, person: str, text: str, *, in_channel: bool) -> None: ...

    @abstractmethod
    async def _answer(self, person: str, text: str) -> None: ...

    @abstractmethod
    async def replies(self, person: str) -> list[str]:
        """Everything the bot showed this person only, oldest first."""

    @abstractmethod
    async def channel_posts(self) -> list[str]:
        """Everything the bot showed in a channel, where others read it."""

    @abstractmethod
    async def start(self) -> None:
        """Whatever people do before the bot can reach them (a Teams install)."""

    async def say(self, person: str, text: str, *, in_channel: bool = False) -> None:
        """The person gives a command, in their own chat or in the CIO channel; returns
        when everything it caused was delivered.
        """
        await self._command(person, text, in_channel=in_channel)
        await self.settle()

    async def answer(self, person: str, text: str) -> None:
        """The person types a reply in their own chat (an answer to the waiting question)."""
        await self._answer(person, text)
        await self.settle()

    async def reply_to(self, person: str, text: str, *, in_channel: bool = False) -> str:
        """What the bot answered the person's command (the one new private reply)."""
        before = len(await self.replies(person))
        await self.say(person, text, in_channel=in_channel)
        new = (await self.replies(person))[before:]
        assert len(new) == 1, f"{self.name}: {text!r} got {len(new)} replies: {new}"
        return new[0]

    async def settle(self) -> None:
        """Wait until no command waits to run and no message waits to be delivered."""
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while True:
            with self.db.transaction() as s:
                commands = s.scalar(
                    select(func.count())
                    .select_from(models.PendingCommand)
                    .where(models.PendingCommand.status == "pending")
                )
                unsent = s.execute(
                    select(models.OutboxMessage.destination, models.OutboxMessage.status).where(
                        models.OutboxMessage.status.in_(("pending", "sending"))
                    )
                ).all()
            if not commands and not unsent:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.name}: not settled: {commands} commands, {unsent}")
            await asyncio.sleep(0.05)

    def answers(self, person: str) -> dict[str, Any]:
        """The person's stored answers, by question id."""
        return stored_answers(self.db, self.identity(person))


class Slack(Platform):
    """Signed `/strategy` commands and DM events through slack-bolt; the fake Web API."""

    name = "slack"
    USERS: ClassVar[dict[str, str]] = {
        MARIA: slack_harness.MARIA,
        SAM: slack_harness.SAM,
        ADMIN: slack_harness.ADMIN,
        CIO: slack_harness.CIO,
    }

    def __init__(self, driver: slack_harness.SlackDriver) -> None:
        super().__init__(driver.runtime)
        self.driver = driver
        self.fake = driver.fake

    def identity(self, person: str) -> str:
        return f"slack:{self.USERS[person]}"

    def naming(self, person: str) -> str:
        return "@" + self.USERS[person]  # as README says: `@U…` in Slack

    def escaped(self, text: str) -> str:
        return mrkdwn.escape(text)

    def footprints(self, person: str) -> list[str]:
        return [self.USERS[person]]  # the bare user id (a DM channel's row, "@U0…")

    async def start(self) -> None:
        """Nothing: the bot opens a DM with anyone in the workspace."""

    async def _command(self, person: str, text: str, *, in_channel: bool) -> None:
        user = self.USERS[person]
        channel = slack_harness.CIO_CHANNEL if in_channel else "D" + user[1:]
        name = f"{person}-{next(self._ids)}"  # each reply's response_url names its asker
        response = await self.driver.command(user, text, channel=channel, name=name)
        assert response.status == 200

    async def _answer(self, person: str, text: str) -> None:
        # Slack sends what was typed with &, < and > as entities.
        typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert (await self.driver.dm(self.USERS[person], typed)).status == 200

    def _private(self, person: str, r: Recorded) -> bool:
        if r.method == "respond":  # a reply to a command this person typed, only for them
            asked = r.path.startswith(f"/respond/{person}-")
            return asked and r.body.get("response_type") == "ephemeral"
        dm = "D" + self.USERS[person][1:]
        return r.method == "chat.postMessage" and r.body.get("channel") == dm

    async def replies(self, person: str) -> list[str]:
        return [shown(r.body) for r in self.fake.requests if self._private(person, r)]

    async def channel_posts(self) -> list[str]:
        public = [
            r
            for r in self.fake.calls("chat.postMessage")
            if not str(r.body.get("channel", "")).startswith("D")
        ]
        # A response_url reply that is not ephemeral is seen by the whole channel.
        public += [
            r for r in self.fake.calls("respond") if r.body.get("response_type") != "ephemeral"
        ]
        return [shown(r.body) for r in public]


class Teams(Platform):
    """Activities through botbuilder; replies read from the fake Bot Connector."""

    name = "teams"

    def __init__(self, driver: teams_harness.TeamsDriver) -> None:
        super().__init__(driver.runtime)
        self.driver = driver
        self.fake = driver.fake

    def identity(self, person: str) -> str:
        return teams_harness.address(person)

    def naming(self, person: str) -> str:
        return MARIA_NAME if person == MARIA else self.identity(person)  # by full name

    def escaped(self, text: str) -> str:
        return markdown.escape(text)

    def footprints(self, person: str) -> list[str]:
        # What an activity says of its sender: AAD object id, Teams user id and name.
        sender = self.driver.activity("message", person)["from"]
        return [sender["aadObjectId"], sender["id"], sender["name"]]

    async def start(self) -> None:
        await self.driver.join(MARIA, SAM, ADMIN, CIO)
        await self.driver.join_channel()

    async def _command(self, person: str, text: str, *, in_channel: bool) -> None:
        channel = teams_harness.CIO_CHANNEL if in_channel else None
        assert (await self.driver.say(person, text, channel=channel)).status == 200

    async def _answer(self, person: str, text: str) -> None:
        assert (await self.driver.say(person, text)).status == 200

    @staticmethod
    def _text(sent: Any) -> str:
        return shown({"text": sent.body.get("text"), "attachments": sent.body.get("attachments")})

    async def replies(self, person: str) -> list[str]:
        chat = teams_harness.chat(person)
        return [
            self._text(r)
            for r in self.fake.requests
            if r.kind != "update" and r.conversation == chat
        ]

    async def channel_posts(self) -> list[str]:
        return [
            self._text(r)
            for r in self.fake.requests
            if r.kind != "update" and not r.conversation.startswith("a:")
        ]


class Console(Platform):
    """The console's JSON API, as the page uses it: typed text in, the feed out."""

    name = "console"
    CHANNEL = "console:#cio"

    def __init__(self, client: TestClient[Any, Any], runtime: Runtime) -> None:
        super().__init__(runtime)
        self.client = client

    def identity(self, person: str) -> str:
        return f"console:{person}"

    def naming(self, person: str) -> str:
        return self.identity(person)

    def escaped(self, text: str) -> str:
        return text  # the view carries text as typed; the page escapes it (tests/console)

    async def start(self) -> None:
        """Nothing: everyone in the playbook has a console DM."""

    async def _post(self, person: str, text: str, where: str | None) -> None:
        body: dict[str, Any] = {"as": self.identity(person), "text": text, "id": str(uuid.uuid4())}
        if where is not None:
            body["in"] = where
        response = await self.client.post("/console/api/message", json=body)
        assert response.status == 200, await response.text()

    async def _command(self, person: str, text: str, *, in_channel: bool) -> None:
        await self._post(person, text, self.CHANNEL if in_channel else None)

    async def _answer(self, person: str, text: str) -> None:
        await self._post(person, text, None)

    async def _feed(self, address: str) -> list[str]:
        response = await self.client.get("/console/api/feed", params={"address": address})
        assert response.status == 200, await response.text()
        entries = (await response.json())["entries"]
        return [shown(e["view"]) for e in entries if e["from"] == "bot"]

    async def replies(self, person: str) -> list[str]:
        return await self._feed(self.identity(person))

    async def channel_posts(self) -> list[str]:
        return await self._feed(self.CHANNEL)


# --- the apps, on the database of `db_url` -----------------------------------------------


def _playbook(tmp_path: Path, book: dict[str, Any]) -> Path:
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    return path


QUIET = {
    "SCHEDULER_ENABLED": False,  # tests open and close rounds themselves
    "TICK_SECONDS": 3600,
    "OUTBOX_POLL_SECONDS": 0.2,
    "OUTBOX_DESTINATION_INTERVAL_SECONDS": 0.05,  # pacing is tested in tests/delivery
}


async def _slack(db_url: str, tmp_path: Path) -> AsyncIterator[Platform]:
    fake = FakeSlackApi()
    for user, name in (
        (slack_harness.MARIA, "Maria Rossi"),
        (slack_harness.SAM, "Sam Weber"),
        (slack_harness.ADMIN, "Alex Admin"),
        (slack_harness.CIO, "Chris CIO"),
        (slack_harness.LEE, "Lee Park"),
    ):
        fake.add_user(user, name, tz="Europe/Berlin")
    await fake.start()
    try:
        book = _playbook(tmp_path, slack_harness.slack_playbook())
        app = build_app(slack_harness.slack_settings(fake, db_url, book, **QUIET), migrate=False)
        async with TestClient(TestServer(app)) as client:
            yield Slack(slack_harness.SlackDriver(client, fake, app[RUNTIME]))
    finally:
        await fake.stop()


async def _teams(db_url: str, tmp_path: Path) -> AsyncIterator[Platform]:
    fake = FakeBotConnector()
    await fake.start()
    try:
        settings = load_settings(
            DATABASE_URL=db_url,
            PLAYBOOK_PATH=str(_playbook(tmp_path, teams_harness.teams_playbook())),
            SLACK_BOT_TOKEN=None,
            SLACK_SIGNING_SECRET=None,
            MICROSOFT_APP_ID=None,  # unauthenticated: driven by the fake connector
            CONSOLE_ENABLED=False,
            **QUIET,
        )
        app = build_app(settings, migrate=False)
        runtime = app[RUNTIME]
        if "teams" not in runtime.adapters:  # no app id: mount it as bot.app would
            runtime.adapters["teams"] = mount_teams(
                app, runtime, runtime.settings, References(runtime.db)
            )
        async with TestClient(TestServer(app)) as client:
            yield Teams(teams_harness.TeamsDriver(client, fake, runtime))
    finally:
        await fake.stop()


async def _console(db_url: str, tmp_path: Path) -> AsyncIterator[Platform]:
    settings = load_settings(
        DATABASE_URL=db_url,
        PLAYBOOK_PATH=str(_playbook(tmp_path, PLAYBOOK)),
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
        CONSOLE_ENABLED=True,
        **QUIET,
    )
    app: web.Application = build_app(settings, migrate=False)
    async with TestClient(TestServer(app)) as client:
        yield Console(client, app[RUNTIME])


BUILDERS = {"slack": _slack, "teams": _teams, "console": _console}


@pytest.fixture(params=sorted(BUILDERS))
async def platform(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The real app on one platform, on the database of `db_url`, people ready."""
    async for driver in BUILDERS[request.param](db_url, tmp_path):
        await driver.start()
        yield driver


# --- a round to govern -------------------------------------------------------------------


async def answered_round(bot: Platform) -> None:
    """The admin opens Social Media; Maria answers every question by typing, Sam only the
    first; the admin closes it, and the digest with both quotes goes to the CIO channel.
    """
    await bot.say(ADMIN, "ask social-media")
    for text in MARIA_REPLIES:
        await bot.answer(MARIA, text)
    await bot.answer(SAM, SAM_SAID)
    assert bot.answers(MARIA)["hearing"] == MARIA_SAID
    assert bot.answers(SAM) == {"hearing": SAM_SAID}
    await bot.say(ADMIN, "close social-media")
    digest = "\n".join(await bot.channel_posts())
    assert bot.escaped(MARIA_SAID) in digest and SAM_SAID in digest


def display_name(bot: Platform, person: str) -> str:
    with bot.db.transaction() as s:
        name = s.scalar(
            select(models.Member.display_name).where(models.Member.identity == bot.identity(person))
        )
    assert name is not None
    return name


def needles(bot: Platform, person: str, said: str) -> list[str]:
    """What would be a trace of the person: identity, names, ids, their words."""
    return [bot.identity(person), display_name(bot, person), said, *bot.footprints(person)]


def kept(bot: Platform, wanted: list[str]) -> list[str]:
    """Traces outside the commands received (Slack's intake keeps each, refused or not)."""
    return [t for t in traces(bot.db, wanted) if not t.startswith("pending_commands.")]


def line_of(text: str, part: str) -> str:
    """The line of a message that holds `part` (the shortest: Slack's fallback text is
    every line in one).
    """
    found = [line for line in text.splitlines() if part in line]
    assert found, (part, text)
    return min(found, key=len)


def audit_count(bot: Platform) -> int:
    with bot.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(models.AuditEntry)) or 0


# --- the behaviours ------------------------------------------------------------------------


@pytest.mark.parametrize("in_channel", [False, True], ids=["own-chat", "cio-channel"])
async def test_mine_history_shows_me_my_answers_and_only_me(
    platform: Platform, in_channel: bool
) -> None:
    await answered_round(platform)
    posted = len(await platform.channel_posts())

    history = await platform.reply_to(MARIA, "mine history", in_channel=in_channel)

    assert "What is stored about you" in history
    assert f"Identity: {platform.identity(MARIA)}" in history
    assert platform.escaped(MARIA_SAID) in history
    assert "Social Media · round 1" in history
    assert SAM_SAID not in history  # her own answers only
    channel = await platform.channel_posts()
    assert len(channel) == posted  # nothing in any channel, even when asked in one
    assert not any(platform.escaped(MARIA_SAID) in post for post in channel[posted:])
    assert not any("What is stored about you" in r for r in await platform.replies(SAM))


@pytest.mark.parametrize("in_channel", [False, True], ids=["own-chat", "cio-channel"])
async def test_mine_export_gives_me_a_document_of_my_answers_only_me(
    platform: Platform, in_channel: bool
) -> None:
    await answered_round(platform)
    posted = len(await platform.channel_posts())

    export = await platform.reply_to(MARIA, "mine export", in_channel=in_channel)

    assert "Your data (export)" in export
    assert "strategy-bot: your stored data" in export
    assert f"Identity: {platform.identity(MARIA)}" in export
    assert platform.escaped(MARIA_SAID) in export and SAM_SAID not in export
    assert len(await platform.channel_posts()) == posted


@pytest.mark.parametrize("command", ["audit", "forget"])
async def test_a_stakeholder_is_refused_the_admin_commands_and_nothing_changes(
    platform: Platform, command: str
) -> None:
    await platform.say(ADMIN, "ask social-media")
    for text in MARIA_REPLIES:
        await platform.answer(MARIA, text)
    # Sam's question is waiting: a complete command is still a command, not his answer.
    words = f"forget {platform.naming(MARIA)}" if command == "forget" else "audit"
    maria = needles(platform, MARIA, MARIA_SAID)
    before, entries = kept(platform, maria), audit_count(platform)

    refusal = await platform.reply_to(SAM, words)

    assert f"Only admins can use “{command}”." in refusal
    assert kept(platform, maria) == before
    assert platform.answers(MARIA)["hearing"] == MARIA_SAID
    assert platform.answers(SAM) == {}
    assert audit_count(platform) == entries
    assert "Audit log" not in refusal and "Erased" not in refusal


async def test_forget_by_an_admin_erases_the_persons_words_everywhere(
    platform: Platform,
) -> None:
    await answered_round(platform)
    await platform.say(MARIA, "mine history", in_channel=True)  # she was there too
    maria = needles(platform, MARIA, MARIA_SAID)
    assert len(traces(platform.db, maria)) > 5  # the scan finds her before

    receipt = await platform.reply_to(ADMIN, f"forget {platform.naming(MARIA)}")

    assert "Forgotten" in receipt
    assert "Erased everything stored about the person you named: 4 answers" in receipt
    assert "Kept: the counts, means and medians" in receipt
    assert "still listed in the playbook (marketing)" in receipt
    assert MARIA_NAME not in receipt and platform.identity(MARIA) not in receipt
    assert traces(platform.db, maria) == []
    assert traces(platform.db, [SAM_SAID])  # what others said stays
    assert platform.answers(MARIA) == {}


async def test_audit_lists_the_governance_actions_by_actor_and_platform(
    platform: Platform, instant: Instant
) -> None:
    await answered_round(platform)
    await platform.say(MARIA, "mine history")
    await platform.say(MARIA, "mine export")
    await platform.say(ADMIN, f"forget {platform.naming(MARIA)}")
    admin = platform.identity(ADMIN)
    assert admin.startswith(f"{platform.name}:")  # the identity names the platform
    first = instant.utc.date()
    later = first + timedelta(days=3)
    with time_machine.travel(instant.utc + timedelta(days=3), tick=True):
        await platform.say(ADMIN, "pause social-media")

        log = await platform.reply_to(ADMIN, "audit")
        since = await platform.reply_to(ADMIN, f"audit since {later:%Y-%m-%d}")
        one = await platform.reply_to(ADMIN, "audit social-media")
        future = await platform.reply_to(ADMIN, f"audit since {later + timedelta(days=1):%Y-%m-%d}")

    assert "Audit log" in log
    for day, entry in (
        (later, f"{admin} · pause social-media"),
        (first, f"{admin} · forget a person (answers 4, digests 1, rounds 1)"),
        (first, "[forgotten] · mine export their own data"),
        (first, "[forgotten] · mine history their own data"),
        (first, f"{admin} · close social-media (round 1)"),
        (first, f"{admin} · ask social-media (round 1)"),
    ):
        line = line_of(log, platform.escaped(entry))
        assert line.startswith(f"{day:%Y-%m-%d} ") and " UTC · " in line, (entry, log)
    order = [log.index(w) for w in ("pause", "forget a", "mine export", "close", "ask social")]
    assert order == sorted(order)  # newest first
    assert platform.identity(MARIA) not in log
    assert "pause social-media" in since and "ask social-media" not in since
    assert all(w in one for w in ("pause social-media", "close social-media", "ask social-media"))
    assert "forget" not in one and "mine history" not in one
    assert f"{later + timedelta(days=1):%Y-%m-%d} is in the future" in future
    assert "Audit log" not in future

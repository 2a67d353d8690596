"""The real app with Teams mounted, on loopback, against a fake Bot Connector.

`build_app` + `mount_teams` give the real botbuilder path: activities shaped like the ones
Teams sends (personal and channel conversations, Teams `channelData`, AAD object ids) are
POSTed to `/api/messages`, authenticated (or not) by botbuilder's `CloudAdapter`, run
through the real engine on a SQLite file, and answered by the real outbox worker through
botbuilder's connector client. Their `serviceUrl` is `FakeBotConnector.service_url`, so
everything the bot sends lands there and is recorded.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.adapters.teams.adapter import TeamsAdapter
from bot.adapters.teams.app import MESSAGES_PATH, mount_teams
from bot.app import RUNTIME, Runtime, build_app
from bot.config import load_settings
from storage import models
from storage.references import References
from tests.fakes.bot_connector import FakeBotConnector, Recorded
from tests.fakes.engine import PLAYBOOK
from tests.fakes.state import outbox_outcomes, stored_answers

TENANT = "72f988bf-0000-0000-0000-2d7cd011db47"
BOT_ID = "28:bot-app-id"
MARIA, SAM, ADMIN, CIO, LEE = "maria", "sam", "admin", "cio", "lee"
CIO_CHANNEL = "19:cio0channel@thread.tacv2"
TEAM_ID = "19:team0general@thread.tacv2"


def aad(user: str) -> str:
    """The AAD object id of a test user."""
    return f"00000000-0000-0000-0000-{user:0>12}"


def address(user: str) -> str:
    """The engine address of a test user."""
    return f"teams:{aad(user)}"


def chat(user: str) -> str:
    """The personal chat id Teams gives a user with the bot."""
    return f"a:1personal-{user}"


def teams_playbook() -> dict[str, Any]:
    """The engine tests' playbook with Teams identities."""
    book = copy.deepcopy(PLAYBOOK)
    book["cio_channel"] = f"teams:{CIO_CHANNEL}"
    book["roles"] = {"cio": [address(CIO)], "admins": [address(ADMIN)]}
    book["groups"]["marketing"]["members"] = [
        {"id": address(MARIA), "name": "Maria (Marketing)"},
        {"id": address(SAM), "name": "Sam (Sales)"},
    ]
    book["groups"]["legal"]["members"] = [{"id": address(LEE), "name": "Lee (Counsel)"}]
    return book


def teams_activity(
    kind: str,
    user: str,
    *,
    n: int,
    service_url: str,
    channel: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An activity as Teams POSTs it, from `user` in their personal chat or in a channel.

    Args:
        kind: the activity type (`message`, `invoke`, `conversationUpdate`...).
        user: the test user (`MARIA`...).
        n: a number unique within the test, for the activity id.
        service_url: where the bot's replies go.
        channel: a channel id to post in instead of the personal chat.
        **extra: more activity fields (`text`, `value`, `membersAdded`...).
    """
    if channel is None:
        conversation = {"conversationType": "personal", "tenantId": TENANT, "id": chat(user)}
        channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
    else:
        conversation = {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": f"{channel};messageid=17000000{n:05d}",
        }
        channel_data = {
            "teamsChannelId": channel,
            "teamsTeamId": TEAM_ID,
            "channel": {"id": channel},
            "team": {"id": TEAM_ID},
            "tenant": {"id": TENANT},
        }
    return {
        "type": kind,
        "id": f"17000000{n:05d}",
        "timestamp": datetime.now(UTC).isoformat(),
        "localTimestamp": datetime.now(UTC).isoformat(),
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:1{user}-teams-id", "name": user.title(), "aadObjectId": aad(user)},
        "conversation": conversation,
        "recipient": {"id": BOT_ID, "name": "Strategy Bot"},
        "channelData": channel_data,
        "locale": "en-GB",
        **extra,
    }


def mention(text: str) -> dict[str, Any]:
    """Fields of a channel message that @mentions the bot before `text`."""
    tag = "<at>Strategy Bot</at>"
    entity = {"type": "mention", "mentioned": {"id": BOT_ID, "name": "Strategy Bot"}, "text": tag}
    return {"text": f"{tag} {text}", "entities": [entity]}


class TeamsDriver:
    """Plays Teams' side: activities POSTed to /api/messages like the Bot Connector does."""

    def __init__(
        self, client: TestClient[Any, Any], fake: FakeBotConnector, runtime: Runtime
    ) -> None:
        self.client = client
        self.fake = fake
        self.runtime = runtime
        self._ids = itertools.count(1)
        self._joined: set[str] = set()

    def activity(
        self, kind: str, user: str, *, channel: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """An activity from `user`, in their personal chat or in a channel."""
        return teams_activity(
            kind,
            user,
            n=next(self._ids),
            service_url=self.fake.service_url,
            channel=channel,
            **extra,
        )

    async def post(self, body: Any, *, headers: dict[str, str] | None = None) -> ClientResponse:
        """POST a JSON body to /api/messages."""
        return await self.client.post(MESSAGES_PATH, json=body, headers=headers)

    async def install(self, user: str) -> ClientResponse:
        """The user adds the app to their personal scope (conversationUpdate)."""
        body = self.activity(
            "conversationUpdate", user, membersAdded=[{"id": BOT_ID}, {"id": f"29:1{user}"}]
        )
        return await self.post(body)

    async def install_in_channel(self, channel: str = CIO_CHANNEL) -> ClientResponse:
        """The app is added to a team (installationUpdate in its General channel)."""
        body = self.activity("installationUpdate", ADMIN, channel=channel, action="add")
        body["conversation"]["id"] = channel
        return await self.post(body)

    async def say(self, user: str, text: str, *, channel: str | None = None) -> ClientResponse:
        """The user types text to the bot (in a channel with an @mention)."""
        if channel is None:
            return await self.post(self.activity("message", user, text=text, textFormat="plain"))
        return await self.post(self.activity("message", user, channel=channel, **mention(text)))

    async def submit(self, user: str, value: Any, reply_to: str | None) -> ClientResponse:
        """An Action.Submit on a card: a message activity with `value` and `replyToId`."""
        body = self.activity("message", user, value=value)
        if reply_to is not None:
            body["replyToId"] = reply_to
        return await self.post(body)

    async def execute(self, user: str, data: Any) -> ClientResponse:
        """An Action.Execute on a card: an `adaptiveCard/action` invoke."""
        value = {"action": {"type": "Action.Execute", "verb": "strategy", "data": data}}
        body = self.activity("invoke", user, name="adaptiveCard/action", value=value)
        return await self.post(body)

    # -- reading state ----------------------------------------------------------------

    def answers(self, user: str) -> dict[str, Any]:
        """Stored answers of a user, by question id."""
        return stored_answers(self.runtime.db, address(user))

    def outbox(self, destination: str) -> list[tuple[str, str | None]]:
        """(status, last error) of every outbox row to an address."""
        return outbox_outcomes(self.runtime.db, destination)

    def reference(self, addr: str) -> models.TeamsReference | None:
        """The stored reference row of an address."""
        with self.runtime.db.transaction() as s:
            row = s.scalar(
                select(models.TeamsReference).where(models.TeamsReference.address == addr)
            )
            if row is not None:
                s.expunge(row)
            return row

    async def settle(self, addr: str) -> list[tuple[str, str | None]]:
        """Wait until no outbox row to an address is pending or being sent; returns them.

        A request the fake connector recorded may not have its result stored yet: assert
        on outbox rows only after this.
        """
        for _ in range(200):
            rows = self.outbox(addr)
            if rows and all(status not in ("pending", "sending") for status, _ in rows):
                return rows
            await asyncio.sleep(0.05)
        raise AssertionError(f"outbox rows to {addr} did not settle: {self.outbox(addr)}")

    async def join(self, *users: str) -> None:
        """Users install the app and get their welcome; then the fake forgets those calls.

        Tests that count messages start after the welcomes (`test_flows_testadapter.py` tests them).
        """
        for user in users:
            if user in self._joined:
                continue
            assert (await self.install(user)).status == 200
            assert (await self.settle(address(user)))[-1] == ("sent", None)
            self._joined.add(user)
        self.fake.forget()

    async def join_channel(self, channel: str = CIO_CHANNEL) -> None:
        """The app is added to a team's channel and posts its welcome; the fake forgets it."""
        assert (await self.install_in_channel(channel)).status == 200
        assert (await self.settle(f"teams:{channel}"))[-1] == ("sent", None)
        self.fake.forget()

    async def open_round(self) -> tuple[int, Recorded]:
        """Maria and the admin join, the admin asks social-media.

        Returns:
            The round id and Maria's prompt card.
        """
        await self.join(MARIA, ADMIN)
        assert (await self.say(ADMIN, "ask social-media")).status == 200
        sent = await self.fake.wait_for("send", conversation=chat(MARIA))
        data = submits(sent[0].cards[0])["answer"]
        return int(data["r"]), sent[0]


def submits(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Action.Submit data of a card (anywhere in it), by action name."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Submit":
                found[node["data"]["strategy"]] = node["data"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotConnector]:
    """The fake Bot Connector, listening on loopback."""
    connector = FakeBotConnector()
    await connector.start()
    yield connector
    await connector.stop()


@pytest.fixture
def playbook_path(tmp_path: Path) -> Path:
    """The Teams playbook, as a YAML file."""
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(teams_playbook(), sort_keys=False))
    return path


def make_app(
    tmp_path: Path,
    playbook_path: Path,
    sqlite_template: Path,
    database_url: str | None = None,
    **settings: Any,
) -> web.Application:
    """The real application with Teams mounted (console and scheduler off).

    On a copy of the migrated SQLite template, or on `database_url` (a migrated database).
    """
    if database_url is None:
        db = tmp_path / "bot.db"
        shutil.copy(sqlite_template, db)
        database_url = f"sqlite:///{db}"
    loaded = load_settings(
        DATABASE_URL=database_url,
        PLAYBOOK_PATH=str(playbook_path),
        SLACK_BOT_TOKEN=None,
        SLACK_SIGNING_SECRET=None,
        CONSOLE_ENABLED=False,
        SCHEDULER_ENABLED=False,
        TICK_SECONDS=3600,
        OUTBOX_POLL_SECONDS=0.2,
        OUTBOX_DESTINATION_INTERVAL_SECONDS=0.05,  # pacing is tested in tests/delivery
        **settings,
    )
    app = build_app(loaded, migrate=False)
    runtime = app[RUNTIME]
    adapters = runtime.adapters
    if "teams" not in adapters:  # settings without Teams: mount it as bot.app would
        adapters["teams"] = mount_teams(app, runtime, runtime.settings, References(runtime.db))
    assert isinstance(adapters["teams"], TeamsAdapter)
    return app


@pytest.fixture
def teams_app(playbook_path: Path, tmp_path: Path, sqlite_template: Path) -> web.Application:
    """The app with no MICROSOFT_APP_ID: unauthenticated, for driving it with the fake."""
    return make_app(tmp_path, playbook_path, sqlite_template, MICROSOFT_APP_ID=None)


@pytest.fixture
async def teams(teams_app: web.Application, fake: FakeBotConnector) -> AsyncIterator[TeamsDriver]:
    """A driver for the running app."""
    async with TestClient(TestServer(teams_app)) as client:
        yield TeamsDriver(client, fake, teams_app[RUNTIME])

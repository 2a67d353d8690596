"""Socket Mode end to end: the real Bolt handler on a real WebSocket to a fake Slack.

With SLACK_APP_TOKEN and no signing secret the app serves no HTTP events; it calls
`apps.connections.open` on SLACK_API_URL (the fake Web API) with the app-level token,
connects to the WebSocket URL it is given (the fake Socket Mode server) and receives
slash commands, events and interactivity as envelopes that must be acknowledged.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.slack.app import EVENTS_PATH
from bot.app import RUNTIME, Runtime, build_app
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_socket import FakeSocketMode
from tests.slack.conftest import ADMIN, MARIA, SlackDriver, slack_settings, text_of

APP_TOKEN = "xapp-1-A0APP-1-test"


@pytest.fixture
async def socket(fake: FakeSlackApi) -> AsyncIterator[FakeSocketMode]:
    """Slack's WebSocket side, handing out its URL through `apps.connections.open`."""
    server = FakeSocketMode(api=fake)
    await server.start()
    server.expect_connections()
    yield server
    await server.stop()


@pytest.fixture
def socket_app(
    fake: FakeSlackApi, socket: FakeSocketMode, playbook_path: Path, tmp_path: Path,
    sqlite_template: Path,
) -> web.Application:  # fmt: skip
    """The real application in Socket Mode: a bot token and an app token, no signing secret."""
    db = tmp_path / "bot.db"
    shutil.copy(sqlite_template, db)
    settings = slack_settings(
        fake,
        f"sqlite:///{db}",
        playbook_path,
        SLACK_SIGNING_SECRET=None,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_CLIENT_ID=None,
        SLACK_CLIENT_SECRET=None,
        SLACK_STATE_SECRET=None,
    )
    return build_app(settings, migrate=False)


@pytest.fixture
async def client(socket_app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    """The app, started (Socket Mode connects during start-up)."""
    async with TestClient(TestServer(socket_app)) as running:
        yield running


def _runtime(client: TestClient[Any, Any]) -> Runtime:
    return client.app[RUNTIME]  # type: ignore[index]


def _command(fake: FakeSlackApi, user: str, text: str, name: str) -> dict[str, Any]:
    """A slash command as Socket Mode delivers it: the form fields as a JSON object."""
    return {
        "token": "legacy-token",
        "team_id": "T0TEAM",
        "team_domain": "acme",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/strategy",
        "text": text,
        "api_app_id": "A0APP",
        "is_enterprise_install": "false",
        "response_url": fake.respond_url(name),
        "trigger_id": f"trigger.{name}",
    }


def _dm(user: str, text: str, event_id: str) -> dict[str, Any]:
    """An `events_api` payload: the same `event_callback` body as over HTTP."""
    return {
        "token": "legacy-token",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user[1:],
            "user": user,
            "text": text,
            "ts": f"1700000100.{event_id[-6:]}",
            "team": "T0TEAM",
        },
    }


async def test_it_connects_with_the_app_token_through_slack_api_url(
    client: TestClient[Any, Any], fake: FakeSlackApi, socket: FakeSocketMode
) -> None:
    await socket.wait_connected()
    opened = fake.calls("apps.connections.open")
    assert len(opened) == 1
    assert opened[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
    assert (await client.post(EVENTS_PATH, data=b"{}")).status == 404  # no HTTP events


async def test_a_slash_command_is_acknowledged_and_answered(
    client: TestClient[Any, Any], fake: FakeSlackApi, socket: FakeSocketMode
) -> None:
    await socket.wait_connected()
    envelope = await socket.push("slash_commands", _command(fake, ADMIN, "help", "help"))
    ack = await socket.ack(envelope)
    assert ack["envelope_id"] == envelope
    (reply,) = await fake.wait_for("respond")
    assert reply.path == "/respond/help"
    assert reply.body["response_type"] == "ephemeral"
    assert "strategy-bot commands" in text_of(reply.body)


async def test_a_round_is_opened_and_answered_over_the_socket(
    client: TestClient[Any, Any], fake: FakeSlackApi, socket: FakeSocketMode
) -> None:
    await socket.wait_connected()
    ask = _command(fake, ADMIN, "ask social-media", "ask")
    await socket.ack(await socket.push("slash_commands", ask))
    (prompt,) = await fake.wait_for("chat.postMessage", channel="D0MARIA")
    assert "What are you hearing from customers?" in text_of(prompt.body)

    answer = _dm(MARIA, "Customers ask about <!channel> pricing", "Ev00000001")
    await socket.ack(await socket.push("events_api", answer))
    # The answer is stored before the ack, so it is there the moment the ack arrives.
    stored = _driver(client, fake).answers(MARIA)
    assert stored == {"hearing": "Customers ask about @channel pricing"}  # as typed
    posted = await fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert "What are you hearing from customers?" not in text_of(posted[-1].body)

    # Slack redelivers an unacknowledged event with a retry_attempt: nothing changes.
    again = await socket.push("events_api", answer, retry_attempt=1)
    await socket.ack(again)
    assert _driver(client, fake).answers(MARIA) == stored


async def test_it_reconnects_when_slack_asks_and_keeps_working(
    client: TestClient[Any, Any], fake: FakeSlackApi, socket: FakeSocketMode
) -> None:
    await socket.wait_connected()
    await socket.ask_to_reconnect()
    await socket.wait_connected(2)
    assert len(fake.calls("apps.connections.open")) == 2
    envelope = await socket.push("slash_commands", _command(fake, ADMIN, "status", "status"))
    await socket.ack(envelope)
    (reply,) = await fake.wait_for("respond")
    assert reply.path == "/respond/status"


async def test_shutdown_closes_the_socket(
    socket_app: web.Application, socket: FakeSocketMode
) -> None:
    async with TestClient(TestServer(socket_app)):
        await socket.wait_connected()
        assert socket.open_sockets == 1
    for _ in range(100):
        if socket.open_sockets == 0:
            break
        await asyncio.sleep(0.05)
    assert socket.open_sockets == 0


def _driver(client: TestClient[Any, Any], fake: FakeSlackApi) -> SlackDriver:
    return SlackDriver(client, fake, _runtime(client))

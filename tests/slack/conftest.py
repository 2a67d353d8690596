"""The real app with Slack mounted, on loopback, against a fake Slack Web API.

`build_app` + `mount_slack` give the real Bolt path: requests are signed exactly as Slack
signs them (`v0:{timestamp}:{body}`, HMAC-SHA256 with the signing secret), dispatched by
Bolt, run through the real engine on a SQLite file, and delivered by the real outbox
worker to `FakeSlackApi`, which records what Slack would have received.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import yaml
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.app import EVENTS_PATH
from bot.app import RUNTIME, Runtime, build_app
from bot.config import Settings, load_settings
from tests.fakes.engine import PLAYBOOK
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.state import stored_answers

SECRET = "secret"
MARIA, SAM, ADMIN, CIO, LEE = "U0MARIA", "U0SAM", "U0ADMIN", "U0CIO", "U0LEE"
CIO_CHANNEL = "C0CIO"


def slack_playbook() -> dict[str, Any]:
    """The engine tests' playbook with Slack identities."""
    book = copy.deepcopy(PLAYBOOK)
    book["cio_channel"] = f"slack:{CIO_CHANNEL}"
    book["roles"] = {"cio": [f"slack:{CIO}"], "admins": [f"slack:{ADMIN}"]}
    book["groups"]["marketing"]["members"] = [
        {"id": f"slack:{MARIA}", "name": "Maria (Marketing)"},
        {"id": f"slack:{SAM}", "name": "Sam (Sales)"},
    ]
    book["groups"]["legal"]["members"] = [{"id": f"slack:{LEE}", "name": "Lee (Counsel)"}]
    return book


def sign(body: str, timestamp: int, secret: str = SECRET) -> str:
    """Slack's request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def post_slash_command(
    port: int,
    fake: FakeSlackApi,
    text: str,
    trigger: str,
    *,
    user: str | None = None,
    response: str | None = None,
) -> None:
    """`/strategy <text>` sent to a real server on `port` as Slack sends it: form-encoded,
    signed with the current time (Bolt checks the signature's age against its own clock),
    with a `response_url` on the fake named `response` (default: the trigger); asserts the
    ack.
    """
    body = urlencode(
        {
            "team_id": "T0TEAM",
            "channel_id": "C0GENERAL",
            "user_id": user or ADMIN,
            "command": "/strategy",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": fake.respond_url(response or trigger),
            "trigger_id": trigger,
        }
    )
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp),
    }
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        assert r.status == 200


def slack_settings(
    fake: FakeSlackApi, database_url: str, playbook_path: Path, **overrides: Any
) -> Settings:
    """Settings of the real app with Slack on `fake`: one workspace over HTTP, console and
    scheduler off (tests drive rounds themselves); `overrides` by environment name.
    """
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "PLAYBOOK_PATH": str(playbook_path),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "MICROSOFT_APP_ID": None,
        "CONSOLE_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        "TICK_SECONDS": 3600,
        "OUTBOX_POLL_SECONDS": 0.2,
    }
    return load_settings(**{**values, **overrides})


class SlackDriver:
    """Plays Slack's side: signed slash commands, events and interactivity payloads."""

    def __init__(self, client: TestClient[Any, Any], fake: FakeSlackApi, runtime: Runtime) -> None:
        self.client = client
        self.fake = fake
        self.runtime = runtime
        self._ids = itertools.count(1)

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        """POST a body to /slack/events, signed unless a signature is given."""
        ts = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(body, ts),
            **(headers or {}),
        }
        return await self.client.post(EVENTS_PATH, data=body.encode(), headers=sent)

    async def command(
        self, user: str, text: str, *, channel: str = "C0GENERAL", name: str | None = None
    ) -> ClientResponse:
        """`/strategy <text>` typed by a user; replies go to respond_url(name)."""
        n = next(self._ids)
        form = {
            "token": "legacy-token",
            "team_id": "T0TEAM",
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/strategy",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": self.fake.respond_url(name or f"cmd{n}"),
            "trigger_id": f"trigger.cmd.{n}",
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> str:
        """An Events API `event_callback` body."""
        return json.dumps(
            {
                "token": "legacy-token",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
                "event": event,
            }
        )

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> ClientResponse:
        """Deliver one event (as a retry when `retry` is given)."""
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        body = self.envelope(event, event_id)
        return await self.post(body, "application/json", headers=headers)

    def dm_event(self, user: str, text: str) -> dict[str, Any]:
        """A `message.im` event from a user."""
        return {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user[1:],
            "user": user,
            "text": text,
            "ts": f"1700000100.{next(self._ids):06d}",
            "team": "T0TEAM",
        }

    async def dm(self, user: str, text: str, **kwargs: Any) -> ClientResponse:
        """A user writes to the bot in their DM."""
        return await self.event(self.dm_event(user, text), **kwargs)

    async def interactive(self, payload: dict[str, Any]) -> ClientResponse:
        """An interactivity payload (`payload=<json>` form field)."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def press(
        self,
        user: str,
        action: dict[str, Any],
        *,
        state: dict[str, Any] | None = None,
        block_id: str | None = None,
    ) -> ClientResponse:
        """A `block_actions` payload for one pressed element of a DM message."""
        n = next(self._ids)
        pressed = {"block_id": block_id or "b", "action_ts": f"1700000200.{n:06d}", **action}
        payload = {
            "type": "block_actions",
            "team": {"id": "T0TEAM", "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "token": "legacy-token",
            "trigger_id": f"trigger.action.{n}",
            "container": {"type": "message", "channel_id": "D" + user[1:], "is_ephemeral": False},
            "channel": {"id": "D" + user[1:], "name": "directmessage"},
            "response_url": self.fake.respond_url(f"action{n}"),
            "actions": [pressed],
            "state": {"values": state or {}},
        }
        return await self.interactive(payload)

    async def submit(self, user: str, view: dict[str, Any]) -> ClientResponse:
        """A `view_submission` of a modal view (with `state.values` filled in)."""
        n = next(self._ids)
        payload = {
            "type": "view_submission",
            "team": {"id": "T0TEAM", "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "token": "legacy-token",
            "trigger_id": f"trigger.view.{n}",
            "view": {"id": f"V{n:08d}", "team_id": "T0TEAM", "app_id": "A0APP", **view},
        }
        return await self.interactive(payload)

    # -- reading state ----------------------------------------------------------------

    def answers(self, user: str) -> dict[str, Any]:
        """Stored answers of a user, by question id."""
        return stored_answers(self.runtime.db, f"slack:{user}")

    async def open_round(self, key: str = "social-media") -> int:
        """The admin opens a round; returns its id once both prompts were delivered."""
        resp = await self.command(ADMIN, f"ask {key}", name="ask")
        assert resp.status == 200
        await self.fake.wait_for("respond")
        await self.fake.wait_for("chat.postMessage", channel="D0SAM")
        prompts = await self.fake.wait_for("chat.postMessage", channel="D0MARIA")
        value = json.loads(_buttons(prompts[0].body)[0]["value"])
        return int(value["r"])


def _buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for b in body.get("blocks", [])
        if b.get("type") == "actions"
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]


def buttons(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A posted message's buttons by action id."""
    return {e["action_id"]: e for e in _buttons(body)}


def text_of(body: dict[str, Any]) -> str:
    """Everything a posted message shows (fallback text and blocks), as one string."""
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    """The fake Slack Web API, listening on loopback."""
    api = FakeSlackApi()
    # The workspace's people, as users.info knows them (the playbook's own members).
    for user, name in (
        (MARIA, "Maria Rossi"),
        (SAM, "Sam Weber"),
        (ADMIN, "Alex Admin"),
        (CIO, "Chris CIO"),
        (LEE, "Lee Park"),
    ):
        api.add_user(user, name, tz="Europe/Berlin")
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def playbook_path(tmp_path: Path) -> Path:
    """The Slack playbook, as a YAML file."""
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(slack_playbook(), sort_keys=False))
    return path


@pytest.fixture
def slack_app(
    fake: FakeSlackApi, playbook_path: Path, tmp_path: Path, sqlite_template: Path
) -> web.Application:
    """The real application with Slack mounted (the console off, the scheduler off)."""
    db = tmp_path / "bot.db"
    shutil.copy(sqlite_template, db)
    settings = slack_settings(fake, f"sqlite:///{db}", playbook_path)
    app = build_app(settings, migrate=False)  # Slack credentials set: Bolt is mounted
    assert isinstance(app[RUNTIME].adapters["slack"], SlackAdapter)
    return app


@pytest.fixture
async def slack(slack_app: web.Application, fake: FakeSlackApi) -> AsyncIterator[SlackDriver]:
    """A driver for the running app."""
    async with TestClient(TestServer(slack_app)) as client:
        yield SlackDriver(client, fake, slack_app[RUNTIME])

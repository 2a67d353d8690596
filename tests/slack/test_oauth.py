"""Multi-workspace install: OAuth v2 against the fake Slack, per-workspace tokens, uninstall.

The real app (OAuth mode: SLACK_CLIENT_ID/SECRET/STATE_SECRET, no SLACK_BOT_TOKEN) runs on
loopback; `oauth.v2.access`, `auth.test` and `chat.postMessage` go to `FakeSlackApi`, and
installations land in the test database's slack_sdk tables (created by migration 0002).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, select, update

from bot.adapters.base import DeliveryResult
from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.install import INSTALL_PATH, REDIRECT_PATH
from bot.app import RUNTIME, build_app
from bot.config import load_settings
from bot.errors import ConfigError
from bot.flows.outbound import Notice
from storage import models
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackDriver, slack_playbook, slack_settings

# slack_sdk builds `aiohttp.BasicAuth` for `oauth.v2.access`, which aiohttp 3.14 deprecates
# (a warning in production; the suite turns warnings into errors).
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

TEAM = "T0ACME"
COOKIE = "slack-app-oauth-state"
OAUTH = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "client-secret",
    "SLACK_STATE_SECRET": "state-secret",
}


def oauth_settings(fake: FakeSlackApi, db_url: str, tmp_path: Path, **extra: Any) -> Any:
    """The app's settings in OAuth mode (no SLACK_BOT_TOKEN), members in workspace TEAM."""
    book = json.loads(json.dumps(slack_playbook()).replace('"slack:', f'"slack:{TEAM}/'))
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(book, sort_keys=False))
    options: dict[str, Any] = {"SLACK_BOT_TOKEN": None, "SLACK_APP_TOKEN": None, **OAUTH}
    return slack_settings(fake, db_url, playbook, **{**options, **extra})


def _settings(fake: FakeSlackApi, tmp_path: Path, template: Path, **extra: Any) -> Any:
    db = tmp_path / "bot.db"
    shutil.copy(template, db)
    return oauth_settings(fake, f"sqlite:///{db}", tmp_path, **extra)


@pytest.fixture
async def oauth(
    fake: FakeSlackApi, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[SlackDriver]:
    """The app in OAuth mode, running, with a driver."""
    app = build_app(_settings(fake, tmp_path, sqlite_template), migrate=False)
    async with TestClient(TestServer(app)) as client:
        yield SlackDriver(client, fake, app[RUNTIME])


def _adapter(slack: SlackDriver) -> SlackAdapter:
    adapter = slack.runtime.adapters["slack"]
    assert isinstance(adapter, SlackAdapter)
    return adapter


async def _start_install(slack: SlackDriver) -> str:
    resp = await slack.client.get(INSTALL_PATH, allow_redirects=False)
    assert resp.status == 302
    state = parse_qs(urlparse(resp.headers["Location"]).query)["state"][0]
    assert f"{COOKIE}={state}" in resp.headers["Set-Cookie"]
    return state


async def _finish_install(slack: SlackDriver, state: str, *, cookie: str | None = None) -> Any:
    return await slack.client.get(
        REDIRECT_PATH,
        params={"code": "code-123", "state": state},
        headers={"Cookie": f"{COOKIE}={cookie or state}"},
        allow_redirects=False,
    )


async def _install(slack: SlackDriver) -> str:
    resp = await _finish_install(slack, await _start_install(slack))
    assert resp.status == 200, await resp.text()
    (token,) = [t for t in slack.fake.tokens if t.startswith(f"xoxb-{TEAM}")]
    return token


def _bots(slack: SlackDriver) -> list[dict[str, Any]]:
    with slack.runtime.db.transaction() as s:
        return [dict(r) for r in s.execute(select(models.slack_bots)).mappings()]


async def _send(slack: SlackDriver, address: str, key: str = "k1") -> DeliveryResult:
    notice = Notice(level="info", lines=("hello",))
    return await _adapter(slack).send(address=address, message=notice, idempotency_key=key)


def _event(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "token": "legacy-token",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "U0BOT", "is_bot": True}],
            "event": event,
        }
    )


# -- the install flow ---------------------------------------------------------------------


async def test_install_redirects_to_slack_with_a_state_and_its_cookie(oauth: SlackDriver) -> None:
    resp = await oauth.client.get(INSTALL_PATH, allow_redirects=False)
    assert resp.status == 302
    url = urlparse(resp.headers["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://slack.com/oauth/v2/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == [OAUTH["SLACK_CLIENT_ID"]]
    assert query["scope"] == [
        "chat:write,commands,im:history,channels:history,groups:history,im:write,"
        "usergroups:read,channels:read,groups:read,users:read,users:read.email,files:write"
    ]
    assert query.get("user_scope", [""]) == [""]
    state = query["state"][0]
    assert resp.headers["Set-Cookie"].startswith(f"{COOKIE}={state};")


async def test_a_valid_redirect_exchanges_the_code_and_stores_the_bot(oauth: SlackDriver) -> None:
    token = await _install(oauth)
    (exchange,) = oauth.fake.calls("oauth.v2.access")
    assert exchange.body["code"] == "code-123"
    assert exchange.headers["Authorization"].startswith("Basic ")  # client id and secret
    (bot,) = _bots(oauth)
    assert (bot["team_id"], bot["bot_token"], bot["bot_user_id"]) == (TEAM, token, "U0BOT")
    assert bot["client_id"] == OAUTH["SLACK_CLIENT_ID"] and bot["bot_id"] == "B0BOT"


@pytest.mark.parametrize("problem", ["forged", "wrong cookie", "expired", "used twice"])
async def test_a_bad_state_is_refused(oauth: SlackDriver, problem: str) -> None:
    state = await _start_install(oauth)
    cookie = None
    if problem == "forged":
        raw = state.rpartition(".")[0]
        state = cookie = f"{raw}.{'0' * 32}"
    elif problem == "wrong cookie":
        cookie = "something-else"
    elif problem == "expired":
        past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
        with oauth.runtime.db.transaction() as s:
            s.execute(update(models.slack_oauth_states).values(expire_at=past))
    elif problem == "used twice":
        assert (await _finish_install(oauth, state)).status == 200
        oauth.fake.requests.clear()
    resp = await _finish_install(oauth, state, cookie=cookie)
    # Bolt: 400 when the cookie does not match (another browser), 401 for a bad state
    assert resp.status == (400 if problem == "wrong cookie" else 401)
    assert oauth.fake.calls("oauth.v2.access") == []
    if problem != "used twice":
        assert _bots(oauth) == []


# -- sending with the workspace's token -------------------------------------------------


async def test_after_install_a_prompt_uses_that_workspaces_token(oauth: SlackDriver) -> None:
    token = await _install(oauth)
    result = await _send(oauth, f"slack:{TEAM}/U0MARIA")
    assert result.status == "sent", result
    (post,) = oauth.fake.calls("chat.postMessage", channel="D0MARIA")
    assert post.headers["Authorization"] == f"Bearer {token}"
    assert oauth.fake.calls("conversations.open")[0].headers["Authorization"] == f"Bearer {token}"


async def test_a_workspace_that_never_installed_gets_nothing(oauth: SlackDriver) -> None:
    result = await _send(oauth, "slack:T0OTHER/U0MARIA")
    assert (result.status, result.error) == ("failed", "app_uninstalled")
    plain = await _send(oauth, "slack:U0MARIA")  # no SLACK_BOT_TOKEN: the team is needed
    assert plain.status == "failed" and "workspace" in (plain.error or "")
    assert oauth.fake.calls("chat.postMessage") == []


async def test_a_dm_in_an_installed_workspace_is_answered_there(oauth: SlackDriver) -> None:
    token = await _install(oauth)
    dm = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0MARIA",
        "user": "U0MARIA",
        "text": "help",
        "ts": "1700000100.000001",
        "team": TEAM,
    }
    resp = await oauth.post(_event(dm), "application/json")
    assert resp.status == 200
    (reply,) = await oauth.fake.wait_for("chat.postMessage", channel="D0MARIA")
    assert reply.headers["Authorization"] == f"Bearer {token}"
    with oauth.runtime.db.transaction() as s:
        sent = s.scalars(select(models.OutboxMessage.destination)).all()
    assert set(sent) == {f"slack:{TEAM}/U0MARIA"}


async def test_an_expiring_token_is_refreshed_before_sending(oauth: SlackDriver) -> None:
    oauth.fake.rotation = True
    old = await _install(oauth)
    assert _bots(oauth)[0]["bot_refresh_token"]
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=5)
    with oauth.runtime.db.transaction() as s:
        s.execute(update(models.slack_bots).values(bot_token_expires_at=soon))
    assert (await _send(oauth, f"slack:{TEAM}/U0MARIA")).status == "sent"
    refresh = oauth.fake.calls("oauth.v2.access", grant_type="refresh_token")
    assert len(refresh) == 1
    newest = max(_bots(oauth), key=lambda b: b["installed_at"])
    assert newest["bot_token"] != old
    (post,) = oauth.fake.calls("chat.postMessage")
    assert post.headers["Authorization"] == f"Bearer {newest['bot_token']}"


# -- uninstall and revocation -------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOT"]}},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
async def test_uninstall_stops_all_sending_to_the_workspace(
    oauth: SlackDriver, event: dict[str, Any]
) -> None:
    await _install(oauth)
    resp = await oauth.post(_event({**event, "event_ts": "1700000000.000100"}), "application/json")
    assert resp.status == 200
    assert _bots(oauth) == []
    with oauth.runtime.db.transaction() as s:
        assert s.execute(select(models.slack_installations)).all() == []
    result = await _send(oauth, f"slack:{TEAM}/U0MARIA")
    assert (result.status, result.error) == ("failed", "app_uninstalled")
    assert oauth.fake.calls("chat.postMessage") == []
    assert oauth.fake.calls("conversations.open") == []


async def test_single_workspace_uninstall_stops_sending(
    fake: FakeSlackApi, tmp_path: Path, sqlite_template: Path
) -> None:
    settings = _settings(
        fake,
        tmp_path,
        sqlite_template,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_CLIENT_ID=None,
        SLACK_CLIENT_SECRET=None,
        SLACK_STATE_SECRET=None,
    )
    app = build_app(settings, migrate=False)
    async with TestClient(TestServer(app)) as client:
        slack = SlackDriver(client, fake, app[RUNTIME])
        assert (await client.get(INSTALL_PATH)).status == 404  # no OAuth pages
        assert (await _send(slack, "slack:U0MARIA", "a")).status == "sent"
        resp = await slack.post(_event({"type": "app_uninstalled"}), "application/json")
        assert resp.status == 200
        result = await _send(slack, "slack:U0SAM", "b")
        assert (result.status, result.error) == ("failed", "app_uninstalled")
        assert len(fake.calls("chat.postMessage")) == 1


# -- configuration and schema ---------------------------------------------------------------


def test_oauth_needs_all_three_variables() -> None:
    with pytest.raises(ConfigError, match="SLACK_STATE_SECRET: required"):
        load_settings(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="s", SLACK_STATE_SECRET=None)
    settings = load_settings(**OAUTH, SLACK_BOT_TOKEN=None, SLACK_SIGNING_SECRET="x")
    assert settings.slack_oauth and settings.slack_configured


def _columns(metadata: MetaData, name: str) -> dict[str, tuple[str, bool, bool]]:
    table = metadata.tables[name]
    return {c.name: (repr(c.type), c.nullable or False, c.primary_key) for c in table.columns}


# The one deliberate difference: the secret columns are TEXT (they hold Fernet tokens when
# SECRETS_KEYS is set; migration 0010) where slack_sdk declares VARCHAR(200).
WIDENED = {
    "slack_bots": {"bot_token", "bot_refresh_token"},
    "slack_installations": {
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    },
    "slack_oauth_states": set(),
}


@pytest.mark.parametrize("name", ["slack_installations", "slack_bots", "slack_oauth_states"])
def test_our_slack_tables_match_slack_sdks(name: str) -> None:
    theirs = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states")
    ours, sdk = _columns(models.Base.metadata, name), _columns(theirs, name)
    widened = WIDENED[name]
    assert set(ours) == set(sdk)  # every column, none more
    for column in widened:
        assert sdk[column] == ("String(length=200)", True, False)  # what slack_sdk says
        assert ours[column] == ("Text()", True, False)  # what we store Fernet tokens in
    assert {c: v for c, v in ours.items() if c not in widened} == {
        c: v for c, v in sdk.items() if c not in widened
    }
    assert set(models.SLACK_SECRET_COLUMNS.get(name, ())) == widened
    ours_idx = {
        (i.name, tuple(c.name for c in i.columns))
        for i in models.Base.metadata.tables[name].indexes
    }
    their_idx = {(i.name, tuple(c.name for c in i.columns)) for i in theirs.tables[name].indexes}
    assert ours_idx == their_idx

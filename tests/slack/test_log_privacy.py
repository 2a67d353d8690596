"""At LOG_LEVEL=DEBUG the log names no anonymous respondent's answer and shows no token.

Logging is set up exactly as `strategy-bot` sets it up (`bot.cli.setup_logging`), into a
buffer, before the real app is built (Bolt copies logger levels when it is built). Then
real traffic runs against the fake Slack: a whole anonymous round (opened, answered in a
DM, closed, its digest posted), and an OAuth install whose rotating token is refreshed.
Before, slack_sdk's request logging wrote every DM body (the channel, next to a summary
of the person's answers) and the OAuth responses (bot and refresh tokens) at DEBUG.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.install import INSTALL_PATH, REDIRECT_PATH
from bot.app import RUNTIME, build_app
from bot.cli import setup_logging
from bot.flows.outbound import Notice
from bot.logs import LIBRARY_LOGGERS, OWN_LOGGERS, QUIET_LOGGERS
from storage import models
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import ADMIN, LEE, SECRET, SlackDriver, slack_playbook, slack_settings

# slack_sdk builds `aiohttp.BasicAuth` for `oauth.v2.access` (see test_oauth.py).
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

ANSWER = "Lee-fears-the-XYZZY-data-leak"
BOT_TOKEN = "xoxb-1111-2222-abcdefGHIJKL"
CLIENT_SECRET = "client-secret-4f1e9a"
STATE_SECRET = "state-secret-8b2c7d"
TEAM = "T0ACME"


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """Everything logged during the test, configured as the CLI configures it (set in tests)."""
    root = logging.getLogger()
    names = ("", *OWN_LOGGERS, *LIBRARY_LOGGERS, *QUIET_LOGGERS, "apscheduler")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(root.handlers)
    yield io.StringIO()
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _start_logging(settings: Any, buffer: io.StringIO) -> None:
    assert settings.log_level == "DEBUG"
    setup_logging(settings, stream=buffer)


async def _await_posts(fake: FakeSlackApi, channel: str, count: int) -> list[Any]:
    return await fake.wait_for("chat.postMessage", count, channel=channel)


async def _digest_with(fake: FakeSlackApi, text: str) -> None:
    """Wait until a message to the CIO channel (the digest) carries `text`."""
    for _ in range(200):
        if any(text in json.dumps(c.body) for c in fake.calls("chat.postMessage", channel="C0CIO")):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no digest with {text!r} reached the CIO channel")


@pytest.fixture
async def anonymous_round_log(
    fake: FakeSlackApi, playbook_path: Path, tmp_path: Path, sqlite_template: Path, log: io.StringIO
) -> AsyncIterator[tuple[str, SlackDriver]]:
    """The log of a whole anonymous round (social-liability: Lee answers alone)."""
    db = tmp_path / "bot.db"
    shutil.copy(sqlite_template, db)
    settings = slack_settings(
        fake, f"sqlite:///{db}", playbook_path, LOG_LEVEL="DEBUG", SLACK_BOT_TOKEN=BOT_TOKEN
    )
    fake.tokens.add(BOT_TOKEN)
    _start_logging(settings, log)
    app = build_app(settings, migrate=False)
    async with TestClient(TestServer(app)) as client:
        slack = SlackDriver(client, fake, app[RUNTIME])
        assert (await slack.command(ADMIN, "ask social-liability", name="ask")).status == 200
        await _await_posts(fake, "D0LEE", 1)  # the prompt
        assert (await slack.dm(LEE, ANSWER)).status == 200
        await _await_posts(fake, "D0LEE", 2)  # the reply to the answer
        assert (await slack.command(ADMIN, "close social-liability", name="close")).status == 200
        await _digest_with(fake, ANSWER)  # the answer went through Slack's API
        yield log.getvalue(), slack


async def test_an_anonymous_round_at_debug_logs_no_answer_and_no_token(
    anonymous_round_log: tuple[str, SlackDriver],
) -> None:
    text, _ = anonymous_round_log
    assert " DEBUG bot." in text  # LOG_LEVEL=DEBUG is on for the bot's own loggers
    assert ANSWER not in text
    assert BOT_TOKEN not in text and "xoxb-" not in text.replace("xoxb-[redacted]", "")
    assert SECRET not in text.replace("secret", "")  # the signing secret never shows
    assert "D0LEE" not in text  # no DM channel: nothing ties the DM traffic to Lee


@pytest.fixture
async def oauth_refresh_log(
    fake: FakeSlackApi, tmp_path: Path, sqlite_template: Path, log: io.StringIO
) -> AsyncIterator[tuple[str, FakeSlackApi]]:
    """The log of an OAuth install with token rotation, then a refresh before sending."""
    db = tmp_path / "bot.db"
    shutil.copy(sqlite_template, db)
    book = json.loads(json.dumps(slack_playbook()).replace('"slack:', f'"slack:{TEAM}/'))
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(book, sort_keys=False))
    settings = slack_settings(
        fake,
        f"sqlite:///{db}",
        playbook,
        LOG_LEVEL="DEBUG",
        SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_STATE_SECRET=STATE_SECRET,
    )
    fake.install_team = TEAM
    fake.rotation = True
    _start_logging(settings, log)
    app = build_app(settings, migrate=False)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get(INSTALL_PATH, allow_redirects=False)
        state = parse_qs(urlparse(resp.headers["Location"]).query)["state"][0]
        resp = await client.get(
            REDIRECT_PATH,
            params={"code": "code-7d3f11", "state": state},
            headers={"Cookie": f"slack-app-oauth-state={state}"},
            allow_redirects=False,
        )
        assert resp.status == 200, await resp.text()
        runtime = app[RUNTIME]
        soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=5)
        with runtime.db.transaction() as s:
            s.execute(update(models.slack_bots).values(bot_token_expires_at=soon))
        adapter = runtime.adapters["slack"]
        assert isinstance(adapter, SlackAdapter)
        notice = Notice(level="info", lines=("hello",))
        sent = await adapter.send(
            address=f"slack:{TEAM}/U0MARIA", message=notice, idempotency_key="k"
        )
        assert sent.status == "sent"
        assert fake.calls("oauth.v2.access", grant_type="refresh_token")  # it was refreshed
        yield log.getvalue(), fake


async def test_an_oauth_install_and_token_refresh_at_debug_log_no_secret(
    oauth_refresh_log: tuple[str, FakeSlackApi],
) -> None:
    text, fake = oauth_refresh_log
    assert " DEBUG bot." in text
    issued = [t for t in fake.tokens if t.startswith("xoxb-")]
    assert len(issued) >= 2  # the installed token and the refreshed one
    for token in issued:
        assert token not in text
    assert "xoxe-1-" not in text  # refresh tokens
    assert CLIENT_SECRET not in text and STATE_SECRET not in text
    assert "code-7d3f11" not in text  # the OAuth code in the redirect's access log line

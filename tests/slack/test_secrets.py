"""Slack OAuth tokens encrypted at rest (SECRETS_KEYS), on SQLite and PostgreSQL.

The real app in OAuth mode runs on loopback against the fake Slack Web API; workspaces
install through Bolt's OAuth redirect, exactly as in `test_oauth.py`. What a person who
can read the database sees is read with plain SQL from slack_sdk's two tables; what Slack
sees is the `Authorization` header of the calls the fake records. Rotating tokens are as
long as Slack's (`tests.fakes.slack_api`), so an encrypted one needs migration 0010's TEXT
columns on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text, update

from bot.adapters.slack.install import (
    BOT_SECRETS,
    INSTALLATION_SECRETS,
    reseal_tokens,
)
from bot.app import RUNTIME, build_app
from bot.cli import run_secrets
from bot.config import load_settings
from bot.encryption import SecretBox, looks_encrypted, new_key
from bot.errors import ConfigError
from storage import models
from storage.migrate import upgrade
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackDriver
from tests.slack.test_oauth import (
    TEAM,
    _event,
    _finish_install,
    _install,
    _send,
    _start_install,
    oauth_settings,
)

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

KEY_A = new_key()
KEY_B = new_key()
OTHER_TEAM = "T0OTHER"


def _settings(
    fake: FakeSlackApi, db_url: str, tmp_path: Path, keys: str | None, **extra: Any
) -> Any:
    return oauth_settings(fake, db_url, tmp_path, SECRETS_KEYS=keys, **extra)


@asynccontextmanager
async def running(
    fake: FakeSlackApi, db_url: str, tmp_path: Path, keys: str | None
) -> AsyncIterator[SlackDriver]:
    """The app in OAuth mode with SECRETS_KEYS=`keys`, running (started again each time)."""
    app = build_app(_settings(fake, db_url, tmp_path, keys), migrate=False)
    async with TestClient(TestServer(app)) as client:
        yield SlackDriver(client, fake, app[RUNTIME])


def raw_rows(db_url: str) -> list[dict[str, Any]]:
    """Every row of slack_sdk's token tables, as anyone with database access reads them."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [
                {"table": table, **dict(row)}
                for table in ("slack_installations", "slack_bots")
                for row in conn.execute(text(f"SELECT * FROM {table}")).mappings()  # noqa: S608
            ]
    finally:
        engine.dispose()


def secrets_of(rows: list[dict[str, Any]]) -> list[str]:
    """The stored values of every secret column (tokens, refresh tokens, webhook URL)."""
    names = {"slack_installations": INSTALLATION_SECRETS, "slack_bots": BOT_SECRETS}
    return [r[n] for r in rows for n in names[r["table"]] if r[n] is not None]


def issued(fake: FakeSlackApi) -> set[str]:
    """Every bot token and refresh token the fake Slack handed out."""
    return {t for t in fake.tokens if t != "xoxb-test"} | fake.refresh_tokens


def assert_nothing_in_clear(db_url: str, fake: FakeSlackApi, *keys: str) -> None:
    """No token Slack issued appears anywhere in the raw rows; each secret opens with a key."""
    rows = raw_rows(db_url)
    assert rows
    dump = json.dumps(rows, default=str)
    for token in issued(fake):
        assert token not in dump
    box = SecretBox(keys)
    for value in secrets_of(rows):
        assert looks_encrypted(value)
        assert box.open(value) in issued(fake)


async def dm_help(slack: SlackDriver) -> Any:
    dm = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0MARIA",
        "user": "U0MARIA",
        "text": "help",
        "ts": f"{time.time():.6f}",
        "team": TEAM,
    }
    return await slack.post(_event(dm), "application/json")


def expire_soon(db_url: str) -> None:
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=5)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(models.slack_bots).values(bot_token_expires_at=soon))
    engine.dispose()


# -- encrypted from the first install ----------------------------------------------------


async def test_an_install_stores_no_token_in_clear_and_the_bot_still_posts(
    fake: FakeSlackApi, db_url: str, tmp_path: Path
) -> None:
    fake.rotation = True  # a refresh token too, and tokens as long as Slack's
    async with running(fake, db_url, tmp_path, KEY_A) as slack:
        token = await _install(slack)
        assert len(token) >= 150
        assert_nothing_in_clear(db_url, fake, KEY_A)
        # longer than slack_sdk's VARCHAR(200): PostgreSQL needs migration 0010's TEXT
        assert max(len(v) for v in secrets_of(raw_rows(db_url))) > 200
        # the outbox sends with the decrypted token
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA")).status == "sent"
        (post,) = fake.calls("chat.postMessage", channel="D0MARIA")
        assert post.headers["Authorization"] == f"Bearer {token}"
        # and Bolt authorizes an incoming DM with it, and its reply goes out with it too
        assert (await dm_help(slack)).status == 200
        replies = await fake.wait_for("chat.postMessage", channel="D0MARIA", count=2)
        assert {r.headers["Authorization"] for r in replies} == {f"Bearer {token}"}
        assert fake.calls("auth.test")[-1].headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("path", ["outbox", "bolt"])
async def test_a_refreshed_token_is_saved_encrypted(
    fake: FakeSlackApi, db_url: str, tmp_path: Path, path: str
) -> None:
    fake.rotation = True
    async with running(fake, db_url, tmp_path, KEY_A) as slack:
        old = await _install(slack)
        expire_soon(db_url)
        if path == "outbox":
            assert (await _send(slack, f"slack:{TEAM}/U0MARIA")).status == "sent"
        else:  # an incoming request: Bolt refreshes before it authorizes
            assert (await dm_help(slack)).status == 200
            await fake.wait_for("chat.postMessage", channel="D0MARIA")
        (refresh,) = fake.calls("oauth.v2.access", grant_type="refresh_token")
        assert refresh.body["refresh_token"] in fake.refresh_tokens  # sent decrypted
        new = fake.calls("chat.postMessage")[-1].headers["Authorization"].removeprefix("Bearer ")
        assert new != old and new in fake.tokens
        assert_nothing_in_clear(db_url, fake, KEY_A)
        stored = {SecretBox([KEY_A]).open(v) for v in secrets_of(raw_rows(db_url))}
        assert new in stored


# -- rotation ------------------------------------------------------------------------------


async def test_rotation_with_two_keys(fake: FakeSlackApi, db_url: str, tmp_path: Path) -> None:
    async with running(fake, db_url, tmp_path, KEY_A) as slack:
        token = await _install(slack)
    # 1. the new key first, the old one after it: both decrypt, the new one encrypts
    async with running(fake, db_url, tmp_path, f"{KEY_B},{KEY_A}") as slack:
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA", "k1")).status == "sent"
        # 2. re-encrypt everything with the new key, while the bot runs
        settings = _settings(fake, db_url, tmp_path, f"{KEY_B},{KEY_A}")
        assert run_secrets(settings) == 0
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA", "k2")).status == "sent"
    values = secrets_of(raw_rows(db_url))
    assert values and all(Fernet(KEY_B).decrypt(v.encode()).decode() == token for v in values)
    # 3. drop the old key: the bot still posts with what is stored
    async with running(fake, db_url, tmp_path, KEY_B) as slack:
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA", "k3")).status == "sent"
    posts = fake.calls("chat.postMessage")
    assert [p.headers["Authorization"] for p in posts] == [f"Bearer {token}"] * 3
    # running it again changes nothing
    engine = create_engine(db_url)
    try:
        again = reseal_tokens(engine, SecretBox([KEY_B]))
    finally:
        engine.dispose()
    assert (again.encrypted, again.rotated, again.unreadable) == (0, 0, [])
    assert secrets_of(raw_rows(db_url)) == values


async def test_a_clear_row_still_works_and_rotate_encrypts_it(
    fake: FakeSlackApi, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.slack.install")
    async with running(fake, db_url, tmp_path, None) as slack:  # no key: stored in clear
        token = await _install(slack)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("SECRETS_KEYS is not set" in w and "in clear" in w for w in warnings) == 1
    assert token in secrets_of(raw_rows(db_url))  # what the README says: in clear
    caplog.clear()
    async with running(fake, db_url, tmp_path, KEY_A) as slack:  # a key added later
        assert "2 token(s) are still stored in clear" in caplog.text  # both tables
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA", "k1")).status == "sent"
        assert run_secrets(_settings(fake, db_url, tmp_path, KEY_A)) == 0
        assert_nothing_in_clear(db_url, fake, KEY_A)
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA", "k2")).status == "sent"
    posts = fake.calls("chat.postMessage")
    assert [p.headers["Authorization"] for p in posts] == [f"Bearer {token}"] * 2


async def test_secrets_decrypt_stores_them_in_clear_again(
    fake: FakeSlackApi, db_url: str, tmp_path: Path
) -> None:
    async with running(fake, db_url, tmp_path, KEY_A) as slack:
        token = await _install(slack)
    assert run_secrets(_settings(fake, db_url, tmp_path, KEY_A), decrypt=True) == 0
    assert set(secrets_of(raw_rows(db_url))) == {token}
    async with running(fake, db_url, tmp_path, None) as slack:  # the key can go now
        assert (await _send(slack, f"slack:{TEAM}/U0MARIA")).status == "sent"


# -- a key that is wrong or gone ------------------------------------------------------------


async def test_a_token_no_key_decrypts_fails_only_its_workspace(
    fake: FakeSlackApi,
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with running(fake, db_url, tmp_path, KEY_A) as slack:
        token = await _install(slack)
    caplog.clear()
    since = len(fake.requests)
    async with running(fake, db_url, tmp_path, KEY_B) as slack:  # KEY_A was dropped too soon
        start_up = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert any(TEAM in r.getMessage() and "SECRETS_KEYS" in r.getMessage() for r in start_up)
        fake.install_team = OTHER_TEAM  # another workspace installs meanwhile
        other = await _install_team(slack, OTHER_TEAM)
        result = await _send(slack, f"slack:{TEAM}/U0MARIA", "k1")
        assert (result.status, result.error) == ("failed", "token_unreadable")
        assert (await _send(slack, f"slack:{OTHER_TEAM}/U0SAM", "k2")).status == "sent"
        # an incoming request from the first workspace is refused, the app carries on
        assert (await dm_help(slack)).status == 200
        assert (await _send(slack, f"slack:{OTHER_TEAM}/U0SAM", "k3")).status == "sent"
    posts = fake.calls("chat.postMessage")
    assert {p.headers["Authorization"] for p in posts} == {f"Bearer {other}"}
    used = {c.headers.get("Authorization") for c in fake.requests[since:]}
    assert f"Bearer {token}" not in used
    named = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and TEAM in r.getMessage()
    ]
    assert any("bot_token of workspace T0ACME" in m for m in named)
    assert "Traceback" not in caplog.text
    # the CLI names it too, leaves it as it is, and says so in its exit status
    assert run_secrets(_settings(fake, db_url, tmp_path, KEY_B)) == 1
    err = capsys.readouterr().err
    assert f"the bot_token of workspace {TEAM}" in err and "left as it is" in err
    assert OTHER_TEAM not in err


async def _install_team(slack: SlackDriver, team: str) -> str:
    before = set(slack.fake.tokens)
    resp = await _finish_install(slack, await _start_install(slack))
    assert resp.status == 200, await resp.text()
    (token,) = [t for t in slack.fake.tokens - before if t.startswith(f"xoxb-{team}")]
    return token


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`strategy-bot <args>` as an operator runs it, in a subprocess."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    full.pop("SECRETS_KEYS", None)
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**full, **env},
        timeout=60,
        check=False,
    )


def test_the_secrets_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    made = cli("secrets", "new-key")
    assert made.returncode == 0
    key = made.stdout.strip()
    Fernet(key)  # a usable key
    rotated = cli("secrets", "rotate", DATABASE_URL=url, SECRETS_KEYS=key)
    assert rotated.returncode == 0, rotated.stderr
    assert "encrypted 0 token(s) stored in clear and re-encrypted 0" in rotated.stdout
    keyless = cli("secrets", "rotate", DATABASE_URL=url)
    assert keyless.returncode == 2 and "SECRETS_KEYS is not set" in keyless.stderr


def test_an_invalid_key_is_one_clear_start_up_line(tmp_path: Path) -> None:
    bad = "not-a-fernet-key"
    with pytest.raises(ConfigError, match=r"SECRETS_KEYS: .*key 2 of 2 is not a Fernet key") as e:
        load_settings(SECRETS_KEYS=f"{KEY_A},{bad}")
    assert bad not in str(e.value) and KEY_A not in str(e.value)
    for args in (["serve"], ["secrets", "rotate"]):
        result = cli(*args, SECRETS_KEYS=bad, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("strategy-bot: invalid configuration")
        assert "SECRETS_KEYS" in result.stderr and "Fernet key" in result.stderr
        assert "Traceback" not in result.stderr and bad not in result.stderr


def test_rotate_without_a_key_says_what_to_do(tmp_path: Path, fake: FakeSlackApi) -> None:
    settings = _settings(fake, f"sqlite:///{tmp_path / 'x.db'}", tmp_path, None)
    with pytest.raises(ConfigError, match="SECRETS_KEYS is not set"):
        run_secrets(settings)


def test_the_secret_columns_are_the_same_everywhere() -> None:
    assert set(INSTALLATION_SECRETS) == set(models.SLACK_SECRET_COLUMNS["slack_installations"])
    assert set(BOT_SECRETS) == set(models.SLACK_SECRET_COLUMNS["slack_bots"])


@pytest.mark.parametrize(
    "value",
    ["xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "xoxe.xoxb-1-" + "A" * 140, ""],
)
def test_a_slack_token_is_never_taken_for_an_encrypted_one(value: str) -> None:
    assert not looks_encrypted(value)
    assert SecretBox([KEY_A]).open(value) == value
    assert looks_encrypted(SecretBox([KEY_A]).seal(value) or "")


def test_rotate_needs_the_database_upgraded_first(tmp_path: Path, fake: FakeSlackApi) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0009")  # before the token columns were widened
    with pytest.raises(ConfigError, match=r"revision 0009.*strategy-bot db upgrade"):
        run_secrets(_settings(fake, url, tmp_path, KEY_A))

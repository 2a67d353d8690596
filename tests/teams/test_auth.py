"""Bearer tokens at /api/messages with MICROSOFT_APP_ID set, validated by botbuilder itself.

Nothing in botbuilder is patched: its validator fetches the Bot Framework's OpenID metadata
and signing keys from `login.botframework.com`, and msal fetches the bot's outgoing token
from `login.microsoftonline.com`, both reaching `FakeBotIdentity` on loopback through an
HTTPS proxy and a test CA (`tests/fakes/bot_identity.py`). The only state reset is
botbuilder's process-wide cache of that metadata, so each test fetches its own keys.

A genuine token (our key, issuer `https://api.botframework.com`, audience = our app id,
`serviceurl` = the activity's) is processed, and the replies go out with the token msal
got from the fake Entra ID. Any other token is a 401 and changes nothing: no reference,
no processed event, no outbox row, no call to the Bot Connector.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from sqlalchemy import func, select

from bot.app import RUNTIME
from storage import models
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.bot_identity import FakeBotIdentity, signing_key
from tests.teams.conftest import MARIA, TeamsDriver, address, chat, make_app

APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
PASSWORD = "not-a-real-secret"


@pytest.fixture
def identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotIdentity]:
    """The fake identity services, and this process pointed at them (proxy and CA)."""
    folder = tmp_path / "identity"
    folder.mkdir()
    fake = FakeBotIdentity(folder)
    fake.start()
    for name, value in fake.environment().items():
        monkeypatch.setenv(name, value)
    # botbuilder keeps fetched signing keys per metadata URL for a day, process-wide.
    monkeypatch.setattr(JwtTokenExtractor, "metadataCache", {})
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.refused == [], "something tried to reach a host other than the fakes"


@pytest.fixture
async def secured(
    identity: FakeBotIdentity,
    fake: FakeBotConnector,
    playbook_path: Path,
    tmp_path: Path,
    sqlite_template: Path,
) -> AsyncIterator[TeamsDriver]:
    """The app with MICROSOFT_APP_ID set: botbuilder authenticates every request."""
    app = make_app(
        tmp_path,
        playbook_path,
        sqlite_template,
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD=PASSWORD,
    )
    async with TestClient(TestServer(app)) as client:
        yield TeamsDriver(client, fake, app[RUNTIME])


def _count(teams: TeamsDriver, model: type[models.Base]) -> int:
    with teams.runtime.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _nothing_happened(teams: TeamsDriver) -> None:
    assert _count(teams, models.TeamsReference) == 0
    assert _count(teams, models.InboundEvent) == 0
    assert _count(teams, models.OutboxMessage) == 0
    assert teams.fake.requests == []


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_without_a_token_nothing_is_processed(secured: TeamsDriver) -> None:
    assert (await secured.install(MARIA)).status == 401
    resp = await secured.post(secured.activity("message", MARIA, text="help"))
    assert resp.status == 401
    _nothing_happened(secured)


async def test_a_genuine_token_is_processed_and_replies_carry_our_token(
    secured: TeamsDriver, identity: FakeBotIdentity
) -> None:
    token = identity.token(audience=APP_ID, service_url=secured.fake.service_url)
    install = secured.activity("conversationUpdate", MARIA, membersAdded=[{"id": "28:bot-app-id"}])
    assert (await secured.post(install, headers=_bearer(token))).status == 200
    message = secured.activity("message", MARIA, text="help")
    assert (await secured.post(message, headers=_bearer(token))).status == 200
    assert await secured.settle(address(MARIA)) == [("sent", None)] * 2  # welcome, help
    welcome, help_ = secured.fake.calls("send", chat(MARIA))
    assert "Welcome to strategy-bot" in str(welcome.cards)
    assert "strategy-bot commands" in str(help_.cards)
    # Outgoing calls carry the token msal got from (fake) Entra ID for our app.
    assert welcome.headers["Authorization"].startswith("Bearer fake-entra-token-")
    assert help_.headers["Authorization"].startswith("Bearer fake-entra-token-")
    request = identity.token_requests[0]
    assert request["client_id"] == APP_ID and request["client_secret"] == PASSWORD
    assert request["grant_type"] == "client_credentials"
    assert request["scope"] == "https://api.botframework.com/.default"
    assert identity.metadata_requests >= 1  # the signing keys really were fetched


def _forged(identity: FakeBotIdentity, service_url: str, **claims: Any) -> str:
    return identity.token(**{"audience": APP_ID, "service_url": service_url, **claims})


BAD_TOKENS: dict[str, Callable[[FakeBotIdentity, str], str]] = {
    "another key, unknown key id": lambda i, url: _forged(
        i, url, key=signing_key(), key_id="attacker-key"
    ),
    "another key, our key id": lambda i, url: _forged(i, url, key=signing_key()),
    "expired": lambda i, url: _forged(i, url, issued=time.time() - 7200, lifetime=3600),
    "not yet valid": lambda i, url: _forged(i, url, issued=time.time() + 3600),
    "another bot's audience": lambda i, url: _forged(i, url, audience="another-bot"),
    "another issuer": lambda i, url: _forged(i, url, issuer="https://evil.example.com"),
    "another service URL": lambda i, url: _forged(i, "https://evil.example.com/teams/"),
    "not a JWT": lambda i, url: "not.a.token",
}


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_a_bad_token_is_401_and_changes_nothing(
    secured: TeamsDriver,
    identity: FakeBotIdentity,
    make: Callable[[FakeBotIdentity, str], str],
) -> None:
    token = make(identity, secured.fake.service_url)
    install = secured.activity("conversationUpdate", MARIA, membersAdded=[{"id": "28:bot-app-id"}])
    assert (await secured.post(install, headers=_bearer(token))).status == 401
    message = secured.activity("message", MARIA, text="help")
    assert (await secured.post(message, headers=_bearer(token))).status == 401
    _nothing_happened(secured)
    assert identity.token_requests == []


async def test_a_key_not_endorsed_for_teams_is_refused(
    secured: TeamsDriver, identity: FakeBotIdentity
) -> None:
    identity.endorsements = ["webchat"]  # a genuine key, published for another channel
    token = identity.token(audience=APP_ID, service_url=secured.fake.service_url)
    message = secured.activity("message", MARIA, text="help")
    assert (await secured.post(message, headers=_bearer(token))).status == 401
    _nothing_happened(secured)


async def test_a_token_for_another_scheme_is_refused(
    secured: TeamsDriver, identity: FakeBotIdentity
) -> None:
    token = identity.token(audience=APP_ID, service_url=secured.fake.service_url)
    message = secured.activity("message", MARIA, text="help")
    for header in (f"Basic {token}", token, f"Bearer {token} extra"):
        resp = await secured.post(message, headers={"Authorization": header})
        assert resp.status == 401, header
    _nothing_happened(secured)


async def test_unreachable_signing_keys_are_503_so_teams_retries(
    secured: TeamsDriver, identity: FakeBotIdentity
) -> None:
    identity.metadata_status = 500
    token = identity.token(audience=APP_ID, service_url=secured.fake.service_url)
    message = secured.activity("message", MARIA, text="help")
    assert (await secured.post(message, headers=_bearer(token))).status == 503
    _nothing_happened(secured)
    # Once the metadata answers again, Teams' redelivery of the same activity goes through.
    identity.metadata_status = 200
    assert (await secured.post(message, headers=_bearer(token))).status == 200
    assert _count(secured, models.InboundEvent) == 1
    assert await secured.settle(address(MARIA)) == [("sent", None)]

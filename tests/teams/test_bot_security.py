"""Bad input at /api/messages: not JSON, not an activity, foreign card submits.

Bearer tokens (missing, forged, expired...) are tested in `test_auth.py`.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.adapters.teams.app import MESSAGES_PATH, BotFrameworkConfig
from bot.config import load_settings
from bot.errors import ConfigError
from storage import models
from tests.teams.conftest import MARIA, TeamsDriver, address, chat


def _count(teams: TeamsDriver, model: type[models.Base]) -> int:
    with teams.runtime.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


async def test_non_json_is_415(teams: TeamsDriver) -> None:
    resp = await teams.client.post(
        MESSAGES_PATH, data=b"type=message", headers={"Content-Type": "text/plain"}
    )
    assert resp.status == 415
    resp = await teams.client.post(MESSAGES_PATH, data=b"type=message")  # no content type
    assert resp.status == 415


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"message"',
        b"{}",
        b'{"type": 7}',
    ],
)
async def test_unreadable_bodies_are_400(teams: TeamsDriver, body: bytes) -> None:
    resp = await teams.client.post(
        MESSAGES_PATH, data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert "error" in await resp.json()


@pytest.mark.parametrize(
    "breakage",
    [
        {"serviceUrl": None},
        {"serviceUrl": "file:///etc/passwd"},
        {"conversation": None},
        {"from": {"name": "no id"}},
        {"recipient": "bot"},
        {"text": {"nested": True}},
    ],
)
async def test_malformed_activities_are_400(
    teams: TeamsDriver, breakage: dict[str, object]
) -> None:
    body = teams.activity("message", MARIA, text="help")
    body.update(breakage)
    resp = await teams.post(body)
    assert resp.status == 400
    assert _count(teams, models.InboundEvent) == 0


async def test_other_activity_types_are_accepted_and_ignored(teams: TeamsDriver) -> None:
    resp = await teams.post({"type": "typing", "id": "x"})
    assert resp.status == 200
    assert teams.fake.requests == []


async def test_foreign_and_incomplete_card_submits_are_answered(teams: TeamsDriver) -> None:
    await teams.join(MARIA)
    foreign = {"msteams": {"type": "messageBack"}, "someOtherBot": 1}
    missing_round = {"strategy": "snooze", "v": "2h"}
    bad_round = {"strategy": "form", "r": "abc"}
    for value in (foreign, missing_round, bad_round):
        assert (await teams.submit(MARIA, value, "1:1")).status == 200
    replies = await teams.fake.wait_for("send", 3, conversation=chat(MARIA))
    assert all("couldn't read that button" in json.dumps(r.cards) for r in replies)
    assert teams.answers(MARIA) == {}
    assert teams.fake.calls("update") == []


async def test_a_submit_for_a_round_not_yours_is_refused(teams: TeamsDriver) -> None:
    round_id, _ = await teams.open_round()
    await teams.join("lee")
    value = {"strategy": "form", "r": round_id, "v": {"hearing": "t"}, "q:hearing": "sneaky"}
    assert (await teams.submit("lee", value, "1:1")).status == 200
    (reply,) = await teams.fake.wait_for("send", conversation=chat("lee"))
    assert "sneaky" not in json.dumps(reply.cards)
    assert teams.answers("lee") == {} and teams.answers(MARIA) == {}


async def test_execute_with_bad_data_is_a_400_card_error(teams: TeamsDriver) -> None:
    await teams.install(MARIA)
    resp = await teams.execute(MARIA, {"strategy": "launch-missiles", "r": 1})
    assert resp.status == 200
    body = await resp.json()
    assert body["statusCode"] == 400 and body["type"] == "application/vnd.microsoft.error"


async def test_other_invokes_are_not_implemented(teams: TeamsDriver) -> None:
    body = teams.activity("invoke", MARIA, name="composeExtension/query", value={})
    assert (await teams.post(body)).status == 501


async def test_removing_the_app_makes_the_person_unreachable(teams: TeamsDriver) -> None:
    await teams.install(MARIA)
    body = teams.activity("installationUpdate", MARIA, action="remove")
    assert (await teams.post(body)).status == 200
    row = teams.reference(address(MARIA))
    assert row is not None and not row.installed


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"MICROSOFT_APP_TYPE": "Personal"}, "MICROSOFT_APP_TYPE"),
        ({"MICROSOFT_APP_ID": "id"}, "MICROSOFT_APP_PASSWORD"),
        (
            {
                "MICROSOFT_APP_ID": "id",
                "MICROSOFT_APP_PASSWORD": "p",
                "MICROSOFT_APP_TYPE": "SingleTenant",
            },
            "MICROSOFT_APP_TENANT_ID",
        ),
    ],
)
def test_inconsistent_settings_name_the_variable(settings: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        BotFrameworkConfig(load_settings(**settings))

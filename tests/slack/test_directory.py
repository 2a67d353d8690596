"""Groups read from Slack: user groups, channels, email members and time zones, end to end.

The real app (Bolt, engine, outbox worker, the Slack directory) runs against the fake Slack
Web API, on SQLite and on PostgreSQL. An admin's `/strategy ask` first reads the groups'
Slack sources, resolves `email:` members and reads stale profiles, then opens the round:
each test waits until the outbox has delivered everything before it looks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from sqlalchemy import func, select, update

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import RUNTIME, build_app
from storage import models
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import ADMIN, MARIA, SlackDriver, slack_playbook, slack_settings, text_of

ANA, BEN, CARL, DANA, ERIN, PAT = "U0ANA", "U0BEN", "U0CARL", "U0DANA", "U0ERIN", "U0PAT"
HELPER, GONE = "U0HELPER", "U0GONE"  # a bot and a deactivated account
USERGROUP, CHANNEL = "S0MKT", "C0SUPPORT"
PAT_EMAIL, GHOST_EMAIL = "pat@acme.example", "ghost@acme.example"
FIRST_QUESTION = "What are you hearing from customers?"


def directory_playbook() -> dict[str, Any]:
    """Marketing: Maria, a user group and two addresses; support: a channel."""
    book = slack_playbook()
    book["groups"]["marketing"] = {
        "title": "Marketing, PR and sales",
        "members": [
            {"id": f"slack:{MARIA}", "name": "Maria (Marketing)"},  # no timezone: Slack's
            {"id": f"email:{PAT_EMAIL}", "name": "Pat (PR)"},
            {"id": f"email:{GHOST_EMAIL}", "name": "Ghost"},
        ],
        "sources": [f"slack:usergroup:{USERGROUP}"],
    }
    book["groups"]["support"] = {"title": "Support", "sources": [f"slack:channel:{CHANNEL}"]}
    book["conversations"][0]["groups"] = ["marketing", "support"]
    return book


@pytest.fixture
def playbook_path(tmp_path: Path) -> Path:
    """This module's playbook (overrides the Slack tests' default one)."""
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(directory_playbook(), sort_keys=False))
    return path


@pytest.fixture
def slack_app(fake: FakeSlackApi, playbook_path: Path, db_url: str) -> Iterator[web.Application]:
    """The real application with Slack mounted, on each database backend."""
    settings = slack_settings(fake, db_url, playbook_path)
    app = build_app(settings, migrate=False)
    assert isinstance(app[RUNTIME].adapters["slack"], SlackAdapter)
    assert "slack" in app[RUNTIME].directories
    yield app


@pytest.fixture(autouse=True)
def workspace(fake: FakeSlackApi) -> FakeSlackApi:
    """The workspace's people, user group and channel (two members a page)."""
    fake.add_user(MARIA, "Maria Rossi", tz="Europe/Berlin")
    fake.add_user(ANA, "Ana Alvarez", tz="America/New_York", display_name="ana")
    fake.add_user(BEN, "Ben Okafor", tz="Africa/Lagos")
    fake.add_user(CARL, "Carl Berg", tz="Europe/Stockholm")
    fake.add_user(DANA, "Dana Cohen", tz="Asia/Jerusalem")
    fake.add_user(ERIN, "Erin Walsh", tz="Europe/Dublin")
    fake.add_user(PAT, "Patricia Lee", tz="Australia/Sydney", email=PAT_EMAIL.upper())
    fake.add_user(HELPER, "Standup Helper", is_bot=True)
    fake.add_user(GONE, "Gone Person", deleted=True)
    fake.usergroups[USERGROUP] = [ANA, BEN]
    fake.channels[CHANNEL] = [CARL, HELPER, GONE, DANA]
    fake.members_page_size = 2
    return fake


# -- helpers --------------------------------------------------------------------------------


async def settled(slack: SlackDriver) -> None:
    """Wait until the outbox worker has recorded an outcome for every message."""
    for _ in range(200):
        with slack.runtime.db.transaction() as s:
            waiting = s.scalar(
                select(func.count())
                .select_from(models.OutboxMessage)
                .where(models.OutboxMessage.status.in_(("pending", "sending")))
            )
        if not waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not settle")


async def run(slack: SlackDriver, text: str) -> str:
    """An admin's `/strategy <text>`; returns the ephemeral reply once all is delivered."""
    name = f"{text.split()[0]}{len(slack.fake.calls('respond'))}"
    resp = await slack.command(ADMIN, text, name=name)
    assert resp.status == 200
    for _ in range(200):
        replies = [r for r in slack.fake.calls("respond") if r.path == f"/respond/{name}"]
        if replies:
            await settled(slack)
            return text_of(replies[0].body)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reply to {text!r}")


async def ask(slack: SlackDriver) -> set[str]:
    """Open a social-media round; returns who was invited (identities)."""
    reply = await run(slack, "ask social-media")
    assert "is open" in reply, reply
    return participants(slack)


def participants(slack: SlackDriver) -> set[str]:
    """The identities invited to the newest round."""
    with slack.runtime.db.transaction() as s:
        newest = s.scalar(select(func.max(models.Round.id)))
        return set(
            s.scalars(
                select(models.Member.identity)
                .join(models.Participant)
                .where(models.Participant.round_id == newest)
            )
        )


def member(slack: SlackDriver, identity: str) -> models.Member:
    """A member row as stored."""
    with slack.runtime.db.transaction() as s:
        found = s.scalar(select(models.Member).where(models.Member.identity == identity))
        assert found is not None, identity
        return found


def prompted(fake: FakeSlackApi) -> list[str]:
    """The DM channels round-opening prompts were posted to, in order (one per prompt).

    A closed round's "what we heard" names the question too, and is not a prompt.
    """
    return [
        str(c.body["channel"])
        for c in fake.calls("chat.postMessage")
        if str(c.body["channel"]).startswith("D")
        and FIRST_QUESTION in text_of(c.body)
        and "What we heard" not in text_of(c.body)
    ]


def slack_ids(*users: str) -> set[str]:
    return {f"slack:{u}" for u in users}


GHOST = f"email:{GHOST_EMAIL}"
FIRST = slack_ids(MARIA, PAT, ANA, BEN, CARL, DANA) | {GHOST}


# -- tests ----------------------------------------------------------------------------------


async def test_ask_prompts_the_current_members_of_a_user_group_and_a_channel(
    slack: SlackDriver, workspace: FakeSlackApi
) -> None:
    assert await ask(slack) == FIRST
    first = prompted(workspace)
    assert sorted(first) == ["D0ANA", "D0BEN", "D0CARL", "D0DANA", "D0MARIA", "D0PAT"]
    # The channel came in two pages of two, the second asked for with the first's cursor.
    pages = workspace.calls("conversations.members", channel=CHANNEL)
    assert [p.body.get("cursor", "") != "" for p in pages] == [False, True]
    assert all(p.body["limit"] == "200" for p in pages)
    # Nobody opened a DM with the bot or the deactivated account.
    opened = {c.body["users"] for c in workspace.calls("conversations.open")}
    assert opened == {MARIA, PAT, ANA, BEN, CARL, DANA}

    # Between rounds Ben leaves the user group, Erin joins; Carl leaves the channel.
    workspace.usergroups[USERGROUP] = [ANA, ERIN]
    workspace.channels[CHANNEL] = [HELPER, DANA]
    assert "closed" in await run(slack, "close social-media")
    second = await ask(slack)
    assert second == slack_ids(MARIA, PAT, ANA, ERIN, DANA) | {GHOST}
    again = prompted(workspace)[len(first) :]
    assert sorted(again) == ["D0ANA", "D0DANA", "D0ERIN", "D0MARIA", "D0PAT"]


async def test_an_email_member_is_resolved_and_an_unknown_one_is_unreachable_in_status(
    slack: SlackDriver, workspace: FakeSlackApi
) -> None:
    invited = await ask(slack)
    assert f"slack:{PAT}" in invited and f"email:{PAT_EMAIL}" not in invited
    looked_up = sorted(c.body["email"] for c in workspace.calls("users.lookupByEmail"))
    assert looked_up == sorted([PAT_EMAIL, GHOST_EMAIL])
    assert "D0PAT" in prompted(workspace)
    pat = member(slack, f"slack:{PAT}")
    assert (pat.display_name, pat.timezone) == ("Pat (PR)", "Australia/Sydney")
    ghost = member(slack, GHOST)
    assert ghost.unreachable_reason == "no slack user has this email address"

    status = await run(slack, "status")
    assert "Not reachable:" in status
    assert f"{GHOST} (Ghost): no slack user has this email address" in status
    assert f"slack:{PAT}" not in status.split("Not reachable:")[1]


async def test_timezones_and_names_come_from_users_info_at_most_daily(
    slack: SlackDriver, workspace: FakeSlackApi
) -> None:
    await ask(slack)
    ana = member(slack, f"slack:{ANA}")
    assert (ana.display_name, ana.timezone) == ("Ana Alvarez", "America/New_York")
    maria = member(slack, f"slack:{MARIA}")  # the playbook's name, Slack's zone
    assert (maria.display_name, maria.timezone) == ("Maria (Marketing)", "Europe/Berlin")
    assert len(workspace.calls("users.info", user=ANA)) == 1

    # A second round the same day reads no profile again.
    workspace.users[ANA]["tz"] = "Europe/Lisbon"
    await run(slack, "close social-media")
    await ask(slack)
    assert len(workspace.calls("users.info", user=ANA)) == 1
    assert member(slack, f"slack:{ANA}").timezone == "America/New_York"

    # A day later it is read again, and the new zone is stored.
    with slack.runtime.db.transaction() as s:
        s.execute(
            update(models.Member)
            .where(models.Member.identity == f"slack:{ANA}")
            .values(directory_checked_at=datetime.now(UTC) - timedelta(days=1))
        )
    await run(slack, "close social-media")
    await ask(slack)
    assert len(workspace.calls("users.info", user=ANA)) == 2
    assert member(slack, f"slack:{ANA}").timezone == "Europe/Lisbon"
    # Bots are asked about every time (they are not stored), people only once a day.
    assert len(workspace.calls("users.info", user=HELPER)) == 3
    assert len(workspace.calls("users.info", user=DANA)) == 1


async def test_a_failing_directory_still_opens_the_round_with_the_last_known_members(
    slack: SlackDriver, workspace: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    assert await ask(slack) == FIRST
    await run(slack, "close social-media")
    # Slack changes, but cannot tell us: the user group is rate limited, the channel 500s.
    workspace.usergroups[USERGROUP] = [ERIN]
    workspace.channels[CHANNEL] = []
    workspace.script("usergroups.users.list", status=429, headers={"Retry-After": "30"})
    workspace.script("conversations.members", status=500)
    with caplog.at_level(logging.WARNING, logger="bot.flows.directory"):
        assert await ask(slack) == FIRST
    assert "usergroups.users.list: ratelimited (retry after 30s)" in caplog.text
    assert "conversations.members: http_500" in caplog.text
    assert "keep their last known members" in caplog.text


async def test_a_directory_down_at_the_first_round_asks_the_listed_members(
    slack: SlackDriver, workspace: FakeSlackApi
) -> None:
    workspace.script("usergroups.users.list", status=503, times=5)
    workspace.script("conversations.members", status=500, times=5)
    assert await ask(slack) == slack_ids(MARIA, PAT) | {GHOST}
    assert sorted(prompted(workspace)) == ["D0MARIA", "D0PAT"]

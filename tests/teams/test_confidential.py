"""Confidential answers over the real Teams path: botbuilder, the engine, Adaptive Cards.

On SQLite and PostgreSQL. A Social Liability round confidential to the CIO and general
counsel is answered in Lee's
personal chat and closed. The cards the fake Bot Connector receives are what people
read: the CIO channel's (at close, and when the CIO asks there with an @mention) show how
many answered and never the answer; the CIO's personal chat gets their own view with it,
audited; an admin asking in their chat gets counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from sqlalchemy import select

from storage import models
from tests.teams.conftest import (
    ADMIN,
    CIO,
    CIO_CHANNEL,
    LEE,
    TeamsDriver,
    address,
    chat,
    make_app,
    teams_playbook,
)

RISK = "Our retention policy ignores the chat exports"


@pytest.fixture
def playbook_path(tmp_path: Path) -> Path:
    book = teams_playbook()
    book["roles"]["general_counsel"] = [address("gia")]
    book["conversations"][1]["confidential"] = ["cio", "general_counsel"]
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    return path


@pytest.fixture
def teams_app(playbook_path: Path, tmp_path: Path, db_url: str) -> web.Application:
    """The app on each database (`db_url`), unauthenticated, driven with the fake."""
    return make_app(tmp_path, playbook_path, Path(), database_url=db_url, MICROSOFT_APP_ID=None)


def cards(sent: Any) -> str:
    return json.dumps(sent.cards, ensure_ascii=False)


def readings(teams: TeamsDriver) -> list[tuple[str, dict[str, Any]]]:
    with teams.runtime.db.transaction() as s:
        return [
            (e.actor, dict(e.detail))
            for e in s.scalars(
                select(models.AuditEntry).where(
                    models.AuditEntry.action == "read confidential answers"
                )
            )
        ]


async def test_teams_shows_the_channel_counts_and_the_entitled_their_answers(
    teams: TeamsDriver,
) -> None:
    await teams.join(LEE, ADMIN, CIO)
    await teams.join_channel()
    assert (await teams.say(ADMIN, "ask social-liability")).status == 200
    await teams.fake.wait_for("send", conversation=chat(LEE))
    assert (await teams.say(LEE, RISK)).status == 200
    assert teams.answers(LEE) == {"risk": RISK}
    assert (await teams.say(ADMIN, "close social-liability")).status == 200
    posts = await teams.fake.wait_for("send", 2, conversation=CIO_CHANNEL)  # open, digest
    digest = cards(posts[-1])
    assert "Social Liability" in digest and RISK not in digest
    assert "1 question is confidential to the CIO and general counsel" in digest

    assert (await teams.say(ADMIN, "digest social-liability")).status == 200
    admin = await teams.fake.wait_for("send", 3, conversation=chat(ADMIN))
    assert "1 answered" in cards(admin[-1]) and RISK not in cards(admin[-1])

    assert (await teams.say(CIO, "digest social-liability", channel=CIO_CHANNEL)).status == 200
    posts = await teams.fake.wait_for("send", 3, conversation=CIO_CHANNEL)
    assert RISK not in cards(posts[-1])
    (mine,) = await teams.fake.wait_for("send", conversation=chat(CIO))
    assert RISK in cards(mine) and "recorded in the audit log" in cards(mine)
    assert readings(teams) == [
        (address(CIO), {"platform": "teams", "round": "1", "questions": "risk"})
    ]
    channel = teams.fake.calls("send", CIO_CHANNEL)
    assert all(RISK not in cards(p) for p in channel)

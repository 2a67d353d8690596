"""Confidential answers over the real Slack path: Bolt, the engine, the outbox, Block Kit.

On SQLite and PostgreSQL. A Social Liability round confidential to the CIO and general
counsel is answered by DM
and closed; then `/strategy digest social-liability` is typed as Slack sends it. What the
fake Slack Web API receives is what people would read: the channel's post and an admin's
private reply show how many answered and never the answer; the CIO's private reply (only
they see a `response_url` reply) shows it, and the reading is in the audit log.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from sqlalchemy import select

from bot.app import build_app
from storage import models
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import (
    ADMIN,
    CIO,
    CIO_CHANNEL,
    LEE,
    SlackDriver,
    slack_playbook,
    slack_settings,
    text_of,
)

GIA = "U0GIA"
RISK = "Our retention policy ignores the chat exports"


def confidential_book() -> dict[str, Any]:
    book = slack_playbook()
    book["roles"]["general_counsel"] = [f"slack:{GIA}"]
    book["conversations"][1]["confidential"] = ["cio", "general_counsel"]
    return book


@pytest.fixture
def playbook_path(tmp_path: Path) -> Path:
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(confidential_book(), sort_keys=False))
    return path


@pytest.fixture
def slack_app(fake: FakeSlackApi, playbook_path: Path, db_url: str) -> web.Application:
    """The real app with Slack mounted, on each database (`db_url`)."""
    return build_app(slack_settings(fake, db_url, playbook_path), migrate=False)


async def answered_and_closed(slack: SlackDriver) -> None:
    assert (await slack.command(ADMIN, "ask social-liability", name="ask")).status == 200
    await slack.fake.wait_for("chat.postMessage", channel="D0LEE")
    assert (await slack.dm(LEE, RISK)).status == 200
    for _ in range(100):
        if slack.answers(LEE):
            break
        await asyncio.sleep(0.05)
    assert slack.answers(LEE) == {"risk": RISK}
    assert (await slack.command(ADMIN, "close social-liability", name="close")).status == 200


def readings(slack: SlackDriver) -> list[tuple[str, str, dict[str, Any]]]:
    with slack.runtime.db.transaction() as s:
        return [
            (e.actor, e.target, dict(e.detail))
            for e in s.scalars(
                select(models.AuditEntry).where(
                    models.AuditEntry.action == "read confidential answers"
                )
            )
        ]


async def test_slack_shows_the_channel_counts_and_the_entitled_their_answers(
    slack: SlackDriver,
) -> None:
    await answered_and_closed(slack)
    (closed,) = [
        p
        for p in await slack.fake.wait_for("chat.postMessage", 2, channel=CIO_CHANNEL)
        if "digest" in text_of(p.body).lower() and "Social Liability" in text_of(p.body)
    ]
    posted = text_of(closed.body)
    assert RISK not in posted
    assert "1 question is confidential to the CIO and general counsel" in posted
    assert "Confidential: only the CIO and general counsel read these answers" in posted

    # An admin, privately: counts only.
    await slack.command(ADMIN, "digest social-liability", name="admin")
    (admin,) = [r for r in await slack.fake.wait_for("respond", 3) if r.path == "/respond/admin"]
    assert RISK not in text_of(admin.body) and "1 answered" in text_of(admin.body)

    # The CIO, in the CIO channel: the channel's post has counts, their own reply the words.
    before = len(slack.fake.calls("chat.postMessage", channel=CIO_CHANNEL))
    await slack.command(CIO, "digest social-liability", channel=CIO_CHANNEL, name="cio")
    posts = await slack.fake.wait_for("chat.postMessage", before + 1, channel=CIO_CHANNEL)
    assert RISK not in text_of(posts[-1].body)
    (mine,) = [r for r in await slack.fake.wait_for("respond", 4) if r.path == "/respond/cio"]
    assert mine.body["response_type"] == "ephemeral"
    assert RISK in text_of(mine.body) and "recorded in the audit log" in text_of(mine.body)
    assert readings(slack) == [
        (
            f"slack:{CIO}",
            "social-liability",
            {"platform": "slack", "round": "1", "questions": "risk"},
        )
    ]

    # General counsel, in a DM with the bot: their reply only.
    await slack.command(GIA, "digest social-liability", channel="D0GIA", name="gia")
    (gia,) = [r for r in await slack.fake.wait_for("respond", 5) if r.path == "/respond/gia"]
    assert RISK in text_of(gia.body)
    assert [actor for actor, _, _ in readings(slack)] == [f"slack:{CIO}", f"slack:{GIA}"]
    channel = slack.fake.calls("chat.postMessage", channel=CIO_CHANNEL)
    assert channel and all(RISK not in text_of(p.body) for p in channel)

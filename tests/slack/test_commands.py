"""`/strategy` commands: stored before Slack's ack, carried out once, replayed requests ignored."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

from sqlalchemy import func, select

from storage import models
from tests.slack.conftest import ADMIN, CIO_CHANNEL, SlackDriver, text_of


def _stored(slack: SlackDriver) -> list[tuple[str, str]]:
    with slack.runtime.db.transaction() as s:
        return [
            (row.event["text"], row.status)
            for row in s.scalars(select(models.PendingCommand).order_by(models.PendingCommand.id))
        ]


async def test_a_command_is_stored_before_slack_gets_its_ack(slack: SlackDriver) -> None:
    resp = await slack.command(ADMIN, "pause social-media", name="pause")
    assert resp.status == 200
    # The instant the ack is back, the command is in the database (it may have run already).
    ((text, status),) = _stored(slack)
    assert text == "pause social-media" and status in ("pending", "done")
    (reply,) = await slack.fake.wait_for("respond")
    assert reply.path == "/respond/pause" and "paused" in text_of(reply.body)
    assert reply.body["response_type"] == "ephemeral"


async def test_a_replayed_signed_command_runs_once(slack: SlackDriver) -> None:
    await slack.open_round()
    opened = len(await slack.fake.wait_for("chat.postMessage", channel=CIO_CHANNEL))
    form = {
        "team_id": "T0TEAM",
        "channel_id": "C0GENERAL",
        "user_id": ADMIN,
        "command": "/strategy",
        "text": "close social-media",
        "response_url": slack.fake.respond_url("close"),
        "trigger_id": "trigger.close.replayed",
    }
    body, stamp = urlencode(form), int(time.time())
    # The same signed request twice inside Slack's five-minute window: both pass the
    # signature check, only the first is carried out.
    for _ in range(2):
        resp = await slack.post(body, "application/x-www-form-urlencoded", timestamp=stamp)
        assert resp.status == 200
    posts = await slack.fake.wait_for("chat.postMessage", opened + 1, channel=CIO_CHANNEL)
    assert "round 1 digest" in text_of(posts[-1].body)
    await asyncio.sleep(1.0)  # a second run's digest and reply would have arrived by now
    assert len(slack.fake.calls("chat.postMessage", channel=CIO_CHANNEL)) == opened + 1
    assert len([c for c in slack.fake.calls("respond") if c.path == "/respond/close"]) == 1
    with slack.runtime.db.transaction() as s:
        closed = s.scalar(
            select(func.count()).select_from(models.Round).where(models.Round.status == "closed")
        )
    assert closed == 1 and [t for t, _ in _stored(slack)].count("close social-media") == 1

"""Requests Slack did not sign, stale replays, redeliveries and payloads we cannot read."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func, select

from storage import models
from tests.slack.conftest import MARIA, SlackDriver, sign, text_of


def _inbound_events(slack: SlackDriver) -> int:
    with slack.runtime.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(models.InboundEvent)) or 0)


async def test_a_bad_signature_is_rejected_and_nothing_is_stored(slack: SlackDriver) -> None:
    await slack.open_round()
    before = _inbound_events(slack)  # the admin's `ask`
    body = slack.envelope(slack.dm_event(MARIA, "forged answer"))
    ts = int(time.time())
    resp = await slack.post(body, "application/json", signature=sign(body, ts, secret="wrong"))
    assert resp.status == 401
    assert slack.answers(MARIA) == {}
    assert _inbound_events(slack) == before


async def test_a_tampered_body_is_rejected(slack: SlackDriver) -> None:
    await slack.open_round()
    ts = int(time.time())
    signed = slack.envelope(slack.dm_event(MARIA, "harmless"), "EvTAMPER")
    tampered = signed.replace("harmless", "tampered")
    resp = await slack.post(tampered, "application/json", signature=sign(signed, ts))
    assert resp.status == 401
    assert slack.answers(MARIA) == {}


async def test_a_stale_timestamp_is_rejected(slack: SlackDriver) -> None:
    await slack.open_round()
    before = _inbound_events(slack)
    body = slack.envelope(slack.dm_event(MARIA, "replayed answer"))
    stale = int(time.time()) - 6 * 60
    resp = await slack.post(body, "application/json", timestamp=stale)
    assert resp.status == 401
    assert slack.answers(MARIA) == {}
    assert _inbound_events(slack) == before


async def test_an_unsigned_command_is_rejected(slack: SlackDriver) -> None:
    resp = await slack.client.post(
        "/slack/events",
        data="command=%2Fstrategy&text=ask+social-media&user_id=U0ADMIN",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 401
    await asyncio.sleep(0.2)
    assert not slack.fake.calls("respond") and not slack.fake.calls("chat.postMessage")


async def test_a_redelivered_event_is_stored_once(slack: SlackDriver) -> None:
    await slack.open_round()
    event = slack.dm_event(MARIA, "Forums, mostly")
    first = await slack.event(event, event_id="EvSAME")
    again = await slack.event(event, event_id="EvSAME", retry=1)
    assert first.status == 200 and again.status == 200
    assert slack.answers(MARIA) == {"hearing": "Forums, mostly"}
    await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    await asyncio.sleep(1.5)  # a second reply would have arrived by now (1 s pacing)
    assert len(slack.fake.calls("chat.postMessage", channel="D0MARIA")) == 2


async def test_bot_messages_and_edits_are_acked_and_ignored(slack: SlackDriver) -> None:
    await slack.open_round()
    echo = {**slack.dm_event(MARIA, "I am the bot"), "bot_id": "B0BOT"}
    edit = {**slack.dm_event(MARIA, "edited"), "subtype": "message_changed"}
    channel = {**slack.dm_event(MARIA, "chatter"), "channel_type": "channel"}
    for event in (echo, edit, channel):
        assert (await slack.event(event)).status == 200
    assert slack.answers(MARIA) == {}


async def test_url_verification_is_answered(slack: SlackDriver) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    resp = await slack.post(body, "application/json")
    assert resp.status == 200
    assert "c-123" in await resp.text()


async def test_a_malformed_button_is_acked_and_explained(slack: SlackDriver) -> None:
    await slack.open_round()
    bad = {"type": "button", "action_id": "strategy:skip_round", "value": "not json"}
    resp = await slack.press(MARIA, bad)
    assert resp.status == 200
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert "couldn't read that button" in text_of(posts[-1].body)


async def test_a_malformed_form_is_acked_and_explained(slack: SlackDriver) -> None:
    await slack.open_round()
    view = {"type": "modal", "callback_id": "strategy_form", "private_metadata": "{}"}
    resp = await slack.submit(MARIA, view)
    assert resp.status == 200
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert "couldn't read that button or form" in text_of(posts[-1].body)


async def test_a_button_for_someone_elses_round_is_refused(slack: SlackDriver) -> None:
    round_id = await slack.open_round()
    skip = {
        "type": "button",
        "action_id": "strategy:skip_round",
        "value": json.dumps({"r": round_id, "v": None}),
    }
    resp = await slack.press("U0STRANGER", skip)
    assert resp.status == 200
    posts = await slack.fake.wait_for("chat.postMessage", channel="D0STRANGER")
    assert "isn't addressed to you" in text_of(posts[0].body)

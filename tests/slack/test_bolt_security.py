"""Requests Slack did not sign, stale replays, redeliveries and payloads we cannot read."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

import pytest
from aiohttp import ClientResponse
from sqlalchemy import func, select

from bot.adapters.slack.app import EVENTS_PATH
from storage import models
from tests.slack.conftest import MARIA, SECRET, SlackDriver, sign, text_of


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


# -- bodies Bolt cannot read: refused before Bolt, one log line, no traceback --------------

JSON, FORM = "application/json", "application/x-www-form-urlencoded"
MALFORMED: list[tuple[str, bytes, str]] = [
    ("bad-json", b'{"type": "event_callback", "event": ', JSON),
    ("json-array", b'[{"type": "event_callback"}]', JSON),
    ("json-string", b'"event_callback"', JSON),
    ("deeply-nested", b"{" + b'"a":[' * 50_000, JSON),
    ("not-utf8", b'{"text": "\xff\xfe\xfa"}', JSON),
    ("not-utf8-form", b"payload=%7B%7D&text=\xff\xfe", FORM),
    ("payload-not-json", b"payload=%7Bnot+json", FORM),
    ("payload-array", b"payload=%5B1%2C2%5D", FORM),
]


def _stored(slack: SlackDriver) -> int:
    with slack.runtime.db.transaction() as s:
        return sum(
            int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (models.InboundEvent, models.Answer, models.OutboxMessage)
        )


def _signed_bytes(body: bytes, timestamp: int) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


async def _post_raw(slack: SlackDriver, body: bytes, headers: dict[str, str]) -> ClientResponse:
    return await slack.client.post(EVENTS_PATH, data=body, headers=headers)


def _problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the app logged about requests (the access log aside)."""
    return [r for r in caplog.records if r.name != "aiohttp.access"]


def _one_line_no_traceback(caplog: pytest.LogCaptureFixture, status: int) -> None:
    (record,) = _problems(caplog)
    assert record.name == "bot.adapters.slack.requests"
    assert f"with {status}" in record.getMessage()
    assert not record.exc_info and not record.exc_text
    assert "\n" not in record.getMessage()


@pytest.mark.parametrize(
    ("body", "content_type"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_an_unsigned_malformed_body_is_401_in_one_log_line(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.INFO)
    headers = {"Content-Type": content_type}
    resp = await _post_raw(slack, body, headers)
    assert resp.status == 401
    assert _stored(slack) == 0
    _one_line_no_traceback(caplog, 401)


@pytest.mark.parametrize(
    ("body", "content_type"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_a_signed_malformed_body_is_400_in_one_log_line(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.INFO)
    ts = int(time.time())
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": _signed_bytes(body, ts),
    }
    resp = await _post_raw(slack, body, headers)
    assert resp.status == 400
    assert await resp.json() == {"error": "malformed request"}
    assert _stored(slack) == 0
    _one_line_no_traceback(caplog, 400)


@pytest.mark.parametrize(
    "timestamp",
    ["soon", "1.7e9", "-5", "0x65", "", "9" * 5000],
    ids=["word", "float", "negative", "hex", "empty", "5000-digits"],
)
async def test_a_timestamp_that_is_not_a_number_is_401_in_one_log_line(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    caplog.set_level(logging.INFO)
    body = slack.envelope(slack.dm_event(MARIA, "an answer"))
    headers = {
        "Content-Type": JSON,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(body, int(time.time())),
    }
    resp = await _post_raw(slack, body.encode(), headers)
    assert resp.status == 401
    assert _stored(slack) == 0
    _one_line_no_traceback(caplog, 401)


async def test_a_flood_of_bad_requests_is_not_a_flood_of_log_lines(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(50):
        resp = await _post_raw(slack, b"[not json", {"Content-Type": JSON})
        assert resp.status == 401
    lines = _problems(caplog)
    assert len(lines) == 1  # the first in full; the rest are counted in the next line
    assert not any(r.exc_info for r in lines)
    assert sum(len(r.getMessage()) for r in lines) < 300


async def test_a_signed_well_formed_request_still_reaches_bolt(slack: SlackDriver) -> None:
    round_id = await slack.open_round()
    assert round_id > 0
    resp = await slack.dm(MARIA, "Forums, mostly")
    assert resp.status == 200
    assert slack.answers(MARIA) == {"hearing": "Forums, mostly"}

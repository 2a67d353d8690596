"""The App Home through the real Bolt app: admin dashboard, buttons, cadence modal, done DM."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.playbook.loader import DEFAULT_PLAYBOOK
from storage import models
from tests.slack.conftest import ADMIN, LEE, MARIA, SlackDriver, slack_playbook, text_of

SIX = "six"


def six_conversations_playbook() -> dict[str, Any]:
    """The default playbook (all six conversations) with Slack identities."""
    raw = Path(DEFAULT_PLAYBOOK).read_text(encoding="utf-8")
    book: dict[str, Any] = yaml.safe_load(raw)

    def slack_id(ident: str) -> str:
        return "slack:U0" + ident.removeprefix("console:").upper()

    book["cio_channel"] = "slack:C0CIO"
    book["roles"] = {k: [slack_id(i) for i in v] for k, v in book["roles"].items()}
    for group in book["groups"].values():
        for member in group["members"]:
            member["id"] = slack_id(member["id"])
    return book


@pytest.fixture
def playbook_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The Slack test playbook, or the six-conversation one when parametrized with SIX."""
    param = getattr(request, "param", None)
    book = six_conversations_playbook() if param == SIX else None
    if param == EARLY:  # Social Liability closes as soon as everyone has answered
        book = slack_playbook()
        book["conversations"][1]["close_when_all_answered"] = True
    path = tmp_path / "playbook.yml"
    path.write_text(yaml.safe_dump(book or slack_playbook(), sort_keys=False))
    return path


async def open_home(slack: SlackDriver, user: str, count: int = 1) -> dict[str, Any]:
    """Open a user's Home tab; returns the `count`-th view published for them."""
    resp = await slack.event({"type": "app_home_opened", "user": user, "tab": "home"})
    assert resp.status == 200
    return await published(slack, user, count)


async def published(slack: SlackDriver, user: str, count: int = 1) -> dict[str, Any]:
    """The `count`-th Home view published for a user."""
    calls = await slack.fake.wait_for("views.publish", count, user_id=user)
    view: dict[str, Any] = calls[count - 1].body["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return view


def home_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Home button (action id starting with strategy_home:) in a view."""
    return [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("strategy_home:")
    ]


def button(view: dict[str, Any], action: str, key: str) -> dict[str, Any]:
    """The Home button with this action for this conversation."""
    found = [
        b
        for b in home_buttons(view)
        if b["action_id"] == f"strategy_home:{action}" and b["value"] == key
    ]
    assert len(found) == 1, [b["action_id"] + "/" + b["value"] for b in home_buttons(view)]
    return {**found[0]}


def sections(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


def audit(slack: SlackDriver) -> list[tuple[str, str, str]]:
    with slack.runtime.db.transaction() as s:
        rows = s.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id)).all()
        return [(r.actor, r.action, r.target) for r in rows]


def paused(slack: SlackDriver, key: str) -> bool:
    with slack.runtime.db.transaction() as s:
        conv = s.scalars(select(models.Conversation).where(models.Conversation.key == key)).one()
        return conv.paused


@pytest.mark.parametrize("playbook_path", [SIX], indirect=True)
async def test_admin_home_lists_all_six_conversations(slack: SlackDriver) -> None:
    view = await open_home(slack, ADMIN)
    keys = [
        "social-media",
        "social-networking",
        "social-support",
        "social-innovation",
        "social-technologies",
        "social-liability",
    ]
    texts = sections(view)
    for key in keys:
        (text,) = [t for t in texts if f"`{key}`" in t]
        assert "Next round: <!date^" in text and "No round open." in text
        for action in ("cadence", "pause", "ask"):
            button(view, action, key)
    media = next(t for t in texts if "`social-media`" in t)
    assert "*Social Media*" in media
    assert "every 2 weeks on Tuesday at 10:00 (Europe/Berlin)" in media
    assert button(view, "digest", "all")["text"]["text"] == "Latest digest"
    assert all(
        o["type"] == "mrkdwn" and o["verbatim"]
        for b in view["blocks"]
        if b["type"] == "section"
        for o in [b["text"]]
    )


async def test_a_stakeholder_sees_only_their_prompts(slack: SlackDriver) -> None:
    await slack.open_round()
    view = await open_home(slack, MARIA)
    raw = json.dumps(view)
    assert "What are you hearing from customers?" in raw
    assert home_buttons(view) == []
    assert "social-liability" not in raw and "Edit cadence" not in raw
    assert "Latest digest" not in raw


async def test_pause_then_resume_from_the_home_tab(slack: SlackDriver) -> None:
    view = await open_home(slack, ADMIN)
    resp = await slack.press(ADMIN, button(view, "pause", "social-media"))
    assert resp.status == 200
    assert paused(slack, "social-media")
    view = await published(slack, ADMIN, 2)
    media = next(t for t in sections(view) if "`social-media`" in t)
    assert "*Paused*" in media and "Next round" not in media
    resume = button(view, "resume", "social-media")
    assert resume["text"]["text"] == "Resume"
    assert audit(slack) == [("slack:U0ADMIN", "pause", "social-media")]
    dm = await slack.fake.wait_for("chat.postMessage", channel="D0ADMIN")
    assert "Social Media is paused" in text_of(dm[0].body)

    await slack.press(ADMIN, resume)
    view = await published(slack, ADMIN, 3)
    assert not paused(slack, "social-media")
    button(view, "pause", "social-media")
    assert audit(slack)[-1] == ("slack:U0ADMIN", "resume", "social-media")


async def test_open_and_close_a_round_from_the_home_tab(slack: SlackDriver) -> None:
    view = await open_home(slack, ADMIN)
    await slack.press(ADMIN, button(view, "ask", "social-media"))
    view = await published(slack, ADMIN, 2)
    media = next(t for t in sections(view) if "`social-media`" in t)
    assert "Round 1 open: 0 of 2 answered" in media
    close = button(view, "close", "social-media")
    assert close["style"] == "danger" and "confirm" in close
    await slack.press(ADMIN, close)
    view = await published(slack, ADMIN, 3)
    media = next(t for t in sections(view) if "`social-media`" in t)
    assert "No round open." in media and "Last closed: round 1" in media
    assert [a[1] for a in audit(slack)] == ["ask", "close"]


async def test_a_stakeholder_forging_an_admin_button_is_refused(slack: SlackDriver) -> None:
    forged = {
        "type": "button",
        "action_id": "strategy_home:pause",
        "value": "social-media",
        "text": {"type": "plain_text", "text": "Pause"},
    }
    resp = await slack.press(MARIA, forged)
    assert resp.status == 200
    dm = await slack.fake.wait_for("chat.postMessage", channel="D0MARIA")
    assert "Only admins can use “pause”" in text_of(dm[0].body)
    assert not paused(slack, "social-media")
    assert audit(slack) == []

    cadence = {**forged, "action_id": "strategy_home:cadence"}
    await slack.press(MARIA, cadence)
    dms = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert "Only admins can use “schedule”" in text_of(dms[1].body)
    assert not slack.fake.calls("views.open")


async def open_cadence_modal(slack: SlackDriver) -> dict[str, Any]:
    view = await open_home(slack, ADMIN)
    await slack.press(ADMIN, button(view, "cadence", "social-media"))
    opened = await slack.fake.wait_for("views.open")
    modal: dict[str, Any] = opened[0].body["view"]
    return modal


def typed(modal: dict[str, Any], text: str) -> dict[str, Any]:
    values = {"cadence": {"cadence_text": {"type": "plain_text_input", "value": text}}}
    return {**modal, "state": {"values": values}}


async def test_a_bad_cadence_keeps_the_modal_open(slack: SlackDriver) -> None:
    modal = await open_cadence_modal(slack)
    assert modal["callback_id"] == "strategy_cadence"
    assert modal["private_metadata"] == "social-media"
    (field,) = [b for b in modal["blocks"] if b["type"] == "input"]
    assert field["element"]["initial_value"] == "every 2 weeks on tue at 10:00"
    assert "every 2 weeks on tue at 10:00 Europe/Berlin" in field["hint"]["text"]

    resp = await slack.submit(ADMIN, typed(modal, "every blue moon"))
    assert resp.status == 200
    body = await resp.json()
    assert body["response_action"] == "errors"
    assert "unknown weekday 'blue'" in body["errors"]["cadence"]
    assert audit(slack) == []


async def test_a_valid_cadence_is_saved_and_status_shows_it(slack: SlackDriver) -> None:
    modal = await open_cadence_modal(slack)
    resp = await slack.submit(ADMIN, typed(modal, "every monday at 08:00"))
    assert resp.status == 200 and (await resp.text()) == ""
    assert audit(slack) == [("slack:U0ADMIN", "schedule", "social-media")]
    view = await published(slack, ADMIN, 2)
    assert button(view, "cadence", "social-media")
    await slack.command(ADMIN, "status social-media", name="status")
    reply = (await slack.fake.wait_for("respond"))[0]
    assert "every Monday at 08:00 (UTC)" in text_of(reply.body)


async def test_a_forged_cadence_submission_is_refused(slack: SlackDriver) -> None:
    view = {"type": "modal", "callback_id": "strategy_cadence", "private_metadata": "social-media"}
    resp = await slack.submit(MARIA, typed(view, "every monday at 08:00"))
    body = await resp.json()
    assert body["response_action"] == "errors"
    assert "Only admins can use “schedule”" in body["errors"]["cadence"]
    assert audit(slack) == []


async def _prompt_ts(slack: SlackDriver, user: str) -> str:
    for _ in range(200):
        with slack.runtime.db.transaction() as s:
            ts = s.scalar(
                select(models.OutboxMessage.platform_message_id).where(
                    models.OutboxMessage.destination == f"slack:{user}",
                    models.OutboxMessage.idempotency_key.like("prompt:%"),
                    models.OutboxMessage.status == "sent",
                )
            )
        if ts:
            return str(ts)
        await asyncio.sleep(0.02)
    raise AssertionError("the prompt was never recorded as sent")


EARLY = "close when all answered"


@pytest.mark.parametrize("playbook_path", [EARLY], indirect=True)
async def test_a_last_answer_that_closes_the_round_offers_no_edit(slack: SlackDriver) -> None:
    await slack.command(ADMIN, "ask social-liability", name="ask")
    await slack.fake.wait_for("chat.postMessage", channel="D0LEE")
    await _prompt_ts(slack, LEE)
    resp = await slack.dm(LEE, "Retention of chat logs")
    assert resp.status == 200
    (update,) = await slack.fake.wait_for("chat.update", channel="D0LEE")
    shown = text_of(update.body)
    assert "Done — thanks" in shown and "the round has now closed" in shown
    assert "review" not in shown and "strategy:edit" not in shown
    summary = (await slack.fake.wait_for("chat.postMessage", 2, channel="D0LEE"))[-1]
    assert "strategy:edit" not in text_of(summary.body)
    assert "edit an answer until the round closes" not in text_of(summary.body)


async def test_the_last_answer_marks_the_opening_prompt_done(slack: SlackDriver) -> None:
    await slack.command(ADMIN, "ask social-liability", name="ask")
    prompt = (await slack.fake.wait_for("chat.postMessage", channel="D0LEE"))[0]
    assert "strategy:answer_all" in json.dumps(prompt.body)
    ts = await _prompt_ts(slack, LEE)
    resp = await slack.dm(LEE, "Retention of <!channel> chats &amp; DMs")  # as Slack sends it
    assert resp.status == 200
    (update,) = await slack.fake.wait_for("chat.update", channel="D0LEE")
    assert update.body["ts"] == ts
    shown = text_of(update.body)
    assert "Done — thanks" in shown and "Social Liability" in shown
    assert "Retention of @\u200dchannel chats &amp; DMs" in shown and "<!channel>" not in shown
    assert "button" not in json.dumps(update.body["blocks"])
    assert not [b for b in update.body["blocks"] if b["type"] == "actions"]


async def test_a_failed_update_does_not_fail_the_answer(slack: SlackDriver) -> None:
    await slack.command(ADMIN, "ask social-liability", name="ask")
    await slack.fake.wait_for("chat.postMessage", channel="D0LEE")
    await _prompt_ts(slack, LEE)
    slack.fake.script("chat.update", body={"ok": False, "error": "message_not_found"})
    resp = await slack.dm(LEE, "Records retention")
    assert resp.status == 200
    assert slack.answers(LEE) == {"risk": "Records retention"}
    await slack.fake.wait_for("chat.update")
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0LEE")
    assert "Done" in text_of(posts[-1].body)


@pytest.mark.parametrize("playbook_path", [SIX], indirect=True)
async def test_the_cio_sees_the_strategy_summary_first(slack: SlackDriver) -> None:
    cio = "U0CIO"
    view = await open_home(slack, cio)
    text = "\n".join(sections(view))
    for title in ("Social Media", "Social Networking", "Social Liability"):
        assert f"*{title}*" in text  # a row per conversation
    assert "no closed round yet" in text
    assert "Needs you" in text and "no round has closed yet" in text
    summary_at = next(
        i
        for i, b in enumerate(view["blocks"])
        if b["type"] == "section" and "Social Media" in b["text"]["text"]
    )
    digest_button = next(
        i for i, b in enumerate(view["blocks"]) if b.get("block_id") == "strategy_home:reader"
    )
    # The summary comes before the button and the admin's dashboard.
    assert summary_at < digest_button
    assert not [b for b in view["blocks"] if b["type"] == "data_visualization"]


async def test_a_stakeholder_sees_no_strategy_summary(slack: SlackDriver) -> None:
    view = await open_home(slack, MARIA)
    assert "Needs you" not in "\n".join(sections(view))

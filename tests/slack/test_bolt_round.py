"""A round through the real Bolt app: command, DM replies, buttons, the modal, the digest."""

from __future__ import annotations

import json
from typing import Any

from tests.slack.conftest import (
    ADMIN,
    CIO,
    CIO_CHANNEL,
    MARIA,
    SAM,
    SlackDriver,
    buttons,
    text_of,
)


async def test_ask_sends_each_member_a_prompt_in_their_dm(slack: SlackDriver) -> None:
    await slack.open_round()
    fake = slack.fake
    opened = {r.body["users"] for r in fake.calls("conversations.open")}
    assert opened == {MARIA, SAM}
    posts = [p for p in fake.calls("chat.postMessage") if p.body["channel"] != CIO_CHANNEL]
    assert {p.body["channel"] for p in posts} == {"D0MARIA", "D0SAM"}
    for post in posts:
        assert post.headers["Authorization"] == "Bearer xoxb-test"
        assert "What are you hearing from customers?" in text_of(post.body)
        assert "strategy:answer_all" in buttons(post.body)
    reply = fake.calls("respond")[0].body
    assert reply["response_type"] == "ephemeral"
    assert "round 1 is open" in text_of(reply)


async def test_dm_reply_is_stored_and_the_next_question_follows(slack: SlackDriver) -> None:
    await slack.open_round()
    resp = await slack.dm(MARIA, "Customers compare us with the competition on forums")
    assert resp.status == 200
    assert slack.answers(MARIA) == {
        "hearing": "Customers compare us with the competition on forums"
    }
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert "How mature is our customer-facing social work?" in text_of(posts[-1].body)
    # The DM channel came with the message: no second conversations.open for Maria.
    assert len(slack.fake.calls("conversations.open", users=MARIA)) == 1


async def test_a_rating_button_answers_the_question(slack: SlackDriver) -> None:
    round_id = await slack.open_round()
    await slack.dm(MARIA, "Forums")
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    four = buttons(posts[-1].body)["strategy:answer:4"]
    resp = await slack.press(
        MARIA, {**four, "type": "button"}, block_id=f"strategy:r:{round_id}:external"
    )
    assert resp.status == 200
    assert slack.answers(MARIA)["external"] in (4, "4")
    posts = await slack.fake.wait_for("chat.postMessage", 3, channel="D0MARIA")
    assert "Which channel matters most?" in text_of(posts[-1].body)


async def _open_modal(slack: SlackDriver) -> dict[str, Any]:
    round_id = await slack.open_round()
    answer_all = {
        "type": "button",
        "action_id": "strategy:answer_all",
        "value": json.dumps({"r": round_id, "v": None}),
    }
    resp = await slack.press(MARIA, answer_all, block_id=f"strategy:nav:{round_id}")
    assert resp.status == 200
    opened = await slack.fake.wait_for("views.open")
    assert opened[0].body["trigger_id"].startswith("trigger.action.")
    view: dict[str, Any] = opened[0].body["view"]
    return view


def _filled(view: dict[str, Any], rating: str) -> dict[str, Any]:
    """The view as Slack submits it, with every input answered."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        if kind == "plain_text_input":
            state = {"type": kind, "value": "We listen on forums <!channel>"}
        elif kind == "checkboxes":
            state = {"type": kind, "selected_options": element["options"][:1]}
        elif block["block_id"] == "external":
            state = {"type": kind, "selected_option": {"text": {}, "value": rating}}
        else:
            state = {"type": kind, "selected_option": element["options"][0]}
        values[block["block_id"]] = {"value": state}
    return {**view, "state": {"values": values}}


async def test_answer_all_opens_the_modal(slack: SlackDriver) -> None:
    view = await _open_modal(slack)
    assert view["type"] == "modal" and view["callback_id"] == "strategy_form"
    assert {b["block_id"] for b in view["blocks"] if b["type"] == "input"} == {
        "hearing",
        "external",
        "channel",
        "pilot",
    }


async def test_a_bad_rating_keeps_the_modal_open_with_errors(slack: SlackDriver) -> None:
    view = await _open_modal(slack)
    resp = await slack.submit(MARIA, _filled(view, rating="9"))
    assert resp.status == 200
    body = await resp.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"external"}
    assert slack.answers(MARIA).get("external") is None


async def test_a_good_form_is_stored_and_summarised_in_the_dm(slack: SlackDriver) -> None:
    view = await _open_modal(slack)
    resp = await slack.submit(MARIA, _filled(view, rating="4"))
    assert resp.status == 200
    assert (await resp.text()) == ""
    stored = slack.answers(MARIA)
    assert stored["hearing"] == "We listen on forums <!channel>"
    assert stored["external"] in (4, "4")
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    summary = text_of(posts[-1].body)
    assert "&lt;!channel&gt;" in summary and "<!channel>" not in summary


async def test_a_stakeholder_cannot_ask_for_a_digest(slack: SlackDriver) -> None:
    resp = await slack.command(MARIA, "digest", name="maria-digest")
    assert resp.status == 200 and (await resp.text()) == ""
    reply = (await slack.fake.wait_for("respond"))[0]
    assert reply.path == "/respond/maria-digest"
    assert reply.body["response_type"] == "ephemeral"
    assert "Only the CIO and admins can use “digest”" in text_of(reply.body)
    assert not slack.fake.calls("chat.postMessage")
    assert not slack.fake.calls("conversations.open")


async def test_a_digest_asked_for_in_the_cio_channel_is_posted_there(slack: SlackDriver) -> None:
    resp = await slack.command(CIO, "digest", channel=CIO_CHANNEL)
    assert resp.status == 200
    posts = await slack.fake.wait_for("chat.postMessage", channel=CIO_CHANNEL)
    assert "Acme" in text_of(posts[0].body)
    assert not slack.fake.calls("respond")


async def test_a_digest_asked_for_elsewhere_is_ephemeral(slack: SlackDriver) -> None:
    await slack.command(CIO, "digest")
    reply = (await slack.fake.wait_for("respond"))[0]
    assert reply.body["response_type"] == "ephemeral"
    assert not slack.fake.calls("chat.postMessage")


async def test_broadcasts_in_answers_reach_the_digest_escaped(slack: SlackDriver) -> None:
    await slack.open_round()
    # What Slack sends for "@channel everyone look & @cio" plus a link labelled "click".
    await slack.dm(
        MARIA, "<!channel> everyone look &amp; <@U0CIO|cio> <https://evil.example|click>"
    )
    await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert slack.answers(MARIA)["hearing"] == (
        "@channel everyone look & @cio click (https://evil.example)"
    )
    await slack.command(ADMIN, "close social-media", name="close")
    # The round's opening notice, then the digest.
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel=CIO_CHANNEL)
    raw = json.dumps([p.body for p in posts], ensure_ascii=False)
    assert "@\u200dchannel everyone look &amp; @cio click (https://evil.example)" in raw
    assert "<!channel>" not in raw and "<@U0CIO" not in raw and "<https://" not in raw


async def test_text_typed_in_a_dm_is_stored_as_typed(slack: SlackDriver) -> None:
    await slack.open_round()
    # Slack sends "R&D <script>" as entities; the CIO must read what Maria typed.
    await slack.dm(MARIA, "R&amp;D asks about &lt;script&gt; tags &amp;amp; <https://x.io|x.io>")
    await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert slack.answers(MARIA)["hearing"] == "R&D asks about <script> tags &amp; x.io"
    await slack.command(ADMIN, "close social-media", name="close")
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel=CIO_CHANNEL)
    raw = json.dumps([p.body for p in posts], ensure_ascii=False)
    # Escaped once, for mrkdwn: Slack shows "R&D asks about <script> tags &amp; x.io".
    assert "R&amp;D asks about &lt;script&gt; tags &amp;amp; x.io" in raw


async def test_home_tab_lists_open_prompts(slack: SlackDriver) -> None:
    await slack.open_round()
    resp = await slack.event(
        {"type": "app_home_opened", "user": MARIA, "channel": "D0MARIA", "tab": "home"}
    )
    assert resp.status == 200
    published = (await slack.fake.wait_for("views.publish"))[0].body
    assert published["user_id"] == MARIA and published["view"]["type"] == "home"
    assert "What are you hearing from customers?" in json.dumps(published["view"])

"""A round over the real HTTP path: install, ask, answer by text, by card, by form."""

from __future__ import annotations

import asyncio
import json

from tests.teams.conftest import (
    ADMIN,
    CIO,
    CIO_CHANNEL,
    MARIA,
    SAM,
    TeamsDriver,
    address,
    chat,
    submits,
)


async def test_personal_install_stores_the_reference(teams: TeamsDriver) -> None:
    resp = await teams.install(MARIA)
    assert resp.status == 200
    row = teams.reference(address(MARIA))
    assert row is not None and row.installed and row.kind == "personal"
    assert row.reference["conversation"]["id"] == chat(MARIA)
    assert row.reference["serviceUrl"] == teams.fake.service_url
    assert "activityId" not in row.reference
    assert await teams.settle(address(MARIA)) == [("sent", None)]  # the welcome, only


async def test_ask_reaches_installed_members_and_reports_the_others(teams: TeamsDriver) -> None:
    round_id, sent = await teams.open_round()
    assert round_id > 0
    card = sent.cards[0]
    assert "What are you hearing from customers?" in json.dumps(card)
    assert sent.body["conversation"]["id"] == chat(MARIA)
    assert "replyToId" not in sent.body  # proactive: a new message, not a reply
    assert "Authorization" not in sent.headers  # no app id: no token is sent
    for _ in range(200):  # wait for a final status, not a row still pending or sending
        rows = teams.outbox(address(SAM))
        if rows and all(status not in ("pending", "sending") for status, _ in rows):
            break
        await asyncio.sleep(0.05)
    assert teams.outbox(address(SAM)) == [
        ("failed", "not installed: this person or channel has not added the bot in Teams")
    ]
    assert (await teams.say(ADMIN, "status")).status == 200
    replies = await teams.fake.wait_for("send", 2, conversation=chat(ADMIN))
    status = json.dumps(replies[-1].cards, ensure_ascii=False)
    assert f"{address(SAM)}: not installed" in status


async def test_plain_text_answers_question_by_question(teams: TeamsDriver) -> None:
    await teams.open_round()
    assert (await teams.say(MARIA, "Customers ask about our <at>fan</at> pages")).status == 200
    assert teams.answers(MARIA) == {"hearing": "Customers ask about our <at>fan</at> pages"}
    cards = await teams.fake.wait_for("send", 2, conversation=chat(MARIA))
    assert "How mature is our customer-facing social work?" in json.dumps(cards[-1].cards)


async def test_a_redelivered_message_is_stored_once(teams: TeamsDriver) -> None:
    await teams.open_round()
    body = teams.activity("message", MARIA, text="Loud and clear")
    assert (await teams.post(body)).status == 200
    assert (await teams.post(body)).status == 200
    assert teams.answers(MARIA) == {"hearing": "Loud and clear"}
    await teams.fake.wait_for("send", 2, conversation=chat(MARIA))
    assert len(teams.fake.calls("send", chat(MARIA))) == 2


async def test_card_send_button_answers(teams: TeamsDriver) -> None:
    _round_id, sent = await teams.open_round()
    data = {**submits(sent.cards[0])["answer"], "answer": "Mostly praise"}
    assert (await teams.submit(MARIA, data, sent.created_id)).status == 200
    assert teams.answers(MARIA) == {"hearing": "Mostly praise"}


async def test_a_send_on_an_older_card_answers_its_own_question(teams: TeamsDriver) -> None:
    _round_id, first = await teams.open_round()
    assert (await teams.say(MARIA, "Mostly praise")).status == 200  # now on question 2
    second = (await teams.fake.wait_for("send", 2, conversation=chat(MARIA)))[-1]
    assert "How mature is our customer-facing social work?" in json.dumps(second.cards)
    stale = {**submits(first.cards[0])["answer"], "answer": "Praise, and some complaints"}
    assert (await teams.submit(MARIA, stale, first.created_id)).status == 200
    # A stale Send: the first question keeps its answer, the second is still unanswered,
    # and Maria is told why nothing changed (and how to edit).
    assert teams.answers(MARIA) == {"hearing": "Mostly praise"}
    replies = await teams.fake.wait_for("send", 3, conversation=chat(MARIA))
    assert "already answered" in json.dumps(replies[-1].cards)
    assert await teams.settle(address(MARIA)) == [("sent", None)] * 4  # welcome, 3 replies


async def test_a_send_after_the_round_closed_is_answered_politely(teams: TeamsDriver) -> None:
    _round_id, prompt = await teams.open_round()
    assert (await teams.say(ADMIN, "close social-media")).status == 200
    await teams.settle(address(MARIA))  # the prompt and "the round has closed"
    teams.fake.forget()
    late = {**submits(prompt.cards[0])["answer"], "answer": "Too late?"}
    assert (await teams.submit(MARIA, late, prompt.created_id)).status == 200
    (reply,) = await teams.fake.wait_for("send", conversation=chat(MARIA))
    assert "round closed" in json.dumps(reply.cards) and "recorded" in json.dumps(reply.cards)
    assert teams.answers(MARIA) == {}
    assert teams.fake.calls("update") == []  # the card is left as it was


async def test_answer_all_opens_the_form_and_submitting_it_updates_the_card(
    teams: TeamsDriver,
) -> None:
    _round_id, prompt = await teams.open_round()
    answer_all = submits(prompt.cards[0])["answer_all"]
    assert (await teams.submit(MARIA, answer_all, prompt.created_id)).status == 200
    sent = await teams.fake.wait_for("send", 2, conversation=chat(MARIA))
    form_card = sent[-1].cards[0]
    form_data = submits(form_card)["form"]
    assert set(form_data["v"]) == {"hearing", "external", "channel", "pilot"}
    form_id = sent[-1].created_id
    assert form_id is not None
    value = {
        **form_data,
        "q:hearing": "Praise for support",
        "q:external": "4",
        "q:channel": "2",
        "q:pilot": "true",
    }
    assert (await teams.submit(MARIA, value, form_id)).status == 200
    assert teams.answers(MARIA) == {
        "hearing": "Praise for support",
        "external": 4,
        "channel": "Twitter",
        "pilot": True,
    }
    (update,) = await teams.fake.wait_for("update", conversation=chat(MARIA))
    assert update.activity_id == form_id
    summary = json.dumps(update.cards[0], ensure_ascii=False)
    assert "Praise for support" in summary and "Done" in summary
    assert "actions" not in update.cards[0] and "Action.Submit" not in summary


async def test_action_execute_invoke_returns_the_read_only_card(teams: TeamsDriver) -> None:
    round_id, _prompt = await teams.open_round()
    kinds = {"hearing": "t", "external": "r", "channel": "s", "pilot": "b"}
    data = {
        "strategy": "form",
        "r": round_id,
        "v": kinds,
        "q:hearing": "Quiet",
        "q:external": "2",
        "q:channel": "1",
    }
    resp = await teams.execute(MARIA, data)
    assert resp.status == 200
    body = await resp.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Quiet" in json.dumps(body["value"])
    assert teams.answers(MARIA)["channel"] == "Blogs"


async def test_skip_and_snooze_are_card_actions(teams: TeamsDriver) -> None:
    _round_id, prompt = await teams.open_round()
    snooze = submits(prompt.cards[0])["snooze"]
    assert (await teams.submit(MARIA, snooze, "1:1")).status == 200
    sent = await teams.fake.wait_for("send", 2, conversation=chat(MARIA))
    assert "Snoozed" in json.dumps(sent[-1].cards)
    skip = submits(prompt.cards[0])["skip_round"]
    assert (await teams.submit(MARIA, skip, "1:1")).status == 200
    await teams.fake.wait_for("send", 3, conversation=chat(MARIA))
    assert teams.answers(MARIA) == {}


async def test_digest_in_the_cio_channel_is_escaped(teams: TeamsDriver) -> None:
    await teams.open_round()
    hostile = "**bold** [x](https://evil.example) <at>everyone</at> {{DATE(2020-01-01T00:00:00Z)}}"
    assert (await teams.say(MARIA, hostile)).status == 200
    await teams.join_channel()
    row = teams.reference(f"teams:{CIO_CHANNEL}")
    assert row is not None and row.kind == "channel"
    await teams.join(CIO)
    assert (await teams.say(CIO, "digest social-media", channel=CIO_CHANNEL)).status == 200
    (post,) = await teams.fake.wait_for("send", conversation=CIO_CHANNEL)
    text = json.dumps(post.cards, ensure_ascii=False)
    assert "\\\\*\\\\*bold\\\\*\\\\*" in text  # JSON-escaped backslashes before each *
    assert "\\\\[x\\\\]" in text
    assert "<at>" not in text and "\uff1cat\uff1e" in text
    assert "{{DATE(2020" not in text


async def test_unknown_commands_get_a_specific_answer(teams: TeamsDriver) -> None:
    await teams.join(ADMIN)
    await teams.join_channel()
    assert (await teams.say(ADMIN, "frobnicate social-media", channel=CIO_CHANNEL)).status == 200
    (reply,) = await teams.fake.wait_for("send", conversation=CIO_CHANNEL)
    # Commands are quoted, not in Markdown backticks: a card would show "\\`" literally.
    shown = json.dumps(reply.cards, ensure_ascii=False)
    assert "I don't know the command “frobnicate”" in shown and "`" not in shown
    assert (await teams.say(ADMIN, "statsu")).status == 200  # a near miss, in the chat
    (hint,) = await teams.fake.wait_for("send", conversation=chat(ADMIN))
    assert "Did you mean" in json.dumps(hint.cards)

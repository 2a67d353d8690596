"""HTTP tests of the console API: validation, feed paging, idempotency, static files."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.adapters.console import ConsoleAdapter
from bot.adapters.console.routes import ENGINE_FAILED
from bot.flows.events import ActionPressed, AnswerGiven, CommandInvoked, FormSubmitted, TextMessage
from bot.flows.outbound import Notice
from tests.console.samples import CHANNEL, CIO, MARIA, EchoEngine, prompt


async def post(client: TestClient, path: str, payload: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post(f"/console/api/{path}", json=payload)
    return resp.status, await resp.json()


# -- page and static files -------------------------------------------------------------


async def test_page_and_static_files_have_content_types_and_csp(client: TestClient) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert "/console/static/app.js" in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]

    js = await client.get("/console/static/app.js")
    assert js.status == 200 and js.content_type == "text/javascript"
    assert "textContent" in await js.text()
    css = await client.get("/console/static/style.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert css.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/..%2Fadapter.py",
        "/console/static/%2e%2e%2fadapter.py",
        "/console/static/..%5Cadapter.py",
        "/console/static/index.html",
        "/console/static/.",
        "/console/static/app.js%00.css",
        "/console/static/%2Fetc%2Fpasswd",
        "/console/static/../routes.py",
        "/console/static/static/app.js",
    ],
)
async def test_static_refuses_anything_but_its_own_files(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    body = await resp.text()
    assert "import" not in body and "root:" not in body


async def test_people_lists_the_chooser_and_the_cio_channel(client: TestClient) -> None:
    resp = await client.get("/console/api/people")
    body = await resp.json()
    assert [p["address"] for p in body["people"]] == [CIO, MARIA, "console:sam"]
    assert body["people"][1] == {"address": MARIA, "name": "Maria Lopez", "role": "marketing"}
    assert body["channels"] == [{"address": CHANNEL, "name": "#cio"}]


# -- talking to the engine ---------------------------------------------------------------


async def test_message_becomes_text_event_and_replies_join_the_transcript(
    client: TestClient, engine: EchoEngine, adapter: ConsoleAdapter
) -> None:
    status, body = await post(client, "message", {"as": MARIA, "text": "hello", "id": "u-1"})
    assert status == 200
    assert engine.events == [
        TextMessage(actor=MARIA, actor_name="Maria Lopez", event_id="u-1", text="hello")
    ]
    mine, reply = body["entries"]
    assert mine["from"] == "user" and mine["text"] == "hello" and mine["address"] == MARIA
    assert reply["from"] == "bot" and reply["message"]["lines"] == ["hello"]
    assert reply["id"] > mine["id"]
    assert [e["id"] for e in adapter.feed(MARIA)] == [mine["id"], reply["id"]]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"text": "digest", "command": True}, "digest"),
        ({"text": "/strategy digest"}, "digest"),
        ({"text": "/strategy  status social-media "}, "status social-media"),
    ],
)
async def test_command_box_and_prefix_become_commands(
    client: TestClient, engine: EchoEngine, payload: dict[str, Any], expected: str
) -> None:
    status, _ = await post(client, "message", {"as": CIO, **payload})
    assert status == 200
    (event,) = engine.events
    assert isinstance(event, CommandInvoked) and event.text == expected


async def test_digest_command_posts_to_the_cio_channel(
    client: TestClient, adapter: ConsoleAdapter
) -> None:
    status, body = await post(
        client, "message", {"as": CIO, "text": "/strategy digest", "in": CHANNEL}
    )
    assert status == 200
    # The reply addressed to the CIO is shown where the CIO typed: in the channel.
    assert [e["address"] for e in body["entries"]] == [CHANNEL, CHANNEL, CHANNEL]
    assert adapter.feed(CIO) == []
    typed, posted, _reply = adapter.feed(CHANNEL)
    assert typed["from"] == "user" and typed["kind"] == "command" and typed["actor"] == CIO
    assert posted["message"]["kind"] == "digest"


async def test_action_and_form_become_their_events(client: TestClient, engine: EchoEngine) -> None:
    status, body = await post(
        client, "action", {"as": MARIA, "action": "snooze", "round_id": 7, "value": "2h"}
    )
    assert status == 200
    assert body["entries"][0]["text"] == "Snooze (2h)"
    status, body = await post(
        client,
        "form",
        {"as": MARIA, "round_id": 7, "values": {"listening": 4, "channels": ["Blogs"], "x": None}},
    )
    assert status == 200
    assert engine.events == [
        ActionPressed(
            actor=MARIA, actor_name="Maria Lopez", action="snooze", round_id=7, value="2h"
        ),
        FormSubmitted(
            actor=MARIA,
            actor_name="Maria Lopez",
            round_id=7,
            values={"listening": 4, "channels": ["Blogs"], "x": None},
        ),
    ]
    assert body["entries"][-1]["message"]["title"] == "Form saved"


async def test_a_retried_request_is_handled_once(
    client: TestClient, engine: EchoEngine, adapter: ConsoleAdapter
) -> None:
    first = await post(client, "message", {"as": MARIA, "text": "4", "id": "same"})
    again = await post(client, "message", {"as": MARIA, "text": "4", "id": "same"})
    assert len(engine.events) == 1
    assert again[1]["entries"] == first[1]["entries"]
    assert len(adapter.feed(MARIA)) == 3


async def test_engine_failure_apologises_and_logs_without_echoing(
    client: TestClient, adapter: ConsoleAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.adapters.console.routes"):
        resp = await client.post("/console/api/message", json={"as": MARIA, "text": "boom"})
    assert resp.status == 500
    text = await resp.text()
    assert json.loads(text) == {"error": ENGINE_FAILED}
    assert "hunter2" not in text and "Traceback" not in text
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "hunter2" in str(record.exc_info[1])
    # What the person typed is still in the transcript.
    assert [e["text"] for e in adapter.feed(MARIA)] == ["boom"]


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload", "fragment"),
    [
        ("message", [1, 2], "must be a JSON object"),
        ("message", {"text": "hi"}, 'Missing "as"'),
        ("message", {"as": "console:nobody", "text": "hi"}, "Unknown person 'console:nobody'"),
        ("message", {"as": 42, "text": "hi"}, '"as" must be a console address'),
        ("message", {"as": MARIA}, 'Missing "text"'),
        ("message", {"as": MARIA, "text": ""}, "the text is empty"),
        ("message", {"as": MARIA, "text": " \n\t "}, "the text is empty"),
        ("message", {"as": MARIA, "text": "x" * 40_001}, "too long (40,001 characters"),
        ("message", {"as": MARIA, "text": "hi", "command": "yes"}, '"command" must be'),
        ("message", {"as": MARIA, "text": "hi", "id": 5}, '"id" must be'),
        ("message", {"as": MARIA, "text": "hi", "in": CIO}, '"in" must be your own DM'),
        ("action", {"as": MARIA, "round_id": 7}, 'Missing "action"'),
        ("action", {"as": MARIA, "action": "delete_all", "round_id": 7}, "Unknown action"),
        ("action", {"as": MARIA, "action": "snooze"}, 'Missing "round_id"'),
        ("action", {"as": MARIA, "action": "snooze", "round_id": "7"}, '"round_id" must be'),
        ("action", {"as": MARIA, "action": "snooze", "round_id": 7.5}, '"round_id" must be'),
        ("action", {"as": MARIA, "action": "snooze", "round_id": True}, '"round_id" must be'),
        ("action", {"as": MARIA, "action": "edit", "round_id": 7, "value": 3}, '"value" must'),
        ("form", {"as": MARIA, "round_id": 7, "values": []}, '"values" must be an object'),
        ("form", {"as": MARIA, "round_id": "x", "values": {}}, '"round_id" must be'),
        ("form", {"as": MARIA, "round_id": 7, "values": {"q": {"a": 1}}}, "answer to 'q'"),
        ("form", {"round_id": 7, "values": {}}, 'Missing "as"'),
    ],
)
async def test_bad_input_gets_a_specific_400(
    client: TestClient, engine: EchoEngine, path: str, payload: Any, fragment: str
) -> None:
    status, body = await post(client, path, payload)
    assert status == 400
    assert fragment in body["error"]
    assert engine.events == []


async def test_non_json_body_is_400_and_wrong_content_type_is_415(client: TestClient) -> None:
    resp = await client.post(
        "/console/api/message", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"] == "The request body is not valid JSON."
    resp = await client.post("/console/api/message", data="as=console:maria&text=hi")
    assert resp.status == 415
    assert "application/json" in (await resp.json())["error"]


async def test_body_over_one_megabyte_is_refused(client: TestClient, engine: EchoEngine) -> None:
    big = json.dumps({"as": MARIA, "text": "x", "pad": "y" * (1024 * 1024)}).encode()
    resp = await client.post(
        "/console/api/message", data=io.BytesIO(big), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert "too large" in (await resp.json())["error"]

    async def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(5):
            yield b"y" * (300 * 1024)

    resp = await client.post(
        "/console/api/message", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert engine.events == []


# -- feed ------------------------------------------------------------------------------


async def test_feed_pages_by_id_per_address(client: TestClient, adapter: ConsoleAdapter) -> None:
    for n in range(3):
        await adapter.send(
            address=CHANNEL, message=Notice(lines=(f"c{n}",)), idempotency_key=f"c{n}"
        )
        await adapter.send(address=MARIA, message=Notice(lines=(f"m{n}",)), idempotency_key=f"m{n}")
    await post(client, "message", {"as": MARIA, "text": "mine"})

    resp = await client.get("/console/api/feed", params={"address": MARIA})
    entries = (await resp.json())["entries"]
    shown = [e.get("text") or e["message"]["lines"][0] for e in entries]
    assert shown == ["m0", "m1", "m2", "mine", "mine"]
    assert [e["from"] for e in entries][-2:] == ["user", "bot"]

    after = entries[1]["id"]
    resp = await client.get("/console/api/feed", params={"address": MARIA, "after": after})
    body = await resp.json()
    assert [e["id"] for e in body["entries"]] == [e["id"] for e in entries[2:]]
    assert body["last_id"] == entries[-1]["id"]

    resp = await client.get("/console/api/feed", params={"address": CHANNEL, "after": 0})
    channel = (await resp.json())["entries"]
    assert [e["message"]["lines"][0] for e in channel] == ["c0", "c1", "c2"]

    resp = await client.get("/console/api/latest")
    assert (await resp.json())["latest"] == {CHANNEL: channel[-1]["id"], MARIA: entries[-1]["id"]}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({}, 'Missing "address"'),
        ({"address": "slack:U1"}, "must be a console address"),
        ({"address": MARIA, "after": "ten"}, '"after" must be a whole number'),
    ],
)
async def test_feed_rejects_bad_queries(
    client: TestClient, query: dict[str, str], fragment: str
) -> None:
    resp = await client.get("/console/api/feed", params=query)
    assert resp.status == 400
    assert fragment in (await resp.json())["error"]


# -- the adapter -----------------------------------------------------------------------


async def test_send_is_idempotent_per_key(adapter: ConsoleAdapter) -> None:
    first = await adapter.send(address=MARIA, message=prompt(), idempotency_key="k1")
    again = await adapter.send(address=MARIA, message=prompt(), idempotency_key="k1")
    other = await adapter.send(address=MARIA, message=prompt(), idempotency_key="k2")
    assert first.status == again.status == "sent"
    assert first.platform_message_id == again.platform_message_id
    assert other.platform_message_id != first.platform_message_id
    entries = adapter.feed(MARIA)
    assert len(entries) == 2
    assert entries[0]["message"]["kind"] == "prompt"
    assert entries[0]["message"]["deadline"].startswith("2030-03-14T17:00")


async def test_send_to_another_platform_fails_permanently(adapter: ConsoleAdapter) -> None:
    result = await adapter.send(address="slack:U1", message=prompt(), idempotency_key="k")
    assert result.status == "failed" and result.error and "slack:U1" in result.error
    assert adapter.feed("slack:U1") == []


async def test_transcript_is_bounded_per_address(engine: EchoEngine) -> None:
    small = ConsoleAdapter(handle=engine, people=[(MARIA, "Maria", "marketing")], max_entries=3)
    for n in range(5):
        await small.send(address=MARIA, message=Notice(lines=(str(n),)), idempotency_key=str(n))
    await small.send(address=CHANNEL, message=Notice(), idempotency_key="c")
    assert [e["message"]["lines"] for e in small.feed(MARIA)] == [["2"], ["3"], ["4"]]
    assert len(small.feed(CHANNEL)) == 1


async def test_seed_restores_history_and_ids_keep_growing(adapter: ConsoleAdapter) -> None:
    restored = adapter.seed(
        [
            {
                "id": 40,
                "address": MARIA,
                "from": "bot",
                "at": "2030-01-01T00:00:00+00:00",
                "message": {"kind": "notice", "level": "info", "title": None, "lines": ["old"]},
            },
            {"address": MARIA, "from": "user", "text": "old reply", "actor": MARIA},
            {"address": "slack:U1", "from": "bot", "message": {}},
            {"address": MARIA, "from": "robot", "text": "?"},
        ]
    )
    assert restored == 2
    result = await adapter.send(address=MARIA, message=Notice(), idempotency_key="new")
    assert result.platform_message_id == "42"
    old, reply, new = adapter.feed(MARIA)
    assert (old["id"], old["at"], reply["id"], new["id"]) == (
        40,
        "2030-01-01T00:00:00+00:00",
        41,
        42,
    )


def test_people_addresses_must_be_console_addresses(engine: EchoEngine) -> None:
    with pytest.raises(ValueError, match="console:<id>"):
        ConsoleAdapter(handle=engine, people=[("slack:U1", "Sam", "hr")])
    with pytest.raises(ValueError, match="twice"):
        ConsoleAdapter(handle=engine, people=[(MARIA, "M", "x"), (MARIA, "M", "x")])


# -- answer buttons name their round and question ----------------------------------------


async def test_an_answer_button_names_its_round_and_question(
    client: TestClient, engine: EchoEngine
) -> None:
    status, body = await post(
        client,
        "answer",
        {"as": MARIA, "round_id": 7, "question_id": "listening", "value": "4", "id": "a1"},
    )
    assert status == 200, body
    (event,) = engine.events
    assert event == AnswerGiven(
        actor=MARIA,
        actor_name=event.actor_name,
        event_id="a1",
        round_id=7,
        question_id="listening",
        value="4",
    )
    typed, *replies = body["entries"]
    assert typed["from"] == "user" and typed["text"] == "4"
    assert "You rated it 4/5." in json.dumps(replies)


async def test_skip_question_carries_the_question_it_was_shown_with(
    client: TestClient, engine: EchoEngine
) -> None:
    status, _ = await post(
        client,
        "action",
        {"as": MARIA, "action": "skip_question", "round_id": 7, "question_id": "pilot"},
    )
    assert status == 200
    (event,) = engine.events
    assert isinstance(event, ActionPressed) and event.question_id == "pilot"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"round_id": 7, "value": "4"}, 'Missing "question_id"'),
        ({"round_id": 7, "question_id": "q"}, 'Missing "value"'),
        ({"round_id": 7, "question_id": "q", "value": 4}, '"value" must be text'),
        ({"round_id": 7, "question_id": ["q"], "value": "4"}, '"question_id" must be text'),
        ({"question_id": "q", "value": "4"}, 'Missing "round_id"'),
        ({"round_id": 10**30, "question_id": "q", "value": "4"}, "round"),
    ],
)
async def test_a_malformed_answer_is_a_400_and_reaches_no_engine(
    client: TestClient, engine: EchoEngine, payload: dict[str, Any], message: str
) -> None:
    status, body = await post(client, "answer", {"as": MARIA, **payload})
    assert status == 400 and message in body["error"], body
    assert engine.events == []

"""Block Kit rendering: Slack's limits, mention safety, and round-trips of modals and buttons.

Slack rejects a payload that breaks a limit (the whole message is lost, not just a field),
so every rendering is checked against the documented limits by `check_payload`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.slack.mrkdwn import escape, plain
from bot.adapters.slack.render import (
    ACTION_ID_PATTERN,
    FORM_CALLBACK_ID,
    parse_action,
    parse_view_submission,
    render_form_errors,
    render_form_modal,
    render_message,
)
from bot.flows.answers import parse_answer
from bot.flows.digest_model import (
    ChoiceRollup,
    ConversationDigest,
    Digest,
    GroupParticipation,
    MaturityView,
    QuestionRollup,
    RatingRollup,
    TextAnswer,
)
from bot.flows.outbound import (
    DigestMessage,
    Form,
    Notice,
    Prompt,
    QuestionView,
    Summary,
    SummaryItem,
)
from bot.playbook.model import Question

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2025, 3, 10, 17, 0, tzinfo=UTC)

INJECTIONS = [
    "<!channel> look",
    "<!here>",
    "<!everyone> now",
    "ping <@U123>",
    "see <#C123|x>",
    "<https://evil.example|click>",
    "already &lt;escaped&gt;",
    "@here bare and @channel too",
]
RAW_SEQUENCES = ["<!channel", "<!here", "<!everyone", "<@U123", "<#C123", "<https://evil"]

BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "input", "data_visualization"}
ELEMENT_TYPES = {
    "button",
    "static_select",
    "multi_static_select",
    "checkboxes",
    "radio_buttons",
    "plain_text_input",
}


# --------------------------------------------------------------------------- helpers


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every text object (plain_text or mrkdwn) anywhere in a payload."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def mrkdwn_texts(payloads: list[dict[str, Any]]) -> list[str]:
    texts = [p["text"] for p in payloads]  # the fallback is parsed as mrkdwn too
    texts += [t["text"] for t in text_objects(payloads) if t["type"] == "mrkdwn"]
    return texts


def check_option(option: dict[str, Any]) -> None:
    assert option["text"]["type"] == "plain_text"
    assert 1 <= len(option["text"]["text"]) <= 75
    assert 1 <= len(option["value"]) <= 150


def check_element(element: dict[str, Any]) -> None:
    kind = element["type"]
    assert kind in ELEMENT_TYPES
    assert len(element.get("action_id", "")) <= 255
    if kind == "button":
        assert 1 <= len(element["text"]["text"]) <= 75
        assert len(element["value"]) <= 2000
        assert element["action_id"].startswith("strategy:")
        assert ACTION_ID_PATTERN.match(element["action_id"])
    if kind in ("checkboxes", "radio_buttons"):
        assert 1 <= len(element["options"]) <= 10
    if kind in ("static_select", "multi_static_select"):
        assert 1 <= len(element["options"]) <= 100
        assert len(element["placeholder"]["text"]) <= 150
    for option in element.get("options", []):
        check_option(option)
    for option in element.get("initial_options", []):
        assert option in element["options"]
    if "initial_option" in element:
        assert element["initial_option"] in element["options"]
    if kind == "plain_text_input":
        assert element["max_length"] <= 3000
        assert len(element.get("initial_value", "")) <= element["max_length"]


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert 1 <= len(blocks) <= max_blocks
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique"
    for block in blocks:
        assert block["type"] in BLOCK_TYPES
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "section":
            assert 1 <= len(block["text"]["text"]) <= 3000
            if "accessory" in block:
                check_element(block["accessory"])
        elif block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 1 <= len(block["text"]["text"]) <= 150
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                assert 1 <= len(element["text"]) <= 3000
        elif block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            action_ids = [e["action_id"] for e in block["elements"]]
            assert len(action_ids) == len(set(action_ids)), "action ids unique per block"
            for element in block["elements"]:
                check_element(element)
        elif block["type"] == "data_visualization":
            check_chart_block(block)
        elif block["type"] == "input":
            assert 1 <= len(block["label"]["text"]) <= 2000
            assert len(block.get("hint", {}).get("text", "")) <= 2000
            check_element(block["element"])
    for obj in text_objects(blocks):
        assert obj["text"], "Slack rejects empty text objects"
        if obj["type"] == "mrkdwn":
            assert obj["verbatim"] is True


def check_chart_block(block: dict[str, Any]) -> None:
    """Slack's data visualization block: its documented fields and limits."""
    assert set(block) == {"type", "title", "chart"}
    assert 1 <= len(block["title"]) <= 50
    chart = block["chart"]
    assert chart["type"] in {"line", "bar", "area"}
    axis = chart["axis_config"]
    categories = axis["categories"]
    assert 1 <= len(categories) <= 20 and len(set(categories)) == len(categories)
    assert all(1 <= len(c) <= 20 for c in categories)
    assert all(len(axis.get(key, "")) <= 50 for key in ("x_label", "y_label"))
    names = [s["name"] for s in chart["series"]]
    assert 1 <= len(names) <= 6 and len(set(names)) == len(names)
    assert all(1 <= len(n) <= 20 for n in names)
    for series in chart["series"]:
        assert [point["label"] for point in series["data"]] == categories
        assert all(isinstance(point["value"], int | float) for point in series["data"])
    for text in (block["title"], *categories, *names, *axis.values()):
        if isinstance(text, str):  # plain strings: nothing Slack could read as a control
            assert "<" not in text and ">" not in text, text


def check_payloads(payloads: list[dict[str, Any]]) -> None:
    assert payloads
    for payload in payloads:
        assert set(payload) == {"text", "blocks"}
        assert 1 <= len(payload["text"]) <= 3000
        check_blocks(payload["blocks"], 50)
        charts = [b for b in payload["blocks"] if b["type"] == "data_visualization"]
        assert len(charts) <= 2, "Slack allows two charts per message"
    for text in mrkdwn_texts(payloads):
        # the only "<" we emit ourselves is Slack's date formatting
        assert text.count("<") == text.count("<!date^"), text


def question(qid: str, qtype: str, **kw: Any) -> QuestionView:
    defaults: dict[str, Any] = {
        "text": f"What about {qid}?",
        "required": True,
        "index": 1,
        "total": 5,
    }
    return QuestionView(id=qid, type=qtype, **{**defaults, **kw})  # type: ignore[arg-type]


def prompt(q: QuestionView, **kw: Any) -> Prompt:
    defaults: dict[str, Any] = {
        "round_id": 42,
        "conversation_key": "social-media",
        "conversation_title": "Social Media",
        "round_number": 3,
        "deadline": DEADLINE,
        "question": q,
    }
    return Prompt(**{**defaults, **kw})


def all_actions(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    elements = []
    for payload in payloads:
        for block in payload["blocks"]:
            if block["type"] == "actions":
                elements += [{**e, "block_id": block["block_id"]} for e in block["elements"]]
            if "accessory" in block:
                elements.append({**block["accessory"], "block_id": block.get("block_id", "x")})
    return elements


def headers_of(payloads: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for p in payloads for b in p["blocks"] if b["type"] == "header"]


def press(button: dict[str, Any]) -> dict[str, Any]:
    """A block_actions action as Slack sends it for a button."""
    return {
        "type": "button",
        "action_id": button["action_id"],
        "block_id": button["block_id"],
        "value": button["value"],
        "text": button["text"],
        "action_ts": "1700000000.000100",
    }


# --------------------------------------------------------------------------- mrkdwn


def test_escape_neutralises_control_characters_and_broadcasts() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;") == "&amp;lt;"
    for raw in INJECTIONS:
        assert "<" not in escape(raw)
    defused = escape("@here @Channel @everyone e@here.com")
    assert "@here" not in defused.replace("e@here.com", "")
    assert "@\u200dhere" in defused
    assert "@\u200dChannel" in defused


def test_plain_cuts_with_ellipsis() -> None:
    assert plain("short", 10) == "short"
    assert plain("x" * 30, 24) == "x" * 23 + "…"
    assert len(plain("y" * 500, 150)) == 150


# --------------------------------------------------------------------------- notices


@pytest.mark.parametrize("level", ["info", "success", "error"])
def test_notice_renders(level: str) -> None:
    notice = Notice(level=level, title="Help " * 50, lines=("line <!here>", "two"))  # type: ignore[arg-type]
    payloads = render_message(notice)
    check_payloads(payloads)
    blocks = payloads[0]["blocks"]
    assert blocks[0]["type"] == "header"
    assert len(blocks[0]["text"]["text"]) == 150
    if level == "error":
        assert blocks[1]["text"]["text"].startswith(":warning:")


def test_long_notice_splits_into_sections_and_messages() -> None:
    lines = tuple(f"line {i} " + "w " * 200 for i in range(400))
    payloads = render_message(Notice(lines=lines))
    check_payloads(payloads)
    assert len(payloads) > 1
    joined = "\n".join(mrkdwn_texts(payloads))
    assert all(f"line {i} " in joined for i in range(400))


def test_empty_notice_is_still_valid() -> None:
    check_payloads(render_message(Notice()))


# --------------------------------------------------------------------------- prompts


def test_rating_prompt_buttons_and_labels() -> None:
    q = question("score", "rating", labels={1: "Poor", 5: "Excellent"}, required=False)
    payloads = render_message(prompt(q, opening=True, purpose="Map the <!channel> brand"))
    check_payloads(payloads)
    assert len(payloads) == 1
    texts = "\n".join(mrkdwn_texts(payloads))
    assert "Question 1 of 5" in texts
    assert "&lt;!channel&gt;" in texts
    assert "<!date^1741626000^{date_short_pretty} {time}|2025-03-10 17:00 UTC>" in texts
    actions = all_actions(payloads)
    answers = [a for a in actions if a["action_id"].startswith("strategy:answer:")]
    assert [a["text"]["text"] for a in answers] == ["1 · Poor", "2", "3", "4", "5 · Excellent"]
    assert parse_action(press(answers[3]), None) == ("answer", 42, "4")
    names = [parse_action(press(a), None)[0] for a in actions]
    assert names[5:] == ["answer_all", "skip_question", "skip_round", "snooze"]
    assert actions[5]["style"] == "primary"
    assert parse_action(press(actions[6]), None) == ("skip_question", 42, "score")
    assert parse_action(press(actions[8]), None) == ("snooze", 42, "2h")


def test_required_question_has_no_skip_and_reminder_shows_note() -> None:
    q = question("vision", "text")
    payloads = render_message(
        prompt(q, reminder=True, purpose="Why we ask", note="That <@U1> was empty")
    )
    check_payloads(payloads)
    texts = "\n".join(mrkdwn_texts(payloads))
    assert "Reminder" in texts
    assert "Why we ask" in texts
    assert "That &lt;@U1&gt; was empty" in texts
    assert "Reply in this chat to answer" in texts
    names = [parse_action(press(a), None)[0] for a in all_actions(payloads)]
    assert names == ["answer_all", "skip_round", "snooze"]


def test_purpose_only_on_opening_or_reminder() -> None:
    q = question("vision", "text")
    texts = "\n".join(mrkdwn_texts(render_message(prompt(q, purpose="PURPOSE-XYZ"))))
    assert "PURPOSE-XYZ" not in texts


def test_single_choice_buttons_then_select() -> None:
    few = question("pick", "single_choice", options=("Blogs", "Fan pages", "Listening"))
    payloads = render_message(prompt(few))
    check_payloads(payloads)
    buttons = [a for a in all_actions(payloads) if a["action_id"].startswith("strategy:answer:")]
    assert [parse_action(press(b), None)[2] for b in buttons] == ["Blogs", "Fan pages", "Listening"]

    many = question("pick", "single_choice", options=tuple(f"Option {i}" for i in range(8)))
    payloads = render_message(prompt(many))
    check_payloads(payloads)
    select = next(a for a in all_actions(payloads) if a["type"] == "static_select")
    assert select["block_id"] == "strategy:r:42:pick"
    action = {
        "type": "static_select",
        "action_id": select["action_id"],
        "block_id": select["block_id"],
        "selected_option": select["options"][6],
        "action_ts": "1",
    }
    assert parse_action(action, None) == ("answer", 42, "Option 6")


def test_yes_no_buttons() -> None:
    payloads = render_message(prompt(question("ok", "yes_no")))
    check_payloads(payloads)
    buttons = [a for a in all_actions(payloads) if a["action_id"].startswith("strategy:answer:")]
    assert [b["text"]["text"] for b in buttons] == ["Yes", "No"]
    assert parse_action(press(buttons[1]), None) == ("answer", 42, "no")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("Blogs", "Fan pages", "Wikis"), "Blogs, Wikis"),
        (("Blogs, forums", "Fan pages", "Wikis"), "1, 3"),  # a comma: numbers instead
    ],
)
def test_multiple_choice_send_reads_checkbox_state(options: tuple[str, ...], expected: str) -> None:
    q = question("channels", "multiple_choice", options=options)
    payloads = render_message(prompt(q))
    check_payloads(payloads)
    actions = all_actions(payloads)
    boxes = next(a for a in actions if a["type"] == "checkboxes")
    assert parse_action({**boxes, "selected_options": []}, None)[0] == "choose"
    send = next(a for a in actions if a["type"] == "button" and a["text"]["text"] == "Send")
    state = {
        boxes["block_id"]: {
            boxes["action_id"]: {
                "type": "checkboxes",
                "selected_options": [boxes["options"][0], boxes["options"][2]],
            }
        }
    }
    name, round_id, value = parse_action(press(send), state)
    assert (name, round_id, value) == ("answer", 42, expected)
    model = Question(id="channels", text="Which channels?", type="multiple_choice", options=options)
    assert parse_answer(model, value) == [options[0], options[2]]
    assert parse_action(press(send), {})[2] == ""  # nothing ticked: the engine says so


def test_many_multiple_choice_options_use_multi_select() -> None:
    q = question("m", "multiple_choice", options=tuple(f"Opt {i}" for i in range(15)))
    payloads = render_message(prompt(q))
    check_payloads(payloads)
    assert any(a["type"] == "multi_static_select" for a in all_actions(payloads))


def test_long_option_labels_are_listed_in_full() -> None:
    long = "A very long option label that goes well past seventy-five characters of text"
    q = question("l", "single_choice", options=(long, "Short"))
    payloads = render_message(prompt(q))
    check_payloads(payloads)
    assert long in "\n".join(mrkdwn_texts(payloads))


# --------------------------------------------------------------------------- summary


def test_summary_edit_buttons_and_escaping() -> None:
    items = (
        *(
            SummaryItem(question_id=f"q{i}", question=f"Q {i} <!here>?", answer=INJECTIONS[i % 8])
            for i in range(60)
        ),
        SummaryItem(question_id="skip", question="Skipped?", answer=None, skipped=True),
    )
    summary = Summary(
        round_id=7,
        conversation_key="social-support",
        conversation_title="Social <!channel> Support",
        deadline=DEADLINE,
        done=True,
        editable=True,
        items=items,
    )
    payloads = render_message(summary)
    check_payloads(payloads)
    assert len(payloads) == 2  # 61 items + header blocks do not fit in 50
    assert payloads[0]["blocks"][0]["text"]["text"] == "Social <!channel> Support"
    assert "*Done ✓*" in payloads[0]["blocks"][2]["text"]["text"]
    edits = [a for a in all_actions(payloads) if a["action_id"] == "strategy:edit"]
    assert len(edits) == 61
    assert parse_action(press(edits[5]), None) == ("edit", 7, "q5")
    texts = "\n".join(mrkdwn_texts(payloads))
    for raw in RAW_SEQUENCES:
        assert raw not in texts
    assert "&lt;https://evil.example|click&gt;" in texts
    assert "&amp;lt;escaped&amp;gt;" in texts
    assert "_Skipped_" in texts


def test_summary_not_editable_has_no_buttons() -> None:
    summary = Summary(
        round_id=7,
        conversation_key="k",
        conversation_title="T",
        deadline=DEADLINE,
        done=False,
        editable=False,
        items=(SummaryItem(question_id="a", question="Q?", answer="x" * 4000),),
    )
    payloads = render_message(summary)
    check_payloads(payloads)
    assert all_actions(payloads) == []
    assert "answer cut" in "\n".join(mrkdwn_texts(payloads))


# --------------------------------------------------------------------------- digest


def conversation(
    qcount: int, answers_per_q: int, *, anonymous: bool = False, text: str = "answer"
) -> ConversationDigest:
    questions: list[QuestionRollup] = [
        QuestionRollup(
            question_id="score",
            text="How mature <!here> are we?",
            type="rating",
            answered=5,
            skipped=1,
            rating=RatingRollup(
                mean=3.4,
                count=5,
                distribution={1: 0, 2: 1, 3: 2, 4: 1, 5: 1},
                labels={1: "<@U1> poor", 5: "great"},
                previous_mean=2.9,
            ),
        ),
        QuestionRollup(
            question_id="channel",
            text="Which channel?",
            type="single_choice",
            answered=5,
            skipped=0,
            choices=ChoiceRollup(
                counts={"<!everyone>": 3, "Blogs": 2}, previous_counts={"Blogs": 3}
            ),
        ),
    ]
    for i in range(qcount):
        texts = tuple(
            TextAnswer(
                text=f"{text} q{i} a{j} " + "lorem ipsum & <b> " * 80 + f"END-{i}-{j}",
                author=None if anonymous else f"Person {j} <@U{j}>",
                group_key="marketing",
            )
            for j in range(answers_per_q)
        )
        questions.append(
            QuestionRollup(
                question_id=f"t{i}",
                text=f"Open question {i}?",
                type="text",
                answered=len(texts),
                skipped=0,
                texts=texts,
            )
        )
    return ConversationDigest(
        conversation_key="social-media",
        title="Social <!channel> Media",
        round_id=9,
        round_number=4,
        status="closed",
        opened_at=NOW,
        deadline=DEADLINE,
        closed_at=DEADLINE,
        anonymous=anonymous,
        invited=6,
        answered=3,
        previous_round_number=3,
        previous_invited=6,
        previous_answered=4,
        participation=(
            GroupParticipation(
                group_key="marketing",
                title="Marketing <!here>",
                invited=6,
                answered=3,
                skipped=1,
                missing=() if anonymous else ("Ann <@U9>", "Bob", "Cy"),
            ),
        ),
        questions=tuple(questions),
    )


def digest(*conversations: ConversationDigest, scope: str = "all") -> DigestMessage:
    return DigestMessage(
        digest=Digest(
            scope=scope,
            organisation="Acme <!channel>",
            generated_at=NOW,
            conversations=conversations,
            maturity=MaturityView(
                internal=2.5,
                external=3.4,
                stage="externally mature",
                next_move="Partner with marketing",
                previous_stage="laggard",
            )
            if scope == "all"
            else None,
        )
    )


def test_small_digest_has_header_participation_and_changes() -> None:
    payloads = render_message(digest(conversation(2, 2), scope="social-media"))
    check_payloads(payloads)
    assert len(payloads) == 1
    blocks = payloads[0]["blocks"]
    headers = [b["text"]["text"] for b in blocks if b["type"] == "header"]
    # plain_text: not parsed, so not escaped
    assert headers == ["Strategy digest · Acme <!channel>", "Social <!channel> Media"]
    assert (
        payloads[0]["text"]
        == "Social &lt;!channel&gt; Media round 4 digest for Acme &lt;!channel&gt;"
    )
    texts = "\n".join(mrkdwn_texts(payloads))
    assert "• Marketing &lt;!here&gt; ▇▇▇░░░ 3/6 · 1 skipped" in texts
    assert "Did not answer: Ann &lt;@U9&gt;, Bob, Cy" in texts
    assert "*3.4* / 5 mean ▲ 0.5 (was 2.9)" in texts  # rating mean vs previous round
    assert "3 of 6 answered (50%) ▼ 17 pts since round 3" in texts  # participation
    assert "Person 1 &lt;@U1&gt;" in texts
    assert "Social maturity" not in texts  # only for scope "all"


def test_open_digest_says_waiting_on() -> None:
    conv = conversation(1, 1).model_copy(update={"status": "open"})
    texts = "\n".join(mrkdwn_texts(render_message(digest(conv))))
    assert "Waiting on:" in texts and "Did not answer:" not in texts
    assert "Social maturity:" in texts and "Partner with marketing" in texts


def test_big_digest_splits_without_losing_answers() -> None:
    msg = digest(conversation(40, 4), conversation(3, 1))
    payloads = render_message(msg)
    check_payloads(payloads)
    assert len(payloads) > 1
    assert payloads[1]["text"].endswith(f"(continued, part 2 of {len(payloads)})")
    texts = "\n".join(mrkdwn_texts(payloads))
    for conv in msg.digest.conversations:
        for q in conv.questions:
            for answer in q.texts:
                assert escape(answer.text) in texts


def test_digest_escapes_every_injection() -> None:
    convs = [
        conversation(len(INJECTIONS), 1, text=injection).model_copy(
            update={"title": injection, "participation": ()}
        )
        for injection in INJECTIONS
    ]
    payloads = render_message(digest(*convs))
    check_payloads(payloads)
    texts = "\n".join(mrkdwn_texts(payloads))
    for raw in RAW_SEQUENCES:
        assert raw not in texts
    assert "&lt;!channel&gt;" in texts
    assert "&lt;#C123|x&gt;" in texts
    assert "&amp;lt;escaped&amp;gt;" in texts
    assert "@\u200dhere bare" in texts


def test_anonymous_digest_shows_no_names() -> None:
    named = conversation(3, 2, anonymous=False)
    anonymous = conversation(3, 2, anonymous=True).model_copy(
        update={"participation": named.participation}  # even if the model leaked names
    )
    texts = "\n".join(mrkdwn_texts(render_message(digest(anonymous))))
    assert "Person" not in texts and "Bob" not in texts and "Ann" not in texts
    assert "Did not answer" not in texts
    assert "anonymous" in texts.lower()


def test_over_long_text_answer_is_cut_and_says_so() -> None:
    conv = conversation(0, 0).model_copy(
        update={
            "questions": (
                QuestionRollup(
                    question_id="t",
                    text="Long?",
                    type="text",
                    answered=1,
                    skipped=0,
                    texts=(TextAnswer(text="word&" * 800, author="Ann"),),
                ),
            )
        }
    )
    payloads = render_message(digest(conv))
    check_payloads(payloads)
    texts = "\n".join(mrkdwn_texts(payloads))
    assert "answer cut" in texts
    assert "word&amp;word" in texts


def test_empty_and_no_round_digests() -> None:
    check_payloads(render_message(digest()))
    none = ConversationDigest(
        conversation_key="k", title="Quiet", round_id=None, round_number=None, status="none"
    )
    payloads = render_message(digest(none))
    check_payloads(payloads)
    assert "Quiet" in headers_of(payloads) and "No round yet" in "\n".join(mrkdwn_texts(payloads))


# --------------------------------------------------------------------------- form modal


def form(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Form:
    questions = (
        question("vision", "text", index=1, total=7),
        question("score", "rating", labels={1: "Poor", 5: "Great"}, index=2, total=7),
        question("pick", "single_choice", options=("Blogs", "Wikis"), index=3, total=7),
        question(
            "many", "single_choice", options=tuple(f"O{i}" for i in range(8)), index=4, total=7
        ),
        question(
            "channels",
            "multiple_choice",
            options=("Blogs, forums", "Fan pages", "Wikis"),
            required=False,
            index=5,
            total=7,
        ),
        question("ok", "yes_no", index=6, total=7),
        question("note", "text", required=False, index=7, total=7),
    )
    return Form(
        round_id=42,
        conversation_key="social-media",
        conversation_title="Social Media strategy conversation",
        deadline=DEADLINE,
        questions=questions,
        values=values or {},
        errors=errors or {},
    )


def submitted_state(view: dict[str, Any]) -> dict[str, Any]:
    """state.values as Slack sends it for an untouched modal (the initial values)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        if kind == "plain_text_input":
            state["value"] = element.get("initial_value")
        elif kind in ("static_select", "radio_buttons"):
            state["selected_option"] = element.get("initial_option")
        else:
            state["selected_options"] = element.get("initial_options", [])
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def test_form_modal_shape_and_limits() -> None:
    view = render_form_modal(form())
    assert view["type"] == "modal"
    assert view["callback_id"] == FORM_CALLBACK_ID
    assert json.loads(view["private_metadata"]) == {"r": 42}
    assert len(view["title"]["text"]) <= 24
    assert view["submit"]["text"] == "Submit answers"
    check_blocks(view["blocks"], 100)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["vision", "score", "pick", "many", "channels", "ok", "note"]
    assert inputs["vision"]["element"]["multiline"] is True
    assert inputs["score"]["element"]["type"] == "static_select"
    assert inputs["score"]["element"]["options"][0]["text"]["text"] == "1 · Poor"
    assert inputs["pick"]["element"]["type"] == "radio_buttons"
    assert inputs["many"]["element"]["type"] == "static_select"
    assert inputs["channels"]["element"]["type"] == "checkboxes"
    assert inputs["ok"]["element"]["type"] == "radio_buttons"
    assert inputs["channels"]["optional"] is True and inputs["vision"]["optional"] is False


def test_form_round_trip_through_the_engine_parser() -> None:
    values: dict[str, Any] = {
        "vision": "Listen <!here> first",
        "score": 4,
        "pick": "Wikis",
        "many": "O6",
        "channels": ["Blogs, forums", "Wikis"],
        "ok": False,
        "note": None,
    }
    view = render_form_modal(form(values))
    submission = {**view, "id": "V1", "state": {"values": submitted_state(view)}}
    round_id, parsed = parse_view_submission(submission)
    assert round_id == 42
    assert parsed["vision"] == "Listen <!here> first"
    assert parsed["score"] == "4"
    assert parsed["ok"] is False
    assert parsed["note"] is None
    assert parsed["channels"] == ["1", "3"]  # numbers: an option has a comma
    qv = {q.id: q for q in form().questions}
    for qid, raw in parsed.items():
        view_q = qv[qid]
        model = Question(
            id=qid,
            text=view_q.text,
            type=view_q.type,
            required=view_q.required,
            options=view_q.options,
            labels=view_q.labels,
        )
        assert parse_answer(model, raw) == values[qid]


def test_form_submission_of_changed_values() -> None:
    view = render_form_modal(form())
    state = submitted_state(view)
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    state["vision"]["value"]["value"] = "New text"
    state["ok"]["value"]["selected_option"] = inputs["ok"]["options"][0]
    state["pick"]["value"]["selected_option"] = inputs["pick"]["options"][0]
    state["channels"]["value"]["selected_options"] = [inputs["channels"]["options"][1]]
    _, parsed = parse_view_submission({**view, "state": {"values": state}})
    assert parsed["vision"] == "New text"
    assert parsed["ok"] is True
    assert parsed["pick"] == "Blogs"
    assert parsed["channels"] == ["2"]
    assert parsed["score"] is None


def test_form_prefill_of_over_long_text_says_it_was_cut() -> None:
    view = render_form_modal(form({"vision": "z" * 3500}))
    check_blocks(view["blocks"], 100)
    block = next(b for b in view["blocks"] if b.get("block_id") == "vision")
    assert len(block["element"]["initial_value"]) == 3000
    assert "3,500 characters" in block["hint"]["text"]


def test_form_errors_map_block_ids() -> None:
    errors = {"score": "Please answer with a whole number from 1 to 5."}
    assert render_form_errors(form(errors=errors)) == errors
    view = render_form_modal(form(errors=errors))
    check_blocks(view["blocks"], 100)


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"state": {"values": {}}}, "private_metadata is missing"),
        ({"private_metadata": "nope", "state": {"values": {}}}, "not JSON"),
        ({"private_metadata": '{"r": "x"}', "state": {"values": {}}}, "not an integer"),
        ({"private_metadata": '{"r": true}', "state": {"values": {}}}, "not an integer"),
        ({"private_metadata": "{}", "state": {"values": {}}}, "no round id"),
        ({"private_metadata": '{"r": 1}'}, "no state.values"),
        (
            {"private_metadata": '{"r": 1}', "state": {"values": {"a": {"value": {"type": "x"}}}}},
            "unexpected element type",
        ),
        ({"callback_id": "other", "private_metadata": '{"r": 1}'}, "not our form"),
    ],
)
def test_malformed_view_raises(view: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_view_submission(view)


# --------------------------------------------------------------------------- actions


@pytest.mark.parametrize(
    "action",
    [
        {"type": "button", "action_id": "other:thing", "value": '{"r": 1, "v": null}'},
        {"type": "button", "action_id": "strategy:explode", "value": '{"r": 1, "v": null}'},
        {"type": "button", "action_id": "strategy:skip_round", "value": "not json"},
        {"type": "button", "action_id": "strategy:skip_round", "value": '{"r": "1"}'},
        {"type": "button", "action_id": "strategy:skip_round"},
        {"type": "button", "action_id": "strategy:edit", "value": '{"r": 1, "v": 5}'},
        {"type": "static_select", "action_id": "strategy:answer", "block_id": "abc"},
        {"type": "datepicker", "action_id": "strategy:answer", "block_id": "strategy:r:1:q"},
        {"type": "button", "action_id": "strategy:answer", "value": '{"r": 1, "v": null}'},
    ],
)
def test_malformed_actions_raise(action: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_action(action, None)


def test_every_prompt_button_round_trips() -> None:
    q = question("x", "text", required=False)
    p = prompt(q, actions=("answer_all", "skip_question", "skip_round", "snooze", "review"))
    parsed = [parse_action(press(a), None) for a in all_actions(render_message(p))]
    assert parsed == [
        ("answer_all", 42, None),
        ("skip_question", 42, "x"),
        ("skip_round", 42, None),
        ("snooze", 42, "2h"),
        ("review", 42, None),
    ]

"""Adaptive Card rendering and submit parsing for Teams, checked as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.teams.cards import (
    CARD_BUDGET,
    CHART_TYPES,
    CardAnswer,
    card_size,
    parse_submit,
    render_activity_attachments,
    render_readonly_summary,
    text_bar,
)
from bot.adapters.teams.markdown import clip, escape
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
    OutboundMessage,
    Prompt,
    QuestionView,
    Summary,
    SummaryItem,
)

# Teams' chart elements (Microsoft's "Charts in Adaptive Cards" for Teams, card 1.5). No
# Adaptive Card JSON schema is vendored here (tests/teams/schema holds the app manifest's);
# `check_element` is this suite's schema: it checks each element the cards use, the
# chart elements by the properties Teams documents.
CHARTS = set(CHART_TYPES.values())
WHEN = datetime(2025, 3, 7, 17, 0, tzinfo=UTC)
HOSTILE = [
    "<at>CEO</at>",
    "**bold**",
    "[click](https://evil.example)",
    "<script>",
    "# heading",
]
HOSTILE_TEXT = " ".join(HOSTILE)


def fw(text: str) -> str:
    """Angle brackets as the fullwidth forms `escape` puts in their place."""
    return text.replace("<", "\uff1c").replace(">", "\uff1e")


ELEMENTS = {
    "TextBlock",
    "FactSet",
    "Container",
    "ActionSet",
    "Input.Text",
    "Input.ChoiceSet",
    "Input.Toggle",
    "Table",
    *CHARTS,
}
ACTIONS = {"Action.Submit", "Action.ToggleVisibility"}
COLORS = {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"}


def q(
    qid: str,
    kind: str,
    *,
    required: bool = True,
    options: tuple[str, ...] = (),
    index: int = 1,
    total: int = 5,
    text: str | None = None,
) -> QuestionView:
    return QuestionView(
        id=qid,
        text=text or f"Question {qid}?",
        type=kind,
        required=required,
        options=options,
        labels={1: "Not at all", 5: "Fully"} if kind == "rating" else {},
        help="Think about the last quarter." if kind == "text" else None,
        index=index,
        total=total,
    )


QUESTIONS = (
    q("t", "text", index=1),
    q("r", "rating", index=2),
    q("s", "single_choice", options=("Blogs, forums", "Fan pages", "None"), index=3),
    q("m", "multiple_choice", options=("Listen, then act", "Pilot", "Policy"), index=4),
    q("b", "yes_no", required=False, index=5),
)


def prompt(question: QuestionView, **kw: Any) -> Prompt:
    return Prompt(
        round_id=42,
        conversation_key="social-media",
        conversation_title="Social Media",
        round_number=3,
        deadline=WHEN,
        purpose="Map brand management and listening.",
        opening=True,
        question=question,
        **kw,
    )


def form(**kw: Any) -> Form:
    return Form(
        round_id=42,
        conversation_key="social-media",
        conversation_title="Social Media",
        deadline=WHEN,
        questions=QUESTIONS,
        **kw,
    )


def summary(*, editable: bool = True, answer: str = "Yes") -> Summary:
    return Summary(
        round_id=42,
        conversation_key="social-media",
        conversation_title="Social Media",
        deadline=WHEN,
        done=True,
        editable=editable,
        items=(
            SummaryItem(question_id="t", question="What do customers say?", answer=answer),
            SummaryItem(question_id="b", question=HOSTILE_TEXT, answer=None, skipped=True),
        ),
    )


def conversation(
    *, anonymous: bool = False, questions: int = 3, text: str = HOSTILE_TEXT, answers: int = 2
) -> ConversationDigest:
    rollups = []
    for n in range(questions):
        kind = ("rating", "single_choice", "text", "yes_no")[n % 4]
        rollups.append(
            QuestionRollup(
                question_id=f"q{n}",
                text=f"Question {n}: {HOSTILE_TEXT}",
                type=kind,
                answered=5,
                skipped=1,
                rating=RatingRollup(
                    mean=3.4,
                    count=5,
                    distribution={1: 0, 2: 1, 3: 2, 4: 1, 5: 1},
                    labels={1: "Not at all", 5: "Fully"},
                    previous_mean=3.0,
                )
                if kind == "rating"
                else None,
                choices=ChoiceRollup(
                    counts={HOSTILE_TEXT: 3, "Fan pages": 2} if kind != "yes_no" else {"yes": 4},
                    previous_counts={"Fan pages": 3},
                )
                if kind in ("single_choice", "yes_no")
                else None,
                texts=tuple(
                    TextAnswer(
                        text=f"{text} #{n}.{i}",
                        author=None if anonymous else f"Maria <at>Boss</at> {i}",
                        group_key="marketing",
                    )
                    for i in range(answers)
                )
                if kind == "text"
                else (),
            )
        )
    return ConversationDigest(
        conversation_key="social-media",
        title="Social Media",
        round_id=42,
        round_number=3,
        status="closed",
        opened_at=WHEN,
        deadline=WHEN,
        closed_at=WHEN,
        anonymous=anonymous,
        invited=6,
        answered=3,
        previous_round_number=2,
        previous_invited=6,
        previous_answered=2,
        participation=(
            GroupParticipation(
                group_key="marketing",
                title="Marketing",
                invited=6,
                answered=3,
                skipped=1,
                missing=() if anonymous else ("Ann **Lee**", "Bob <at>Ops</at>"),
            ),
        ),
        questions=tuple(rollups),
    )


def digest(**kw: Any) -> DigestMessage:
    return DigestMessage(
        digest=Digest(
            scope="all",
            organisation="Acme",
            generated_at=WHEN,
            conversations=(conversation(**kw),),
            maturity=MaturityView(
                internal=2.5,
                external=3.5,
                stage="externally mature",
                next_move="Partner with marketing.",
                previous_stage="laggard",
            ),
        )
    )


ALL_MESSAGES: list[OutboundMessage] = [
    Notice(level="error", title="Oops", lines=("That failed.", HOSTILE_TEXT)),
    Notice(lines=()),
    *[prompt(x, reminder=True, note="Answer again.") for x in QUESTIONS],
    form(values={"t": "old", "r": 4, "s": "Fan pages", "m": ["Pilot"], "b": True}),
    summary(),
    summary(editable=False),
    digest(),
    digest(anonymous=True),
]


# ---------------------------------------------------------------- helpers


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def markdown_texts(card: dict[str, Any]) -> list[str]:
    """Every string Teams processes as Markdown: TextBlock text, fact titles and values."""
    out = []
    for node in walk(card):
        if node.get("type") == "TextBlock":
            out.append(node["text"])
        if node.get("type") == "FactSet":
            for fact in node["facts"]:
                out.extend([fact["title"], fact["value"]])
    return out


def check_element(el: dict[str, Any]) -> None:
    kind = el.get("type")
    assert kind in ELEMENTS, kind
    if kind == "TextBlock":
        assert isinstance(el["text"], str) and el["text"]
        assert el.get("color", "Default") in COLORS
    elif kind == "FactSet":
        assert el["facts"]
        for fact in el["facts"]:
            assert isinstance(fact["title"], str) and isinstance(fact["value"], str)
    elif kind == "Container":
        assert el["items"]
        for item in el["items"]:
            check_element(item)
    elif kind == "ActionSet":
        assert el["actions"]
        for action in el["actions"]:
            check_action(action)
    elif kind in CHARTS:
        check_chart(el)
    elif kind == "Table":
        check_table(el)
    else:  # inputs
        assert isinstance(el["id"], str) and el["id"]
        if kind == "Input.ChoiceSet":
            assert el["choices"]
            for choice in el["choices"]:
                assert isinstance(choice["title"], str) and isinstance(choice["value"], str)
            assert el.get("style", "compact") in {"compact", "expanded", "filtered"}
            if "value" in el:
                values = {c["value"] for c in el["choices"]}
                assert set(el["value"].split(",")) <= values
        if kind == "Input.Text" and "maxLength" in el:
            assert isinstance(el["maxLength"], int)


def check_chart(el: dict[str, Any]) -> None:
    """A chart: a title, series with a legend and x (text) / y (number) points, a fallback."""
    assert isinstance(el["title"], str) and el["title"]
    assert el["data"]
    categories = None
    for series in el["data"]:
        assert isinstance(series["legend"], str) and series["legend"]
        xs = [v["x"] for v in series["values"]]
        assert all(isinstance(x, str) and x for x in xs)
        assert all(isinstance(v["y"], int | float) for v in series["values"])
        assert categories in (None, xs), "every series has a value for each category"
        categories = xs
    for axis in ("xAxisTitle", "yAxisTitle"):
        assert isinstance(el.get(axis, ""), str)
    fallback = el["fallback"]  # a client without charts reads the figures in words
    assert fallback["type"] == "Container"
    check_element(fallback)


def check_table(el: dict[str, Any]) -> None:
    """A Table (1.5): column widths, rows of cells holding elements, as many as columns."""
    assert el["columns"] and all(isinstance(c["width"], int) for c in el["columns"])
    assert el["rows"]
    for row in el["rows"]:
        assert row["type"] == "TableRow"
        assert 0 < len(row["cells"]) <= len(el["columns"])
        for cell in row["cells"]:
            assert cell["type"] == "TableCell" and cell["items"]
            for item in cell["items"]:
                check_element(item)


def check_action(action: dict[str, Any]) -> None:
    assert action["type"] in ACTIONS
    assert isinstance(action["title"], str) and action["title"]
    if action["type"] == "Action.ToggleVisibility":
        assert action["targetElements"] and all(
            isinstance(t, str) for t in action["targetElements"]
        )
        return
    data = action["data"]
    assert isinstance(data["strategy"], str)
    assert isinstance(data["r"], int)
    assert "v" in data
    assert action.get("associatedInputs", "auto") in {"auto", "none"}


def check_card(card: dict[str, Any]) -> None:
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert isinstance(card["body"], list) and card["body"]
    for el in card["body"]:
        check_element(el)
    for action in card.get("actions", []):
        check_action(action)
    json.dumps(card)  # serialisable
    ids = [n["id"] for n in walk(card) if str(n.get("type", "")).startswith("Input.")]
    assert len(ids) == len(set(ids)), "input ids must be unique"
    element_ids = [n["id"] for n in walk(card) if n.get("type") == "Container" and "id" in n]
    assert len(element_ids) == len(set(element_ids)), "element ids must be unique"
    for node in walk(card):
        if node.get("type") == "Action.ToggleVisibility":
            assert set(node["targetElements"]) <= set(element_ids), "a toggle shows its card's own"


def submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(card) if n.get("type") == "Action.Submit"]


def render_one(message: OutboundMessage) -> dict[str, Any]:
    cards = render_activity_attachments(message)
    assert len(cards) == 1
    return cards[0]


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=lambda m: m.kind)
def test_every_kind_renders_valid_cards(message: OutboundMessage) -> None:
    cards = render_activity_attachments(message)
    assert cards
    for card in cards:
        check_card(card)
        assert card_size(card) <= CARD_BUDGET


def test_readonly_summary_is_valid_and_has_no_actions() -> None:
    card = render_readonly_summary(summary(answer="x" * 20_000))
    check_card(card)
    assert not submits(card)
    assert card_size(card) <= CARD_BUDGET


def test_error_notice_uses_attention_colour() -> None:
    card = render_one(Notice(level="error", title="Oops", lines=("Bad",)))
    assert {b.get("color") for b in card["body"]} == {"Attention"}


def test_prompt_parts_and_actions() -> None:
    card = render_one(prompt(QUESTIONS[4], reminder=True, note="Once more."))
    texts = " | ".join(markdown_texts(card))
    for part in ("Social Media", "Round 3", "New round · Reminder", "Map brand", "Once more."):
        assert part in texts
    assert "Question 5 of 5 · optional" in texts
    assert "{{DATE(2025-03-07T17:00:00Z, SHORT)}}" in texts
    by_action = {s["data"]["strategy"]: s for s in submits(card)}
    assert set(by_action) == {"answer", "answer_all", "skip_question", "skip_round", "snooze"}
    assert by_action["snooze"]["data"]["v"] == "2h"
    assert by_action["answer"]["associatedInputs"] == "auto"
    assert by_action["skip_round"]["associatedInputs"] == "none"
    (field,) = [n for n in walk(card) if n.get("id") == "answer"]
    assert field["type"] == "Input.ChoiceSet"
    assert [c["value"] for c in field["choices"]] == ["true", "false"]


def test_required_prompt_has_no_skip_question() -> None:
    card = render_one(prompt(QUESTIONS[0]))
    assert "skip_question" not in {s["data"]["strategy"] for s in submits(card)}


def test_prompt_inputs_per_type() -> None:
    fields = {}
    for question in QUESTIONS:
        card = render_one(prompt(question))
        (fields[question.type],) = [n for n in walk(card) if n.get("id") == "answer"]
    assert fields["text"]["type"] == "Input.Text" and fields["text"]["isMultiline"]
    assert fields["rating"]["style"] == "compact"
    assert fields["rating"]["choices"][0]["title"] == "1 · Not at all"
    assert [c["value"] for c in fields["rating"]["choices"]] == ["1", "2", "3", "4", "5"]
    assert [c["value"] for c in fields["single_choice"]["choices"]] == ["1", "2", "3"]
    assert fields["multiple_choice"]["isMultiSelect"] is True
    assert "isMultiSelect" not in fields["single_choice"]


def test_form_inputs_prefill_required_and_errors() -> None:
    values = {"t": "old", "r": 4, "s": "Fan pages", "m": ["Listen, then act", "Policy"], "b": False}
    card = render_one(form(values=values, errors={"r": "Out of range <at>x</at>"}))
    fields = {n["id"]: n for n in walk(card) if str(n.get("type", "")).startswith("Input.")}
    assert set(fields) == {"q:t", "q:r", "q:s", "q:m", "q:b"}
    assert fields["q:t"]["value"] == "old"
    assert fields["q:r"]["value"] == "4"
    assert fields["q:s"]["value"] == "2"
    assert fields["q:m"]["value"] == "1,3"
    assert fields["q:b"]["value"] == "false"
    assert fields["q:t"]["isRequired"] and fields["q:t"]["errorMessage"]
    assert "isRequired" not in fields["q:b"]
    errors = [n for n in walk(card) if n.get("color") == "Attention"]
    assert [e["text"] for e in errors] == [fw("Out of range <at>x</at>")]
    (submit,) = submits(card)
    assert submit["data"]["strategy"] == "form" and submit["data"]["r"] == 42


def test_summary_edit_actions_only_while_editable() -> None:
    editable = render_one(summary())
    edits = [s["data"] for s in submits(editable)]
    assert edits == [
        {"strategy": "edit", "r": 42, "v": "t"},
        {"strategy": "edit", "r": 42, "v": "b"},
    ]
    assert any("Done" in t for t in markdown_texts(editable))
    assert not submits(render_one(summary(editable=False)))


def test_digest_parts() -> None:
    (card,) = render_activity_attachments(digest())
    texts = "\n".join(markdown_texts(card))
    assert "▇▇▇░░░ 3/6 · 1 skipped" in texts
    assert fw("Did not answer: Ann \\*\\*Lee\\*\\*, Bob <at>Ops</at>") in texts
    assert "3 of 6 answered (50%) ▲ 17 pts" in texts
    assert "▲ 0.4 (was 3.0)" in texts
    assert "▼ 1" in texts  # Fan pages 3 -> 2
    assert "externally mature" in texts and "Partner with marketing." in texts
    assert fw("— Maria <at>Boss</at> 0") in texts


def test_anonymous_digest_contains_no_names() -> None:
    cards = render_activity_attachments(digest(anonymous=True))
    dumped = json.dumps(cards, ensure_ascii=False)
    for name in ("Maria", "Ann", "Bob", "Did not answer", "Waiting on", " — "):
        assert name not in dumped


@pytest.mark.parametrize(
    "message",
    [digest(), digest(anonymous=True), summary(), summary(editable=False)],
    ids=["digest", "anonymous-digest", "summary", "readonly"],
)
def test_hostile_text_is_escaped_everywhere(message: OutboundMessage) -> None:
    cards = render_activity_attachments(message)
    if isinstance(message, Summary) and not message.editable:
        cards.append(render_readonly_summary(message))
    texts = [t for card in cards for t in markdown_texts(card)]
    joined = "\n".join(texts)
    for text in texts:
        assert "<" not in text and ">" not in text
        assert "**bold**" not in text
        assert "[click](" not in text
        assert not text.lstrip().startswith("#")
    assert escape(HOSTILE_TEXT) in joined
    assert fw("<at>CEO</at>") in joined and fw("<script>") in joined
    assert "\\*\\*bold\\*\\*" in joined and "\\[click\\](https://evil.example)" in joined


def test_large_digest_splits_under_budget_and_loses_nothing() -> None:
    long_text = "Customers keep asking for faster answers on the forum. " * 60  # ~3,300 chars
    message = DigestMessage(
        digest=Digest(
            scope="all",
            organisation="Acme",
            generated_at=WHEN,
            conversations=(conversation(questions=40, text=long_text, answers=3),),
        )
    )
    cards = render_activity_attachments(message)
    assert len(cards) > 3
    for n, card in enumerate(cards, 1):
        check_card(card)
        assert card_size(card) <= CARD_BUDGET
        assert card["body"][0]["text"].endswith(f"part {n} of {len(cards)}")
    joined = "\n".join(t for card in cards for t in markdown_texts(card))
    for n in range(40):
        assert f"Question {n}: " in joined
        if n % 4 == 2:
            for i in range(3):
                assert escape(f"{long_text} #{n}.{i}") in joined
    # Order is kept: question n comes before question n + 1.
    positions = [joined.index(f"Question {n}: ") for n in range(40)]
    assert positions == sorted(positions)


def test_large_summary_splits_and_keeps_edit_buttons() -> None:
    items = tuple(
        SummaryItem(question_id=f"q{n}", question=f"Q{n}", answer="word " * 800) for n in range(12)
    )
    big = summary().model_copy(update={"items": items})
    cards = render_activity_attachments(big)
    assert len(cards) > 1
    for card in cards:
        check_card(card)
        assert card_size(card) <= CARD_BUDGET
    edits = [s["data"]["v"] for card in cards for s in submits(card)]
    assert edits == [f"q{n}" for n in range(12)]


def test_text_bar() -> None:
    assert text_bar(3, 6) == "▇▇▇░░░"
    assert text_bar(0, 0) == ""
    assert len(text_bar(7, 40)) == 10


# ---------------------------------------------------------------- markdown


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<at>CEO</at>", fw("<at>CEO</at>")),
        ("**bold**", "\\*\\*bold\\*\\*"),
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("<script>", fw("<script>")),
        ("# heading", "\\# heading"),
        ("- item\n1. one", "\\- item\n1\\. one"),
        ("&lt; {{DATE(2025-01-01T00:00:00Z)}}", "\\&lt; \\{\\{DATE(2025-01-01T00:00:00Z)\\}\\}"),
        ("snake_case \\ `code` ~x~", "snake\\_case \\\\ \\`code\\` \\~x\\~"),
        ("plain words, 3.5 - fine", "plain words, 3.5 - fine"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…"


# ---------------------------------------------------------------- parse_submit


def data_of(card: dict[str, Any], strategy: str) -> dict[str, Any]:
    (submit,) = [s for s in submits(card) if s["data"]["strategy"] == strategy]
    return dict(submit["data"])


@pytest.mark.parametrize(
    ("question", "sent"),
    [
        (QUESTIONS[0], "Listening **first**, then <at>acting</at>"),
        (QUESTIONS[1], "4"),
        (QUESTIONS[2], "2"),
        (QUESTIONS[3], "1,3"),
        (QUESTIONS[4], "true"),
    ],
    ids=lambda x: getattr(x, "type", "sent"),
)
def test_parse_answer_round_trip(question: QuestionView, sent: str) -> None:
    card = render_one(prompt(question))
    data = data_of(card, "answer") | {"answer": sent}  # Teams merges inputs into data
    assert parse_submit(data) == ("answer", 42, CardAnswer(question.id, sent))


def test_parse_answer_empty_is_none() -> None:
    card = render_one(prompt(QUESTIONS[0]))
    empty = ("answer", 42, CardAnswer("t", None))
    assert parse_submit(data_of(card, "answer") | {"answer": "  "}) == empty
    assert parse_submit(data_of(card, "answer")) == empty


def test_send_names_the_question_its_card_shows() -> None:
    for question in QUESTIONS:
        card = render_one(prompt(question))
        assert data_of(card, "answer")["v"] == question.id


def test_parse_answer_from_a_card_without_a_question_id() -> None:
    old_card_data = {"strategy": "answer", "r": 42, "v": None, "answer": "Yes"}
    assert parse_submit(old_card_data) == ("answer", 42, CardAnswer(None, "Yes"))


@pytest.mark.parametrize("strategy", ["answer_all", "skip_round", "snooze"])
def test_parse_buttons(strategy: str) -> None:
    card = render_one(prompt(QUESTIONS[0]))
    expected = "2h" if strategy == "snooze" else None
    data = data_of(card, strategy) | {"answer": "typed but not sent"}
    assert parse_submit(data) == (strategy, 42, expected)


def test_parse_edit() -> None:
    card = render_one(summary())
    edit = next(s["data"] for s in submits(card))
    assert parse_submit(edit) == ("edit", 42, "t")


FORM_SENT = {
    "q:t": "New, longer answer",
    "q:r": "5",
    "q:s": "1",
    "q:m": "1,3",
    "q:b": "false",
}


def test_parse_form_with_questions_maps_options_back() -> None:
    card = render_one(form())
    data = data_of(card, "form") | FORM_SENT
    action, round_id, values = parse_submit(data, QUESTIONS)
    assert (action, round_id) == ("form", 42)
    assert values == {
        "t": "New, longer answer",
        "r": "5",
        "s": "Blogs, forums",
        "m": ["Listen, then act", "Policy"],
        "b": False,
    }


def test_parse_form_without_questions_uses_kinds_from_card() -> None:
    card = render_one(form())
    data = data_of(card, "form") | FORM_SENT | {"q:b": "true", "q:t": ""}
    _, _, values = parse_submit(data)
    assert values == {"t": None, "r": "5", "s": "1", "m": ["1", "3"], "b": True}


def test_parse_form_missing_inputs_are_none() -> None:
    card = render_one(form())
    _, _, values = parse_submit(data_of(card, "form"), QUESTIONS)
    assert values == {"t": None, "r": None, "s": None, "m": None, "b": None}


def test_parse_form_round_trips_prefilled_values() -> None:
    values = {"t": "old", "r": 4, "s": "Fan pages", "m": ["Listen, then act", "Policy"], "b": True}
    card = render_one(form(values=values))
    sent = {n["id"]: n["value"] for n in walk(card) if "value" in n and "id" in n}
    _, _, parsed = parse_submit(data_of(card, "form") | sent, QUESTIONS)
    assert parsed == {**values, "r": "4"}


def test_parse_invoke_shape() -> None:
    inner = {"strategy": "skip_round", "r": 7, "v": None}
    assert parse_submit({"action": {"type": "Action.Submit", "data": inner}}) == (
        "skip_round",
        7,
        None,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"r": 1}, "no 'strategy' key"),
        ({"action": "x", "r": 1}, "no 'strategy' key"),
        ({"strategy": "launch", "r": 1}, "unknown action 'launch'"),
        ({"strategy": 3, "r": 1}, "unknown action 3"),
        ({"strategy": "answer"}, "missing round id"),
        ({"strategy": "answer", "r": "twelve"}, "must be an integer"),
        ({"strategy": "answer", "r": True}, "not a boolean"),
        ({"strategy": "answer", "r": 1.5}, "must be an integer"),
        ({"strategy": "edit", "r": 1, "v": ["q1"]}, "must be a string or null"),
        ({"strategy": "answer", "r": 1, "v": {"q": "t"}, "answer": "x"}, "must be a string"),
        ({"strategy": "answer", "r": 1, "answer": {"x": 1}}, "input must be a string"),
        ({"strategy": "form", "r": 1, "v": "oops"}, "object of question kinds"),
    ],
)
def test_parse_rejects_malformed(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_submit(data)


def test_parse_rejects_non_object() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        parse_submit(["strategy"])  # type: ignore[arg-type]


def test_parse_accepts_string_round_id() -> None:
    assert parse_submit({"strategy": "review", "r": "12", "v": None}) == ("review", 12, None)

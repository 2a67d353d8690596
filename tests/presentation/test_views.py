"""The views themselves: what each message kind shows, decided once for every platform."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from bot.adapters.slack.render import render_message
from bot.adapters.teams.cards import render_activity_attachments
from bot.flows.events import Action
from bot.flows.outbound import Form, Notice, Prompt, QuestionView
from bot.presentation import build_view, dump_view
from bot.presentation.sections import Actions, Field, Inputs, Paragraph, Span
from bot.presentation.text import fill, lines
from bot.presentation.vocabulary import selected_options
from tests.console.samples import digest, prompt, summary

DEADLINE = datetime(2030, 3, 14, 17, 0, tzinfo=UTC)


def waiting() -> Prompt:
    return prompt().model_copy(
        update={
            "waiting_for": "Social Liability",
            "actions": ("answer_now", "answer_all", "skip_question", "skip_round", "snooze"),
        }
    )


def test_a_waiting_prompt_shows_no_question_and_answer_now_first_everywhere() -> None:
    view = build_view(waiting())
    assert not [s for s in view.sections if isinstance(s, Inputs)]
    texts = " ".join(s.text[0].text for s in view.sections if isinstance(s, Paragraph))
    assert waiting().question.text not in texts
    (actions,) = [s for s in view.sections if isinstance(s, Actions)]
    assert [b.action for b in actions.buttons] == [
        Action.ANSWER_NOW,
        Action.ANSWER_ALL,
        Action.SKIP_ROUND,
        Action.SNOOZE,
    ]  # nothing that acts on a question it does not show
    assert [b.primary for b in actions.buttons] == [True, False, False, False]
    slack = json.dumps(render_message(waiting()))
    teams = json.dumps(render_activity_attachments(waiting()))
    for shown in (slack, teams):
        assert waiting().question.text not in shown
        assert "skip_question" not in shown
    assert "strategy:r:7:" not in slack  # no answer buttons
    assert '"id": "answer"' not in teams  # no answer input


def test_a_prompt_lists_only_actions_it_knows(caplog: pytest.LogCaptureFixture) -> None:
    odd = prompt().model_copy(update={"actions": ("answer_all", "launch_rockets", "snooze")})
    with caplog.at_level(logging.WARNING, logger="bot.presentation.vocabulary"):
        view = build_view(odd)
    (actions,) = [s for s in view.sections if isinstance(s, Actions)]
    assert [b.action for b in actions.buttons] == [Action.ANSWER_ALL, Action.SNOOZE]
    assert "launch_rockets" in caplog.text


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("rating", 4, (4,)),
        ("rating", "5", (5,)),
        ("rating", True, ()),  # a bool is not a score
        ("rating", 9, ()),
        ("yes_no", True, (1,)),
        ("yes_no", False, (2,)),
        ("single_choice", "Wikis", (3,)),
        ("multiple_choice", ["Blogs", "Wikis", "Nope"], (1, 3)),
        ("text", "anything", ()),
        ("single_choice", None, ()),
    ],
)
def test_a_form_shows_the_answers_it_has(kind: str, value: object, expected: tuple[int]) -> None:
    q = QuestionView(
        id="q",
        text="Q?",
        type=kind,  # type: ignore[arg-type]
        required=True,
        options=("Blogs", "Fan pages", "Wikis") if "choice" in kind else (),
        index=1,
        total=1,
    )
    assert selected_options(q, value) == expected
    form = Form(
        round_id=1,
        conversation_key="k",
        conversation_title="T",
        deadline=DEADLINE,
        questions=(q,),
        values={"q": value},  # type: ignore[dict-item]
    )
    (field,) = [s for s in build_view(form).sections if isinstance(s, Field)]
    assert field.selected == expected
    assert field.text == (value if kind == "text" else None)


def test_a_notice_is_toned_by_its_level() -> None:
    view = build_view(Notice(level="error", title="Oops", lines=("One", "Two")))
    assert view.tone == "error" and view.fallback == "Oops One Two"
    tones = [s.tone for s in view.sections if isinstance(s, Paragraph)]
    assert tones == ["error", None]  # the platforms mark the first line
    assert build_view(Notice()).fallback == "Strategy bot"


def test_fill_keeps_sentences_whole_and_styles_the_parts() -> None:
    text = fill("Social maturity: {stage}{change}", stage=Span(text="x", style="strong"), change="")
    assert text == (Span(text="Social maturity: "), Span(text="x", style="strong"))
    with pytest.raises(KeyError):
        fill("closes {when}")


def test_the_text_layout_is_one_line_per_part_in_utc() -> None:
    for message in (digest(), prompt(), summary()):
        shown = lines(build_view(message))
        assert shown and all("\n" not in line for line in shown)
    assert "Round 4 · closes 2030-03-14 17:00 UTC" in lines(build_view(prompt()))


def test_a_view_is_json_for_the_console() -> None:
    dumped = dump_view(build_view(prompt()))
    assert json.loads(json.dumps(dumped)) == dumped
    assert dumped["kind"] == "prompt" and dumped["data"] == {
        "round-id": "7",
        "question-id": "listening",
    }
    types = [s["type"] for s in dumped["sections"]]  # type: ignore[index, union-attr]
    assert types == [
        "heading",
        "context",
        "badges",
        "paragraph",
        "context",
        "paragraph",
        "context",
        "inputs",
        "actions",
    ]

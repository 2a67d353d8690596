"""The vocabularies' tables: complete, checked by the type checker, and the same everywhere.

`bot.presentation.vocabulary` has one table per enum (question types, buttons). A member
added to `QuestionType` or `Action` and not to the tables must fail `mypy` (each table is
a `match` ending in `assert_never`), which `test_a_new_enum_member_fails_the_type_check`
shows on a copy of the code; and every member must be shown, answered and read back
alike on Slack, Teams and the console.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.adapters.slack.render import ACTION_NAMES, parse_action, render_form_modal, render_message
from bot.adapters.teams.cards import ACTIONS, kind_code, parse_submit, render_activity_attachments
from bot.flows.digest_model import QuestionRollup
from bot.flows.events import DEFAULT_SNOOZE, Action, ActionPressed
from bot.flows.outbound import Form, OutboundMessage, Prompt, QuestionView, Summary, SummaryItem
from bot.playbook.model import QuestionType
from bot.presentation import build_view
from bot.presentation.sections import Actions, Button, Facts, Field, Inputs
from bot.presentation.vocabulary import button, options_of, present_action, present_question
from tests.console.samples import EchoEngine

ROOT = Path(__file__).resolve().parents[2]
ASSERT_NEVER = r"^(bot/\S+?):\d+: error: .*assert_never.*Literal\[(\w+)\.(\w+)\]"
DEADLINE_ISO = "2030-03-14T17:00:00Z"


def question(kind: QuestionType) -> QuestionView:
    choice = kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
    return QuestionView(
        id=f"q-{kind.value}",
        text=f"A {kind.value} question?",
        type=kind.value,  # type: ignore[arg-type]
        required=False,
        options=("Blogs", "Fan pages", "Wikis") if choice else (),
        labels={1: "Poor", 5: "Great"} if kind is QuestionType.RATING else {},
        index=1,
        total=1,
    )


def prompt(kind: QuestionType) -> Prompt:
    return Prompt.model_validate(
        {
            "round_id": 42,
            "conversation_key": "social-media",
            "conversation_title": "Social Media",
            "round_number": 3,
            "deadline": DEADLINE_ISO,
            "question": question(kind),
            "actions": [a.value for a in Action],
        }
    )


# ---------------------------------------------------------------- question types


def test_the_neutral_models_name_exactly_the_question_types() -> None:
    # The models take the enum itself, so they cannot list a type the engine lacks.
    assert QuestionView.model_fields["type"].annotation is QuestionType
    assert QuestionRollup.model_fields["type"].annotation is QuestionType


@pytest.mark.parametrize("kind", list(QuestionType), ids=lambda k: k.value)
def test_every_question_type_is_answered_the_same_way_everywhere(kind: QuestionType) -> None:
    how = present_question(kind)
    options = options_of(question(kind))
    (inputs,) = [s for s in build_view(prompt(kind)).sections if isinstance(s, Inputs)]
    assert (inputs.widget, inputs.options, inputs.question_type) == (how.widget, options, kind)
    if how.widget in ("text", "number"):  # answered by a typed reply (or a figure box)
        assert options == () and how.hint
    else:
        assert [o.number for o in options] == list(range(1, len(options) + 1))

    # Slack: one answer control per option, each labelled as the table says.
    payload = render_message(prompt(kind))[0]
    slack = json.dumps(payload, ensure_ascii=False)
    for option in options:
        assert json.dumps(option.label, ensure_ascii=False) in slack
    answer_blocks = [
        b for b in payload["blocks"] if b.get("block_id") == f"strategy:r:42:q-{kind.value}"
    ]
    # Slack answers text and figures by a reply in the DM: no control in the message.
    assert bool(answer_blocks) is (how.widget not in ("text", "number"))
    # Teams: the one prompt input, with the same option titles.
    (card,) = render_activity_attachments(prompt(kind))
    (field,) = [n for n in card["body"] if n.get("id") == "answer"]
    assert [c["title"] for c in field.get("choices", [])] == [o.label for o in options]
    assert field.get("isMultiSelect", False) is (how.widget == "many")


@pytest.mark.parametrize("kind", list(QuestionType), ids=lambda k: k.value)
def test_every_question_type_has_a_form_field_everywhere(kind: QuestionType) -> None:
    form = Form.model_validate(
        {
            "round_id": 42,
            "conversation_key": "social-media",
            "conversation_title": "Social Media",
            "deadline": DEADLINE_ISO,
            "questions": [question(kind)],
        }
    )
    (field,) = [s for s in build_view(form).sections if isinstance(s, Field)]
    assert field.widget == present_question(kind).widget
    modal = render_form_modal(form)
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == [field.question_id]
    (card,) = render_activity_attachments(form)
    (submit,) = card["actions"]
    assert submit["data"]["v"] == {field.question_id: kind_code(kind)}
    assert parse_submit(submit["data"]) == ("form", 42, {field.question_id: None})


def test_type_names_and_codes_are_distinct() -> None:
    assert len({present_question(k).name for k in QuestionType}) == len(QuestionType)
    assert len({kind_code(k) for k in QuestionType}) == len(QuestionType)


# ---------------------------------------------------------------- buttons


def test_every_action_has_a_distinct_label_and_every_platform_reads_it() -> None:
    labels = [button(a, 1, question_id="q", number=1).label for a in Action]
    assert all(labels) and len(set(labels)) == len(labels)
    names = [present_action(a).name for a in Action]
    assert all(names) and len(set(names)) == len(names)
    assert {a.value for a in Action} <= ACTION_NAMES
    assert {a.value for a in Action} <= ACTIONS


def shown_buttons() -> dict[Action, tuple[OutboundMessage, Button]]:
    """Each action's first button on a prompt, a waiting prompt or a summary."""
    waiting = prompt(QuestionType.TEXT).model_copy(update={"waiting_for": "Social Liability"})
    summary = Summary(
        round_id=42,
        conversation_key="social-media",
        conversation_title="Social Media",
        deadline=prompt(QuestionType.TEXT).deadline,
        done=False,
        editable=True,
        items=(SummaryItem(question_id="q7", question="Why?", answer="Because"),),
    )
    found: dict[Action, tuple[OutboundMessage, Button]] = {}
    for message in (prompt(QuestionType.TEXT), waiting, summary):
        view = build_view(message)
        buttons = [b for s in view.sections if isinstance(s, Actions) for b in s.buttons]
        buttons += [
            f.button for s in view.sections if isinstance(s, Facts) for f in s.rows if f.button
        ]
        for b in buttons:
            found.setdefault(b.action, (message, b))
    return found


def test_every_action_is_shown_somewhere() -> None:
    assert set(shown_buttons()) == set(Action)


def slack_elements(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for block in (b for p in payloads for b in p["blocks"]):
        out += block.get("elements", []) if block["type"] == "actions" else []
        out += [block["accessory"]] if "accessory" in block else []
    return out


def teams_submits(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") == "Action.Submit" else []
        return own + [s for v in node.values() for s in teams_submits(v)]
    if isinstance(node, list):
        return [s for v in node for s in teams_submits(v)]
    return []


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
async def test_a_button_says_and_carries_the_same_on_every_platform(
    action: Action, client: TestClient, engine: EchoEngine
) -> None:
    message, shown = shown_buttons()[action]
    carries = present_action(action).carries
    # Skip question names the prompt's question; Edit the summary's answer (q7).
    carried = {"duration": DEFAULT_SNOOZE, "nothing": None, "question": "q-text"}
    assert shown.wire_value == carried.get(carries, "q7")
    expected = (action.value, 42, shown.wire_value)
    # Slack: the button, pressed.
    (element, *_) = [
        e for e in slack_elements(render_message(message)) if e["action_id"] == f"strategy:{action}"
    ]
    assert element["text"]["text"] == shown.label
    press = {"type": "button", "action_id": element["action_id"], "value": element["value"]}
    assert parse_action(press, None) == expected
    # Teams: the Action.Submit, submitted.
    (submit, *_) = [
        s
        for s in teams_submits(render_activity_attachments(message))
        if s["data"]["strategy"] == action
    ]
    assert submit["title"] == shown.label
    assert parse_submit(submit["data"]) == expected
    # The console: what the page posts for the button (its value and question id).
    payload: dict[str, Any] = {"as": "console:maria", "action": action.value, "round_id": 42}
    if shown.value is not None:
        payload["value"] = shown.value
    if shown.question_id is not None:
        payload["question_id"] = shown.question_id
    resp = await client.post("/console/api/action", json=payload)
    assert resp.status == 200, await resp.text()
    event = engine.events[-1]
    assert isinstance(event, ActionPressed)
    assert (event.action, event.value, event.question_id) == (
        action,
        shown.value,
        shown.question_id,
    )


# ---------------------------------------------------------------- the type checker


def test_a_new_enum_member_fails_the_type_check(tmp_path: Path) -> None:
    """Add a question type and an action to a copy of the code: mypy names every table."""
    shutil.copytree(ROOT / "bot", tmp_path / "bot")
    shutil.copytree(ROOT / "storage", tmp_path / "storage")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    checked = [
        "bot/presentation",
        "bot/flows",
        "bot/adapters/teams/cards.py",
        "bot/adapters/slack/render.py",
    ]

    def mypy() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter, our own arguments
            [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".cache"), *checked],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    assert mypy().returncode == 0  # the copy is clean as it is
    model = tmp_path / "bot/playbook/model.py"
    new_type = '    YES_NO = "yes_no"\n    SCALE = "scale"\n'
    model.write_text(model.read_text().replace('    YES_NO = "yes_no"\n', new_type))
    events = tmp_path / "bot/flows/events.py"
    new_action = '    PAUSE = "pause"\n    EDIT = "edit"'
    events.write_text(events.read_text().replace('    EDIT = "edit"', new_action))
    result = mypy()
    assert result.returncode == 1
    errors = re.findall(ASSERT_NEVER, result.stdout, re.MULTILINE)
    assert set(errors) == {
        ("bot/presentation/vocabulary.py", "QuestionType", "SCALE"),  # present_question, ...
        ("bot/presentation/vocabulary.py", "Action", "PAUSE"),  # present_action, ...
        ("bot/adapters/teams/cards.py", "QuestionType", "SCALE"),  # kind_code
        ("bot/flows/answers.py", "QuestionType", "SCALE"),  # kind_of: read, show, roll up
        ("bot/flows/participation.py", "Action", "PAUSE"),  # button: what a click does
    }, result.stdout
    # 3 question-type tables shown, 2 action tables shown, 1 Teams code, the engine's 2.
    assert len(errors) == 8, result.stdout

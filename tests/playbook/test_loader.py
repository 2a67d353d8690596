"""The playbook loader: the default playbook, and one clear, located message per problem."""

from __future__ import annotations

import io
import re
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import PlaybookError
from bot.playbook.check import run_check
from bot.playbook.loader import DEFAULT_PLAYBOOK, MAX_BYTES, load_playbook, load_playbook_text
from bot.playbook.model import Conversation, QuestionType

SIX = (
    "social-media",
    "social-networking",
    "social-support",
    "social-innovation",
    "social-technologies",
    "social-liability",
)

# A small valid playbook; the cases below each break one line of it.
VALID = textwrap.dedent(
    """\
    cio_channel: "console:#cio"
    roles:
      cio: ["console:cio"]
      admins: ["console:admin"]
    groups:
      it:
        title: IT leaders
        members:
          - id: "console:ian"
            name: Ian (IT)
            timezone: Europe/Berlin
      hr:
        title: HR leaders
    conversations:
      - key: social-technologies
        title: Social Technologies
        purpose: Platforms and tools.
        groups: [it, hr]
        cadence: "every 2 weeks on tue at 10:00 Europe/Berlin"
        response_window: 3d
        reminders: [1d]
        questions:
          - id: hearing
            text: What are you hearing?
          - id: pick
            text: Which one?
            type: single_choice
            options: [One, Two]
          - id: rate
            text: How mature?
            type: rating
            labels: {1: Low, 5: High}
    """
)


def _problems(text: str, source: str = "playbook.yml") -> list[str]:
    with pytest.raises(PlaybookError) as info:
        load_playbook_text(text, source)
    assert info.value.problems, "a PlaybookError must carry at least one problem"
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def _replace(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


# --- the default playbook ------------------------------------------------------------------


def test_default_playbook_has_the_six_conversations() -> None:
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    assert tuple(c.key for c in playbook.conversations) == SIX
    assert playbook.cio_channel == "console:#cio"
    assert "console:cio" in playbook.roles.cio
    assert {"console:admin", "console:cio"} <= set(playbook.roles.admins)
    for required in ("marketing-pr-sales", "hr", "support", "rnd", "it", "legal-security"):
        assert required in playbook.groups


@pytest.mark.parametrize("key", SIX)
def test_each_default_conversation_listens_and_rates_maturity(key: str) -> None:
    conv = load_playbook(DEFAULT_PLAYBOOK).conversation(key)
    assert conv is not None
    assert 4 <= len(conv.questions) <= 8
    assert any("hearing" in q.text.lower() for q in conv.questions), "no listening question"
    # Social Liability rates governance, which says nothing about social maturity.
    expected = 0 if key == "social-liability" else 1
    for side in ("internal", "external"):
        rated = [q for q in conv.questions if q.maturity == side]
        assert len(rated) == expected, f"{key} needs {expected} {side} maturity rating(s)"
        assert all(r.type is QuestionType.RATING and {1, 5} <= set(r.labels) for r in rated)
    measures = [q for q in conv.questions if q.type is QuestionType.NUMBER]
    assert measures and all(m.unit for m in measures), f"{key} needs a measure with a unit"
    assert conv.reminders and all(r < conv.response_window for r in conv.reminders)


def test_default_playbook_mixes_question_types_and_marks_liability_anonymous() -> None:
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    types = {q.type for c in playbook.conversations for q in c.questions}
    assert types == set(QuestionType)
    assert any(not q.required for c in playbook.conversations for q in c.questions)
    anonymous = [c.key for c in playbook.conversations if c.anonymous]
    assert anonymous == ["social-liability"]
    for c in playbook.conversations:
        for q in c.questions:
            if q.type is QuestionType.RATING:
                assert {1, 5} <= set(q.labels), f"{c.key}.{q.id} lacks end labels"
        members = playbook.members_of(c)
        assert members, f"{c.key} has nobody to ask"
    assert len({c.cadence for c in playbook.conversations}) > 1


def test_conversation_survives_a_json_round_trip() -> None:
    """Storage keeps each conversation as JSON and validates it again later."""
    conv = load_playbook(DEFAULT_PLAYBOOK).conversations[0]
    dumped = conv.model_dump(mode="json")
    assert isinstance(dumped["response_window"], str)
    assert Conversation.model_validate(dumped) == conv


def test_valid_fixture_loads() -> None:
    playbook = load_playbook_text(VALID, "playbook.yml")
    conv = playbook.conversations[0]
    assert conv.response_window == timedelta(days=3)
    assert conv.questions[2].labels == {1: "Low", 5: "High"}


# --- problems: each names file, line, field and what was wrong ----------------------------

CASES = [
    pytest.param(
        _replace("type: single_choice", "type: ratin"),
        "playbook.yml:27: conversations[0].questions[1].type: Input should be 'text', 'rating'",
        "(got 'ratin')",
        id="unknown-question-type",
    ),
    pytest.param(
        _replace("groups: [it, hr]", "groups: [it, finance]"),
        "playbook.yml:18: conversations[0].groups:",
        "unknown group(s) finance",
        id="unknown-group",
    ),
    pytest.param(
        _replace("id: pick", "id: hearing"),
        "playbook.yml:15: conversations[0]:",
        "question ids must be unique; repeated: hearing",
        id="duplicate-question-id",
    ),
    pytest.param(
        _replace("labels: {1: Low, 5: High}", "labels: {1: Low, 9: High}"),
        "playbook.yml:29: conversations[0].questions[2]:",
        "rating labels are for 1 to 5, not [9]",
        id="rating-label-9",
    ),
    pytest.param(
        _replace("options: [One, Two]", "options: [One]"),
        "playbook.yml:25: conversations[0].questions[1]:",
        "a single_choice question needs at least two options",
        id="choice-with-one-option",
    ),
    pytest.param(
        _replace('- id: "console:ian"', "- id: bob"),
        "playbook.yml:9: groups.it.members[0].id:",
        "(got 'bob')",
        id="bad-member-identity",
    ),
    pytest.param(
        _replace('cio: ["console:cio"]', "cio: [bob]"),
        "playbook.yml:3: roles.cio[0]:",
        "'bob' is not a platform:id identity",
        id="bad-role-identity",
    ),
    pytest.param(
        _replace("timezone: Europe/Berlin", "timezone: Mars/Olympus"),
        "playbook.yml:11: groups.it.members[0].timezone:",
        "unknown timezone 'Mars/Olympus'",
        id="unknown-timezone",
    ),
    pytest.param(
        _replace("reminders: [1d]", "reminders: [4d]"),
        "playbook.yml:15: conversations[0]:",
        "must be shorter than the response window",
        id="reminder-longer-than-window",
    ),
    pytest.param(
        _replace("response_window: 3d", "response_window: 3 parsecs"),
        "playbook.yml:20: conversations[0].response_window:",
        "'3 parsecs' is not a duration",
        id="bad-duration",
    ),
    pytest.param(
        _replace("response_window: 3d", "response_window: 3"),
        "playbook.yml:20: conversations[0].response_window:",
        "is not a duration",
        id="bare-number-is-not-seconds",
    ),
    pytest.param(
        _replace(
            'cadence: "every 2 weeks on tue at 10:00 Europe/Berlin"', "cadence: every blue moon"
        ),
        "playbook.yml:19: conversations[0].cadence:",
        "(got 'every blue moon')",
        id="bad-cadence",
    ),
    pytest.param(
        _replace("  hr:\n", "  Human_Resources:\n"),
        "playbook.yml:12: groups.Human_Resources: key",
        "(got 'Human_Resources')",
        id="bad-group-key",
    ),
    pytest.param(
        _replace("    purpose: Platforms and tools.\n", ""),
        "playbook.yml:15: conversations[0].purpose:",
        "Field required",
        id="missing-field-falls-back-to-parent-line",
    ),
    pytest.param(
        _replace("    title: HR leaders\n", "    title: HR leaders\n    colour: blue\n"),
        "playbook.yml:14: groups.hr.colour:",
        "Extra inputs are not permitted",
        id="unknown-field",
    ),
    pytest.param(
        _replace(
            "    title: Social Technologies\n", "    title: Social Technologies\n    title: Again\n"
        ),
        "playbook.yml:17: conversations[0]: duplicate key 'title' (first at line 16",
        "",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        _replace("  hr:\n    title: HR leaders\n", "  it:\n    title: HR leaders\n").replace(
            "groups: [it, hr]", "groups: [it]"
        ),
        "playbook.yml:12: groups: duplicate key 'it' (first at line 6",
        "",
        id="duplicate-group-key",
    ),
    pytest.param(
        _replace("groups: [it, hr]", "groups: [it, hr"),
        "playbook.yml:19: YAML syntax error: while parsing a flow sequence",
        "(started at line 18)",
        id="yaml-syntax-error",
    ),
    pytest.param(
        VALID + "extra: !!python/object/apply:os.system [echo hi]\n",
        "playbook.yml:33: YAML syntax error:",
        "could not determine a constructor",
        id="unsafe-tag-refused",
    ),
    pytest.param(
        "- cio_channel: console:#cio\n",
        "playbook.yml:1: the top level must be a mapping",
        "(got a list)",
        id="top-level-list",
    ),
    pytest.param(
        "just words\n",
        "playbook.yml:1: the top level must be a mapping",
        "",
        id="top-level-scalar",
    ),
    pytest.param("", "playbook.yml:1: the file is empty", "", id="empty-file"),
    pytest.param("# only a comment\n", "playbook.yml:1: the file is empty", "", id="comment-only"),
    pytest.param(
        VALID + "---\nsecond: document\n",
        "playbook.yml:",
        "single document",
        id="two-documents",
    ),
]


@pytest.mark.parametrize(("text", "prefix", "fragment"), CASES)
def test_problem_is_located_and_explained(text: str, prefix: str, fragment: str) -> None:
    problems = _problems(text)
    matching = [p for p in problems if p.startswith(prefix) and fragment in p]
    assert matching, f"no problem starting {prefix!r} containing {fragment!r} in {problems}"


def test_every_problem_is_reported_at_once() -> None:
    text = _replace("type: single_choice", "type: ratin").replace(
        "timezone: Europe/Berlin", "timezone: Mars/Olympus"
    )
    problems = _problems(text)
    assert len(problems) == 2
    assert all(re.match(r"^playbook\.yml:\d+: \S", p) for p in problems)


def test_failing_items_do_not_add_a_too_short_problem() -> None:
    problems = _problems(_replace("- key: social-technologies", "- key: Social"))
    assert len(problems) == 1, problems
    assert problems[0].startswith("playbook.yml:15: conversations[0].key:")


def test_text_over_the_size_limit_is_refused() -> None:
    problems = _problems(VALID + "#" * MAX_BYTES)
    assert "at most 1,048,576 bytes" in problems[0]


def test_alias_expansion_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    problems = _problems("\n".join(lines) + "\n")
    assert "aliases are expanded" in problems[0]


# --- files ---------------------------------------------------------------------------------


def test_load_playbook_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "playbook.yml"
    path.write_text(VALID, encoding="utf-8")
    assert load_playbook(path).conversations[0].key == "social-technologies"


def test_problems_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yml"
    path.write_text(_replace("type: single_choice", "type: ratin"), encoding="utf-8")
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    assert info.value.problems[0].startswith(f"{path}:27: conversations[0].questions[1].type:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as info:
        load_playbook(tmp_path / "nope.yml")
    assert info.value.problems == [
        f"{tmp_path / 'nope.yml'}: no such file (set PLAYBOOK_PATH or pass an existing file)"
    ]


def test_directory_is_not_a_playbook(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="is a directory"):
        load_playbook(tmp_path)


def test_file_over_one_megabyte(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text(VALID + "#" * MAX_BYTES, encoding="utf-8")
    with pytest.raises(PlaybookError, match="may be at most 1,048,576 bytes"):
        load_playbook(path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(VALID.encode() + b"# caf\xe9\n")
    with pytest.raises(PlaybookError, match=r"latin1\.yml:33: not UTF-8"):
        load_playbook(path)


# --- run_check -----------------------------------------------------------------------------


def test_run_check_default_playbook() -> None:
    out = io.StringIO()
    assert run_check(None, out) == 0
    assert out.getvalue() == (
        f"OK: {DEFAULT_PLAYBOOK}: 6 conversations, 9 groups, 18 members, 47 questions\n"
    )


def test_run_check_counts_each_member_once(tmp_path: Path) -> None:
    path = tmp_path / "ok.yml"
    path.write_text(
        _replace(
            "  hr:\n    title: HR leaders\n",
            '  hr:\n    title: HR leaders\n    members: [{id: "console:ian", name: Ian}]\n',
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    assert run_check(path, out) == 0
    assert out.getvalue() == f"OK: {path}: 1 conversations, 2 groups, 1 members, 3 questions\n"


def test_run_check_prints_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        _replace("type: single_choice", "type: ratin").replace(
            'cio: ["console:cio"]', "cio: [bob]"
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    assert run_check(path, out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{path}:3: roles.cio[0]:")
    assert lines[1].startswith(f"{path}:27: conversations[0].questions[1].type:")
    assert lines[-1] == f"{path}: 2 problems"


def test_run_check_missing_file(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_check(tmp_path / "nope.yml", out) == 1
    assert "no such file" in out.getvalue()

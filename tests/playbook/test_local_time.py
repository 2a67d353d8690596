"""`local_time` in a playbook conversation: accepted forms, and located, explained problems."""

from __future__ import annotations

from datetime import time

import pytest

from bot.errors import PlaybookError
from bot.playbook.loader import load_playbook_text
from bot.playbook.model import Conversation
from tests.playbook.test_loader import VALID

REMINDERS = "    reminders: [1d]\n"  # line 21 of VALID; `local_time` goes on line 22


def _with_local_time(value: str) -> str:
    assert VALID.count(REMINDERS) == 1
    return VALID.replace(REMINDERS, f"{REMINDERS}    local_time: {value}\n")


def _problems(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as info:
        load_playbook_text(text, "playbook.yml")
    return info.value.problems


@pytest.mark.parametrize(
    ("written", "kept", "at"),
    [
        ('"09:30"', "09:30", time(9, 30)),
        ("09:30", "09:30", time(9, 30)),  # YAML reads a leading zero as text
        ('"9:30"', "09:30", time(9, 30)),
        ('"00:00"', "00:00", time(0, 0)),
        ('"23:59"', "23:59", time(23, 59)),
    ],
)
def test_a_time_of_day_loads_normalised(written: str, kept: str, at: time) -> None:
    conv = load_playbook_text(_with_local_time(written), "playbook.yml").conversations[0]
    assert conv.local_time == kept
    assert conv.local_time_of_day() == at
    assert Conversation.model_validate(conv.model_dump(mode="json")) == conv


def test_without_local_time_prompts_go_out_as_the_round_opens() -> None:
    conv = load_playbook_text(VALID, "playbook.yml").conversations[0]
    assert conv.local_time is None and conv.local_time_of_day() is None


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ('"25:00"', 'must be a time of day "HH:MM" on the 24-hour clock'),
        ('"9h30"', "(got '9h30')"),
        ('"09:30:00"', 'from "00:00" to "23:59"'),
        ('"09:60"', "24-hour clock"),
        ('""', "24-hour clock"),
        # Unquoted, YAML 1.1 reads 10:00 as the base-60 number 600: say so.
        (
            "10:00",
            'put the time in quotes, local_time: "10:00"; unquoted, YAML reads 10:00'
            " as the number 600",
        ),
        ("9:30", 'local_time: "09:30"; unquoted, YAML reads 9:30 as the number 570'),
        ("true", 'must be a time of day in quotes, e.g. local_time: "09:30" (got True)'),
        ("[09:30]", "must be a time of day in quotes"),
    ],
)
def test_a_bad_local_time_is_located_and_explained(written: str, fragment: str) -> None:
    problems = _problems(_with_local_time(written))
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.startswith("playbook.yml:22: conversations[0].local_time: "), problem
    assert fragment in problem, problem

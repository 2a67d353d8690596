"""`retention:` in the playbook: per conversation and a default, checked against the window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import PlaybookError
from bot.playbook.durations import parse_retention, retention_cutoff
from bot.playbook.loader import load_playbook_text
from tests.playbook.test_loader import VALID


def test_forms_are_normalised() -> None:
    assert parse_retention("24 months") == "24 months"
    assert parse_retention("2 years") == "24 months"
    assert parse_retention("1 month") == "1 month"
    assert parse_retention("90d") == "12w 6d"
    with pytest.raises(ValueError, match="is not a retention; use forms like 24 months"):
        parse_retention("forever")


def test_a_month_steps_back_by_the_calendar() -> None:
    now = datetime(2027, 3, 31, 3, 30, tzinfo=UTC)
    assert retention_cutoff("1 month", now) == datetime(2027, 2, 28, 3, 30, tzinfo=UTC)
    assert retention_cutoff("24 months", now) == datetime(2025, 3, 31, 3, 30, tzinfo=UTC)
    assert retention_cutoff("1w", now) == datetime(2027, 3, 24, 3, 30, tzinfo=UTC)


def test_conversation_and_default_retention_load() -> None:
    text = VALID.replace("reminders: [1d]\n", "reminders: [1d]\n    retention: 2 years\n")
    playbook = load_playbook_text(text + "retention: 6 months\n", "playbook.yml")
    assert playbook.retention_of("social-technologies") == "24 months"
    assert playbook.retention == "6 months"
    assert load_playbook_text(VALID, "playbook.yml").retention_of("social-technologies") is None


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            VALID.replace("reminders: [1d]\n", "reminders: [1d]\n    retention: 2d\n"),
            "playbook.yml:22: conversations[0].retention:",
        ),
        (VALID + "retention: 1d\n", "playbook.yml:33: retention:"),
    ],
    ids=["conversation", "default"],
)
def test_a_retention_shorter_than_the_window_is_an_error_with_its_line(
    text: str, where: str
) -> None:
    with pytest.raises(PlaybookError) as info:
        load_playbook_text(text, "playbook.yml")
    (problem,) = info.value.problems
    assert problem.startswith(where), problem
    assert "shorter than the response window (3d)" in problem

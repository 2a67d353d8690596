"""Every question type has its row: how an answer is read, shown and rolled up.

Adding a member to `QuestionType` without a row fails mypy (`kind_of` ends in
`assert_never`); these tests check that each row reads, shows and rolls up its own
answers, so a new row cannot silently behave like another type.
"""

import re

import pytest

from bot.flows.answers import InvalidAnswer, display_value, kind_of, parse_answer
from bot.playbook.model import Question, QuestionType

QUESTIONS = {
    QuestionType.TEXT: Question(id="heard", text="What are you hearing?"),
    QuestionType.RATING: Question(
        id="reach", text="How far do we reach?", type="rating", labels={1: "low", 5: "high"}
    ),
    QuestionType.SINGLE_CHOICE: Question(
        id="channel", text="Which channel?", type="single_choice", options=("Blogs", "Wiki")
    ),
    QuestionType.MULTIPLE_CHOICE: Question(
        id="tools", text="Which tools?", type="multiple_choice", options=("Blogs", "Wiki")
    ),
    QuestionType.YES_NO: Question(id="pilot", text="Pilot it?", type="yes_no"),
    QuestionType.NUMBER: Question(
        id="deflection", text="Share answered by the community?", type="number", unit="%"
    ),
}
# (raw answer, stored value, as shown, how the digest sums it up) per type
EXPECTED = {
    QuestionType.TEXT: ("  R&D forums  ", "R&D forums", "R&D forums", "texts"),
    QuestionType.RATING: ("4", 4, "4/5", "rating"),
    QuestionType.SINGLE_CHOICE: ("2", "Wiki", "Wiki", "choices"),
    QuestionType.MULTIPLE_CHOICE: ("wiki, blogs", ["Blogs", "Wiki"], "Blogs, Wiki", "choices"),
    QuestionType.YES_NO: ("yes", True, "Yes", "choices"),
    QuestionType.NUMBER: ("12.5 %", 12.5, "12.5%", "numbers"),
}


def test_every_question_type_has_a_row_and_an_example() -> None:
    assert set(QUESTIONS) == set(QuestionType) == set(EXPECTED)


@pytest.mark.parametrize("question_type", list(QuestionType))
def test_each_type_reads_shows_and_rolls_up_its_answers(question_type: QuestionType) -> None:
    question = QUESTIONS[question_type]
    raw, stored, shown, rollup = EXPECTED[question_type]
    value = parse_answer(question, raw)
    assert value == stored
    assert display_value(question, value) == shown
    assert kind_of(question_type).rollup == rollup


@pytest.mark.parametrize(
    ("question_type", "raw", "says"),
    [
        (QuestionType.RATING, "9", "outside the scale"),
        (QuestionType.RATING, "lots", "a whole number from 1 (low) to 5 (high)"),
        (QuestionType.SINGLE_CHOICE, "Blgs", "Did you mean “Blogs”?"),
        (QuestionType.MULTIPLE_CHOICE, ",", "choose at least one"),
        (QuestionType.YES_NO, "maybe", "yes or no"),
        (QuestionType.NUMBER, "about a third", "a number (in %)"),
        (QuestionType.NUMBER, "1e400", "a number (in %)"),
    ],
)
def test_each_type_refuses_what_it_cannot_read(
    question_type: QuestionType, raw: str, says: str
) -> None:
    with pytest.raises(InvalidAnswer, match=re.escape(says)):
        parse_answer(QUESTIONS[question_type], raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("42", 42), ("1,200", 1200), ("3,5", 3.5), ("-2", -2), ("12%", 12), (7, 7), (2.25, 2.25)],
)
def test_a_figure_is_read_as_people_type_it(raw: object, stored: float) -> None:
    assert parse_answer(QUESTIONS[QuestionType.NUMBER], raw) == stored


def test_unit_and_target_belong_to_number_questions_only() -> None:
    with pytest.raises(ValueError, match="only to number questions"):
        Question(id="reach", text="How far do we reach?", type="rating", unit="%")

"""Reading an answer: from chat text or a form value to the stored value, or a re-prompt.

Every rejection says exactly what is expected ("a whole number from 1 (...) to 5 (...)"),
because a stakeholder answering on a phone between meetings should not have to guess.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, assert_never

from bot import messages
from bot.playbook.model import Question, QuestionType

MAX_ANSWER_CHARS = 4000
MAX_NUMBER = 1e12  # a measure beyond this is a typo, not a figure
_YES = {"yes", "y", "true", "yep", "yeah", "oui", "ja", "si", "1"}
_NO = {"no", "n", "false", "nope", "non", "nein", "0"}


class InvalidAnswer(ValueError):
    """The answer does not fit the question; the message is shown as the re-prompt note."""


def clean_text(text: str) -> str:
    """Strip control characters (keeping newlines and tabs) and outer whitespace.

    Right-to-left text and emoji are kept as typed; only invisible controls (NUL, ESC,
    bidi overrides that could disguise a digest line) are removed.
    """
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t" or (cat not in ("Cc", "Cs") and ch not in "\u202a\u202b\u202d\u202e"):
            kept.append(ch)
    return "".join(kept).strip()


def parse_answer(question: Question, raw: object) -> Any:
    """Turn a raw answer into the stored value.

    Args:
        question: the question being answered.
        raw: chat text (str), or a form value (str, list of str, bool, int or None).

    Returns:
        str for text and single choice, int for rating, list[str] for multiple choice,
        bool for yes/no, or None for an empty optional answer.

    Raises:
        InvalidAnswer: with the sentence to show the stakeholder.
    """
    if raw is None or (isinstance(raw, str) and not clean_text(raw)) or raw == []:
        if question.required:
            raise InvalidAnswer(messages.ANSWER_NEEDED)
        return None
    return kind_of(question.type).parse(question, raw)


@dataclass(frozen=True)
class Kind:
    """What a question type means to the engine: how an answer is read, shown, rolled up.

    Attributes:
        parse: a non-empty raw answer to the stored value (raises `InvalidAnswer`).
        display: a stored value as a person reads it, in summaries.
        rollup: how the digest sums the answers up: a mean and distribution (`rating`),
            counts per option (`choices`, yes/no included), a median and range
            (`numbers`), or the texts themselves.
    """

    parse: Callable[[Question, object], Any]
    display: Callable[[Question, Any], str]
    rollup: Literal["rating", "choices", "texts", "numbers"]


def kind_of(question_type: QuestionType) -> Kind:
    """The table row of a question type; a new type fails the type check here until added.

    The presentation of each type (its input in a prompt or a form) has its own table in
    `bot.presentation`; `docs/architecture.md` lists every place a new type needs.
    """
    match question_type:
        case QuestionType.TEXT:
            return _TEXT
        case QuestionType.RATING:
            return _RATING
        case QuestionType.SINGLE_CHOICE:
            return _SINGLE
        case QuestionType.MULTIPLE_CHOICE:
            return _MULTIPLE
        case QuestionType.YES_NO:
            return _YES_NO
        case QuestionType.NUMBER:
            return _NUMBER
        case _:
            assert_never(question_type)


def _text(question: Question, raw: object) -> str:
    text = clean_text(str(raw))
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidAnswer(messages.answer_too_long(len(text), MAX_ANSWER_CHARS))
    return text


def _yes_no(question: Question, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    word = clean_text(str(raw)).lower().rstrip(".!")
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise InvalidAnswer(messages.ANSWER_YES_NO)


def _single(question: Question, raw: object) -> str:
    return _choice(question, clean_text(str(raw)))


_NUMBER_RE = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")


def _number(question: Question, raw: object) -> float | int:
    """A figure: "42", "42.5", "1,200", "12 %", "3.5 hours" (the unit may be typed)."""
    if isinstance(raw, bool):
        raise InvalidAnswer(messages.answer_number(question.unit))
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = clean_text(str(raw)).lower()
        unit = (question.unit or "").lower()
        if unit and text.endswith(unit):
            text = text[: -len(unit)].strip()
        text = text.replace(" ", "").replace("\u202f", "")
        if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")  # thousands separators: 1,200.5
        if not _NUMBER_RE.match(text):
            raise InvalidAnswer(messages.answer_number(question.unit))
        value = float(text.replace(",", "."))
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise InvalidAnswer(messages.answer_number(question.unit))
    return int(value) if value.is_integer() else round(value, 4)


def _show_number(question: Question, value: Any) -> str:
    return messages.figure(float(value), question.unit)


def _multiple(question: Question, raw: object) -> list[str]:
    items = raw if isinstance(raw, list) else [p for p in str(raw).split(",")]
    chosen = {_choice(question, clean_text(str(i))) for i in items if clean_text(str(i))}
    if not chosen:
        raise InvalidAnswer(messages.ANSWER_CHOOSE_ONE)
    return [o for o in question.options if o in chosen]


def _rating(question: Question, raw: object) -> int:
    expected = messages.rating_expected(question.labels.get(1), question.labels.get(5))
    if isinstance(raw, bool):
        raise InvalidAnswer(messages.answer_rating(expected))
    if isinstance(raw, int):
        value = raw
    else:
        text = clean_text(str(raw)).lower().removesuffix("/5").strip()
        by_label = {v.casefold(): k for k, v in question.labels.items()}
        if text.casefold() in by_label:
            return by_label[text.casefold()]
        if not text.isdigit():
            raise InvalidAnswer(messages.answer_rating(expected))
        value = int(text)
    if not 1 <= value <= 5:
        raise InvalidAnswer(messages.answer_off_scale(value, expected))
    return value


def _choice(question: Question, text: str) -> str:
    options = list(question.options)
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    for option in options:
        if option.casefold() == text.casefold():
            return option
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.6)
    raise InvalidAnswer(messages.not_an_option(text[:60], close[0] if close else None, options))


def display_value(question: Question, value: Any) -> str:
    """An answer as text, for summaries."""
    if value is None:
        return messages.NO_ANSWER
    return kind_of(question.type).display(question, value)


def _show_rating(question: Question, value: Any) -> str:
    label = question.labels.get(int(value))
    return f"{value}/5" + (f" ({label})" if label else "")


def _show_yes_no(question: Question, value: Any) -> str:
    return messages.YES if value else messages.NO


def _show_text(question: Question, value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


_TEXT = Kind(parse=_text, display=_show_text, rollup="texts")
_RATING = Kind(parse=_rating, display=_show_rating, rollup="rating")
_SINGLE = Kind(parse=_single, display=_show_text, rollup="choices")
_MULTIPLE = Kind(parse=_multiple, display=_show_text, rollup="choices")
_YES_NO = Kind(parse=_yes_no, display=_show_yes_no, rollup="choices")
_NUMBER = Kind(parse=_number, display=_show_number, rollup="numbers")

"""Reading an answer: from chat text or a form value to the stored value, or a re-prompt.

Every rejection says exactly what is expected ("a whole number from 1 (...) to 5 (...)"),
because a stakeholder answering on a phone between meetings should not have to guess.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import Any

from bot.playbook.model import Question, QuestionType

MAX_ANSWER_CHARS = 4000
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
            raise InvalidAnswer("This question needs an answer.")
        return None
    kind = question.type
    if kind is QuestionType.TEXT:
        text = clean_text(str(raw))
        if len(text) > MAX_ANSWER_CHARS:
            raise InvalidAnswer(
                f"That answer is {len(text):,} characters long; please keep it under"
                f" {MAX_ANSWER_CHARS:,} (a summary is fine, link to a document for detail)."
            )
        return text
    if kind is QuestionType.RATING:
        return _rating(question, raw)
    if kind is QuestionType.YES_NO:
        if isinstance(raw, bool):
            return raw
        word = clean_text(str(raw)).lower().rstrip(".!")
        if word in _YES:
            return True
        if word in _NO:
            return False
        raise InvalidAnswer("Please answer yes or no.")
    if kind is QuestionType.SINGLE_CHOICE:
        return _choice(question, clean_text(str(raw)))
    # multiple choice
    items = raw if isinstance(raw, list) else [p for p in str(raw).split(",")]
    chosen = {_choice(question, clean_text(str(i))) for i in items if clean_text(str(i))}
    if not chosen:
        raise InvalidAnswer("Please choose at least one option.")
    return [o for o in question.options if o in chosen]


def _rating(question: Question, raw: object) -> int:
    low = question.labels.get(1)
    high = question.labels.get(5)
    expected = (
        f"a whole number from 1{f' ({low})' if low else ''} to 5{f' ({high})' if high else ''}"
    )
    if isinstance(raw, bool):
        raise InvalidAnswer(f"Please answer with {expected}.")
    if isinstance(raw, int):
        value = raw
    else:
        text = clean_text(str(raw)).lower().removesuffix("/5").strip()
        by_label = {v.casefold(): k for k, v in question.labels.items()}
        if text.casefold() in by_label:
            return by_label[text.casefold()]
        if not text.isdigit():
            raise InvalidAnswer(f"Please answer with {expected}.")
        value = int(text)
    if not 1 <= value <= 5:
        raise InvalidAnswer(f"{value} is outside the scale; please answer with {expected}.")
    return value


def _choice(question: Question, text: str) -> str:
    options = list(question.options)
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    for option in options:
        if option.casefold() == text.casefold():
            return option
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.6)
    hint = f" Did you mean “{close[0]}”?" if close else ""
    listed = "; ".join(f"{i}. {o}" for i, o in enumerate(options, 1))
    raise InvalidAnswer(f"“{text[:60]}” isn't one of the options.{hint} Choose: {listed}")


def display_value(question: Question, value: Any) -> str:
    """An answer as text, for summaries."""
    if value is None:
        return "(no answer)"
    if question.type is QuestionType.RATING:
        label = question.labels.get(int(value))
        return f"{value}/5" + (f" ({label})" if label else "")
    if question.type is QuestionType.YES_NO:
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)

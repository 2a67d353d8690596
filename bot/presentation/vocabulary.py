"""One table per vocabulary: how each question type is answered, what each button says.

Each table is a `match` over its enum (`bot.playbook.model.QuestionType`,
`bot.flows.events.Action`) ending in `assert_never`, so a member added to the enum and not
to the table fails `mypy` here, once, instead of falling through differently on each
platform (`tests/presentation/test_vocabulary.py` also renders every member on every
platform). The platforms read these tables through the sections they are given and never
list question types or button labels themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, assert_never

from bot import messages
from bot.flows.events import DEFAULT_SNOOZE, Action
from bot.flows.outbound import Prompt, QuestionView
from bot.playbook.model import QuestionType
from bot.presentation.sections import Button, Option, Widget

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- question types


@dataclass(frozen=True)
class QuestionPresentation:
    """How one question type is shown and answered.

    Attributes:
        widget: the kind of control.
        name: the type as a digest names it ("rating 1-5").
        hint: said next to the control ("Reply in this chat to answer.").
        placeholder: shown in an empty control that has one.
        choose_first: said when Send is pressed with nothing chosen.
    """

    widget: Widget
    name: str
    hint: str | None = None
    placeholder: str | None = None
    choose_first: str | None = None


def present_question(kind: QuestionType) -> QuestionPresentation:
    """The presentation of a question type.

    Args:
        kind: the question type.

    Returns:
        Its widget, name, hint and placeholder.
    """
    match kind:
        case QuestionType.TEXT:
            return QuestionPresentation(
                "text", messages.TYPE_TEXT, messages.REPLY_HINT, messages.TEXT_PLACEHOLDER
            )
        case QuestionType.RATING:
            return QuestionPresentation(
                "scale", messages.TYPE_RATING, placeholder=messages.RATING_PLACEHOLDER
            )
        case QuestionType.SINGLE_CHOICE:
            return QuestionPresentation(
                "one", messages.TYPE_SINGLE_CHOICE, placeholder=messages.CHOICE_PLACEHOLDER
            )
        case QuestionType.MULTIPLE_CHOICE:
            return QuestionPresentation(
                "many",
                messages.TYPE_MULTIPLE_CHOICE,
                placeholder=messages.CHOICES_PLACEHOLDER,
                choose_first=messages.TICK_FIRST,
            )
        case QuestionType.YES_NO:
            return QuestionPresentation("one", messages.TYPE_YES_NO)
        case QuestionType.NUMBER:
            return QuestionPresentation(
                "number",
                messages.TYPE_NUMBER,
                messages.REPLY_NUMBER_HINT,
                messages.NUMBER_PLACEHOLDER,
            )
        case _:
            assert_never(kind)


def options_of(question: QuestionView) -> tuple[Option, ...]:
    """The ways to answer a question (none for a text question).

    Args:
        question: the question as shown.

    Returns:
        Its options, numbered from 1: a rating's five scores with their labels, yes and
        no, or the question's own options.
    """
    kind = QuestionType(question.type)
    match kind:
        case QuestionType.TEXT | QuestionType.NUMBER:
            return ()
        case QuestionType.RATING:
            return tuple(
                Option(
                    number=n,
                    label=messages.option_label(str(n), question.labels.get(n)),
                    short=str(n),
                    caption=question.labels.get(n),
                    answer=str(n),
                )
                for n in range(1, 6)
            )
        case QuestionType.YES_NO:
            return (
                Option(
                    number=1, label=messages.YES, short=messages.YES, caption=None, answer="yes"
                ),
                Option(number=2, label=messages.NO, short=messages.NO, caption=None, answer="no"),
            )
        case QuestionType.SINGLE_CHOICE | QuestionType.MULTIPLE_CHOICE:
            return tuple(
                Option(number=i, label=o, short=o, caption=None, answer=o)
                for i, o in enumerate(question.options, 1)
            )
        case _:
            assert_never(kind)


def choice_label(kind: QuestionType, counted: str) -> str:
    """How a digest labels one counted answer of a choice question ("yes" is "Yes")."""
    if kind is QuestionType.YES_NO:
        return {"yes": messages.YES, "no": messages.NO}.get(counted, counted)
    return counted


def selected_options(question: QuestionView, value: object) -> tuple[int, ...]:
    """The option numbers an engine value (a form's current answer) picks.

    Args:
        question: the question.
        value: what the engine holds: an int or digit (rating), a bool (yes/no), an
            option's text or a list of them (choices).

    Returns:
        The numbers of the options it picks; () for none, or a value that fits none.
    """
    if value is None:
        return ()
    kind = QuestionType(question.type)
    match kind:
        case QuestionType.TEXT | QuestionType.NUMBER:
            return ()
        case QuestionType.RATING:
            if isinstance(value, bool) or str(value) not in {"1", "2", "3", "4", "5"}:
                return ()
            return (int(str(value)),)
        case QuestionType.YES_NO:
            return (1,) if value is True else (2,) if value is False else ()
        case QuestionType.SINGLE_CHOICE | QuestionType.MULTIPLE_CHOICE:
            picked = value if isinstance(value, list) else [value]
            texts = [str(p) for p in picked]
            return tuple(i for i, o in enumerate(question.options, 1) if o in texts)
        case _:
            assert_never(kind)


# ---------------------------------------------------------------- buttons

# What a button carries to the engine (`bot.flows.events.ActionPressed`).
Carries = Literal["nothing", "duration", "question", "question_as_value"]


@dataclass(frozen=True)
class ActionPresentation:
    """How one action's button looks and what it carries.

    Attributes:
        name: what the button does ("Snooze"), as a transcript echoes a press.
        label: the button's text ("Snooze 2h").
        numbered: the text of a button for one answer of several, by its number
            ("Edit answer 2").
        primary: the button is the view's main action when it comes first.
        carries: "duration" (the default snooze, as `value`), "question" (the question
            it was shown with, as `question_id`), "question_as_value" (as `value`: Edit),
            or "nothing".
    """

    name: str
    label: str
    primary: bool
    carries: Carries
    numbered: Callable[[int], str] | None = None


def present_action(action: Action) -> ActionPresentation:
    """The presentation of a button.

    Args:
        action: the action.

    Returns:
        Its name, label, whether it may be primary, and what it carries.
    """
    match action:
        case Action.ANSWER_ALL:
            return ActionPresentation(
                messages.ACTION_ANSWER_ALL, messages.ACTION_ANSWER_ALL, True, "nothing"
            )
        case Action.ANSWER_NOW:
            return ActionPresentation(
                messages.ACTION_ANSWER_NOW, messages.ACTION_ANSWER_NOW, True, "nothing"
            )
        case Action.SKIP_QUESTION:
            return ActionPresentation(
                messages.ACTION_SKIP_QUESTION, messages.ACTION_SKIP_QUESTION, False, "question"
            )
        case Action.SKIP_ROUND:
            return ActionPresentation(
                messages.ACTION_SKIP_ROUND, messages.ACTION_SKIP_ROUND, False, "nothing"
            )
        case Action.SNOOZE:
            return ActionPresentation(
                messages.ACTION_SNOOZE, messages.snooze_button(DEFAULT_SNOOZE), False, "duration"
            )
        case Action.REVIEW:
            return ActionPresentation(
                messages.ACTION_REVIEW, messages.ACTION_REVIEW, False, "nothing"
            )
        case Action.EDIT:
            return ActionPresentation(
                messages.ACTION_EDIT,
                messages.ACTION_EDIT,
                False,
                "question_as_value",
                numbered=messages.edit_button,
            )
        case _:
            assert_never(action)


def button(
    action: Action,
    round_id: int,
    *,
    question_id: str | None = None,
    number: int | None = None,
    primary: bool = False,
) -> Button:
    """A button for `action`, carrying what the table says it carries.

    Args:
        action: the action.
        round_id: the round it was shown with.
        question_id: the question it was shown with (Skip question, Edit).
        number: the answer's number (Edit's label).
        primary: show it as the main action.

    Returns:
        The button.
    """
    spec = present_action(action)
    label = spec.numbered(number) if spec.numbered and number is not None else spec.label
    value: str | None = None
    question: str | None = None
    match spec.carries:
        case "duration":
            value = DEFAULT_SNOOZE
        case "question":
            question = question_id
        case "question_as_value":
            value = question_id
        case "nothing":
            pass
        case _:
            assert_never(spec.carries)
    return Button(
        label=label,
        action=action,
        round_id=round_id,
        value=value,
        question_id=question,
        primary=primary,
    )


def shown_on_prompt(action: Action, prompt: Prompt) -> bool:
    """Whether a prompt shows an action's button, given what it shows.

    A waiting prompt (`Prompt.waiting_for`) shows no question, so nothing that acts on
    one; Answer now only switches to a waiting round; a required question cannot be
    skipped; Edit belongs to summaries.
    """
    waiting = prompt.waiting_for is not None
    match action:
        case Action.ANSWER_ALL | Action.SKIP_ROUND | Action.SNOOZE | Action.REVIEW:
            return True
        case Action.ANSWER_NOW:
            return waiting
        case Action.SKIP_QUESTION:
            return not waiting and not prompt.question.required
        case Action.EDIT:
            return False
        case _:
            assert_never(action)


def prompt_buttons(prompt: Prompt) -> tuple[Button, ...]:
    """The buttons of a prompt or a waiting prompt, in the order the engine lists them.

    The first button that may be primary is (Answer all in a form on a prompt, Answer
    now on a waiting one). Names the engine lists that are not actions are left out.

    Args:
        prompt: the prompt.

    Returns:
        Its buttons.
    """
    buttons: list[Button] = []
    have_primary = False
    for action in _actions(prompt.actions):
        if not shown_on_prompt(action, prompt):
            continue
        primary = present_action(action).primary and not have_primary
        have_primary = have_primary or primary
        buttons.append(
            button(action, prompt.round_id, question_id=prompt.question.id, primary=primary)
        )
    return tuple(buttons)


def _actions(names: Iterable[str]) -> list[Action]:
    known = []
    for name in names:
        try:
            known.append(Action(name))
        except ValueError:
            logger.warning("prompt lists %r, which is not an action; no button for it", name)
    return known

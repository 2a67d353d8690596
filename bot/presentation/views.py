"""Builders: each outbound message kind becomes a `View` of sections, once for every platform.

`build_view` is the one entry point the platform layouts call. The wording comes from
`bot.messages`, question types and buttons from `bot.presentation.vocabulary`, figures
from `bot.presentation.figures`; the digest, the largest view, is built in
`bot.presentation.digest`.
"""

from __future__ import annotations

from typing import assert_never

from bot import messages
from bot.flows.events import Action
from bot.flows.outbound import (
    ConsistencyMessage,
    DigestMessage,
    FileReply,
    Form,
    Heard,
    History,
    Notice,
    OutboundMessage,
    Prompt,
    QuestionView,
    Summary,
    SummaryItem,
)
from bot.playbook.model import QuestionType
from bot.presentation.digest import digest_view, heard_view, history_view
from bot.presentation.listening import consistency_view
from bot.presentation.sections import (
    Actions,
    Badge,
    Badges,
    Context,
    Fact,
    Facts,
    Field,
    Heading,
    Inputs,
    Moment,
    Paragraph,
    Section,
    Span,
    Submit,
    Text,
    View,
)
from bot.presentation.text import fill
from bot.presentation.vocabulary import (
    button,
    options_of,
    present_question,
    prompt_buttons,
    selected_options,
)


def build_view(message: OutboundMessage) -> View:
    """The sections every platform shows for a message.

    Args:
        message: any outbound message.

    Returns:
        Its view.
    """
    if isinstance(message, Notice):
        return notice_view(message)
    if isinstance(message, Prompt):
        return prompt_view(message)
    if isinstance(message, Form):
        return form_view(message)
    if isinstance(message, Summary):
        return summary_view(message)
    if isinstance(message, DigestMessage):
        return digest_view(message.digest)
    if isinstance(message, History):
        return history_view(message)
    if isinstance(message, Heard):
        return heard_view(message)
    if isinstance(message, ConsistencyMessage):
        return consistency_view(message)
    if isinstance(message, FileReply):
        return file_view(message)
    assert_never(message)


# ---------------------------------------------------------------- files


def file_view(reply: FileReply) -> View:
    """An export's file: its title, what it holds, its name and until when it is handed out.

    The file itself is the platform's: Slack uploads it with its title and lines, Teams
    asks to save it with a consent card, the console shows this view with a download link
    under it (`data` names the file).
    """
    sections: list[Section] = [Heading(text=reply.title, level=3, role="file-title")]
    sections.extend(Paragraph(text=(Span(text=line),), role="file-line") for line in reply.lines)
    sections.append(
        Context(parts=((Span(text=reply.filename, style="strong"),),), role="file-name")
    )
    # Where the file is fetched later (the console's link): until when it is handed out.
    sections.append(
        Paragraph(
            text=(Span(text=messages.export_valid_until(reply.expires_at), style="subtle"),),
            role="file-valid",
        )
    )
    return View(
        kind="file",
        sections=tuple(sections),
        fallback=" ".join([reply.title, *reply.lines]),
        data={
            "token": reply.token,
            "filename": reply.filename,
            "media_type": reply.media_type,
            "for": reply.requested_by,
            "download": messages.EXPORT_DOWNLOAD,
        },
    )


# ---------------------------------------------------------------- notices


def notice_view(notice: Notice) -> View:
    """A notice: an optional title and lines, coloured by its level."""
    sections: list[Section] = []
    if notice.title:
        sections.append(Heading(text=notice.title, level=3, role="notice-title"))
    tone = None if notice.level == "info" else notice.level
    for n, line in enumerate(notice.lines):
        first = n == 0
        sections.append(
            Paragraph(text=(Span(text=line),), tone=tone if first else None, role="notice-line")
        )
    fallback = " ".join([notice.title or "", *notice.lines]).strip() or messages.BOT_NAME
    return View(
        kind="notice",
        sections=tuple(sections),
        fallback=fallback,
        tone=notice.level,
        data={"level": notice.level},
    )


# ---------------------------------------------------------------- prompts


def prompt_view(prompt: Prompt) -> View:
    """A prompt: the round, its question and how to answer it, and its buttons.

    A waiting prompt (`Prompt.waiting_for`) names the round and why it waits, with its
    buttons, and shows no question a reply could be mistaken for.
    """
    q = prompt.question
    sections: list[Section] = [
        Heading(text=prompt.conversation_title, role="conversation-name"),
        Context(
            parts=(
                (Span(text=messages.round_label(prompt.round_number), role="round-number"),),
                fill(messages.CLOSES, when=Moment(at=prompt.deadline)),
            ),
            role="round",
        ),
    ]
    badges = []
    if prompt.opening:
        badges.append(Badge(text=messages.BADGE_NEW_ROUND, tone="info", role="opening-badge"))
    if prompt.reminder:
        badges.append(Badge(text=messages.BADGE_REMINDER, tone="warning", role="reminder-badge"))
    if badges:
        sections.append(Badges(items=tuple(badges)))
    if prompt.purpose and (prompt.opening or prompt.reminder):
        sections.append(Paragraph(text=(Span(text=prompt.purpose),), role="purpose"))
    if prompt.note:
        sections.append(
            Paragraph(text=(Span(text=prompt.note),), tone="warning", role="prompt-note")
        )
    buttons = prompt_buttons(prompt)
    data = {"round-id": str(prompt.round_id), "question-id": q.id}
    if prompt.waiting_for is not None:
        waiting = messages.waiting_for(prompt.waiting_for)
        sections.append(Paragraph(text=(Span(text=waiting),), tone="info", role="waiting-note"))
        sections.append(Actions(buttons=buttons, role="prompt-actions"))
        fallback = messages.waiting_fallback(prompt.conversation_title, prompt.round_number)
        return View(kind="prompt", sections=tuple(sections), fallback=fallback, data=data)
    sections += _question(q)
    sections.append(_inputs(prompt.round_id, q))
    if buttons:
        sections.append(Actions(buttons=buttons, role="prompt-actions"))
    fallback = messages.prompt_fallback(prompt.conversation_title, q.index, q.total, q.text)
    return View(kind="prompt", sections=tuple(sections), fallback=fallback, data=data)


def _question(q: QuestionView) -> list[Section]:
    shown: list[Section] = [
        Context(
            parts=((Span(text=messages.question_position(q.index, q.total, q.required)),),),
            role="question-index",
        ),
        Paragraph(text=(Span(text=q.text, style="strong"),), role="question-text"),
    ]
    if q.help:
        shown.append(Context(parts=((Span(text=q.help),),), role="help"))
    if q.confidential is not None:
        told = messages.confidential_answer(q.confidential)
        shown.append(Context(parts=((Span(text=told),),), role="confidential"))
    return shown


def _help(q: QuestionView) -> str | None:
    """A form field's hint: the question's own, then who will read the answer if confidential."""
    told = messages.confidential_answer(q.confidential) if q.confidential is not None else None
    return " ".join(h for h in (q.help, told) if h) or None


def _inputs(round_id: int, q: QuestionView) -> Inputs:
    kind = QuestionType(q.type)
    how = present_question(kind)
    return Inputs(
        round_id=round_id,
        question_id=q.id,
        question_type=kind,
        widget=how.widget,
        options=options_of(q),
        hint=how.hint,
        placeholder=how.placeholder,
        submit=messages.SEND,
        choose_first=how.choose_first,
    )


# ---------------------------------------------------------------- forms


def _prefill_text(kind: QuestionType, value: object) -> str | None:
    """A typed answer's current value, as its input holds it (text, or a figure)."""
    if kind is QuestionType.TEXT and isinstance(value, str):
        return value
    if kind is QuestionType.NUMBER and isinstance(value, int | float):
        return f"{value:g}"
    return None


def form_view(form: Form) -> View:
    """A form: every question of the round, with the answers given so far and errors."""
    sections: list[Section] = [
        Heading(text=form.conversation_title, role="conversation-name"),
        Context(parts=(fill(messages.ROUND_CLOSES, when=Moment(at=form.deadline)),), role="round"),
        Context(parts=((Span(text=messages.FORM_INTRO),),), role="form-intro"),
    ]
    for q in form.questions:
        kind = QuestionType(q.type)
        how = present_question(kind)
        value = form.values.get(q.id)
        sections.append(
            Field(
                question_id=q.id,
                question_type=kind,
                widget=how.widget,
                label=f"{q.index}. {q.text}",
                required=q.required,
                required_message=messages.ANSWER_REQUIRED,
                options=options_of(q),
                placeholder=how.placeholder,
                help=_help(q),
                error=form.errors.get(q.id),
                text=_prefill_text(kind, value),
                selected=selected_options(q, value),
            )
        )
    sections.append(Submit(label=messages.SUBMIT_ANSWERS, round_id=form.round_id))
    return View(
        kind="form",
        sections=tuple(sections),
        fallback=messages.form_fallback(form.conversation_title),
        data={"round-id": str(form.round_id)},
    )


# ---------------------------------------------------------------- summaries


def summary_view(summary: Summary) -> View:
    """A participant's answers in a round, each with an Edit button while editable."""
    status = (
        Badge(text=messages.SUMMARY_DONE, tone="success", role="summary-status")
        if summary.done
        else Badge(text=messages.SUMMARY_IN_PROGRESS, tone="info", role="summary-status")
    )
    sections: list[Section] = [
        Heading(text=summary.conversation_title, role="conversation-name"),
        Context(
            parts=(fill(messages.ROUND_CLOSES, when=Moment(at=summary.deadline)),), role="round"
        ),
        Badges(items=(status,)),
    ]
    if summary.items:
        rows = tuple(_answer(summary, item, n) for n, item in enumerate(summary.items, start=1))
        sections.append(Facts(rows=rows, role="answers"))
    else:
        sections.append(
            Paragraph(text=(Span(text=messages.NO_ANSWERS_YET, style="subtle"),), role="hint")
        )
    if summary.editable:
        sections.append(Context(parts=((Span(text=messages.CAN_EDIT),),), role="hint"))
    return View(
        kind="summary",
        sections=tuple(sections),
        fallback=messages.summary_fallback(summary.conversation_title, summary.done),
        data={"round-id": str(summary.round_id)},
    )


def _answer(summary: Summary, item: SummaryItem, number: int) -> Fact:
    value: Text
    if item.skipped:
        value = (Span(text=messages.SKIPPED, style="subtle"),)
    elif item.answer is None:
        value = (Span(text=messages.NO_ANSWER, style="subtle"),)
    else:
        value = (Span(text=item.answer),)
    edit = (
        button(Action.EDIT, summary.round_id, question_id=item.question_id, number=number)
        if summary.editable
        else None
    )
    return Fact(
        label=f"{number}. {item.question}",
        value=value,
        quoted=not item.skipped and item.answer is not None,
        button=edit,
        role="summary-item",
        data={"question-id": item.question_id},
    )

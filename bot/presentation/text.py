"""Filling sentence templates with styled parts, and the plain-text layout of a view.

`fill` keeps each sentence whole in `bot.messages` ("Social maturity: {stage}{change}")
while the builder decides how each part is shown (the stage strong, a moment in the
reader's time zone), so the wording can be reviewed and translated as sentences.

`lines` lays a view out as plain text for logs and terminals, the lowest common
denominator of the platforms: a line per section part, bars of block characters, moments
in UTC, every line folded onto one line and stakeholders' long text cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import assert_never

from bot.presentation.figures import text_bar
from bot.presentation.sections import (
    Actions,
    Badges,
    Bars,
    Chart,
    Context,
    Details,
    Divider,
    Facts,
    Field,
    Group,
    Heading,
    Inline,
    Inputs,
    Moment,
    Paragraph,
    Quote,
    Section,
    Span,
    Submit,
    Table,
    Text,
    View,
    linear_row,
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_TEXT_LIMIT = 300


def fill(template: str, **parts: str | Inline | Text) -> Text:
    """A sentence template with its `{name}` placeholders replaced by styled parts.

    Args:
        template: a sentence from `bot.messages`, e.g. "closes {when}".
        **parts: what each placeholder stands for: a plain string, a span, a moment or
            several of them.

    Returns:
        The sentence as inline text.

    Raises:
        KeyError: the template names a part that was not given.
    """
    out: list[Inline] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > at:
            out.append(Span(text=template[at : match.start()]))
        part = parts[match.group(1)]
        if isinstance(part, str):
            if part:
                out.append(Span(text=part))
        elif isinstance(part, Span | Moment):
            out.append(part)
        else:
            out.extend(part)
        at = match.end()
    if at < len(template):
        out.append(Span(text=template[at:]))
    return tuple(out)


def when(moment: datetime) -> str:
    """A moment as plain text shows it: UTC, to the minute."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def inline(text: Text) -> str:
    """Inline text as plain words, moments in UTC, each part folded onto one line."""
    return _fold("".join(i.text if isinstance(i, Span) else when(i.at) for i in text))


def lines(view: View) -> list[str]:
    """Lay a view out as plain-text lines (no line contains a newline).

    Args:
        view: the view.

    Returns:
        Its lines, in order.
    """
    return list(_lines(view.sections))


def _lines(sections: Iterable[Section]) -> Iterable[str]:
    for section in sections:
        yield from _section(section)


def _section(section: Section) -> Iterable[str]:
    if isinstance(section, Heading):
        yield f"== {_fold(section.text)} ==" if section.level == 2 else _fold(section.text)
    elif isinstance(section, Context):
        yield " · ".join(inline(part) for part in section.parts)
    elif isinstance(section, Badges):
        yield " · ".join(f"[{_fold(b.text)}]" for b in section.items)
    elif isinstance(section, Paragraph):
        yield inline(section.text)
    elif isinstance(section, Bars):
        width = max((len(_fold(r.label)) for r in section.rows), default=0)
        for row in section.rows:
            bar = text_bar(row.part, row.whole)
            figures = f"{bar} {inline(row.value)}".strip()
            yield f"  {_fold(row.label).ljust(width)}  {figures}"
            if row.note:
                yield f"    {inline(row.note)}"
    elif isinstance(section, Quote):
        who = f" — {_fold(section.who)}" if section.who else ""
        yield f"  “{_fold(section.text)}”{who}"
    elif isinstance(section, Facts):
        for fact in section.rows:
            button = f"  [{fact.button.label}]" if fact.button else ""
            yield f"{_fold(fact.label)}: {inline(fact.value)}{button}"
    elif isinstance(section, Actions):
        yield " ".join(f"[{b.label}]" for b in section.buttons)
    elif isinstance(section, Inputs):
        if section.hint:
            yield section.hint
        if section.options:
            yield "  " + "  ".join(f"({_fold(o.label)})" for o in section.options)
    elif isinstance(section, Field):
        yield _fold(section.label) + (" *" if section.required else "")
        if section.options:
            yield "  " + "  ".join(f"({_fold(o.label)})" for o in section.options)
    elif isinstance(section, Submit):
        yield f"[{section.label}]"
    elif isinstance(section, Divider):
        yield ""
    elif isinstance(section, Group):
        if section.separator:
            yield ""
        yield from _lines(section.sections)
    elif isinstance(section, Chart):
        yield _fold(section.title)  # plain text draws no chart: its figures in words
        for described in section.described:
            yield f"  {inline(described)}"
    elif isinstance(section, Table):
        for table_row in section.rows:
            yield "  " + " · ".join(inline(p) for p in linear_row(section, table_row))
    elif isinstance(section, Details):
        yield ""
        yield f"-- {_fold(section.label)} --"
        yield from _lines(section.sections)
    else:
        assert_never(section)


def _fold(text: str) -> str:
    folded = " ".join(text.split())
    return folded if len(folded) <= _TEXT_LIMIT else folded[: _TEXT_LIMIT - 1] + "…"

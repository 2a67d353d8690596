"""Adaptive Cards for Microsoft Teams: views laid out as cards, and card submits read back.

Why a module of pure functions: the engine's outbound models (`bot.flows.outbound`) are
platform-neutral and `bot.presentation` turns each into a `View` of sections, worded once
for every platform; the Teams adapter only needs dicts to attach to activities. Keeping
the layout free of botbuilder means every card is unit-tested as JSON, the same way the
console and Slack lay out the very same views.

What Teams adds in the layout: headings and notes are TextBlocks with weight and colour,
a group is a Container with a separator, bars and answers are FactSets, a question's
input is an `Input.Text` or `Input.ChoiceSet` with its own Send, buttons are the card's
actions, and a moment uses the cards' `{{DATE()}}`/`{{TIME()}}` functions so each reader
sees their own time zone.

Decisions, and why:

* Schema 1.5 (`Action.Submit.associatedInputs`, input `label`/`isRequired`/`errorMessage`).
  Every `Action.Submit.data` is `{"strategy": <action>, "r": <round id>, "v": <value>}`;
  Teams merges the card's input values into that object by input id, so the one prompt
  input is `answer` and form inputs are `q:<question id>`, which cannot collide with the
  three fixed keys.
* A prompt's Send carries the id of the question it shows (`v`), and so does Skip
  question, so a click on an older card acts on that question (the engine's
  `AnswerGiven`), or on nothing if it was answered meanwhile, never on whichever one is
  current by the time it is pressed. Cards posted before Send carried it have `v` null;
  their Send answers the current question, as it did then.
* Choice values are option *numbers* ("1", "2", ...): Teams joins a multi-select's values
  with commas, so an option text containing a comma would not survive the round trip.
  The engine accepts option numbers as answers, and `parse_submit` maps them back to
  option text when given the questions.
* Yes/no is an `Input.ChoiceSet` (Yes/No, values "true"/"false"), not an `Input.Toggle`:
  a toggle has no "not answered" state, so an untouched optional question would be stored
  as "No" and a required one could never be missing. The values are the strings a Toggle
  would send, so `parse_submit` treats both alike.
* A form's `v` is `{question id: kind letter}` (`kind_code`), so `parse_submit` can type
  the values (list for multiple choice, bool for yes/no) without loading the agenda.
* Size: Teams rejects large messages (Workflows/webhooks document about 28 KB, bots a
  larger limit), so a view is packed into cards of at most `CARD_BUDGET` bytes of JSON
  (measured with ASCII escapes, the worst case), each continuation card re-stating its
  heading and every card numbered ("part 2 of 3"). A form cannot be split (one Submit
  collects one card's inputs); its prefilled text values are what could make it large,
  and they are bounded by the engine's answer limit.
* User text is escaped (`markdown.escape`) so it cannot fake a date function, a mention,
  a link or formatting.
* Charts are Teams' chart elements (Microsoft's "Charts in Adaptive Cards", card 1.5):
  `Chart.Line` for figures over rounds, `Chart.VerticalBar.Grouped` (with its values
  shown) for bars and for the maturity map, each conversation's internal and external
  means side by side. Each has a `fallback`, a Container with the chart's title and its
  figures in words, for a client that cannot draw charts. Their strings are plain text.
* Tables are `Table` elements (1.5), the column titles as their first row, at most
  `TABLE_ROWS` rows each so that a long one (fifty rounds) spreads over cards, each part
  with its titles. No fallback: Teams draws tables on every client, and a fallback would
  double the bytes of the largest element the summary has.
* Details (what follows the one-screen summary) sit behind an `Action.ToggleVisibility`
  on the same card when they are at most `TOGGLE_BUDGET` bytes; larger ones follow in
  cards of their own, headed by their label, so the first card stays one screen and no
  card passes `CARD_BUDGET`. A toggle and what it shows are one element, so packing can
  never put them on different cards; their ids are numbered per card.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, assert_never

from bot import messages
from bot.adapters.teams.markdown import clip, escape, plain
from bot.flows.answers import MAX_ANSWER_CHARS
from bot.flows.events import Action, check_round_id
from bot.flows.outbound import OutboundMessage, QuestionView, Summary
from bot.playbook.model import QuestionType
from bot.presentation import build_view
from bot.presentation.figures import text_bar
from bot.presentation.sections import (
    Actions,
    Badges,
    Bar,
    Bars,
    Button,
    Chart,
    Context,
    Details,
    Divider,
    Fact,
    Facts,
    Field,
    Group,
    Heading,
    Inputs,
    Moment,
    Option,
    Paragraph,
    Quote,
    Section,
    Span,
    Submit,
    Table,
    Text,
    Tone,
    View,
)

__all__ = [
    "ACTIONS",
    "CARD_BUDGET",
    "CardAnswer",
    "attachment",
    "card_size",
    "kind_code",
    "layout_view",
    "parse_submit",
    "render_activity_attachments",
    "render_readonly_summary",
    "text_bar",
]

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SUBMIT_KIND = "strategy"
CARD_BUDGET = 25_000
ANSWER_INPUT = "answer"
FORM_PREFIX = "q:"
# A prompt's Send ("answer"), a form's submit ("form"), and every button's action.
ACTIONS = frozenset({"answer", "form", *(a.value for a in Action)})
READONLY_ANSWER_CHARS = 500
# Details at most this large (bytes of JSON) sit behind a toggle on the card they belong
# to; larger ones follow in cards of their own, so that no card passes `CARD_BUDGET`.
TOGGLE_BUDGET = 8_000
TOGGLE_ID = "details"
TABLE_ROWS = 10  # rows per Table element, so that a long table spreads over cards
CHART_TYPES = {
    "line": "Chart.Line",
    "bars": "Chart.VerticalBar.Grouped",
    "map": "Chart.VerticalBar.Grouped",
}
# A marker among body blocks: what follows starts a new card (large details).
_NEW_CARD: Element = {"type": "strategy.newCard"}
DIGEST_TEXT_CHARS = MAX_ANSWER_CHARS

_TONE_COLOR: dict[Tone, str | None] = {
    "info": None,
    "success": "Good",
    "warning": "Warning",
    "error": "Attention",
}

Element = dict[str, Any]


def kind_code(kind: QuestionType) -> str:
    """The letter a form's submit data names a question type by (in its `v`)."""
    match kind:
        case QuestionType.TEXT:
            return "t"
        case QuestionType.RATING:
            return "r"
        case QuestionType.SINGLE_CHOICE:
            return "s"
        case QuestionType.MULTIPLE_CHOICE:
            return "m"
        case QuestionType.YES_NO:
            return "b"
        case QuestionType.NUMBER:
            return "n"
        case _:
            assert_never(kind)


_CODE_KINDS = {kind_code(k): k.value for k in QuestionType}


@dataclass(frozen=True)
class CardAnswer:
    """What a prompt card's Send submitted.

    Attributes:
        question_id: the question the card showed; None on cards from before Send
            carried it (the answer then goes to the current question).
        text: the input's value as Teams sent it (a multi-select comma-joined), or None
            when the input was left empty.
    """

    question_id: str | None
    text: str | None


# ---------------------------------------------------------------- building blocks


def _card(body: list[Element], actions: list[Element] | None = None) -> Element:
    card: Element = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def card_size(card: Mapping[str, Any]) -> int:
    r"""Bytes of a card's JSON as measured against `CARD_BUDGET`.

    Args:
        card: the card.

    Returns:
        Length of its compact JSON with non-ASCII characters as `\u` escapes (the largest
        way any serializer could send it).
    """
    return len(json.dumps(card, separators=(",", ":"), ensure_ascii=True))


def _text(
    text: str,
    *,
    weight: str | None = None,
    size: str | None = None,
    color: str | None = None,
    subtle: bool = False,
    spacing: str | None = None,
) -> Element:
    """A wrapping TextBlock; `text` must already be Markdown-safe."""
    block: Element = {"type": "TextBlock", "text": text or " ", "wrap": True}
    if weight:
        block["weight"] = weight
    if size:
        block["size"] = size
    if color:
        block["color"] = color
    if subtle:
        block["isSubtle"] = True
    if spacing:
        block["spacing"] = spacing
    return block


def _facts(pairs: Iterable[tuple[str, str]]) -> Element:
    """A FactSet; titles and values must already be Markdown-safe."""
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def _container(items: list[Element], *, separator: bool = False) -> Element:
    box: Element = {"type": "Container", "items": items}
    if separator:
        box["separator"] = True
        box["spacing"] = "Medium"
    return box


def _submit(
    title: str,
    action: str,
    round_id: int,
    value: object = None,
    *,
    inputs: bool = False,
    style: str | None = None,
) -> Element:
    """An Action.Submit carrying `{"strategy", "r", "v"}`."""
    submit: Element = {
        "type": "Action.Submit",
        "title": plain(title),
        "data": {SUBMIT_KIND: action, "r": round_id, "v": value},
        "associatedInputs": "auto" if inputs else "none",
    }
    if style:
        submit["style"] = style
    return submit


def _button(button: Button) -> Element:
    return _submit(button.label, button.action.value, button.round_id, button.wire_value)


def _date(when: datetime) -> str:
    """`{{DATE}} {{TIME}}` functions, which Teams renders in the reader's time zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def _md(text: Text, limit: int | None = None) -> str:
    """Inline text as escaped Markdown: strong is `**x**`, subtle `_x_`, a moment a date."""
    out = []
    for part in text:
        if isinstance(part, Moment):
            out.append(_date(part.at))
            continue
        raw = part.text if limit is None else clip(part.text, limit)
        words = raw.strip()
        if part.style == "plain" or not words:
            out.append(escape(raw))
            continue
        mark = "**" if part.style == "strong" else "_"
        lead = raw[: len(raw) - len(raw.lstrip())]
        trail = raw[len(raw.rstrip()) :]
        out.append(f"{lead}{mark}{escape(words)}{mark}{trail}")
    return "".join(out)


def _paragraph(text: Text, color: str | None = None, spacing: str | None = None) -> Element:
    """A TextBlock; text that is all strong (or all subtle) is a bold (subtle) block."""
    styles = {p.style for p in text if isinstance(p, Span) and p.text.strip()}
    if styles == {"strong"} or styles == {"subtle"}:
        flat = tuple(Span(text=p.text) if isinstance(p, Span) else p for p in text)
        if styles == {"strong"}:
            return _text(_md(flat), weight="Bolder", color=color, spacing=spacing)
        return _text(_md(flat), subtle=True, color=color, spacing=spacing)
    return _text(_md(text), color=color, spacing=spacing)


# ---------------------------------------------------------------- packing


def _pack(
    blocks: Sequence[Element],
    head: list[Element],
    continued: list[Element],
    actions: list[Element] | None = None,
) -> list[Element]:
    """Pack body blocks into as few cards as fit in `CARD_BUDGET` each.

    Args:
        blocks: body elements, in order; none is split.
        head: elements that open the first card.
        continued: elements that open every continuation card.
        actions: card-level actions, put on the last card.

    Returns:
        The cards. A block too large for any card on its own gets a card of its own
        (callers clip text so that this does not happen in practice).
    """
    overhead = card_size(_card([], actions)) + 64  # commas, and the "part n of m" numbering
    cards: list[list[Element]] = [list(head)]
    used = overhead + sum(card_size(b) + 1 for b in head)
    opening = len(head)  # elements on the current card that are not blocks
    for block in blocks:
        if block is _NEW_CARD:
            if len(cards[-1]) > opening:
                cards.append(copy.deepcopy(continued))
                opening = len(continued)
                used = overhead + sum(card_size(b) + 1 for b in continued)
            continue
        size = card_size(block) + 1
        if used + size > CARD_BUDGET and len(cards[-1]) > opening:
            cards.append(copy.deepcopy(continued))
            opening = len(continued)
            used = overhead + sum(card_size(b) + 1 for b in continued)
        cards[-1].append(block)
        used += size
    out = [_card(body or [_text(" ")]) for body in cards]
    for card in out:
        _number_toggles(card)
    if actions:
        out[-1]["actions"] = actions
    return out


def _number_toggles(card: Element) -> None:
    """Give each details toggle on a card its own element id (ids are unique per card)."""
    count = 0

    def visit(node: object) -> None:
        nonlocal count
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        items = node.get("items")
        if node.get("type") == "Container" and isinstance(items, list) and len(items) == 2:
            toggle, hidden = items
            if hidden.get("id") == TOGGLE_ID:
                count += 1
                hidden["id"] = f"{TOGGLE_ID}-{count}"
                toggle["actions"][0]["targetElements"] = [hidden["id"]]
        for value in node.values():
            visit(value)

    visit(card["body"])


# ---------------------------------------------------------------- layout


def render_activity_attachments(message: OutboundMessage) -> list[dict[str, Any]]:
    """Render an engine message as Adaptive Cards.

    Args:
        message: any outbound message.

    Returns:
        Card JSONs (schema 1.5): the first to post, the rest as continuation messages,
        each at most `CARD_BUDGET` bytes unless a single element is larger on its own.
        Wrap each with `attachment` to put it on an activity.
    """
    return layout_view(build_view(message))


def layout_view(view: View) -> list[Element]:
    """Lay a view out as Adaptive Cards (see `render_activity_attachments`)."""
    color = _TONE_COLOR[view.tone] if view.kind == "notice" and view.tone else None
    sections = list(view.sections)
    lead = 0
    while lead < len(sections) and isinstance(sections[lead], Heading | Context | Badges):
        lead += 1
    head = [e for s in sections[:lead] for e in _elements(s, color)]
    titles = [s for s in sections[:lead] if isinstance(s, Heading)]
    continued = (
        [_text(escape(f"{titles[0].text} {messages.CONTINUED}"), weight="Bolder", size="Medium")]
        if titles
        else []
    )
    blocks: list[Element] = []
    actions: list[Element] = []
    fields = [s for s in sections if isinstance(s, Field)]
    for section in sections[lead:]:
        if isinstance(section, Actions):
            actions += [_button(b) for b in section.buttons]
        elif isinstance(section, Submit):
            kinds = {f.question_id: kind_code(f.question_type) for f in fields}
            submit = _submit(section.label, "form", section.round_id, kinds, inputs=True)
            actions.append({**submit, "style": "positive"})
        else:
            blocks += _blocks(section, color)
    if not head and not blocks:
        blocks = [_text(" ")]
    cards = _pack(blocks, head, continued, actions)
    if len(cards) > 1:
        for n, card in enumerate(cards, 1):
            card["body"][0]["text"] += f" · {messages.part_of(n, len(cards))}"
    return cards


def _blocks(section: Section, color: str | None) -> list[Element]:
    """A section as body blocks, each of which may start a new card."""
    if isinstance(section, Group):
        return _group(section, color)
    if isinstance(section, Bars) and any(r.note for r in section.rows):
        return [_bar_with_note(r) for r in section.rows]
    if isinstance(section, Facts):
        return [_fact(f) for f in section.rows]
    if isinstance(section, Details):
        return _details(section, color, new_card=True)
    return _elements(section, color)


def _group(group: Group, color: str | None) -> list[Element]:
    """A group: its first run of small sections in a Container with a separator."""
    out: list[Element] = []
    bundle: list[Element] = []
    first = True

    def flush() -> None:
        nonlocal bundle, first
        if bundle:
            out.append(_container(bundle, separator=first))
            first = False
        bundle = []

    for child in group.sections:
        splits = isinstance(child, Group | Quote | Facts | Table | Details) or (
            isinstance(child, Bars) and any(r.note for r in child.rows)
        )
        if splits:
            flush()
            first = first and not out
            out += _blocks(child, color)
        else:
            bundle += _elements(child, color)
    flush()
    return out


def _elements(section: Section, color: str | None) -> list[Element]:  # one case per type
    if isinstance(section, Heading):
        size = "Medium" if section.level < 3 else None
        return [_text(escape(section.text), weight="Bolder", size=size, color=color)]
    if isinstance(section, Context):
        text = " · ".join(_md(p) for p in section.parts)
        return [_text(text, subtle=True, spacing="None")]
    if isinstance(section, Badges):
        tones = {b.tone for b in section.items}
        shade = "Good" if tones == {"success"} else "Accent"
        text = " · ".join(escape(b.text) for b in section.items)
        return [_text(text, weight="Bolder", color=shade, spacing="Small")]
    if isinstance(section, Paragraph):
        tint = _TONE_COLOR[section.tone] if section.tone else color
        return [_paragraph(section.text, tint)]
    if isinstance(section, Bars):
        rows = [(escape(r.label), _bar_value(r.part, r.whole, r.value)) for r in section.rows]
        return [_facts(rows)] if rows else []
    if isinstance(section, Quote):
        quote = f"“{escape(clip(section.text, DIGEST_TEXT_CHARS))}”"
        if section.who:
            quote += f" — {escape(section.who)}"
        return [_text(quote, spacing="Small")]
    if isinstance(section, Facts):
        return [_fact(f) for f in section.rows]
    if isinstance(section, Actions):
        return [{"type": "ActionSet", "actions": [_button(b) for b in section.buttons]}]
    if isinstance(section, Inputs):
        return _inputs(section)
    if isinstance(section, Field):
        return [_field(section)]
    if isinstance(section, Submit):
        return []  # a card-level action (`layout_view`)
    if isinstance(section, Divider):
        return []  # Containers carry the separators
    if isinstance(section, Group):
        return [e for e in _group(section, color) if e is not _NEW_CARD]
    if isinstance(section, Chart):
        return [_chart(section)]
    if isinstance(section, Table):
        return _tables(section)
    if isinstance(section, Details):
        return _details(section, color, new_card=False)
    assert_never(section)


def _chart(chart: Chart) -> Element:
    """A chart element (Teams' `Chart.Line`, `Chart.VerticalBar.Grouped`), with a fallback.

    Lines stay lines; bars and the maturity map (each conversation's internal and external
    means side by side) are grouped vertical bars showing their values. The fallback, for a
    client that cannot draw charts, is the chart's title and its figures in words. Chart
    strings are plain text (never Markdown), with angle brackets made harmless.
    """
    fallback = _container(
        [
            _text(f"**{escape(chart.title)}**", spacing="None"),
            *(_text(_md(d), spacing="None") for d in chart.described),
        ]
    )
    element: Element = {
        "type": CHART_TYPES[chart.kind],
        "title": plain(chart.title),
        "colorSet": "categorical",
        "data": [
            {
                "legend": plain(series.name),
                "values": [
                    {"x": plain(category), "y": round(value, 2)}
                    for category, value in zip(chart.categories, series.values, strict=True)
                ],
            }
            for series in chart.series
        ],
        "fallback": fallback,
    }
    if chart.x_label:
        element["xAxisTitle"] = plain(chart.x_label)
    if chart.y_label:
        element["yAxisTitle"] = plain(chart.y_label)
    if element["type"] == "Chart.VerticalBar.Grouped":
        element["showBarValues"] = True
    return element


def _tables(table: Table) -> list[Element]:
    """A table as Adaptive Card `Table` elements of at most `TABLE_ROWS` rows each.

    Each repeats the column titles, so that a long table (fifty rounds) can spread over
    cards without a row losing its heading. The first column (what the row is about) is
    twice as wide as the figures. A cell's second line is small and subtle.
    """
    columns = len(table.columns) or max((len(r.cells) for r in table.rows), default=1)
    header = {
        "type": "TableRow",
        "cells": [
            {"type": "TableCell", "items": [_text(escape(title), weight="Bolder")]}
            for title in table.columns
        ],
    }
    rows = [
        {
            "type": "TableRow",
            "cells": [
                {
                    "type": "TableCell",
                    "items": [
                        _text(_md(cell.text)),
                        *(
                            [_text(_md(cell.sub), subtle=True, size="Small", spacing="None")]
                            if cell.sub
                            else []
                        ),
                    ],
                }
                for cell in row.cells
            ],
        }
        for row in table.rows
    ]
    widths = [{"width": 2 if n == 0 else 1} for n in range(columns)]
    return [
        {
            "type": "Table",
            "columns": widths,
            "rows": [*([header] if table.columns else []), *rows[start : start + TABLE_ROWS]],
            "firstRowAsHeader": bool(table.columns),
            "showGridLines": False,
            "verticalCellContentAlignment": "Top",
        }
        for start in range(0, max(len(rows), 1), TABLE_ROWS)
    ]


def _details(details: Details, color: str | None, *, new_card: bool) -> list[Element]:
    """What follows a summary: behind a toggle when small, else in cards of its own.

    Small details (at most `TOGGLE_BUDGET` bytes) are a button that shows them, on the
    same card (Action.ToggleVisibility: the card stays one screen until it is pressed).
    Larger ones would push the card past Teams' size limit, so they follow the summary
    in further cards, headed by their label (`new_card`; inside a bundle they follow on).
    """
    blocks = [b for child in details.sections for b in _blocks(child, color)]
    inline = [b for b in blocks if b is not _NEW_CARD]
    if sum(card_size(b) + 1 for b in inline) <= TOGGLE_BUDGET:
        toggle = {
            "type": "Action.ToggleVisibility",
            "title": plain(details.label),
            "targetElements": [TOGGLE_ID],
        }
        hidden = {
            "type": "Container",
            "id": TOGGLE_ID,
            "isVisible": False,
            "items": inline or [_text(" ")],
        }
        return [_container([{"type": "ActionSet", "actions": [toggle]}, hidden], separator=True)]
    heading = _text(escape(details.label), weight="Bolder", size="Medium")
    return [*([_NEW_CARD] if new_card else []), heading, *(blocks if new_card else inline)]


def _bar_value(part: int, whole: int, value: Text) -> str:
    return f"{text_bar(part, whole)} {_md(value)}".strip()


def _bar_with_note(row: Bar) -> Element:
    items: list[Element] = [
        _facts([(escape(row.label), _bar_value(row.part, row.whole, row.value))])
    ]
    if row.note:
        items.append(_text(_md(row.note), subtle=True, spacing="None"))
    return _container(items)


def _fact(fact: Fact, limit: int = MAX_ANSWER_CHARS) -> Element:
    shown = _facts([(escape(clip(fact.label, limit)), _md(fact.value, limit))])
    if fact.button is None:
        return shown
    return _container([shown, {"type": "ActionSet", "actions": [_button(fact.button)]}])


# ---------------------------------------------------------------- inputs


def _choices(kind: QuestionType, options: Sequence[Option]) -> list[dict[str, str]]:
    """Choice titles and values: a rating's digits, "true"/"false", or option numbers."""
    if kind is QuestionType.RATING:
        return [{"title": plain(o.label), "value": o.answer} for o in options]
    if kind is QuestionType.YES_NO:
        return [
            {"title": plain(o.label), "value": "true" if o.answer == "yes" else "false"}
            for o in options
        ]
    return [{"title": plain(o.label), "value": str(o.number)} for o in options]


def _control(
    kind: QuestionType,
    widget: str,
    options: Sequence[Option],
    input_id: str,
    placeholder: str | None,
) -> Element:
    """The input for one question."""
    if widget == "number":
        number: Element = {"type": "Input.Number", "id": input_id}
        if placeholder:
            number["placeholder"] = plain(placeholder)
        return number
    if widget == "text":
        field: Element = {
            "type": "Input.Text",
            "id": input_id,
            "isMultiline": True,
            "maxLength": MAX_ANSWER_CHARS,
        }
        if placeholder:
            field["placeholder"] = plain(placeholder)
        return field
    field = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "choices": _choices(kind, options),
        "style": "compact" if widget == "scale" else "expanded",
    }
    if widget == "many":
        field["isMultiSelect"] = True
    if widget == "scale" and placeholder:
        field["placeholder"] = plain(placeholder)
    return field


def _inputs(inputs: Inputs) -> list[Element]:
    out: list[Element] = []
    if inputs.hint:
        out.append(_text(escape(inputs.hint), subtle=True, spacing="Small"))
    out.append(
        _control(
            inputs.question_type, inputs.widget, inputs.options, ANSWER_INPUT, inputs.placeholder
        )
    )
    send = _submit(
        inputs.submit, "answer", inputs.round_id, inputs.question_id, inputs=True, style="positive"
    )
    out.append({"type": "ActionSet", "actions": [send]})
    return out


def _field(field: Field) -> Element:
    control = _control(
        field.question_type,
        field.widget,
        field.options,
        FORM_PREFIX + field.question_id,
        field.placeholder,
    )
    control["label"] = plain(field.label)
    prefill = _prefill(field)
    if prefill is not None:
        control["value"] = prefill
    if field.required:
        control["isRequired"] = True
        control["errorMessage"] = plain(field.required_message)
    items: list[Element] = []
    if field.help:
        items.append(_text(escape(field.help), subtle=True))
    items.append(control)
    if field.error:
        items.append(_text(escape(field.error), color="Attention", spacing="None"))
    return _container(items, separator=True)


def _prefill(field: Field) -> str | None:
    """A form's current answer as the string the input's `value` takes."""
    if field.widget in ("text", "number"):
        return field.text
    if not field.selected:
        return None
    choices = _choices(field.question_type, field.options)
    picked = [choices[n - 1]["value"] for n in field.selected if 1 <= n <= len(choices)]
    return ",".join(picked) or None


# ---------------------------------------------------------------- summaries


def render_readonly_summary(summary: Summary) -> dict[str, Any]:
    """One card without buttons, to replace a prompt or form card after it was submitted.

    Answers are clipped so that the card always fits the budget (it is a receipt; the
    full answers are in the summary message).

    Args:
        summary: the participant's answers.

    Returns:
        The card JSON.
    """
    view = build_view(summary.model_copy(update={"editable": False}))
    head = [
        e
        for s in view.sections
        if isinstance(s, Heading | Context | Badges)
        for e in _elements(s, None)
    ]
    rows = [f for s in view.sections if isinstance(s, Facts) for f in s.rows]
    limit = READONLY_ANSWER_CHARS
    while True:
        facts = [(escape(clip(f.label, limit)), _md(f.value, limit)) for f in rows]
        card = _card([*head, _facts(facts)] if facts else head)
        if card_size(card) <= CARD_BUDGET or limit <= 20:
            return card
        limit //= 2


def attachment(card: Mapping[str, Any]) -> dict[str, Any]:
    """An activity attachment (Bot Framework shape) holding an Adaptive Card.

    Args:
        card: a card from `render_activity_attachments`.

    Returns:
        `{"contentType": ..., "content": card}`.
    """
    return {"contentType": CONTENT_TYPE, "content": dict(card)}


def parse_submit(
    data: Mapping[str, Any], questions: Sequence[QuestionView] | None = None
) -> tuple[str, int, object]:
    """Read an Action.Submit's data as Teams delivers it.

    Accepts the `value` of a message activity, or an invoke's `value` whose
    `action.data` holds the submit data.

    Args:
        data: the submit data merged with the card's input values.
        questions: the round's questions, if the caller has them: choice numbers are
            then mapped back to option text. Without them, a form's kinds come from its
            `v` and choices stay as option numbers, which the engine also accepts.

    Returns:
        `(action, round id, value)`. `answer`: a `CardAnswer` with the question id the
        card showed and the `answer` input's string. `form`: a dict question id -> str,
        list[str] (multiple choice), bool (yes/no) or None (empty). Other actions: the
        button's `v` (a string such as "2h" or a question id) or None.

    Raises:
        ValueError: the data is not a strategy-bot submit or is malformed; the message
            says which field is wrong.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"submit data must be an object, not {type(data).__name__}")
    inner = data.get("action")
    if SUBMIT_KIND not in data and isinstance(inner, Mapping):
        nested = inner.get("data")
        if isinstance(nested, Mapping):
            data = nested
    if SUBMIT_KIND not in data:
        raise ValueError(f"no {SUBMIT_KIND!r} key: this is not a strategy-bot card submit")
    action = data[SUBMIT_KIND]
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {sorted(ACTIONS)}")
    round_id = _round_id(data.get("r"))
    value = data.get("v")
    if action == "form":
        return action, round_id, _form_values(data, value, questions)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'v' of {action!r} must be a string or null, not {type(value).__name__}")
    if action == "answer":
        return action, round_id, CardAnswer(value or None, _answer_value(data.get(ANSWER_INPUT)))
    return action, round_id, value


def _round_id(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("round id 'r' must be an integer, not a boolean")
    if isinstance(raw, int):
        return check_round_id(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        return check_round_id(int(raw.strip()))
    if raw is None:
        raise ValueError("missing round id 'r'")
    raise ValueError(f"round id 'r' must be an integer, not {raw!r}")


def _answer_value(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):  # an Input.Toggle would arrive as text, but be lenient
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    if not isinstance(raw, str):
        raise ValueError(f"the {ANSWER_INPUT!r} input must be a string, not {type(raw).__name__}")
    return raw if raw.strip() else None


def _form_values(
    data: Mapping[str, Any], kinds_raw: object, questions: Sequence[QuestionView] | None
) -> dict[str, object]:
    by_id = {q.id: q for q in questions or ()}
    kinds: dict[str, str] = {}
    if isinstance(kinds_raw, Mapping):
        for qid, code in kinds_raw.items():
            if isinstance(qid, str) and code in _CODE_KINDS:
                kinds[qid] = _CODE_KINDS[code]
    elif kinds_raw is not None:
        raise ValueError("'v' of a form submit must be an object of question kinds")
    kinds.update({q.id: q.type for q in by_id.values()})
    ids = list(kinds)
    ids += [
        k[len(FORM_PREFIX) :]
        for k in data
        if isinstance(k, str) and k.startswith(FORM_PREFIX) and k[len(FORM_PREFIX) :] not in kinds
    ]
    return {
        qid: _form_value(data.get(FORM_PREFIX + qid), kinds.get(qid), by_id.get(qid)) for qid in ids
    }


def _form_value(raw: object, kind: str | None, question: QuestionView | None) -> object:
    if raw is None or isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        raw = str(raw)
    if not raw.strip():
        return None
    if kind == "yes_no":
        word = raw.strip().lower()
        return True if word == "true" else False if word == "false" else raw
    if kind == "multiple_choice":
        picked = [p.strip() for p in raw.split(",") if p.strip()]
        return [_option(p, question) for p in picked] or None
    if kind == "single_choice":
        return _option(raw.strip(), question)
    return raw


def _option(number: str, question: QuestionView | None) -> str:
    """Option text for an option number, when the question is known and it is in range."""
    if question and number.isdigit() and 1 <= int(number) <= len(question.options):
        return question.options[int(number) - 1]
    return number

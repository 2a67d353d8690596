"""Block Kit layout of the presentation layer's views, and parsing of what comes back.

The engine speaks in platform-neutral `OutboundMessage`s (`bot.flows.outbound`) and
`bot.presentation` turns each into a `View` of sections, worded once for every platform;
this module lays those sections out as Block Kit and is the only place that knows it. It
is pure (no Slack client, no I/O), so the Bolt app and the delivery worker share it and
tests can check every payload against Slack's documented limits without a workspace:

- a message has at most 50 blocks; a section's text at most 3000 characters; a header
  150; button and option text 75; option values 150; `block_id` and `action_id` 255;
  button values 2000; checkboxes and radio buttons 10 options, selects 100; a modal has
  at most 100 blocks, a 24-character title and 3000 characters of `private_metadata`.
- Long content is split across sections and messages (the first is posted normally, the
  rest in its thread), never cut silently. The one exception is a single text answer too
  long for one section (answers may be 4000 characters, a section holds 3000): it is cut
  with "…" and a note saying so.
- All user and engine text goes through `mrkdwn.escape` (mrkdwn) or `mrkdwn.plain`
  (plain_text), and every mrkdwn object is `verbatim`, so nothing typed can mention,
  link or broadcast.

What Slack adds in the layout: headings are header blocks, contexts are context blocks,
a moment is Slack's `<!date^…>` (each reader sees their own time zone), a tone is an
emoji, a quotation a `>` block, a fact's button its section's accessory, bars are block
characters, and a question's options become buttons, a select or checkboxes depending on
how many there are (Slack's limits), listed in full when their text had to be cut.

The strategy view (`digest all`), and why:

- A chart is a `data_visualization` block (Block Kit reference, "Data visualization
  block": a line chart, or grouped bars for bars and the maturity map; a title of 50
  characters, 1-6 series, 1-20 categories, names and categories of 20 characters, axis
  labels of 50, at most two such blocks a message). Its figures in words follow it in a
  context block, for clients that cannot draw it (the App Home leaves charts out and keeps
  those words). A chart beyond the limits (more than 20 rounds, labels that are no longer
  unique once cut) is said in words, with its title. Chart strings are plain text, with
  angle brackets as their fullwidth forms and broadcast words defused like `escape`.
- A table stays one line per row (`linear_row`), not Slack's `table` block: that block is
  for messages only (the App Home shows the same blocks and would be refused), one a
  message, and is shown appended at the bottom of the message, after the chart and
  "Needs you", where the standings would no longer read first; the sources also disagree
  on whether it belongs in `blocks` or in an attachment, and a wrong guess loses the
  whole digest to `invalid_blocks`.
- `Details` start a new message: the summary is the first message (one screen,
  `tests/presentation/test_one_screen.py`), and the trends and every conversation's round
  follow in its thread under their label, each message within the limits above.

Interactivity contract (what the Bolt app registers and reads back):

- Every action id starts with `ACTION_PREFIX` ("strategy:"); register handlers with
  `ACTION_ID_PATTERN`. Slack requires action ids to be unique within a block, so buttons
  that share a block carry a suffix (`strategy:answer:1` ... `strategy:answer:5`);
  `parse_action` strips it.
- Buttons carry `value = json.dumps({"r": round_id, "v": str | None})`.
- Selects and checkboxes in messages sit in a block whose `block_id` is
  `strategy:r:<round_id>:<question_id>`; their option values are the option text, the
  rating digit, or (when texts would be ambiguous or too long) the option's 1-based
  number, which `bot.flows.answers` also accepts.
- Ticking a checkbox fires `strategy:choose` (ack it and do nothing: see `NOOP_ACTIONS`);
  the "Send" button (`strategy:answer` with `v` null) makes `parse_action` read the
  ticked options from `state_values`.
- The form modal has `callback_id` `FORM_CALLBACK_ID`; `parse_view_submission` reads it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, assert_never

from bot import messages
from bot.adapters.slack.mrkdwn import ELLIPSIS, escape, fit, plain
from bot.flows.events import Action, check_round_id
from bot.flows.outbound import Form, OutboundMessage
from bot.playbook.model import QuestionType
from bot.presentation import build_view
from bot.presentation.figures import text_bar
from bot.presentation.sections import (
    Actions,
    Badges,
    Bars,
    Button,
    Chart,
    Context,
    Details,
    Divider,
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
    linear_row,
)

__all__ = [
    "ACTION_ID_PATTERN",
    "ACTION_NAMES",
    "ACTION_PREFIX",
    "FORM_CALLBACK_ID",
    "NOOP_ACTIONS",
    "block_id_for",
    "has_charts",
    "layout_view",
    "merge_payloads",
    "parse_action",
    "parse_view_submission",
    "question_from_block_id",
    "render_form_errors",
    "render_form_modal",
    "render_message",
    "without_charts",
]

ACTION_PREFIX = "strategy:"
ACTION_ID_PATTERN = re.compile(r"^strategy:")
FORM_CALLBACK_ID = "strategy_form"
# Answers ("answer", "choose": a checkbox tick) and every button of `bot.flows.events.Action`.
ACTION_NAMES = frozenset({"answer", "choose", *(a.value for a in Action)})
NOOP_ACTIONS = frozenset({"choose"})  # checkbox ticks: state is read when "Send" is pressed

# Slack limits (Block Kit reference).
MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
SECTION_CHARS = 3000
CONTEXT_CHARS = 3000
HEADER_CHARS = 150
BUTTON_CHARS = 75
OPTION_CHARS = 75
OPTION_VALUE_CHARS = 150
BLOCK_ID_CHARS = 255
VALUE_CHARS = 2000
LABEL_CHARS = 2000
MODAL_TITLE_CHARS = 24
INPUT_MAX_LENGTH = 3000
MAX_BUTTON_CHOICES = 5
MAX_CHECKBOXES = 10
MAX_SELECT_OPTIONS = 100
FALLBACK_CHARS = 3000
ERROR_CHARS = 300
LABEL_TEXT_CHARS = 1000  # a fact's label, so that its value keeps most of a section
# The data_visualization block (Block Kit reference, "Data visualization block").
MAX_CHARTS = 2  # per message
CHART_TITLE_CHARS = 50
CHART_AXIS_CHARS = 50
CHART_LABEL_CHARS = 20  # a category (x-axis label) or a series name
MAX_CHART_SERIES = 6
MAX_CHART_POINTS = 20
CHART = "data_visualization"

# Answer elements sit in `strategy:r:<round>:<question>`; a multiple-choice question's
# Send button in `strategy:send:<round>:<question>` (block ids are unique per message).
_BLOCK_ID_RE = re.compile(r"^strategy:(?:r|send):(\d+):(.*)$", re.DOTALL)
_CUT_NOTE = f" _{messages.ANSWER_CUT}_"
_TONE_EMOJI: dict[Tone, str] = {
    "info": ":information_source: ",
    "success": ":white_check_mark: ",
    "warning": ":warning: ",
    "error": ":warning: ",
}
_BADGE_EMOJI: dict[Tone, str] = {"warning": ":bell: "}
_FALLBACK_EMOJI: dict[Tone, str] = {"success": ":white_check_mark: ", "error": ":warning: "}

Block = dict[str, Any]
Payload = dict[str, Any]


# --------------------------------------------------------------------------- primitives


def _pt(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object (never empty: Slack requires at least one character)."""
    return {"type": "plain_text", "text": plain(text, limit) or " ", "emoji": True}


def _md(text: str) -> dict[str, Any]:
    """A verbatim mrkdwn object; `text` must already be escaped and within limits."""
    return {"type": "mrkdwn", "text": text or " ", "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _md(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_md(fit_escaped(text, CONTEXT_CHARS))]}


def _header(text: str) -> Block:
    return {"type": "header", "text": _pt(text, HEADER_CHARS)}


def _value(round_id: int, value: str | None) -> str:
    return json.dumps({"r": round_id, "v": value})


def _element(
    text: str, action: str, round_id: int, value: str | None = None, style: str | None = None
) -> dict[str, Any]:
    """A button element: `action` is the action id after the prefix."""
    element: dict[str, Any] = {
        "type": "button",
        "text": _pt(text, BUTTON_CHARS),
        "action_id": ACTION_PREFIX + action,
        "value": _value(round_id, value),
    }
    if style is not None:
        element["style"] = style
    return element


def _button(button: Button) -> dict[str, Any]:
    """A view's button as a Block Kit button (a primary one is styled "primary")."""
    style = "primary" if button.primary else None
    return _element(button.label, button.action.value, button.round_id, button.wire_value, style)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _pt(text, OPTION_CHARS), "value": value}


def block_id_for(round_id: int, question_id: str) -> str:
    """The block id of a message's select or checkboxes: carries the round and question.

    Args:
        round_id: the round the question belongs to.
        question_id: the question's id.

    Returns:
        `strategy:r:<round_id>:<question_id>`, cut to Slack's 255 characters.
    """
    return f"strategy:r:{round_id}:{question_id}"[:BLOCK_ID_CHARS]


def _split_long(text: str, limit: int) -> list[str]:
    """Split escaped mrkdwn into pieces of at most `limit`, at line or word boundaries.

    Never cuts inside an HTML entity (`&amp;`), so escaping survives the split.
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
            amp = rest.rfind("&", max(0, cut - 5), cut)
            if amp > 0 and ";" not in rest[amp:cut]:
                cut = amp
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces.append(rest)
    return pieces


def _pack(units: Iterable[str], limit: int = SECTION_CHARS) -> list[str]:
    """Join escaped mrkdwn units with newlines into as few texts of <= `limit` as possible.

    A unit is never split across two texts unless it alone exceeds the limit.
    """
    texts: list[str] = []
    current = ""
    for unit in units:
        for piece in _split_long(unit, limit) if len(unit) > limit else [unit]:
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                texts.append(current)
                current = piece
    if current:
        texts.append(current)
    return texts


def fit_escaped(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to `limit` characters without breaking an entity.

    Args:
        text: escaped mrkdwn.
        limit: maximum length.

    Returns:
        The text, or a prefix ending in "…".
    """
    if len(text) <= limit:
        return text
    return _split_long(text, limit - len(ELLIPSIS))[0] + ELLIPSIS


def _paginate(pages: Sequence[Sequence[Block]], fallback: str) -> list[Payload]:
    """Split pages into messages within Slack's limits, keeping headers with what follows.

    A page (the summary, or the details that follow it in the thread) always starts a new
    message; within a page a message ends at 50 blocks or before a third chart (Slack
    allows two `data_visualization` blocks per message), and a chart keeps the context
    line that says its figures in words on the same message. A third chart moves to the
    next message with the part it belongs to (what follows the last rule: a conversation's
    heading, its round and its trends), so no chart opens a message cut off from its part.
    """
    chunks: list[list[Block]] = []
    for page in pages:
        chunks.append([])
        for block in page:
            chunk = chunks[-1]
            charts = sum(1 for b in chunk if b["type"] == CHART)
            is_chart = block["type"] == CHART
            full = len(chunk) >= MAX_BLOCKS or (
                is_chart and (charts >= MAX_CHARTS or len(chunk) >= MAX_BLOCKS - 1)
            )
            if full:
                carried: list[Block] = []
                if is_chart:  # the chart's own part (after the last rule) goes with it
                    rule = max(
                        (n for n, b in enumerate(chunk) if b["type"] == "divider"), default=0
                    )
                    if rule > 0 and sum(b["type"] == CHART for b in chunk[rule:]) < MAX_CHARTS:
                        carried = chunk[rule + 1 :]
                        del chunk[rule:]
                if not carried:
                    while chunk and chunk[-1]["type"] in ("header", "divider") and len(chunk) > 1:
                        carried.insert(0, chunk.pop())
                    carried = [b for b in carried if b["type"] == "header"]
                chunks.append(carried)
            chunks[-1].append(block)
    chunks = [c for c in chunks if c] or [[_section(" ")]]
    total = len(chunks)
    payloads = []
    for number, chunk in enumerate(chunks, start=1):
        text = fallback if number == 1 else f"{fallback} {messages.continued(number, total)}"
        payloads.append({"text": fit(text, FALLBACK_CHARS), "blocks": chunk})
    return payloads


def merge_payloads(payloads: Sequence[Payload]) -> list[Payload]:
    """As few payloads as hold the same blocks in order, each within the message limits.

    For a slash command's private reply (`respond.py`): it has no thread, so the summary's
    details need not start a message of their own there, and Slack takes at most five
    replies on one `response_url`. Each payload keeps 50 blocks and two charts at most.
    """
    merged: list[Payload] = []
    for payload in payloads:
        blocks = list(payload.get("blocks") or [])
        if merged:
            last = merged[-1]["blocks"]
            charts = sum(1 for b in (*last, *blocks) if b.get("type") == CHART)
            if len(last) + len(blocks) <= MAX_BLOCKS and charts <= MAX_CHARTS:
                last.extend(blocks)
                continue
        merged.append({**payload, "blocks": blocks})
    if len(merged) < len(payloads):  # number the parts again
        head = str(payloads[0].get("text") or "")
        for number, payload in enumerate(merged[1:], start=2):
            payload["text"] = fit(
                f"{head} {messages.continued(number, len(merged))}", FALLBACK_CHARS
            )
    return merged


def has_charts(payload: Payload) -> bool:
    """Whether a message payload holds a `data_visualization` block."""
    return any(b.get("type") == CHART for b in payload.get("blocks") or [])


def without_charts(payload: Payload) -> Payload:
    """The payload with each chart replaced by its title (its words follow it already).

    For a Slack that rejects the chart block (`invalid_blocks`): nothing is lost but the
    drawing, since every chart is followed by its figures in words.
    """
    blocks = [
        _section(f"*{escape(b['title'])}*") if b.get("type") == CHART else b
        for b in payload.get("blocks") or []
    ]
    return {**payload, "blocks": blocks}


def _date_token(moment: datetime) -> str:
    """Slack's date formatting: shown in the reader's time zone, with a UTC fallback."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _mrkdwn(text: Text) -> str:
    """Inline text as escaped mrkdwn: strong is `*x*`, subtle `_x_`, a moment a date token."""
    out = []
    for part in text:
        if isinstance(part, Moment):
            out.append(_date_token(part.at))
            continue
        words = part.text.strip()
        if part.style == "plain" or not words:
            out.append(escape(part.text))
            continue
        mark = "*" if part.style == "strong" else "_"
        lead = part.text[: len(part.text) - len(part.text.lstrip())]
        trail = part.text[len(part.text.rstrip()) :]
        out.append(f"{lead}{mark}{escape(words)}{mark}{trail}")
    return "".join(out)


def _subtle(text: Text) -> Text:
    """Plain spans made subtle (moments stay date tokens, which must not be styled)."""
    return tuple(
        Span(text=p.text, style="subtle") if isinstance(p, Span) and p.style == "plain" else p
        for p in text
    )


def _option_values(options: Sequence[Option]) -> list[str]:
    """Values that identify options unambiguously for `bot.flows.answers`.

    The option text itself, unless some option contains a comma (multiple-choice text is
    split on commas), is longer than an option value may be, is all digits (read as an
    option number) or is "yes"/"no" (read as a yes/no answer): then every option is sent
    as its 1-based number, which the engine maps back to the option.
    """
    answers = [o.answer for o in options]
    ambiguous = any(
        "," in a or len(a) > OPTION_VALUE_CHARS or a.strip().isdigit() or not a.strip()
        for a in answers
    ) or any(a.strip().casefold() in ("yes", "no") for a in answers)
    if ambiguous:
        return [str(o.number) for o in options]
    return answers


def _choice_options(options: Sequence[Option]) -> list[dict[str, Any]]:
    values = _option_values(options)
    return [_option(o.label, value) for o, value in zip(options, values, strict=True)]


def _options_cut(options: Sequence[Option]) -> bool:
    return any(len(o.label) > OPTION_CHARS for o in options)


def _numbered(options: Sequence[Option]) -> list[str]:
    return [f"{o.number}. {escape(o.label)}" for o in options]


# --------------------------------------------------------------------------- messages


def render_message(message: OutboundMessage) -> list[dict[str, Any]]:
    """Render an outbound message as Slack message payloads.

    Args:
        message: a Notice, Prompt, Summary or DigestMessage (a Form is a modal: use
            `render_form_modal`).

    Returns:
        Payloads `{"text": fallback, "blocks": [...]}`; post the first normally and the
        rest in its thread. Each has at most 50 blocks and every field within Slack's
        limits.

    Raises:
        TypeError: for a Form, which is not a message.
    """
    if isinstance(message, Form):
        raise TypeError(f"{type(message).__name__} is not a message; use render_form_modal")
    return layout_view(build_view(message))


def layout_view(view: View) -> list[Payload]:
    """Lay a view out as Slack message payloads (see `render_message`).

    Raises:
        TypeError: the view holds form fields, which only a modal can show.
    """
    layout = _Layout()
    for section in view.sections:
        layout.add(section)
    prefix = _FALLBACK_EMOJI.get(view.tone, "") if view.tone else ""
    return _paginate(layout.finish(), prefix + view.fallback)


class _Layout:
    """Pages of blocks built so far, and the mrkdwn lines waiting to be packed into sections.

    A page is what must start a message of its own: `Details` open a new page, so that a
    summary is one message and what follows it goes in its thread.
    """

    def __init__(self) -> None:
        self.pages: list[list[Block]] = [[]]
        self.units: list[str] = []

    @property
    def blocks(self) -> list[Block]:
        """The blocks of the current page."""
        return self.pages[-1]

    def flush(self) -> None:
        self.pages[-1] += [_section(text) for text in _pack(self.units)]
        self.units = []

    def block(self, *blocks: Block) -> None:
        self.flush()
        self.pages[-1] += blocks

    def new_page(self) -> None:
        self.flush()
        if self.pages[-1]:
            self.pages.append([])

    def finish(self) -> list[list[Block]]:
        self.flush()
        return [page for page in self.pages if page]

    def add(self, section: Section) -> None:  # one case per section type
        if isinstance(section, Heading):
            self.block(_header(section.text))
        elif isinstance(section, Context):
            if self.blocks and not self.units and self.blocks[-1]["type"] == "header":
                self.block(_context(" · ".join(_mrkdwn(p) for p in section.parts)))
            else:  # inside a section, as a subtle line: fewer blocks, fewer thread replies
                self.units.append(" · ".join(_mrkdwn(_subtle(p)) for p in section.parts))
        elif isinstance(section, Badges):
            self.units.append(
                " · ".join(
                    f"{_BADGE_EMOJI.get(b.tone, '')}*{escape(b.text)}*" for b in section.items
                )
            )
        elif isinstance(section, Paragraph):
            emoji = _TONE_EMOJI[section.tone] if section.tone else ""
            self.units.append(emoji + _mrkdwn(section.text))
        elif isinstance(section, Bars):
            for row in section.rows:
                figures = f"{text_bar(row.part, row.whole)} {_mrkdwn(row.value)}".strip()
                self.units.append(f"• {escape(row.label)} {figures}")
                if row.note:
                    self.units.append(_mrkdwn(row.note))
        elif isinstance(section, Quote):
            self.units.append(_quote(section.text, section.who))
        elif isinstance(section, Facts):
            self.block(*(_fact(f.label, f.value, f.quoted, f.button) for f in section.rows))
        elif isinstance(section, Actions):
            if section.buttons:
                rid = section.buttons[0].round_id
                elements = [_button(b) for b in section.buttons]
                self.block(
                    {"type": "actions", "block_id": f"strategy:nav:{rid}", "elements": elements}
                )
        elif isinstance(section, Inputs):
            self.block(*_inputs(section))
        elif isinstance(section, Field | Submit):
            raise TypeError("form fields are shown in a modal: use render_form_modal")
        elif isinstance(section, Divider):
            self.block({"type": "divider"})
        elif isinstance(section, Group):
            self.flush()
            if section.separator:
                self.block({"type": "divider"})
            for child in section.sections:
                self.add(child)
            self.flush()
        elif isinstance(section, Chart):
            chart = _chart(section)
            described = "\n".join(_mrkdwn(d) for d in section.described)
            if chart is None:  # beyond the block's limits: the figures in words
                self.units.append(f"*{escape(section.title)}*")
                self.units += [_mrkdwn(d) for d in section.described]
            else:  # the words stay under the chart, for clients that cannot draw it
                self.block(chart, *([_context(described)] if described else []))
        elif isinstance(section, Table):
            self.units += [
                " · ".join(_mrkdwn(part) for part in linear_row(section, row))
                for row in section.rows
            ]
        elif isinstance(section, Details):  # in the thread: the first message stays one screen
            self.new_page()
            self.block(_header(section.label))
            for child in section.sections:
                self.add(child)
        else:
            assert_never(section)


_ANGLE = str.maketrans({"<": "\uff1c", ">": "\uff1e"})
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def _chart_text(text: str, limit: int) -> str:
    """A chart's string: plain text (never mrkdwn), cut to its limit, with nothing to parse.

    Slack documents the chart's strings as plain strings; angle brackets (with which every
    link, mention and broadcast starts) are shown as their fullwidth forms and bare
    broadcast words get a zero-width joiner, so typed text can never become a control
    sequence whatever a client does with them.
    """
    safe = _BROADCAST.sub(lambda m: "@\u200d" + m.group(1), text.translate(_ANGLE))
    return plain(safe.strip(), limit) or " "


def _chart(chart: Chart) -> Block | None:
    """A chart as a `data_visualization` block, or None when it cannot meet the block's limits.

    Lines stay lines; bars and the maturity map (each conversation's internal and external
    means) are grouped bars. Slack's limits: a title of 50 characters, 1-6 series with
    unique names of 20 characters, 1-20 categories of 20 characters (every series a value
    for each), axis labels of 50. Cut labels that would no longer be unique, or a value
    that is not a finite number, make it None: the caller then says the figures in words.
    """
    categories = [_chart_text(c, CHART_LABEL_CHARS) for c in chart.categories]
    names = [_chart_text(s.name, CHART_LABEL_CHARS) for s in chart.series]
    if not (1 <= len(categories) <= MAX_CHART_POINTS and 1 <= len(names) <= MAX_CHART_SERIES):
        return None
    if len(set(categories)) < len(categories) or len(set(names)) < len(names):
        return None
    for series in chart.series:
        if len(series.values) != len(categories) or not all(map(math.isfinite, series.values)):
            return None
    axis: dict[str, Any] = {"categories": categories}
    if chart.x_label:
        axis["x_label"] = _chart_text(chart.x_label, CHART_AXIS_CHARS)
    if chart.y_label:
        axis["y_label"] = _chart_text(chart.y_label, CHART_AXIS_CHARS)
    plotted = [
        {
            "name": name,
            "data": [
                {"label": label, "value": round(value, 2)}
                for label, value in zip(categories, s.values, strict=True)
            ],
        }
        for name, s in zip(names, chart.series, strict=True)
    ]
    return {
        "type": CHART,
        "title": _chart_text(chart.title, CHART_TITLE_CHARS),
        "chart": {
            "type": "line" if chart.kind == "line" else "bar",
            "series": plotted,
            "axis_config": axis,
        },
    }


def _quote(text: str, who: str | None) -> str:
    signature = f"\n— _{fit(who, 300)}_" if who else ""
    body = fit(text.strip(), SECTION_CHARS - len(signature) - 200, _CUT_NOTE)
    return "> " + "\n> ".join(body.split("\n")) + signature


def _fact(label: str, value: Text, quoted: bool, button: Button | None) -> Block:
    head = f"*{fit(label, LABEL_TEXT_CHARS)}*"
    if quoted:
        raw = "".join(p.text for p in value if isinstance(p, Span))
        shown = "> " + fit(raw, SECTION_CHARS - len(head) - 10, _CUT_NOTE).replace("\n", "\n> ")
    else:
        shown = _mrkdwn(value)
    block = _section(fit_escaped(f"{head}\n{shown}", SECTION_CHARS))
    if button is not None:
        block["accessory"] = _button(button)
    return block


def _inputs(inputs: Inputs) -> list[Block]:
    """A prompt's answer controls: buttons, a select or checkboxes, as Slack's limits allow."""
    rid = inputs.round_id
    block_id = block_id_for(rid, inputs.question_id)
    options = inputs.options
    match inputs.widget:
        case "text" | "number":  # answered by a reply in the DM
            return [_context(escape(inputs.hint))] if inputs.hint else []
        case "scale":
            buttons = [_element(o.label, f"answer:{o.answer}", rid, o.answer) for o in options]
            return [{"type": "actions", "block_id": block_id, "elements": buttons}]
        case "one" if inputs.question_type is QuestionType.YES_NO:
            buttons = [_element(o.label, f"answer:{o.answer}", rid, o.answer) for o in options]
            return [{"type": "actions", "block_id": block_id, "elements": buttons}]
        case "one" | "many" if len(options) > MAX_SELECT_OPTIONS:
            hint = messages.reply_with_number(inputs.widget == "many")
            return [*(_section(t) for t in _pack(_numbered(options))), _context(escape(hint))]
        case "one":
            blocks = [_single_choice(inputs, block_id)]
        case "many":
            blocks = _multiple_choice(inputs, block_id)
        case _:
            assert_never(inputs.widget)
    if _options_cut(options):  # labels were cut on the controls: show them in full
        blocks = [*(_section(t) for t in _pack(_numbered(options))), *blocks]
    return blocks


def _single_choice(inputs: Inputs, block_id: str) -> Block:
    options = inputs.options
    if len(options) <= MAX_BUTTON_CHOICES:
        values = _option_values(options)
        buttons = [
            _element(o.label, f"answer:{o.number}", inputs.round_id, value)
            for o, value in zip(options, values, strict=True)
        ]
        return {"type": "actions", "block_id": block_id, "elements": buttons}
    select = {
        "type": "static_select",
        "action_id": ACTION_PREFIX + "answer",
        "placeholder": _pt(inputs.placeholder or messages.CHOICE_PLACEHOLDER, BUTTON_CHARS),
        "options": _choice_options(options),
    }
    return {"type": "actions", "block_id": block_id, "elements": [select]}


def _multiple_choice(inputs: Inputs, block_id: str) -> list[Block]:
    """Tick, then Send (`strategy:answer` with no value: `parse_action` reads the ticks)."""
    picker: dict[str, Any] = {
        "type": "checkboxes" if len(inputs.options) <= MAX_CHECKBOXES else "multi_static_select",
        "action_id": ACTION_PREFIX + "choose",
        "options": _choice_options(inputs.options),
    }
    if picker["type"] == "multi_static_select":
        placeholder = inputs.placeholder or messages.CHOICES_PLACEHOLDER
        picker["placeholder"] = _pt(placeholder, BUTTON_CHARS)
    send = _element(inputs.submit, "answer", inputs.round_id, None, style="primary")
    send_block = f"strategy:send:{inputs.round_id}:{inputs.question_id}"[:BLOCK_ID_CHARS]
    return [
        {"type": "actions", "block_id": block_id, "elements": [picker]},
        {"type": "actions", "block_id": send_block, "elements": [send]},
    ]


# --------------------------------------------------------------------------- form modal


def render_form_modal(form: Form) -> dict[str, Any]:
    """Render a round's form as a Slack modal view (for `views.open` / `views.update`).

    Args:
        form: every question of the round, with current answers in `values`.

    Returns:
        A modal view with `callback_id` "strategy_form", the round id in
        `private_metadata`, and one input block per question (`block_id` = question id,
        `action_id` "value").
    """
    view = build_view(form)
    title = form.conversation_title
    submit = messages.SEND
    blocks: list[Block] = []
    fields: list[Field] = []
    for section in view.sections:
        if isinstance(section, Field):
            fields.append(section)
        elif isinstance(section, Submit):
            submit = section.label
        elif isinstance(section, Heading):
            title = section.text
            blocks.append(_header(section.text))
        elif isinstance(section, Context):
            blocks.append(_context(" · ".join(_mrkdwn(p) for p in section.parts)))
    room = MAX_MODAL_BLOCKS - len(blocks) - 1
    shown = fields[:room]
    blocks += [_input_block(f) for f in shown]
    if len(fields) > len(shown):
        blocks.append(_context(escape(messages.more_questions(len(fields) - len(shown)))))
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "private_metadata": json.dumps({"r": form.round_id}),
        "title": _pt(title, MODAL_TITLE_CHARS),
        "submit": _pt(submit, MODAL_TITLE_CHARS),
        "close": _pt(messages.CANCEL, MODAL_TITLE_CHARS),
        "blocks": blocks,
    }


def _input_block(field: Field) -> Block:
    element: dict[str, Any]
    hints: list[str] = []
    options = field.options
    match field.widget:
        case "text":
            element = {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": INPUT_MAX_LENGTH,
            }
            if field.text:
                if len(field.text) > INPUT_MAX_LENGTH:
                    hints.append(messages.prefill_cut(len(field.text), INPUT_MAX_LENGTH - 1))
                element["initial_value"] = plain(field.text, INPUT_MAX_LENGTH)
        case "number":
            element = {"type": "number_input", "action_id": "value", "is_decimal_allowed": True}
            if field.text:
                element["initial_value"] = field.text
            if field.placeholder:
                element["placeholder"] = _pt(field.placeholder, BUTTON_CHARS)
        case "scale":
            choices = [_option(o.label, o.answer) for o in options]
            element = {
                "type": "static_select",
                "action_id": "value",
                "placeholder": _pt(field.placeholder or " ", BUTTON_CHARS),
                "options": choices,
            }
            _preselect(element, choices, field.selected)
        case "one" if field.question_type is QuestionType.YES_NO:
            choices = [_option(o.label, o.answer) for o in options]
            element = {"type": "radio_buttons", "action_id": "value", "options": choices}
            _preselect(element, choices, field.selected)
        case "one":
            choices = _choice_options(options)[:MAX_SELECT_OPTIONS]
            kind = "radio_buttons" if len(choices) <= MAX_BUTTON_CHOICES else "static_select"
            element = {"type": kind, "action_id": "value", "options": choices}
            if kind == "static_select":
                placeholder = field.placeholder or messages.CHOICE_PLACEHOLDER
                element["placeholder"] = _pt(placeholder, BUTTON_CHARS)
            _preselect(element, choices, field.selected)
        case "many":
            choices = _choice_options(options)[:MAX_SELECT_OPTIONS]
            kind = "checkboxes" if len(choices) <= MAX_CHECKBOXES else "multi_static_select"
            element = {"type": kind, "action_id": "value", "options": choices}
            if kind == "multi_static_select":
                placeholder = field.placeholder or messages.CHOICES_PLACEHOLDER
                element["placeholder"] = _pt(placeholder, BUTTON_CHARS)
            _preselect(element, choices, field.selected, multiple=True)
        case _:
            assert_never(field.widget)
    if field.widget in ("one", "many") and _options_cut(options):
        hints.append(messages.options_listed([o.label for o in options]))
    if field.help:
        hints.insert(0, field.help)
    if field.error:
        hints.insert(0, f"⚠ {field.error}")
    block: Block = {
        "type": "input",
        "block_id": field.question_id[:BLOCK_ID_CHARS],
        "label": _pt(field.label, LABEL_CHARS),
        "element": element,
        "optional": not field.required,
    }
    if hints:
        block["hint"] = _pt(" ".join(hints), LABEL_CHARS)
    return block


def _preselect(
    element: dict[str, Any],
    choices: list[dict[str, Any]],
    selected: Sequence[int],
    *,
    multiple: bool = False,
) -> None:
    """Mark the options numbered in `selected` (1-based, as `choices` are ordered)."""
    picked = [choices[n - 1] for n in selected if 1 <= n <= len(choices)]
    if not picked:
        return
    if multiple:
        element["initial_options"] = picked
    else:
        element["initial_option"] = picked[0]


def render_form_errors(form: Form) -> dict[str, str]:
    """Errors for Bolt's `ack(response_action="errors", errors=...)`.

    Args:
        form: the form as the engine re-rendered it, with `errors` by question id.

    Returns:
        Input block id (the question id) -> message, cut to a readable length.
    """
    return {qid[:BLOCK_ID_CHARS]: plain(msg, ERROR_CHARS) for qid, msg in form.errors.items()}


def parse_view_submission(view: dict[str, Any]) -> tuple[int, dict[str, object]]:
    """Read a submitted form modal back into engine values.

    Args:
        view: the `view` of a `view_submission` payload.

    Returns:
        (round id, question id -> raw value): str for text, selects and radio buttons;
        list[str] for checkboxes and multi-selects; bool for yes/no; None when empty.

    Raises:
        ValueError: the view is not our form or is malformed.
    """
    if not isinstance(view, dict):
        raise ValueError("view is not an object")
    if view.get("callback_id", FORM_CALLBACK_ID) != FORM_CALLBACK_ID:
        raise ValueError(f"view callback_id {view.get('callback_id')!r} is not our form")
    round_id = _round_from_json(view.get("private_metadata"), "private_metadata")
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        raise ValueError("view has no state.values")
    answers: dict[str, object] = {}
    for block_id, elements in values.items():
        if not isinstance(elements, dict) or not elements:
            raise ValueError(f"state for block {block_id!r} is not an object")
        element = elements.get("value")
        if element is None:
            element = next(iter(elements.values()))
        answers[str(block_id)] = _element_value(str(block_id), element)
    return round_id, answers


def _element_value(block_id: str, element: object) -> object:
    if not isinstance(element, dict):
        raise ValueError(f"state for block {block_id!r} is not an object")
    kind = element.get("type")
    if kind in ("plain_text_input", "number_input"):
        text = element.get("value")
        return text if isinstance(text, str) and text != "" else None
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option")
        if option is None:
            return None
        value = _option_value(block_id, option)
        if kind == "radio_buttons" and value in ("yes", "no"):
            return value == "yes"
        return value
    if kind in ("checkboxes", "multi_static_select"):
        options = element.get("selected_options") or []
        if not isinstance(options, list):
            raise ValueError(f"selected_options of block {block_id!r} is not a list")
        picked = [_option_value(block_id, o) for o in options]
        return picked or None
    raise ValueError(f"unexpected element type {kind!r} in block {block_id!r}")


def _option_value(block_id: str, option: object) -> str:
    if not isinstance(option, dict) or not isinstance(option.get("value"), str):
        raise ValueError(f"malformed option in block {block_id!r}")
    return str(option["value"])


def _round_from_json(raw: object, where: str) -> int:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"{where} is missing")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not JSON: {raw[:50]!r}") from exc
    if not isinstance(data, dict) or "r" not in data:
        raise ValueError(f"{where} has no round id")
    round_id = data["r"]
    if isinstance(round_id, bool) or not isinstance(round_id, int):
        raise ValueError(f"round id in {where} is not an integer: {round_id!r}")
    return check_round_id(round_id)


# --------------------------------------------------------------------------- actions


def parse_action(
    action: dict[str, Any], state_values: dict[str, Any] | None
) -> tuple[str, int, str | None]:
    """Read a `block_actions` action back into (action name, round id, value).

    Args:
        action: one entry of the payload's `actions`.
        state_values: the payload's `state.values` (needed for the multiple-choice
            "Send" button, which reads the ticked options).

    Returns:
        The action name without the prefix ("answer", "answer_all", "skip_question",
        "skip_round", "snooze", "edit", "review", or "choose" for a checkbox tick, which
        needs no handling), the round id, and the value: the answer text for "answer"
        (for multiple choice the ticked option values joined with ", ", which
        `bot.flows.answers` splits again; "" when nothing is ticked), the question id for
        "edit" and "skip_question", the duration for "snooze", else None.

    Raises:
        ValueError: the action is not ours or is malformed.
    """
    if not isinstance(action, dict):
        raise ValueError("action is not an object")
    action_id = action.get("action_id")
    if not isinstance(action_id, str) or not action_id.startswith(ACTION_PREFIX):
        raise ValueError(f"action_id {action_id!r} is not a strategy action")
    name = action_id[len(ACTION_PREFIX) :].split(":", 1)[0]
    if name not in ACTION_NAMES:
        raise ValueError(f"unknown strategy action {name!r}")
    kind = action.get("type", "button")
    if kind == "button":
        raw = action.get("value")
        round_id = _round_from_json(raw, "button value")
        value = json.loads(str(raw)).get("v")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"button value v is not a string: {value!r}")
        if name == "answer" and value is None:
            return name, round_id, _ticked(round_id, state_values)
        return name, round_id, value
    round_id = _round_from_block_id(action.get("block_id"))
    if kind in ("static_select", "radio_buttons"):
        option = action.get("selected_option")
        if option is None:
            return name, round_id, None
        return name, round_id, _option_value(str(action.get("block_id")), option)
    if kind in ("checkboxes", "multi_static_select"):
        options = action.get("selected_options") or []
        if not isinstance(options, list):
            raise ValueError("selected_options is not a list")
        picked = [_option_value(str(action.get("block_id")), o) for o in options]
        return name, round_id, ", ".join(picked)
    raise ValueError(f"unexpected action type {kind!r}")


def question_from_block_id(block_id: object) -> str | None:
    """The question id an answer element was shown with, if its block carries one."""
    match = _BLOCK_ID_RE.match(block_id) if isinstance(block_id, str) else None
    return match.group(2) or None if match else None


def _round_from_block_id(block_id: object) -> int:
    match = _BLOCK_ID_RE.match(block_id) if isinstance(block_id, str) else None
    if match is None:
        raise ValueError(f"block_id {block_id!r} does not carry a round id")
    return check_round_id(int(match.group(1)))


def _ticked(round_id: int, state_values: dict[str, Any] | None) -> str:
    if not isinstance(state_values, dict):
        raise ValueError("the Send button needs the message's state.values")
    prefix = f"strategy:r:{round_id}:"
    picked: list[str] = []
    for block_id, elements in state_values.items():
        if not str(block_id).startswith(prefix) or not isinstance(elements, dict):
            continue
        for element in elements.values():
            if not isinstance(element, dict):
                raise ValueError(f"state for block {block_id!r} is not an object")
            options = element.get("selected_options") or []
            if not isinstance(options, list):
                raise ValueError(f"selected_options of block {block_id!r} is not a list")
            picked += [_option_value(str(block_id), o) for o in options]
    return ", ".join(picked)

"""Block Kit rendering of the engine's outbound messages, and parsing of what comes back.

The engine speaks in platform-neutral `OutboundMessage`s (`bot.flows.outbound`); this
module is the only place that knows Block Kit. It is pure (no Slack client, no I/O), so
the Bolt app and the delivery worker share it and tests can check every payload against
Slack's documented limits without a workspace:

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
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.adapters.slack.mrkdwn import ELLIPSIS, escape, fit, plain
from bot.flows.digest_model import (
    ChoiceRollup,
    ConversationDigest,
    Digest,
    QuestionRollup,
    RatingRollup,
    TextAnswer,
)
from bot.flows.digest_text import BAR_WIDTH, EMPTY, FULL, arrow, avg, bar
from bot.flows.events import DEFAULT_SNOOZE, check_round_id
from bot.flows.outbound import (
    DigestMessage,
    Form,
    Notice,
    OutboundMessage,
    Prompt,
    QuestionView,
    Summary,
)

__all__ = [
    "ACTION_ID_PATTERN",
    "ACTION_NAMES",
    "ACTION_PREFIX",
    "FORM_CALLBACK_ID",
    "NOOP_ACTIONS",
    "block_id_for",
    "parse_action",
    "parse_view_submission",
    "question_from_block_id",
    "render_form_errors",
    "render_form_modal",
    "render_message",
]

ACTION_PREFIX = "strategy:"
ACTION_ID_PATTERN = re.compile(r"^strategy:")
FORM_CALLBACK_ID = "strategy_form"
ACTION_NAMES = frozenset(
    {
        "answer",
        "answer_all",
        "answer_now",
        "skip_question",
        "skip_round",
        "snooze",
        "edit",
        "review",
        "choose",
    }
)
NOOP_ACTIONS = frozenset({"choose"})  # checkbox ticks: state is read when "Send" is pressed
SNOOZE_DEFAULT = DEFAULT_SNOOZE

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

# Answer elements sit in `strategy:r:<round>:<question>`; a multiple-choice question's
# Send button in `strategy:send:<round>:<question>` (block ids are unique per message).
_BLOCK_ID_RE = re.compile(r"^strategy:(?:r|send):(\d+):(.*)$", re.DOTALL)
_CUT_NOTE = " _(answer cut: too long to show in Slack in full)_"
_TYPE_NAMES = {
    "text": "text",
    "rating": "rating 1-5",
    "single_choice": "one choice",
    "multiple_choice": "several choices",
    "yes_no": "yes/no",
}

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
    return {"type": "context", "elements": [_md(text)]}


def _header(text: str) -> Block:
    return {"type": "header", "text": _pt(text, HEADER_CHARS)}


def _value(round_id: int, value: str | None) -> str:
    return json.dumps({"r": round_id, "v": value})


def _button(
    text: str, action: str, round_id: int, value: str | None = None, style: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _pt(text, BUTTON_CHARS),
        "action_id": ACTION_PREFIX + action,
        "value": _value(round_id, value),
    }
    if style is not None:
        button["style"] = style
    return button


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


def _sections(units: Iterable[str]) -> list[Block]:
    return [_section(text) for text in _pack(units)]


def _paginate(blocks: Sequence[Block], fallback: str) -> list[Payload]:
    """Split blocks into messages of at most 50 blocks, keeping headers with what follows."""
    pages: list[list[Block]] = [[]]
    for block in blocks:
        page = pages[-1]
        if len(page) >= MAX_BLOCKS:
            carried: list[Block] = []
            while page and page[-1]["type"] in ("header", "divider") and len(page) > 1:
                carried.insert(0, page.pop())
            carried = [b for b in carried if b["type"] == "header"]
            pages.append(carried)
        pages[-1].append(block)
    total = len(pages)
    payloads = []
    for number, page in enumerate(pages, start=1):
        text = fallback if number == 1 else f"{fallback} (continued, {number}/{total})"
        payloads.append({"text": fit(text, FALLBACK_CHARS), "blocks": page})
    return payloads


def _date_token(moment: datetime) -> str:
    """Slack's date formatting: shown in the reader's time zone, with a UTC fallback."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _option_values(options: Sequence[str]) -> list[str]:
    """Values that identify options unambiguously for `bot.flows.answers`.

    The option text itself, unless some option contains a comma (multiple-choice text is
    split on commas), is longer than an option value may be, is all digits (read as an
    option number) or is "yes"/"no" (read as a yes/no answer): then every option is sent
    as its 1-based number, which the engine maps back to the option.
    """
    ambiguous = any(
        "," in o or len(o) > OPTION_VALUE_CHARS or o.strip().isdigit() or not o.strip()
        for o in options
    ) or any(o.strip().casefold() in ("yes", "no") for o in options)
    if ambiguous:
        return [str(i) for i in range(1, len(options) + 1)]
    return list(options)


def _choice_options(question: QuestionView) -> list[dict[str, Any]]:
    values = _option_values(question.options)
    return [_option(text, value) for text, value in zip(question.options, values, strict=True)]


def _rating_text(score: int, labels: dict[int, str]) -> str:
    label = labels.get(score)
    return f"{score} — {label}" if label else str(score)


def _rating_options(question: QuestionView) -> list[dict[str, Any]]:
    return [_option(_rating_text(s, question.labels), str(s)) for s in range(1, 6)]


_YES_NO_OPTIONS = [_option("Yes", "yes"), _option("No", "no")]


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
    if isinstance(message, Notice):
        return _notice(message)
    if isinstance(message, Prompt):
        return _prompt(message)
    if isinstance(message, Summary):
        return _summary(message)
    if isinstance(message, DigestMessage):
        return _digest(message.digest)
    raise TypeError(f"{type(message).__name__} is not a message; use render_form_modal")


def _notice(notice: Notice) -> list[Payload]:
    blocks: list[Block] = []
    if notice.title:
        blocks.append(_header(notice.title))
    prefix = {"error": ":warning: ", "success": ":white_check_mark: "}.get(notice.level, "")
    lines = [escape(line) for line in notice.lines]
    if lines:
        lines[0] = prefix + lines[0]
    elif prefix and notice.title is None:
        lines = [prefix.strip()]
    blocks += _sections(lines)
    if not blocks:
        blocks.append(_section(" "))
    fallback = " ".join([notice.title or "", *notice.lines]).strip() or "Strategy bot"
    return _paginate(blocks, prefix + fallback)


def _prompt(prompt: Prompt) -> list[Payload]:
    q = prompt.question
    rid = prompt.round_id
    context = (
        f"*{fit(prompt.conversation_title, 500)}* · Round {prompt.round_number}"
        f" · closes {_date_token(prompt.deadline)}"
    )
    blocks: list[Block] = [_context(context)]
    if prompt.reminder:
        blocks.append(_section(":bell: *Reminder* — this round is still waiting for you."))
    if prompt.purpose and (prompt.opening or prompt.reminder):
        blocks += _sections([escape(prompt.purpose)])
    if prompt.waiting_for is not None:
        return _waiting(prompt, blocks)
    if prompt.note:
        blocks += _sections([":information_source: " + escape(prompt.note)])
    optional = "" if q.required else " _(optional)_"
    blocks += _sections([f"*Question {q.index} of {q.total}*{optional}", escape(q.text)])
    if q.help:
        blocks.append(_context(fit(q.help, CONTEXT_CHARS)))
    blocks += _prompt_inputs(prompt)
    buttons = []
    if "answer_all" in prompt.actions:
        buttons.append(_button("Answer all in a form", "answer_all", rid, style="primary"))
    if "skip_question" in prompt.actions and not q.required:
        buttons.append(_button("Skip question", "skip_question", rid, q.id))
    if "skip_round" in prompt.actions:
        buttons.append(_button("Skip round", "skip_round", rid))
    if "snooze" in prompt.actions:
        buttons.append(_button("Snooze 2h", "snooze", rid, SNOOZE_DEFAULT))
    if "review" in prompt.actions:
        buttons.append(_button("My answers", "review", rid))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"strategy:nav:{rid}", "elements": buttons})
    fallback = f"{prompt.conversation_title}, question {q.index} of {q.total}: {q.text}"
    return _paginate(blocks, fallback)


def _waiting(prompt: Prompt, blocks: list[Block]) -> list[Payload]:
    """A round announced while the person answers another: no question, only buttons."""
    rid = prompt.round_id
    blocks += _sections([":hourglass: " + escape(messages.waiting_for(prompt.waiting_for or ""))])
    buttons = [_button("Answer now", "answer_now", rid, style="primary")]
    if "answer_all" in prompt.actions:
        buttons.append(_button("Answer all in a form", "answer_all", rid))
    if "skip_round" in prompt.actions:
        buttons.append(_button("Skip round", "skip_round", rid))
    if "snooze" in prompt.actions:
        buttons.append(_button("Snooze 2h", "snooze", rid, SNOOZE_DEFAULT))
    blocks.append({"type": "actions", "block_id": f"strategy:nav:{rid}", "elements": buttons})
    fallback = f"{prompt.conversation_title}: round {prompt.round_number} is waiting for you"
    return _paginate(blocks, fallback)


def _prompt_inputs(prompt: Prompt) -> list[Block]:
    q = prompt.question
    rid = prompt.round_id
    block_id = block_id_for(rid, q.id)
    if q.type == "text":
        return [_context("Reply in this DM to answer.")]
    if q.type == "rating":
        buttons = [_button(str(s), f"answer:{s}", rid, str(s)) for s in range(1, 6)]
        blocks: list[Block] = [{"type": "actions", "block_id": block_id, "elements": buttons}]
        if q.labels:
            scale = " · ".join(f"{s} = {escape(q.labels[s])}" for s in sorted(q.labels))
            blocks.append(_context(fit_escaped(scale, CONTEXT_CHARS)))
        return blocks
    if q.type == "yes_no":
        buttons = [
            _button("Yes", "answer:yes", rid, "yes"),
            _button("No", "answer:no", rid, "no"),
        ]
        return [{"type": "actions", "block_id": block_id, "elements": buttons}]
    numbered = [f"{i}. {escape(o)}" for i, o in enumerate(q.options, start=1)]
    if len(q.options) > MAX_SELECT_OPTIONS:
        hint = "Reply in this DM with the number" + (
            "s, separated by commas." if q.type == "multiple_choice" else "."
        )
        return [*_sections(numbered), _context(hint)]
    if q.type == "single_choice":
        if len(q.options) <= MAX_BUTTON_CHOICES:
            values = _option_values(q.options)
            buttons = [
                _button(text, f"answer:{i}", rid, value)
                for i, (text, value) in enumerate(zip(q.options, values, strict=True), start=1)
            ]
            blocks = [{"type": "actions", "block_id": block_id, "elements": buttons}]
        else:
            select = {
                "type": "static_select",
                "action_id": ACTION_PREFIX + "answer",
                "placeholder": _pt("Choose…", BUTTON_CHARS),
                "options": _choice_options(q),
            }
            blocks = [{"type": "actions", "block_id": block_id, "elements": [select]}]
        if any(len(o) > OPTION_CHARS for o in q.options):
            blocks = [*_sections(numbered), *blocks]  # labels were cut: show them in full
        return blocks
    # multiple choice: tick, then Send
    picker: dict[str, Any] = {
        "type": "checkboxes" if len(q.options) <= MAX_CHECKBOXES else "multi_static_select",
        "action_id": ACTION_PREFIX + "choose",
        "options": _choice_options(q),
    }
    if picker["type"] == "multi_static_select":
        picker["placeholder"] = _pt("Choose one or more…", BUTTON_CHARS)
    blocks = [{"type": "actions", "block_id": block_id, "elements": [picker]}]
    if any(len(o) > OPTION_CHARS for o in q.options):
        blocks = [*_sections(numbered), *blocks]
    send = _button("Send", "answer", rid, None, style="primary")
    send_block = f"strategy:send:{rid}:{q.id}"[:BLOCK_ID_CHARS]
    blocks.append({"type": "actions", "block_id": send_block, "elements": [send]})
    return blocks


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


def _summary(summary: Summary) -> list[Payload]:
    rid = summary.round_id
    title = summary.conversation_title
    blocks: list[Block] = [
        _header(f"Done — {title}" if summary.done else f"Your answers — {title}"),
        _context(f"Round closes {_date_token(summary.deadline)}"),
    ]
    for number, item in enumerate(summary.items, start=1):
        head = f"*{number}. {fit(item.question, 1000)}*"
        if item.skipped or item.answer is None:
            answer = "_skipped_"
        else:
            answer = "> " + fit(item.answer, SECTION_CHARS - len(head) - 10, _CUT_NOTE).replace(
                "\n", "\n> "
            )
        text = fit_escaped(f"{head}\n{answer}", SECTION_CHARS)
        block = _section(text)
        if summary.editable:
            block["accessory"] = _button("Edit", "edit", rid, item.question_id)
        blocks.append(block)
    if not summary.items:
        blocks.append(_section("_No answers yet._"))
    if summary.editable:
        blocks.append(_context("You can edit an answer until the round closes."))
    state = "done" if summary.done else "in progress"
    return _paginate(blocks, f"Your answers to {title} ({state})")


# --------------------------------------------------------------------------- digest


def _digest(digest: Digest) -> list[Payload]:
    blocks: list[Block] = []
    scope = "all conversations" if digest.scope == "all" else digest.scope
    which = "" if digest.which == "last" else " (previous round)"
    if digest.scope == "all" or len(digest.conversations) != 1:
        blocks.append(_header(f"Strategy digest — {digest.organisation}{which}"))
    blocks.append(
        _context(
            f"{fit(digest.organisation, 500)} · {fit(scope, 300)}{which}"
            f" · generated {_date_token(digest.generated_at)}"
        )
    )
    if digest.maturity is not None:
        m = digest.maturity
        line = (
            f"*Social maturity:* {escape(m.stage)} (internal {avg(m.internal)},"
            f" external {avg(m.external)})"
        )
        if m.previous_stage is not None:
            line += (
                f"; previously {escape(m.previous_stage)}"
                if m.previous_stage != m.stage
                else "; unchanged since the previous rounds"
            )
        blocks += _sections([line, f"*Next move:* {escape(m.next_move)}"])
    if not digest.conversations:
        blocks.append(_section("_No conversations in this digest._"))
    for conv in digest.conversations:
        blocks.append({"type": "divider"})
        blocks += _conversation(conv)
    return _paginate(blocks, f"Strategy digest for {digest.organisation} ({scope}){which}")


def _conversation(conv: ConversationDigest) -> list[Block]:
    if conv.status == "none" or conv.round_number is None:
        return [_header(f"{conv.title} — no round yet")]
    blocks: list[Block] = [_header(f"{conv.title} — round {conv.round_number} digest")]
    if conv.status == "open":
        state = "Open, partial results"
        if conv.deadline is not None:
            state += f" · closes {_date_token(conv.deadline)}"
    else:
        state = "Closed"
        if conv.closed_at is not None:
            state += f" {_date_token(conv.closed_at)}"
    if conv.anonymous:
        state += " · Anonymous: answers are shown without names"
    blocks.append(_context(state))
    answered = f"*Answered* {bar(conv.answered, conv.invited)}"
    if conv.partly:
        answered += f", {conv.partly} partly"
    if conv.previous_answered is not None and conv.previous_invited is not None:
        answered += (
            f" (round {conv.previous_round_number}: {conv.previous_answered}"
            f"/{conv.previous_invited}, {arrow(conv.answered - conv.previous_answered)})"
        )
    units = [answered]
    for group in conv.participation:
        line = f"• {escape(group.title)} {bar(group.answered, group.invited)}"
        if group.partly:
            line += f", {group.partly} partly"
        if group.skipped:
            line += f", {group.skipped} skipped"
        units.append(line)
    if not conv.anonymous:
        missing = [name for group in conv.participation for name in group.missing]
        if missing:
            label = "Waiting on:" if conv.status == "open" else "Did not answer:"
            units.append(f"*{label}* " + ", ".join(escape(n) for n in missing))
    blocks += _sections(units)
    for number, question in enumerate(conv.questions, start=1):
        blocks += _sections(_question_units(number, question, anonymous=conv.anonymous))
    return blocks


def _question_units(number: int, q: QuestionRollup, *, anonymous: bool) -> list[str]:
    tally = f"{q.answered} answered" + (f", {q.skipped} skipped" if q.skipped else "")
    head = f"*Q{number}. {fit(q.text, 1500)}* _({_TYPE_NAMES[q.type]}; {tally})_"
    if q.rating is not None:
        return [head, *_rating_lines(q.rating)]
    if q.choices is not None:
        return [head, *_choice_lines(q.choices)]
    if not q.texts:
        return [head, "_No text answers._"]
    return [head, *(_text_answer(a, anonymous=anonymous) for a in q.texts)]


def _rating_lines(r: RatingRollup) -> list[str]:
    line = f"Mean *{avg(r.mean)}* of 5"
    if r.mean is not None and r.previous_mean is not None:
        line += f" {arrow(r.mean - r.previous_mean)} since last round ({avg(r.previous_mean)})"
    lines = [line]
    top = max(r.distribution.values(), default=0)
    for score in range(1, 6):
        count = r.distribution.get(score, 0)
        filled = round(BAR_WIDTH * count / top) if top else 0
        label = f" {escape(r.labels[score])}" if score in r.labels else ""
        lines.append(f"`{score}` {FULL * filled}{EMPTY * (BAR_WIDTH - filled)} {count}{label}")
    return lines


def _choice_lines(c: ChoiceRollup) -> list[str]:
    total = sum(c.counts.values())
    lines = []
    for option, count in c.counts.items():
        line = f"• {fit(option, 500)} {bar(count, total)}"
        if c.previous_counts is not None:
            line += f" ({arrow(count - c.previous_counts.get(option, 0))})"
        lines.append(line)
    return lines or ["_No answers._"]


def _text_answer(answer: TextAnswer, *, anonymous: bool) -> str:
    who = "anonymous" if anonymous or not answer.author else answer.author
    if answer.group_key:
        who += f", {answer.group_key}"
    signature = f"— _{fit(who, 300)}_"
    body = fit(answer.text.strip(), SECTION_CHARS - len(signature) - 200, _CUT_NOTE)
    quoted = "> " + "\n> ".join(line for line in body.split("\n"))
    return f"{quoted}\n{signature}"


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
    blocks: list[Block] = [
        _context(f"*{fit(form.conversation_title, 500)}* · closes {_date_token(form.deadline)}")
    ]
    room = MAX_MODAL_BLOCKS - 2
    shown = form.questions[:room]
    for q in shown:
        blocks.append(_input_block(q, form.values.get(q.id), form.errors.get(q.id)))
    if len(form.questions) > len(shown):
        left = len(form.questions) - len(shown)
        blocks.append(_context(f"{left} more questions: answer them in the DM after sending."))
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "private_metadata": json.dumps({"r": form.round_id}),
        "title": _pt(form.conversation_title, MODAL_TITLE_CHARS),
        "submit": _pt("Send", MODAL_TITLE_CHARS),
        "close": _pt("Cancel", MODAL_TITLE_CHARS),
        "blocks": blocks,
    }


def _input_block(q: QuestionView, value: object, error: str | None) -> Block:
    element: dict[str, Any]
    hints: list[str] = []
    if q.type == "text":
        element = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
            "max_length": INPUT_MAX_LENGTH,
        }
        if isinstance(value, str) and value:
            if len(value) > INPUT_MAX_LENGTH:
                hints.append(
                    f"Your current answer is {len(value):,} characters; the form shows the"
                    f" first {INPUT_MAX_LENGTH - 1:,}. Sending replaces it."
                )
            element["initial_value"] = plain(value, INPUT_MAX_LENGTH)
    elif q.type == "rating":
        options = _rating_options(q)
        element = {
            "type": "static_select",
            "action_id": "value",
            "placeholder": _pt("1 to 5", BUTTON_CHARS),
            "options": options,
        }
        _preselect(element, options, [str(value)] if _is_rating(value) else [])
    elif q.type == "yes_no":
        element = {"type": "radio_buttons", "action_id": "value", "options": _YES_NO_OPTIONS}
        if isinstance(value, bool):
            _preselect(element, _YES_NO_OPTIONS, ["yes" if value else "no"])
    elif q.type == "single_choice":
        options = _choice_options(q)[:MAX_SELECT_OPTIONS]
        kind = "radio_buttons" if len(options) <= MAX_BUTTON_CHOICES else "static_select"
        element = {"type": kind, "action_id": "value", "options": options}
        if kind == "static_select":
            element["placeholder"] = _pt("Choose…", BUTTON_CHARS)
        _preselect(element, options, _selected_values(q, value))
    else:
        options = _choice_options(q)[:MAX_SELECT_OPTIONS]
        kind = "checkboxes" if len(options) <= MAX_CHECKBOXES else "multi_static_select"
        element = {"type": kind, "action_id": "value", "options": options}
        if kind == "multi_static_select":
            element["placeholder"] = _pt("Choose one or more…", BUTTON_CHARS)
        _preselect(element, options, _selected_values(q, value), multiple=True)
    if q.type in ("single_choice", "multiple_choice") and any(
        len(o) > OPTION_CHARS for o in q.options
    ):
        hints.append("Options: " + "; ".join(f"{i}. {o}" for i, o in enumerate(q.options, 1)))
    if q.help:
        hints.insert(0, q.help)
    if error:
        hints.insert(0, f"⚠ {error}")
    block: Block = {
        "type": "input",
        "block_id": q.id[:BLOCK_ID_CHARS],
        "label": _pt(f"{q.index}. {q.text}", LABEL_CHARS),
        "element": element,
        "optional": not q.required,
    }
    if hints:
        block["hint"] = _pt(" ".join(hints), LABEL_CHARS)
    return block


def _is_rating(value: object) -> bool:
    return not isinstance(value, bool) and str(value) in {"1", "2", "3", "4", "5"}


def _selected_values(q: QuestionView, value: object) -> list[str]:
    chosen = value if isinstance(value, list) else [] if value is None else [value]
    values = _option_values(q.options)
    by_text = dict(zip(q.options, values, strict=True))
    return [by_text[str(c)] for c in chosen if str(c) in by_text]


def _preselect(
    element: dict[str, Any],
    options: list[dict[str, Any]],
    values: list[str],
    *,
    multiple: bool = False,
) -> None:
    picked = [o for o in options if o["value"] in values]
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
    if kind == "plain_text_input":
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

"""Adaptive Cards for Microsoft Teams: engine messages in, card JSON out; card submits back.

Why a module of pure functions: the engine's outbound models (`bot.flows.outbound`) are
platform-neutral, and the Teams adapter only needs dicts to attach to activities. Keeping
rendering free of botbuilder means every card is unit-tested as JSON, the same way the
console (`adapters/console/static/app.js`) and Slack render the very same messages.

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
* A form's `v` is `{question id: kind letter}`, so `parse_submit` can type the values
  (list for multiple choice, bool for yes/no) without loading the agenda.
* Size: Teams rejects large messages (Workflows/webhooks document about 28 KB, bots a
  larger limit), so a digest or summary is packed into cards of at most `CARD_BUDGET`
  bytes of JSON (measured with ASCII escapes, the worst case), each continuation card
  re-stating its header. A form cannot be split (one Submit collects one card's inputs);
  its prefilled text values are what could make it large, and they are bounded by the
  engine's answer limit.
* Dates use the cards' `{{DATE()}}`/`{{TIME()}}` functions so each reader sees their own
  time zone; user text is escaped (`markdown.escape`) so it cannot fake one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.adapters.teams.markdown import clip, escape, plain
from bot.flows.answers import MAX_ANSWER_CHARS
from bot.flows.digest_model import (
    ConversationDigest,
    Digest,
    GroupParticipation,
    MaturityView,
    QuestionRollup,
)
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

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SUBMIT_KIND = "strategy"
CARD_BUDGET = 25_000
ANSWER_INPUT = "answer"
FORM_PREFIX = "q:"
ACTIONS = frozenset(
    {
        "answer",
        "answer_all",
        "answer_now",
        "skip_question",
        "skip_round",
        "snooze",
        "edit",
        "review",
        "form",
    }
)
ACTION_LABELS = {
    "answer_now": "Answer now",
    "answer_all": "Answer all in a form",
    "skip_question": "Skip question",
    "skip_round": "Skip round",
    "snooze": "Snooze 2h",
    "review": "Review my answers",
}
SNOOZE_DEFAULT = DEFAULT_SNOOZE
BAR_CELLS = 10
READONLY_ANSWER_CHARS = 500
DIGEST_TEXT_CHARS = MAX_ANSWER_CHARS

_KIND_CODES = {
    "text": "t",
    "rating": "r",
    "single_choice": "s",
    "multiple_choice": "m",
    "yes_no": "b",
}
_CODE_KINDS = {v: k for k, v in _KIND_CODES.items()}

Element = dict[str, Any]


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
    block: Element = {"type": "TextBlock", "text": text, "wrap": True}
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


def _date(when: datetime) -> str:
    """`{{DATE}} {{TIME}}` functions, which Teams renders in the reader's time zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def _header(title: str, sub: str | None) -> list[Element]:
    out = [_text(escape(title), weight="Bolder", size="Medium")]
    if sub:
        out.append(_text(sub, subtle=True, spacing="None"))
    return out


def _number(x: float | None, digits: int = 1) -> str:
    return "\u2013" if x is None else f"{x:.{digits}f}"


def _change(now: float | None, before: float | None, digits: int = 1, unit: str = "") -> str:
    """`▲ 0.4` / `▼ 1` / `= 0` against a previous value, or "" with nothing to compare."""
    if now is None or before is None:
        return ""
    delta = now - before
    amount = f"{abs(delta):.{digits}f}{unit}"
    if abs(delta) < 1e-9:
        return f"= {amount}"
    return ("▲ " if delta > 0 else "▼ ") + amount


def text_bar(part: int, whole: int, cells: int = BAR_CELLS) -> str:
    """A bar of block characters such as `▇▇▇░░░`.

    Args:
        part: the filled amount.
        whole: the total; one cell per unit up to `cells`, scaled beyond.
        cells: the widest bar.

    Returns:
        The bar (empty when `whole` is 0).
    """
    if whole <= 0:
        return ""
    width = min(whole, cells)
    filled = round(width * max(0, min(part, whole)) / whole)
    return "▇" * filled + "░" * (width - filled)


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
    overhead = card_size(_card([], actions)) + 64  # commas, and the "(continued)" numbering
    cards: list[list[Element]] = [list(head)]
    used = overhead + sum(card_size(b) + 1 for b in head)
    opening = len(head)  # elements on the current card that are not blocks
    for block in blocks:
        size = card_size(block) + 1
        if used + size > CARD_BUDGET and len(cards[-1]) > opening:
            cards.append(copy.deepcopy(continued))
            opening = len(continued)
            used = overhead + sum(card_size(b) + 1 for b in continued)
        cards[-1].append(block)
        used += size
    out = [_card(body) for body in cards]
    if actions:
        out[-1]["actions"] = actions
    return out


# ---------------------------------------------------------------- notices


def _notice(message: Notice) -> list[Element]:
    color = {"error": "Attention", "success": "Good"}.get(message.level)
    body: list[Element] = []
    if message.title:
        body.append(_text(escape(message.title), weight="Bolder", color=color))
    body.extend(_text(escape(line), color=color) for line in message.lines)
    if not body:
        body.append(_text(" "))
    blocks = body[1:] if message.title else body
    head = body[:1] if message.title else []
    return _pack(blocks, head, head)


# ---------------------------------------------------------------- prompts and forms


def _choices(question: QuestionView) -> list[dict[str, str]]:
    if question.type == "rating":
        out = []
        for n in range(1, 6):
            label = question.labels.get(n)
            out.append({"title": plain(f"{n} · {label}" if label else str(n)), "value": str(n)})
        return out
    if question.type == "yes_no":
        return [{"title": "Yes", "value": "true"}, {"title": "No", "value": "false"}]
    return [{"title": plain(o), "value": str(i)} for i, o in enumerate(question.options, 1)]


def _input(question: QuestionView, input_id: str, value: object = None) -> Element:
    """The input for one question; `value` is an engine value to prefill."""
    if question.type == "text":
        field: Element = {
            "type": "Input.Text",
            "id": input_id,
            "isMultiline": True,
            "maxLength": MAX_ANSWER_CHARS,
            "placeholder": "Type your answer",
        }
    else:
        field = {
            "type": "Input.ChoiceSet",
            "id": input_id,
            "choices": _choices(question),
            "style": "compact" if question.type == "rating" else "expanded",
        }
        if question.type == "multiple_choice":
            field["isMultiSelect"] = True
        if question.type == "rating":
            field["placeholder"] = "Choose 1-5"
    prefill = _prefill(question, value)
    if prefill is not None:
        field["value"] = prefill
    return field


def _prefill(question: QuestionView, value: object) -> str | None:
    """An engine value as the string an input's `value` takes."""
    if value is None:
        return None
    kind = question.type
    if kind == "yes_no":
        return "true" if value is True else "false" if value is False else None
    if kind == "rating":
        return str(value) if isinstance(value, int) and 1 <= value <= 5 else None
    if kind in ("single_choice", "multiple_choice"):
        picked = value if isinstance(value, list) else [value]
        numbers = [str(question.options.index(p) + 1) for p in picked if p in question.options]
        return ",".join(numbers) or None
    return str(value)


def _question_index(question: QuestionView) -> str:
    return f"Question {question.index} of {question.total}" + (
        "" if question.required else " · optional"
    )


def _prompt(message: Prompt) -> list[Element]:
    q = message.question
    body = _header(
        message.conversation_title,
        f"Round {message.round_number} · Due {_date(message.deadline)}",
    )
    badges = []
    if message.opening:
        badges.append("New round")
    if message.reminder:
        badges.append("Reminder")
    if badges:
        body.append(_text(" · ".join(badges), weight="Bolder", color="Accent", spacing="Small"))
    if message.purpose and (message.opening or message.reminder):
        body.append(_text(escape(message.purpose)))
    if message.note:
        body.append(_text(escape(message.note), color="Warning"))
    if message.waiting_for is not None:
        # Announced while another round is answered: buttons, no question to reply to.
        body.append(_text(escape(messages.waiting_for(message.waiting_for)), spacing="Medium"))
        return [_card(body, _prompt_actions(message))]
    body.append(_text(_question_index(q), subtle=True, spacing="Medium"))
    body.append(_text(escape(q.text), weight="Bolder", spacing="None"))
    if q.help:
        body.append(_text(escape(q.help), subtle=True, spacing="None"))
    body.append(_input(q, ANSWER_INPUT))
    body.append(
        {
            "type": "ActionSet",
            "actions": [
                _submit("Send", "answer", message.round_id, q.id, inputs=True, style="positive")
            ],
        }
    )
    return [_card(body, _prompt_actions(message))]


def _prompt_actions(message: Prompt) -> list[Element]:
    """The card's buttons; Skip question names the question it was shown with."""
    q = message.question
    actions = []
    for name in message.actions:
        if name not in ACTION_LABELS or (name == "skip_question" and q.required):
            continue
        value = {"snooze": SNOOZE_DEFAULT, "skip_question": q.id}.get(name)
        actions.append(_submit(ACTION_LABELS[name], name, message.round_id, value))
    return actions


def _form(message: Form) -> list[Element]:
    body = _header(message.conversation_title, f"Due {_date(message.deadline)}")
    body.append(
        _text(
            "Answer every question at once; you can change answers until the round closes.",
            subtle=True,
        )
    )
    for q in message.questions:
        field = _input(q, FORM_PREFIX + q.id, message.values.get(q.id))
        field["label"] = plain(f"{q.index}. {q.text}")
        if q.required:
            field["isRequired"] = True
            field["errorMessage"] = "This question needs an answer."
        items: list[Element] = []
        if q.help:
            items.append(_text(escape(q.help), subtle=True))
        items.append(field)
        error = message.errors.get(q.id)
        if error:
            items.append(_text(escape(error), color="Attention", spacing="None"))
        body.append(_container(items, separator=True))
    kinds = {q.id: _KIND_CODES[q.type] for q in message.questions}
    submit = _submit("Submit answers", "form", message.round_id, kinds, inputs=True)
    submit["style"] = "positive"
    return [_card(body, [submit])]


# ---------------------------------------------------------------- summaries


def _answer_text(answer: str | None, skipped: bool, limit: int = MAX_ANSWER_CHARS) -> str:
    if skipped:
        return "_Skipped_"
    if answer is None:
        return "(no answer)"
    return escape(clip(answer, limit))


def _summary_status(summary: Summary) -> Element:
    return _text(
        "Done ✓" if summary.done else "In progress",
        weight="Bolder",
        color="Good" if summary.done else "Accent",
        spacing="Small",
    )


def _summary(summary: Summary) -> list[Element]:
    head = _header(summary.conversation_title, f"Due {_date(summary.deadline)}")
    head.append(_summary_status(summary))
    blocks: list[Element] = []
    for n, item in enumerate(summary.items, 1):
        fact = _facts([(escape(f"{n}. {item.question}"), _answer_text(item.answer, item.skipped))])
        if summary.editable:
            edit = _submit(f"Edit answer {n}", "edit", summary.round_id, item.question_id)
            blocks.append(_container([fact, {"type": "ActionSet", "actions": [edit]}]))
        else:
            blocks.append(fact)
    if summary.editable:
        blocks.append(_text("You can edit answers until the round closes.", subtle=True))
    continued = _header(f"{summary.conversation_title} (continued)", None)
    return _pack(blocks, head, continued)


def render_readonly_summary(summary: Summary) -> dict[str, Any]:
    """One card without buttons, to replace a prompt or form card after it was submitted.

    Answers are clipped so that the card always fits the budget (it is a receipt; the
    full answers are in the summary message).

    Args:
        summary: the participant's answers.

    Returns:
        The card JSON.
    """
    body = _header(summary.conversation_title, f"Due {_date(summary.deadline)}")
    body.append(_summary_status(summary))
    limit = READONLY_ANSWER_CHARS
    while True:
        facts = _facts(
            (escape(f"{n}. {clip(i.question, limit)}"), _answer_text(i.answer, i.skipped, limit))
            for n, i in enumerate(summary.items, 1)
        )
        card = _card([*body, facts])
        if card_size(card) <= CARD_BUDGET or limit <= 20:
            return card
        limit //= 2


# ---------------------------------------------------------------- digests


def _maturity(m: MaturityView) -> Element:
    stage = f"Social maturity: **{escape(m.stage)}**"
    if m.previous_stage and m.previous_stage != m.stage:
        stage += f" (was {escape(m.previous_stage)})"
    return _container(
        [
            _text(stage),
            _text(
                f"Internal {_number(m.internal)} / 5 · External {_number(m.external)} / 5",
                subtle=True,
                spacing="None",
            ),
            _text(f"**Next move:** {escape(m.next_move)}"),
        ],
        separator=True,
    )


def _conversation_head(c: ConversationDigest, continued: bool = False) -> Element:
    status = "no round yet" if c.status == "none" else c.status
    parts = []
    if c.round_number:
        parts.append(f"Round {c.round_number}")
    parts.append(status)
    if c.anonymous:
        parts.append("anonymous")
    if c.deadline and c.status == "open":
        parts.append(f"Due {_date(c.deadline)}")
    title = escape(c.title) + (" (continued)" if continued else "")
    items = [
        _text(title, weight="Bolder", size="Medium"),
        _text(" · ".join(parts), subtle=True, spacing="None"),
    ]
    if c.status != "none" and not continued:
        rate = c.answered / c.invited * 100 if c.invited else None
        prev = (c.previous_answered or 0) / c.previous_invited * 100 if c.previous_invited else None
        line = f"{c.answered} of {c.invited} answered"
        if rate is not None:
            line += f" ({rate:.0f}%)"
        if c.partly:
            line += f", {c.partly} partly"
        delta = _change(rate, prev, 0, " pts")
        if delta:
            line += f" {delta} since round {c.previous_round_number or 'before'}"
        items.append(_text(line))
    return _container(items, separator=True)


def _participation(c: ConversationDigest, g: GroupParticipation) -> Element:
    value = f"{text_bar(g.answered, g.invited)} {g.answered}/{g.invited}"
    if g.partly:
        value += f" · {g.partly} partly"
    if g.skipped:
        value += f" · {g.skipped} skipped"
    items: list[Element] = [_facts([(escape(g.title), value)])]
    if g.missing and not c.anonymous:
        label = "Did not answer" if c.status == "closed" else "Waiting on"
        names = ", ".join(escape(n) for n in g.missing)
        items.append(_text(f"{label}: {names}", subtle=True, spacing="None"))
    return _container(items)


def _rollup_head(q: QuestionRollup, continued: bool = False) -> list[Element]:
    counts = f"{q.answered} answered" + (f" · {q.skipped} skipped" if q.skipped else "")
    return [
        _text(escape(q.text) + (" (continued)" if continued else ""), weight="Bolder"),
        _text(counts, subtle=True, spacing="None"),
    ]


def _rollup(q: QuestionRollup) -> list[Element]:
    """A question's rollup as blocks: its head and figures, then one block per text answer."""
    items = _rollup_head(q)
    if q.rating:
        r = q.rating
        line = f"**{_number(r.mean)}** / 5 mean"
        delta = _change(r.mean, r.previous_mean)
        if delta:
            line += f" {delta} (was {_number(r.previous_mean)})"
        items.append(_text(line))
        top = max((r.distribution.get(n, 0) for n in range(1, 6)), default=0)
        rows = []
        for n in range(1, 6):
            count = r.distribution.get(n, 0)
            label = r.labels.get(n)
            title = escape(f"{n} · {label}") if label else str(n)
            rows.append((title, f"{text_bar(count, top)} {count}".strip()))
        items.append(_facts(rows))
    if q.choices:
        counts = q.choices.counts
        prev = q.choices.previous_counts
        top = max(counts.values(), default=0)
        rows = []
        for option, count in counts.items():
            title = {"yes": "Yes", "no": "No"}.get(option, option) if q.type == "yes_no" else option
            value = f"{text_bar(count, top)} {count}".strip()
            if prev is not None:
                delta = _change(count, prev.get(option, 0), 0)
                if delta:
                    value += f" {delta}"
            rows.append((escape(title), value))
        items.append(_facts(rows))
    blocks = [_container(items, separator=True)]
    for t in q.texts:
        quote = f"“{escape(clip(t.text, DIGEST_TEXT_CHARS))}”"
        if t.author:
            quote += f" — {escape(t.author)}"
        blocks.append(_text(quote, spacing="Small"))
    return blocks


def _digest(digest: Digest) -> list[Element]:
    scope = "All conversations" if digest.scope == "all" else digest.scope
    title = f"Strategy digest · {digest.organisation}"
    sub = f"{escape(scope)} · Generated {_date(digest.generated_at)}"
    if digest.which == "previous":
        sub += " · Previous round"
    head = _header(title, sub)
    blocks: list[Element] = []
    if digest.maturity:
        blocks.append(_maturity(digest.maturity))
    for c in digest.conversations:
        blocks.append(_conversation_head(c))
        blocks.extend(_participation(c, g) for g in c.participation)
        for q in c.questions:
            blocks.extend(_rollup(q))
    if not digest.conversations:
        blocks.append(_text("No conversations in this digest.", subtle=True))
    cards = _pack(blocks, head, _header(f"{title} (continued)", None))
    if len(cards) > 1:
        for n, card in enumerate(cards, 1):
            card["body"][0]["text"] += f" · part {n} of {len(cards)}"
    return cards


# ---------------------------------------------------------------- public API


def render_activity_attachments(message: OutboundMessage) -> list[dict[str, Any]]:
    """Render an engine message as Adaptive Cards.

    Args:
        message: any outbound message.

    Returns:
        Card JSONs (schema 1.5): the first to post, the rest as continuation messages,
        each at most `CARD_BUDGET` bytes unless a single element is larger on its own.
        Wrap each with `attachment` to put it on an activity.
    """
    if isinstance(message, Notice):
        return _notice(message)
    if isinstance(message, Prompt):
        return _prompt(message)
    if isinstance(message, Form):
        return _form(message)
    if isinstance(message, Summary):
        return _summary(message)
    if isinstance(message, DigestMessage):
        return _digest(message.digest)
    raise TypeError(f"no Teams rendering for {type(message).__name__}")


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

"""Making engine and stakeholder text safe for Slack's mrkdwn and plain_text fields.

User text is data (README, "Invariants"): nothing a stakeholder types may ping
`@channel`/`@here`, mention users or channels, or inject links into a digest or card.
Slack treats `&`, `<` and `>` as control characters in mrkdwn, and every special
sequence (`<!channel>`, `<!here>`, `<!everyone>`, `<@U123>`, `<#C123>`,
`<!subteam^S1>`, `<https://evil|label>`, `<!date^...>`) starts with `<`; replacing the
three characters with their HTML entities, as Slack's formatting reference asks, makes
all of them literal text.

Bare words such as `@here` are *not* mentions in blocks that we post through the Web API
(mentions need the `<!here>` syntax unless `link_names`/`parse=full` is set), but the
mrkdwn text object documents that with `verbatim: false` (the default) "certain mentions
will be automatically parsed". The renderer sets `verbatim: true` on every mrkdwn object,
and `escape` also puts a zero-width joiner after the `@` of `@channel`, `@here` and
`@everyone` so that no client or setting can turn them into a broadcast: the words still
read the same.
"""

from __future__ import annotations

import re

_ZWJ = "\u200d"
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
ELLIPSIS = "…"


def escape(text: str) -> str:
    """Escape text for a mrkdwn field so that it shows literally.

    Args:
        text: user or engine text, as typed (already-escaped entities such as `&lt;` are
            escaped again, so they show as typed).

    Returns:
        The text with `&`, `<`, `>` as HTML entities and bare broadcast words defused.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + _ZWJ + m.group(1), escaped)


def plain(text: str, limit: int) -> str:
    """Cut text for a plain_text field to at most `limit` characters.

    plain_text is never parsed for mentions or links, so no escaping is needed; only
    Slack's length limits apply. A cut is marked with "…".

    Args:
        text: the text.
        limit: the field's maximum length (at least 1).

    Returns:
        The text, or its first `limit - 1` characters followed by "…".
    """
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def fit(text: str, limit: int, note: str = "") -> str:
    """Escape text and cut it so that the *escaped* result fits in `limit` characters.

    Escaping lengthens text (`&` becomes `&amp;`), so the raw text is cut before escaping,
    which also means an entity is never cut in half.

    Args:
        text: raw text.
        limit: maximum length of the escaped result, including the "…" and `note`.
        note: appended (already mrkdwn, not escaped) only when the text was cut.

    Returns:
        `escape(text)` if it fits, else an escaped prefix, "…" and `note`.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(ELLIPSIS) - len(note)
    raw = text[: max(budget, 0)]
    while raw and len(escape(raw)) > budget:
        raw = raw[: len(raw) - max(1, (len(escape(raw)) - budget) // 5)]
    return escape(raw) + ELLIPSIS + note


# Slack's control sequences in message text: links, mentions, broadcasts, dates.
_CONTROL = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def typed_text(text: str) -> str:
    """What the person typed, from the `text` of a message event as Slack encodes it.

    Slack sends `&`, `<` and `>` as entities and turns what it recognised into control
    sequences (`<https://x.com|x.com>`, `<@U0123>`, `<!here>`, `<#C0123|general>`). An
    answer is stored as typed ("R&D", "<script>", "x.com", "@here") and escaped only when it
    is shown (`escape`), so a CIO reads "R&D", not "R&amp;D", on every platform.

    Args:
        text: the event's `text`.

    Returns:
        The text with each control sequence replaced by what it displays and entities
        decoded: a link by what was typed (its label, plus the address when the label
        hides it: "click (https://…)"), a user or channel by `@`/`#` and its label (else
        its id), a broadcast by `@here`/`@channel`/`@everyone`.
    """

    def shown(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith(("@", "#")):
            return target[0] + (label.lstrip("@#") or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^", 1)[0]
        if not label or label in target:
            return label or target
        return f"{label} ({target})"

    unlinked = _CONTROL.sub(shown, text)
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], unlinked)

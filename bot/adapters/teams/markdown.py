r"""Making engine and stakeholder text inert in Adaptive Card text for Microsoft Teams.

User text is data (README, "Invariants"): nothing a stakeholder types may mention anyone,
inject a link or format a digest. Teams processes a Markdown subset in `TextBlock.text`,
`Fact.title` and `Fact.value` ("Format cards in Teams": bold `**x**`, italic `_x_`,
bulleted `- x` and numbered `1. x` lists, links `[title](url)`; HTML is not supported in
Adaptive Cards). `escape` therefore:

* backslash-escapes the characters that open those constructs (CommonMark allows a
  backslash before any ASCII punctuation): `\`, `*`, `_`, `[`, `]`, the backtick, `~`, `&`
  (so a typed `&lt;` is not decoded into `<`), `{` and `}` (so a typed
  `{{DATE(...)}}` is not turned into a localised date by the card's date/time functions),
  `#`, and a list marker (`-`, `+`, `1.`) at the start of a line. Parentheses and `!` are
  left alone: without an unescaped `[`, no link or image can form, and fewer backslashes
  matter on clients that handle escapes badly (below);
* replaces `<` and `>` with their fullwidth forms U+FF1C and U+FF1E. A mention is `<at>name</at>` in
  the text *plus* a matching `msteams.entities` entry; we never add entities for user text,
  so a typed tag is already not a mention, but the fullwidth forms make sure no tag of any
  kind survives. HTML entities (`&lt;`) were rejected because whether they are decoded
  depends on the renderer: the shared Markdown parsers decode them, and the iOS renderer
  switches to HTML rendering when it sees `<`, `>`, `&` (AdaptiveCards PR #5439), so the
  entity could show either as `<` or as the literal `&lt;`. Fullwidth characters are not
  syntax anywhere, so every client shows them as typed (they read as `<`/`>`).

Known limit: Teams mobile has rendered backslash escapes inconsistently (AdaptiveCards
issues #5590, #4677; msteams-docs #5793), so a stray `\` may be visible there. That costs
looks, not safety: the construct is still broken up. Bare URLs may be auto-linked by the
client; they show the real address, so they cannot disguise a link.

`plain` is for fields that are *not* Markdown (input labels, choice titles, action titles,
placeholders): only the angle brackets are replaced, so no backslash is ever shown there.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

_INLINE = re.compile(r"([\\*_\[\]`~&{}#])")
# A list marker or heading at the start of a line (after optional indentation).
_LINE_START = re.compile(r"^(\s*)([-+]|\d+(?=[.)]))", re.MULTILINE)
_ANGLES = str.maketrans({"<": "\uff1c", ">": "\uff1e"})


def escape(text: str) -> str:
    """Escape text for a Markdown field (TextBlock, Fact) so that it shows literally.

    Args:
        text: user or engine text, as typed.

    Returns:
        The text with Markdown metacharacters backslash-escaped and `<`, `>` replaced by
        their fullwidth forms.
    """
    escaped = _INLINE.sub(r"\\\1", text)
    escaped = _LINE_START.sub(_escape_marker, escaped)
    return escaped.translate(_ANGLES)


def _escape_marker(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker in "-+":
        return f"{indent}\\{marker}"
    # "12." / "12)": escape the punctuation after the digits (CommonMark's own advice).
    return f"{indent}{marker}\\"


def plain(text: str) -> str:
    """Make text safe for a plain-text card field (labels, choice and action titles).

    Args:
        text: user or engine text.

    Returns:
        The text with `<` and `>` replaced by their fullwidth forms.
    """
    return text.translate(_ANGLES)


def clip(text: str, limit: int) -> str:
    """Cut raw text to at most `limit` characters, marking a cut with "…".

    Cut *before* escaping, so that an escape sequence is never split in half.

    Args:
        text: the raw text.
        limit: the maximum length (at least 1).

    Returns:
        The text, or its first `limit - 1` characters followed by "…".
    """
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS

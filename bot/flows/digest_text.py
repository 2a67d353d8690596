"""A compact plain-text rendering of a digest, for the web console and the logs.

Chat platforms get their own renderers (Block Kit, Adaptive Cards); this one is the
lowest common denominator: lines of plain text with small bars and arrows, so that a
digest reads at a glance in a terminal. Stakeholders' text is kept as data (whitespace
folded onto one line) and is not escaped here: each renderer that embeds these lines in
markup escapes them.
"""

from __future__ import annotations

from datetime import datetime

from bot.flows.digest_model import (
    ConversationDigest,
    Digest,
    GroupParticipation,
    QuestionRollup,
)

BAR_WIDTH = 10
FULL, EMPTY = "▇", "░"
_TEXT_LIMIT = 300
_TYPE_NAMES = {
    "text": "text",
    "rating": "rating 1-5",
    "single_choice": "one choice",
    "multiple_choice": "several choices",
    "yes_no": "yes/no",
}


def render_digest_text(digest: Digest) -> list[str]:
    """Render a digest as plain-text lines.

    Args:
        digest: the digest to render.

    Returns:
        Lines without trailing newlines: a header, the maturity stage and next move (for the
        enterprise view), then each conversation's participation and question roll-ups.
    """
    scope = "all conversations" if digest.scope == "all" else digest.scope
    which = "" if digest.which == "last" else ", previous round"
    lines = [
        f"Strategy digest for {digest.organisation} ({scope}{which})"
        f" - generated {_when(digest.generated_at)}"
    ]
    if digest.maturity is not None:
        m = digest.maturity
        line = (
            f"Social maturity: {m.stage} (internal {avg(m.internal)}, external {avg(m.external)})"
        )
        if m.previous_stage is not None:
            line += (
                f"; previously {m.previous_stage}"
                if m.previous_stage != m.stage
                else "; unchanged since the previous rounds"
            )
        lines += [line, f"Next move: {m.next_move}"]
    for conv in digest.conversations:
        lines.append("")
        lines += _conversation(conv)
    return lines


def _conversation(conv: ConversationDigest) -> list[str]:
    if conv.status == "none" or conv.round_number is None:
        return [f"== {conv.title} ({conv.conversation_key}): no round yet =="]
    if conv.status == "open":
        state = "open, partial"
        if conv.deadline is not None:
            state += f"; closes {_when(conv.deadline)}"
    else:
        state = "closed"
        if conv.closed_at is not None:
            state += f" {_when(conv.closed_at)}"
    lines = [f"== {conv.title} - round {conv.round_number} ({state}) =="]
    if conv.anonymous:
        lines.append("Anonymous: answers are shown without names.")
    answered = f"Answered: {bar(conv.answered, conv.invited)}"
    if conv.partly:
        answered += f", {conv.partly} partly"
    if conv.previous_answered is not None and conv.previous_invited is not None:
        answered += (
            f" (round {conv.previous_round_number}: {conv.previous_answered}"
            f"/{conv.previous_invited}, {arrow(conv.answered - conv.previous_answered)})"
        )
    lines.append(answered)
    width = max((len(g.title) for g in conv.participation), default=0)
    lines += [_group(g, width) for g in conv.participation]
    for number, question in enumerate(conv.questions, start=1):
        lines += _question(number, question)
    return lines


def _group(group: GroupParticipation, width: int) -> str:
    line = f"  {group.title.ljust(width)}  {bar(group.answered, group.invited)}"
    if group.partly:
        line += f", {group.partly} partly"
    if group.skipped:
        line += f", {group.skipped} skipped"
    if group.missing:
        line += f"; waiting for {', '.join(group.missing)}"
    return line


def _question(number: int, q: QuestionRollup) -> list[str]:
    head = f"Q{number}. {_fold(q.text)} [{_TYPE_NAMES[q.type]}]"
    lines = [head]
    tally = f"{q.answered} answered" + (f", {q.skipped} skipped" if q.skipped else "")
    if q.rating is not None:
        r = q.rating
        line = f"  mean {avg(r.mean)} of 5 ({tally})"
        if r.mean is not None and r.previous_mean is not None:
            line += f" {arrow(r.mean - r.previous_mean)} since last round ({avg(r.previous_mean)})"
        lines.append(line)
        spread = "  ".join(
            f"{score}{'=' + r.labels[score] if score in r.labels else ''}:"
            f" {r.distribution.get(score, 0)}"
            for score in range(1, 6)
        )
        lines.append(f"  {spread}")
    elif q.choices is not None:
        lines.append(f"  ({tally})")
        previous = q.choices.previous_counts
        for option, count in q.choices.counts.items():
            line = f"  {_fold(option)}: {count}"
            if previous is not None:
                line += f" ({arrow(count - previous.get(option, 0))})"
            lines.append(line)
    else:
        lines.append(f"  ({tally})")
        for answer in q.texts:
            who = answer.author or "anonymous"
            if answer.group_key:
                who += f", {answer.group_key}"
            lines.append(f'  - "{_fold(answer.text)}" ({who})')
    return lines


def bar(done: int, total: int) -> str:
    """A participation bar such as `▇▇▇░░░ 3/6` (shared by the text and Slack renderers)."""
    if total <= 0:
        return f"{EMPTY} 0/0"
    width = min(total, BAR_WIDTH)
    filled = round(width * min(max(done, 0), total) / total)
    return f"{FULL * filled}{EMPTY * (width - filled)} {done}/{total}"


def arrow(delta: float) -> str:
    """A change since the previous round: `▲ +0.4`, `▼ -1`, `= 0`."""
    text = f"{abs(delta):.2f}".rstrip("0").rstrip(".")
    if text in ("0", ""):
        return "= 0"
    return f"▲ +{text}" if delta > 0 else f"▼ -{text}"


def avg(value: float | None) -> str:
    """A mean with two decimals, or `n/a`."""
    return "n/a" if value is None else f"{value:.2f}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _fold(text: str) -> str:
    folded = " ".join(text.split())
    return folded if len(folded) <= _TEXT_LIMIT else folded[: _TEXT_LIMIT - 1] + "…"

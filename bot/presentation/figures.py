"""Number formats, decided once: means, percentages, changes and text bars.

Every platform shows the same figures because they are formatted here, when the view is
built; the layouts only place them. Text bars (`text_bar`) are how Slack, Teams and plain
text draw a bar; the console draws its own from the same part and whole.
"""

from __future__ import annotations

from typing import Literal

from bot import messages
from bot.presentation.sections import Span

BAR_CELLS = 10
FULL, EMPTY = "▇", "░"
MISSING = "\u2013"  # a mean with no answers to average


def one_decimal(value: float | None) -> str:
    """A mean on the 1-5 scale: one decimal, or an en dash when there is none."""
    return MISSING if value is None else f"{value:.1f}"


def percent(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, or None when `whole` is 0."""
    return part / whole * 100 if whole else None


def change(now: float | None, before: float | None, digits: int = 0, unit: str = "") -> Span | None:
    """A change since the previous round: `▲ 0.4`, `▼ 17 pts`, `= 0`.

    Args:
        now: this round's figure.
        before: the previous round's figure.
        digits: decimals shown.
        unit: appended to the amount (" pts").

    Returns:
        A span marked with its direction, or None when there is nothing to compare.
    """
    if now is None or before is None:
        return None
    delta = now - before
    amount = f"{abs(delta):.{digits}f}"
    if float(amount) == 0:
        return Span(text=f"= 0{unit}", role="delta", change="same")
    if delta > 0:
        return Span(text=f"▲ {amount}{unit}", role="delta", change="up")
    return Span(text=f"▼ {amount}{unit}", role="delta", change="down")


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
    return FULL * filled + EMPTY * (width - filled)


def figure(value: float, unit: str | None) -> str:
    """A measure in its unit: "42%", "3.5 hours", "1,200"."""
    return messages.figure(value, unit)


def measure_change(
    now: float | None, before: float | None, better: Literal["higher", "lower"], unit: str | None
) -> Span | None:
    """A measure's change: its arrow shows the direction, its mark whether that is better.

    "▲ 4%" for a rise; `change` is "up" (shown as good) when the move is the better way,
    "down" when it is the worse way, whichever way the figure itself moved.
    """
    if now is None or before is None:
        return None
    delta = now - before
    if delta == 0:
        return Span(text="= 0", role="delta", change="same")
    arrow = "▲" if delta > 0 else "▼"
    improved = (delta > 0) == (better == "higher")
    return Span(
        text=f"{arrow} {figure(abs(delta), unit)}",
        role="delta",
        change="up" if improved else "down",
    )


def target_line(
    value: float, target: float, better: Literal["higher", "lower"], unit: str | None
) -> str:
    """Where a measure stands against its target."""
    met = value >= target if better == "higher" else value <= target
    return (
        messages.target_met(figure(target, unit))
        if met
        else messages.target_missed(figure(target, unit))
    )

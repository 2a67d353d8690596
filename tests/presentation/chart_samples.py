"""A two-line chart and a digest view around sections, for the platform layout tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.presentation.sections import Chart, Heading, Section, Series, Span, View


def two_lines(
    title: str,
    categories: Sequence[str],
    internal: Sequence[float],
    external: Sequence[float],
    /,
    **kw: Any,
) -> Chart:
    """Internal and external means over rounds, with their figures in words."""

    def words(name: str, values: Sequence[float]) -> tuple[Span]:
        shown = (str(Decimal(str(v)).quantize(Decimal("0.1"), ROUND_HALF_UP)) for v in values)
        return (Span(text=f"{name}: " + " → ".join(shown)),)

    defaults: dict[str, Any] = {
        "kind": "line",
        "title": title,
        "categories": tuple(categories),
        "series": (
            Series(name="Internal", values=tuple(internal)),
            Series(name="External", values=tuple(external)),
        ),
        "x_label": "Rounds",
        "y_label": "Mean (1-5)",
        "described": (words("Internal", internal), words("External", external)),
    }
    return Chart(**{**defaults, **kw})


def digest_view(*sections: Section) -> View:
    """A digest whose only other section is its title."""
    return View(kind="digest", sections=(Heading(text="Digest", level=1), *sections), fallback="x")

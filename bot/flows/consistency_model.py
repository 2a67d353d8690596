"""The consistency view as the digest carries it: what the CIO could make consistent.

Seed 001 asks who makes sure the six conversations are consistent with each other. Built
by `bot.flows.consistency` from closed rounds only, worded by
`bot.presentation.listening`. Every item has a stable `id` (the same finding gives the
same id in the next digest), so a later follow-up can name it, and an `action`: what the
CIO could do about it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.flows.themes_model import Theme, ThemeQuote


class _D(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Across(_D):
    """A theme raised in two or more conversations, with a quote from each where it can."""

    id: str
    theme: Theme
    action: str


class Handoff(_D):
    """Raised in one conversation, in the words of another conversation's area."""

    id: str
    from_key: str
    from_title: str
    to_key: str
    to_title: str
    words: tuple[str, ...]  # the area's words found, as the playbook writes them
    people: int
    quotes: tuple[ThemeQuote, ...]
    action: str


class Figure(_D):
    """One conversation's (or group's) mean of a rating, from its latest closed round."""

    key: str
    title: str
    value: float
    round_number: int


class Divergence(_D):
    """The same rating far apart: across conversations, or across one conversation's groups.

    `what` is the maturity axis ("Internal maturity") or the question's name; `figures`
    are highest first; `spread` is highest minus lowest.
    """

    id: str
    kind: Literal["conversations", "groups"]
    what: str
    conversation_key: str | None = None  # kind "groups": whose groups
    conversation_title: str | None = None
    figures: tuple[Figure, ...]
    spread: float
    action: str


class Gap(_D):
    """A gap: a conversation overdue, or a group silent in its last two closed rounds.

    `overdue`: no closed round in `periods` cadence periods since `since`; `absent_group`:
    `group_key` answered nothing in the conversation's `rounds`.
    """

    id: str
    kind: Literal["overdue", "absent_group"]
    conversation_key: str
    conversation_title: str
    since: datetime | None = None
    periods: int | None = None
    group_key: str | None = None
    group_title: str | None = None
    rounds: tuple[int, ...] = ()
    action: str


class Consistency(_D):
    """Across the six: themes, topics in several conversations, hand-offs, divergence, gaps.

    `rounds` says what it read: each conversation's latest closed round (key, number).
    """

    rounds: tuple[tuple[str, int], ...] = ()
    themes: tuple[Theme, ...] = ()
    # Only with a summariser configured (off by default): its few sentences and where the
    # answers went, or `summary_failed` when it gave none this time (the themes stand).
    summary: str | None = None
    summary_source: str | None = None
    summary_failed: bool = False
    across: tuple[Across, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    divergences: tuple[Divergence, ...] = ()
    gaps: tuple[Gap, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to show: no theme and no item."""
        return not (self.themes or self.across or self.handoffs or self.divergences or self.gaps)

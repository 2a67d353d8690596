"""Themes as the digest carries them: a topic, who raised it where, and the quotes behind it.

Built by `bot.flows.themes`, worded by `bot.presentation.listening`. A quote from an
anonymous conversation has no `author`, so no renderer can show one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _D(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ThemeQuote(_D):
    """An answer that holds the theme (cut around it when long); `author` None: anonymous."""

    text: str
    author: str | None = None
    conversation_key: str
    conversation_title: str
    group_title: str | None = None


class Theme(_D):
    """A recurring topic: `key` is stable (its folded words), `label` as people typed it."""

    key: str
    label: str
    people: int
    answers: int
    conversations: tuple[str, ...]  # keys, sorted
    conversation_titles: tuple[str, ...]  # in the same order
    groups: tuple[str, ...] = ()
    group_titles: tuple[str, ...] = ()
    quotes: tuple[ThemeQuote, ...] = ()

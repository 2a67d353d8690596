"""The CIO's strategy view, before any renderer touches it: where each conversation stands.

Built by `bot.flows.history` (what each conversation's closed rounds said, over time) and
`bot.flows.strategy` (standings, what needs the CIO, the maturity map); carried inside
`bot.flows.digest_model.Digest` and worded by `bot.presentation.summary`.

Every figure here comes from closed rounds only: an open round is still filling up, and a
comparison with it would read as a fall. Each carries its round numbers so a reader can
check it against `history <conversation>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

#: The four stages, as English keys: compared, stored in digests and the keys of
#: `messages.NEXT_MOVES`; shown to people as `messages.stage_name(stage)`.
Stage = Literal["laggard", "externally mature", "internally mature", "enterprise maturity"]
Axis = Literal["internal", "external"]
Better = Literal["higher", "lower"]

#: A mean rating of this or more counts as mature on that axis.
MATURITY_THRESHOLD = 3.0


def stage_of(internal: float | None, external: float | None) -> Stage:
    """The seed's four stages, from the two axes' means."""
    inside = internal is not None and internal >= MATURITY_THRESHOLD
    outside = external is not None and external >= MATURITY_THRESHOLD
    if inside and outside:
        return "enterprise maturity"
    if outside:
        return "externally mature"
    if inside:
        return "internally mature"
    return "laggard"


class _D(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrendPoint(_D):
    """One closed round's figure: a rating's mean or a measure's median (None: no answers)."""

    round_number: int
    closed_at: datetime | None = None
    value: float | None = None


class Trend(_D):
    """A rating or number question over a conversation's last closed rounds, oldest first.

    A round that did not ask the question (or asked it as another type) has no point.
    """

    question_id: str
    text: str
    label: str | None = None  # the playbook's short name, for charts
    kind: Literal["rating", "number"]
    unit: str | None = None
    target: float | None = None
    better: Better = "higher"
    maturity: Axis | None = None
    points: tuple[TrendPoint, ...] = ()
    # The roles that may read it, if its question is confidential (`bot.flows.confidential`).
    confidential: tuple[str, ...] | None = None

    @property
    def values(self) -> list[float]:
        """The figures that exist, oldest first."""
        return [p.value for p in self.points if p.value is not None]


class RoundPoint(_D):
    """One closed round of a conversation: when it ran, who took part, where it stood.

    `internal` and `external` are the means of its ratings marked as social maturity
    (`maturity: internal|external` in the playbook), each question weighing the same.
    """

    round_number: int
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    invited: int = 0
    answered: int = 0
    partly: int = 0
    internal: float | None = None
    external: float | None = None

    @property
    def rate(self) -> float | None:
        """Share of those asked who finished, in percent (None: nobody was asked)."""
        return 100.0 * self.answered / self.invited if self.invited else None


class Notable(_D):
    """The biggest change between a conversation's last two closed rounds.

    `what` is "participation" (percent answered) or a question's text; `improved` reads
    the change the way the question says is better.
    """

    what: str
    kind: Literal["participation", "rating", "number"]
    before: float
    after: float
    unit: str | None = None
    improved: bool


class Attention(_D):
    """Something the CIO should act on, with the figures that show it.

    - `overdue`: no round closed in `periods` (two or more) of the conversation's cadence
      periods since `since` (its last close; None: none has ever closed).
    - `silent_group`: `group` (a title) answered nothing in the last closed round, of
      `invited` asked.
    - `drop`: `what` got sharply worse since the previous closed round (`before` → `after`):
      participation by 25 points or more, a rating by 1.0 or more, a measure by a quarter
      of its value or more (in the direction the playbook says is worse).
    """

    kind: Literal["overdue", "silent_group", "drop"]
    since: datetime | None = None
    periods: int | None = None
    group: str | None = None
    invited: int | None = None
    what: str | None = None
    before: float | None = None
    after: float | None = None
    unit: str | None = None


class Standing(_D):
    """One conversation's row of the summary: its last closed round against the one before."""

    conversation_key: str
    title: str
    last: RoundPoint | None = None
    previous: RoundPoint | None = None
    open_round_number: int | None = None
    stage: Stage | None = None
    notable: Notable | None = None
    attention: tuple[Attention, ...] = ()
    rounds: tuple[RoundPoint, ...] = ()  # the last closed rounds, oldest first


class MapPoint(_D):
    """The organisation's place `back` closed rounds ago (0: now).

    Each conversation counts once, with the means of its own round `back` rounds before
    its latest closed one; `conversations` says how many were placed.
    """

    back: int
    internal: float | None
    external: float | None
    stage: Stage
    conversations: int

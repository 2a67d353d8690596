"""The platform-neutral digest: what the CIO reads, before any renderer touches it.

Built by `bot.flows.digest`, rendered by each adapter. Anonymous conversations carry no
names anywhere in here (`author` and `missing` stay empty), so no renderer can leak them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.flows.consistency_model import Consistency
from bot.flows.strategy_model import MapPoint, RoundPoint, Stage, Standing, Trend
from bot.flows.themes_model import Theme
from bot.playbook.model import QuestionType


class _D(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GroupParticipation(_D):
    """How one stakeholder group took part in a round."""

    group_key: str
    title: str
    invited: int
    answered: int  # finished (done), not merely started
    partly: int = 0  # answered some questions, then the round closed before they finished
    skipped: int = 0
    # Display names of those who answered nothing; empty when the conversation is anonymous.
    missing: tuple[str, ...] = ()


class RatingRollup(_D):
    """A rating question's mean and distribution (1..5), and the previous round's mean."""

    mean: float | None
    count: int
    distribution: dict[int, int]
    labels: dict[int, str] = Field(default_factory=dict)
    previous_mean: float | None = None


class NumberRollup(_D):
    """A measure's figures: median and range of the answers, its unit and target.

    `better` says which way is an improvement, so a change reads as better or worse;
    `previous_median` is the previous closed round's, when both rounds are closed.
    """

    median: float | None
    low: float | None
    high: float | None
    count: int
    unit: str | None = None
    target: float | None = None
    better: Literal["higher", "lower"] = "higher"
    previous_median: float | None = None


class ChoiceRollup(_D):
    """Counts per option (also used for yes/no, with options "yes" and "no")."""

    counts: dict[str, int]
    previous_counts: dict[str, int] | None = None


class TextAnswer(_D):
    """One free-text answer; `author` is None in anonymous conversations."""

    text: str
    author: str | None = None
    group_key: str | None = None


class QuestionRollup(_D):
    """What a round said about one question."""

    question_id: str
    text: str
    type: QuestionType
    answered: int
    skipped: int
    rating: RatingRollup | None = None
    choices: ChoiceRollup | None = None
    numbers: NumberRollup | None = None
    texts: tuple[TextAnswer, ...] = ()
    # The roles that may read its answers, if it is confidential (`bot.flows.confidential`;
    # empty: nobody may); `withheld`: this view shows only how many answered and skipped.
    confidential: tuple[str, ...] | None = None
    withheld: bool = False


class RecurringChoices(_D):
    """A choice or yes/no question over several rounds: how often each option was chosen."""

    question_id: str
    text: str
    type: QuestionType
    counts: dict[str, int]
    rounds: int  # how many rounds of the range asked it
    # The roles that may read it, if it is confidential (empty: nobody, see `combine`).
    confidential: tuple[str, ...] | None = None


class ConversationDigest(_D):
    """One conversation's round, rolled up, compared with its previous round.

    The people counted agree everywhere: `answered` finished, `partly` answered some
    questions before the round closed, and each question's figures are the answers of
    those two (never of someone who then skipped the round). `previous_*` and each
    question's previous figures are set only when this round and the previous one are
    both closed: an open round is in progress, not a fall.
    """

    conversation_key: str
    title: str
    round_id: int | None
    round_number: int | None
    status: Literal["open", "closed", "none"]
    opened_at: datetime | None = None
    deadline: datetime | None = None
    closed_at: datetime | None = None
    anonymous: bool = False
    invited: int = 0
    answered: int = 0
    partly: int = 0
    previous_round_number: int | None = None
    previous_invited: int | None = None
    previous_answered: int | None = None
    participation: tuple[GroupParticipation, ...] = ()
    questions: tuple[QuestionRollup, ...] = ()
    # The conversation over its last closed rounds (or the range asked for), oldest first.
    rounds: tuple[RoundPoint, ...] = ()
    trends: tuple[Trend, ...] = ()
    # Over a range (`digest <conversation> rounds <n>`): each choice's count, all rounds summed.
    recurring: tuple[RecurringChoices, ...] = ()
    # The recurring topics of its text answers: this round's, or the range's (one conversation).
    themes: tuple[Theme, ...] = ()
    # Set by the view a reader gets (`bot.flows.confidential.view`): how many questions it
    # shows as counts only and whose they are, and the confidential ones it shows in full.
    withheld: int = 0
    withheld_roles: tuple[str, ...] = ()
    revealed: tuple[str, ...] = ()


class Placed(_D):
    """One conversation on the maturity map, from its latest closed round."""

    conversation_key: str
    title: str
    round_number: int
    internal: float | None
    external: float | None
    stage: Stage


class MaturityView(_D):
    """Where the organisation sits on the social-maturity map (seed 004), and how it moved.

    Computed per conversation, not per person: each conversation's latest closed round
    gives its means of the ratings marked `maturity: internal|external`, and the
    organisation's place is the mean of those means (a big group weighs no more than a
    small one; governance ratings are not marked and do not count). A mean of 3 or more is
    mature on that axis. `previous_*` is the same conversations one closed round earlier,
    told only when every conversation placed now has such a round; `history` is the place
    over the last rounds on the same rule, oldest first.
    """

    internal: float | None
    external: float | None
    stage: Stage
    next_move: str
    previous_stage: str | None = None
    previous_internal: float | None = None
    previous_external: float | None = None
    placed: tuple[Placed, ...] = ()
    history: tuple[MapPoint, ...] = ()


class Span(_D):
    """The range a digest covers when asked for one (`digest <conversation> since <date>`)."""

    how: Literal["rounds", "since"]
    rounds: int | None = None
    since: datetime | None = None
    first_round: int
    last_round: int


class Digest(_D):
    """A digest of one conversation, or of all of them (the enterprise view)."""

    scope: str  # a conversation key or "all"
    organisation: str
    generated_at: datetime
    which: Literal["last", "previous"] = "last"
    conversations: tuple[ConversationDigest, ...]
    maturity: MaturityView | None = None
    # The one-screen summary of the enterprise view (scope "all"), one row per conversation.
    standings: tuple[Standing, ...] = ()
    # A digest over a range of closed rounds: "rounds" (the last n) or "since" (a date).
    span: Span | None = None
    # The enterprise view (scope "all"): themes and what to make consistent across the six.
    consistency: Consistency | None = None

"""A conversation's closed rounds over time: participation, maturity, and every trend.

Seed 003 asks for conversations "revisited periodically" and "measured qualitatively and
quantitatively"; this is the measured part. For each conversation it reads its last N
closed rounds (`trend_rounds` in the playbook, default 6) or a range of them, and gives one
`RoundPoint` per round (who took part, the maturity means) and one `Trend` per rating and
number question (its mean or median round by round).

Cost is a fixed four queries whatever the number of rounds, people or answers: the rounds
(one ranked query), participant counts (grouped in SQL), who answered part of a round,
and the rating and number answers only (free text never leaves the database here).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.flows.confidential import Secrets, combine, secrets_of
from bot.flows.strategy_model import Axis, RoundPoint, Trend, TrendPoint
from storage.models import Answer, Participant, Round

#: How many closed rounds a trend covers when the playbook does not say.
DEFAULT_TREND_ROUNDS = 6

_MEASURED = ("rating", "number")
_AXES: tuple[Axis, ...] = ("internal", "external")


@dataclass
class ClosedRound:
    """A closed round as history sees it: its point and its questions' figures.

    `figures` holds the questions everyone may see figures of; a confidential question's
    are kept apart in `hidden` (`bot.flows.confidential`), so what reads `figures` and
    `point` (the maturity map, standings, "needs you", divergences, `history`) never
    carries them. Only a conversation's own trends, shown per viewer, read `hidden`.
    """

    round: Round
    point: RoundPoint
    figures: dict[str, float | None] = field(default_factory=dict)  # question id -> value
    # group key -> (asked, answered all or part): who went silent
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=dict)  # confidential question id -> roles
    hidden: dict[str, float | None] = field(default_factory=dict)

    def figure(self, question_id: str) -> float | None:
        """A question's figure, confidential or not."""
        if question_id in self.secrets:
            return self.hidden.get(question_id)
        return self.figures.get(question_id)


def trend_rounds(spec: dict[str, Any] | None) -> int:
    """How many closed rounds a conversation's trends cover (its playbook setting)."""
    value = (spec or {}).get("trend_rounds")
    return value if isinstance(value, int) and value > 0 else DEFAULT_TREND_ROUNDS


def closed_rounds(
    session: Session,
    conversation_ids: Sequence[int],
    *,
    depth: int,
    since: datetime | None = None,
    up_to_number: int | None = None,
) -> dict[int, list[ClosedRound]]:
    """The newest `depth` closed rounds of each conversation (closed at or after `since`).

    Args:
        session: an open session; only read from.
        conversation_ids: the conversations.
        depth: how many rounds each, at most.
        since: only rounds closed at or after this time.
        up_to_number: only rounds numbered up to this (a closed round's own digest, built
            once it has closed, when a newer round may already be open).

    Returns:
        conversation id -> its closed rounds, newest first.
    """
    filters = [] if since is None else [Round.closed_at >= since]
    newest = newest_rounds(
        session,
        conversation_ids,
        statuses=("closed",),
        depth=depth,
        up_to_number=up_to_number,
        filters=filters,
    )
    rounds = [r for conv in newest.values() for r in conv]
    loaded = _load(session, rounds)
    return {conv: [loaded[r.id] for r in rnds] for conv, rnds in newest.items()}


def newest_rounds(
    session: Session,
    conversation_ids: Sequence[int],
    *,
    statuses: Sequence[str],
    depth: int,
    up_to_number: int | None = None,
    filters: Sequence[Any] = (),
) -> dict[int, list[Round]]:
    """The newest `depth` rounds in these statuses of each conversation, newest first.

    One ranked query (a window function), whatever the number of conversations.
    """
    if not conversation_ids or depth <= 0:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=Round.conversation_id,
            order_by=(Round.number.desc(), Round.id.desc()),
        )
        .label("rank")
    )
    where = [Round.conversation_id.in_(conversation_ids), Round.status.in_(statuses), *filters]
    if up_to_number is not None:
        where.append(Round.number <= up_to_number)
    ranked = select(Round.id, rank).where(*where).subquery()
    stmt = (
        select(Round)
        .join(ranked, ranked.c.id == Round.id)
        .where(ranked.c.rank <= depth)
        .order_by(Round.conversation_id, ranked.c.rank)
    )
    out: dict[int, list[Round]] = defaultdict(list)
    for rnd in session.scalars(stmt):
        out[rnd.conversation_id].append(rnd)
    return out


def trends(history: Sequence[ClosedRound]) -> tuple[Trend, ...]:
    """One trend per rating and number question of the newest round, oldest point first.

    Args:
        history: a conversation's closed rounds, newest first (as `closed_rounds` gives).
    """
    if not history:
        return ()
    oldest_first = list(reversed(history))
    # Confidential in any of the rounds it covers: to the roles they all name.
    secret = combine(*(past.secrets for past in history))
    out = []
    for q in measured_questions(history[0].round):
        points = []
        for past in oldest_first:
            same = _question(past.round, q["id"])
            if same is None or same.get("type") != q["type"]:
                continue  # not asked that round, or asked another way: no point
            points.append(
                TrendPoint(
                    round_number=past.round.number,
                    closed_at=past.round.closed_at,
                    value=past.figure(q["id"]),
                )
            )
        axis = q.get("maturity")
        roles = secret.get(q["id"])
        out.append(
            Trend(
                question_id=q["id"],
                text=str(q.get("text", q["id"])),
                label=q.get("label"),
                kind="rating" if q["type"] == "rating" else "number",
                unit=q.get("unit"),
                target=q.get("target"),
                better="lower" if q.get("better") == "lower" else "higher",
                maturity=axis if axis in _AXES else None,
                points=tuple(points),
                confidential=tuple(sorted(roles)) if roles is not None else None,
            )
        )
    return tuple(out)


def name_of(question: dict[str, Any]) -> str:
    """What the summary calls a question: its playbook label, else its text."""
    return str(question.get("label") or question.get("text") or question.get("id", ""))


def measured_questions(rnd: Round) -> list[dict[str, Any]]:
    """The rating and number questions of a round's agenda, in its order."""
    questions = (rnd.agenda or {}).get("questions") or []
    return [
        q
        for q in questions
        if isinstance(q, dict) and isinstance(q.get("id"), str) and q.get("type") in _MEASURED
    ]


def _question(rnd: Round, question_id: str) -> dict[str, Any] | None:
    for q in measured_questions(rnd):
        if q["id"] == question_id:
            return q
    return None


def _partly(session: Session, ids: Sequence[int]) -> Any:
    """(round id, group, how many) who answered something, then the round closed on them."""
    return session.execute(
        select(
            Participant.round_id, Participant.group_key, func.count(func.distinct(Participant.id))
        )
        .join(Answer, Answer.participant_id == Participant.id)
        .where(
            Participant.round_id.in_(ids),
            Participant.status.in_(("pending", "answering")),
            Answer.skipped.is_(False),
        )
        .group_by(Participant.round_id, Participant.group_key)
    )


def _load(session: Session, rounds: Sequence[Round]) -> dict[int, ClosedRound]:
    ids = [r.id for r in rounds]
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    asked: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for round_id, group_key, status, n in session.execute(
        select(Participant.round_id, Participant.group_key, Participant.status, func.count())
        .where(Participant.round_id.in_(ids))
        .group_by(Participant.round_id, Participant.group_key, Participant.status)
    ):
        counts[round_id][status] += n
        asked[round_id][group_key][0] += n
        if status == "done":
            asked[round_id][group_key][1] += n
    # Answered something, then the round closed on them (as the digest counts "partly").
    partly: dict[int, int] = defaultdict(int)
    for part_round, part_group, n_partly in _partly(session, ids):
        partly[part_round] += n_partly
        asked[part_round][part_group][1] += n_partly
    wanted = {r.id: {q["id"]: q["type"] for q in measured_questions(r)} for r in rounds}
    question_ids = sorted({qid for qs in wanted.values() for qid in qs})
    values: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    if question_ids:
        # Those who sat the round out are not counted, as in the digest.
        for row in session.execute(
            select(Participant.round_id, Answer.question_id, Answer.value)
            .join(Participant, Participant.id == Answer.participant_id)
            .where(
                Participant.round_id.in_(ids),
                Participant.status != "skipped",
                Answer.skipped.is_(False),
                Answer.question_id.in_(question_ids),
            )
        ):
            answer_round: int = row[0]
            qid: str = row[1]
            figure = _figure(wanted[answer_round].get(qid), row[2])
            if figure is not None:
                values[answer_round][qid].append(figure)
    out = {}
    for rnd in rounds:
        by_status = counts.get(rnd.id, {})
        secrets = secrets_of(rnd.conversation.spec, rnd.agenda)
        figures: dict[str, float | None] = {}
        hidden: dict[str, float | None] = {}
        computed: dict[str, float | None] = {}
        for qid, kind in wanted[rnd.id].items():
            given = values[rnd.id].get(qid, [])
            computed[qid] = (
                (_mean(given) if kind == "rating" else _median(given)) if given else None
            )
        if rnd.kept_figures:  # its answers were purged: what was computed from them before
            kept = rnd.kept_figures
            computed = {qid: kept["figures"].get(qid) for qid in wanted[rnd.id]}
            partly[rnd.id] = kept["partly"]
            for group_key, n_kept in kept["partly_by_group"].items():
                if group_key in asked[rnd.id]:
                    asked[rnd.id][group_key][1] += n_kept
        for qid, value in computed.items():
            (hidden if qid in secrets else figures)[qid] = value
        means = _axis_means(rnd, figures)
        point = RoundPoint(
            round_number=rnd.number,
            opened_at=rnd.opened_at,
            closed_at=rnd.closed_at,
            invited=sum(by_status.values()),
            answered=by_status.get("done", 0),
            partly=partly.get(rnd.id, 0),
            internal=means["internal"],
            external=means["external"],
        )
        groups = {key: (a, b) for key, (a, b) in asked[rnd.id].items()}
        out[rnd.id] = ClosedRound(
            round=rnd, point=point, figures=figures, groups=groups, secrets=secrets, hidden=hidden
        )
    return out


def figures_to_keep(session: Session, rounds: Sequence[Round]) -> dict[int, dict[str, Any]]:
    """What history computes from these rounds' answers, to keep once the answers go.

    The retention purge stores it in `Round.kept_figures` before deleting the answers, so
    `_load` gives the same trend points, participation and silent groups afterwards.
    """
    loaded = _load(session, rounds)
    partly_by_group: dict[int, dict[str, int]] = defaultdict(dict)
    for part_round, part_group, n_partly in _partly(session, [r.id for r in rounds]):
        partly_by_group[part_round][part_group] = n_partly
    return {
        rid: {
            "partly": closed.point.partly,
            "partly_by_group": partly_by_group.get(rid, {}),
            # Confidential ones too: kept apart again when read (`hidden`), shown per viewer.
            "figures": {**closed.figures, **closed.hidden},
        }
        for rid, closed in loaded.items()
    }


def _figure(kind: str | None, value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if kind == "rating":
        return float(value) if isinstance(value, int) and 1 <= value <= 5 else None
    return float(value) if kind == "number" else None


def _axis_means(rnd: Round, figures: dict[str, float | None]) -> dict[str, float | None]:
    """Each maturity axis: the mean of its questions' means (each question weighs the same).

    Only from `figures`: a confidential rating never moves the map, whoever reads it.
    """
    by_axis: dict[str, list[float]] = {axis: [] for axis in _AXES}
    for q in measured_questions(rnd):
        axis = q.get("maturity")
        value = figures.get(q["id"])
        if q["type"] == "rating" and axis in by_axis and value is not None:
            by_axis[axis].append(value)
    return {axis: _mean(v) if v else None for axis, v in by_axis.items()}


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return round(sum(items) / len(items), 2)


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 4)

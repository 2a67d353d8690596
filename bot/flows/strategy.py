"""The CIO's strategy view: where each conversation stands, what needs the CIO, the map.

The seeds give the CIO three jobs this answers at a glance: make sure the six
conversations happen and are revisited (seed 003), so each row says when its last round
closed, who took part, and whether it is overdue or a group went silent; measure them, so
each row carries its biggest change since the round before; and place the organisation on
the social-maturity map with the move its stage calls for (seed 004), per conversation,
because the pattern the seed describes ("marketing is externally mature, networking lags")
is exactly what pooling every person's rating would hide.

Everything is read from closed rounds (`bot.flows.history`); the thresholds below are the
product's definitions of "sharp" and "overdue", stated in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.flows.cadence import parse_cadence
from bot.flows.digest_model import MaturityView, Placed
from bot.flows.history import ClosedRound, measured_questions, name_of
from bot.flows.strategy_model import (
    Attention,
    MapPoint,
    Notable,
    Standing,
    stage_of,
)
from bot.playbook.durations import parse_duration
from storage.models import Conversation

#: A fall of this much in a rating's mean, between two closed rounds, needs the CIO.
SHARP_RATING_DROP = 1.0
#: A fall of this many percentage points in participation needs the CIO.
SHARP_PARTICIPATION_DROP = 25.0
#: A measure that got this much worse (a share of its previous value) needs the CIO.
SHARP_MEASURE_CHANGE = 0.25
#: This many cadence periods without a closed round makes a conversation overdue.
OVERDUE_PERIODS = 2
# Smaller changes are not "notable": a row says nothing rather than report noise.
_NOTABLE = {"participation": 10.0, "rating": 0.3, "number": 0.10}


def standing(
    conv: Conversation,
    history: Sequence[ClosedRound],
    *,
    open_round_number: int | None,
    group_titles: dict[str, str],
    now: datetime,
) -> Standing:
    """One conversation's row: its last closed round, against the one before it.

    Args:
        conv: the conversation.
        history: its closed rounds, newest first.
        open_round_number: the round open now, if any.
        group_titles: group key -> title, for a silent group.
        now: the time of the digest (for "overdue").
    """
    last = history[0] if history else None
    previous = history[1] if len(history) > 1 else None
    attention: list[Attention] = []
    overdue = _overdue(conv, last, now)
    if overdue is not None:
        attention.append(overdue)
    if last is not None:
        attention += _silent_groups(last, group_titles)
    if last is not None and previous is not None:
        attention += _drops(last, previous)
    stage = None
    if last is not None and (last.point.internal is not None or last.point.external is not None):
        stage = stage_of(last.point.internal, last.point.external)
    return Standing(
        conversation_key=conv.key,
        title=conv.title,
        last=last.point if last else None,
        previous=previous.point if previous else None,
        open_round_number=open_round_number,
        stage=stage,
        notable=_notable(last, previous) if last and previous else None,
        attention=tuple(attention),
        rounds=tuple(c.point for c in reversed(history)),
    )


def maturity(
    convs: Sequence[Conversation], histories: dict[int, list[ClosedRound]], *, depth: int
) -> MaturityView | None:
    """The organisation on the map: the mean of each conversation's own means.

    Returns:
        None while no closed round has rated maturity (placing it would be a guess).
    """
    placed = []
    for conv in convs:
        rounds = histories.get(conv.id) or []
        if rounds and _rated(rounds[0]):
            p = rounds[0].point
            placed.append(
                Placed(
                    conversation_key=conv.key,
                    title=conv.title,
                    round_number=p.round_number,
                    internal=p.internal,
                    external=p.external,
                    stage=stage_of(p.internal, p.external),
                )
            )
    if not placed:
        return None
    keys = {p.conversation_key for p in placed}
    history = []
    for back in range(depth):
        # The same conversations each time, each `back` rounds before its latest: a place
        # averaged over other conversations would not be a movement.
        rows = [
            (histories.get(c.id) or [])[back]
            for c in convs
            if c.key in keys and len(histories.get(c.id) or []) > back
        ]
        if len(rows) < len(keys) or not all(_rated(r) for r in rows):
            break
        internal = _mean([r.point.internal for r in rows])
        external = _mean([r.point.external for r in rows])
        history.append(
            MapPoint(
                back=back,
                internal=internal,
                external=external,
                stage=stage_of(internal, external),
                conversations=len(rows),
            )
        )
    now_point = history[0] if history else None
    before = history[1] if len(history) > 1 else None
    internal = _mean([p.internal for p in placed])
    external = _mean([p.external for p in placed])
    stage = now_point.stage if now_point is not None else stage_of(internal, external)
    return MaturityView(
        internal=internal,
        external=external,
        stage=stage,
        next_move=messages.NEXT_MOVES[stage],
        previous_stage=before.stage if before else None,
        previous_internal=before.internal if before else None,
        previous_external=before.external if before else None,
        placed=tuple(placed),
        history=tuple(reversed(history)),
    )


def _rated(closed: ClosedRound) -> bool:
    return closed.point.internal is not None or closed.point.external is not None


def _mean(values: Sequence[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    return round(sum(given) / len(given), 2) if given else None


def _overdue(conv: Conversation, last: ClosedRound | None, now: datetime) -> Attention | None:
    """Two or more rounds should have closed since the last one did (or since care began)."""
    if conv.paused:
        return None  # paused on purpose: the status command says so
    since = last.round.closed_at if last is not None else None
    start = since or conv.scheduled_since
    if start is None:
        return None
    try:
        cadence = parse_cadence(conv.cadence_override or conv.cadence)
        window = parse_duration((conv.spec or {}).get("response_window") or "3 days")
    except ValueError:
        return None  # a cadence this version cannot read: `status` reports it
    start = _aware(start)
    periods = 0
    at = start
    while periods < 100:
        at = cadence.next_after(at)
        if at + window > now:
            break
        periods += 1
    if periods < OVERDUE_PERIODS:
        return None
    return Attention(kind="overdue", since=since, periods=periods)


def overdue(conv: Conversation, last: ClosedRound | None, now: datetime) -> Attention | None:
    """Whether a conversation is overdue: the consistency view's gaps use the same rule."""
    return _overdue(conv, last, now)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _silent_groups(last: ClosedRound, titles: dict[str, str]) -> list[Attention]:
    return [
        Attention(kind="silent_group", group=titles.get(key, key), invited=invited)
        for key, (invited, answered) in sorted(last.groups.items())
        if invited and not answered
    ]


def _drops(last: ClosedRound, previous: ClosedRound) -> list[Attention]:
    out = []
    now_rate, then_rate = last.point.rate, previous.point.rate
    fell = then_rate - now_rate if now_rate is not None and then_rate is not None else 0.0
    if now_rate is not None and then_rate is not None and fell >= SHARP_PARTICIPATION_DROP:
        out.append(
            Attention(
                kind="drop",
                what=messages.PARTICIPATION,
                before=round(then_rate, 1),
                after=round(now_rate, 1),
                unit="%",
            )
        )
    for q, before, after in _compared(last, previous):
        worse = after - before if q.get("better") == "lower" else before - after
        if q["type"] == "rating" and worse >= SHARP_RATING_DROP:
            out.append(Attention(kind="drop", what=name_of(q), before=before, after=after))
        elif q["type"] == "number" and before and worse >= SHARP_MEASURE_CHANGE * abs(before):
            out.append(
                Attention(
                    kind="drop", what=name_of(q), before=before, after=after, unit=q.get("unit")
                )
            )
    return out


def _compared(
    last: ClosedRound, previous: ClosedRound
) -> list[tuple[dict[str, Any], float, float]]:
    """Rating and number questions both rounds asked the same way, with both figures."""
    earlier = {q["id"]: q for q in measured_questions(previous.round)}
    out = []
    for q in measured_questions(last.round):
        before_q = earlier.get(q["id"])
        after = last.figures.get(q["id"])
        before = previous.figures.get(q["id"])
        if before_q is None or before_q.get("type") != q["type"]:
            continue
        if after is None or before is None:
            continue
        out.append((q, before, after))
    return out


def _notable(last: ClosedRound, previous: ClosedRound) -> Notable | None:
    """The biggest change, each kind scaled to its own range, if it is big enough."""
    candidates: list[tuple[float, Notable]] = []
    now_rate, then_rate = last.point.rate, previous.point.rate
    if now_rate is not None and then_rate is not None:
        delta = now_rate - then_rate
        if abs(delta) >= _NOTABLE["participation"]:
            candidates.append(
                (
                    abs(delta) / 100,
                    Notable(
                        what=messages.PARTICIPATION,
                        kind="participation",
                        before=round(then_rate, 1),
                        after=round(now_rate, 1),
                        unit="%",
                        improved=delta > 0,
                    ),
                )
            )
    for q, before, after in _compared(last, previous):
        delta = after - before
        improved = delta < 0 if q.get("better") == "lower" else delta > 0
        if q["type"] == "rating":
            if abs(delta) < _NOTABLE["rating"]:
                continue
            weight = abs(delta) / 4  # a 1-5 scale spans 4
            unit = None
        else:
            if not before or abs(delta) < _NOTABLE["number"] * abs(before):
                continue
            weight = min(abs(delta) / abs(before), 1.0)
            unit = q.get("unit")
        candidates.append(
            (
                weight,
                Notable(
                    what=name_of(q),
                    kind="rating" if q["type"] == "rating" else "number",
                    before=before,
                    after=after,
                    unit=unit,
                    improved=improved,
                ),
            )
        )
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[0])[1]

"""The one screen that opens `digest all`: where every conversation and the organisation stand.

A CIO reads this before anything else, so it answers the seeds' questions in order and
fits one screen of each platform (`tests/presentation/test_one_screen.py` measures it):
where the organisation sits on the social-maturity map and the move its stage calls for,
naming the conversations that make the case (seed 004); one row per conversation with its
last closed round, participation, internal and external maturity with their direction,
and its biggest change (seed 003: measured, revisited); what needs the CIO (an overdue
conversation, a silent group, a sharp drop); and the map as a chart. The trends over
rounds and every conversation's answers follow as `Details` (a thread, a toggle, a
collapsible section), never as one wall.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import messages
from bot.flows.digest_model import Digest, MaturityView
from bot.flows.strategy_model import Attention, Notable, RoundPoint, Standing, Trend, stage_of
from bot.presentation.figures import MISSING, change, figure, one_decimal, percent
from bot.presentation.sections import (
    Cell,
    Chart,
    Context,
    Group,
    Inline,
    Moment,
    Paragraph,
    Row,
    Section,
    Series,
    Span,
    Table,
    Text,
)
from bot.presentation.text import fill

#: At most this many "needs you" items on the summary; the rest are in the details.
ATTENTION_ON_SUMMARY = 4
#: Slack and Teams draw at most this many lines (series) on one chart legibly.
MAX_SERIES = 6


def summary_sections(digest: Digest) -> list[Section]:
    """The summary: the organisation's place, the standings table, what needs the CIO, the map."""
    out: list[Section] = []
    if digest.maturity is not None:
        out.append(placement(digest.maturity))
    if digest.standings:
        out.append(standings_table(digest.standings))
        out.append(attention(digest.standings, limit=ATTENTION_ON_SUMMARY))
    if digest.maturity is not None:
        chart = map_chart(digest.maturity)
        if chart is not None:
            out.append(chart)
    return out


def over_time(digest: Digest) -> list[Section]:
    """The charts over rounds that open the details: the organisation, then participation."""
    out: list[Section] = []
    if digest.maturity is not None:
        chart = maturity_chart(digest.maturity)
        if chart is not None:
            out.append(chart)
    chart = participation_chart(digest.standings)
    if chart is not None:
        out.append(chart)
    if digest.standings and any(s.attention for s in digest.standings):
        out.append(attention(digest.standings, limit=None))
    return out


# --- the organisation's place ---------------------------------------------------------------


def placement(m: MaturityView) -> Group:
    """The stage, its two axes with their movement, and the move, naming who makes the case."""
    moved = ""
    if m.previous_stage is not None:
        moved = (
            messages.maturity_was(m.previous_stage)
            if m.previous_stage != m.stage
            else messages.MATURITY_UNCHANGED
        )
    stage = fill(
        messages.SOCIAL_MATURITY,
        stage=Span(text=messages.stage_name(m.stage), style="strong", role="maturity-stage"),
        change=moved,
    )
    axes: list[Inline] = [
        Span(
            text=messages.placed_on_map(
                one_decimal(m.internal), one_decimal(m.external), len(m.placed)
            )
        )
    ]
    for label, now, before in (
        (messages.MATURITY_INTERNAL, m.internal, m.previous_internal),
        (messages.MATURITY_EXTERNAL, m.external, m.previous_external),
    ):
        delta = change(now, before, 1)
        if delta is not None:
            axes += [Span(text=f" · {label} "), delta]
    ahead = [(p.title, p.stage) for p in m.placed if p.stage != "laggard"]
    lagging = [p.title for p in m.placed if p.stage == "laggard"]
    case = messages.who_makes_the_case(ahead, lagging)
    move = fill(
        messages.NEXT_MOVE,
        label=Span(text=messages.NEXT_MOVE_LABEL, style="strong"),
        move=m.next_move,
    )
    sections: list[Section] = [
        Paragraph(text=stage),
        Context(parts=(tuple(axes),), role="maturity-axes"),
        Paragraph(text=move, role="next-move"),
    ]
    if case:
        sections.append(Paragraph(text=(Span(text=case),), role="the-case"))
    return Group(sections=tuple(sections), role="maturity")


# --- the standings --------------------------------------------------------------------------


def standings_table(standings: Sequence[Standing]) -> Table:
    """One row per conversation: its last closed round against the one before."""
    return Table(
        columns=messages.SUMMARY_COLUMNS,
        rows=tuple(_row(s) for s in standings),
        role="standings",
    )


def _row(s: Standing) -> Row:
    where: list[str] = []
    if s.last is not None:
        where.append(messages.in_round(s.last.round_number))
    else:
        where.append(messages.NO_CLOSED_ROUND)
    if s.open_round_number is not None:
        where.append(messages.open_now(s.open_round_number))
    last, previous = s.last, s.previous
    cells = (
        Cell(text=(Span(text=s.title, style="strong"),), sub=(Span(text=" · ".join(where)),)),
        _answered(last, previous),
        _axis(last.internal if last else None, previous.internal if previous else None),
        _axis(last.external if last else None, previous.external if previous else None),
        Cell(text=(Span(text=messages.stage_name(s.stage) if s.stage else MISSING, role="stage"),)),
        Cell(text=_notable(s.notable)),
    )
    return Row(cells=cells, data={"key": s.conversation_key})


def _answered(last: RoundPoint | None, previous: RoundPoint | None) -> Cell:
    if last is None or last.rate is None:
        return Cell(text=(Span(text=MISSING),))
    text: list[Inline] = [Span(text=f"{last.rate:.0f}%")]
    if previous is not None and previous.rate is not None:
        delta = change(last.rate, previous.rate, 0, " pts")
        if delta is not None:
            text += [Span(text=" "), delta]
    return Cell(text=tuple(text), sub=(Span(text=f"{last.answered}/{last.invited}"),))


def _axis(now: float | None, before: float | None) -> Cell:
    text: list[Inline] = [Span(text=one_decimal(now))]
    delta = change(now, before, 1)
    if delta is not None:
        text += [Span(text=" "), delta]
    return Cell(text=tuple(text))


def _notable(n: Notable | None) -> Text:
    if n is None:
        return (Span(text=MISSING),)
    unit = n.unit if n.kind != "rating" else None
    shown = (
        f"{one_decimal(n.before)} → {one_decimal(n.after)}"
        if n.kind == "rating"
        else f"{figure(round(n.before), unit)} → {figure(round(n.after), unit)}"
    )
    return (
        Span(text=f"{n.what} "),
        Span(text=shown, role="delta", change="up" if n.improved else "down"),
    )


# --- what needs the CIO ---------------------------------------------------------------------


def attention(standings: Sequence[Standing], *, limit: int | None) -> Group:
    """Everything that needs the CIO, most urgent kind first; `limit` items at most."""
    items = [(s, a) for kind in ("overdue", "drop", "silent_group") for s in standings
             for a in s.attention if a.kind == kind]  # fmt: skip
    shown = items if limit is None else items[:limit]
    sections: list[Section] = [
        Paragraph(text=(Span(text=messages.NEEDS_YOU, style="strong"),), role="needs-you")
    ]
    if not items and not any(s.last for s in standings):
        sections.append(Paragraph(text=(Span(text=messages.NOTHING_YET, style="subtle"),)))
    elif not items:
        sections.append(Paragraph(text=(Span(text=messages.NOTHING_NEEDS_YOU),), tone="success"))
    sections += [
        Paragraph(text=_attention_line(s, a), tone="warning", role="attention-item")
        for s, a in shown
    ]
    if len(items) > len(shown):
        sections.append(
            Paragraph(
                text=(Span(text=messages.more_in_details(len(items) - len(shown)), style="subtle"),)
            )
        )
    return Group(sections=tuple(sections), role="attention")


def _attention_line(s: Standing, a: Attention) -> Text:
    number = s.last.round_number if s.last is not None else 0
    match a.kind:
        case "overdue":
            periods = str(a.periods or 0)
            if a.since is None:
                return fill(messages.OVERDUE_NEVER, title=s.title, periods=periods)
            return fill(messages.OVERDUE, title=s.title, periods=periods, when=Moment(at=a.since))
        case "silent_group":
            return (
                Span(text=messages.silent_group(s.title, a.group or "", number, a.invited or 0)),
            )
        case "drop":
            unit = a.unit
            before = _figure(a.before, unit)
            after = _figure(a.after, unit)
            return (Span(text=messages.sharp_drop(s.title, a.what or "", before, after, number)),)
    raise AssertionError(a.kind)  # pragma: no cover - the Literal above is exhaustive


def _figure(value: float | None, unit: str | None) -> str:
    if value is None:
        return MISSING
    if unit is None:
        return one_decimal(value)
    return figure(round(value) if unit == "%" else round(value, 1), unit)


# --- charts ---------------------------------------------------------------------------------


def map_chart(m: MaturityView) -> Chart | None:
    """Each conversation's internal and external means side by side, the line at 3."""
    placed = [p for p in m.placed if p.internal is not None and p.external is not None]
    if not placed:
        return None
    return Chart(
        kind="map",
        title=messages.MAP_CHART,
        categories=tuple(p.title for p in placed),
        series=(
            Series(name=messages.MATURITY_INTERNAL, values=tuple(p.internal or 0 for p in placed)),
            Series(name=messages.MATURITY_EXTERNAL, values=tuple(p.external or 0 for p in placed)),
        ),
        y_label=messages.MEAN_AXIS,
        y_min=0,
        y_max=5,
        threshold=3,
        described=tuple(
            (
                Span(
                    text=f"{p.title}: {messages.MATURITY_INTERNAL.lower()}"
                    f" {one_decimal(p.internal)}, {messages.MATURITY_EXTERNAL.lower()}"
                    f" {one_decimal(p.external)} ({messages.stage_name(p.stage)})"
                ),
            )
            for p in placed
        ),
        role="maturity-map",
    )


def maturity_chart(m: MaturityView) -> Chart | None:
    """The organisation's two means over the last rounds (when it has two or more)."""
    points = [p for p in m.history if p.internal is not None and p.external is not None]
    return _axes_over_time(
        messages.MATURITY_CHART,
        [messages.slot(p.back) for p in points],
        [(p.internal, p.external) for p in points],
    )


def _axes_over_time(
    title: str, categories: Sequence[str], means: Sequence[tuple[float | None, float | None]]
) -> Chart | None:
    """Internal and external means as two lines over rounds (two points at least)."""
    if len(means) < 2:
        return None
    internal = [i or 0.0 for i, _ in means]
    external = [e or 0.0 for _, e in means]
    return Chart(
        kind="line",
        title=_fit(title, 50),
        categories=tuple(categories),
        series=(
            Series(name=messages.MATURITY_INTERNAL, values=tuple(internal)),
            Series(name=messages.MATURITY_EXTERNAL, values=tuple(external)),
        ),
        x_label=messages.ROUNDS_AXIS,
        y_label=messages.MEAN_AXIS,
        y_min=0,
        y_max=5,
        threshold=3,
        described=tuple(
            (Span(text=f"{name}: " + messages.series_of([one_decimal(v) for v in values])),)
            for name, values in (
                (messages.MATURITY_INTERNAL, internal),
                (messages.MATURITY_EXTERNAL, external),
            )
        ),
        role="maturity-over-time",
    )


def participation_chart(standings: Sequence[Standing]) -> Chart | None:
    """Each conversation's share who answered over its last rounds, aligned from the newest."""
    charted = [s for s in standings if len(_rates(s)) >= 2][:MAX_SERIES]
    if not charted:
        return None
    depth = min(len(_rates(s)) for s in charted)
    categories = tuple(messages.slot(back) for back in range(depth - 1, -1, -1))
    series = tuple(
        Series(name=s.title, values=tuple(round(v, 1) for v in _rates(s)[-depth:])) for s in charted
    )
    return Chart(
        kind="line",
        title=messages.PARTICIPATION_CHART,
        categories=categories,
        series=series,
        x_label=messages.ROUNDS_AXIS,
        y_label=messages.PERCENT_AXIS,
        y_min=0,
        y_max=100,
        described=tuple(
            (
                Span(
                    text=f"{s.title}: "
                    + messages.series_of([f"{v:.0f}%" for v in _rates(s)[-depth:]])
                ),
            )
            for s in charted
        ),
        role="participation-over-time",
    )


def _rates(s: Standing) -> list[float]:
    return [r.rate for r in s.rounds if r.rate is not None]


def ratings_chart(
    title: str, rounds: Sequence[RoundPoint], trends: Sequence[Trend]
) -> Chart | None:
    """A conversation's rating means over its rounds (ratings asked in every round shown)."""
    numbers = [r.round_number for r in rounds]
    if len(numbers) < 2:
        return None
    lines = []
    for t in trends:
        by_round = {p.round_number: p.value for p in t.points}
        if t.kind == "rating" and all(by_round.get(n) is not None for n in numbers):
            lines.append((t, tuple(float(by_round[n] or 0) for n in numbers)))
    if not lines:
        return None
    lines = lines[:MAX_SERIES]
    return Chart(
        kind="line",
        title=_fit(messages.RATINGS_CHART.format(title=title), 50),
        categories=tuple(messages.round_short(n) for n in numbers),
        series=tuple(Series(name=t.label or t.text, values=v) for t, v in lines),
        x_label=messages.ROUNDS_AXIS,
        y_label=messages.MEAN_AXIS,
        y_min=0,
        y_max=5,
        described=tuple(
            (Span(text=f"{t.label or t.text}: " + messages.series_of([one_decimal(x) for x in v])),)
            for t, v in lines
        ),
        role="ratings-over-time",
    )


def trend_lines(trends: Sequence[Trend]) -> list[Section]:
    """Each rating and measure over the rounds, in words: "Internal maturity 2.3 → 3.1 → 4.0"."""
    out: list[Section] = []
    for t in trends:
        values = t.values
        if len(values) < 2:
            continue
        shown = [one_decimal(v) if t.kind == "rating" else figure(v, t.unit) for v in values]
        first = t.points[0].round_number
        last = t.points[-1].round_number
        text: list[Inline] = [
            Span(text=f"{t.label or t.text} ", style="strong"),
            Span(text=messages.series_of(shown)),
            Span(text=f" ({messages.range_of(first, last)})", style="subtle"),
        ]
        out.append(Paragraph(text=tuple(text), role="trend"))
    return out


def rate_text(answered: int, invited: int) -> str:
    """A round's participation in a cell: "83%" (or a dash when nobody was asked)."""
    rate = percent(answered, invited)
    return MISSING if rate is None else f"{rate:.0f}%"


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rounds_table(rounds: Sequence[RoundPoint]) -> Table:
    """A conversation's closed rounds, newest first: when, who took part, where it stood."""
    rows = []
    for r in reversed(rounds):
        rated = r.internal is not None or r.external is not None
        closed: Text = (Moment(at=r.closed_at),) if r.closed_at else (Span(text=MISSING),)
        rows.append(
            Row(
                cells=(
                    Cell(text=(Span(text=messages.round_label(r.round_number), style="strong"),)),
                    Cell(text=closed),
                    Cell(
                        text=(Span(text=rate_text(r.answered, r.invited)),),
                        sub=(Span(text=f"{r.answered}/{r.invited}"),),
                    ),
                    Cell(text=(Span(text=one_decimal(r.internal)),)),
                    Cell(text=(Span(text=one_decimal(r.external)),)),
                    Cell(text=(Span(text=stage_of(r.internal, r.external) if rated else MISSING),)),
                ),
                data={"round": str(r.round_number)},
            )
        )
    return Table(columns=messages.HISTORY_COLUMNS, rows=tuple(rows), role="history")


def axes_chart(title: str, rounds: Sequence[RoundPoint]) -> Chart | None:
    """A conversation's internal and external means over its closed rounds."""
    rated = [r for r in rounds if r.internal is not None and r.external is not None]
    return _axes_over_time(
        messages.AXES_CHART.format(title=title),
        [messages.round_short(r.round_number) for r in rated],
        [(r.internal, r.external) for r in rated],
    )

"""The digest as sections: what the CIO reads, worded and numbered once for every platform.

Where the platforms used to disagree, this is the wording kept (Teams' and the console's,
which two of the three already shared): "3 of 6 answered (50%), 1 partly ▲ 17 pts since
round 2"; "3.4 / 5 mean ▲ 0.4 (was 3.0)"; one decimal for means and arrows without a sign
("▲ 0.4", "▼ 1", "= 0"); bars scaled to the largest count; "Did not answer:" (closed) or
"Waiting on:" (open) under each group; a text answer and its author, never a name in an
anonymous conversation; a confidential question its reader may not read as its tally and
who may read it (`bot.flows.confidential`). From Slack's rendering it keeps numbering the questions
("Q1. …"), naming each question's type, "(unchanged)" beside a maturity stage that did
not move, and "No text answers.".
"""

from __future__ import annotations

from bot import messages
from bot.flows.digest_model import (
    ChoiceRollup,
    ConversationDigest,
    Digest,
    GroupParticipation,
    NumberRollup,
    QuestionRollup,
    RatingRollup,
)
from bot.flows.outbound import Heard, History
from bot.playbook.model import QuestionType
from bot.presentation.figures import (
    change,
    figure,
    measure_change,
    one_decimal,
    percent,
    target_line,
)
from bot.presentation.listening import conversation_themes, listening_sections
from bot.presentation.sections import (
    Bar,
    Bars,
    Context,
    Details,
    Group,
    Heading,
    Inline,
    Moment,
    Paragraph,
    Quote,
    Section,
    Span,
    Text,
    View,
)
from bot.presentation.summary import (
    axes_chart,
    over_time,
    ratings_chart,
    rounds_table,
    summary_sections,
    trend_lines,
)
from bot.presentation.text import fill
from bot.presentation.vocabulary import choice_label, present_question

_DOT = " · "


def digest_view(digest: Digest) -> View:
    """A digest of one conversation or of all of them.

    Args:
        digest: the neutral digest.

    Returns:
        Its view: the title and scope, the maturity map (enterprise view), then one group
        per conversation with its participation and a roll-up per question.
    """
    scope = messages.ALL_CONVERSATIONS if digest.scope == "all" else digest.scope
    previous = digest.which == "previous"
    parts: list[Text] = [
        (Span(text=scope, role="scope"),),
        fill(messages.GENERATED, when=Moment(at=digest.generated_at)),
    ]
    if previous:
        parts.append((Span(text=messages.PREVIOUS_ROUND, role="which"),))
    if digest.span is not None:
        parts.append(
            (
                Span(
                    text=messages.range_of(digest.span.first_round, digest.span.last_round),
                    role="range",
                ),
            )
        )
    sections: list[Section] = [
        Heading(text=messages.digest_title(digest.organisation), level=1, role="digest-title"),
        Context(parts=tuple(parts)),
    ]
    if not digest.conversations:
        sections.append(
            Paragraph(text=(Span(text=messages.NO_CONVERSATIONS, style="subtle"),), role="hint")
        )
    if digest.scope == "all":
        # One screen first; the trends and every conversation's round on demand.
        sections += summary_sections(digest)
        # Listening across the six (themes, consistency) comes before the six themselves.
        heard = listening_sections(digest.consistency) if digest.consistency else []
        details = [*over_time(digest), *heard, *(_conversation(c) for c in digest.conversations)]
        if details:
            sections.append(
                Details(label=messages.DETAILS, sections=tuple(details), role="details")
            )
    elif digest.span is not None:
        sections += [_range(c) for c in digest.conversations]
    else:
        sections += [_conversation(c) for c in digest.conversations]
    single = None
    if len(digest.conversations) == 1 and digest.conversations[0].round_number is not None:
        only = digest.conversations[0]
        single = (only.title, only.round_number or 0)
    return View(
        kind="digest",
        sections=tuple(sections),
        fallback=messages.digest_fallback(digest.organisation, scope, previous, single),
        data={"scope": digest.scope},
    )


def _conversation(c: ConversationDigest) -> Group:
    head: list[Section] = [Heading(text=c.title, role="conversation-heading")]
    data = {"key": c.conversation_key}
    if c.status == "none" or c.round_number is None:
        head.append(Context(parts=((Span(text=messages.NO_ROUND_YET),),), role="round"))
        return Group(sections=tuple(head), role="conversation-digest", separator=True, data=data)
    parts: list[Text] = [(Span(text=messages.round_label(c.round_number), role="round-number"),)]
    if c.status == "open":
        parts.append((Span(text=messages.ROUND_OPEN),))
        if c.deadline is not None:
            parts.append(fill(messages.CLOSES, when=Moment(at=c.deadline)))
    elif c.closed_at is not None:
        parts.append(fill(messages.ROUND_CLOSED, when=Moment(at=c.closed_at)))
    else:
        parts.append((Span(text=messages.ROUND_CLOSED_UNDATED),))
    if c.anonymous:
        parts.append((Span(text=messages.ANONYMOUS_ROUND),))
    head.append(Context(parts=tuple(parts), role="round"))
    head += _confidential(c)
    head.append(Paragraph(text=_total(c), role="participation-total"))
    if c.participation:
        rows = tuple(_group(c, g) for g in c.participation)
        head.append(Bars(rows=rows, role="participation"))
    head += _trends(c)
    head += conversation_themes(c.themes, key=c.conversation_key)
    head += [_rollup(n, q, anonymous=c.anonymous) for n, q in enumerate(c.questions, 1)]
    return Group(sections=tuple(head), role="conversation-digest", separator=True, data=data)


def _confidential(c: ConversationDigest) -> list[Section]:
    """Who reads the confidential answers this view leaves out, and how; or that it shows some."""
    out: list[Section] = []
    if c.withheld:
        how = messages.confidential_how(c.withheld, c.withheld_roles, c.conversation_key)
        out.append(Paragraph(text=(Span(text=how, style="subtle"),), role="confidential-note"))
    if c.revealed:
        read = messages.CONFIDENTIAL_READ
        out.append(Paragraph(text=(Span(text=read, style="strong"),), role="confidential-read"))
    return out


def _trends(c: ConversationDigest) -> list[Section]:
    """The conversation's ratings and measures over its last closed rounds, if two or more."""
    lines = trend_lines(c.trends)
    if not lines:
        return []
    out: list[Section] = [
        Paragraph(text=(Span(text=messages.TRENDS, style="strong"),), role="trends-heading"),
        *lines,
    ]
    chart = ratings_chart(c.title, c.rounds, c.trends)
    if chart is not None:
        out.append(chart)
    return [Group(sections=tuple(out), role="trends", data={"key": c.conversation_key})]


def _range(c: ConversationDigest) -> Group:
    """A conversation over a range of closed rounds: its rounds, trends, recurring choices."""
    sections: list[Section] = [Heading(text=c.title, role="conversation-heading")]
    if c.rounds:
        sections.append(rounds_table(c.rounds))
    sections += _trends(c)
    sections += conversation_themes(c.themes, key=c.conversation_key)
    if c.recurring:
        sections.append(
            Paragraph(text=(Span(text=messages.RECURRING, style="strong"),), role="recurring")
        )
        for r in c.recurring:
            sections.append(Paragraph(text=(Span(text=r.text, style="strong"),)))
            sections.append(
                _choices(QuestionType(r.type), ChoiceRollup(counts=r.counts), over=r.rounds)
            )
    latest = _conversation(c.model_copy(update={"trends": (), "themes": ()}))
    sections.append(Details(label=messages.HISTORY_DETAILS, sections=(latest,), role="details"))
    return Group(sections=tuple(sections), role="range-digest", data={"key": c.conversation_key})


def _total(c: ConversationDigest) -> Text:
    """The participation line: "3 of 6 answered (50%), 1 partly ▲ 17 pts since round 2"."""
    text: list[Inline] = [Span(text=messages.answered_of(c.answered, c.invited))]
    rate = percent(c.answered, c.invited)
    if rate is not None:
        text.append(Span(text=f" ({rate:.0f}%)"))
    if c.partly:
        text.append(Span(text=", " + messages.partly(c.partly)))
    if c.previous_invited is not None and c.previous_answered is not None:
        before = percent(c.previous_answered, c.previous_invited)
        delta = change(rate, before, 0, " pts")
        if delta is not None:
            since = messages.since_round(c.previous_round_number)
            text += [Span(text=" "), delta, Span(text=f" {since}")]
    return tuple(text)


def _group(c: ConversationDigest, g: GroupParticipation) -> Bar:
    figures = [f"{g.answered}/{g.invited}"]
    if g.partly:
        figures.append(messages.partly(g.partly))
    if g.skipped:
        figures.append(messages.skipped_count(g.skipped))
    note = None
    if g.missing and not c.anonymous:
        template = messages.DID_NOT_ANSWER if c.status == "closed" else messages.WAITING_ON
        note = fill(template, names=", ".join(g.missing))
    return Bar(
        label=g.title,
        part=g.answered,
        whole=g.invited,
        value=(Span(text=_DOT.join(figures)),),
        note=note,
        role="group-participation",
    )


def _rollup(number: int, q: QuestionRollup, *, anonymous: bool) -> Group:
    kind = QuestionType(q.type)
    tally = [present_question(kind).name, messages.answered_count(q.answered)]
    if q.skipped:
        tally.append(messages.skipped_count(q.skipped))
    sections: list[Section] = [
        Paragraph(text=(Span(text=messages.question_number(number, q.text), style="strong"),)),
        Context(parts=tuple((Span(text=t),) for t in tally), role="tally"),
    ]
    if q.withheld:  # counts only: the tally above is all this view may read
        note = messages.confidential_withheld(q.confidential or ())
        sections.append(Paragraph(text=(Span(text=note, style="subtle"),), role="confidential"))
        return Group(sections=tuple(sections), role="rollup", data={"question-id": q.question_id})
    if q.confidential is not None:
        shown = messages.confidential_shown(q.confidential)
        sections.append(Context(parts=((Span(text=shown),),), role="confidential"))
    if q.rating is not None:
        sections += _rating(q.rating)
    elif q.choices is not None:
        sections.append(_choices(kind, q.choices))
    elif q.numbers is not None:
        sections.append(_numbers(q.numbers))
    elif not q.texts:
        sections.append(Paragraph(text=(Span(text=messages.NO_TEXT_ANSWERS, style="subtle"),)))
    sections += [
        Quote(text=t.text, who=None if anonymous else t.author, role="text-answer") for t in q.texts
    ]
    return Group(sections=tuple(sections), role="rollup", data={"question-id": q.question_id})


def _rating(r: RatingRollup) -> list[Section]:
    mean: list[Inline] = list(
        fill(messages.RATING_MEAN, mean=Span(text=one_decimal(r.mean), style="strong"))
    )
    delta = change(r.mean, r.previous_mean, 1)
    if delta is not None:
        mean += [Span(text=" "), delta]
    if r.previous_mean is not None:
        mean.append(Span(text=" " + messages.was(one_decimal(r.previous_mean))))
    top = max((r.distribution.get(n, 0) for n in range(1, 6)), default=0)
    rows = tuple(
        Bar(
            label=messages.option_label(str(n), r.labels.get(n)),
            part=r.distribution.get(n, 0),
            whole=top,
            value=(Span(text=str(r.distribution.get(n, 0))),),
        )
        for n in range(1, 6)
    )
    return [Paragraph(text=tuple(mean), role="rating-mean"), Bars(rows=rows, role="distribution")]


def _numbers(n: NumberRollup) -> Section:
    """A measure: its median and range, the change since the last round, its target."""
    if n.median is None:
        return Paragraph(text=(Span(text=messages.NO_FIGURES, style="subtle"),), role="measure")
    shown: list[Inline] = list(
        fill(messages.MEASURE_MEDIAN, median=Span(text=figure(n.median, n.unit), style="strong"))
    )
    if n.low is not None and n.high is not None and n.low != n.high:
        shown.append(
            Span(text=" " + messages.measure_range(figure(n.low, n.unit), figure(n.high, n.unit)))
        )
    delta = measure_change(n.median, n.previous_median, n.better, n.unit)
    if delta is not None:
        shown += [Span(text=" "), delta]
    if n.previous_median is not None:
        shown.append(Span(text=" " + messages.was(figure(n.previous_median, n.unit))))
    if n.target is not None:
        shown.append(Span(text=" · " + target_line(n.median, n.target, n.better, n.unit)))
    return Paragraph(text=tuple(shown), role="measure")


def _choices(kind: QuestionType, c: ChoiceRollup, *, over: int | None = None) -> Section:
    """Bars for the options chosen; those nobody chose (now or before) on one line."""
    if not c.counts or not any(c.counts.values()):
        return Paragraph(text=(Span(text=messages.NO_CHOICE_ANSWERS, style="subtle"),))
    top = max(c.counts.values(), default=0)
    rows = []
    unchosen = []
    for option, count in c.counts.items():
        before = c.previous_counts.get(option, 0) if c.previous_counts is not None else 0
        if count == 0 and before == 0:
            unchosen.append(choice_label(kind, option))
            continue
        value: list[Inline] = [
            Span(text=messages.chosen_in(count, over) if over is not None else str(count))
        ]
        if c.previous_counts is not None:
            delta = change(count, before)
            if delta is not None:
                value += [Span(text=" "), delta]
        rows.append(
            Bar(label=choice_label(kind, option), part=count, whole=top, value=tuple(value))
        )
    bars = Bars(rows=tuple(rows), role="choice")
    if not unchosen:
        return bars
    rest = Paragraph(text=fill(messages.NOT_CHOSEN, options=", ".join(unchosen)), role="not-chosen")
    return Group(sections=(bars, rest), role="choices")


def history_view(h: History) -> View:
    """`history <conversation>`: its closed rounds, newest first, and its maturity chart."""
    sections: list[Section] = [
        Heading(text=messages.history_title(h.title), level=1, role="history-title")
    ]
    parts: list[Text] = []
    if h.open_round_number is not None:
        parts.append((Span(text=messages.open_now(h.open_round_number)),))
    if h.more:
        parts.append((Span(text=messages.showing_last(len(h.rounds), h.more)),))
    if parts:
        sections.append(Context(parts=tuple(parts)))
    if not h.rounds:
        sections.append(Paragraph(text=(Span(text=messages.NO_HISTORY, style="subtle"),)))
    else:
        sections.append(rounds_table(h.rounds))
        chart = axes_chart(h.title, h.rounds)
        if chart is not None:
            sections.append(chart)
    return View(
        kind="digest",
        sections=tuple(sections),
        fallback=messages.history_fallback(h.title, len(h.rounds)),
        data={"scope": h.conversation_key},
    )


def heard_view(h: Heard) -> View:
    """A round's "what we heard": figures only, never a name or someone's own words."""
    sections: list[Section] = [
        Heading(text=messages.heard_title(h.conversation_title, h.round_number), level=1),
        Paragraph(text=(Span(text=messages.heard_thanks(h.answered, h.invited)),)),
    ]
    for q in h.questions:
        sections.append(Paragraph(text=(Span(text=q.text, style="strong"),)))
        if q.withheld:
            told = messages.heard_confidential(q.answered, q.confidential or ())
            sections.append(Paragraph(text=(Span(text=told, style="subtle"),), role="confidential"))
        elif q.rating is not None:
            mean = fill(
                messages.RATING_MEAN, mean=Span(text=one_decimal(q.rating.mean), style="strong")
            )
            sections.append(Paragraph(text=mean, role="rating-mean"))
        elif q.numbers is not None:
            sections.append(_numbers(q.numbers.model_copy(update={"previous_median": None})))
        elif q.choices is not None:
            sections.append(_choices(QuestionType(q.type), ChoiceRollup(counts=q.choices.counts)))
        else:
            sections.append(
                Paragraph(text=(Span(text=messages.heard_texts(q.answered), style="subtle"),))
            )
    if h.withheld:
        sections.append(
            Paragraph(text=(Span(text=messages.heard_withheld(h.withheld), style="subtle"),))
        )
    if h.next_looks:
        looks = "; ".join(h.next_looks)
        sections.append(Paragraph(text=fill(messages.HEARD_NEXT, looks=looks), role="next-look"))
    if h.next_round is not None:
        sections.append(
            Context(parts=(fill(messages.HEARD_NEXT_ROUND, when=Moment(at=h.next_round)),))
        )
    return View(
        kind="notice",
        sections=tuple(sections),
        fallback=messages.heard_fallback(h.conversation_title, h.round_number),
        data={"round": str(h.round_id)},
    )

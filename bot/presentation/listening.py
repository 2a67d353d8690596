"""Listening across the six, as sections: themes, and what the CIO could make consistent.

Shown in two places: inside the details of `digest all` (never on its one-screen summary,
which has its own budget) and as the `consistency` command's reply. Only the existing
section types are used (headings, paragraphs, contexts, quotes, facts, groups), so Slack,
Teams and the console lay it out with no code of their own.

A quote says who said it and where; in an anonymous conversation it says only the
conversation (a group may be one person), never a name. Every item ends with what the CIO
could do and its stable id (`across:…`, `handoff:…`, `divergence:…`, `gap:…`), which a
later follow-up can name.
"""

from __future__ import annotations

from bot import messages
from bot.flows.consistency_model import Across, Consistency, Divergence, Gap, Handoff
from bot.flows.outbound import ConsistencyMessage
from bot.flows.themes_model import Theme, ThemeQuote
from bot.presentation.figures import one_decimal
from bot.presentation.sections import (
    Context,
    Fact,
    Facts,
    Group,
    Heading,
    Moment,
    Paragraph,
    Quote,
    Section,
    Span,
    View,
)
from bot.presentation.text import fill

#: Quotes per theme or item in the digest's details (the command shows up to three).
DIGEST_QUOTES = 2


def listening_sections(c: Consistency, *, quotes: int = DIGEST_QUOTES) -> list[Section]:
    """The themes and the consistency items, as one group (empty: nothing to show)."""
    if not c.rounds:
        return []
    sections: list[Section] = [Heading(text=messages.LISTENING_TITLE, role="listening-title")]
    sections += _items(c, quotes=quotes)
    return [Group(sections=tuple(sections), role="listening", separator=True)]


def conversation_themes(themes: tuple[Theme, ...], *, key: str) -> list[Section]:
    """One conversation's themes, for its digest (nothing when no topic recurs)."""
    if not themes:
        return []
    sections: list[Section] = [
        Paragraph(text=(Span(text=messages.THEMES_HEADING, style="strong"),), role="themes"),
        Context(parts=((Span(text=messages.CONVERSATION_THEMES_HOW),),), role="themes-how"),
        *(_theme(t, DIGEST_QUOTES) for t in themes),
    ]
    return [Group(sections=tuple(sections), role="conversation-themes", data={"key": key})]


def consistency_view(m: ConsistencyMessage) -> View:
    """`consistency`: the same sections, on their own, with up to three quotes each."""
    c = m.consistency
    sections: list[Section] = [
        Heading(text=messages.CONSISTENCY_TITLE, level=1, role="consistency-title"),
        Context(
            parts=(
                (Span(text=m.organisation),),
                fill(messages.GENERATED, when=Moment(at=m.generated_at)),
            )
        ),
    ]
    if not c.rounds:
        sections.append(Paragraph(text=(Span(text=messages.NO_CLOSED_ROUNDS_YET, style="subtle"),)))
    else:
        sections += _items(c, quotes=3)
    count = len(c.across) + len(c.handoffs) + len(c.divergences) + len(c.gaps)
    return View(
        kind="digest",
        sections=tuple(sections),
        fallback=messages.consistency_fallback(count),
        data={"scope": "consistency"},
    )


def _summary(c: Consistency) -> list[Section]:
    """The language model's sentences (only when configured), or why there are none."""
    if c.summary is not None:
        return [
            Paragraph(text=(Span(text=c.summary),), role="summary"),
            Context(
                parts=((Span(text=messages.summary_by(c.summary_source or "")),),),
                role="summary-source",
            ),
        ]
    if c.summary_failed:
        note = messages.summary_failed(c.summary_source or "")
        return [Paragraph(text=(Span(text=note, style="subtle"),), role="summary-failed")]
    return []


def _items(c: Consistency, *, quotes: int) -> list[Section]:
    out: list[Section] = _summary(c)
    if not (c.across or c.handoffs or c.divergences or c.gaps):
        out.append(Paragraph(text=(Span(text=messages.CONSISTENT_SO_FAR),), role="consistent"))
    if c.across:
        out.append(Heading(text=messages.ACROSS_HEADING, level=3, role="across-heading"))
        out += [_across(a, quotes) for a in c.across]
    if c.handoffs:
        out.append(Heading(text=messages.HANDOFFS_HEADING, level=3, role="handoffs-heading"))
        out += [_handoff(h, quotes) for h in c.handoffs]
    if c.divergences:
        out.append(Heading(text=messages.DIVERGENCE_HEADING, level=3, role="divergence-heading"))
        out += [_divergence(d) for d in c.divergences]
    if c.gaps:
        out.append(Heading(text=messages.GAPS_HEADING, level=3, role="gaps-heading"))
        out += [_gap(g) for g in c.gaps]
    out.append(Heading(text=messages.THEMES_HEADING, level=3, role="themes-heading"))
    out.append(Context(parts=((Span(text=messages.THEMES_HOW),),), role="themes-how"))
    if not c.themes:
        out.append(Paragraph(text=(Span(text=messages.NO_THEMES, style="subtle"),)))
    # A theme already shown across conversations is one line here, not its quotes again.
    shown = {a.theme.key for a in c.across}
    out += [_theme(t, 0 if t.key in shown else quotes) for t in c.themes]
    return out


def _quote(q: ThemeQuote) -> Quote:
    where = messages.quote_source(q.conversation_title, q.group_title if q.author else None)
    who = f"{q.author} · {where}" if q.author else where
    return Quote(text=q.text, who=who, role="theme-quote")


def _theme_line(t: Theme) -> Paragraph:
    line = messages.theme_line(t.label, t.people, t.conversation_titles)
    return Paragraph(text=(Span(text=line, style="strong"),), role="theme")


def _theme(t: Theme, quotes: int) -> Group:
    sections: list[Section] = [_theme_line(t)]
    if t.group_titles:
        sections.append(Context(parts=((Span(text=messages.theme_groups(t.group_titles)),),)))
    sections += [_quote(q) for q in t.quotes[:quotes]]
    return Group(sections=tuple(sections), role="theme", data={"id": f"theme:{t.key}"})


def _footer(item_id: str, action: str) -> list[Section]:
    return [
        Paragraph(text=fill(messages.SUGGESTED, action=action), role="suggested-action"),
        Context(parts=(fill(messages.ITEM_ID, id=item_id),), role="item-id"),
    ]


def _across(a: Across, quotes: int) -> Group:
    # One quote per conversation first: side by side, who said what, where.
    shown = a.theme.quotes[: max(quotes, min(len(a.theme.conversations), 3))]
    sections: list[Section] = [_theme_line(a.theme), *(_quote(q) for q in shown)]
    sections += _footer(a.id, a.action)
    return Group(sections=tuple(sections), role="across", data={"id": a.id})


def _handoff(h: Handoff, quotes: int) -> Group:
    line = messages.handoff_line(h.from_title, h.to_title, h.words, h.people)
    sections: list[Section] = [Paragraph(text=(Span(text=line, style="strong"),))]
    sections += [_quote(q) for q in h.quotes[:quotes]]
    sections += _footer(h.id, h.action)
    return Group(sections=tuple(sections), role="handoff", data={"id": h.id})


def _divergence(d: Divergence) -> Group:
    line = messages.divergence_line(d.what, one_decimal(d.spread), d.conversation_title)
    rows = tuple(
        Fact(
            label=f.title,
            value=(Span(text=messages.figure_in_round(one_decimal(f.value), f.round_number)),),
            role="divergence-figure",
            data={"key": f.key},
        )
        for f in d.figures
    )
    sections: list[Section] = [
        Paragraph(text=(Span(text=line, style="strong"),)),
        Facts(rows=rows, role="divergence-figures"),
        *_footer(d.id, d.action),
    ]
    return Group(sections=tuple(sections), role="divergence", data={"id": d.id})


def _gap(g: Gap) -> Group:
    if g.kind == "overdue":
        line = messages.overdue_line(g.conversation_title, g.periods)
    else:
        line = messages.absent_line(g.group_title or "", g.conversation_title, g.rounds)
    sections: list[Section] = [
        Paragraph(text=(Span(text=line, style="strong"),)),
        *_footer(g.id, g.action),
    ]
    return Group(sections=tuple(sections), role="gap", data={"id": g.id})

"""The strategy view as Adaptive Cards: Teams' chart elements, tables, and details.

Charts are Teams' `Chart.Line` and `Chart.VerticalBar.Grouped` (Microsoft's "Charts in
Adaptive Cards": `title`, `xAxisTitle`, `yAxisTitle`, `data` of `{legend, values: [{x,
y}]}`), each with a `fallback` that says its figures in words; tables are `Table`
elements (card 1.5); details sit behind an `Action.ToggleVisibility` when small and
follow in cards of their own when large, so that no card passes `CARD_BUDGET`.
`tests/teams/test_cards.py`'s `check_card` validates every card.
"""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.adapters.teams.cards import CARD_BUDGET, TABLE_ROWS, card_size, layout_view
from bot.presentation.sections import (
    Cell,
    Chart,
    Details,
    Paragraph,
    Quote,
    Row,
    Section,
    Series,
    Span,
    Table,
    View,
)
from tests.presentation.chart_samples import digest_view, two_lines
from tests.teams.test_cards import check_card, fw, walk

HOSTILE = "<at>CEO</at> **bold** [x](https://evil.example)"


def chart(**kw: Any) -> Chart:
    return two_lines(
        "The organisation's social maturity",
        ("2 back", "1 back", "now"),
        (2.0, 2.4, 2.6),
        (2.5, 2.5, 3.1),
        **kw,
    )


def view(*sections: Section) -> View:
    return digest_view(*sections)


def cards_of(*sections: Section) -> list[dict[str, Any]]:
    cards = layout_view(view(*sections))
    for card in cards:
        check_card(card)
        assert card_size(card) <= CARD_BUDGET
    return cards


def of_type(card: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in walk(card) if n.get("type") == kind]


def test_a_line_chart_is_a_chart_line_with_its_words_as_fallback() -> None:
    (card,) = cards_of(chart())
    (line,) = of_type(card, "Chart.Line")
    assert {k: v for k, v in line.items() if k != "fallback"} == {
        "type": "Chart.Line",
        "title": "The organisation's social maturity",
        "colorSet": "categorical",
        "xAxisTitle": "Rounds",
        "yAxisTitle": "Mean (1-5)",
        "data": [
            {
                "legend": "Internal",
                "values": [
                    {"x": "2 back", "y": 2.0},
                    {"x": "1 back", "y": 2.4},
                    {"x": "now", "y": 2.6},
                ],
            },
            {
                "legend": "External",
                "values": [
                    {"x": "2 back", "y": 2.5},
                    {"x": "1 back", "y": 2.5},
                    {"x": "now", "y": 3.1},
                ],
            },
        ],
    }
    words = [t["text"] for t in line["fallback"]["items"]]
    assert words == [
        "**The organisation's social maturity**",
        "Internal: 2.0 → 2.4 → 2.6",
        "External: 2.5 → 2.5 → 3.1",
    ]


def test_the_maturity_map_is_a_grouped_bar_chart_showing_its_values() -> None:
    the_map = chart(
        kind="map",
        title=messages.MAP_CHART,
        categories=("Social Media", "Social Networking"),
        x_label=None,
        threshold=3,
        series=(
            Series(name="Internal", values=(2.5, 1.75)),
            Series(name="External", values=(4.5, 2.0)),
        ),
    )
    (card,) = cards_of(the_map)
    (bars,) = of_type(card, "Chart.VerticalBar.Grouped")
    assert bars["showBarValues"] is True
    assert "xAxisTitle" not in bars
    assert [[v["x"] for v in s["values"]] for s in bars["data"]] == [
        ["Social Media", "Social Networking"],
        ["Social Media", "Social Networking"],
    ]


def test_chart_and_table_text_is_escaped() -> None:
    hostile_chart = chart(
        title=HOSTILE,
        categories=(HOSTILE, "now"),
        series=(Series(name=HOSTILE, values=(1.0, 2.0)),),
        described=((Span(text=HOSTILE),),),
    )
    table = Table(
        columns=("Conversation", "Answered"),
        rows=(Row(cells=(Cell(text=(Span(text=HOSTILE),), sub=(Span(text=HOSTILE),)),)),),
    )
    (card,) = cards_of(hostile_chart, table)
    (line,) = of_type(card, "Chart.Line")
    for shown in (line["title"], line["data"][0]["legend"], line["data"][0]["values"][0]["x"]):
        assert shown == fw(HOSTILE)  # plain strings: no tag, mention or link survives
    markdown = [t["text"] for t in of_type(card, "TextBlock")]
    escaped = r"＜at＞CEO＜/at＞ \*\*bold\*\* \[x\](https://evil.example)"  # noqa: RUF001
    assert sum(escaped in t for t in markdown) == 4  # the chart's words, the cell and its sub
    assert not any("<" in t or "**bold**" in t for t in markdown)


def test_a_table_is_a_table_element_with_its_column_titles() -> None:
    table = Table(
        columns=messages.SUMMARY_COLUMNS,
        rows=tuple(
            Row(
                cells=(
                    Cell(
                        text=(Span(text=f"Conversation {n}", style="strong"),),
                        sub=(Span(text="round 3"),),
                    ),
                    Cell(text=(Span(text="67%"),), sub=(Span(text="2/3"),)),
                )
            )
            for n in range(3)
        ),
    )
    (card,) = cards_of(table)
    (element,) = of_type(card, "Table")
    assert element["firstRowAsHeader"] is True
    assert len(element["columns"]) == len(messages.SUMMARY_COLUMNS)
    header, *rows = element["rows"]
    assert [c["items"][0]["text"] for c in header["cells"]] == list(messages.SUMMARY_COLUMNS)
    assert len(rows) == 3
    first = rows[0]["cells"][0]["items"]
    assert first[0]["text"] == "**Conversation 0**"
    assert first[1] == {
        "type": "TextBlock",
        "text": "round 3",
        "wrap": True,
        "size": "Small",
        "isSubtle": True,
        "spacing": "None",
    }


def test_a_long_table_spreads_over_tables_and_cards_each_with_its_header() -> None:
    table = Table(
        columns=messages.HISTORY_COLUMNS,
        rows=tuple(
            Row(cells=tuple(Cell(text=(Span(text=f"round {n} " + "x" * 200),)) for _ in range(6)))
            for n in range(50)
        ),
    )
    cards = cards_of(table)
    assert len(cards) > 1
    tables = [t for card in cards for t in of_type(card, "Table")]
    assert all(len(t["rows"]) <= TABLE_ROWS + 1 for t in tables)
    assert all(t["rows"][0]["cells"][0]["items"][0]["text"] == "Round" for t in tables)
    assert sum(len(t["rows"]) - 1 for t in tables) == 50  # no row lost


def test_small_details_sit_behind_a_toggle_on_the_same_card() -> None:
    small = Details(label=messages.DETAILS, sections=(Paragraph(text=(Span(text="A trend"),)),))
    other = Details(label=messages.DETAILS, sections=(Paragraph(text=(Span(text="More"),)),))
    (card,) = cards_of(Paragraph(text=(Span(text="Summary"),)), small, other)
    toggles = of_type(card, "Action.ToggleVisibility")
    assert [t["title"] for t in toggles] == [messages.DETAILS, messages.DETAILS]
    hidden = [n for n in walk(card) if n.get("isVisible") is False]
    assert [h["id"] for h in hidden] == ["details-1", "details-2"]
    assert [t["targetElements"] for t in toggles] == [["details-1"], ["details-2"]]
    assert hidden[0]["items"][0]["text"] == "A trend"


def test_large_details_follow_in_cards_of_their_own() -> None:
    large = Details(
        label=messages.DETAILS,
        sections=tuple(Quote(text=f"answer {n} " + "y" * 900) for n in range(60)),
    )
    cards = cards_of(Paragraph(text=(Span(text="Summary"),)), chart(), large)
    first, second, *rest = cards
    assert rest, "sixty long answers need several cards"
    assert "answer 0" not in str(first)  # the summary's card keeps to the summary
    assert of_type(first, "Chart.Line")
    assert second["body"][1]["text"] == messages.DETAILS
    assert not any(of_type(card, "Action.ToggleVisibility") for card in cards)
    shown = "".join(str(card) for card in cards)
    assert all(f"answer {n} " in shown for n in range(60))
    assert [c["body"][0]["text"].rsplit("· ", 1)[1] for c in cards] == [
        messages.part_of(n, len(cards)) for n in range(1, len(cards) + 1)
    ]

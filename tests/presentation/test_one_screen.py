"""`digest all` opens with one screen on Slack and Teams, with the maturity map drawn.

After three rounds of all six default conversations (`tests/flows/seeded_history.py`),
the CIO's first Slack message and first Teams card hold the summary only: where the
organisation and each conversation stand, what needs the CIO, and the map as a native
chart; the trends and every conversation's round follow (Slack's thread, Teams' further
cards). The budgets below are what one screen of each holds:

- Slack: at most 10 blocks and 2,500 characters of text in the first message (a laptop's
  Slack window shows about 40 lines of 80 characters beside the sidebar; the chart takes
  about 15 of them), with the map as one `data_visualization` block.
- Teams: the first card at most 12,000 bytes of JSON (half of `CARD_BUDGET`) and 8 body
  elements (title, scope, the organisation's place, the table, what needs the CIO, the
  chart), with the map as one chart element and no details on it.

The map's figures are computed by hand from the planted ratings of each conversation's
round 3 (a conversation's axis is the mean of its maturity ratings).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import messages
from bot.adapters.slack.render import render_message
from bot.adapters.teams.cards import CARD_BUDGET, card_size, render_activity_attachments
from bot.flows.outbound import DigestMessage
from storage.db import Database
from tests.conftest import FakeClock
from tests.flows.seeded_history import digest_all, seed

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

SLACK_BLOCKS = 10
SLACK_CHARACTERS = 2_500
TEAMS_BYTES = 12_000
TEAMS_ELEMENTS = 8

# Round 3's means, internal and external: (2 + 3) / 2, (4 + 5) / 2 for Social Media ...
MAP = {
    "Social Media": (2.5, 4.5),
    "Social Networking": (1.75, 2.0),
    "Social Support": (4.0, 3.5),
    "Social Innovation": (3.0, 2.5),
    "Social Technologies": (2.0, 3.0),
}
TITLES = [*MAP, "Social Liability"]


@pytest.fixture
def digest(db: Database) -> DigestMessage:
    return digest_all(seed(db, FakeClock(START)))


def slack_text(blocks: list[dict[str, Any]]) -> str:
    """The text a reader sees in blocks: every text object, and each chart's title."""
    out: list[str] = []

    def visit(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                out.append(node["text"])
            elif node.get("type") == "data_visualization":
                out.append(node["title"])
            else:
                for value in node.values():
                    visit(value)

    visit(blocks)
    return "\n".join(out)


def test_the_first_slack_message_is_one_screen_with_the_map(digest: DigestMessage) -> None:
    first, *thread = render_message(digest)
    blocks = first["blocks"]
    text = slack_text(blocks)
    assert len(blocks) <= SLACK_BLOCKS, [b["type"] for b in blocks]
    assert len(text) <= SLACK_CHARACTERS, len(text)
    assert "Social maturity: *externally mature* (was laggard)" in text
    assert all(f"*{title}* (round 3)" in text for title in TITLES)
    assert "*Needs you*" in text
    (chart,) = [b for b in blocks if b["type"] == "data_visualization"]
    assert chart["title"] == messages.MAP_CHART
    assert chart["chart"]["axis_config"]["categories"] == list(MAP)
    internal, external = chart["chart"]["series"]
    assert [p["value"] for p in internal["data"]] == [i for i, _ in MAP.values()]
    assert [p["value"] for p in external["data"]] == [e for _, e in MAP.values()]
    assert messages.DETAILS not in text and "Trends" not in text
    # The details follow in the thread, beginning with the charts over rounds.
    assert thread and thread[0]["blocks"][0]["text"]["text"] == messages.DETAILS
    over_time = [b["title"] for b in thread[0]["blocks"] if b["type"] == "data_visualization"]
    assert over_time == [messages.MATURITY_CHART, messages.PARTICIPATION_CHART]


def test_the_first_teams_card_is_one_screen_with_the_map(digest: DigestMessage) -> None:
    first, *rest = render_activity_attachments(digest)
    body = first["body"]
    assert card_size(first) <= TEAMS_BYTES, card_size(first)
    assert len(body) <= TEAMS_ELEMENTS, [e["type"] for e in body]
    assert [e["type"] for e in body][-1] == "Chart.VerticalBar.Grouped"
    chart = body[-1]
    assert chart["title"] == messages.MAP_CHART
    assert [[v["y"] for v in s["values"]] for s in chart["data"]] == [
        [i for i, _ in MAP.values()],
        [e for _, e in MAP.values()],
    ]
    (table,) = [e for e in body if e["type"] == "Table"]
    rows = table["rows"][1:]
    assert [r["cells"][0]["items"][0]["text"] for r in rows] == [f"**{t}**" for t in TITLES]
    assert messages.DETAILS not in str(first)  # too large for a toggle: further cards
    assert rest and rest[0]["body"][1]["text"] == messages.DETAILS
    assert all(card_size(card) <= CARD_BUDGET for card in rest)

"""The strategy view in Block Kit: native charts, their words, and details in the thread.

Slack's `data_visualization` block (Block Kit reference, "Data visualization block"): a
title of at most 50 characters, a line, bar, area or pie chart of 1-6 series with unique
names of at most 20 characters, 1-20 categories of at most 20 characters, and at most two
such blocks in a message. A chart Slack cannot draw within those limits is said in words;
every drawn chart keeps its figures in words in a context block beneath it, for clients
that cannot draw it (and for the App Home, which leaves charts out).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.adapters.slack.adapter import SlackAdapter, make_client
from bot.adapters.slack.render import layout_view, merge_payloads, render_message
from bot.adapters.slack.respond import respond_address
from bot.flows.digest_model import Digest, MaturityView, Placed
from bot.flows.outbound import DigestMessage
from bot.flows.strategy_model import MapPoint
from bot.presentation.sections import (
    Chart,
    Details,
    Group,
    Heading,
    Paragraph,
    Section,
    Series,
    Span,
    View,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.presentation.chart_samples import digest_view, two_lines
from tests.slack.test_render import check_payloads

HOSTILE = "<!channel> R&D @here"
SHORT = "<!here> & @channel"  # 19 characters when defused: fits a category


def fw(text: str) -> str:
    """Angle brackets as the fullwidth forms chart strings show in their place."""
    return text.replace("<", "\uff1c").replace(">", "\uff1e")


def chart(**kw: Any) -> Chart:
    return two_lines(
        "Social Media: ratings by round",
        ("R1", "R2", "R3"),
        (2.0, 2.5, 3.25),
        (3.0, 3.5, 4.0),
        **kw,
    )


def view(*sections: Section) -> View:
    return digest_view(*sections)


def blocks_of(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for p in payloads for b in p["blocks"]]


def charts_of(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks_of(payloads) if b["type"] == "data_visualization"]


def test_a_line_chart_is_a_data_visualization_block_with_its_words_beneath() -> None:
    payloads = layout_view(view(chart()))
    check_payloads(payloads)
    (payload,) = payloads
    _, block, words = payload["blocks"]
    assert block == {
        "type": "data_visualization",
        "title": "Social Media: ratings by round",
        "chart": {
            "type": "line",
            "series": [
                {
                    "name": "Internal",
                    "data": [
                        {"label": "R1", "value": 2.0},
                        {"label": "R2", "value": 2.5},
                        {"label": "R3", "value": 3.25},
                    ],
                },
                {
                    "name": "External",
                    "data": [
                        {"label": "R1", "value": 3.0},
                        {"label": "R2", "value": 3.5},
                        {"label": "R3", "value": 4.0},
                    ],
                },
            ],
            "axis_config": {
                "categories": ["R1", "R2", "R3"],
                "x_label": "Rounds",
                "y_label": "Mean (1-5)",
            },
        },
    }
    assert words["type"] == "context"
    assert words["elements"][0]["text"] == "Internal: 2.0 → 2.5 → 3.3\nExternal: 3.0 → 3.5 → 4.0"


def test_the_maturity_map_is_grouped_bars_per_conversation() -> None:
    the_map = chart(
        kind="map",
        title=messages.MAP_CHART,
        categories=("Social Media", "Social Networking"),
        series=(
            Series(name="Internal", values=(2.5, 1.75)),
            Series(name="External", values=(4.5, 2.0)),
        ),
        x_label=None,
        threshold=3,
    )
    (block,) = charts_of(layout_view(view(the_map)))
    assert block["chart"]["type"] == "bar"
    assert block["chart"]["axis_config"]["categories"] == ["Social Media", "Social Networking"]
    assert [s["name"] for s in block["chart"]["series"]] == ["Internal", "External"]
    assert "x_label" not in block["chart"]["axis_config"]


def test_at_most_two_charts_a_message_each_with_its_words() -> None:
    titles = [f"Chart {n}" for n in range(1, 6)]
    payloads = layout_view(view(*(chart(title=t) for t in titles)))
    check_payloads(payloads)  # two charts a message at most
    assert [c["title"] for c in charts_of(payloads)] == titles  # none lost, in order
    for payload in payloads:
        kinds = [b["type"] for b in payload["blocks"]]
        for at, kind in enumerate(kinds):
            if kind == "data_visualization":
                assert kinds[at + 1] == "context", "a chart's words stay with it"
    assert payloads[1]["text"].endswith(messages.continued(2, len(payloads)))


def test_a_third_chart_moves_to_the_next_message_with_its_conversation() -> None:
    groups = [
        Group(
            sections=(
                Heading(text=f"Conversation {n}"),
                Paragraph(text=(Span(text=f"Round {n}"),)),
                chart(title=f"Conversation {n}: ratings by round"),
            ),
            separator=True,
        )
        for n in range(1, 4)
    ]
    payloads = layout_view(view(*groups))
    check_payloads(payloads)
    first, second = payloads
    assert [c["title"] for c in charts_of([second])] == ["Conversation 3: ratings by round"]
    assert second["blocks"][0]["text"]["text"] == "Conversation 3"  # its heading comes along
    assert "Round 3" in second["blocks"][1]["text"]["text"]
    assert first["blocks"][-1]["type"] == "context"  # the second chart's words, not a rule


def test_a_chart_beyond_slacks_limits_is_said_in_words() -> None:
    too_many = chart(
        categories=tuple(f"R{n}" for n in range(1, 22)),
        series=(Series(name="Internal", values=tuple(float(n % 5) for n in range(21))),),
    )
    seven = chart(
        series=tuple(Series(name=f"Line {n}", values=(1.0, 2.0, 3.0)) for n in range(7)),
    )
    same_when_cut = chart(
        categories=("Social Networking, EMEA", "Social Networking, APAC", "R3"),
    )
    for shown in (too_many, seven, same_when_cut):
        payloads = layout_view(view(shown))
        check_payloads(payloads)
        assert charts_of(payloads) == []
        text = "\n".join(b["text"]["text"] for b in blocks_of(payloads) if b["type"] == "section")
        assert f"*{shown.title}*" in text
        assert "Internal: 2.0 → 2.5 → 3.3" in text


def test_chart_labels_are_cut_to_the_limits_and_cannot_mention_anyone() -> None:
    hostile = chart(
        title=f"{HOSTILE} " + "x" * 60,
        categories=(SHORT, "Social Technologies and more", "R3"),
        series=(Series(name=SHORT, values=(1.0, 2.0, 3.0)),),
        x_label="<https://evil.example|rounds>",
        described=((Span(text=f"{HOSTILE}: 1.0 → 2.0 → 3.0"),),),
    )
    payloads = layout_view(view(hostile))
    check_payloads(payloads)  # lengths, and no "<" in any chart string
    (block,) = charts_of(payloads)
    assert len(block["title"]) == 50 and block["title"].endswith("…")
    categories = block["chart"]["axis_config"]["categories"]
    assert categories[0] == fw("<!here> & @\u200dchannel")
    assert categories[1] == "Social Technologies…"
    assert block["chart"]["series"][0]["name"] == fw("<!here> & @\u200dchannel")
    assert block["chart"]["axis_config"]["x_label"] == fw("<https://evil.example|rounds>")
    words = blocks_of(payloads)[-1]["elements"][0]["text"]
    assert words.startswith("&lt;!channel&gt; R&amp;D @\u200dhere")


def test_details_follow_in_the_thread_and_the_first_message_keeps_to_the_summary() -> None:
    details = Details(
        label=messages.DETAILS,
        sections=(chart(title="Participation"), Paragraph(text=(Span(text="Every trend"),))),
    )
    payloads = layout_view(view(Paragraph(text=(Span(text="The summary"),)), chart(), details))
    check_payloads(payloads)
    first, thread = payloads
    assert "Every trend" not in str(first["blocks"])
    assert [b["type"] for b in first["blocks"]] == [
        "header",
        "section",
        "data_visualization",
        "context",
    ]
    assert thread["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": messages.DETAILS, "emoji": True},
    }
    assert charts_of([thread])[0]["title"] == "Participation"
    assert "Every trend" in str(thread["blocks"])


def strategy_digest() -> DigestMessage:
    """`digest all` with one conversation on the map and two points over rounds."""
    placed = (
        Placed(
            conversation_key="social-media",
            title="Social Media",
            round_number=3,
            internal=2.5,
            external=4.5,
            stage="externally mature",
        ),
    )
    history = tuple(
        MapPoint(back=back, internal=i, external=e, stage=stage, conversations=1)
        for back, i, e, stage in ((1, 2.0, 2.5, "laggard"), (0, 2.5, 4.5, "externally mature"))
    )
    return DigestMessage(
        digest=Digest(
            scope="all",
            organisation="Acme",
            generated_at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC),
            conversations=(),
            maturity=MaturityView(
                internal=2.5,
                external=4.5,
                stage="externally mature",
                next_move="Partner with marketing.",
                placed=placed,
                history=history,
            ),
        )
    )


async def test_a_slack_that_rejects_the_chart_block_gets_its_words(fake: FakeSlackApi) -> None:
    """A workspace without the block yet answers invalid_blocks: the digest still goes."""
    digest = strategy_digest()
    fake.script(
        "chat.postMessage",
        body={"ok": False, "error": "invalid_blocks"},
    )
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))
    result = await adapter.send(address="slack:C0CIO", message=digest, idempotency_key="d")
    assert result.status == "sent"
    tried, posted, *_thread = fake.calls("chat.postMessage")
    assert any(b["type"] == "data_visualization" for b in tried.body["blocks"])
    blocks = posted.body["blocks"]
    assert not any(b["type"] == "data_visualization" for b in blocks)
    texts = [t["text"] for b in blocks for t in [b.get("text"), *b.get("elements", [])] if t]
    at = texts.index(f"*{messages.MAP_CHART}*")  # the title, where the chart was
    assert texts[at + 1].startswith("Social Media: internal 2.5, external 4.5")


async def test_a_commands_private_reply_packs_the_details_into_few_replies(
    fake: FakeSlackApi,
) -> None:
    """A response_url has no thread and takes five replies: details need no message of their own."""
    details = Details(
        label=messages.DETAILS,
        sections=tuple(chart(title=f"Chart {n}") for n in range(1, 4)),
    )
    payloads = layout_view(view(Paragraph(text=(Span(text="The summary"),)), details))
    assert len(payloads) == 3  # in a channel: the summary, then the thread (two charts each)
    merged = merge_payloads(payloads)
    check_payloads(merged)
    assert len(merged) == 2
    assert blocks_of(merged) == blocks_of(payloads)  # the same blocks, in order
    assert merged[1]["text"] == f"{payloads[0]['text']} {messages.continued(2, 2)}"
    digest = strategy_digest()
    assert len(render_message(digest)) == 2  # the summary, and its details in the thread
    adapter = SlackAdapter(client=make_client(token="xoxb-test", base_url=fake.url))
    sent = await adapter.send(
        address=respond_address(fake.respond_url("digest")),
        message=digest,
        idempotency_key="r",
    )
    assert sent.status == "sent"
    (reply,) = fake.calls("respond")  # one private reply holds both
    charts = [b["title"] for b in reply.body["blocks"] if b["type"] == "data_visualization"]
    assert charts == [messages.MAP_CHART, messages.MATURITY_CHART]

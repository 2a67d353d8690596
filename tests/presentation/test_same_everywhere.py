"""Slack, Teams and the console say the same thing: the same figures, the same sentences.

One digest, one prompt, one waiting prompt, one summary and one notice are rendered for
the three platforms: Block Kit payloads, Adaptive Cards, and the console page itself in
headless Chromium (delivered through `ConsoleAdapter.send`, read back from the page's DOM).
The visible text of each is extracted (Slack's mrkdwn and Teams' Markdown undone, each
platform's date shown as [when], since each reader sees their own time zone), and

- the key figures and sentences, written out here, appear on every platform;
- every phrase of the message's view (`bot.presentation`) appears on every platform, in
  the view's order, so no platform drops, reorders or rewords anything.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from bot import messages
from bot.adapters.console import ConsoleAdapter, register_console_routes
from bot.adapters.slack.render import render_message
from bot.adapters.teams.cards import render_activity_attachments
from bot.flows.consistency_model import Across, Consistency, Divergence, Figure, Gap, Handoff
from bot.flows.digest_model import (
    ChoiceRollup,
    ConversationDigest,
    Digest,
    GroupParticipation,
    MaturityView,
    QuestionRollup,
    RatingRollup,
    TextAnswer,
)
from bot.flows.outbound import (
    ConsistencyMessage,
    DigestMessage,
    Notice,
    OutboundMessage,
    Prompt,
    QuestionView,
    Summary,
    SummaryItem,
)
from bot.flows.themes_model import Theme, ThemeQuote
from bot.presentation import build_view
from bot.presentation.sections import (
    Actions,
    Badges,
    Bars,
    Chart,
    Context,
    Details,
    Facts,
    Field,
    Group,
    Heading,
    Inputs,
    Paragraph,
    Quote,
    Section,
    Span,
    Submit,
    Table,
    Text,
)
from tests.console.conftest import ServeApp
from tests.console.samples import EchoEngine

pytestmark = pytest.mark.browser

WHEN = "[when]"
MARIA = "console:maria"
DEADLINE = datetime(2030, 3, 14, 17, 0, tzinfo=UTC)
CLOSED = datetime(2030, 3, 14, 17, 0, tzinfo=UTC)
GENERATED = datetime(2030, 3, 15, 9, 0, tzinfo=UTC)
# Text that each platform must escape its own way, and show as typed.
TYPED = "Pricing <b>questions</b> & R&D"

RATING = QuestionView(
    id="listening",
    text="How well do we listen to customers?",
    type="rating",
    required=True,
    labels={1: "Not started", 3: "Piloting", 5: "Embedded"},
    help="Think of the last quarter.",
    index=1,
    total=3,
)

DIGEST = DigestMessage(
    digest=Digest(
        scope="all",
        organisation="Acme Corp",
        generated_at=GENERATED,
        maturity=MaturityView(
            internal=2.4,
            external=3.5,
            stage="externally mature",
            next_move="Partner with marketing.",
            previous_stage="laggard",
        ),
        conversations=(
            ConversationDigest(
                conversation_key="social-media",
                title="Social Media",
                round_id=7,
                round_number=4,
                status="closed",
                opened_at=GENERATED,
                deadline=CLOSED,
                closed_at=CLOSED,
                invited=6,
                answered=4,
                partly=1,
                previous_round_number=3,
                previous_invited=6,
                previous_answered=3,
                participation=(
                    GroupParticipation(
                        group_key="marketing", title="Marketing", invited=3, answered=3
                    ),
                    GroupParticipation(
                        group_key="rnd",
                        title="R&D",
                        invited=3,
                        answered=1,
                        partly=1,
                        skipped=1,
                        missing=("Lee Park",),
                    ),
                ),
                questions=(
                    QuestionRollup(
                        question_id="listening",
                        text=RATING.text,
                        type="rating",
                        answered=5,
                        skipped=1,
                        rating=RatingRollup(
                            mean=3.4,
                            count=5,
                            distribution={1: 0, 2: 1, 3: 2, 4: 1, 5: 1},
                            labels=RATING.labels,
                            previous_mean=3.0,
                        ),
                    ),
                    QuestionRollup(
                        question_id="channels",
                        text="Which channels matter most?",
                        type="multiple_choice",
                        answered=5,
                        skipped=0,
                        choices=ChoiceRollup(
                            counts={"Blogs": 1, "Fan pages": 3},
                            previous_counts={"Blogs": 2, "Fan pages": 3},
                        ),
                    ),
                    QuestionRollup(
                        question_id="budget",
                        text="Is there a budget?",
                        type="yes_no",
                        answered=4,
                        skipped=0,
                        choices=ChoiceRollup(counts={"yes": 3, "no": 1}),
                    ),
                    QuestionRollup(
                        question_id="heard",
                        text="What did you hear?",
                        type="text",
                        answered=2,
                        skipped=0,
                        texts=(
                            TextAnswer(text=TYPED, author="Maria Lopez", group_key="marketing"),
                            TextAnswer(text="Faster answers, please.", author="Lee Park"),
                        ),
                    ),
                ),
            ),
            ConversationDigest(
                conversation_key="social-support",
                title="Social Support",
                round_id=None,
                round_number=None,
                status="none",
            ),
        ),
    )
)

PROMPT = Prompt(
    round_id=7,
    conversation_key="social-media",
    conversation_title="Social Media",
    round_number=4,
    deadline=DEADLINE,
    purpose="Brand management and customer engagement.",
    opening=True,
    reminder=True,
    question=RATING,
)
WAITING = PROMPT.model_copy(
    update={
        "round_id": 8,
        "conversation_title": "Social Liability",
        "reminder": False,
        "waiting_for": "Social Media",
        "actions": ("answer_now", "answer_all", "skip_round", "snooze"),
    }
)
SUMMARY = Summary(
    round_id=7,
    conversation_key="social-media",
    conversation_title="Social Media",
    deadline=DEADLINE,
    done=True,
    editable=True,
    items=(
        SummaryItem(question_id="listening", question=RATING.text, answer="4/5"),
        SummaryItem(question_id="heard", question="What did you hear?", answer=TYPED),
        SummaryItem(question_id="channels", question="Which channels?", answer=None, skipped=True),
    ),
)
NOTICE = Notice(
    level="error", title="That did not work", lines=("Say mine for your questions.", TYPED)
)

TWITTER = Theme(
    key="twitter",
    label="Twitter",
    people=3,
    answers=3,
    conversations=("social-media", "social-support"),
    conversation_titles=("Social Media", "Social Support"),
    quotes=(
        ThemeQuote(
            text=f"Twitter first: {TYPED}",
            author="Maria Lopez",
            conversation_key="social-media",
            conversation_title="Social Media",
            group_title="Marketing",
        ),
        ThemeQuote(
            text="Outages show on Twitter",
            conversation_key="social-liability",
            conversation_title="Social Liability",
        ),
    ),
)
CONSISTENCY = ConsistencyMessage(
    organisation="Acme Corp",
    generated_at=GENERATED,
    consistency=Consistency(
        rounds=(("social-media", 4), ("social-support", 2)),
        themes=(TWITTER,),
        across=(Across(id="across:twitter", theme=TWITTER, action="Hold a joint session."),),
        handoffs=(
            Handoff(
                id="handoff:social-innovation:social-liability",
                from_key="social-innovation",
                from_title="Social Innovation",
                to_key="social-liability",
                to_title="Social Liability",
                words=("IP",),
                people=1,
                quotes=(
                    ThemeQuote(
                        text="Who owns the IP?",
                        author="Rahul",
                        conversation_key="social-innovation",
                        conversation_title="Social Innovation",
                        group_title="R&D",
                    ),
                ),
                action="Put it on the agenda.",
            ),
        ),
        divergences=(
            Divergence(
                id="divergence:maturity-internal",
                kind="conversations",
                what="Internal maturity",
                figures=(
                    Figure(key="social-support", title="Social Support", value=4.0, round_number=2),
                    Figure(key="social-media", title="Social Media", value=2.0, round_number=4),
                ),
                spread=2.0,
                action="Compare.",
            ),
        ),
        gaps=(
            Gap(
                id="gap:overdue:social-networking",
                kind="overdue",
                conversation_key="social-networking",
                conversation_title="Social Networking",
                periods=3,
                action="Open a round.",
            ),
        ),
    ),
)

MESSAGES: dict[str, OutboundMessage] = {
    "digest": DIGEST,
    "prompt": PROMPT,
    "waiting": WAITING,
    "summary": SUMMARY,
    "notice": NOTICE,
    "consistency": CONSISTENCY,
}

# What a reader must see, word for word, wherever they read it.
KEY_TEXT: dict[str, list[str]] = {
    "digest": [
        "Strategy digest · Acme Corp",
        f"All conversations · generated {WHEN}",
        "Social maturity: externally mature (was laggard)",
        "Internal 2.4 / 5 · External 3.5 / 5",
        "Next move: Partner with marketing.",
        "Social Media",
        f"Round 4 · closed {WHEN}",
        "4 of 6 answered (67%), 1 partly ▲ 17 pts since round 3",
        "Marketing",
        "3/3",
        "R&D",
        "1/3 · 1 partly · 1 skipped",
        "Did not answer: Lee Park",
        "Q1. How well do we listen to customers?",
        "rating 1-5 · 5 answered · 1 skipped",
        "3.4 / 5 mean ▲ 0.4 (was 3.0)",
        "1 · Not started",
        "5 · Embedded",
        "Q2. Which channels matter most?",
        "Blogs",
        "1 ▼ 1",
        "Fan pages",
        "3 = 0",
        "Q3. Is there a budget?",
        "yes/no · 4 answered",
        "Yes",
        "No",
        "Q4. What did you hear?",
        TYPED,
        "Maria Lopez",
        "Faster answers, please.",
        "Lee Park",
        "Social Support",
        "No round yet",
    ],
    "prompt": [
        "Social Media",
        f"Round 4 · closes {WHEN}",
        "New round",
        "Reminder",
        "Brand management and customer engagement.",
        "Question 1 of 3",
        "How well do we listen to customers?",
        "Think of the last quarter.",
        "Not started",
        "Piloting",
        "Embedded",
        "Answer all in a form",
        "Skip round",
        "Snooze 2h",
    ],
    "waiting": [
        "Social Liability",
        f"Round 4 · closes {WHEN}",
        "New round",
        messages.waiting_for("Social Media"),
        "Answer now",
        "Answer all in a form",
        "Skip round",
        "Snooze 2h",
    ],
    "summary": [
        "Social Media",
        f"Round closes {WHEN}",
        "Done ✓",
        "1. How well do we listen to customers?",
        "4/5",
        "Edit answer 1",
        "2. What did you hear?",
        TYPED,
        "Edit answer 2",
        "3. Which channels?",
        "Skipped",
        "Edit answer 3",
        "You can edit answers until the round closes.",
    ],
    "notice": ["That did not work", "Say mine for your questions.", TYPED],
    "consistency": [
        "Consistency across the conversations",
        "Raised in several conversations",
        "Twitter: 3 people, in Social Media and Social Support",
        f"Twitter first: {TYPED}",
        "Maria Lopez · Social Media, Marketing",
        "Outages show on Twitter",
        "Suggested: Hold a joint session.",
        "Item across:twitter",
        "Raised in Social Innovation, belongs to Social Liability (IP; 1 person)",
        "Internal maturity: 2.0 points apart across conversations",
        "Social Support",
        "4.0 (round 2)",
        "Social Networking: no round closed in 3 of its cadence periods",
        "Item gap:overdue:social-networking",
    ],
}


# ---------------------------------------------------------------- the view's own phrases


def view_phrases(message: OutboundMessage) -> list[str]:
    """Every piece of text the message's view shows, in order (moments as [when])."""
    return [p for s in build_view(message).sections for p in _phrases(s) if p.strip()]


def _inline(text: Text) -> str:
    return "".join(p.text if isinstance(p, Span) else WHEN for p in text)


def _phrases(section: Section) -> Iterator[str]:
    if isinstance(section, Heading):
        yield section.text
    elif isinstance(section, Context):
        yield from (_inline(p) for p in section.parts)
    elif isinstance(section, Badges):
        yield from (b.text for b in section.items)
    elif isinstance(section, Paragraph):
        yield _inline(section.text)
    elif isinstance(section, Bars):
        for row in section.rows:
            yield row.label
            yield _inline(row.value)
            if row.note:
                yield _inline(row.note)
    elif isinstance(section, Quote):
        yield section.text
        if section.who:
            yield section.who
    elif isinstance(section, Facts):
        for fact in section.rows:
            yield fact.label
            yield _inline(fact.value)
            if fact.button:
                yield fact.button.label
    elif isinstance(section, Actions):
        yield from (b.label for b in section.buttons)
    elif isinstance(section, Inputs):
        if section.hint:
            yield section.hint
        for option in section.options:
            yield option.short
            if option.caption:
                yield option.caption
    elif isinstance(section, Field):
        yield section.label
        yield from (o.label for o in section.options)
    elif isinstance(section, Submit):
        yield section.label
    elif isinstance(section, Chart):
        yield section.title
        yield from (_inline(d) for d in section.described)
    elif isinstance(section, Table):
        for row in section.rows:
            for cell in row.cells:
                yield _inline(cell.text)
                if cell.sub:
                    yield _inline(cell.sub)
    elif isinstance(section, Group | Details):
        for child in section.sections:
            yield from _phrases(child)


# ---------------------------------------------------------------- what each platform shows


def normalise(text: str) -> str:
    return " ".join(text.replace("\u200d", "").split())


_SLACK_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|[^>]*>")
_SLACK_EMOJI = re.compile(r":[a-z_]+: ")


def slack_visible(message: OutboundMessage) -> str:
    """The text a Slack reader sees in the payloads, in block order (mrkdwn undone)."""
    pieces: list[str] = []

    def mrkdwn(text: str) -> str:
        text = _SLACK_DATE.sub(WHEN, text)
        text = _SLACK_EMOJI.sub("", text)
        text = re.sub(r"^> ?", "", text, flags=re.MULTILINE)  # quotations
        text = re.sub(r"^• ", "", text, flags=re.MULTILINE)  # bullets
        text = re.sub(r"(?<![\w])[*_]|[*_](?![\w])", "", text)  # bold and italic marks
        return html.unescape(text)

    def element(node: dict[str, Any]) -> None:
        if node.get("type") == "mrkdwn":
            pieces.append(mrkdwn(node["text"]))
        elif node.get("type") == "plain_text":
            pieces.append(node["text"])
        elif node.get("type") == "data_visualization":  # its words follow in a context
            pieces.append(node["title"].replace("\uff1c", "<").replace("\uff1e", ">"))
        else:
            for key in ("text", "label", "elements", "element", "accessory", "options"):
                value = node.get(key)
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, dict):
                        element(child)

    for payload in render_message(message):
        for block in payload["blocks"]:
            element(block)
    return normalise("\n".join(pieces))


_TEAMS_DATE = re.compile(r"\{\{DATE\([^)]*\)\}\} \{\{TIME\([^)]*\)\}\}")


def teams_visible(message: OutboundMessage) -> str:
    """The text a Teams reader sees on the cards, in order (Markdown and escapes undone)."""
    pieces: list[str] = []

    def markdown(text: str) -> str:
        text = _TEAMS_DATE.sub(WHEN, text)
        text = text.replace("**", "")
        text = re.sub(r"(?<![\\\w])_|(?<![\\])_(?![\w])", "", text)  # italic marks
        text = re.sub(r"\\(.)", r"\1", text)  # backslash escapes
        return text.replace("\uff1c", "<").replace("\uff1e", ">")

    def element(node: dict[str, Any]) -> None:
        kind = node.get("type")
        if kind == "TextBlock":
            pieces.append(markdown(node["text"]))
        elif kind == "FactSet":
            for fact in node["facts"]:
                pieces.extend([markdown(fact["title"]), markdown(fact["value"])])
        elif kind == "Input.ChoiceSet":
            pieces.extend(c["title"] for c in node["choices"])
        elif kind in ("Action.Submit", "Action.ToggleVisibility"):
            pieces.append(node["title"])
        elif str(kind).startswith("Chart."):  # the chart, then its words (the fallback)
            pieces.append(markdown(node["title"]))
            element(node["fallback"])
        elif kind == "Table":
            for row in node["rows"]:
                for cell in row["cells"]:
                    for item in cell["items"]:
                        element(item)
        for key in ("items", "actions"):
            for child in node.get(key, []):
                element(child)

    for card in render_activity_attachments(message):
        for node in card["body"]:
            element(node)
        for action in card.get("actions", []):
            element(action)
    return normalise("\n".join(pieces))


@pytest.fixture
async def console_texts(browser: Browser, serve_app: ServeApp) -> AsyncIterator[dict[str, str]]:
    """What the console page shows for each message, read from the browser's DOM."""
    adapter = ConsoleAdapter(handle=EchoEngine(), people=[(MARIA, "Maria Lopez", "marketing")])
    app = web.Application()
    register_console_routes(app, adapter)
    base = await serve_app(app)
    for name, message in MESSAGES.items():
        await adapter.send(address=MARIA, message=message, idempotency_key=name)
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page: Page = await context.new_page()
    await page.goto(base + "/")
    cards = page.locator('article[data-from="bot"] .entry-main > .card')
    await expect(cards).to_have_count(len(MESSAGES))
    # Each reader's own time zone: the same moment reads differently, so mask it.
    texts = await cards.evaluate_all(
        """cards => cards.map(card => {
            card.querySelectorAll("time").forEach(t => { t.textContent = "[when]"; });
            return card.textContent;
        })"""
    )
    yield {name: normalise(text) for name, text in zip(MESSAGES, texts, strict=True)}
    await context.close()


def missing_in_order(phrases: list[str], shown: str) -> list[str]:
    """The phrases not found in `shown` one after another (empty: all there, in order)."""
    missing, at = [], 0
    for phrase in phrases:
        found = shown.find(normalise(phrase), at)
        if found < 0:
            missing.append(phrase)
        else:
            at = found + len(normalise(phrase))
    return missing


@pytest.mark.parametrize("name", list(MESSAGES))
async def test_every_platform_shows_the_same_figures_and_sentences(
    name: str, console_texts: dict[str, str]
) -> None:
    message = MESSAGES[name]
    shown = {
        "slack": slack_visible(message),
        "teams": teams_visible(message),
        "console": console_texts[name],
    }
    for platform, text in shown.items():
        assert missing_in_order(KEY_TEXT[name], text) == [], f"{platform}: {text}"
        assert missing_in_order(view_phrases(message), text) == [], f"{platform}: {text}"

"""Platform-neutral sections: what a message shows, before any platform lays it out.

A `View` is a list of sections plus a fallback text (a notification, a log line). The
builders (`bot.presentation.views`) decide everything a reader sees: the wording (from
`bot.messages`), number formats, labels, which buttons appear and what each carries.
Slack (`bot.adapters.slack.render`), Teams (`bot.adapters.teams.cards`) and the console
(`bot/adapters/console/static/app.js`, which receives views as JSON) only lay the sections
out, each with its own strengths: Block Kit headers, contexts and buttons; Adaptive Card
FactSets and inputs; HTML with real bars.

Why frozen dataclasses and not pydantic models, like the outbound messages: a view is
built for every delivery and never read back, so nothing needs validating; a big digest
is thousands of sections. `VIEW_ADAPTER` (pydantic, which serialises dataclasses) turns a
view into the JSON the console page receives; every section carries its `type` so the
page can tell them apart.

Text is plain data everywhere in here: each platform escapes it (Slack `mrkdwn.escape`,
Teams `markdown.escape`, the console's `textContent`). Inline styling is limited to what
every platform can show: strong, subtle, a change arrow and a moment in time (shown in the
reader's own time zone where the platform can). A `role` names what a part *is*
("participation-total", "maturity-stage"); the console uses it as the element's
`data-testid`, the chat platforms ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import TypeAdapter

from bot.flows.events import Action
from bot.playbook.model import QuestionType

Tone = Literal["info", "success", "warning", "error"]
Change = Literal["up", "down", "same"]
Style = Literal["plain", "strong", "subtle"]
# How a question is answered: free text, a 1-5 scale, one option, several options, a figure.
Widget = Literal["text", "scale", "one", "many", "number"]


@dataclass(frozen=True, kw_only=True)
class Span:
    """A run of text. `change` marks a change arrow ("▲ 0.4"), which platforms may colour."""

    text: str
    style: Style = "plain"
    role: str | None = None
    change: Change | None = None
    type: Literal["span"] = "span"


@dataclass(frozen=True, kw_only=True)
class Moment:
    """A point in time, shown in the reader's zone (plain text: UTC)."""

    at: datetime
    type: Literal["moment"] = "moment"


Inline = Span | Moment
Text = tuple[Inline, ...]


def plain_text(text: Text) -> str:
    """The words of inline text, with moments as ISO timestamps (for fallbacks and tests)."""
    return "".join(i.text if isinstance(i, Span) else i.at.isoformat() for i in text)


@dataclass(frozen=True, kw_only=True)
class Heading:
    """A title: 1 for a message's own title, 2 for a part of it, 3 for a notice's title."""

    text: str
    level: Literal[1, 2, 3] = 2
    role: str | None = None
    type: Literal["heading"] = "heading"


@dataclass(frozen=True, kw_only=True)
class Context:
    """A small, subtle line of facts about what follows, its parts joined by " · "."""

    parts: tuple[Text, ...]
    role: str | None = None
    type: Literal["context"] = "context"


@dataclass(frozen=True, kw_only=True)
class Badge:
    """A short status word: "New round", "Reminder", "Done ✓"."""

    text: str
    tone: Tone
    role: str | None = None


@dataclass(frozen=True, kw_only=True)
class Badges:
    """Status words shown together."""

    items: tuple[Badge, ...]
    type: Literal["badges"] = "badges"


@dataclass(frozen=True, kw_only=True)
class Paragraph:
    """Body text; a `tone` marks a note, a warning, an error or a success."""

    text: Text
    tone: Tone | None = None
    role: str | None = None
    type: Literal["paragraph"] = "paragraph"


@dataclass(frozen=True, kw_only=True)
class Bar:
    """One row of a bar chart: `part` of `whole`, labelled, with its figures and a note."""

    label: str
    part: int
    whole: int
    value: Text
    note: Text | None = None
    role: str | None = None


@dataclass(frozen=True, kw_only=True)
class Bars:
    """A bar chart: participation by group, a rating's distribution, choice counts."""

    rows: tuple[Bar, ...]
    role: str | None = None
    type: Literal["bars"] = "bars"


@dataclass(frozen=True, kw_only=True)
class Quote:
    """Someone's own words (a text answer), and who said them (None: anonymous)."""

    text: str
    who: str | None = None
    role: str | None = None
    type: Literal["quote"] = "quote"


@dataclass(frozen=True, kw_only=True)
class Button:
    """A button: the action it asks for, the round it was shown with, what it carries.

    `value` and `question_id` are what `bot.flows.events.ActionPressed` gets; Slack and
    Teams send them as one value (`wire_value`), the console as two fields.
    """

    label: str
    action: Action
    round_id: int
    value: str | None = None
    question_id: str | None = None
    primary: bool = False

    @property
    def wire_value(self) -> str | None:
        """The single value Slack's and Teams' buttons carry (`v`)."""
        return self.value if self.value is not None else self.question_id


@dataclass(frozen=True, kw_only=True)
class Actions:
    """A row of buttons."""

    buttons: tuple[Button, ...]
    role: str | None = None
    type: Literal["actions"] = "actions"


@dataclass(frozen=True, kw_only=True)
class Fact:
    """A label and its value (a question and its answer), with an optional button.

    `quoted`: the value is someone's own words, shown as a quotation where the platform
    has one. `data` identifies the row (the console puts it in `data-*` attributes).
    """

    label: str
    value: Text
    quoted: bool = False
    button: Button | None = None
    role: str | None = None
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Facts:
    """Labels and values."""

    rows: tuple[Fact, ...]
    role: str | None = None
    type: Literal["facts"] = "facts"


@dataclass(frozen=True, kw_only=True)
class Option:
    """One way to answer a question.

    `short` is what a small control shows ("4"), `caption` what explains it ("Piloting"),
    `label` both together ("4 · Piloting"); `answer` is what choosing it answers, as the
    engine reads it ("4", the option's text, "yes"). Platforms encode the choice as they
    must (Slack and Teams sometimes send the option's `number` instead).
    """

    number: int
    label: str
    short: str
    caption: str | None
    answer: str


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """How to answer a prompt's question (`bot.presentation.vocabulary.present_question`).

    `choose_first` is said when Send is pressed with nothing ticked (several choices).
    """

    round_id: int
    question_id: str
    question_type: QuestionType
    widget: Widget
    options: tuple[Option, ...] = ()
    hint: str | None = None
    placeholder: str | None = None
    submit: str
    choose_first: str | None = None
    type: Literal["inputs"] = "inputs"


@dataclass(frozen=True, kw_only=True)
class Field:
    """One question of a form, with the answer it has now (`text`, or option numbers)."""

    question_id: str
    question_type: QuestionType
    widget: Widget
    label: str
    required: bool
    required_message: str
    options: tuple[Option, ...] = ()
    placeholder: str | None = None
    help: str | None = None
    error: str | None = None
    text: str | None = None
    selected: tuple[int, ...] = ()
    type: Literal["field"] = "field"


@dataclass(frozen=True, kw_only=True)
class Submit:
    """A form's submit button."""

    label: str
    round_id: int
    type: Literal["submit"] = "submit"


@dataclass(frozen=True, kw_only=True)
class Series:
    """One line or one set of bars of a chart: a legend entry and a value per category."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class Chart:
    """A chart where people would rather look than read, with its figures in words.

    `kind`: "line" (a figure over rounds; categories are rounds), "bars" (figures side by
    side) or "map" (the social-maturity map: categories are conversations, `series[0]`
    the internal and `series[1]` the external means, `threshold` the line from which an
    axis counts as mature). Every series has one value per category. `title` is at most
    50 characters, category and series names are short (the builders keep Slack's limits
    in mind; layouts still fit them). `described` says the same figures as text, shown
    under the chart where a platform might not draw it, and instead of it in plain text.
    """

    kind: Literal["line", "bars", "map"]
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    x_label: str | None = None
    y_label: str | None = None
    y_min: float | None = None
    y_max: float | None = None
    threshold: float | None = None
    described: tuple[Text, ...] = ()
    role: str | None = None
    type: Literal["chart"] = "chart"


@dataclass(frozen=True, kw_only=True)
class Cell:
    """A table cell, with an optional smaller second line ("round 3")."""

    text: Text
    sub: Text | None = None


@dataclass(frozen=True, kw_only=True)
class Row:
    """A table row; `data` identifies it (a conversation key)."""

    cells: tuple[Cell, ...]
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Table:
    """Rows of figures under column titles: the summary's one row per conversation.

    Where a platform has no table (Slack messages, plain text) a row is one line: its
    first cell, then every other cell after its column's title.
    """

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    role: str | None = None
    type: Literal["table"] = "table"


def linear_row(table: Table, row: Row) -> list[Text]:
    """A row as the parts of one line, for layouts without tables (Slack, plain text).

    The first cell as it is (with its second line in brackets), then each other cell
    after its column's title: "Social Media (round 3) · Answered 83% · Internal 4.0".
    """
    parts: list[Text] = []
    for number, cell in enumerate(row.cells):
        text: Text = cell.text
        if cell.sub:
            text = (*text, Span(text=" ("), *cell.sub, Span(text=")"))
        if number == 0:
            parts.append(text)
        else:
            title = table.columns[number] if number < len(table.columns) else ""
            parts.append((Span(text=f"{title} ", style="subtle"), *text) if title else text)
    return parts


@dataclass(frozen=True, kw_only=True)
class Details:
    """What follows a one-screen summary, shown on demand: the long part of a digest.

    Slack posts it in the summary's thread, Teams behind a toggle (in further cards when
    it is large), the console in a collapsible section; plain text just continues.
    """

    label: str
    sections: tuple[Section, ...]
    role: str | None = None
    type: Literal["details"] = "details"


@dataclass(frozen=True, kw_only=True)
class Divider:
    """A rule between parts."""

    type: Literal["divider"] = "divider"


@dataclass(frozen=True, kw_only=True)
class Group:
    """Sections that belong together (a conversation's digest, a question's roll-up).

    `separator`: a rule comes before it. `data` identifies it (a conversation key).
    """

    sections: tuple[Section, ...]
    role: str | None = None
    separator: bool = False
    data: dict[str, str] = field(default_factory=dict)
    type: Literal["group"] = "group"


Section = (
    Heading
    | Context
    | Badges
    | Paragraph
    | Bars
    | Quote
    | Facts
    | Actions
    | Inputs
    | Field
    | Submit
    | Divider
    | Group
    | Chart
    | Table
    | Details
)

ViewKind = Literal["notice", "prompt", "form", "summary", "digest", "file"]


@dataclass(frozen=True, kw_only=True)
class View:
    """What one message shows: its sections, and a one-line fallback text.

    `tone` colours a whole notice; `data` identifies the view (round id, question id,
    digest scope) for the console's page.
    """

    kind: ViewKind
    sections: tuple[Section, ...]
    fallback: str
    tone: Tone | None = None
    data: dict[str, str] = field(default_factory=dict)


VIEW_ADAPTER: TypeAdapter[View] = TypeAdapter(View)


def dump_view(view: View) -> dict[str, object]:
    """JSON-ready dict of a view, as the console page receives it."""
    dumped: dict[str, object] = VIEW_ADAPTER.dump_python(view, mode="json")
    return dumped

"""Every sentence a user or admin reads, in one place (the way slack-bolt keeps its messages).

Keeping them here makes the tone consistent, makes them easy to review and translate, and
keeps exception text out of chat: code raises `UserError(messages.something(...))`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

GENERIC_FAILURE = "Something went wrong on our side; nothing you sent was lost. Please try again."


def when(at: datetime) -> str:
    """A timestamp as users read it (UTC, unambiguous)."""
    return at.strftime("%a %d %b %H:%M UTC")


def unknown_command(word: str, suggestion: str | None) -> str:
    """An unknown first word."""
    hint = f" Did you mean `{suggestion}`?" if suggestion else ""
    return f"I don't know the command `{word}`.{hint} Say `help` for the list."


def unknown_conversation(word: str, known: list[str], suggestion: str | None) -> str:
    """An unknown conversation key."""
    hint = f" Did you mean `{suggestion}`?" if suggestion else ""
    return f"There is no conversation `{word}`.{hint} Known: {', '.join(known)}."


def usage(command: str, form: str) -> str:
    """A command with missing or extra words."""
    return f"`{command}` is used like this: `{form}`"


def not_allowed(command: str, who: str) -> str:
    """A role check that failed."""
    return f"Only {who} can use `{command}`."


def not_a_participant() -> str:
    """Someone outside every group wrote to the bot."""
    return (
        "You aren't in any strategy conversation yet, so there is nothing to answer."
        " An admin can add you to a group in the playbook. Say `help` for what I can do."
    )


def nothing_open() -> str:
    """A stakeholder wrote but has no open prompt."""
    return "You have no open questions right now. Say `mine` any time to check."


# -- reading an answer (the re-prompt's note says exactly what is expected) ------------------

ANSWER_NEEDED = "This question needs an answer."
ANSWER_YES_NO = "Please answer yes or no."
ANSWER_CHOOSE_ONE = "Please choose at least one option."
NO_ANSWER = "(no answer)"
YES = "Yes"
NO = "No"


def answer_too_long(length: int, limit: int) -> str:
    """A text answer over the limit."""
    return (
        f"That answer is {length:,} characters long; please keep it under"
        f" {limit:,} (a summary is fine, link to a document for detail)."
    )


def rating_expected(low: str | None, high: str | None) -> str:
    """What a rating question accepts, with the scale's end labels."""
    return f"a whole number from 1{f' ({low})' if low else ''} to 5{f' ({high})' if high else ''}"


def answer_number(unit: str | None) -> str:
    """A number question answered with something that is not a number."""
    what = f"a number (in {unit})" if unit else "a number"
    return f"Please answer with {what}, for example 42 or 3.5."


def figure(value: float, unit: str | None) -> str:
    """A measure as people read it: 42 %, 3.5 hours, 1,200."""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
    if not unit:
        return shown
    return f"{shown}{unit}" if unit == "%" else f"{shown} {unit}"


def answer_rating(expected: str) -> str:
    """A rating answer that is not a number on the scale."""
    return f"Please answer with {expected}."


def answer_off_scale(value: int, expected: str) -> str:
    """A rating outside 1..5."""
    return f"{value} is outside the scale; please answer with {expected}."


def not_an_option(text: str, suggestion: str | None, options: list[str]) -> str:
    """A choice that is none of the options."""
    hint = f" Did you mean “{suggestion}”?" if suggestion else ""
    listed = "; ".join(f"{i}. {o}" for i, o in enumerate(options, 1))
    return f"“{text}” isn't one of the options.{hint} Choose: {listed}"


def round_closed(title: str, closed_at: datetime | None) -> str:
    """A late answer."""
    at = f" on {when(closed_at)}" if closed_at else ""
    return (
        f"Thanks, but the {title} round closed{at}, so this answer wasn't recorded."
        " You'll be asked again in the next round."
    )


def required_cannot_skip() -> str:
    """Skip on a required question."""
    return "This question is required. Answer it, or say `skip round` to sit this round out."


def snoozed(until: datetime) -> str:
    """Confirmation of a snooze."""
    return f"Snoozed. I'll ask again at {when(until)}."


def snooze_capped(until: datetime) -> str:
    """A snooze that would pass the deadline."""
    return f"The round closes before then; I'll ask again at {when(until)}, an hour before it does."


def round_closed_for_you(title: str, started: bool) -> str:
    """Sent to those who had not finished when a round closed."""
    kept = (
        " What you had answered is in the digest."
        if started
        else " You'll be asked again next round."
    )
    return f"The {title} round has closed, so its questions can no longer be answered.{kept}"


def skipped_round(title: str) -> str:
    """Confirmation of skipping a round."""
    return (
        f"You're skipping this {title} round. Thanks for letting us know;"
        " anything you answered in it is left out of the digest."
    )


NOT_ON_AGENDA = "That question is not on this round's agenda."
NOT_YOUR_PROMPT = "That prompt isn't addressed to you, or the round no longer exists."
OPEN_QUESTIONS_TITLE = "Your open questions"


def already_finished(title: str, status: str) -> str:
    """A button of a round the person has finished or skipped: nothing changed."""
    done = "skipped" if status == "skipped" else "finished"
    return (
        f"You have already {done} this {title} round, so that click changed nothing."
        " Say `review` to see or edit your answers until it closes."
    )


def back_to(title: str) -> str:
    """Shown with a round's question when the person returns to it from another round."""
    return f"Back to {title}, where you left off."


def waiting_for(current: str) -> str:
    """On a round announced while the person is answering another one."""
    return (
        f"You're answering {current} first; this round's questions come when you finish it."
        " Press Answer now to switch, or answer everything at once in the form."
    )


def already_answered(question: str, shown: str | None) -> str:
    """A repeated or stale click on a question that has an answer: nothing changed."""
    quoted = question if len(question) <= 80 else question[:79] + "…"
    given = f"skipped “{quoted}”" if shown is None else f"answered “{quoted}” ({shown})"
    return (
        f"You already {given}, so that click changed nothing."
        " To change it, say `review` and choose Edit."
    )


def command_expired(text: str, received: datetime) -> str:
    """A stored command the bot could not carry out in time (it was down)."""
    shown = text if len(text) <= 80 else text[:79] + "…"
    return (
        f"Your command `{shown}` from {when(received)} was not carried out: the bot was"
        " unavailable for too long to answer it. Run it again if you still want it."
    )


def open_question_line(
    title: str, number: int, question: int, total: int, deadline: datetime
) -> str:
    """One line of `mine`: a round the person has open."""
    return f"{title} round {number}: question {question} of {total}, closes {when(deadline)}"


def round_opened(title: str, number: int, invited: int, deadline: datetime) -> str:
    """The CIO channel notice when a round opens."""
    return (
        f"{title}: round {number} is open. {invited} stakeholder(s) prompted;"
        f" it closes {when(deadline)}."
    )


def round_already_open(title: str, number: int) -> str:
    """`ask` while a round is open."""
    return f"{title} round {number} is already open. Use `close` first to start a new one."


def no_open_round(title: str) -> str:
    """`close` or `remind` with nothing open."""
    return f"{title} has no open round."


def round_closed_notice(title: str, number: int, answered: int, invited: int) -> str:
    """Confirmation after `close`."""
    return f"{title} round {number} closed: {answered} of {invited} answered. Digest posted."


def reminders_sent(title: str, count: int) -> str:
    """Confirmation after `remind`."""
    return f"{title}: reminded {count} stakeholder(s) who haven't finished."


def schedule_changed(title: str, description: str, next_at: datetime | None) -> str:
    """Confirmation after `schedule`."""
    nxt = f" Next round: {when(next_at)}." if next_at else ""
    return f"{title} now runs {description}.{nxt}"


def paused(title: str) -> str:
    """Confirmation after `pause`."""
    return f"{title} is paused: no new rounds open until you `resume` it."


def resumed(title: str, next_at: datetime | None) -> str:
    """Confirmation after `resume`."""
    nxt = f" Next round: {when(next_at)}." if next_at else ""
    return f"{title} is running again.{nxt}"


def no_members(title: str) -> str:
    """`ask` on a conversation whose groups are empty."""
    return f"{title} has nobody to ask: its groups have no members in the playbook."


HELP_INTRO = (
    "I run the strategy conversations: each group is asked its agenda on a cadence, and the"
    " CIO gets a digest when a round closes. Reply to a question to answer it."
)

HELP_TITLE = "strategy-bot commands"
# One help line per command (two for `skip`); the command table (`bot.flows.commands`)
# pairs each with its usage, so help, the Teams menus and the parser cannot drift apart.
HELP_MINE = "your open questions"
HELP_REVIEW = "your answers in open rounds (edit them until the round closes)"
HELP_SKIP = "skip the current question (optional questions only)"
HELP_SKIP_ROUND = "sit this round out"
HELP_SNOOZE = "ask me again later, e.g. `snooze 2h`"
HELP_STATUS = "rounds, progress, next dates, delivery problems"
HELP_DIGEST = "the roll-up of a round (default: all, last)"
HELP_DIGEST_RANGE = "one conversation over its last n closed rounds"
HELP_DIGEST_SINCE = "one conversation over the rounds closed since a date (YYYY-MM-DD, UTC)"
HELP_HISTORY = "a conversation's rounds: dates, participation, maturity"
HELP_ASK = "open a round now"
HELP_CLOSE = "close the open round and post its digest"
HELP_REMIND = "remind everyone who hasn't finished"
HELP_SCHEDULE = "e.g. `every 2 weeks on tue at 10:00 Europe/Berlin`"
HELP_PAUSE = "stop opening rounds"
HELP_RESUME = "start again"

STATUS_TITLE = "Strategy conversations"
STATUS_DELIVERY_PROBLEMS = "Delivery problems:"
STATUS_NOT_REACHABLE = "Not reachable:"


def status_line(title: str, key: str, cadence: str, upcoming: datetime | None) -> str:
    """A conversation in `status`: its cadence and next round (or that it is paused)."""
    state = "paused" if upcoming is None else f"next round {when(upcoming)}"
    return f"{title} ({key}): {cadence}; {state}"


def status_open_round(
    number: int, done: int, invited: int, skipped: int, deadline: datetime
) -> str:
    """The open round of a conversation in `status`."""
    return (
        f"    round {number} open: {done} of {invited} answered, {skipped} skipped;"
        f" closes {when(deadline)}"
    )


def status_held(count: int) -> str:
    """Prompts of an open round still waiting for people's local time, in `status`."""
    return f"    {count} prompt(s) waiting for local time"


UNREADABLE_CLICK = (
    "Sorry, I couldn't read that button or form (it may come from an old message)."
    " Say `mine` to see your open questions."
)


def round_id_out_of_range(value: int, maximum: int) -> str:
    """A round id no round can have (the console's 400)."""
    shown = str(value) if len(str(value)) <= 20 else str(value)[:20] + "…"
    return f'"round_id" {shown} is not a round: round ids run from 1 to {maximum:,}.'


HOME_INTRO = "Your strategy conversations. Answer in our DM, or with the buttons below."


# ---------------------------------------------------------------- welcome on install (Teams)

WELCOME_TITLE = "Welcome to strategy-bot"


def welcome_personal(organisation: str) -> tuple[str, ...]:
    """Sent in a person's chat when they install the bot (before any pending prompt)."""
    return (
        f"I run the strategy conversations for {organisation}: each group is asked a few"
        " questions on a schedule, and the answers are rolled up for the CIO.",
        "When a round that includes you opens, I'll send your questions here. Reply in this"
        " chat to answer, or use the buttons on the card.",
        "Say `help` for what I can do, or `mine` for your open questions.",
    )


def welcome_channel(organisation: str, cio_channel: bool) -> tuple[str, ...]:
    """Posted in a channel or group chat when the bot is added there."""
    where = (
        "Round digests for the CIO are posted in this channel."
        if cio_channel
        else "Stakeholders answer in their personal chat with me, not here."
    )
    return (
        f"I run the strategy conversations for {organisation}. {where}",
        "Mention me followed by a command to use it here; mention me with `help` for the list.",
    )


# ---------------------------------------------------------------- unreachable chats (Teams)

REMOVED_IN_TEAMS = "the bot was removed from this chat or team in Teams"


def chat_unreachable(cause: str, since: datetime) -> str:
    """Why a message was not delivered: the chat refused the bot for good (for `status`)."""
    return (
        f"unreachable since {when(since)} ({cause}); nothing is sent here until the bot is"
        " added again in Teams"
    )


# ---------------------------------------------------------------- start-up (the operator)
# One line each, printed by `strategy-bot serve` before it exits; each names the setting.


def console_exposed(host: str) -> str:
    """HOST would make the login-less console reachable from other machines."""
    return (
        f"HOST={host} makes the web console reachable from other machines, and the console"
        " has no login: set CONSOLE_ALLOW_REMOTE=true to allow that anyway, or"
        " CONSOLE_ENABLED=false to turn the console off."
    )


def host_unknown(host: str, reason: str) -> str:
    """HOST does not resolve to an address."""
    return (
        f"HOST: cannot listen on {host!r}, it is not an address or a known host name"
        f" ({reason}); use an address of this machine, such as 127.0.0.1 or 0.0.0.0."
    )


def host_not_here(host: str) -> str:
    """HOST is an address, but not one of this machine's."""
    return (
        f"HOST: {host} is not an address of this machine; use one of its addresses,"
        " 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)."
    )


def port_in_use(host: str, port: int) -> str:
    """Something already listens on PORT."""
    return (
        f"PORT: {port} is already in use on {host} (another strategy-bot?); stop it or set"
        " another PORT."
    )


def port_refused(host: str, port: int, reason: str) -> str:
    """The system refused to let us listen (a privileged port, say)."""
    return f"PORT: cannot listen on {host} port {port} ({reason}); set another PORT."


def database_url_invalid(reason: str) -> str:
    """DATABASE_URL cannot be parsed or used."""
    return f"DATABASE_URL: not a database URL strategy-bot can use ({reason})."


def sqlite_folder_missing(folder: str) -> str:
    """The SQLite file's folder does not exist (SQLite creates the file, not the folder)."""
    return (
        f"DATABASE_URL: the folder {folder} for the SQLite file does not exist; create it,"
        " or point DATABASE_URL at a file in an existing folder."
    )


def sqlite_unusable(path: str, reason: str) -> str:
    """The SQLite file exists (or its folder does) but cannot be opened or written."""
    return f"DATABASE_URL: cannot use the SQLite file {path} ({reason})."


def database_unreachable(url: str, reason: str) -> str:
    """The database server could not be reached or refused us (URL without its password)."""
    return (
        f"DATABASE_URL: cannot connect to {url} ({reason}); is the database running and"
        " reachable from here?"
    )


# ---------------------------------------------------------------- what messages show
# Prompts, forms, summaries and digests are built once, as platform-neutral sections
# (`bot.presentation`), from the sentences below; Slack, Teams and the console only lay
# them out. A template's `{when}` is a moment each platform shows in the reader's own time
# zone; other `{names}` are filled in by `bot.presentation.text.fill`.

BOT_NAME = "Strategy bot"
YES = "Yes"
NO = "No"
SEND = "Send"
CANCEL = "Cancel"

# Buttons (`bot.presentation.vocabulary.present_action`).
ACTION_ANSWER_ALL = "Answer all in a form"
ACTION_ANSWER_NOW = "Answer now"
ACTION_SKIP_QUESTION = "Skip question"
ACTION_SKIP_ROUND = "Skip round"
ACTION_SNOOZE = "Snooze"
ACTION_REVIEW = "Review my answers"
ACTION_EDIT = "Edit answer"


def snooze_button(duration: str) -> str:
    """The Snooze button, which snoozes for the default duration."""
    return f"{ACTION_SNOOZE} {duration}"


def edit_button(number: int) -> str:
    """The Edit button of a summary's answer `number` (1-based)."""
    return f"{ACTION_EDIT} {number}"


# Question types (`bot.presentation.vocabulary.present_question`).
TYPE_TEXT = "text"
TYPE_RATING = "rating 1-5"
TYPE_SINGLE_CHOICE = "one choice"
TYPE_MULTIPLE_CHOICE = "several choices"
TYPE_YES_NO = "yes/no"
TYPE_NUMBER = "figure"
NO_FIGURES = "No figures yet."
MEASURE_MEDIAN = "{median} median"


def measure_range(low: str, high: str) -> str:
    """The spread of a measure's answers."""
    return f"(from {low} to {high})"


def target_met(target: str) -> str:
    """A measure at or beyond its target."""
    return f"target {target} met"


def target_missed(target: str) -> str:
    """A measure short of its target."""
    return f"target {target} not met yet"


REPLY_NUMBER_HINT = "Reply in this chat with a figure."
NUMBER_PLACEHOLDER = "A figure, e.g. 42"
REPLY_HINT = "Reply in this chat to answer."
TEXT_PLACEHOLDER = "Type your answer"
RATING_PLACEHOLDER = "Choose 1-5"
CHOICE_PLACEHOLDER = "Choose…"
CHOICES_PLACEHOLDER = "Choose one or more…"
TICK_FIRST = "Tick at least one option, then press Send."


def option_label(short: str, caption: str | None) -> str:
    """An answer option with its caption: a rating and its label, "4 · Piloting"."""
    return f"{short} · {caption}" if caption else short


# Prompts.
ROUND_CLOSES = "Round closes {when}"
CLOSES = "closes {when}"
BADGE_NEW_ROUND = "New round"
BADGE_REMINDER = "Reminder"


def round_label(number: int) -> str:
    """A round by its number."""
    return f"Round {number}"


def question_position(index: int, total: int, required: bool) -> str:
    """Where a question sits in the agenda, and whether it may be skipped."""
    return f"Question {index} of {total}" + ("" if required else " · optional")


def prompt_fallback(title: str, index: int, total: int, question: str) -> str:
    """A prompt's notification text."""
    return f"{title}, question {index} of {total}: {question}"


def waiting_fallback(title: str, number: int) -> str:
    """A waiting prompt's notification text."""
    return f"{title}: round {number} is waiting for you"


# Forms.
FORM_INTRO = "Answer every question at once; you can change answers until the round closes."
ANSWER_REQUIRED = "This question needs an answer."
SUBMIT_ANSWERS = "Submit answers"


def form_fallback(title: str) -> str:
    """A form's notification text."""
    return f"{title}: every question in one form"


# Summaries.
SUMMARY_DONE = "Done ✓"
SUMMARY_IN_PROGRESS = "In progress"
SKIPPED = "Skipped"
NO_ANSWER = "(no answer)"
NO_ANSWERS_YET = "No answers yet."
CAN_EDIT = "You can edit answers until the round closes."


def summary_fallback(title: str, done: bool) -> str:
    """A summary's notification text."""
    return f"Your answers to {title} ({'done' if done else 'in progress'})"


# Digests.
ALL_CONVERSATIONS = "All conversations"
GENERATED = "generated {when}"
PREVIOUS_ROUND = "previous round"
NO_CONVERSATIONS = "No conversations in this digest."
NO_ROUND_YET = "No round yet"
ROUND_CLOSED = "closed {when}"
ROUND_CLOSED_UNDATED = "closed"
ROUND_OPEN = "open, partial results"
ANONYMOUS_ROUND = "anonymous: names are never shown"
SOCIAL_MATURITY = "Social maturity: {stage}{change}"
MATURITY_UNCHANGED = " (unchanged)"
NEXT_MOVE = "{label}{move}"
NEXT_MOVE_LABEL = "Next move: "
DID_NOT_ANSWER = "Did not answer: {names}"
WAITING_ON = "Waiting on: {names}"
RATING_MEAN = "{mean} / 5 mean"
NO_TEXT_ANSWERS = "No text answers."
NO_CHOICE_ANSWERS = "No answers."


def digest_title(organisation: str) -> str:
    """A digest's heading."""
    return f"Strategy digest · {organisation}"


def digest_fallback(
    organisation: str, scope: str, previous: bool, single: tuple[str, int] | None
) -> str:
    """A digest's notification text; `single` is (title, round number) of a one-round digest."""
    which = " (previous round)" if previous else ""
    if single is not None:
        return f"{single[0]} round {single[1]} digest for {organisation}{which}"
    return f"Strategy digest for {organisation} ({scope.lower()}){which}"


def maturity_was(stage: str) -> str:
    """The maturity stage of the previous rounds, when it differs."""
    return f" (was {stage})"


def maturity_axis(axis: str, mean: str) -> str:
    """One axis of the maturity map: "Internal 2.5 / 5"."""
    return f"{axis} {mean} / 5"


MATURITY_INTERNAL = "Internal"
MATURITY_EXTERNAL = "External"

#: Seed 004: what a CIO should do next at each stage of social maturity.
NEXT_MOVES: dict[str, str] = {
    "laggard": (
        "Experiment within IT: use social tools to make IT itself more productive"
        " and look for business-driven pilots across the organisation. Short term: set up"
        " an IT social business council, hold social technology workshops for IT and"
        " start an IT leadership blog."
    ),
    "externally mature": (
        "Partner with marketing: support its customer-facing initiatives and connect"
        " employees with customers (collaboration platforms, social CRM)."
    ),
    "internally mature": (
        "Encourage customer-facing initiatives: work with HR, sales and marketing so"
        " employees use social tools to serve and engage customers."
    ),
    "enterprise maturity": (
        "Formulate the social business strategy: integrate social technology into"
        " business capabilities, bridging internal and external strategies."
    ),
}
PARTICIPATION = "Participation"


def no_closed_rounds(title: str, since: datetime | None) -> str:
    """A range digest asked for a range with no closed round in it."""
    if since is None:
        return f"{title} has no closed round yet: a range digest needs at least one."
    return f"{title} has no round closed since {since:%Y-%m-%d}. Try an earlier date."


def answered_of(answered: int, invited: int) -> str:
    """A round's participation: "3 of 6 answered"."""
    return f"{answered} of {invited} answered"


def partly(count: int) -> str:
    """How many answered part of the round before it closed."""
    return f"{count} partly"


def skipped_count(count: int) -> str:
    """How many sat the round (or a question) out."""
    return f"{count} skipped"


def answered_count(count: int) -> str:
    """How many answered a question."""
    return f"{count} answered"


def since_round(number: int | None) -> str:
    """What a change is measured against."""
    return f"since round {number}" if number is not None else "since the previous round"


def was(value: str) -> str:
    """The previous round's figure."""
    return f"(was {value})"


def question_number(number: int, text: str) -> str:
    """A question of a digest, numbered within its conversation."""
    return f"Q{number}. {text}"


# Layout notes: what a platform's limits made it show differently.
def continued(part: int, total: int) -> str:
    """A long message continued in a further one."""
    return f"(continued, part {part} of {total})"


def part_of(part: int, total: int) -> str:
    """Which of several cards this is."""
    return f"part {part} of {total}"


CONTINUED = "(continued)"
ANSWER_CUT = "(answer cut: too long to show here in full)"


def reply_with_number(multiple: bool) -> str:
    """Too many options for buttons or a menu: answer by number."""
    return "Reply in this chat with the number" + ("s, separated by commas." if multiple else ".")


def options_listed(options: list[str]) -> str:
    """Options whose text was cut on a control, listed in full."""
    return "Options: " + "; ".join(f"{i}. {o}" for i, o in enumerate(options, 1))


def more_questions(count: int) -> str:
    """A form with more questions than a modal holds."""
    return f"{count} more questions: answer them in the chat after sending."


def prefill_cut(length: int, shown: int) -> str:
    """A current answer longer than the form's field."""
    return (
        f"Your current answer is {length:,} characters; the form shows the first {shown:,}."
        " Sending replaces it."
    )


# The strategy summary (the one screen that opens `digest all`).
SUMMARY_COLUMNS = ("Conversation", "Answered", "Internal", "External", "Stage", "Biggest change")
HISTORY_COLUMNS = ("Round", "Closed", "Answered", "Internal", "External", "Stage")
NO_CLOSED_ROUND = "no closed round yet"
NEEDS_YOU = "Needs you"
NOTHING_NEEDS_YOU = "Nothing needs you: every conversation ran on time and every group answered."
NOTHING_YET = "Nothing to look at yet: no round has closed yet."
DETAILS = "Details: trends, and each conversation's latest round"
HISTORY_DETAILS = "Details: the latest round in this range"
MAP_CHART = "Social maturity by conversation"
MATURITY_CHART = "The organisation's social maturity"
PARTICIPATION_CHART = "Share who answered, by conversation"
RATINGS_CHART = "{title}: ratings by round"
AXES_CHART = "{title}: social maturity by round"
ROUNDS_AXIS = "Rounds"
MEAN_AXIS = "Mean (1-5)"
PERCENT_AXIS = "% answered"
TRENDS = "Over the last rounds"
RECURRING = "Chosen over the range"
NOT_CHOSEN = "Not chosen: {options}"


def in_round(number: int) -> str:
    """Which closed round a summary row reads."""
    return f"round {number}"


def open_now(number: int) -> str:
    """A round still open beside the closed one a row reads."""
    return f"round {number} open"


def slot(back: int) -> str:
    """A point of a chart over rounds: "now", "1 back", "2 back" (at most 20 characters)."""
    return "now" if back == 0 else f"{back} back"


def round_short(number: int) -> str:
    """A round on a chart's axis."""
    return f"R{number}"


def placed_on_map(internal: str, external: str, conversations: int) -> str:
    """The organisation's means and what they average."""
    many = "conversation" if conversations == 1 else "conversations"
    return f"Internal {internal} / 5 · External {external} / 5 · mean of {conversations} {many}"


def who_makes_the_case(ahead: Sequence[tuple[str, str]], lagging: Sequence[str]) -> str:
    """The conversations that make the case for the move: who is ahead, who lags.

    "Social Media and Social Technologies are externally mature, Social Support has
    enterprise maturity; Social Networking lags."
    """
    by_stage: dict[str, list[str]] = {}
    for title, stage in ahead:
        by_stage.setdefault(stage, []).append(title)
    said = []
    parts = []
    for stage, titles in by_stage.items():
        if stage == "enterprise maturity":
            verb = "has" if len(titles) == 1 else "have"
        else:
            verb = "is" if len(titles) == 1 else "are"
        parts.append(f"{_and(titles)} {verb} {stage}")
    if parts:
        said.append(", ".join(parts))
    if lagging:
        verb = "lags" if len(lagging) == 1 else "lag"
        said.append(f"{_and(lagging)} {verb}")
    return ("; ".join(said) + ".") if said else ""


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


OVERDUE = "{title}: no round closed in {periods} cadence periods, since {when}."
OVERDUE_NEVER = "{title}: no round has closed yet, {periods} cadence periods since it started."


def silent_group(title: str, group: str, round_number: int, invited: int) -> str:
    """A group that answered nothing in a conversation's last closed round."""
    return f"{title}: {group} answered nothing in round {round_number} ({invited} asked)."


def sharp_drop(title: str, what: str, before: str, after: str, round_number: int) -> str:
    """A figure that got sharply worse since the previous closed round."""
    return f"{title}: {what} went from {before} to {after} in round {round_number}."


def more_in_details(count: int) -> str:
    """Items left out of the summary, listed in the details."""
    return f"… and {count} more in the details."


def series_of(values: list[str]) -> str:
    """Figures over rounds, oldest first: "2.3 → 3.1 → 4.0"."""
    return " → ".join(values)


def range_of(first: int, last: int) -> str:
    """The rounds a range digest covers."""
    return f"round {first}" if first == last else f"rounds {first} to {last}"


def chosen_in(count: int, rounds: int) -> str:
    """How often an option was chosen over several rounds."""
    return f"{count} over {rounds} round{'s' if rounds != 1 else ''}"


def history_title(title: str) -> str:
    """The heading of `history <conversation>`."""
    return f"{title} · history"


def history_fallback(title: str, count: int) -> str:
    """The notification text of `history <conversation>`."""
    return f"{title}: {count} closed round{'s' if count != 1 else ''}"


NO_HISTORY = "No closed round yet: the history starts when the first round closes."


# Range digests and history: what was wrong with the words.
RANGE_OF_ONE = (
    "A range digest is of one conversation: `digest social-media rounds 3`"
    " or `digest social-media since 2026-09-01`."
)


def bad_round_count(word: str, most: int) -> str:
    """`digest <conversation> rounds <n>` with something other than 1..most."""
    return f"`{word[:20]}` is not a number of rounds: give one from 1 to {most}, e.g. `rounds 3`."


def bad_date(word: str) -> str:
    """`digest <conversation> since <date>` with something that is not a date."""
    return f"`{word[:20]}` is not a date: write it as year-month-day, e.g. `since 2026-09-01`."


def future_date(day: str) -> str:
    """A range that starts after today."""
    return f"{day} is in the future: no round has closed since then yet."


def digest_words(words: str) -> str:
    """Words a digest command does not take."""
    return (
        f"`digest` does not take `{words[:40]}`. Try `digest all`, `digest social-media previous`,"
        " `digest social-media rounds 3` or `digest social-media since 2026-09-01`."
    )


def showing_last(count: int, more: int) -> str:
    """A history cut to its newest rounds."""
    return f"Showing the last {count} closed rounds; {more} older ones are not listed."


def range_needs(how: str, key: str) -> str:
    """`digest <conversation> rounds` or `since` with nothing after it."""
    if how == "rounds":
        return f"`rounds` needs a number: `digest {key} rounds 3`."
    return f"`since` needs a date: `digest {key} since 2026-09-01`."


# "What we heard": a closed round's results, told back to the people asked.
def heard_title(title: str, number: int) -> str:
    """The heading of a round's "what we heard"."""
    return f"What we heard · {title}, round {number}"


def heard_fallback(title: str, number: int) -> str:
    """The notification text of a round's "what we heard"."""
    return f"What we heard in {title}, round {number}"


def heard_thanks(answered: int, invited: int) -> str:
    """Who took part, said to the people asked."""
    return f"Thank you: {answered} of {invited} answered. Here is what the group said."


def heard_texts(count: int) -> str:
    """A text question, told back without quoting anyone."""
    if count == 0:
        return "No answers."
    return f"{count} answer{'s' if count != 1 else ''}, read in full by the CIO."


def heard_withheld(count: int) -> str:
    """Questions left out of an anonymous round's "what we heard"."""
    many = "questions had" if count != 1 else "question had"
    return f"{count} {many} too few answers to share without revealing who said what."


HEARD_NEXT = "Next, the CIO will look at: {looks}"
HEARD_NEXT_ROUND = "Next round: {when}"


# -- The audit log (`audit`) ------------------------------------------------------------------

HELP_AUDIT = "who changed a cadence, opened, closed, paused or reminded, newest first"
AUDIT_TITLE = "Audit log"
AUDIT_EMPTY = "Nothing recorded for that yet."
AUDIT_SINCE_NEEDS_DATE = "Write the day after `since`, e.g. `audit since 2026-09-01`."


def audit_line(
    at: datetime, actor: str, action: str, target: str, detail: Mapping[str, object]
) -> str:
    """One audit entry: when (UTC), who, what, and the figures it changed."""
    if "old" in detail or "new" in detail:
        extra = f": {detail.get('old') or 'none'} → {detail.get('new') or 'none'}"
    elif detail:
        extra = " (" + ", ".join(f"{k} {v}" for k, v in sorted(detail.items())) + ")"
    else:
        extra = ""
    when = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return f"{when:%Y-%m-%d %H:%M} UTC · {actor} · {action} {target}{extra}"


def audit_more(count: int) -> str:
    """More entries than one message shows."""
    return f"… and {count} older; narrow it with `since <date>` or a conversation."


# == part-governance: forget, mine history/export, retention, export =========================
# (appended as one block, so the i18n conversion can move it as a whole)

HELP_FORGET = "erase a person's answers, identities and messages everywhere; says what is kept"
HELP_MINE_HISTORY = "everything stored about you: your groups, and every answer with its round"
HELP_MINE_EXPORT = "the same as one plain-text document, to copy and keep"
FORGET_TITLE = "Forgotten"


def forget_unknown(word: str) -> str:
    """`forget` of nobody the bot knows."""
    return (
        f"I know nobody called `{word}`, so nothing was changed. Name them by their"
        " identity (`slack:U0123ABCD`, `teams:…`, `console:…`) or their full name."
    )


def forget_ambiguous(word: str, identities: Sequence[str]) -> str:
    """A name several members share."""
    return (
        f"Several people are called `{word}`: {', '.join(identities)}. Name one by identity;"
        " nothing was changed."
    )


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def forget_done(answers: int, revisions: int, rounds: int, groups: int, sent: int) -> str:
    """What `forget` erased (never naming the person: this receipt is kept too)."""
    return (
        f"Erased everything stored about the person you named: {_n(answers, 'answer')}"
        f" ({_n(revisions, 'earlier version')}) in {_n(rounds, 'round')},"
        f" {_n(groups, 'group membership')}, {_n(sent, 'message')} to them,"
        " their identity and profile."
    )


def forget_kept(digests: int, audit_entries: int) -> str:
    """What `forget` kept."""
    return (
        f"Kept: the counts, means and medians of the rounds they took part in;"
        f" their words were taken out of {_n(digests, 'stored digest')}, and"
        f" {_n(audit_entries, 'audit entry', 'audit entries')} now read [forgotten]."
    )


def forget_still_listed(groups: Sequence[str]) -> str:
    """The person is still in the playbook: they come back at the next sync."""
    return (
        f"They are still listed in the playbook ({', '.join(groups)}): remove them there,"
        " or they will be asked again from the next start."
    )


MINE_HISTORY_TITLE = "What is stored about you"
MINE_EXPORT_TITLE = "Your data (export)"
MINE_NOTHING_STORED = "Nothing is stored about you: you are not a member of any group."
MINE_NO_ANSWERS = "No answers stored."
MINE_USAGE = "mine [history|export]"


def mine_profile(
    identity: str, name: str, timezone: str | None, groups: Sequence[str], rounds: int
) -> list[str]:
    """The profile part of `mine history`."""
    return [
        f"Identity: {identity}",
        f"Name: {name}",
        f"Time zone: {timezone or 'not known'}",
        f"Groups: {', '.join(groups) or 'none'}",
        f"Rounds you were asked in: {rounds}",
    ]


def mine_answer_line(
    conversation: str, round_number: int, question: str, answer: str, at: str, revisions: int
) -> str:
    """One stored answer."""
    edits = f" (edited {_n(revisions, 'time')})" if revisions else ""
    return f"{conversation} · round {round_number} · {at} · {question} → {answer}{edits}"


def mine_export_document(lines: Sequence[str]) -> str:
    """`mine export`: the lines as one document to copy."""
    return "\n".join(["strategy-bot: your stored data", *lines])


def status_retention(policy: str | None, next_purge: datetime) -> str:
    """`status`: how long a conversation's answers are kept, and when the purge runs."""
    if policy is None:
        return "    Retention: answers kept until someone is forgotten (no policy set)."
    return (
        f"    Retention: answers kept {policy} after their round closes;"
        f" next purge {when(next_purge)}."
    )

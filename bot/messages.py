"""Every sentence a user or admin reads, in one place: the bot's translation catalogue.

Keeping them here makes the tone consistent, makes them easy to review, and keeps
exception text out of chat: code raises `UserError(messages.something(...))`. Each
sentence is English source text looked up in the catalogue of `BOT_LANGUAGE`
(`bot.i18n`, GNU gettext); `make messages` extracts them all into
`bot/locale/strategy-bot.pot`, which translators start from (docs/translating.md).

How sentences are written here, so that they translate:

* whole sentences, one per case ("…; paused" and "…; next round …" are two), never
  pieces glued together, so a translator can reorder words;
* named placeholders (`{title}`), filled with `str.format` after the lookup;
* counts through `ngettext`, so each language gets its own plural forms;
* commands in “quotes”, not Markdown backticks: backticks are code in Slack but show
  literally in Teams cards and the console, while quotes read the same everywhere
  (translators keep the quoted command words in English, the grammar is English);
* constants (`YES`, templates like `ROUND_CLOSES`) are marked with `N_` and translated
  each time they are read (`__getattr__` at the end), so callers keep writing
  `messages.YES` and still get the language chosen at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.i18n import gettext as _
from bot.i18n import gettext_noop as N_
from bot.i18n import ngettext

GENERIC_FAILURE = N_(
    "Something went wrong on our side; nothing you sent was lost. Please try again."
)


def when(at: datetime) -> str:
    """A timestamp as users read it (UTC, unambiguous)."""
    # Translators: a strftime format; %a and %b stay English day and month names, so a
    # numeric form such as "%d.%m. %H:%M UTC" may read better in your language.
    return at.strftime(_("%a %d %b %H:%M UTC"))


def unknown_command(word: str, suggestion: str | None) -> str:
    """An unknown first word."""
    if suggestion:
        # Translators: words in “quotes” are commands typed in English; keep them as they are.
        return _(
            "I don't know the command “{word}”. Did you mean “{suggestion}”?"
            " Say “help” for the list."
        ).format(word=word, suggestion=suggestion)
    return _("I don't know the command “{word}”. Say “help” for the list.").format(word=word)


def unknown_conversation(word: str, known: list[str], suggestion: str | None) -> str:
    """An unknown conversation key."""
    if suggestion:
        return _(
            "There is no conversation “{word}”. Did you mean “{suggestion}”? Known: {known}."
        ).format(word=word, suggestion=suggestion, known=", ".join(known))
    return _("There is no conversation “{word}”. Known: {known}.").format(
        word=word, known=", ".join(known)
    )


def usage(command: str, form: str) -> str:
    """A command with missing or extra words."""
    return _("“{command}” is used like this: “{form}”").format(command=command, form=form)


def not_allowed(command: str, who: str) -> str:
    """A role check that failed."""
    return _("Only {who} can use “{command}”.").format(who=role_name(who), command=command)


def not_a_participant() -> str:
    """Someone outside every group wrote to the bot."""
    return _(
        "You aren't in any strategy conversation yet, so there is nothing to answer."
        " An admin can add you to a group in the playbook. Say “help” for what I can do."
    )


def nothing_open() -> str:
    """A stakeholder wrote but has no open prompt."""
    return _("You have no open questions right now. Say “mine” any time to check.")


# -- reading an answer (the re-prompt's note says exactly what is expected) ------------------

ANSWER_NEEDED = N_("This question needs an answer.")
ANSWER_YES_NO = N_("Please answer yes or no.")
ANSWER_CHOOSE_ONE = N_("Please choose at least one option.")
NO_ANSWER = N_("(no answer)")
YES = N_("Yes")
NO = N_("No")


def answer_too_long(length: int, limit: int) -> str:
    """A text answer over the limit."""
    return ngettext(
        "That answer is {length:,} character long; please keep it under {limit:,}"
        " (a summary is fine, link to a document for detail).",
        "That answer is {length:,} characters long; please keep it under {limit:,}"
        " (a summary is fine, link to a document for detail).",
        length,
    ).format(length=length, limit=limit)


def rating_expected(low: str | None, high: str | None) -> str:
    """What a rating question accepts, with the scale's end labels."""
    # Translators: a scale's end and its label, "1 (Not at all)".
    labelled = _("{number} ({label})")
    start = labelled.format(number=1, label=low) if low else "1"
    end = labelled.format(number=5, label=high) if high else "5"
    return _("a whole number from {low} to {high}").format(low=start, high=end)


def answer_number(unit: str | None) -> str:
    """A number question answered with something that is not a number."""
    if unit:
        return _("Please answer with a number (in {unit}), for example 42 or 3.5.").format(
            unit=unit
        )
    return _("Please answer with a number, for example 42 or 3.5.")


def figure(value: float, unit: str | None) -> str:
    """A measure as people read it: 42 %, 3.5 hours, 1,200."""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
    if not unit:
        return shown
    return f"{shown}{unit}" if unit == "%" else f"{shown} {unit}"


def answer_rating(expected: str) -> str:
    """A rating answer that is not a number on the scale."""
    return _("Please answer with {expected}.").format(expected=expected)


def answer_off_scale(value: int, expected: str) -> str:
    """A rating outside 1..5."""
    return _("{value} is outside the scale; please answer with {expected}.").format(
        value=value, expected=expected
    )


def not_an_option(text: str, suggestion: str | None, options: list[str]) -> str:
    """A choice that is none of the options."""
    listed = "; ".join(f"{i}. {o}" for i, o in enumerate(options, 1))
    if suggestion:
        return _(
            "“{text}” isn't one of the options. Did you mean “{suggestion}”? Choose: {options}"
        ).format(text=text, suggestion=suggestion, options=listed)
    return _("“{text}” isn't one of the options. Choose: {options}").format(
        text=text, options=listed
    )


def round_closed(title: str, closed_at: datetime | None) -> str:
    """A late answer."""
    if closed_at:
        return _(
            "Thanks, but the {title} round closed on {when}, so this answer wasn't recorded."
            " You'll be asked again in the next round."
        ).format(title=title, when=when(closed_at))
    return _(
        "Thanks, but the {title} round closed, so this answer wasn't recorded."
        " You'll be asked again in the next round."
    ).format(title=title)


def required_cannot_skip() -> str:
    """Skip on a required question."""
    return _("This question is required. Answer it, or say “skip round” to sit this round out.")


def snoozed(until: datetime) -> str:
    """Confirmation of a snooze."""
    return _("Snoozed. I'll ask again at {when}.").format(when=when(until))


def snooze_capped(until: datetime) -> str:
    """A snooze that would pass the deadline."""
    return _(
        "The round closes before then; I'll ask again at {when}, an hour before it does."
    ).format(when=when(until))


def round_closed_for_you(title: str, started: bool) -> str:
    """Sent to those who had not finished when a round closed."""
    if started:
        return _(
            "The {title} round has closed, so its questions can no longer be answered."
            " What you had answered is in the digest."
        ).format(title=title)
    return _(
        "The {title} round has closed, so its questions can no longer be answered."
        " You'll be asked again next round."
    ).format(title=title)


def skipped_round(title: str) -> str:
    """Confirmation of skipping a round."""
    return _(
        "You're skipping this {title} round. Thanks for letting us know;"
        " anything you answered in it is left out of the digest."
    ).format(title=title)


NOT_ON_AGENDA = N_("That question is not on this round's agenda.")
NOT_YOUR_PROMPT = N_("That prompt isn't addressed to you, or the round no longer exists.")
OPEN_QUESTIONS_TITLE = N_("Your open questions")


def already_finished(title: str, status: str) -> str:
    """A button of a round the person has finished or skipped: nothing changed."""
    if status == "skipped":
        return _(
            "You have already skipped this {title} round, so that click changed nothing."
            " Say “review” to see or edit your answers until it closes."
        ).format(title=title)
    return _(
        "You have already finished this {title} round, so that click changed nothing."
        " Say “review” to see or edit your answers until it closes."
    ).format(title=title)


def back_to(title: str) -> str:
    """Shown with a round's question when the person returns to it from another round."""
    return _("Back to {title}, where you left off.").format(title=title)


def waiting_for(current: str) -> str:
    """On a round announced while the person is answering another one."""
    return _(
        "You're answering {current} first; this round's questions come when you finish it."
        " Press Answer now to switch, or answer everything at once in the form."
    ).format(current=current)


def already_answered(question: str, shown: str | None) -> str:
    """A repeated or stale click on a question that has an answer: nothing changed."""
    quoted = question if len(question) <= 80 else question[:79] + "…"
    if shown is None:
        return _(
            "You already skipped “{question}”, so that click changed nothing."
            " To change it, say “review” and choose Edit."
        ).format(question=quoted)
    return _(
        "You already answered “{question}” ({answer}), so that click changed nothing."
        " To change it, say “review” and choose Edit."
    ).format(question=quoted, answer=shown)


def command_expired(text: str, received: datetime) -> str:
    """A stored command the bot could not carry out in time (it was down)."""
    shown = text if len(text) <= 80 else text[:79] + "…"
    return _(
        "Your command “{command}” from {when} was not carried out: the bot was"
        " unavailable for too long to answer it. Run it again if you still want it."
    ).format(command=shown, when=when(received))


def open_question_line(
    title: str, number: int, question: int, total: int, deadline: datetime
) -> str:
    """One line of `mine`: a round the person has open."""
    return _("{title} round {number}: question {question} of {total}, closes {when}").format(
        title=title, number=number, question=question, total=total, when=when(deadline)
    )


def round_opened(title: str, number: int, invited: int, deadline: datetime) -> str:
    """The CIO channel notice when a round opens."""
    return ngettext(
        "{title}: round {number} is open. {invited} stakeholder prompted; it closes {when}.",
        "{title}: round {number} is open. {invited} stakeholders prompted; it closes {when}.",
        invited,
    ).format(title=title, number=number, invited=invited, when=when(deadline))


def round_already_open(title: str, number: int) -> str:
    """`ask` while a round is open."""
    return _(
        "{title} round {number} is already open. Use “close” first to start a new one."
    ).format(title=title, number=number)


def no_open_round(title: str) -> str:
    """`close` or `remind` with nothing open."""
    return _("{title} has no open round.").format(title=title)


def round_closed_notice(title: str, number: int, answered: int, invited: int) -> str:
    """Confirmation after `close`."""
    return ngettext(
        "{title} round {number} closed: {answered} of {invited} answered. Digest posted.",
        "{title} round {number} closed: {answered} of {invited} answered. Digest posted.",
        invited,
    ).format(title=title, number=number, answered=answered, invited=invited)


def reminders_sent(title: str, count: int) -> str:
    """Confirmation after `remind`."""
    return ngettext(
        "{title}: reminded {count} stakeholder who hasn't finished.",
        "{title}: reminded {count} stakeholders who haven't finished.",
        count,
    ).format(title=title, count=count)


def schedule_changed(title: str, description: str, next_at: datetime | None) -> str:
    """Confirmation after `schedule`."""
    if next_at:
        return _("{title} now runs {cadence}. Next round: {when}.").format(
            title=title, cadence=description, when=when(next_at)
        )
    return _("{title} now runs {cadence}.").format(title=title, cadence=description)


def paused(title: str) -> str:
    """Confirmation after `pause`."""
    return _("{title} is paused: no new rounds open until you “resume” it.").format(title=title)


def resumed(title: str, next_at: datetime | None) -> str:
    """Confirmation after `resume`."""
    if next_at:
        return _("{title} is running again. Next round: {when}.").format(
            title=title, when=when(next_at)
        )
    return _("{title} is running again.").format(title=title)


def no_members(title: str) -> str:
    """`ask` on a conversation whose groups are empty."""
    return _("{title} has nobody to ask: its groups have no members in the playbook.").format(
        title=title
    )


HELP_INTRO = N_(
    "I run the strategy conversations: each group is asked its agenda on a cadence, and the"
    " CIO gets a digest when a round closes. Reply to a question to answer it."
)

HELP_TITLE = N_("strategy-bot commands")
# One help line per command (two for `skip`); the command table (`bot.flows.commands`)
# pairs each with its usage, so help, the Teams menus and the parser cannot drift apart.
HELP_MINE = N_("your open questions")
HELP_REVIEW = N_("your answers in open rounds (edit them until the round closes)")
HELP_SKIP = N_("skip the current question (optional questions only)")
HELP_SKIP_ROUND = N_("sit this round out")
HELP_SNOOZE = N_("ask me again later, e.g. “snooze 2h”")
HELP_STATUS = N_("rounds, progress, next dates, delivery problems")
HELP_DIGEST = N_("the roll-up of a round (default: all, last)")
HELP_DIGEST_CONFIDENTIAL = N_(
    "the roll-up of a conversation whose answers are confidential to your role"
)
HELP_DIGEST_RANGE = N_("one conversation over its last n closed rounds")
HELP_DIGEST_SINCE = N_("one conversation over the rounds closed since a date (YYYY-MM-DD, UTC)")
HELP_HISTORY = N_("a conversation's rounds: dates, participation, maturity")
HELP_ASK = N_("open a round now")
HELP_CLOSE = N_("close the open round and post its digest")
HELP_REMIND = N_("remind everyone who hasn't finished")
HELP_SCHEDULE = N_("e.g. “every 2 weeks on tue at 10:00 Europe/Berlin”")
HELP_PAUSE = N_("stop opening rounds")
HELP_RESUME = N_("start again")


def help_line(usage: str, text: str) -> str:
    """One line of `help`: a command's usage and what it does.

    `text` is a `HELP_*` line of the command table, which is built when `bot.flows.commands`
    is imported, before the language is chosen; it is looked up again here, so `help`
    speaks `BOT_LANGUAGE` too.
    """
    return _("“{usage}” — {text}").format(usage=usage, text=_(text))


STATUS_TITLE = N_("Strategy conversations")
STATUS_DELIVERY_PROBLEMS = N_("Delivery problems:")
STATUS_NOT_REACHABLE = N_("Not reachable:")


def status_line(title: str, key: str, cadence: str, upcoming: datetime | None) -> str:
    """A conversation in `status`: its cadence and next round (or that it is paused)."""
    if upcoming is None:
        return _("{title} ({key}): {cadence}; paused").format(title=title, key=key, cadence=cadence)
    return _("{title} ({key}): {cadence}; next round {when}").format(
        title=title, key=key, cadence=cadence, when=when(upcoming)
    )


def status_open_round(
    number: int, done: int, invited: int, skipped: int, deadline: datetime
) -> str:
    """The open round of a conversation in `status` (indented under its conversation)."""
    return "    " + ngettext(
        "round {number} open: {done} of {invited} answered, {skipped} skipped; closes {when}",
        "round {number} open: {done} of {invited} answered, {skipped} skipped; closes {when}",
        invited,
    ).format(number=number, done=done, invited=invited, skipped=skipped, when=when(deadline))


def status_held(count: int) -> str:
    """Prompts of an open round still waiting for people's local time, in `status`."""
    return "    " + ngettext(
        "{count} prompt waiting for local time", "{count} prompts waiting for local time", count
    ).format(count=count)


UNREADABLE_CLICK = N_(
    "Sorry, I couldn't read that button or form (it may come from an old message)."
    " Say “mine” to see your open questions."
)


def round_id_out_of_range(value: int, maximum: int) -> str:
    """A round id no round can have (the console's 400)."""
    shown = str(value) if len(str(value)) <= 20 else str(value)[:20] + "…"
    return _('"round_id" {value} is not a round: round ids run from 1 to {maximum:,}.').format(
        value=shown, maximum=maximum
    )


HOME_INTRO = N_("Your strategy conversations. Answer in our DM, or with the buttons below.")


# ---------------------------------------------------------------- welcome on install (Teams)

WELCOME_TITLE = N_("Welcome to strategy-bot")


def welcome_personal(organisation: str) -> tuple[str, ...]:
    """Sent in a person's chat when they install the bot (before any pending prompt)."""
    return (
        _(
            "I run the strategy conversations for {organisation}: each group is asked a few"
            " questions on a schedule, and the answers are rolled up for the CIO."
        ).format(organisation=organisation),
        _(
            "When a round that includes you opens, I'll send your questions here. Reply in this"
            " chat to answer, or use the buttons on the card."
        ),
        _("Say “help” for what I can do, or “mine” for your open questions."),
    )


def welcome_channel(organisation: str, cio_channel: bool) -> tuple[str, ...]:
    """Posted in a channel or group chat when the bot is added there."""
    if cio_channel:
        first = _(
            "I run the strategy conversations for {organisation}. Round digests for the CIO"
            " are posted in this channel."
        )
    else:
        first = _(
            "I run the strategy conversations for {organisation}. Stakeholders answer in"
            " their personal chat with me, not here."
        )
    return (
        first.format(organisation=organisation),
        _("Mention me followed by a command to use it here; mention me with “help” for the list."),
    )


# ---------------------------------------------------------------- unreachable chats (Teams)

REMOVED_IN_TEAMS = N_("the bot was removed from this chat or team in Teams")


def chat_unreachable(cause: str, since: datetime) -> str:
    """Why a message was not delivered: the chat refused the bot for good (for `status`)."""
    return _(
        "unreachable since {when} ({cause}); nothing is sent here until the bot is"
        " added again in Teams"
    ).format(when=when(since), cause=cause)


# ---------------------------------------------------------------- start-up (the operator)
# One line each, printed by `strategy-bot serve` before it exits; each names the setting.
# Translators: setting names (HOST, PORT, DATABASE_URL, ...) and values stay as they are.


def console_exposed(host: str) -> str:
    """HOST would make the login-less console reachable from other machines."""
    return _(
        "HOST={host} makes the web console reachable from other machines, and the console"
        " has no login: set CONSOLE_ALLOW_REMOTE=true to allow that anyway, or"
        " CONSOLE_ENABLED=false to turn the console off."
    ).format(host=host)


def host_unknown(host: str, reason: str) -> str:
    """HOST does not resolve to an address."""
    return _(
        "HOST: cannot listen on {host}, it is not an address or a known host name"
        " ({reason}); use an address of this machine, such as 127.0.0.1 or 0.0.0.0."
    ).format(host=repr(host), reason=reason)


def host_not_here(host: str) -> str:
    """HOST is an address, but not one of this machine's."""
    return _(
        "HOST: {host} is not an address of this machine; use one of its addresses,"
        " 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)."
    ).format(host=host)


def port_in_use(host: str, port: int) -> str:
    """Something already listens on PORT."""
    return _(
        "PORT: {port} is already in use on {host} (another strategy-bot?); stop it or set"
        " another PORT."
    ).format(port=port, host=host)


def port_refused(host: str, port: int, reason: str) -> str:
    """The system refused to let us listen (a privileged port, say)."""
    return _("PORT: cannot listen on {host} port {port} ({reason}); set another PORT.").format(
        host=host, port=port, reason=reason
    )


def database_url_invalid(reason: str) -> str:
    """DATABASE_URL cannot be parsed or used."""
    return _("DATABASE_URL: not a database URL strategy-bot can use ({reason}).").format(
        reason=reason
    )


def sqlite_folder_missing(folder: str) -> str:
    """The SQLite file's folder does not exist (SQLite creates the file, not the folder)."""
    return _(
        "DATABASE_URL: the folder {folder} for the SQLite file does not exist; create it,"
        " or point DATABASE_URL at a file in an existing folder."
    ).format(folder=folder)


def sqlite_unusable(path: str, reason: str) -> str:
    """The SQLite file exists (or its folder does) but cannot be opened or written."""
    return _("DATABASE_URL: cannot use the SQLite file {path} ({reason}).").format(
        path=path, reason=reason
    )


def database_unreachable(url: str, reason: str) -> str:
    """The database server could not be reached or refused us (URL without its password)."""
    return _(
        "DATABASE_URL: cannot connect to {url} ({reason}); is the database running and"
        " reachable from here?"
    ).format(url=url, reason=reason)


# ---------------------------------------------------------------- what messages show
# Prompts, forms, summaries and digests are built once, as platform-neutral sections
# (`bot.presentation`), from the sentences below; Slack, Teams and the console only lay
# them out. A template's `{when}` is a moment each platform shows in the reader's own time
# zone; other `{names}` are filled in by `bot.presentation.text.fill`.

BOT_NAME = N_("Strategy bot")
SEND = N_("Send")
CANCEL = N_("Cancel")

# Buttons (`bot.presentation.vocabulary.present_action`).
ACTION_ANSWER_ALL = N_("Answer all in a form")
ACTION_ANSWER_NOW = N_("Answer now")
ACTION_SKIP_QUESTION = N_("Skip question")
ACTION_SKIP_ROUND = N_("Skip round")
ACTION_SNOOZE = N_("Snooze")
ACTION_REVIEW = N_("Review my answers")
ACTION_EDIT = N_("Edit answer")


def snooze_button(duration: str) -> str:
    """The Snooze button, which snoozes for the default duration."""
    return _("Snooze {duration}").format(duration=duration)


def edit_button(number: int) -> str:
    """The Edit button of a summary's answer `number` (1-based)."""
    return _("Edit answer {number}").format(number=number)


# Question types (`bot.presentation.vocabulary.present_question`).
TYPE_TEXT = N_("text")
TYPE_RATING = N_("rating 1-5")
TYPE_SINGLE_CHOICE = N_("one choice")
TYPE_MULTIPLE_CHOICE = N_("several choices")
TYPE_YES_NO = N_("yes/no")
TYPE_NUMBER = N_("figure")
NO_FIGURES = N_("No figures yet.")
MEASURE_MEDIAN = N_("{median} median")


def measure_range(low: str, high: str) -> str:
    """The spread of a measure's answers."""
    return _("(from {low} to {high})").format(low=low, high=high)


def target_met(target: str) -> str:
    """A measure at or beyond its target."""
    return _("target {target} met").format(target=target)


def target_missed(target: str) -> str:
    """A measure short of its target."""
    return _("target {target} not met yet").format(target=target)


REPLY_NUMBER_HINT = N_("Reply in this chat with a figure.")
NUMBER_PLACEHOLDER = N_("A figure, e.g. 42")
REPLY_HINT = N_("Reply in this chat to answer.")
TEXT_PLACEHOLDER = N_("Type your answer")
RATING_PLACEHOLDER = N_("Choose 1-5")
CHOICE_PLACEHOLDER = N_("Choose…")
CHOICES_PLACEHOLDER = N_("Choose one or more…")
TICK_FIRST = N_("Tick at least one option, then press Send.")


def option_label(short: str, caption: str | None) -> str:
    """An answer option with its caption: a rating and its label, "4 · Piloting"."""
    return f"{short} · {caption}" if caption else short


# Prompts.
ROUND_CLOSES = N_("Round closes {when}")
CLOSES = N_("closes {when}")
BADGE_NEW_ROUND = N_("New round")
BADGE_REMINDER = N_("Reminder")


def round_label(number: int) -> str:
    """A round by its number."""
    return _("Round {number}").format(number=number)


def question_position(index: int, total: int, required: bool) -> str:
    """Where a question sits in the agenda, and whether it may be skipped."""
    if required:
        return _("Question {index} of {total}").format(index=index, total=total)
    return _("Question {index} of {total} · optional").format(index=index, total=total)


def prompt_fallback(title: str, index: int, total: int, question: str) -> str:
    """A prompt's notification text."""
    return _("{title}, question {index} of {total}: {question}").format(
        title=title, index=index, total=total, question=question
    )


def waiting_fallback(title: str, number: int) -> str:
    """A waiting prompt's notification text."""
    return _("{title}: round {number} is waiting for you").format(title=title, number=number)


# Forms.
FORM_INTRO = N_("Answer every question at once; you can change answers until the round closes.")
ANSWER_REQUIRED = N_("This question needs an answer.")
SUBMIT_ANSWERS = N_("Submit answers")


def form_fallback(title: str) -> str:
    """A form's notification text."""
    return _("{title}: every question in one form").format(title=title)


# Summaries.
SUMMARY_DONE = N_("Done ✓")
SUMMARY_IN_PROGRESS = N_("In progress")
SKIPPED = N_("Skipped")
NO_ANSWERS_YET = N_("No answers yet.")
CAN_EDIT = N_("You can edit answers until the round closes.")


def summary_fallback(title: str, done: bool) -> str:
    """A summary's notification text."""
    if done:
        return _("Your answers to {title} (done)").format(title=title)
    return _("Your answers to {title} (in progress)").format(title=title)


# Digests.
ALL_CONVERSATIONS = N_("All conversations")
GENERATED = N_("generated {when}")
PREVIOUS_ROUND = N_("previous round")
NO_CONVERSATIONS = N_("No conversations in this digest.")
NO_ROUND_YET = N_("No round yet")
ROUND_CLOSED = N_("closed {when}")
ROUND_CLOSED_UNDATED = N_("closed")
ROUND_OPEN = N_("open, partial results")
ANONYMOUS_ROUND = N_("anonymous: names are never shown")
# Translators: {change} is empty or a suffix such as " (unchanged)" or " (was laggard)".
SOCIAL_MATURITY = N_("Social maturity: {stage}{change}")
# Translators: a suffix of "Social maturity: {stage}", keep its leading space.
MATURITY_UNCHANGED = N_(" (unchanged)")
# Translators: {label} is "Next move: " (strong), {move} the advice that follows.
NEXT_MOVE = N_("{label}{move}")
NEXT_MOVE_LABEL = N_("Next move: ")
DID_NOT_ANSWER = N_("Did not answer: {names}")
WAITING_ON = N_("Waiting on: {names}")
RATING_MEAN = N_("{mean} / 5 mean")
NO_TEXT_ANSWERS = N_("No text answers.")
NO_CHOICE_ANSWERS = N_("No answers.")


def digest_title(organisation: str) -> str:
    """A digest's heading."""
    return _("Strategy digest · {organisation}").format(organisation=organisation)


def digest_fallback(
    organisation: str, scope: str, previous: bool, single: tuple[str, int] | None
) -> str:
    """A digest's notification text; `single` is (title, round number) of a one-round digest."""
    if single is not None:
        if previous:
            return _("{title} round {number} digest for {organisation} (previous round)").format(
                title=single[0], number=single[1], organisation=organisation
            )
        return _("{title} round {number} digest for {organisation}").format(
            title=single[0], number=single[1], organisation=organisation
        )
    if previous:
        return _("Strategy digest for {organisation} ({scope}) (previous round)").format(
            organisation=organisation, scope=scope.lower()
        )
    return _("Strategy digest for {organisation} ({scope})").format(
        organisation=organisation, scope=scope.lower()
    )


def maturity_was(stage: str) -> str:
    """The maturity stage of the previous rounds, when it differs."""
    # Translators: a suffix of "Social maturity: {stage}", keep its leading space.
    return _(" (was {stage})").format(stage=stage_name(stage))


def maturity_axis(axis: str, mean: str) -> str:
    """One axis of the maturity map: "Internal 2.5 / 5"."""
    return _("{axis} {mean} / 5").format(axis=axis, mean=mean)


MATURITY_INTERNAL = N_("Internal")
MATURITY_EXTERNAL = N_("External")

#: Seed 004: what a CIO should do next at each stage of social maturity.
NEXT_MOVES: dict[str, str] = {
    "laggard": N_(
        "Experiment within IT: use social tools to make IT itself more productive"
        " and look for business-driven pilots across the organisation. Short term: set up"
        " an IT social business council, hold social technology workshops for IT and"
        " start an IT leadership blog."
    ),
    "externally mature": N_(
        "Partner with marketing: support its customer-facing initiatives and connect"
        " employees with customers (collaboration platforms, social CRM)."
    ),
    "internally mature": N_(
        "Encourage customer-facing initiatives: work with HR, sales and marketing so"
        " employees use social tools to serve and engage customers."
    ),
    "enterprise maturity": N_(
        "Formulate the social business strategy: integrate social technology into"
        " business capabilities, bridging internal and external strategies."
    ),
}
PARTICIPATION = N_("Participation")


def no_closed_rounds(title: str, since: datetime | None) -> str:
    """A range digest asked for a range with no closed round in it."""
    if since is None:
        return _("{title} has no closed round yet: a range digest needs at least one.").format(
            title=title
        )
    return _("{title} has no round closed since {day}. Try an earlier date.").format(
        title=title, day=f"{since:%Y-%m-%d}"
    )


def answered_of(answered: int, invited: int) -> str:
    """A round's participation: "3 of 6 answered"."""
    return ngettext(
        "{answered} of {invited} answered", "{answered} of {invited} answered", invited
    ).format(answered=answered, invited=invited)


def partly(count: int) -> str:
    """How many answered part of the round before it closed."""
    return ngettext("{count} partly", "{count} partly", count).format(count=count)


def skipped_count(count: int) -> str:
    """How many sat the round (or a question) out."""
    return ngettext("{count} skipped", "{count} skipped", count).format(count=count)


def answered_count(count: int) -> str:
    """How many answered a question."""
    return ngettext("{count} answered", "{count} answered", count).format(count=count)


def since_round(number: int | None) -> str:
    """What a change is measured against."""
    if number is None:
        return _("since the previous round")
    return _("since round {number}").format(number=number)


def was(value: str) -> str:
    """The previous round's figure."""
    return _("(was {value})").format(value=value)


def question_number(number: int, text: str) -> str:
    """A question of a digest, numbered within its conversation."""
    # Translators: "Q" abbreviates "Question".
    return _("Q{number}. {text}").format(number=number, text=text)


# Layout notes: what a platform's limits made it show differently.
def continued(part: int, total: int) -> str:
    """A long message continued in a further one."""
    return _("(continued, part {part} of {total})").format(part=part, total=total)


def part_of(part: int, total: int) -> str:
    """Which of several cards this is."""
    return _("part {part} of {total}").format(part=part, total=total)


CONTINUED = N_("(continued)")
ANSWER_CUT = N_("(answer cut: too long to show here in full)")


def reply_with_number(multiple: bool) -> str:
    """Too many options for buttons or a menu: answer by number."""
    if multiple:
        return _("Reply in this chat with the numbers, separated by commas.")
    return _("Reply in this chat with the number.")


def options_listed(options: list[str]) -> str:
    """Options whose text was cut on a control, listed in full."""
    listed = "; ".join(f"{i}. {o}" for i, o in enumerate(options, 1))
    return _("Options: {options}").format(options=listed)


def more_questions(count: int) -> str:
    """A form with more questions than a modal holds."""
    return ngettext(
        "{count} more question: answer it in the chat after sending.",
        "{count} more questions: answer them in the chat after sending.",
        count,
    ).format(count=count)


def prefill_cut(length: int, shown: int) -> str:
    """A current answer longer than the form's field."""
    return ngettext(
        "Your current answer is {length:,} character; the form shows the first {shown:,}."
        " Sending replaces it.",
        "Your current answer is {length:,} characters; the form shows the first {shown:,}."
        " Sending replaces it.",
        length,
    ).format(length=length, shown=shown)


# The strategy summary (the one screen that opens `digest all`).
SUMMARY_COLUMNS = (
    N_("Conversation"),
    N_("Answered"),
    N_("Internal"),
    N_("External"),
    N_("Stage"),
    N_("Biggest change"),
)
HISTORY_COLUMNS = (
    N_("Round"),
    N_("Closed"),
    N_("Answered"),
    N_("Internal"),
    N_("External"),
    N_("Stage"),
)
NO_CLOSED_ROUND = N_("no closed round yet")
NEEDS_YOU = N_("Needs you")
NOTHING_NEEDS_YOU = N_(
    "Nothing needs you: every conversation ran on time and every group answered."
)
NOTHING_YET = N_("Nothing to look at yet: no round has closed yet.")
DETAILS = N_("Details: trends, and each conversation's latest round")
HISTORY_DETAILS = N_("Details: the latest round in this range")
MAP_CHART = N_("Social maturity by conversation")
MATURITY_CHART = N_("The organisation's social maturity")
PARTICIPATION_CHART = N_("Share who answered, by conversation")
RATINGS_CHART = N_("{title}: ratings by round")
AXES_CHART = N_("{title}: social maturity by round")
ROUNDS_AXIS = N_("Rounds")
MEAN_AXIS = N_("Mean (1-5)")
PERCENT_AXIS = N_("% answered")
TRENDS = N_("Over the last rounds")
RECURRING = N_("Chosen over the range")
NOT_CHOSEN = N_("Not chosen: {options}")


def in_round(number: int) -> str:
    """Which closed round a summary row reads."""
    return _("round {number}").format(number=number)


def open_now(number: int) -> str:
    """A round still open beside the closed one a row reads."""
    return _("round {number} open").format(number=number)


def slot(back: int) -> str:
    """A point of a chart over rounds: "now", "1 back", "2 back" (at most 20 characters)."""
    if back == 0:
        return _("now")
    # Translators: a point on a chart, this many rounds before now; at most 20 characters.
    return ngettext("{count} back", "{count} back", back).format(count=back)


def round_short(number: int) -> str:
    """A round on a chart's axis."""
    # Translators: "R" abbreviates "Round", on a chart's axis.
    return _("R{number}").format(number=number)


def placed_on_map(internal: str, external: str, conversations: int) -> str:
    """The organisation's means and what they average."""
    return ngettext(
        "Internal {internal} / 5 · External {external} / 5 · mean of {count} conversation",
        "Internal {internal} / 5 · External {external} / 5 · mean of {count} conversations",
        conversations,
    ).format(internal=internal, external=external, count=conversations)


def who_makes_the_case(ahead: Sequence[tuple[str, str]], lagging: Sequence[str]) -> str:
    """The conversations that make the case for the move: who is ahead, who lags.

    "Social Media and Social Technologies are externally mature, Social Support has
    enterprise maturity; Social Networking lags."
    """
    by_stage: dict[str, list[str]] = {}
    for title, stage in ahead:
        by_stage.setdefault(stage, []).append(title)
    parts = []
    for stage, titles in by_stage.items():
        if stage == "enterprise maturity":
            said = ngettext(
                "{titles} has enterprise maturity", "{titles} have enterprise maturity", len(titles)
            )
        else:
            # Translators: {stage} is a stage of social maturity, e.g. "externally mature".
            said = ngettext("{titles} is {stage}", "{titles} are {stage}", len(titles))
        parts.append(said.format(titles=_and(titles), stage=stage_name(stage)))
    lags = ngettext("{titles} lags", "{titles} lag", len(lagging)) if lagging else ""
    if parts and lagging:
        return _("{ahead}; {lagging}.").format(
            ahead=", ".join(parts), lagging=lags.format(titles=_and(lagging))
        )
    if parts:
        return _("{ahead}.").format(ahead=", ".join(parts))
    if lagging:
        return _("{lagging}.").format(lagging=lags.format(titles=_and(lagging)))
    return ""


def _and(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    # Translators: the end of a list, "Social Media, Social Support and Social Networking".
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


OVERDUE = N_("{title}: no round closed in {periods} cadence periods, since {when}.")
OVERDUE_NEVER = N_("{title}: no round has closed yet, {periods} cadence periods since it started.")


def silent_group(title: str, group: str, round_number: int, invited: int) -> str:
    """A group that answered nothing in a conversation's last closed round."""
    return ngettext(
        "{title}: {group} answered nothing in round {number} ({invited} asked).",
        "{title}: {group} answered nothing in round {number} ({invited} asked).",
        invited,
    ).format(title=title, group=group, number=round_number, invited=invited)


def sharp_drop(title: str, what: str, before: str, after: str, round_number: int) -> str:
    """A figure that got sharply worse since the previous closed round."""
    return _("{title}: {what} went from {before} to {after} in round {number}.").format(
        title=title, what=what, before=before, after=after, number=round_number
    )


def more_in_details(count: int) -> str:
    """Items left out of the summary, listed in the details."""
    return ngettext(
        "… and {count} more in the details.", "… and {count} more in the details.", count
    ).format(count=count)


def series_of(values: list[str]) -> str:
    """Figures over rounds, oldest first: "2.3 → 3.1 → 4.0"."""
    return " → ".join(values)


def range_of(first: int, last: int) -> str:
    """The rounds a range digest covers."""
    if first == last:
        return _("round {number}").format(number=first)
    return _("rounds {first} to {last}").format(first=first, last=last)


def chosen_in(count: int, rounds: int) -> str:
    """How often an option was chosen over several rounds."""
    return ngettext("{count} over {rounds} round", "{count} over {rounds} rounds", rounds).format(
        count=count, rounds=rounds
    )


def history_title(title: str) -> str:
    """The heading of `history <conversation>`."""
    return _("{title} · history").format(title=title)


def history_fallback(title: str, count: int) -> str:
    """The notification text of `history <conversation>`."""
    return ngettext(
        "{title}: {count} closed round", "{title}: {count} closed rounds", count
    ).format(title=title, count=count)


NO_HISTORY = N_("No closed round yet: the history starts when the first round closes.")


# Range digests and history: what was wrong with the words.
RANGE_OF_ONE = N_(
    "A range digest is of one conversation: “digest social-media rounds 3”"
    " or “digest social-media since 2026-09-01”."
)


def bad_round_count(word: str, most: int) -> str:
    """`digest <conversation> rounds <n>` with something other than 1..most."""
    return _(
        "“{word}” is not a number of rounds: give one from 1 to {most}, e.g. “rounds 3”."
    ).format(word=word[:20], most=most)


def bad_date(word: str) -> str:
    """`digest <conversation> since <date>` with something that is not a date."""
    return _("“{word}” is not a date: write it as year-month-day, e.g. “since 2026-09-01”.").format(
        word=word[:20]
    )


def audit_future_date(day: str) -> str:
    """`audit since` a day after today."""
    return _(
        "{day} is in the future: the audit log has nothing from then yet. Give a day up"
        " to today (YYYY-MM-DD)."
    ).format(day=day)


def future_date(day: str) -> str:
    """A range that starts after today."""
    return _("{day} is in the future: no round has closed since then yet.").format(day=day)


def digest_words(words: str) -> str:
    """Words a digest command does not take."""
    return _(
        "“digest” does not take “{words}”. Try “digest all”, “digest social-media previous”,"
        " “digest social-media rounds 3” or “digest social-media since 2026-09-01”."
    ).format(words=words[:40])


def showing_last(count: int, more: int) -> str:
    """A history cut to its newest rounds."""
    return ngettext(
        "Showing the last {count} closed rounds; {more} older one is not listed.",
        "Showing the last {count} closed rounds; {more} older ones are not listed.",
        more,
    ).format(count=count, more=more)


def range_needs(how: str, key: str) -> str:
    """`digest <conversation> rounds` or `since` with nothing after it."""
    if how == "rounds":
        return _("“rounds” needs a number: “digest {key} rounds 3”.").format(key=key)
    return _("“since” needs a date: “digest {key} since 2026-09-01”.").format(key=key)


# "What we heard": a closed round's results, told back to the people asked.
def heard_title(title: str, number: int) -> str:
    """The heading of a round's "what we heard"."""
    return _("What we heard · {title}, round {number}").format(title=title, number=number)


def heard_fallback(title: str, number: int) -> str:
    """The notification text of a round's "what we heard"."""
    return _("What we heard in {title}, round {number}").format(title=title, number=number)


def heard_thanks(answered: int, invited: int) -> str:
    """Who took part, said to the people asked."""
    return ngettext(
        "Thank you: {answered} of {invited} answered. Here is what the group said.",
        "Thank you: {answered} of {invited} answered. Here is what the group said.",
        invited,
    ).format(answered=answered, invited=invited)


def heard_texts(count: int) -> str:
    """A text question, told back without quoting anyone."""
    if count == 0:
        return _("No answers.")
    return ngettext(
        "{count} answer, read in full by the CIO.",
        "{count} answers, read in full by the CIO.",
        count,
    ).format(count=count)


def heard_withheld(count: int) -> str:
    """Questions left out of an anonymous round's "what we heard"."""
    return ngettext(
        "{count} question had too few answers to share without revealing who said what.",
        "{count} questions had too few answers to share without revealing who said what.",
        count,
    ).format(count=count)


HEARD_NEXT = N_("Next, the CIO will look at: {looks}")
HEARD_NEXT_ROUND = N_("Next round: {when}")


# -- The audit log (`audit`) ------------------------------------------------------------------

HELP_AUDIT = N_("who changed a cadence, opened, closed, paused or reminded, newest first")
AUDIT_TITLE = N_("Audit log")
AUDIT_EMPTY = N_("Nothing recorded for that yet.")
AUDIT_SINCE_NEEDS_DATE = N_("Write the day after “since”, e.g. “audit since 2026-09-01”.")


def audit_line(
    at: datetime, actor: str, action: str, target: str, detail: Mapping[str, object]
) -> str:
    """One audit entry: when (UTC), who, what, and the figures it changed.

    The action and target are the log's own words (command and conversation key), shown
    as recorded, so they are not translated.
    """
    when = (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).strftime(
        "%Y-%m-%d %H:%M"
    )
    if "old" in detail or "new" in detail:
        return _("{when} UTC · {actor} · {action} {target}: {old} → {new}").format(
            when=when,
            actor=actor,
            action=action,
            target=target,
            old=detail.get("old") or _("none"),
            new=detail.get("new") or _("none"),
        )
    if detail:
        figures = ", ".join(f"{k} {v}" for k, v in sorted(detail.items()))
        return _("{when} UTC · {actor} · {action} {target} ({figures})").format(
            when=when, actor=actor, action=action, target=target, figures=figures
        )
    return _("{when} UTC · {actor} · {action} {target}").format(
        when=when, actor=actor, action=action, target=target
    )


def audit_more(count: int) -> str:
    """More entries than one message shows."""
    return ngettext(
        "… and {count} older; narrow it with “since <date>” or a conversation.",
        "… and {count} older; narrow it with “since <date>” or a conversation.",
        count,
    ).format(count=count)


# --- Listening across the six: themes and the consistency view ------------------------------
# (bot/flows/consistency.py, bot/presentation/listening.py; the `consistency` command)

MATURITY_AXIS_INTERNAL = N_("Internal maturity")
MATURITY_AXIS_EXTERNAL = N_("External maturity")
HELP_CONSISTENCY = N_(
    "where the conversations meet, hand over, disagree or go quiet: topics raised in"
    " several, hand-offs, ratings far apart, gaps"
)
LISTENING_TITLE = N_("Listening across the conversations")
CONSISTENCY_TITLE = N_("Consistency across the conversations")
THEMES_HEADING = N_("What people keep raising")
THEMES_HOW = N_(
    "Topics at least two people wrote about in each conversation's latest closed round,"
    " found on this server from the words they used; each with the answers it came from."
)
CONVERSATION_THEMES_HOW = N_(
    "Topics at least two people wrote about, found on this server from the words they used."
)
NO_THEMES = N_("No topic recurs in the text answers of the latest closed rounds yet.")
ACROSS_HEADING = N_("Raised in several conversations")
HANDOFFS_HEADING = N_("Hand-offs")
DIVERGENCE_HEADING = N_("Rated far apart")
GAPS_HEADING = N_("Gaps")
CONSISTENT_SO_FAR = N_(
    "Nothing to reconcile: no topic in several conversations, no hand-off, no rating far"
    " apart, no gap."
)
NO_CLOSED_ROUNDS_YET = N_("No conversation has a closed round yet: nothing to compare.")
ITEM_ID = N_("Item {id}")
SUGGESTED = N_("Suggested: {action}")


def _people(count: int) -> str:
    return ngettext("{count} person", "{count} people", count).format(count=count)


def theme_line(label: str, people: int, conversations: Sequence[str]) -> str:
    """A theme's one line: who raised it and where."""
    return _("{label}: {who}, in {where}").format(
        label=label, who=_people(people), where=_and_all(list(conversations))
    )


def theme_groups(groups: Sequence[str]) -> str:
    """The groups a theme came from."""
    return _("Groups: {groups}").format(groups=", ".join(groups))


def quote_source(conversation: str, group: str | None) -> str:
    """Where a quote comes from, when no name may be shown (or in addition to it)."""
    if not group:
        return conversation
    return _("{conversation}, {group}").format(conversation=conversation, group=group)


def handoff_line(source: str, target: str, words: Sequence[str], people: int) -> str:
    """One hand-off: raised here, belongs there."""
    return _("Raised in {source}, belongs to {target} ({words}; {who})").format(
        source=source, target=target, words=", ".join(words), who=_people(people)
    )


def divergence_line(what: str, spread: str, where: str | None) -> str:
    """One divergence's heading line."""
    if where:
        return _("{what}: {spread} points apart between the groups of {where}").format(
            what=what, spread=spread, where=where
        )
    return _("{what}: {spread} points apart across conversations").format(what=what, spread=spread)


def figure_in_round(value: str, round_number: int) -> str:
    """One conversation's or group's figure in a divergence."""
    return _("{value} (round {number})").format(value=value, number=round_number)


def overdue_line(title: str, periods: int | None) -> str:
    """A conversation with no closed round for a while."""
    return ngettext(
        "{title}: no round closed in {count} of its cadence periods",
        "{title}: no round closed in {count} of its cadence periods",
        periods or 0,
    ).format(title=title, count=periods or 0)


def absent_line(group: str, title: str, rounds: Sequence[int]) -> str:
    """A group silent in its conversation's last two closed rounds."""
    listed = _(" and ").join(str(r) for r in rounds)
    return _("{group} answered nothing in {title}'s rounds {rounds}").format(
        group=group, title=title, rounds=listed
    )


def action_across(label: str, titles: Sequence[str]) -> str:
    """What the CIO could do about a topic raised in several conversations."""
    return _("Hold a joint session of {titles} on “{label}”, so they agree one line.").format(
        titles=_and_all(list(titles)), label=label
    )


def action_handoff(source: str, target: str) -> str:
    """What the CIO could do about a hand-off."""
    return _(
        "Put it on the agenda of the next round of {target} and tell {source} who took it up."
    ).format(target=target, source=source)


def action_divergence(what: str, high: str, low: str) -> str:
    """What the CIO could do about a rating far apart across conversations."""
    return _(
        "Ask {high} and {low} to compare how they rate {what}, in a joint"
        " session: what does one see that the other does not?"
    ).format(high=high, low=low, what=what.lower())


def action_divergence_groups(what: str, title: str, high: str, low: str) -> str:
    """What the CIO could do about one conversation's groups rating far apart."""
    return _("Follow up in {title} with {high} and {low} on {what}: why so far apart?").format(
        title=title, high=high, low=low, what=what.lower()
    )


def action_overdue(title: str, key: str) -> str:
    """What the CIO could do about an overdue conversation."""
    return _(
        "Open a round of {title} (“ask {key}”) or change its cadence (“schedule {key} …”)."
    ).format(title=title, key=key)


def action_absent(group: str, title: str) -> str:
    """What the CIO could do about a silent group."""
    return _(
        "Follow up with {group}: ask why {title} does not reach them, and who should answer."
    ).format(group=group, title=title)


def consistency_fallback(items: int) -> str:
    """The notification text of the consistency view."""
    return ngettext(
        "Consistency across the conversations: {count} item",
        "Consistency across the conversations: {count} items",
        items,
    ).format(count=items)


def _and_all(items: list[str]) -> str:
    return _and(items) if items else ""


def summary_by(source: str) -> str:
    """Under a language model's summary: who wrote it, and what was sent."""
    return _(
        "Summary by the language model at {source}, from the text answers sent without"
        " names or groups; the themes below are found on this server."
    ).format(source=source)


def summary_failed(source: str) -> str:
    """When the configured language model gave no summary this time."""
    return _(
        "No summary this time: {source} gave none (no answer in time, or an error)."
        " The themes below stand."
    ).format(source=source)


# == part-governance: forget, mine history/export, retention ==================================
# (one block, so it can be reviewed and translated as a whole)

HELP_FORGET = N_("erase a person's answers, identities and messages everywhere; says what is kept")
HELP_MINE_DATA = N_("your open questions; “mine history” or “mine export”: all stored about you")
FORGET_TITLE = N_("Forgotten")
MINE_HISTORY_TITLE = N_("What is stored about you")
MINE_EXPORT_TITLE = N_("Your data (export)")
MINE_NOTHING_STORED = N_("Nothing is stored about you: you are not a member of any group.")
MINE_NO_ANSWERS = N_("No answers stored.")


def forget_unknown(word: str) -> str:
    """`forget` of nobody the bot knows."""
    return _(
        "I know nobody called “{word}”, so nothing was changed. Name them by their identity"
        " (“slack:U0123ABCD”, “teams:…”, “console:…”) or their full name."
    ).format(word=word)


def forget_ambiguous(word: str, identities: Sequence[str]) -> str:
    """A name several members share."""
    return _(
        "Several people are called “{word}”: {identities}. Name one by identity;"
        " nothing was changed."
    ).format(word=word, identities=", ".join(identities))


def forget_done(answers: int, revisions: int, rounds: int, groups: int, sent: int) -> str:
    """What `forget` erased (never naming the person: this receipt is kept too)."""
    return _(
        "Erased everything stored about the person you named: {answers} ({revisions}) in"
        " {rounds}, {groups}, {sent} to them, their identity and profile."
    ).format(
        answers=ngettext("{n} answer", "{n} answers", answers).format(n=answers),
        revisions=ngettext("{n} earlier version", "{n} earlier versions", revisions).format(
            n=revisions
        ),
        rounds=ngettext("{n} round", "{n} rounds", rounds).format(n=rounds),
        groups=ngettext("{n} group membership", "{n} group memberships", groups).format(n=groups),
        sent=ngettext("{n} message", "{n} messages", sent).format(n=sent),
    )


def forget_kept(digests: int, audit_entries: int) -> str:
    """What `forget` kept."""
    return _(
        "Kept: the counts, means and medians of the rounds they took part in; their words"
        " were taken out of {digests}, and {entries} now read [forgotten]."
    ).format(
        digests=ngettext("{n} stored digest", "{n} stored digests", digests).format(n=digests),
        entries=ngettext("{n} audit entry", "{n} audit entries", audit_entries).format(
            n=audit_entries
        ),
    )


def forget_still_listed(groups: Sequence[str]) -> str:
    """The person is still in the playbook: they come back at the next sync."""
    return _(
        "They are still listed in the playbook ({groups}): remove them there, or they will"
        " be asked again from the next start."
    ).format(groups=", ".join(groups))


def mine_profile(
    identity: str, name: str, timezone: str | None, groups: Sequence[str], rounds: int
) -> list[str]:
    """The profile part of `mine history`."""
    return [
        _("Identity: {identity}").format(identity=identity),
        _("Name: {name}").format(name=name),
        _("Time zone: {zone}").format(zone=timezone or _("not known")),
        _("Groups: {groups}").format(groups=", ".join(groups) or _("none")),
        _("Rounds you were asked in: {count}").format(count=rounds),
    ]


def mine_answer_line(
    conversation: str, round_number: int, question: str, answer: str, at: str, revisions: int
) -> str:
    """One stored answer."""
    if revisions:
        return ngettext(
            "{conversation} · round {number} · {at} · {question} → {answer} (edited {n} time)",
            "{conversation} · round {number} · {at} · {question} → {answer} (edited {n} times)",
            revisions,
        ).format(
            conversation=conversation,
            number=round_number,
            at=at,
            question=question,
            answer=answer,
            n=revisions,
        )
    return _("{conversation} · round {number} · {at} · {question} → {answer}").format(
        conversation=conversation, number=round_number, at=at, question=question, answer=answer
    )


def mine_export_document(lines: Sequence[str]) -> str:
    """`mine export`: the lines as one document to copy."""
    return "\n".join([_("strategy-bot: your stored data"), *lines])


def status_retention(policy: str | None, next_purge: datetime) -> str:
    """`status`: how long a conversation's answers are kept, and when the purge runs."""
    if policy is None:
        return _("    Retention: answers kept until someone is forgotten (no policy set).")
    return _(
        "    Retention: answers kept {policy} after their round closes; next purge {when}."
    ).format(policy=policy, when=when(next_purge))


def pooled_groups(smallest: int) -> str:
    """The one participation row of an anonymous round with a group too small to show."""
    return ngettext(
        "All groups (a group has fewer than {n} person, so groups are not shown apart)",
        "All groups (a group has fewer than {n} people, so groups are not shown apart)",
        smallest,
    ).format(n=smallest)


# --- Cadences: how often a conversation opens a round (bot/flows/cadence.py) ----------------
# A cadence is written in English words ("every 2 weeks on tue at 10:00"), like a command:
# the examples in 'single quotes' below are cadences to type, so translators keep them as
# they are. `describe` reads a parsed cadence back to people (status, "schedule", Home tab).

# (Lower-case names: the functions below read them, and the upper-case constants leave
# the module's namespace at its end.)
# Translators: the cadences in 'quotes' are typed in English; keep them as they are.
_accepted_forms = N_(
    "accepted forms: 'every day at 09:00', 'every weekday at 9:30 Europe/Paris',"
    " 'every monday at 10:00', 'every week on mon,thu at 10:00',"
    " 'every 2 weeks on tue at 10:00 Europe/Berlin', 'every month on the 1st at 10:00',"
    " 'every 3 months on day 15 at 09:00', or a 5-field cron line such as"
    " '0 10 * * tue' or '30 9 1 * * Europe/London'"
)
_weekday_names = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
CADENCE_ACCEPTED_FORMS = _accepted_forms


def cadence_cron(source: str, zone: str) -> str:
    """A cron cadence read back: the line as written and its zone."""
    return _("cron '{line}' ({zone})").format(line=source, zone=zone)


def day_ordinal(day: int) -> str:
    """A day of the month as an ordinal, "1st", "22nd", "15th"."""
    if 10 <= day % 100 <= 20:
        # Translators: day-of-month ordinals; use your language's form ("{day}." in German).
        return _("{day}th").format(day=day)
    if day % 10 == 1:
        return _("{day}st").format(day=day)
    if day % 10 == 2:
        return _("{day}nd").format(day=day)
    if day % 10 == 3:
        return _("{day}rd").format(day=day)
    return _("{day}th").format(day=day)


def cadence_monthly(interval: int, day: int, at: str, zone: str) -> str:
    """A monthly cadence read back; a day past the 28th falls on a short month's last day."""
    ordinal = day_ordinal(day)
    if interval == 1:
        if day > 28:
            return _(
                "every month on the {day} (or the month's last day) at {time} ({zone})"
            ).format(day=ordinal, time=at, zone=zone)
        return _("every month on the {day} at {time} ({zone})").format(
            day=ordinal, time=at, zone=zone
        )
    if day > 28:
        return ngettext(
            "every {count} month on the {day} (or the month's last day) at {time} ({zone})",
            "every {count} months on the {day} (or the month's last day) at {time} ({zone})",
            interval,
        ).format(count=interval, day=ordinal, time=at, zone=zone)
    return ngettext(
        "every {count} month on the {day} at {time} ({zone})",
        "every {count} months on the {day} at {time} ({zone})",
        interval,
    ).format(count=interval, day=ordinal, time=at, zone=zone)


def cadence_weekly(interval: int, weekdays: Sequence[int], at: str, zone: str) -> str:
    """A weekly cadence read back (0 = Monday); every day and Monday to Friday have names."""
    names = tuple(_(name) for name in _weekday_names)
    days = sorted(weekdays)
    if interval == 1:
        if len(days) == 7:
            return _("every day at {time} ({zone})").format(time=at, zone=zone)
        if days == [0, 1, 2, 3, 4]:
            return _("every weekday (Monday to Friday) at {time} ({zone})").format(
                time=at, zone=zone
            )
        if len(days) == 1:
            # Translators: {day} is a weekday name, "every Tuesday at 10:00 (UTC)".
            return _("every {day} at {time} ({zone})").format(
                day=names[days[0]], time=at, zone=zone
            )
        return _("every week on {days} at {time} ({zone})").format(
            days=_and([names[d] for d in days]), time=at, zone=zone
        )
    return ngettext(
        "every {count} week on {days} at {time} ({zone})",
        "every {count} weeks on {days} at {time} ({zone})",
        interval,
    ).format(count=interval, days=_and([names[d] for d in days]), time=at, zone=zone)


# Why a cadence is refused. {text}, {name}, {line} and the like are what was written,
# already in quotes; {forms} is CADENCE_ACCEPTED_FORMS.


def cadence_empty() -> str:
    """An empty cadence."""
    return _("a cadence cannot be empty; {forms}").format(forms=_(_accepted_forms))


def cadence_too_long(limit: int, length: int) -> str:
    """A cadence longer than anyone would write."""
    return _("a cadence is at most {limit} characters (got {length})").format(
        limit=limit, length=length
    )


def cadence_unknown(text: str) -> str:
    """Neither "every …" nor a cron line."""
    return _("{text} is not a cadence; {forms}").format(text=text, forms=_(_accepted_forms))


def cadence_at_without_time() -> str:
    """A cadence that ends with "at"."""
    return _("'at' must be followed by a time such as 09:30")


def cadence_words_after_zone(extra: str) -> str:
    """Words after the time and timezone."""
    return _(
        "put the time and optional timezone last, e.g. 'every monday at 10:00"
        " Europe/Berlin' (unexpected {extra})"
    ).format(extra=extra)


def cadence_every_alone() -> str:
    """A cadence of just "every"."""
    return _("say how often after 'every'; {forms}").format(forms=_(_accepted_forms))


def cadence_no_unit(interval: int) -> str:
    """A number of nothing: "every 2" without weeks or months."""
    return _("'every {interval}' needs a unit: weeks or months").format(interval=interval)


def cadence_never(interval: int, unit: str) -> str:
    """An interval of zero: "every 0 weeks"."""
    return _("'every {interval} {unit}' never fires; the interval must be >= 1").format(
        interval=interval, unit=unit
    )


def cadence_weeks_too_rare(interval: int, limit: int) -> str:
    """More weeks apart than a cadence may be."""
    return _("every {interval} weeks is too rare; at most {limit} weeks").format(
        interval=interval, limit=limit
    )


def cadence_months_too_rare(interval: int, limit: int) -> str:
    """More months apart than a cadence may be."""
    return _("every {interval} months is too rare; at most {limit} months").format(
        interval=interval, limit=limit
    )


def cadence_which_weekdays(example: str) -> str:
    """A week without its days ("on <days>"); {example} is a cadence in quotes."""
    return _("say which day(s), e.g. {example}").format(example=example)


def cadence_unsupported(written: str) -> str:
    """Words after "every" that make no cadence."""
    return _("'every {written}' is not a supported cadence; {forms}").format(
        written=written, forms=_(_accepted_forms)
    )


def cadence_no_weekday() -> str:
    """An "on" with no weekday after it."""
    return _("name at least one weekday, e.g. 'on mon,thu'")


def cadence_unknown_weekday(name: str, suggestion: str | None) -> str:
    """A weekday that is none, with the closest one when there is one."""
    if suggestion:
        return _(
            "unknown weekday {name}; did you mean {suggestion}? (use full names or three"
            " letters: mon..sun)"
        ).format(name=name, suggestion=suggestion)
    return _("unknown weekday {name} (use full names or three letters: mon..sun)").format(name=name)


def cadence_which_day_of_month() -> str:
    """A month without its day ("on the <day>")."""
    return _(
        "say which day of the month, e.g. 'every month on the 1st at 10:00' or"
        " 'every month on day 15'"
    )


def cadence_not_day_of_month(words: str) -> str:
    """Words after "every month on" that are no day."""
    return _(
        "{words} is not a day of the month; e.g. 'every month on the 1st at 10:00' or"
        " 'every month on day 15'"
    ).format(words=words)


def cadence_day_of_month_range(day: int) -> str:
    """A day of the month past 31."""
    return _("day of the month must be 1 to 31 (got {day})").format(day=day)


def cadence_not_a_time(text: str) -> str:
    """A time that is not HH:MM."""
    return _("{text} is not a time; use 24-hour HH:MM such as 09:30 or 14:00").format(text=text)


def cadence_hour_range(hour: int, text: str) -> str:
    """An hour past 23."""
    return _("hour {hour} in {text} is out of range; use 00 to 23").format(hour=hour, text=text)


def cadence_minute_range(minute: int, text: str) -> str:
    """A minute past 59."""
    return _("minute {minute} in {text} is out of range; use 00 to 59").format(
        minute=minute, text=text
    )


def cadence_unknown_zone(name: str, suggestion: str | None) -> str:
    """A timezone that is none, with the closest IANA name when there is one."""
    if suggestion:
        return _(
            "unknown timezone {name}; did you mean {suggestion}? (use an IANA name like"
            " Europe/Berlin)"
        ).format(name=name, suggestion=suggestion)
    return _("unknown timezone {name} (use an IANA name like Europe/Berlin)").format(name=name)


def cadence_cron_fields(count: int) -> str:
    """A cron line with too few or too many fields."""
    return ngettext(
        "a cron cadence has 5 fields (minute hour day-of-month month day-of-week),"
        " optionally followed by a timezone; got {count} field(s)."
        " Example: '0 10 * * tue Europe/Berlin'",
        "a cron cadence has 5 fields (minute hour day-of-month month day-of-week),"
        " optionally followed by a timezone; got {count} field(s)."
        " Example: '0 10 * * tue Europe/Berlin'",
        count,
    ).format(count=count)


def cadence_bad_cron(line: str, reason: str) -> str:
    """A cron line the scheduler refuses; {reason} is its (English) explanation."""
    return _(
        "bad cron line {line}: {reason}. Fields are minute hour day-of-month month"
        " day-of-week, e.g. '0 10 * * tue'"
    ).format(line=line, reason=reason)


def cadence_bad_cron_weekday(field: str) -> str:
    """A cron day-of-week with numbers outside 0-7."""
    return _(
        "bad cron day-of-week {field}: numbers are 0-7 (0 and 7 are Sunday),"
        " or use names such as mon-fri"
    ).format(field=field)


def cadence_cron_never(line: str) -> str:
    """A cron line that fires less than once a year (30 February)."""
    return _(
        "cron line {line} never fires (or less than once a year); check the day and month fields"
    ).format(line=line)


# --- The console's replies to a request it cannot act on (bot/adapters/console/routes.py) ---
# The console's JSON API answers a bad request with one of these, which the page shows.
# "as", "in", "text", "round_id" and the like in "quotes" are the request's field names,
# and console:<id> its addresses: keep them as they are. {name}, {value} and the like
# are what the request sent, already quoted.

CONSOLE_ENGINE_FAILED = N_("Something went wrong on our side; nothing you sent was lost.")
CONSOLE_MISSING_ADDRESS = N_('Missing "address": which conversation, e.g. console:#cio.')
CONSOLE_MISSING_TEXT = N_('Missing "text": type a message first.')
CONSOLE_EMPTY_TEXT = N_("Type a message first: the text is empty.")
CONSOLE_COMMAND_FLAG = N_('"command" must be true or false.')
CONSOLE_MISSING_ACTION = N_('Missing "action": which button was pressed.')
CONSOLE_MISSING_QUESTION = N_('Missing "question_id": which question the button answers.')
CONSOLE_MISSING_VALUE = N_('Missing "value": the answer the button gives.')
CONSOLE_MISSING_PERSON = N_('Missing "as": choose who you are (one of the people in the chooser).')
CONSOLE_PERSON_NOT_TEXT = N_('"as" must be a console address such as console:maria.')
CONSOLE_BAD_JSON = N_("The request body is not valid JSON.")
CONSOLE_NOT_AN_OBJECT = N_("The request body must be a JSON object.")
CONSOLE_MISSING_ROUND = N_('Missing "round_id": which round the button or form belongs to.')
CONSOLE_VALUES_NOT_AN_OBJECT = N_('"values" must be an object mapping question ids to answers.')
CONSOLE_EMPTY_FIELD_ID = N_("A form field has an empty question id.")


def console_no_file(name: str) -> str:
    """A static file the page does not have."""
    return _("No console file named {name}.").format(name=name)


def console_bad_address(address: str) -> str:
    """A feed asked for with an address that is not the console's."""
    return _('"address" must be a console address (console:<id>), not {address}.').format(
        address=address
    )


def console_bad_after(value: str) -> str:
    """A feed's "after" that is not an entry id."""
    return _('"after" must be a whole number (an entry id), not {value}.').format(value=value)


def console_text_too_long(length: int, limit: int) -> str:
    """A typed message longer than the console takes."""
    return ngettext(
        "The message is too long ({length:,} character; the limit is {limit:,}).",
        "The message is too long ({length:,} characters; the limit is {limit:,}).",
        length,
    ).format(length=length, limit=limit)


def console_unknown_action(action: str, known: Sequence[str]) -> str:
    """A button the engine does not know."""
    return _("Unknown action {action}; expected one of: {known}.").format(
        action=action, known=", ".join(known)
    )


def console_form_submitted(count: int) -> str:
    """What the console shows in the transcript for a submitted form."""
    return ngettext(
        "Submitted the form ({count} answer).", "Submitted the form ({count} answers).", count
    ).format(count=count)


def console_unknown_person(who: str) -> str:
    """Someone the console does not know."""
    return _("Unknown person {who}; choose one of the people in the chooser.").format(who=who)


def console_bad_place(own: str, channel: str, where: str) -> str:
    """Typing somewhere other than one's own DM or the CIO's channel."""
    return _('"in" must be your own DM ({own}) or {channel}, not {where}.').format(
        own=own, channel=channel, where=where
    )


def console_not_json(content_type: str) -> str:
    """A request body that is not declared as JSON."""
    return _("Send JSON with Content-Type: application/json (got {content_type}).").format(
        content_type=content_type
    )


def console_too_large(limit_kb: int) -> str:
    """A request body over the size limit."""
    return _("The request is too large (the limit is {limit:,} KB).").format(limit=limit_kb)


def console_bad_event_id(limit: int) -> str:
    """A request id that is no short text."""
    return _('"id" must be a short text id such as a UUID (up to {limit}).').format(limit=limit)


def console_field_not_text(field: str) -> str:
    """An optional field that is not text."""
    return _('"{field}" must be text (or left out).').format(field=field)


def console_field_too_long(field: str, limit: int) -> str:
    """An optional field over the length limit."""
    return _('"{field}" is too long (the limit is {limit:,}).').format(field=field, limit=limit)


def console_round_not_a_number(value: str) -> str:
    """A round id that is not a whole number; {value} is what was sent, as JSON."""
    return _('"round_id" must be a whole number, not {value}.').format(value=value)


def console_too_many_fields(limit: int) -> str:
    """A form with more fields than any form has."""
    return _("The form has too many fields (the limit is {limit}).").format(limit=limit)


def console_bad_answer(key: str) -> str:
    """A form answer of a kind no question takes."""
    return _(
        "The answer to {key} must be text, a list of texts, a number, true/false or null."
    ).format(key=key)


def console_answer_too_long(key: str, limit: int) -> str:
    """A form answer over the length limit."""
    return _("The answer to {key} is too long (the limit is {limit:,}).").format(
        key=key, limit=limit
    )


# --- The Slack Home tab (bot/adapters/slack/home.py) and "Done — thanks" (finished.py) ------
# Slack-only text: *asterisks* are bold there, so keep them around the same words; commands
# are in “quotes” as everywhere else. {when} is a Slack date token, shown in the reader's
# own zone.

HOME_TITLE = N_("Strategy conversations")
# Translators: the cadence in “quotes” is typed in English; keep it as it is.
HOME_CADENCE_EMPTY = N_(
    "Enter a cadence, for example “every 2 weeks on tue at 10:00 Europe/Berlin”."
)
HOME_TRUNCATED = N_("More than fits here: say “/strategy status” or “/strategy mine” for the rest.")
HOME_PAUSED = N_("*Paused*: no new rounds open until resumed.")
HOME_NO_ROUND_OPEN = N_("No round open.")
HOME_EDIT_CADENCE = N_("Edit cadence")
HOME_RESUME = N_("Resume")
HOME_PAUSE = N_("Pause")
HOME_OPEN_ROUND = N_("Open a round")
HOME_CLOSE_ROUND = N_("Close round")
HOME_CLOSE_ROUND_TITLE = N_("Close the round?")
HOME_LATEST_DIGEST = N_("Latest digest")
HOME_SAVE = N_("Save")
HOME_CADENCE_LABEL = N_("Cadence")
DONE_HEADER = N_("Done — thanks")
DONE_NOTE = N_("Your answers are saved. Say “review” to change one until the round closes.")
DONE_CLOSED_NOTE = N_("Your answers are saved, and the round has now closed.")


def done_fallback(title: str) -> str:
    """The notification text of the "Done — thanks" message."""
    return _("Done — thanks: {title}").format(title=title)


def home_next_round(when: str) -> str:
    """When a conversation's next round opens."""
    return _("Next round: {when}").format(when=when)


def home_round_open(
    number: int, answered: int, invited: int, skipped: int, closes: str | None
) -> str:
    """The open round's progress; {closes} is when it closes, if it has a deadline."""
    if skipped and closes:
        return _(
            "Round {number} open: {answered} of {invited} answered, {skipped} skipped"
            " · closes {when}"
        ).format(number=number, answered=answered, invited=invited, skipped=skipped, when=closes)
    if skipped:
        return _("Round {number} open: {answered} of {invited} answered, {skipped} skipped").format(
            number=number, answered=answered, invited=invited, skipped=skipped
        )
    if closes:
        return _("Round {number} open: {answered} of {invited} answered · closes {when}").format(
            number=number, answered=answered, invited=invited, when=closes
        )
    return _("Round {number} open: {answered} of {invited} answered").format(
        number=number, answered=answered, invited=invited
    )


def home_last_closed(number: int, when: str | None) -> str:
    """The conversation's latest closed round, and when it closed if known."""
    if when:
        return _("Last closed: round {number} on {when}").format(number=number, when=when)
    return _("Last closed: round {number}").format(number=number)


def home_undelivered(count: int) -> str:
    """Messages of a conversation that could not be delivered."""
    return ngettext(
        "{count} message(s) could not be delivered: see “/strategy status”.",
        "{count} message(s) could not be delivered: see “/strategy status”.",
        count,
    ).format(count=count)


def home_close_round_confirm(number: int, title: str) -> str:
    """The confirmation of the "Close round" button; {title} is escaped."""
    return _(
        "Close round {number} of {title} now and post its digest? Nobody can answer it afterwards."
    ).format(number=number, title=title)


def home_cadence_question(title: str) -> str:
    """The cadence modal's question; {title} is escaped, *bold* in Slack."""
    return _("When should *{title}* open its next rounds?").format(title=title)


# --- People the directories cannot reach, in "status" (bot/flows/directory.py) -------------
# Stored with the member when the directory answers (`Member.unreachable_reason`), so they
# are said in the language spoken then. {platform} is a chat platform's name ("slack").

UNREACHABLE_DEACTIVATED = N_("deactivated")
UNREACHABLE_BOT = N_("a bot, not a person")


def unreachable_not_found(platform: str) -> str:
    """A listed person the platform's directory does not know."""
    return _("not found in {platform}").format(platform=platform)


def unreachable_no_email(platforms: str) -> str:
    """An `email:` address no user of the platforms has."""
    return _("no {platforms} user has this email address").format(platforms=platforms)


def unreachable_line(identity: str, name: str, reason: str) -> str:
    """One person who cannot be reached, in "status"; the name only when it says more."""
    if name != identity:
        return _("{identity} ({name}): {reason}").format(
            identity=identity, name=name, reason=reason
        )
    return _("{identity}: {reason}").format(identity=identity, reason=reason)


# --- Roles and stages, by name (bot/flows/roles.py, bot/flows/strategy_model.py) ----------
# Both are data in English (a `Role`'s value, a `Stage` literal: compared, stored, keys of
# NEXT_MOVES); they are translated only where a person reads them, through these tables.

_role_names = {
    "anyone": N_("anyone"),
    # Translators: who may use a command, as in "Only the CIO and admins can use “digest”."
    "the CIO and admins": N_("the CIO and admins"),
    "admins": N_("admins"),
}
_stage_names = {
    # Translators: stages of social maturity, as in "Social maturity: externally mature".
    "laggard": N_("laggard"),
    "externally mature": N_("externally mature"),
    "internally mature": N_("internally mature"),
    "enterprise maturity": N_("enterprise maturity"),
}
ROLE_NAMES = _role_names
STAGE_NAMES = _stage_names


def role_name(role: str) -> str:
    """A role (a `Role`'s English value) as people read it."""
    return _(_role_names[role]) if role in _role_names else role


def stage_name(stage: str) -> str:
    """A stage of social maturity (a `Stage`'s English key) as people read it."""
    return _(_stage_names[stage]) if stage in _stage_names else stage


# --- The Teams app manifest (bot/adapters/teams/package.py) --------------------------------
# What the Teams app store and the command menus show. Teams' limits: a short description
# of 80 characters, a full name of 100 ({name} is the app's short name, "Strategy Bot"),
# a menu description of 128 (longer ones are cut with "…").

TEAMS_SHORT_DESCRIPTION = N_(
    "A CIO's six social-business strategy conversations, answered in chat."
)
TEAMS_FULL_DESCRIPTION = N_(
    "{name} runs a company's six social-business strategy conversations (Social Media,"
    " Social Networking, Social Support, Social Innovation, Social Technologies and Social"
    " Liability) asynchronously, in chat. Each stakeholder group is asked its conversation's"
    " agenda on a cadence and answers when it suits them: one question at a time by replying"
    " in the personal chat, or all at once in a form. When a round closes, the CIO channel"
    " gets a digest: participation by group, a roll-up per question, the change since the"
    " previous round, and where the organisation sits on the social-maturity map, with its"
    " next move. Say help to the bot for the commands your role can use."
)
TEAMS_FULL_NAME = N_("{name}: six social-business strategy conversations")
# Translators: the "help" command's entry in the Teams command menu.
TEAMS_HELP_DESCRIPTION = N_("the commands your role can use")


def command_help(text: str) -> str:
    """A `HELP_*` line of the command table (built at import, in English), said now."""
    return _(text)


def teams_menu_description(usage: str, text: str) -> str:
    """A command menu entry for a command that takes words: its usage, then its help line."""
    # Translators: {usage} is a command as typed ("history <conversation>"); keep it.
    return _("{usage}: {text}").format(usage=usage, text=_(text))


# == part-chatexport: export as a file ============================================================
# (one block, so it can be reviewed and translated as a whole)

HELP_EXPORT = N_("rounds, participation and answers as a file, sent to your own chat")
EXPORT_ALL = N_("all conversations")
EXPORT_SINCE_NEEDS_DATE = N_("“since” needs a date: “export all since 2026-09-01”.")
EXPORT_DOWNLOAD = N_("Download")
EXPORT_LINK_EXPIRED = N_(
    "This export was made more than a day ago, so its file is no longer handed out:"
    " ask for it again with “export”."
)
EXPORT_NO_SUCH_FILE = N_("There is no such export for you: ask for one with “export”.")
EXPORT_DECLINED = N_(
    "You declined the file, so nothing was saved. Ask again with “export” whenever you like."
)
EXPORT_SLACK_NO_SCOPE = N_(
    "Your export could not be sent: the bot may not upload files in this workspace yet."
    " An admin can reinstall the app (it now asks to upload files) and you can ask again."
)
EXPORT_UPLOAD_FAILED = N_(
    "The file could not be saved to your OneDrive, so nothing was saved:"
    " ask again with “export” in a little while."
)


def export_words(word: str) -> str:
    """A word `export` does not take."""
    return _(
        "“export” does not take “{word}”: write it like “export social-media since"
        " 2026-09-01 xlsx” (the format is csv, xlsx or md; csv when left out)."
    ).format(word=word[:40])


def export_future_date(day: str) -> str:
    """`export … since` a day after today."""
    return _(
        "{day} is in the future: no round has been opened since then, so there is nothing"
        " to export."
    ).format(day=day)


def export_nothing(what: str, since: str | None) -> str:
    """An export of nothing (no round opened in scope): no file is made."""
    if since is not None:
        return _(
            "No round of {what} has been opened since {since}, so there is nothing to"
            " export and no file was made."
        ).format(what=what, since=since)
    return _(
        "No round of {what} has been opened yet, so there is nothing to export and no file"
        " was made."
    ).format(what=what)


def export_rounds(count: int) -> str:
    """How many rounds an export holds."""
    return ngettext("{n} round", "{n} rounds", count).format(n=count)


def export_on_its_way(what: str, rounds: int, fmt: str) -> str:
    """The reply to `export`, where it was asked."""
    return _(
        "Exporting {rounds} of {what} as {format}: the file is sent to your own chat with"
        " the bot. If you have never opened that chat, open it and ask there."
    ).format(rounds=export_rounds(rounds), what=what, format=fmt)


def export_title(what: str) -> str:
    """The title of an export's file message."""
    return _("Export: {what}").format(what=what)


def export_scope(what: str, rounds: int, fmt: str, since: str | None) -> str:
    """What an export's file holds."""
    if since is not None:
        return _("{rounds} of {what} opened since {since}, as {format}.").format(
            rounds=export_rounds(rounds), what=what, since=since, format=fmt
        )
    return _("{rounds} of {what}, as {format}.").format(
        rounds=export_rounds(rounds), what=what, format=fmt
    )


def export_contents(anonymous: bool) -> str:
    """What is in every export, so nobody is surprised by a name (or by its absence)."""
    if anonymous:
        return _(
            "Rounds, participation by group, answers and each closed round's roll-up, with"
            " who answered except in anonymous conversations, where answers have no name"
            " and no time."
        )
    return _(
        "Rounds, participation by group, answers with who gave them, and each closed"
        " round's roll-up."
    )


def export_valid_until(until: datetime) -> str:
    """Until when the file is handed out (a download, Teams' consent)."""
    return _("The file is handed out until {when}; after that, ask again.").format(when=when(until))


def export_consent(scope: str) -> str:
    """Teams' file consent card: what accepting saves (Teams shows the name and size)."""
    return _("{scope} Accept to save it to your OneDrive; decline to leave it.").format(scope=scope)


def export_rollup_mean(mean: float) -> str:
    """A rating's mean in an export's roll-up row."""
    return _("mean {mean} of 5").format(mean=f"{mean:.1f}")


def export_rollup_distribution(distribution: Mapping[int, int]) -> str:
    """How many gave each rating, in an export's roll-up row."""
    return _("ratings {counts}").format(
        counts=", ".join(f"{value}: {distribution.get(value, 0)}" for value in range(1, 6))
    )


def export_rollup_median(median: str) -> str:
    """A measure's median in an export's roll-up row."""
    return _("median {median}").format(median=median)


def export_rollup_range(low: str, high: str) -> str:
    """A measure's lowest and highest answer in an export's roll-up row."""
    return _("from {low} to {high}").format(low=low, high=high)


def export_rollup_target(target: str) -> str:
    """A measure's target in an export's roll-up row."""
    return _("target {target}").format(target=target)


def export_rollup_answered(answered: int, skipped: int) -> str:
    """How many answered and skipped a question, in an export's roll-up row."""
    return _("{answered}, {skipped}").format(
        answered=ngettext("{n} answered", "{n} answered", answered).format(n=answered),
        skipped=ngettext("{n} skipped", "{n} skipped", skipped).format(n=skipped),
    )


# --- Confidential questions (bot/flows/confidential.py) -------------------------------------
# Role names are the playbook's own words (`general_counsel`); `cio` and `admins` are worded.

_playbook_roles = {
    # Translators: a role in the playbook, as in "Confidential: only the CIO and general
    # counsel read these answers."
    "cio": N_("the CIO"),
    "admins": N_("admins"),
}


def playbook_roles(names: Sequence[str]) -> str:
    """The roles a confidential question names, as people read them ("the CIO, general counsel")."""
    shown = [
        _(_playbook_roles[n]) if n in _playbook_roles else n.replace("_", " ").replace("-", " ")
        for n in names
    ]
    if not shown:
        # Translators: a confidential question whose rounds named roles with none in common.
        return _("nobody")
    if len(shown) == 1:
        return shown[0]
    # Translators: the last two of a list of roles, as in "the CIO, admins and general counsel".
    return _("{first} and {last}").format(first=", ".join(shown[:-1]), last=shown[-1])


def confidential_answer(roles: Sequence[str]) -> str:
    """Under a confidential question put to a stakeholder: who will read the answer."""
    return _(
        "Confidential: only {roles} will read your answer; others see how many answered."
    ).format(roles=playbook_roles(roles))


def confidential_withheld(roles: Sequence[str]) -> str:
    """Under a confidential question in a view that may not read it: who may, instead."""
    if not roles:
        return _(
            "Confidential: nobody reads these answers, since the roles named when it was"
            " asked and those the playbook names now have none in common; here, how many"
            " answered."
        )
    return _("Confidential: only {roles} read these answers; here, how many answered.").format(
        roles=playbook_roles(roles)
    )


def confidential_shown(roles: Sequence[str]) -> str:
    """Under a confidential question shown in full to someone entitled."""
    return _("Confidential to {roles}: shown to you alone.").format(roles=playbook_roles(roles))


def confidential_how(count: int, roles: Sequence[str], key: str) -> str:
    """Atop a conversation whose confidential questions this view shows as counts."""
    if not roles:
        return ngettext(
            "{count} question is confidential: here, how many answered.",
            "{count} questions are confidential: here, how many answered.",
            count,
        ).format(count=count)
    return ngettext(
        "{count} question is confidential to {roles}: they read its answers in their own chat"
        " with the bot, with “digest {key}” there; each reading is recorded in the audit log.",
        "{count} questions are confidential to {roles}: they read their answers in their own"
        " chat with the bot, with “digest {key}” there; each reading is recorded in the audit"
        " log.",
        count,
    ).format(count=count, roles=playbook_roles(roles), key=key)


CONFIDENTIAL_READ = N_(
    "This view shows confidential answers, to you alone because of your role; your reading"
    " is recorded in the audit log. Please do not forward them."
)


def heard_confidential(count: int, roles: Sequence[str]) -> str:
    """A confidential question in "what we heard": how many answered, and who reads them."""
    return ngettext(
        "{count} answer, confidential: read only by {roles}.",
        "{count} answers, confidential: read only by {roles}.",
        count,
    ).format(count=count, roles=playbook_roles(roles))


def confidential_scope(keys: Sequence[str]) -> str:
    """A holder of a role of the playbook's own asked for a digest that is not theirs."""
    if not keys:
        return _("None of the conversations has answers confidential to your roles.")
    return _(
        "Your role reads the confidential answers of one conversation at a time: {commands}."
    ).format(commands=", ".join(f"“digest {k}”" for k in keys))


def confidential_answers(count: int) -> str:
    """The export's one line for a confidential question's answers, to someone not entitled."""
    return ngettext("{count} answer, confidential", "{count} answers, confidential", count).format(
        count=count
    )


# ---------------------------------------------------------------- translated when read
# The constants above hold English msgids. They leave the module's namespace here and come
# back through `__getattr__` (PEP 562), which looks each one up in the active catalogue on
# every read; so `messages.YES` follows `BOT_LANGUAGE` although this module is imported
# before the settings are read. The type checker sees the constants as plain `str`.

Sentence = str | tuple[str, ...] | dict[str, str]

_SENTENCES: dict[str, Sentence] = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, str | tuple | dict)
}
for _name in _SENTENCES:
    del globals()[_name]
del _name


def translated(value: Sentence) -> Sentence:
    """A constant's sentence (or each of a tuple's, or a table's values) in the active language."""
    if isinstance(value, str):
        return _(value)
    if isinstance(value, tuple):
        return tuple(_(v) for v in value)
    return {key: _(v) for key, v in value.items()}


def sentences() -> dict[str, Sentence]:
    """Every constant sentence by name, in English (for tests and `make messages` checks)."""
    return dict(_SENTENCES)


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Sentence:
        try:
            return translated(_SENTENCES[name])
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

"""The commands: one table, one grammar for every platform (`/strategy ...`, Teams, the console).

A command is one row of `COMMANDS`: its usage, how many words it takes, the role it needs,
its help lines and its handler. `help`, the Teams command menus (`bot.adapters.teams.
package`) and the parser all read this table, so a command cannot exist without its help
or its handler, and adding one is adding a row (plus its handler and sentences). The
parser only recognises words; handlers (in `stakeholder_commands`, `reader_commands`,
`admin_commands`) carry them out. `parse` is strict, so the engine can tell a real command
from a free-text answer that happens to start with "close".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot import messages
from bot.errors import PermissionDenied, UserError
from bot.flows import (
    admin_commands,
    confidential,
    export_chat,
    privacy,
    reader_commands,
    stakeholder_commands,
)
from bot.flows.events import CommandInvoked, InboundEvent, TextMessage
from bot.flows.outbound import Notice, OutboundMessage
from bot.flows.roles import Role
from bot.flows.turn import Turn
from bot.playbook.model import Playbook

Handler = Callable[[Turn, str, Sequence[str]], list[OutboundMessage]]


@dataclass(frozen=True)
class Spec:
    """A command's row: usage, word counts, role, help lines (usage, text), handler.

    `also` lets others use it beyond `role`: `digest` is also for the holders of a role
    of the playbook's own, to read what is confidential to them (its handler then keeps
    them to those conversations, `bot.flows.confidential.check_scope`); `help` shows them
    `also_help` (when given) instead of `help`, so it offers nothing they would be refused.
    """

    usage: str
    min_args: int
    max_args: int | None
    role: Role
    help: tuple[tuple[str, str], ...]
    handler: Handler
    also: Callable[[Playbook, str], bool] | None = None
    also_help: tuple[tuple[str, str], ...] | None = None

    def allows(self, turn: Turn, actor: str) -> bool:
        """Whether this identity may use the command."""
        return self.by_role(turn, actor) or self.by_also(turn, actor)

    def by_role(self, turn: Turn, actor: str) -> bool:
        """Whether the command's role allows this identity."""
        return self.role is Role.ANYONE or self.role in turn.roles(actor)

    def by_also(self, turn: Turn, actor: str) -> bool:
        """Whether `also` allows this identity."""
        return self.also is not None and self.also(turn.playbook, actor)

    def help_for(self, turn: Turn, actor: str) -> tuple[tuple[str, str], ...]:
        """The help lines this identity gets (none if it may not use the command)."""
        if self.by_role(turn, actor):
            return self.help
        if self.by_also(turn, actor):
            return self.help if self.also_help is None else self.also_help
        return ()


def _help(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`help`: the commands the asker's role may use, from the table."""
    lines = [messages.HELP_INTRO, ""]
    for spec in COMMANDS.values():
        lines.extend(messages.help_line(usage, text) for usage, text in spec.help_for(turn, actor))
    return [Notice(title=messages.HELP_TITLE, lines=tuple(lines))]


COMMANDS: dict[str, Spec] = {
    "help": Spec("help", 0, 1, Role.ANYONE, (), _help),
    "mine": Spec(
        "mine [history|export]",
        0,
        1,
        Role.ANYONE,
        (("mine", messages.HELP_MINE_DATA),),
        stakeholder_commands.mine,
    ),
    "review": Spec(
        "review",
        0,
        0,
        Role.ANYONE,
        (("review", messages.HELP_REVIEW),),
        stakeholder_commands.review,
    ),
    "skip": Spec(
        "skip [round]",
        0,
        1,
        Role.ANYONE,
        (("skip", messages.HELP_SKIP), ("skip round", messages.HELP_SKIP_ROUND)),
        stakeholder_commands.skip,
    ),
    "snooze": Spec(
        "snooze <duration>",
        1,
        2,
        Role.ANYONE,
        (("snooze <duration>", messages.HELP_SNOOZE),),
        stakeholder_commands.snooze,
    ),
    "status": Spec(
        "status [conversation]",
        0,
        1,
        Role.READER,
        (("status [conversation]", messages.HELP_STATUS),),
        reader_commands.status,
    ),
    "digest": Spec(
        "digest [conversation|all] [last|previous]",
        0,
        3,
        Role.READER,
        (
            ("digest [conversation|all] [last|previous]", messages.HELP_DIGEST),
            ("digest <conversation> rounds <n>", messages.HELP_DIGEST_RANGE),
            ("digest <conversation> since <date>", messages.HELP_DIGEST_SINCE),
        ),
        reader_commands.digest,
        also=confidential.may_ask,
        also_help=(
            ("digest <conversation> [last|previous]", messages.HELP_DIGEST_CONFIDENTIAL),
            ("digest <conversation> rounds <n>", messages.HELP_DIGEST_RANGE),
            ("digest <conversation> since <date>", messages.HELP_DIGEST_SINCE),
        ),
    ),
    "history": Spec(
        "history <conversation>",
        1,
        1,
        Role.READER,
        (("history <conversation>", messages.HELP_HISTORY),),
        reader_commands.history,
    ),
    "ask": Spec(
        "ask <conversation>",
        1,
        1,
        Role.ADMIN,
        (("ask <conversation>", messages.HELP_ASK),),
        admin_commands.ask,
    ),
    "close": Spec(
        "close <conversation>",
        1,
        1,
        Role.ADMIN,
        (("close <conversation>", messages.HELP_CLOSE),),
        admin_commands.close,
    ),
    "remind": Spec(
        "remind <conversation>",
        1,
        1,
        Role.ADMIN,
        (("remind <conversation>", messages.HELP_REMIND),),
        admin_commands.remind,
    ),
    "schedule": Spec(
        "schedule <conversation> <cadence>",
        2,
        None,
        Role.ADMIN,
        (("schedule <conversation> <cadence>", messages.HELP_SCHEDULE),),
        admin_commands.schedule,
    ),
    "pause": Spec(
        "pause <conversation>",
        1,
        1,
        Role.ADMIN,
        (("pause <conversation>", messages.HELP_PAUSE),),
        admin_commands.pause,
    ),
    "resume": Spec(
        "resume <conversation>",
        1,
        1,
        Role.ADMIN,
        (("resume <conversation>", messages.HELP_RESUME),),
        admin_commands.resume,
    ),
    "audit": Spec(
        "audit [since <date>] [conversation]",
        0,
        3,
        Role.ADMIN,
        (("audit [since <date>] [conversation]", messages.HELP_AUDIT),),
        admin_commands.audit,
    ),
    # Last: Teams' personal menu (ten commands at most) still has room for it, and the
    # team menu keeps the admin commands that were there first.
    "consistency": Spec(
        "consistency",
        0,
        0,
        Role.READER,
        (("consistency", messages.HELP_CONSISTENCY),),
        reader_commands.consistency,
    ),
    # After consistency: the tenth entry of Teams' personal menu; the team menu's ten are
    # taken by the admin commands before it (the CIO channel gets the file the same way).
    "export": Spec(
        "export <conversation|all> [since <date>] [csv|xlsx|md]",
        1,
        4,
        Role.READER,
        (("export <conversation|all> [since <date>] [csv|xlsx|md]", messages.HELP_EXPORT),),
        export_chat.export_command,
    ),
    "forget": Spec(
        "forget <person>",
        1,
        None,
        Role.ADMIN,
        (("forget <person>", messages.HELP_FORGET),),
        privacy.forget,
    ),
}
ALIASES = {"?": "help", "open": "ask", "start": "ask", "unpause": "resume", "my": "mine"}


@dataclass(frozen=True)
class ParsedCommand:
    """A recognised command word and its arguments (still unvalidated against data)."""

    name: str
    args: tuple[str, ...]

    @property
    def spec(self) -> Spec:
        """The command's table entry."""
        return COMMANDS[self.name]


def parse(text: str) -> ParsedCommand:
    """Parse command text such as "digest social-media previous".

    A leading "/strategy" (or "/") and a leading bot mention are ignored.

    Raises:
        UserError: unknown word (with a "did you mean"), or the wrong number of arguments.
    """
    words = _words(text)
    if not words:
        return ParsedCommand("help", ())
    word = words[0].lower()
    name = ALIASES.get(word, word)
    if name not in COMMANDS:
        close = difflib.get_close_matches(word, [*COMMANDS, *ALIASES], n=1, cutoff=0.6)
        suggestion = ALIASES.get(close[0], close[0]) if close else None
        raise UserError(messages.unknown_command(words[0][:40], suggestion))
    spec = COMMANDS[name]
    args = tuple(words[1:])
    if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
        raise UserError(messages.usage(name, spec.usage))
    return ParsedCommand(name, args)


def is_command(text: str) -> bool:
    """Whether text parses as a complete, valid command (so it is not an answer).

    The same decision as `parse`, without what `parse` builds to explain a mistake (the
    "did you mean" search, the translated sentence): most typed text is an answer, and
    every typed answer is asked this first.
    """
    words = _words(text)
    if words:
        word = words[0].lower()
        spec = COMMANDS.get(ALIASES.get(word, word))
        if spec is None:
            return False
        args = len(words) - 1
        if args < spec.min_args or (spec.max_args is not None and args > spec.max_args):
            return False
    return bool(text.strip())


def _words(text: str) -> list[str]:
    """The words of a command, without a leading "/strategy" or mention, or the "/"."""
    words = text.strip().split()
    if words and words[0].lower() in ("/strategy", "strategy", "@strategy-bot"):
        words = words[1:]
    if words and words[0].startswith("/"):
        words[0] = words[0][1:]
    return words


def run(turn: Turn, actor: str, command: ParsedCommand) -> list[OutboundMessage]:
    """Carry out a parsed command after checking the actor's role.

    Raises:
        PermissionDenied: the actor's role does not allow it.
        UserError: the command refused (its message says why).
    """
    needed = command.spec.role
    if not command.spec.allows(turn, actor):
        raise PermissionDenied(messages.not_allowed(command.name, needed.value))
    return command.spec.handler(turn, actor, command.args)


def not_understood(turn: Turn, actor: str, text: str) -> Notice:
    """Neither an answer nor a command: say so, with a "did you mean", and what is open."""
    try:
        parse(text)
    except UserError as exc:
        hint = str(exc)
    else:  # pragma: no cover - a valid command never gets here
        hint = messages.usage("help", "help")
    known = turn.member(actor) is not None or bool(turn.roles(actor))
    context = messages.nothing_open() if known else messages.not_a_participant()
    return Notice(lines=(hint, context))


def ask_target(event: InboundEvent, playbook: Playbook) -> str | None:
    """The conversation an admin's `ask` is about to open, if `event` is one.

    The runtime refreshes membership before such an event reaches the engine. Only admins'
    asks of a known conversation count, so nobody can make the bot call Slack at will.
    """
    if not isinstance(event, CommandInvoked | TextMessage):
        return None
    if event.actor not in playbook.roles.admins:
        return None
    try:
        command = parse(event.text)
    except UserError:  # not a command: an answer, or a typo the engine will explain
        return None
    if command.name != "ask" or not command.args:
        return None
    key = command.args[0].lower()
    return key if playbook.conversation(key) is not None else None


def looks_like_command(text: str) -> bool:
    """Whether the first word is a command word or close to one (worth a "did you mean")."""
    words = text.strip().split()
    if not words:
        return False
    word = words[0].lower().lstrip("/")
    if word in ("strategy", "@strategy-bot") or word in COMMANDS or word in ALIASES:
        return True
    return bool(difflib.get_close_matches(word, [*COMMANDS, *ALIASES], n=1, cutoff=0.75))


__all__ = [
    "ALIASES",
    "COMMANDS",
    "ParsedCommand",
    "Role",
    "Spec",
    "ask_target",
    "is_command",
    "looks_like_command",
    "not_understood",
    "parse",
    "run",
]

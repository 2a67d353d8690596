"""The command grammar, one for every platform (`/strategy ...`, Teams text, the console).

A table maps each command word to its argument shape and the roles allowed to use it; the
parser only recognises words, the engine carries them out. `parse` is strict, so the engine
can tell a real command from a free-text answer that happens to start with "close".
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from bot import messages
from bot.errors import UserError


class Role(StrEnum):
    """Who may use a command."""

    ANYONE = "anyone"
    READER = "the CIO and admins"
    ADMIN = "admins"


@dataclass(frozen=True)
class Spec:
    """A command's shape: usage text, argument count bounds and the role it needs."""

    usage: str
    min_args: int
    max_args: int | None
    role: Role


COMMANDS: dict[str, Spec] = {
    "help": Spec("help", 0, 1, Role.ANYONE),
    "mine": Spec("mine", 0, 0, Role.ANYONE),
    "review": Spec("review", 0, 0, Role.ANYONE),
    "skip": Spec("skip [round]", 0, 1, Role.ANYONE),
    "snooze": Spec("snooze <duration>", 1, 2, Role.ANYONE),
    "status": Spec("status [conversation]", 0, 1, Role.READER),
    "digest": Spec("digest [conversation|all] [last|previous]", 0, 2, Role.READER),
    "ask": Spec("ask <conversation>", 1, 1, Role.ADMIN),
    "close": Spec("close <conversation>", 1, 1, Role.ADMIN),
    "remind": Spec("remind <conversation>", 1, 1, Role.ADMIN),
    "schedule": Spec("schedule <conversation> <cadence>", 2, None, Role.ADMIN),
    "pause": Spec("pause <conversation>", 1, 1, Role.ADMIN),
    "resume": Spec("resume <conversation>", 1, 1, Role.ADMIN),
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
    words = text.strip().split()
    if words and words[0].lower() in ("/strategy", "strategy", "@strategy-bot"):
        words = words[1:]
    if words and words[0].startswith("/"):
        words[0] = words[0][1:]
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
    """Whether text parses as a complete, valid command (so it is not an answer)."""
    try:
        parse(text)
    except UserError:
        return False
    return bool(text.strip())


def looks_like_command(text: str) -> bool:
    """Whether the first word is a command word or close to one (worth a "did you mean")."""
    words = text.strip().split()
    if not words:
        return False
    word = words[0].lower().lstrip("/")
    if word in ("strategy", "@strategy-bot") or word in COMMANDS or word in ALIASES:
        return True
    return bool(difflib.get_close_matches(word, [*COMMANDS, *ALIASES], n=1, cutoff=0.75))


def suggest(word: str, known: list[str]) -> str | None:
    """The closest known word, for "did you mean" hints."""
    close = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.5)
    return close[0] if close else None

"""The commands anyone may type about their own questions: mine, review, skip, snooze.

Each is a thin reading of the command's words; what they do to a participation is
`bot.flows.participation`'s, so a typed `skip` and a Skip button behave alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import messages
from bot.errors import UserError
from bot.flows import participation, privacy
from bot.flows.outbound import OutboundMessage
from bot.flows.turn import Turn


def mine(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`mine`: your open rounds, and the question to answer now.

    `mine history` and `mine export` show everything stored about you (`bot.flows.privacy`).

    Raises:
        UserError: another word follows.
    """
    if not args:
        return participation.mine(turn, actor, take_held=True)
    what = args[0].lower()
    if what not in ("history", "export"):
        raise UserError(messages.usage("mine", "mine [history|export]"))
    return privacy.mine_data(turn, actor, what)


def review(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`review`: your answers in every open round, to edit."""
    return participation.review(turn, actor)


def skip(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`skip` or `skip round`.

    Raises:
        UserError: another word than "round" follows.
    """
    if args and args[0].lower() != "round":
        raise UserError(messages.usage("skip", "skip [round]"))
    return participation.typed_skip(turn, actor, whole_round=bool(args))


def snooze(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`snooze <duration>`."""
    return participation.typed_snooze(turn, actor, " ".join(args))

"""One error hierarchy, so callers can tell user mistakes from faults.

`UserError` carries text that is safe to show to the person who caused it (it never
contains exception details or stack traces); everything else is logged, and the user
sees a generic apology from `bot.messages`.
"""

from __future__ import annotations


class StrategyBotError(Exception):
    """Root of every error strategy-bot raises on purpose."""


class ConfigError(StrategyBotError):
    """Settings or environment are unusable; the message names the variable."""


class PlaybookError(StrategyBotError):
    """A playbook file is invalid.

    Attributes:
        problems: one line per problem, each naming file, line and field.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class UserError(StrategyBotError):
    """A request from a chat user or admin that cannot be carried out.

    The message is shown to that user as is, so it must come from `bot.messages`.
    """


class PermissionDenied(UserError):
    """The user's role does not allow this command."""


class InvalidTransition(StrategyBotError):
    """An illegal move in a round's state machine (a programming error, not user input)."""


class DeliveryError(StrategyBotError):
    """An adapter could not deliver an outbound message."""

"""Directories: who is in a chat platform's groups, and who they are (a port of the core's).

Why a port of its own: the engine must know no platform, yet a playbook group can be
defined as a Slack user group or channel, and an `email:` member must become the chat user
who answers. The membership refresh (`bot.flows.directory`) asks a `Directory` three
questions and stores the answers; only the platform's adapter knows the API calls behind
them, their pagination and their rate limits. An adapter without a directory simply does
not provide one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class Person:
    """Someone a chat directory knows, as the bot needs them.

    Attributes:
        identity: their engine identity and address (`slack:U0123ABCD`).
        name: the name people know them by, if the directory has one.
        timezone: their IANA time zone (`Europe/Berlin`), if the directory has one.
        active: False for a deactivated (deleted) account: never prompted.
        bot: True for a bot or app user: never prompted.
    """

    identity: str
    name: str | None = None
    timezone: str | None = None
    active: bool = True
    bot: bool = False

    @property
    def promptable(self) -> bool:
        """Whether this is an active human, the only kind of member a round asks."""
        return self.active and not self.bot


class DirectoryError(Exception):
    """A directory could not answer now (outage, 429, missing scope, unknown source).

    The caller keeps what it knew before: membership read earlier stays, so a round never
    fails to open because a directory is down. The message says what went wrong, for the
    log.
    """


class Directory(Protocol):
    """A chat platform's people directory, as the membership refresh sees it (optional).

    Why a port of its own, next to `Adapter`: the engine must know no platform, yet a
    playbook group can be defined as a Slack user group or channel, and an `email:` member
    must become the chat user who answers. The refresh (`bot.flows.directory`) asks these
    three questions of whichever platform a source or address names, and stores the
    answers; only the platform's adapter knows the API calls behind them, their pagination
    and their rate limits. An adapter without a directory simply does not provide one.

    Every method raises `DirectoryError` when the platform cannot answer now; "no such
    person" is an answer (None), not an error.
    """

    platform: str

    @property
    def resolves_email(self) -> bool:
        """Whether `find_email` can be asked (e.g. a workspace token is configured)."""
        ...

    async def members(self, source: str) -> list[str]:
        """The identities of everyone in a playbook source (`slack:usergroup:S…`).

        The list may include bots and deactivated accounts; `profile` tells them apart.
        """
        ...

    async def find_email(self, email: str) -> Person | None:
        """The person with this email address (without `email:`), or None if nobody has it."""
        ...

    async def profile(self, identity: str) -> Person | None:
        """The person behind an identity of this platform, or None if there is no such user."""
        ...

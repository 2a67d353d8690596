"""Who may do what: the CIO and admins read digests and status, admins change schedules.

Roles come from the playbook (`roles: cio, admins`); everyone else is a stakeholder, who
may only answer and use the commands about their own questions.
"""

from __future__ import annotations

from enum import StrEnum

from bot.playbook.model import Playbook


class Role(StrEnum):
    """Who may use a command.

    The value is how a refusal names them, in English: it is data (the command table's
    roles), said in the active language through `messages.role_name`.
    """

    ANYONE = "anyone"
    READER = "the CIO and admins"
    ADMIN = "admins"


def roles_of(playbook: Playbook, actor: str) -> set[Role]:
    """The roles an identity holds beyond `ANYONE`: `READER` for the CIO and admins."""
    roles: set[Role] = set()
    if actor in playbook.roles.cio or actor in playbook.roles.admins:
        roles.add(Role.READER)
    if actor in playbook.roles.admins:
        roles.add(Role.ADMIN)
    return roles

"""The playbook: conversations, groups and roles, as configuration (YAML)."""

from bot.playbook.model import (
    Conversation,
    Group,
    MemberSpec,
    Playbook,
    Question,
    QuestionType,
    Roles,
)

__all__ = [
    "Conversation",
    "Group",
    "MemberSpec",
    "Playbook",
    "Question",
    "QuestionType",
    "Roles",
]

"""Roles of the playbook's own and `confidential`: loaded whole, or refused at the line."""

from __future__ import annotations

import textwrap

import pytest
from pydantic import ValidationError

from bot.errors import PlaybookError
from bot.playbook.loader import load_playbook_text
from bot.playbook.model import Playbook

VALID = textwrap.dedent(
    """\
    cio_channel: "console:#cio"
    roles:
      cio: ["console:cio"]
      admins: ["console:admin"]
      general_counsel: ["console:gia", "slack:U0GIA"]
    groups:
      legal:
        title: Legal
        members:
          - id: "console:lee"
    conversations:
      - key: social-liability
        title: Social Liability
        purpose: Risks.
        groups: [legal]
        cadence: "0 9 1 * *"
        confidential: [cio, general_counsel]
        questions:
          - id: risk
            text: What risk worries you?
          - id: breach
            text: Any breach we should know of?
            confidential: [general_counsel]
    """
)


def problems(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text, "playbook.yml")
    return caught.value.problems


def test_a_role_of_its_own_and_confidential_lists_load() -> None:
    playbook = load_playbook_text(VALID, "playbook.yml")
    assert playbook.roles.named == {"general_counsel": ("console:gia", "slack:U0GIA")}
    assert playbook.roles.names() == ["cio", "admins", "general_counsel"]
    assert playbook.roles.held_by("slack:U0GIA") == frozenset({"general_counsel"})
    assert playbook.roles.held_by("console:cio") == frozenset({"cio"})
    conv = playbook.conversations[0]
    assert conv.confidential == ("cio", "general_counsel")
    assert [q.confidential for q in conv.questions] == [None, ("general_counsel",)]
    # A round's agenda keeps them, and reads back without the playbook's roles at hand.
    dumped = conv.model_dump(mode="json")
    assert dumped["confidential"] == ["cio", "general_counsel"]
    assert type(conv).model_validate(dumped) == conv


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "confidential: [cio, general_counsel]",
            "confidential: [cio, ceo]",
            "playbook.yml:17: conversations[0].confidential[1]: confidential names unknown"
            " role 'ceo'; the playbook's roles are cio, admins, general_counsel",
            id="unknown-on-a-conversation",
        ),
        pytest.param(
            "confidential: [general_counsel]",
            "confidential: [legal]",
            "playbook.yml:23: conversations[0].questions[1].confidential[0]: confidential names"
            " unknown role 'legal'",
            id="unknown-on-a-question",
        ),
        pytest.param(
            "confidential: [general_counsel]",
            "confidential: []",
            "playbook.yml:23: conversations[0].questions[1].confidential: name at least one"
            " role (with none, nobody could read the answers)",
            id="empty",
        ),
        pytest.param(
            "confidential: [cio, general_counsel]",
            "confidential: [cio, cio]",
            "playbook.yml:17: conversations[0].confidential: name each role once; repeated: cio",
            id="repeated",
        ),
        pytest.param(
            '  admins: ["console:admin"]\n',
            '  admins: ["console:admin"]\n  admin: ["console:ian"]\n',
            "playbook.yml:5: roles.admin: no conversation or question names the role 'admin'"
            " in confidential; a role of your own only lets its holders read confidential"
            " answers (did you mean admins?)",
            id="unused-role-a-typo",
        ),
        pytest.param(
            '  general_counsel: ["console:gia", "slack:U0GIA"]',
            '  general_counsel: ["console:gia", "gia"]',
            "playbook.yml:5: roles.general_counsel[1]: 'gia' is not a platform:id identity",
            id="bad-identity",
        ),
        pytest.param(
            '  general_counsel: ["console:gia", "slack:U0GIA"]',
            '  general_counsel: ["console:gia"]\n  General Counsel: ["console:gia"]',
            "playbook.yml:6: roles.General Counsel: a role's name is lower-case letters,"
            " digits, _ and -",
            id="bad-name",
        ),
    ],
)
def test_each_problem_names_the_file_line_and_field(old: str, new: str, expected: str) -> None:
    text = VALID.replace(old, new, 1)
    assert text != VALID
    found = problems(text)
    assert [p for p in found if p.startswith(expected)], found


def test_unknown_roles_are_refused_without_the_loader_too() -> None:
    import yaml

    data = yaml.safe_load(VALID.replace("[cio, general_counsel]", "[cio, ceo]"))
    with pytest.raises(ValidationError, match="confidential names unknown role 'ceo'"):
        Playbook.model_validate(data)


def test_a_playbook_without_confidential_questions_is_unchanged() -> None:
    text = VALID.replace('  general_counsel: ["console:gia", "slack:U0GIA"]\n', "")
    text = text.replace("    confidential: [cio, general_counsel]\n", "")
    text = text.replace("        confidential: [general_counsel]\n", "")
    playbook = load_playbook_text(text, "playbook.yml")
    assert playbook.roles.named == {}
    assert all(q.confidential is None for q in playbook.conversations[0].questions)

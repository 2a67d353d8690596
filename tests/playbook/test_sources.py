"""Group `sources` and `email:` members in the playbook: accepted forms, located problems."""

from __future__ import annotations

import pytest

from bot.errors import PlaybookError
from bot.playbook.loader import load_playbook_text
from tests.playbook.test_loader import VALID


def _with_it_group(extra: str) -> str:
    """VALID with lines added under the `it` group (at line 8, after its title)."""
    marker = "    title: IT leaders\n"
    assert VALID.count(marker) == 1
    return VALID.replace(marker, marker + extra)


def _problems(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as info:
        load_playbook_text(text, "playbook.yml")
    return info.value.problems


def test_sources_and_an_email_member_load() -> None:
    text = _with_it_group(
        "    sources:\n"
        "      - slack:usergroup:S0123ABC\n"
        "      - slack:channel:C0123ABC\n"
        "      - slack:channel:G0PRIVATE1\n"
        "      - slack:T0ACME/usergroup:S0456DEF\n"
    )
    zone = "        timezone: Europe/Berlin\n"
    assert text.count(zone) == 1
    text = text.replace(zone, zone + '      - id: "email:pat@acme.example"\n')  # no name
    group = load_playbook_text(text, "playbook.yml").groups["it"]
    assert group.sources == (
        "slack:usergroup:S0123ABC",
        "slack:channel:C0123ABC",
        "slack:channel:G0PRIVATE1",
        "slack:T0ACME/usergroup:S0456DEF",
    )
    assert [(m.id, m.name) for m in group.members] == [
        ("console:ian", "Ian (IT)"),
        ("email:pat@acme.example", None),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "slack:chanel:C0123",  # misspelt kind
        "slack:usergroup:C0123",  # a channel id as a user group
        "slack:channel:S0123",  # and the other way round
        "slack:channel:c0123abc",  # Slack ids are upper case
        "teams:usergroup:S0123",  # no other platform has sources yet
        "slack:U0123ABCD",  # a person, not a group
        "slack:channel:",
    ],
)
def test_a_bad_source_is_reported_at_its_own_line(source: str) -> None:
    text = _with_it_group(f'    sources:\n      - slack:usergroup:S0OK\n      - "{source}"\n')
    (problem,) = _problems(text)
    assert problem.startswith("playbook.yml:10: groups.it.sources[1]: not a member source;")
    assert "slack:usergroup:S…" in problem and "slack:channel:C…" in problem
    assert problem.endswith(f"(got {source!r})")


def test_a_repeated_source_is_reported() -> None:
    text = _with_it_group("    sources: [slack:channel:C0ONE, slack:channel:C0ONE]\n")
    (problem,) = _problems(text)
    assert problem.startswith("playbook.yml:8: groups.it.sources:")
    assert "sources must be distinct; repeated: slack:channel:C0ONE" in problem


def test_sources_must_be_a_list_of_text() -> None:
    (problem,) = _problems(_with_it_group("    sources: {slack: C0123}\n"))
    assert problem.startswith("playbook.yml:8: groups.it.sources:")


def test_an_email_member_must_be_an_address() -> None:
    text = VALID.replace('- id: "console:ian"', '- id: "email:ian"')
    (problem,) = _problems(text)
    assert problem.startswith("playbook.yml:9: groups.it.members[0].id:")
    assert "must be an address such as email:ana@example.com (got 'email:ian')" in problem

"""Text that used to be written outside the catalogue follows `BOT_LANGUAGE` too.

Cadences, the Slack Home tab, the console's error replies, role and stage names and the
Teams manifest now take their sentences from `bot/messages.py`. A small German catalogue
shows that each one changes with the language, that the English keys the engine compares
(a stage, a role) stay English, and that what the catalogue does not translate is English.
"""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import messages
from bot.adapters.slack.home import build_home_view, conversation_text
from bot.adapters.teams.package import build_manifest
from bot.flows.cadence import parse_cadence
from bot.flows.overview import ConversationOverview
from bot.flows.roles import Role
from tests.test_messages import speaking_german

GERMAN = {
    "every day at {time} ({zone})": "täglich um {time} ({zone})",
    "every week on {days} at {time} ({zone})": "jede Woche am {days} um {time} ({zone})",
    "{items} and {last}": "{items} und {last}",
    "Monday": "Montag",
    "Thursday": "Donnerstag",
    "unknown timezone {name} (use an IANA name like Europe/Berlin)": (
        "unbekannte Zeitzone {name} (ein IANA-Name wie Europe/Berlin)"
    ),
    "Strategy conversations": "Strategiegespräche",
    "Latest digest": "Neueste Zusammenfassung",
    "No round open.": "Keine Runde offen.",
    "Only {who} can use “{command}”.": "Nur {who} dürfen „{command}“ verwenden.",
    "admins": "Admins",
    "externally mature": "extern reif",
    "{name}: six social-business strategy conversations": "{name}: sechs Strategiegespräche",
    "the commands your role can use": "die Befehle Ihrer Rolle",
    "stop opening rounds": "keine Runden mehr öffnen",
    "Next round: {when}": "Nächste Runde -> {when}",
}


@pytest.fixture
def german(tmp_path: Path) -> Iterator[None]:
    with speaking_german(tmp_path, GERMAN):
        yield


def overview() -> ConversationOverview:
    return ConversationOverview(
        key="social-media",
        title="Social Media",
        cadence="every day at 10:00",
        cadence_description=parse_cadence("every day at 10:00").describe(),
        paused=False,
        next_round_at=None,
        open_round=None,
        last_closed=None,
        delivery_failures=0,
    )


def test_a_cadence_is_described_and_refused_in_the_language_spoken(german: None) -> None:
    assert parse_cadence("every day at 10:00").describe() == "täglich um 10:00 (UTC)"
    described = parse_cadence("every week on mon,thu at 09:30 Europe/Berlin").describe()
    assert described == "jede Woche am Montag und Donnerstag um 09:30 (Europe/Berlin)"
    with pytest.raises(ValueError) as refused:
        parse_cadence("every day at 10:00 Mars/Olympus")
    assert str(refused.value) == (
        "unbekannte Zeitzone 'Mars/Olympus' (ein IANA-Name wie Europe/Berlin)"
    )
    # Not in this catalogue: English, with the words that were typed.
    with pytest.raises(ValueError, match="'every 2 days' is not a supported cadence"):
        parse_cadence("every 2 days")


def test_english_is_spoken_again_after_the_catalogue() -> None:
    assert parse_cadence("every day at 10:00").describe() == "every day at 10:00 (UTC)"
    assert messages.stage_name("externally mature") == "externally mature"


def test_the_home_tab_speaks_the_language_spoken(german: None) -> None:
    view = build_home_view(admin=True, reader=True, conversations=[overview()], mine=[])
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert texts == ["Strategiegespräche"]
    buttons = [
        e["text"]["text"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "Neueste Zusammenfassung" in buttons
    # A button the catalogue does not translate is English, not blank.
    assert "Edit cadence" in buttons
    text = conversation_text(overview())
    assert "täglich um 10:00 (UTC)" in text and "Keine Runde offen." in text


def test_roles_and_stages_are_translated_where_read_and_stay_english_as_data(
    german: None,
) -> None:
    assert messages.not_allowed("schedule", Role.ADMIN.value) == (
        "Nur Admins dürfen „schedule“ verwenden."
    )
    assert Role.ADMIN.value == "admins"
    assert messages.stage_name("externally mature") == "extern reif"
    assert messages.NEXT_MOVES["externally mature"].startswith("Partner with marketing")
    # Not in this catalogue: English.
    assert messages.stage_name("laggard") == "laggard"


def test_the_teams_manifest_and_menus_speak_the_language_spoken(german: None) -> None:
    manifest = build_manifest(
        "00000000-0000-0000-0000-000000000001",
        "https://bot.example.org",
        version="1.0.0",
        name="Strategy Bot",
    )
    assert manifest["name"]["full"] == "Strategy Bot: sechs Strategiegespräche"
    menus = manifest["bots"][0]["commandLists"]
    described = {c["title"]: c["description"] for menu in menus for c in menu["commands"]}
    assert described["help"] == "die Befehle Ihrer Rolle"
    assert "keine Runden mehr öffnen" in described["pause"]
    # Not in this catalogue: English.
    assert manifest["description"]["short"].startswith("A CIO's six social-business")


def test_a_translated_home_sentence_is_escaped_and_its_date_still_works(german: None) -> None:
    """A translator's `>` must not start Slack markup; the date token must stay a token."""
    item = replace(overview(), next_round_at=datetime(2026, 12, 2, 9, tzinfo=UTC))
    text = conversation_text(item)
    assert "Nächste Runde -&gt; <!date^1796202000^" in text

"""The sentence catalogue: complete, translatable, and the same wherever it is shown.

`bot/messages.py` is the bot's only source of sentences; translators work from the
template `make messages` extracts from it (docs/translating.md). These tests keep the
committed template in step with the source, show that a catalogue changes what the bot
says (English where it has no translation), and that commands read as quoted words on
every platform, Teams cards included, instead of Markdown backticks shown literally.
"""

import json
import re
import string
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import i18n, messages
from bot.adapters.teams.cards import render_activity_attachments
from bot.config import load_settings
from bot.errors import ConfigError
from bot.flows.outbound import Notice
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness, text_of
from tests.test_cli import serve

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "bot" / "locale" / "strategy-bot.pot"
MARIA, ADMIN = "console:maria", "console:admin"

# A German catalogue for a few sentences; every other sentence stays untranslated.
GERMAN = {
    "I don't know the command “{word}”. Did you mean “{suggestion}”? Say “help” for the list.": (
        "Den Befehl „{word}“ kenne ich nicht. Meinten Sie „{suggestion}“? „help“ zeigt die Liste."
    ),
    "Yes": "Ja",
    (
        "{count} prompt waiting for local time",
        "{count} prompts waiting for local time",
    ): ("{count} Frage wartet auf die Ortszeit", "{count} Fragen warten auf die Ortszeit"),
}


def extract(into: Path) -> Catalog:
    """Extract the source's sentences the way `make messages` does (see the Makefile)."""
    pot = into / "strategy-bot.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-c", "Translators:", "-s", "-o", str(pot), str(ROOT / "bot")]
    )
    return read(pot)


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id for m in catalog if m.id}


@contextmanager
def speaking_german(folder: Path, translations: dict[str, str]) -> Iterator[Path]:
    """`translations` compiled as a German catalogue under `folder`, spoken while open;
    English again afterwards.
    """
    catalog = Catalog(locale="de", domain=i18n.DOMAIN)
    for msgid, msgstr in translations.items():
        catalog.add(msgid, msgstr)
    messages_dir = folder / "de" / "LC_MESSAGES"
    messages_dir.mkdir(parents=True)
    with (messages_dir / f"{i18n.DOMAIN}.mo").open("wb") as f:
        write_mo(f, catalog)
    with i18n.speaking("de", localedir=folder):
        yield folder
    assert i18n.language() == "en"


@pytest.fixture
def german(tmp_path: Path) -> Iterator[Path]:
    """A compiled German catalogue in a locale folder of its own; English again afterwards."""
    with speaking_german(tmp_path, GERMAN) as folder:
        yield folder


# --- the template is the source's sentences, all of them ------------------------------------


def test_the_committed_template_holds_exactly_the_sentences_of_the_source(
    tmp_path: Path,
) -> None:
    fresh, committed = ids(extract(tmp_path)), ids(read(TEMPLATE))
    missing, stale = fresh - committed, committed - fresh
    assert not missing and not stale, (
        f"bot/locale/strategy-bot.pot is out of date: run `make messages`.\n"
        f"  not in it yet: {sorted(map(str, missing))}\n  no longer in the source: "
        f"{sorted(map(str, stale))}"
    )


def test_every_constant_sentence_is_in_the_template() -> None:
    committed = ids(read(TEMPLATE))
    for name, value in messages.sentences().items():
        texts = value.values() if isinstance(value, dict) else (value,)
        for text in texts:
            for one in (text,) if isinstance(text, str) else text:
                assert one in committed, f"messages.{name}: {one!r}: mark it N_, `make messages`"


def test_a_sentence_counts_with_the_plural_forms_of_its_language(tmp_path: Path) -> None:
    plural = {m.id for m in extract(tmp_path) if m.pluralizable}
    assert ("{count} prompt waiting for local time", "{count} prompts waiting for local time") in (
        plural
    )
    assert messages.status_held(1).strip() == "1 prompt waiting for local time"
    assert messages.status_held(3).strip() == "3 prompts waiting for local time"


# --- a catalogue changes what the bot says ----------------------------------------------------


def test_a_german_catalogue_changes_what_the_bot_says_and_english_fills_the_gaps(
    db: Database, clock: FakeClock, german: Path
) -> None:
    bot = EngineHarness(db, clock)
    said = text_of(bot.command(ADMIN, "stauts"))
    assert "Den Befehl „stauts“ kenne ich nicht. Meinten Sie „status“?" in said
    assert "I don't know" not in said
    # Not translated in this catalogue: said in English, not left blank.
    assert "You have no open questions right now." in text_of(bot.say(MARIA, "hello"))
    # Constants follow the language too, although `bot.messages` was imported before.
    assert messages.YES == "Ja" and messages.NO == "No"
    assert messages.status_held(2).strip() == "2 Fragen warten auf die Ortszeit"
    assert messages.status_held(1).strip() == "1 Frage wartet auf die Ortszeit"


def test_english_is_spoken_again_after_the_catalogue(db: Database, clock: FakeClock) -> None:
    assert messages.YES == "Yes"
    said = text_of(EngineHarness(db, clock).command(ADMIN, "stauts"))
    assert "I don't know the command “stauts”. Did you mean “status”?" in said


def test_bot_language_chooses_the_catalogue_and_an_unknown_one_stops_start_up(
    german: Path,
) -> None:
    with pytest.raises(ConfigError) as stopped:
        load_settings(BOT_LANGUAGE="xx")
    assert "BOT_LANGUAGE" in str(stopped.value) and "available: en" in str(stopped.value)
    # Only the shipped catalogues count (the test's German is not installed).
    assert i18n.available() == ("en",)
    with pytest.raises(LookupError, match="available: en, de"):
        i18n.activate("fr", localedir=german)
    i18n.activate("DE", localedir=german)
    assert messages.YES == "Ja"


def test_serve_with_an_unknown_language_stops_and_names_the_available_ones(
    tmp_path: Path,
) -> None:
    result = serve(tmp_path, BOT_LANGUAGE="klingon")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "BOT_LANGUAGE" in result.stderr and "available: en" in result.stderr
    assert "serving on" not in result.stdout


def test_the_catalogues_are_package_data_so_a_wheel_carries_them() -> None:
    """`pip install .` and a wheel only hold files the package-data globs name."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["bot"]
    for shipped in (
        "locale/strategy-bot.pot",
        "locale/de/LC_MESSAGES/strategy-bot.po",
        "locale/pt_BR/LC_MESSAGES/strategy-bot.mo",
    ):
        assert any(fnmatch(shipped, g) for g in globs), shipped
    assert i18n.LOCALE_DIR == ROOT / "bot" / "locale" and TEMPLATE.is_file()


def test_every_shipped_translation_keeps_the_placeholders_of_its_sentence() -> None:
    """A translation that drops or renames a `{placeholder}` would fail when it is filled."""
    for po in sorted((ROOT / "bot" / "locale").glob("*/LC_MESSAGES/*.po")):
        for message in read(po, locale=po.parent.parent.name):
            if not message.id or not message.string:
                continue
            ids_ = message.id if isinstance(message.id, tuple) else (message.id,)
            strs = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = _placeholders(ids_[-1])
            for translated in strs:
                if translated:
                    assert _placeholders(translated) == wanted, f"{po}: {message.id!r}"
        assert po.with_suffix(".mo").exists(), f"{po} is not compiled: run `make messages`"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# --- commands are quoted words, on every platform -------------------------------------------


def test_no_sentence_carries_markdown_backticks() -> None:
    """Backticks are code in Slack but literal characters in Teams cards and the console."""
    with_backticks = [m.id for m in read(TEMPLATE) if m.id and "`" in str(m.id)]
    assert with_backticks == []


def test_teams_shows_a_command_in_quotes_without_escapes(db: Database, clock: FakeClock) -> None:
    bot = EngineHarness(db, clock)
    replies = [*bot.command(ADMIN, "stauts"), *bot.command(ADMIN, "help")]
    assert replies and all(isinstance(r, Notice) for r in replies)
    cards = json.dumps([render_activity_attachments(r) for r in replies], ensure_ascii=False)
    assert "Did you mean “status”?" in cards
    assert "“mine” — your open questions" in cards
    # No backtick, escaped (shown as "\`" in Teams) or not.
    assert "`" not in cards and not re.search(r"\\\\[“”]", cards)

"""The language the bot speaks: GNU gettext catalogues, one process-wide language.

Every sentence a person reads is written in English in `bot.messages` and looked up here
in the catalogue of `BOT_LANGUAGE` (`bot.config`), so translating the bot is translating
one catalogue and nothing in the engine or the adapters changes. The format is the
Python convention (gettext `.po`/`.mo`, read by the standard library; Babel extracts and
compiles them, see docs/translating.md), so translators use the tools they know
(Poedit, Weblate, Crowdin) and plural rules come from each catalogue's `Plural-Forms`.

One language per process: the bot speaks to one organisation, and a reply is queued
and rendered in other threads than the one that built it, so a per-request language
would have to travel with every message. `activate` is called once, when the settings
are read; English, the source language, needs no catalogue and is always available. A
sentence a catalogue does not translate (yet) is said in English. `strategy-bot` reads
the settings before it imports the engine and the adapters, so even text they build at
import time (the command table's help lines, a few ready-made notices) is in the chosen
language; a test that switches language in-process (`speaking`) sees those in English.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "strategy-bot"
#: The catalogues shipped with the bot: `<language>/LC_MESSAGES/strategy-bot.mo`, and the
#: template `strategy-bot.pot` they are made from (`make messages`).
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"

_active: _gettext.NullTranslations = _gettext.NullTranslations()
_language = SOURCE_LANGUAGE


def normalise(language: str) -> str:
    """A language as its catalogue folder is named: "pt-BR" and "pt_br" are "pt_BR"."""
    code, _, region = language.strip().replace("-", "_").partition("_")
    return f"{code.lower()}_{region.upper()}" if region else code.lower()


def available(localedir: Path = LOCALE_DIR) -> tuple[str, ...]:
    """The languages that have a compiled catalogue in `localedir`, English first."""
    found = sorted(path.parent.parent.name for path in localedir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE))


def activate(language: str, localedir: Path = LOCALE_DIR) -> None:
    """Speak `language` from now on, in every thread.

    Raises:
        LookupError: there is no compiled catalogue for `language` (the message names the
            available ones; `bot.config` turns it into a start-up error).
    """
    global _active, _language
    wanted = normalise(language)
    if wanted not in available(localedir):
        raise LookupError(
            f"no catalogue for language {language!r}; available: {', '.join(available(localedir))}"
            f" (catalogues live in {localedir}/<language>/LC_MESSAGES/{DOMAIN}.mo)"
        )
    if wanted == SOURCE_LANGUAGE:
        _active = _gettext.NullTranslations()
    else:
        with (localedir / wanted / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as catalogue:
            _active = _gettext.GNUTranslations(catalogue)
    _language = wanted


def language() -> str:
    """The language the bot speaks now."""
    return _language


@contextmanager
def speaking(language: str, localedir: Path = LOCALE_DIR) -> Iterator[None]:
    """Speak `language` inside the block, then the previous language again (for tests)."""
    before, before_language = _active, _language
    activate(language, localedir)
    try:
        yield
    finally:
        _set(before, before_language)


def _set(translations: _gettext.NullTranslations, language: str) -> None:
    global _active, _language
    _active, _language = translations, language


def gettext(message: str) -> str:
    """`message` (English) in the active language, or as it is when not translated."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a sentence about `n` things, by the active language's plural rule."""
    return _active.ngettext(singular, plural, n)


def gettext_noop(message: str) -> str:
    """Mark a sentence for extraction without translating it yet (`bot.messages` constants).

    A constant is translated when it is read, not when the module is imported, so the
    language chosen at start-up applies to it too.
    """
    return message

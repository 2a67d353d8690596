"""The local web console: the embedded default platform when no Slack or Teams credentials are set.

`ConsoleAdapter` is the platform (a transcript per address, fed by the outbox and by the
engine's immediate replies); `register_console_routes` serves the page and its JSON API
from the same aiohttp process as everything else.
"""

from bot.adapters.console.adapter import CIO_CHANNEL, ConsoleAdapter, Person
from bot.adapters.console.routes import register_console_routes

__all__ = ["CIO_CHANNEL", "ConsoleAdapter", "Person", "register_console_routes"]

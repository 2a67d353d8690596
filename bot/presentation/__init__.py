"""One presentation layer: every message as platform-neutral sections, worded once.

The engine's outbound messages (`bot.flows.outbound`) say *what* happened; this package
decides *how it reads*: the sentences (from `bot.messages`), number formats, labels, the
input each question type gets and the buttons each message shows, as a `View` of
sections (`sections`). Slack (`bot.adapters.slack.render`), Teams
(`bot.adapters.teams.cards`), the console page (`bot/adapters/console/static/app.js`)
and plain text (`text.lines`) only lay the sections out, so the same digest shows the
same figures and sentences everywhere (`tests/presentation/test_same_everywhere.py`).

It imports the engine's models and nothing of any platform.
"""

from bot.presentation.sections import View, dump_view
from bot.presentation.views import build_view

__all__ = ["View", "build_view", "dump_view"]

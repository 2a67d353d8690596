"""Rate-limit holds of one method that the adapter keeps back itself, not the whole scope.

A 429 of the method that posts messages (`chat.postMessage`) says the workspace takes no
more posts for a while, so the claim passes over its every row. A 429 of another method
says only that method is refused: Slack's `conversations.open` is Tier 3 (about 50 calls
a minute) while posting is about one a second per channel, so holding every row of the
workspace for a `conversations.open` 429 (about a minute) would keep back the messages to
every DM already opened and every channel, which need no such call. An adapter that names
such a method in `held_methods` is told, with each send, how long each of its methods is
still held for that address (`send(held=...)`), and answers `retry` at once for a message
that would need one; the others go out.

The holds are read from `rate_limit_holds` with every claim (so every replica knows
them) and learned here the moment a 429 comes back (so the sends already claimed know
them before its result is written).
"""

from __future__ import annotations

import threading
from datetime import datetime


class MethodHolds:
    """The live holds of single methods, by address prefix (thread-safe: claims run in a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[tuple[str, str], datetime] = {}  # (prefix, method) -> until

    def hold(self, prefix: str, method: str, until: datetime) -> None:
        """Hold `method` for addresses starting with `prefix` until `until` (later wins)."""
        with self._lock:
            key = (prefix, method)
            current = self._until.get(key)
            if current is None or until > current:
                self._until[key] = until

    def for_address(self, address: str, now: datetime) -> dict[str, float]:
        """Seconds each method is still held for `address` (none: an empty map)."""
        held: dict[str, float] = {}
        with self._lock:
            for (prefix, method), until in list(self._until.items()):
                if until <= now:
                    del self._until[(prefix, method)]  # keeps the map as small as the holds
                elif address.startswith(prefix):
                    left = (until - now).total_seconds()
                    held[method] = max(left, held.get(method, 0.0))
        return held

"""A digest as plain-text lines, for logs, terminals and tests.

No longer a rendering of its own: the digest is built once as platform-neutral sections
(`bot.presentation.digest`), and this is their plain-text layout
(`bot.presentation.text.lines`), so it reads exactly like Slack, Teams and the console.
Kept under this name because tests and tools read digests through it.
"""

from __future__ import annotations

from bot.flows.digest_model import Digest
from bot.presentation.digest import digest_view
from bot.presentation.text import lines


def render_digest_text(digest: Digest) -> list[str]:
    """Render a digest as plain-text lines.

    Args:
        digest: the digest to render.

    Returns:
        Lines without newlines: the title and scope, the maturity stage and next move (for
        the enterprise view), then each conversation's participation and question roll-ups.
    """
    return lines(digest_view(digest))

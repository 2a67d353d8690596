"""Optional summaries of what people wrote, by a language model: off unless configured.

The offline themes (`bot.flows.themes`) are always built; this adds a few sentences on top
when an operator points the bot at an OpenAI-compatible endpoint (`SUMMARY_URL`,
`SUMMARY_MODEL`, `SUMMARY_API_KEY`; README, "Listening across the six"). It is a port
(`Summariser`) with one implementation (`OpenAICompatible`), so the engine never knows
whose model it is, and tests stand a fake on loopback in its place.

What is sent, and only when configured: each text answer of the latest closed rounds,
with its conversation's title and nothing else. No name, no group, no identity of any
kind, for anonymous and named conversations alike; at most `MAX_CHARS` characters in all.
A failure of any kind (timeout, refusal, an answer that is not what the API documents)
gives no summary, and the digest says so beside the offline themes, which are unchanged.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: At most this many characters of answers are sent (the newest rounds' answers, in order).
MAX_CHARS = 24_000
#: The summary kept, at most (a chat message, not a report).
MAX_SUMMARY_CHARS = 1_500
_INSTRUCTIONS = (
    "You summarise what employees wrote in a company's social business strategy"
    " conversations, for the CIO. Write three to five short sentences in plain text: the"
    " topics that recur, where conversations overlap or disagree, and what needs a decision."
    " Use only what the answers say; do not invent names, figures or quotes."
)


class SummaryUnavailable(Exception):
    """The summariser gave no summary this time (the reason is logged, never shown)."""


@dataclass(frozen=True)
class Excerpt:
    """One answer as it is sent: the conversation's title and the text, nothing else."""

    conversation: str
    text: str


class Summariser(Protocol):
    """A port: a few sentences about these answers, or `SummaryUnavailable`."""

    @property
    def source(self) -> str:
        """Where the answers go (a host name), told to the CIO beside the summary."""
        ...

    def summarise(self, excerpts: Sequence[Excerpt]) -> str:
        """The summary of these answers.

        Raises:
            SummaryUnavailable: no summary this time.
        """
        ...


@dataclass(frozen=True)
class OpenAICompatible:
    """`POST {base_url}/chat/completions`, as OpenAI's API and its look-alikes document it."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 15.0

    def __post_init__(self) -> None:
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ValueError("SUMMARY_URL must be an http:// or https:// URL")

    @property
    def source(self) -> str:
        """The endpoint's host, as the digest names it."""
        return urlsplit(self.base_url).hostname or self.base_url

    def summarise(self, excerpts: Sequence[Excerpt]) -> str:
        """Send the answers (no identity) and return the model's few sentences."""
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": _INSTRUCTIONS},
                {"role": "user", "content": prompt(excerpts)},
            ],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(  # noqa: S310  (scheme checked in __post_init__)
            self.base_url.rstrip("/") + "/chat/completions",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read(1_000_000))
            text = payload["choices"][0]["message"]["content"]
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            # OSError covers timeouts, refused connections and HTTP errors (URLError).
            log.warning("summary from %s not available: %s", self.source, type(exc).__name__)
            raise SummaryUnavailable(type(exc).__name__) from None
        if not isinstance(text, str) or not text.strip():
            raise SummaryUnavailable("empty")
        return " ".join(text.split())[:MAX_SUMMARY_CHARS]


def prompt(excerpts: Sequence[Excerpt]) -> str:
    """The answers as sent: one line each, "[conversation] text", within `MAX_CHARS`."""
    lines: list[str] = []
    used = 0
    for e in excerpts:
        line = f"[{e.conversation}] {' '.join(e.text.split())}"
        if used + len(line) > MAX_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    return "Answers:\n" + "\n".join(lines)

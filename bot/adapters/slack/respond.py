"""Replies to a slash command through its `response_url`, as outbox messages.

Why through the outbox: a `/strategy` command is stored before Slack gets its ack and
carried out afterwards (see `app.py`); its replies are written by the engine in the same
transaction as the command's effects, so a crash cannot lose them, and the outbox posts
them. Slack's `response_url` takes a reply visible to the person who typed the command
only, in the place they typed it, with no channel membership needed, for 30 minutes and
up to five times; that is the only way to answer a command typed in a channel the bot was
never invited to.

The address is `slack:respond:<response_url>`; only URLs on Slack's own hooks host (or the
configured Web API host, for tests and GovSlack) are ever posted to, since the URL came in
a request whose signature Bolt checked but is still data.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.base import DeliveryResult

logger = logging.getLogger(__name__)

RESPOND_PREFIX = "slack:respond:"
SLACK_HOOK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
# What Slack answers for a response_url that can no longer be used.
_GONE = frozenset({"expired_url", "used_url", "invalid_token", "no_service", "no_text"})


def respond_address(response_url: str) -> str:
    """The outbox address of a command's private replies."""
    return RESPOND_PREFIX + response_url


def response_url_of(address: str) -> str | None:
    """The response_url in a `slack:respond:` address, or None for any other address."""
    return address[len(RESPOND_PREFIX) :] if address.startswith(RESPOND_PREFIX) else None


def allowed(url: str, api_url: str) -> bool:
    """Whether replies may be posted to this URL: Slack's hooks host, or the API's host."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    if parts.hostname in SLACK_HOOK_HOSTS and parts.scheme == "https":
        return True
    return parts.hostname == urlsplit(api_url).hostname


async def post(url: str, payloads: list[dict[str, Any]]) -> DeliveryResult:
    """Post rendered payloads to a response_url, as ephemeral replies.

    Returns:
        `sent`; `retry` for a 429 (with Retry-After), a 5xx or a network error; `failed`
        when Slack says the URL is expired or used up (it never will work again).
    """
    client = AsyncWebhookClient(url, retry_handlers=[])  # the outbox decides on retries
    for payload in payloads:
        try:
            response = await client.send(
                text=payload.get("text"),
                blocks=payload.get("blocks"),
                response_type="ephemeral",
                replace_original=False,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return DeliveryResult.retry(type(exc).__name__)
        if response.status_code == 429:
            raw = response.headers.get("Retry-After") or response.headers.get("retry-after")
            try:
                wait = float(raw[0] if isinstance(raw, list) else raw) if raw else 1.0
            except ValueError:
                wait = 1.0
            return DeliveryResult.retry("ratelimited", retry_after=wait)
        if response.status_code >= 500:
            return DeliveryResult.retry(f"http_{response.status_code}")
        if response.status_code != 200:
            body = (response.body or "").strip()[:60]
            reason = body if body in _GONE else f"http_{response.status_code}"
            logger.info("slack: a command reply could not be posted: %s", reason)
            return DeliveryResult.failed(f"command reply: {reason}")
    return DeliveryResult.sent(None)

"""Requests to `POST /slack/events` checked before Bolt sees them: unsigned 401, malformed 400.

Why: Bolt parses a request's body (JSON, a form, a form's `payload=` JSON) while it builds
its request object, before it verifies the signature, and a body it cannot parse (bad JSON,
a JSON array, bytes that are not UTF-8, a `payload=` that is not JSON) or a timestamp
header that is not a number raises there: aiohttp answered 500 and logged a 1.8 KB
traceback for each, so anyone on the internet could fill the disk with cheap requests.

`SlackRequestCheck` looks at the raw request first, in this order, and refuses:

1. with 401 what is not signed by Slack: no timestamp or signature header, a timestamp
   that is not a number or is more than five minutes away, a signature that does not match
   (slack_sdk's `SignatureVerifier`, the same check Bolt makes);
2. with 400 what is signed but cannot be read the way Bolt will read it (the rules of
   `slack_bolt.request.internals.parse_body`): not UTF-8, JSON that is not an object, a
   `payload` field that is not a JSON object.

Each refusal is one log line without a traceback; a flood of the same refusal is one line
and then a counted line per interval (`bot.logs.Throttled`). Bolt still verifies every
request that passes (its own signature and timestamp check stays in place).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier

from bot.logs import Throttled

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
MAX_CLOCK_SKEW_SECONDS = 5 * 60  # Slack's own window, as SignatureVerifier applies it
_MAX_TIMESTAMP_DIGITS = 12


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused.

    Attributes:
        status: 401 (not signed by Slack) or 400 (signed, but unreadable).
        reason: a few words for the log (never the body).
    """

    status: int
    reason: str

    def response(self) -> web.Response:
        """The answer: the same body Bolt gives for a bad signature, or "malformed request"."""
        error = "invalid request" if self.status == 401 else "malformed request"
        return web.json_response({"error": error}, status=self.status)


class _Now(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class SlackRequestCheck:
    """Checks the signature, timestamp, encoding and shape of a request to /slack/events.

    Args:
        signing_secret: SLACK_SIGNING_SECRET.
        clock: seconds since the epoch (a fixed one in tests).
    """

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret
        self._clock = clock
        self._verifier = SignatureVerifier(signing_secret, clock=_Now(clock))
        self._log = Throttled(logger)

    def refusal(self, body: bytes, headers: Mapping[str, str]) -> Refusal | None:
        """Why this request must not reach Bolt, or None if it may."""
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            return Refusal(401, "no signature or timestamp header")
        digits = timestamp.isascii() and timestamp.isdigit()
        if not digits or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
            return Refusal(401, "the timestamp header is not a number")
        if abs(self._clock() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            return Refusal(401, "the timestamp is more than five minutes away")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            # SignatureVerifier takes text; Slack's HMAC is over bytes, so check those.
            return Refusal(
                400 if self._signed_bytes(body, timestamp, signature) else 401,
                "the body is not UTF-8",
            )
        if not self._verifier.is_valid(text, timestamp, signature):
            return Refusal(401, "the signature does not match")
        problem = _shape_problem(text, headers.get("Content-Type"))
        return Refusal(400, problem) if problem else None

    def refuse(self, request: web.Request, refusal: Refusal) -> web.Response:
        """Log the refusal in one line (throttled) and build the response."""
        self._log.warning(
            f"refused:{refusal.status}:{refusal.reason}",
            "slack: refused %s %s from %s with %d: %s",
            request.method,
            request.path,
            request.remote or "?",
            refusal.status,
            refusal.reason,
        )
        return refusal.response()

    def _signed_bytes(self, body: bytes, timestamp: str, signature: str) -> bool:
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret.encode(), base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


def _shape_problem(text: str, content_type: str | None) -> str | None:
    """What Bolt's `parse_body` would fail on (or be handed a non-object by), if anything."""
    if not text:
        return None
    kind = content_type.split(";")[0] if content_type else None
    if kind == "application/json" or text.startswith("{"):
        return _object_problem(text, "the JSON body")
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            return _object_problem(payload, "the payload field")
    return None


def _object_problem(raw: str, what: str) -> str | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return f"{what} is not JSON"
    if not isinstance(value, dict):
        return f"{what} is not a JSON object"
    return None

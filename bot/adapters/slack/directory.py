"""Slack as a people directory: user groups, channel members, email look-ups and profiles.

This is the `Directory` port (`bot.adapters.base`) over the Slack Web API, with the
adapter's client (so it goes to SLACK_API_URL, and to the fake Slack in tests). Why it
looks like this:

- **Four read methods, four scopes.** `usergroups.users.list` (`usergroups:read`, Tier 2:
  20+/min) lists a user group in one answer; `conversations.members` (`channels:read` for
  public, `groups:read` for private channels, Tier 4: 100+/min) is cursor-paginated:
  pages of `PAGE_SIZE` (Slack recommends at most 200), following
  `response_metadata.next_cursor` until it is empty; `users.lookupByEmail`
  (`users:read.email`, Tier 3: 50+/min) answers `users_not_found` for an unknown address;
  `users.info` (`users:read`, Tier 4) gives `tz`, the names, `deleted` and `is_bot`.
- **Members are ids only.** Neither listing says who is a bot or deactivated, so the
  refresh asks `profile` for each new or stale member and drops those that are not active
  humans. Slackbot (`USLACKBOT`) is reported as a bot although Slack says `is_bot: false`.
- **Bounded and polite.** At most `concurrency` calls are in flight at once. A 429 holds
  that method (per workspace) for its `Retry-After`, so the rest of a refresh fails fast
  instead of hammering a limited method; nothing here retries: the refresh keeps the last
  known membership and the next round's refresh tries again. The client has no retry
  handlers (see `make_client`).
- **Names.** A person's name is their full name (`real_name`), else their display name,
  else their handle: digests list people for a CIO, who knows full names better than
  handles.
- **Workspaces.** A source may name its workspace (`slack:T…/usergroup:S…`), as addresses
  do in a multi-workspace install; its members are then `slack:T…/U…` and the calls use
  that workspace's bot token. Email addresses are looked up in the SLACK_BOT_TOKEN
  workspace only (an address names no workspace), so without that token
  `resolves_email` is False.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.base import DirectoryError, Person
from bot.adapters.slack.adapter import PLATFORM, PREFIX, SlackAdapter, classify, split_address
from bot.encryption import UnreadableSecret

logger = logging.getLogger(__name__)

SOURCE = re.compile(r"^slack:(?:(?P<team>T[A-Z0-9]+)/)?(?P<kind>usergroup|channel):(?P<id>\w+)$")
SLACKBOT = "USLACKBOT"
DEFAULT_CONCURRENCY = 4
PAGE_SIZE = 200
MAX_PAGES = 50  # 10,000 channel members: nobody runs a strategy conversation with more
NAME_MAX = 80  # the width of `Member.display_name`

_NOT_FOUND = {
    "users.info": frozenset({"user_not_found"}),
    "users.lookupByEmail": frozenset({"users_not_found", "user_not_found"}),
}
_HINTS = {
    "channel_not_found": "no such channel, or a private channel the bot was not invited to",
    "no_such_subteam": "no such user group",
    "missing_scope": "the app lacks a scope; reinstall it with manifest.yml's scopes",
    "plan_upgrade_required": "user groups need a paid Slack plan",
}


class _NotFound(Exception):
    """The method answered that the user or address does not exist."""


class SlackDirectory:
    """Who is in a Slack user group or channel, and who a Slack user is.

    Args:
        adapter: the Slack adapter, whose clients (and workspace tokens) are used.
        concurrency: at most this many Web API calls at once.
        page_size: `limit` for `conversations.members`.
        clock: monotonic seconds, for rate-limit holds (a fake one in tests).
    """

    platform = PLATFORM

    def __init__(
        self,
        adapter: SlackAdapter,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1 or not 1 <= page_size <= 999:
            raise ValueError("concurrency must be positive and page_size between 1 and 999")
        self._adapter = adapter
        self._slots = asyncio.Semaphore(concurrency)
        self._page_size = page_size
        self._clock = clock
        self._held: dict[tuple[str | None, str], float] = {}  # (team, method) -> until

    @property
    def resolves_email(self) -> bool:
        """Whether a SLACK_BOT_TOKEN workspace is there to look addresses up in."""
        return bool(self._adapter.default_client.token)

    async def members(self, source: str) -> list[str]:
        """The identities in a `slack:usergroup:S…` or `slack:channel:C…` source.

        Raises:
            DirectoryError: not a Slack source, the group or channel is unknown (or private
                without the bot), or Slack could not answer.
        """
        match = SOURCE.match(source)
        if match is None:
            raise DirectoryError(f"{source!r} is not a Slack user group or channel")
        team, kind, ident = match["team"], match["kind"], match["id"]
        if kind == "usergroup":
            data = await self._call(team, "usergroups.users.list", usergroup=ident)
            users = data.get("users")
            if not isinstance(users, list):
                raise DirectoryError(f"usergroups.users.list for {ident} returned no users")
            return [self._identity(team, u) for u in users if isinstance(u, str)]
        members: list[str] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"channel": ident, "limit": self._page_size}
            if cursor:
                params["cursor"] = cursor
            data = await self._call(team, "conversations.members", **params)
            page = data.get("members")
            if not isinstance(page, list):
                raise DirectoryError(f"conversations.members for {ident} returned no members")
            members.extend(self._identity(team, m) for m in page if isinstance(m, str))
            metadata = data.get("response_metadata")
            cursor = str(metadata.get("next_cursor") or "") if isinstance(metadata, dict) else ""
            if not cursor:
                return members
        raise DirectoryError(f"channel {ident} has more than {MAX_PAGES * self._page_size} members")

    async def find_email(self, email: str) -> Person | None:
        """The workspace member with this address, or None (`users_not_found`).

        Raises:
            DirectoryError: Slack could not answer (or there is no SLACK_BOT_TOKEN).
        """
        if not self.resolves_email:
            raise DirectoryError("email addresses are looked up only with SLACK_BOT_TOKEN")
        try:
            data = await self._call(None, "users.lookupByEmail", email=email)
        except _NotFound:
            return None
        return self._person(None, data.get("user"))

    async def profile(self, identity: str) -> Person | None:
        """The Slack user behind `slack:U…` (or `slack:T…/U…`), or None (`user_not_found`).

        Raises:
            DirectoryError: not a Slack user identity, or Slack could not answer.
        """
        team, user = split_address(identity)
        if not user.startswith(("U", "W")):
            raise DirectoryError(f"{identity!r} is not a Slack user")
        try:
            data = await self._call(team, "users.info", user=user)
        except _NotFound:
            return None
        return self._person(team, data.get("user"))

    # -- helpers ----------------------------------------------------------------------

    async def _call(self, team: str | None, method: str, **params: Any) -> dict[str, Any]:
        """One Web API read, bounded, with 429 holds and errors as `DirectoryError`.

        Raises:
            _NotFound: the method said the user or address does not exist.
            DirectoryError: anything else that is not a success.
        """
        held = self._held.get((team, method), 0.0) - self._clock()
        if held > 0:
            raise DirectoryError(f"{method}: rate limited for {held:.0f}s more")
        client = await self._client(team, method)
        try:
            async with self._slots:
                response = await client.api_call(method, http_verb="GET", params=params)
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            code = str(data.get("error") or "") if isinstance(data, dict) else ""
            if code in _NOT_FOUND.get(method, ()):
                raise _NotFound(code) from None
            raise self._failure(team, method, exc, code) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._failure(team, method, exc, "") from None
        data = response.data
        if not isinstance(data, dict):
            raise DirectoryError(f"{method}: the answer was not JSON")
        return data

    async def _client(self, team: str | None, method: str) -> AsyncWebClient:
        if team is None and not self._adapter.default_client.token:
            raise DirectoryError(
                f"{method}: no SLACK_BOT_TOKEN; with the multi-workspace install a source"
                " names its workspace (slack:T…/usergroup:S…)"
            )
        try:
            client = await self._adapter.client_for(team)
        except SlackApiError as exc:  # refreshing a rotated token failed
            raise self._failure(team, method, exc, "token refresh failed") from None
        except UnreadableSecret as exc:  # the store has logged it, naming the workspace
            raise DirectoryError(f"{method}: {exc}") from None
        if client is None:
            raise DirectoryError(f"{method}: the app is not installed in workspace {team}")
        return client

    def _failure(self, team: str | None, method: str, exc: Exception, code: str) -> DirectoryError:
        result = classify(exc)
        if result.retry_after is not None:
            self._held[(team, method)] = self._clock() + result.retry_after
            return DirectoryError(f"{method}: ratelimited (retry after {result.retry_after:g}s)")
        reason = result.error or code or type(exc).__name__
        hint = _HINTS.get(code)
        return DirectoryError(f"{method}: {reason}" + (f" ({hint})" if hint else ""))

    @staticmethod
    def _identity(team: str | None, user_id: str) -> str:
        return f"{PREFIX}{team}/{user_id}" if team else PREFIX + user_id

    def _person(self, team: str | None, user: object) -> Person:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise DirectoryError("Slack answered without a user")
        raw = user.get("profile")
        profile: dict[str, Any] = raw if isinstance(raw, dict) else {}
        names = (
            profile.get("real_name"),
            user.get("real_name"),
            profile.get("display_name"),
            user.get("name"),
        )
        name = next((str(n).strip() for n in names if isinstance(n, str) and n.strip()), None)
        return Person(
            identity=self._identity(team, user["id"]),
            name=name[:NAME_MAX] if name else None,
            timezone=_zone(user.get("tz")),
            active=not user.get("deleted"),
            bot=bool(user.get("is_bot")) or user["id"] == SLACKBOT,
        )


def _zone(value: object) -> str | None:
    """An IANA zone name Python knows, else None (Slack's `tz` is IANA, but be sure)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        logger.info("slack: ignoring unknown time zone %r", value)
        return None
    return value


__all__ = ["SOURCE", "SlackDirectory"]

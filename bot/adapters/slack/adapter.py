"""Slack as a delivery target: the outbox worker's `send` over the Slack Web API.

Why it looks like this:

- **The outbox owns retries.** The `AsyncWebClient` is built with no retry handlers
  (slack_sdk's default retries connection errors once, and would retry 429s if asked), so
  one `send` is one attempt and its `DeliveryResult` tells the worker what happened: a
  429 becomes `retry` with Slack's `Retry-After` (the worker then holds that workspace's
  messages, since Slack's limits are per method and workspace), a 5xx or a dropped
  connection becomes a plain `retry` (counted, backed off), and an error that no retry
  can fix (the user left, the channel is archived, the token was revoked) becomes
  `failed`, which admins see in `/strategy status`.
- **Unknown error codes are retried**, not failed: the worker gives up after its counted
  attempts anyway, and a code we have not classified is more often Slack having a bad
  minute than a message that can never go.
- **Addresses.** `slack:U…`/`slack:W…` are people: the DM is opened with
  `conversations.open` once and its channel id kept in the database (`DmChannels`, read a
  whole workspace at a time), so a restart or a new replica opens no DM twice:
  `conversations.open` is Tier 3, about 50 a minute. (Slack's reference for
  `chat.postMessage` takes a channel, private group or IM channel id; posting to a user
  id was documented only for the retired workspace apps' `conversations.app_home:create`
  scope, so the bot does not rely on it.) The Bolt app also records the DM channel of
  every message it receives.
  `slack:C…`/`G…`/`D…` are channels, posted to as is.
  With the multi-workspace (OAuth) install an address names its workspace too,
  `slack:T…/U…` or `slack:T…/C…`, and is sent with that workspace's bot token from the
  installation store (see `install.py`); no installation means `failed("app_uninstalled")`
  without calling Slack, and a stored token that no key of SECRETS_KEYS decrypts means
  `failed("token_unreadable")`. A plain `slack:U…` still means the SLACK_BOT_TOKEN workspace.
- **One HTTP session.** Every client (the SLACK_BOT_TOKEN one and one per workspace token)
  shares one aiohttp session opened at `start`, so calls reuse connections (and TLS)
  instead of opening one each.
- **A 429 holds its workspace and method** (`hold_scope`: `slack:T…/|chat.postMessage`),
  in the database, so other workspaces keep going and every replica waits. A 429 of
  `conversations.open` holds that method only (`held_methods`): while it lasts, a message
  to someone whose DM is not open yet is answered `retry` without calling Slack, and the
  messages to DMs already open and to channels go on (`bot.delivery.holds`).
- **Charts** are `data_visualization` blocks. A Slack that answers `invalid_blocks` to a
  message holding one (a workspace or Slack deployment without the block yet) gets the
  same message once more without it: the chart's title and its figures in words stay.
- **Long messages** come from `render_message` as several payloads: the first is posted,
  the rest go in its thread. Progress is remembered per idempotency key, so a retry after
  a 429 on part three does not post parts one and two again within this process.
- **A redelivery looks before it posts.** `chat.postMessage` takes no idempotency key, so
  every part is posted with message metadata naming the outbox key and the part
  (`{"event_type": "strategy_bot_outbox", "event_payload": {"key": …, "part": n}}`). When
  the worker says a row may already have been posted (`redelivery`: a crash or a lost
  result between posting and recording, or an attempt that timed out, lost its connection
  or got a 5xx), the adapter reads the channel first: `conversations.history` with
  `include_all_metadata`, newest first, from ten minutes before the row was written (the
  two clocks may differ), at most two pages of 100 messages; if the first part is there,
  its ts is the result and the thread (`conversations.replies`) says which later parts are
  there too; only the missing parts are posted. This needs the history scope of the
  conversation: `im:history` for DMs, `channels:history` / `groups:history` for public /
  private channels (all in manifest.yml). Where Slack refuses to show the history
  (`missing_scope` on an app installed before those scopes, `not_in_channel`), the message
  is posted without looking and the log says so: at least once there. A message older than
  the window, or pushed out of it by 200 newer ones, is posted again too. When the history
  cannot be read for a transient reason (a 429, a 5xx, no connection), nothing is posted:
  the attempt is a `retry`.
- **Files** (`export`) go into the person's DM with `files_upload_v2`: slack_sdk asks
  `files.getUploadURLExternal` for an upload URL, POSTs the bytes there and shares the
  file with `files.completeUploadExternal` (`channel_id` = the DM, `initial_comment` = what
  the file holds). That needs the `files:write` scope (manifest.yml); an app installed
  before it gets `missing_scope`, and the person is told in their DM that an admin must
  reinstall the app. The file is built when it is sent (`FileReply`); slack_sdk takes the
  bytes whole, so an upload holds the file in memory once. A shared file carries no
  message metadata, so a redelivery looks for a file of the same name in the DM's recent
  history (each export's name is unique, `bot.flows.export_chat.filename`) before
  uploading again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.adapters.base import DeliveryResult, ExportFiles
from bot.adapters.slack import respond
from bot.adapters.slack.mrkdwn import escape
from bot.adapters.slack.render import (
    has_charts,
    merge_payloads,
    render_message,
    without_charts,
)
from bot.encryption import UnreadableSecret
from bot.flows.outbound import FileReply, OutboundMessage
from bot.logs import Throttled


class WorkspaceTokens(Protocol):
    """Bot tokens per workspace, for a multi-workspace install (`install.WorkspaceTokens`).

    A protocol rather than an import: `install.py` builds on this module, not the reverse.
    """

    async def bot_token(self, team_id: str) -> str | None:
        """The workspace's current bot token (refreshed if it rotates), or None."""
        ...


logger = logging.getLogger(__name__)

PLATFORM = "slack"
PREFIX = "slack:"
DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 carries no usable Retry-After
_MAX_REMEMBERED = 10_000
# Message metadata naming the outbox row of every posted part (see the module docstring).
METADATA_EVENT_TYPE = "strategy_bot_outbox"
HISTORY_PAGE_SIZE = 100
HISTORY_PAGES = 2
HISTORY_CLOCK_SKEW = timedelta(minutes=10)
REPLIES_PAGE_SIZE = 200
# Codes with which Slack refuses to show a conversation's history to this token: the
# redelivery check is skipped and the message posted (a post failing too says why).
HISTORY_UNREADABLE = frozenset(
    {
        "missing_scope",
        "not_in_channel",
        "channel_not_found",
        "not_allowed_token_type",
        "no_permission",
        "access_denied",
        "restricted_action",
        "ekm_access_denied",
    }
)

# Error codes that no retry fixes. `invalid_auth`, `token_revoked`, `account_inactive`
# and `not_authed` mean the bot's token no longer works in this workspace: retrying
# every message against it for minutes helps nobody, and admins must fix the token.
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "is_archived",
        "channel_not_found",
        "not_in_channel",
        "cannot_dm_bot",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "restricted_action",
        "ekm_access_denied",
        "msg_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "no_text",
        "too_many_attachments",
    }
)
_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
UNINSTALLED = "app_uninstalled"
# The workspace's stored token is encrypted with a key not in SECRETS_KEYS (`install.py`).
TOKEN_UNREADABLE = "token_unreadable"  # noqa: S105 - an error code, not a secret

# The workspace and token-bearing client of the Slack request being handled (OAuth mode
# only; set by a Bolt middleware, see `install.register_install_listeners`). Each request
# runs in its own task, and background tasks copy the context they were started in.
_REQUEST_TEAM: ContextVar[str | None] = ContextVar("slack_request_team", default=None)
_REQUEST_CLIENT: ContextVar[AsyncWebClient | None] = ContextVar(
    "slack_request_client", default=None
)


def make_client(*, token: str | None, base_url: str) -> AsyncWebClient:
    """The Web API client the adapter and the Bolt app share.

    Args:
        token: the bot token (`xoxb-…`); None for OAuth calls and per-workspace clients.
        base_url: the Web API root; a missing trailing "/" is added (slack_sdk joins
            method names onto it).

    Returns:
        A client with no retry handlers: the outbox decides when to try again.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=[])


def bind_request(team_id: str | None, client: AsyncWebClient | None) -> None:
    """Record the workspace and client of the Slack request being handled (OAuth mode)."""
    _REQUEST_TEAM.set(team_id)
    _REQUEST_CLIENT.set(client)


def user_address(user_id: str) -> str:
    """The engine identity and DM address of a Slack user (or the address of a channel).

    `slack:U…`; in a multi-workspace install, while handling a request from workspace T…,
    `slack:T…/U…` (see `bind_request`).
    """
    team = _REQUEST_TEAM.get()
    return f"{PREFIX}{team}/{user_id}" if team else PREFIX + user_id


def split_address(address: str) -> tuple[str | None, str]:
    """`slack:T…/U…` -> (`T…`, `U…`); `slack:U…` -> (None, `U…`); not Slack -> (None, "")."""
    if not address.startswith(PREFIX):
        return None, ""
    team, _, target = address[len(PREFIX) :].rpartition("/")
    return team or None, target


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value[0] if isinstance(value, list | tuple) and value else value)
    return None


def classify(exc: Exception) -> DeliveryResult:
    """Map a failed Web API call to a delivery result (see the module docstring).

    Args:
        exc: what the call raised.

    Returns:
        `retry` (with `retry_after` for a 429) or `failed` with Slack's error code.
    """
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        code = str(data.get("error") or "") if isinstance(data, dict) else ""
        if status == 429 or code == "ratelimited":
            raw = _header(getattr(response, "headers", None), "Retry-After")
            try:
                retry_after = float(raw) if raw is not None else DEFAULT_RETRY_AFTER
            except ValueError:
                retry_after = DEFAULT_RETRY_AFTER
            return DeliveryResult.retry("ratelimited", retry_after=max(0.0, retry_after))
        if status >= 500:
            return DeliveryResult.retry(f"http_{status}" + (f": {code}" if code else ""))
        if code in PERMANENT_ERRORS:
            if code in _TOKEN_ERRORS:
                logger.error("slack: the bot token is not accepted (%s); fix SLACK_BOT_TOKEN", code)
            return DeliveryResult.failed(code)
        return DeliveryResult.retry(code or f"http_{status}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryResult.retry(type(exc).__name__)
    raise exc


def _method_of(exc: Exception) -> str:
    """The Web API method a failed call was made to (`chat.postMessage`), if known."""
    url = str(getattr(getattr(exc, "response", None), "api_url", "") or "")
    return url.rstrip("/").rsplit("/", 1)[-1] or "unknown"


def _error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _part_of(item: Mapping[str, Any], key: str) -> int | None:
    """Which part of the outbox message `key` a message from the history is, if any."""
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    if not isinstance(payload, Mapping) or payload.get("key") != key:
        return None
    part = payload.get("part", 0)
    return part if isinstance(part, int) and part >= 0 else None


def _next_cursor(data: Any) -> str | None:
    if not isinstance(data, Mapping) or not data.get("has_more"):
        return None
    meta = data.get("response_metadata")
    cursor = meta.get("next_cursor") if isinstance(meta, Mapping) else None
    return str(cursor) if cursor else None


@dataclass
class _Progress:
    """How far a multi-part message got: its channel, first ts and parts posted."""

    channel: str
    parts_done: int = 0
    first_ts: str | None = None
    timestamps: list[str] = field(default_factory=list)


class DmChannels(Protocol):
    """Where DM channel ids are kept across restarts (`storage.dm_channels`); blocking."""

    def team_channels(self, team: str | None) -> dict[str, str]:
        """Every known DM channel of a workspace: user id -> channel id."""

    def save(self, team: str | None, user: str, channel: str) -> None:
        """Keep a user's DM channel."""


_MAX_CLIENTS = 1000  # workspace clients kept (one per bot token)
OPEN_DM = "conversations.open"


class MethodHeld(Exception):
    """A call this send needs is rate-limited for a while yet: not made, retried later."""

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"{method} held for {seconds:.1f} s")
        self.method, self.seconds = method, seconds


class SlackAdapter:
    """The Slack platform as the outbox worker sees it (the `Adapter` protocol).

    Args:
        client: the Web API client (see `make_client`), with SLACK_BOT_TOKEN if set.
        workspaces: per-workspace bot tokens (multi-workspace install), or None.
        dm_channels: where DM channel ids are kept; None keeps them in memory only.
        files: where an export's file is built when it is sent (the core); None fails
            files.
    """

    platform = PLATFORM
    # The method whose 429s say how fast the workspace takes messages: the outbox paces
    # its calls to what it took (a 429 of `conversations.open` says nothing about that),
    # and `send` awaits the outbox's `pace` before each one.
    paced_method = "chat.postMessage"
    # Methods whose 429s hold that method only: `send` is told how long each is held
    # (`held`) and keeps back the messages that need it, so the rest go on.
    held_methods = frozenset({OPEN_DM})

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        workspaces: WorkspaceTokens | None = None,
        dm_channels: DmChannels | None = None,
        files: ExportFiles | None = None,
    ) -> None:
        self.default_client = client
        self.files = files
        self.workspaces = workspaces
        self.dm_store = dm_channels
        self._uninstalled = False  # the SLACK_BOT_TOKEN workspace uninstalled the app
        self._dm_channels: dict[tuple[str | None, str], str] = {}  # (team, user) -> DM channel
        self._loaded_teams: set[str | None] = set()  # workspaces read from `dm_store`
        self._saving: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._clients: OrderedDict[str, AsyncWebClient] = OrderedDict()  # token -> client
        self.conversations_opened = 0  # `conversations.open` calls made (bench, tests)
        self._progress: OrderedDict[str, _Progress] = OrderedDict()
        self._log = Throttled(logger)

    @property
    def client(self) -> AsyncWebClient:
        """The client for the current Slack request's workspace, else the default client."""
        return _REQUEST_CLIENT.get() or self.default_client

    def mark_uninstalled(self) -> None:
        """The SLACK_BOT_TOKEN workspace uninstalled the app: fail its messages from now on."""
        self._uninstalled = True

    # -- Adapter protocol ---------------------------------------------------------------

    async def start(self) -> None:
        """Open the HTTP session every client shares (connections are kept and reused)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.default_client.timeout)
            )
        if self.default_client.session is None or self.default_client.session.closed:
            self.default_client.session = self._session

    async def stop(self) -> None:
        """Close the shared session, after the DM channels being written."""
        if self._saving:
            await asyncio.gather(*self._saving, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def hold_scope(self, address: str) -> str:
        """What a 429 for this address holds back: its workspace (an address prefix)."""
        team, _ = split_address(address)
        return f"{PREFIX}{team}/" if team else PREFIX

    async def send(
        self,
        *,
        address: str,
        message: OutboundMessage,
        idempotency_key: str,
        redelivery: bool = False,
        enqueued_at: datetime | None = None,
        pace: Callable[[], Awaitable[None]] | None = None,
        held: Mapping[str, float] | None = None,
    ) -> DeliveryResult:
        """Post one outbox message to a user's DM or a channel.

        Args:
            address: `slack:U…` (a person) or `slack:C…` (a channel), with the workspace
                (`slack:T…/U…`) in a multi-workspace install.
            message: what to post; rendered with `render_message`.
            idempotency_key: the outbox key, posted as message metadata; parts already
                posted under it (in this process, or found in the channel) are skipped.
            redelivery: an earlier attempt may have posted it: look in the channel first.
            enqueued_at: when the outbox row was written (where the look starts).
            pace: the outbox's slot for one `chat.postMessage`, awaited before each (each
                part of a long message, after the DM is opened), so the workspace's pace
                counts posts, not messages.
            held: seconds each of `held_methods` is still rate-limited for this address:
                a message whose DM must be opened meanwhile is a `retry` for that long.

        Returns:
            `sent` with the first message's ts, `retry` or `failed` (see `classify`);
            `failed("app_uninstalled")` when the app is not installed in that workspace.
        """
        if isinstance(message, FileReply):
            return await self._send_file(address, message, redelivery, enqueued_at, held)
        try:
            payloads = render_message(message)
        except TypeError:
            return DeliveryResult.failed(f"{message.kind} cannot be posted as a message")
        response_url = respond.response_url_of(address)
        if response_url is not None:  # a slash command's private reply (`respond.py`)
            if not respond.allowed(response_url, self.default_client.base_url):
                return DeliveryResult.failed("command reply: not a Slack response_url")
            return await respond.post(response_url, merge_payloads(payloads))
        team, target = split_address(address)
        if not target:
            return DeliveryResult.failed(f"not a slack address: {address[:60]!r}")
        if team is None and not self.default_client.token:
            return DeliveryResult.failed("no workspace in the address (slack:T…/U…)")
        try:
            client = await self._client_for(team)
            if client is None:
                logger.info("slack: not delivering to %s: %s", address, UNINSTALLED)
                return DeliveryResult.failed(UNINSTALLED)
            progress = self._progress.get(idempotency_key)
            if progress is None:
                channel = await self.channel_for(target, client, team, held=held)
                progress = _Progress(channel=channel)
            if redelivery:
                progress = await self._find_posted(
                    progress, len(payloads), idempotency_key, client, enqueued_at
                )
            ts = await self._post_parts(progress, payloads, idempotency_key, client, pace)
        except UnreadableSecret:  # the store has logged which workspace and why
            return DeliveryResult.failed(TOKEN_UNREADABLE)
        except Exception as exc:
            result = self._failure(exc, address)
            logger.info(
                "slack: delivery to %s %s (%s)", address, result.status, result.error or "-"
            )
            return result
        return DeliveryResult.sent(ts)

    def _failure(self, exc: Exception, address: str) -> DeliveryResult:
        """What a failed call means; a 429 holds its workspace and method."""
        if isinstance(exc, MethodHeld):
            return DeliveryResult.waiting(f"{exc.method} rate-limited", exc.seconds)
        result = classify(exc)
        if result.retry_after is not None:  # Slack limits per method and workspace
            method = _method_of(exc)
            result = replace(result, hold_scope=f"{self.hold_scope(address)}|{method}")
        return result

    async def _send_file(
        self,
        address: str,
        reply: FileReply,
        redelivery: bool,
        enqueued_at: datetime | None,
        held: Mapping[str, float] | None = None,
    ) -> DeliveryResult:
        """Upload an export's file into the person's DM (see the module docstring)."""
        team, target = split_address(address)
        if respond.response_url_of(address) is not None or not target.startswith(("U", "W")):
            return DeliveryResult.failed("a file goes to a person's DM only")
        if self.files is None:
            return DeliveryResult.failed("files cannot be built here")
        if team is None and not self.default_client.token:
            return DeliveryResult.failed("no workspace in the address (slack:T…/U…)")
        client: AsyncWebClient | None = None
        channel: str | None = None
        try:
            client = await self._client_for(team)
            if client is None:
                return DeliveryResult.failed(UNINSTALLED)
            channel = await self.channel_for(target, client, team, held=held)
            if redelivery:
                found = await self._find_file(channel, reply.filename, client, enqueued_at)
                if found is not None:
                    return DeliveryResult.sent(found)
            built = await self.files.build_file(reply)
            try:
                response = await client.files_upload_v2(
                    channel=channel,
                    file=built.read(),
                    filename=reply.filename,
                    title=reply.title,
                    initial_comment="\n".join(
                        [f"*{escape(reply.title)}*", *(escape(line) for line in reply.lines)]
                    ),
                )
            finally:
                built.close()
        except SlackRequestError as exc:  # the upload URL refused the bytes
            logger.info("slack: upload to %s failed (%s)", address, exc)
            return DeliveryResult.retry("file upload failed")
        except Exception as exc:
            result = self._failure(exc, address)
            if result.error == "missing_scope" and client is not None and channel:
                await self._say_no_file_scope(client, channel)
            logger.info("slack: file to %s %s (%s)", address, result.status, result.error or "-")
            return result
        await self.files.file_handed_out(reply, built, "slack upload")
        file = response.get("file") or {}
        return DeliveryResult.sent(str(file.get("id") or "") or None)

    async def _say_no_file_scope(self, client: AsyncWebClient, channel: str) -> None:
        """Tell the person why no file came: the app was installed without `files:write`."""
        try:
            await client.chat_postMessage(channel=channel, text=messages.EXPORT_SLACK_NO_SCOPE)
        except Exception:  # the failure itself is in `status` already
            logger.info("slack: could not say why the file was not sent to %s", channel)

    async def _find_file(
        self, channel: str, name: str, client: AsyncWebClient, since: datetime | None
    ) -> str | None:
        """The id of a file of this name shared in the channel's recent history, if any.

        Raises:
            SlackApiError: the history could not be read for a reason worth a retry.
        """
        oldest = None
        if since is not None:
            oldest = f"{(since - HISTORY_CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                response = await client.conversations_history(
                    channel=channel, oldest=oldest, limit=HISTORY_PAGE_SIZE, cursor=cursor
                )
                for item in response.get("messages") or []:
                    for file in item.get("files") or []:
                        if isinstance(file, Mapping) and file.get("name") == name:
                            logger.info("slack: %s is already in %s", name, channel)
                            return str(file.get("id") or "") or None
                cursor = _next_cursor(response.data)
                if not cursor:
                    return None
        except SlackApiError as exc:
            if _error_code(exc) not in HISTORY_UNREADABLE:
                raise
            logger.info("slack: cannot read %s's history; uploading %s again", channel, name)
        return None

    async def _find_posted(
        self,
        progress: _Progress,
        parts: int,
        key: str,
        client: AsyncWebClient,
        since: datetime | None,
    ) -> _Progress:
        """How far an earlier attempt got, read from the channel (see the module docstring).

        Returns:
            `progress` advanced past the parts found in the channel; unchanged when
            nothing is there, or when Slack does not show this token the history.

        Raises:
            SlackApiError: the history could not be read for a reason worth a retry.
        """
        found = replace(progress, timestamps=list(progress.timestamps))
        try:
            if found.first_ts is None:
                first = await self._find_first(found.channel, key, client, since)
                if first is None:
                    return progress
                found.first_ts, found.parts_done, found.timestamps = first, 1, [first]
            if found.parts_done < parts:
                replies = await self._find_replies(found.channel, found.first_ts, key, client)
                while found.parts_done in replies:
                    found.timestamps.append(replies[found.parts_done])
                    found.parts_done += 1
        except SlackApiError as exc:
            code = _error_code(exc)
            if code not in HISTORY_UNREADABLE:
                raise
            self._log.warning(
                f"history:{code}",
                "slack: cannot read the history of %s (%s), so a redelivered message is "
                "posted without checking whether it is already there",
                found.channel,
                code,
            )
            return progress
        logger.info(
            "slack: outbox key %s is already in %s as %s (%d of %d part(s) found): "
            "not posting those again",
            key,
            found.channel,
            found.first_ts,
            found.parts_done,
            parts,
        )
        return found

    async def _find_first(
        self, channel: str, key: str, client: AsyncWebClient, since: datetime | None
    ) -> str | None:
        """The ts of the first part posted under `key` in the channel's recent history."""
        oldest = None
        if since is not None:
            oldest = f"{(since - HISTORY_CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            response = await client.conversations_history(
                channel=channel,
                include_all_metadata=True,
                oldest=oldest,
                limit=HISTORY_PAGE_SIZE,
                cursor=cursor,
            )
            for item in response.get("messages") or []:
                if _part_of(item, key) == 0:
                    return str(item["ts"])
            cursor = _next_cursor(response.data)
            if not cursor:
                return None
        logger.warning(
            "slack: outbox key %s is not among the %d newest messages of %s; posting it "
            "(it may already be there, further back)",
            key,
            HISTORY_PAGES * HISTORY_PAGE_SIZE,
            channel,
        )
        return None

    async def _find_replies(
        self, channel: str, first_ts: str, key: str, client: AsyncWebClient
    ) -> dict[int, str]:
        """The later parts posted under `key` in the first part's thread: part -> ts."""
        found: dict[int, str] = {}
        cursor: str | None = None
        while True:
            response = await client.conversations_replies(
                channel=channel,
                ts=first_ts,
                include_all_metadata=True,
                limit=REPLIES_PAGE_SIZE,
                cursor=cursor,
            )
            for item in response.get("messages") or []:
                part = _part_of(item, key)
                if part is not None and part > 0:
                    found.setdefault(part, str(item["ts"]))
            cursor = _next_cursor(response.data)
            if not cursor:
                return found

    # -- Helpers the Bolt app shares -----------------------------------------------------

    def remember_dm(self, user_id: str, channel_id: str) -> None:
        """Record the DM channel of a user (seen on an incoming message)."""
        if user_id and channel_id.startswith("D"):
            team = _REQUEST_TEAM.get()
            if self._dm_channels.get((team, user_id)) != channel_id:
                self._dm_channels[(team, user_id)] = channel_id
                self._save_dm(team, user_id, channel_id)

    def _save_dm(self, team: str | None, user: str, channel: str) -> None:
        """Write a DM channel to the store in the background (it is cached already)."""
        store = self.dm_store
        if store is None:
            return

        async def save() -> None:
            try:
                await asyncio.to_thread(store.save, team, user, channel)
            except Exception:  # opened again after a restart, at worst
                self._log.exception("dm-save", "slack: could not keep a DM channel id")

        task = asyncio.get_running_loop().create_task(save())
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def client_for(self, team: str | None) -> AsyncWebClient | None:
        """The client for a workspace (None: the default), or None if the app is not there.

        The directory (`directory.py`) reads with the same tokens the outbox sends with.

        Raises:
            SlackApiError: refreshing a rotated token failed.
        """
        return await self._client_for(team)

    async def _client_for(self, team: str | None) -> AsyncWebClient | None:
        """The client with the right bot token for a workspace; None if not installed there.

        Raises:
            SlackApiError: refreshing a rotated token failed.
        """
        if team is None or self.workspaces is None:
            return None if self._uninstalled else self.default_client
        token = await self.workspaces.bot_token(team)
        if token is None:
            return None
        client = self._clients.get(token)
        if client is None:  # one client per token, all on the shared session
            client = make_client(token=token, base_url=self.default_client.base_url)
            client.session = self._session
            self._clients[token] = client
            while len(self._clients) > _MAX_CLIENTS:
                self._clients.popitem(last=False)
        self._clients.move_to_end(token)
        return client

    async def channel_for(
        self,
        target: str,
        client: AsyncWebClient | None = None,
        team: str | None = None,
        *,
        held: Mapping[str, float] | None = None,
    ) -> str:
        """The channel to post to for a user or channel id (opens and caches a DM).

        Args:
            target: a user (`U…`/`W…`) or channel id.
            client: the workspace's client (default: `self.client`).
            team: the workspace, in a multi-workspace install.
            held: seconds each method is still rate-limited (see `send`).

        Raises:
            SlackApiError: `conversations.open` failed.
            MethodHeld: the DM must be opened, and `conversations.open` is held.
        """
        if not target.startswith(("U", "W")):
            return target
        known = self._dm_channels.get((team, target))
        if known is None and team not in self._loaded_teams and self.dm_store is not None:
            stored = await asyncio.to_thread(self.dm_store.team_channels, team)
            for user, channel_id in stored.items():
                self._dm_channels.setdefault((team, user), channel_id)
            self._loaded_teams.add(team)
            known = self._dm_channels.get((team, target))
        if known is not None:
            return known
        if held and held.get(OPEN_DM, 0.0) > 0:
            raise MethodHeld(OPEN_DM, held[OPEN_DM])
        response = await (client or self.client).conversations_open(users=target)
        self.conversations_opened += 1
        channel = str(response["channel"]["id"])
        self._dm_channels[(team, target)] = channel
        self._save_dm(team, target, channel)
        return channel

    async def post(self, channel: str, payloads: list[dict[str, Any]]) -> str | None:
        """Post rendered payloads now (the first, then the rest in its thread).

        Returns:
            The ts of the first message.

        Raises:
            SlackApiError: a post failed (parts before it stay posted).
        """
        return await self._post_parts(_Progress(channel=channel), payloads, None)

    async def _post_parts(
        self,
        progress: _Progress,
        payloads: list[dict[str, Any]],
        key: str | None,
        client: AsyncWebClient | None = None,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> str | None:
        client = client or self.client
        try:
            for index in range(progress.parts_done, len(payloads)):
                payload = dict(payloads[index])
                if index > 0 and progress.first_ts is not None:
                    payload["thread_ts"] = progress.first_ts
                if key is not None:
                    payload["metadata"] = {
                        "event_type": METADATA_EVENT_TYPE,
                        "event_payload": {"key": key, "part": index},
                    }
                if pace is not None:
                    await pace()
                try:
                    response = await client.chat_postMessage(
                        channel=progress.channel, unfurl_links=False, unfurl_media=False, **payload
                    )
                except SlackApiError as exc:
                    if _error_code(exc) != "invalid_blocks" or not has_charts(payload):
                        raise
                    self._log.warning(
                        "charts:invalid_blocks",
                        "slack: %s rejected a chart block (invalid_blocks): posting the chart's"
                        " figures in words instead",
                        progress.channel,
                    )
                    if pace is not None:
                        await pace()
                    response = await client.chat_postMessage(
                        channel=progress.channel,
                        unfurl_links=False,
                        unfurl_media=False,
                        **without_charts(payload),
                    )
                ts = str(response.get("ts") or "")
                if index == 0:
                    progress.first_ts = ts
                progress.timestamps.append(ts)
                progress.parts_done = index + 1
        except Exception:
            if key is not None and progress.parts_done:
                self._progress[key] = progress
                self._progress.move_to_end(key)
                while len(self._progress) > _MAX_REMEMBERED:
                    self._progress.popitem(last=False)
            raise
        if key is not None:
            self._progress.pop(key, None)
        return progress.first_ts

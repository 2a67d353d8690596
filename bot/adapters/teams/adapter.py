"""Teams as a delivery target: the outbox worker's `send`, as proactive Bot Framework messages.

Why it looks like this:

- **Only where installed.** A bot can post in Teams only into a conversation it was
  installed in, through the `ConversationReference` it saw there (`bot.py` stores one per
  person and channel in `teams_references`). An address with no stored reference is a
  permanent `failed` with `NOT_INSTALLED`, so admins see the person as unreachable in
  `status` instead of the prompt vanishing (opsdroid only logs "Unable to send a message
  until someone has spoken to the bot first").
- **Gone is remembered.** A 403 (bot blocked by the user, disabled by an admin, removed)
  or 404 (conversation not found) means every later message to that chat would be refused
  too, so the reference is marked unreachable with the connector's reason: the following
  messages fail at once, without calling Teams, and `status` says why and since when. Any
  activity from that conversation (reinstalling the app, which sends `installationUpdate`
  or `conversationUpdate`, or a message) stores the reference again and delivery resumes.
  Removing the app (`installationUpdate` "remove") marks it the same way.
- **Proactive, never a reply.** `continue_conversation` builds a continuation activity with
  a random id, and botbuilder would turn every send into "reply to that id". The callback
  clears it, so messages go to `POST /v3/conversations/{id}/activities`: a new message in a
  personal chat, a new post in a channel.
- **The outbox owns retries.** One `send` is one attempt and `classify` reads the Bot
  Connector's answer: 429 is `retry` with its `Retry-After`, 5xx and dropped connections are
  plain `retry`, and what no retry fixes (403 bot blocked or removed, 404 conversation not
  found, 400 bad payload, 401 credentials) is `failed` with the connector's error code.
- **Long messages** are several cards (`render_activity_attachments`): one activity per
  card, in order. Progress is kept per idempotency key, so a retry after a 429 on part
  three does not post parts one and two again (within this process).
- **One connector client per service URL.** botbuilder builds a new `ConnectorClient`
  (and with it a new HTTP session, so a new connection and TLS handshake) for every
  proactive message; `SharedConnectors` keeps one per (service URL, audience, app) and
  hands it out again, so a fan-out reuses its connections. The client's credentials
  fetch and renew their own token.
- **Files** (`export`) are offered with a file consent card in the person's chat
  (`files.py`): the file is built once to tell its size, and built again, uploaded to
  their OneDrive, when they accept (`bot.TeamsBot`). Only a personal chat takes one.
- **At least once across a crash.** The Bot Connector has no idempotency key and no way
  to list a conversation's activities, so a row the outbox redelivers (a crash or a lost
  result between posting and recording, or an attempt that timed out or got a 5xx after
  Teams may have taken it) is posted again: at most the rows in flight per crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot import messages
from bot.adapters.base import DeliveryResult, ExportFiles, ReferenceBook
from bot.adapters.teams.cards import attachment, render_activity_attachments
from bot.adapters.teams.files import consent_attachment
from bot.flows.outbound import FileReply, OutboundMessage

logger = logging.getLogger(__name__)

PLATFORM = "teams"
PREFIX = "teams:"
NOT_INSTALLED = "not installed: this person or channel has not added the bot in Teams"
DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 carries no usable Retry-After
_MAX_REMEMBERED = 10_000
# HTTP statuses of the Bot Connector that no retry fixes.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413})
# Of those, the ones that say the conversation itself refuses the bot (blocked, disabled,
# removed, deleted), so every later message to it would fail the same way. 401 is not one:
# it is our credentials, the same for every conversation.
GONE_STATUSES = frozenset({403, 404})


def person_address(account: ChannelAccount | None) -> str | None:
    """The engine identity (and delivery address) of a Teams user.

    Args:
        account: the activity's `from` (or a member of `membersAdded`).

    Returns:
        `teams:<AAD object id>` when Teams gives one (it is stable across tenants' bots and
        what an admin finds in Entra ID), else `teams:<Teams user id>`; None without an id.
    """
    if account is None:
        return None
    ident = account.aad_object_id or account.id
    return PREFIX + ident if ident else None


def channel_address(conversation_id: str) -> str:
    """The address of a Teams channel or group chat, from any conversation id in it.

    Args:
        conversation_id: `19:…@thread.tacv2`, possibly with `;messageid=…` (a thread).

    Returns:
        `teams:<conversation id without the thread suffix>`.
    """
    return PREFIX + conversation_id.split(";", 1)[0]


@dataclass(frozen=True)
class Lookup:
    """Where to post for an address, or why nothing can be posted there.

    Exactly one of the two is set.
    """

    reference: ConversationReference | None = None
    problem: str | None = None


class ReferenceStore:
    """Teams' conversation references, over the bot's store of them.

    The rows are kept by the core's reference store (given by the wiring, typed here by
    `bot.adapters.base.ReferenceBook`); this turns botbuilder's `ConversationReference`
    into JSON and back, and words why an address cannot be reached. Synchronous: call
    through `asyncio.to_thread`.

    Args:
        book: where the references are stored.
    """

    def __init__(self, book: ReferenceBook) -> None:
        self.book = book

    def save(
        self,
        address: str,
        kind: str,
        reference: ConversationReference,
        on_install: Callable[[Any], None] | None = None,
    ) -> bool:
        """Insert or refresh the reference of an address and mark it usable.

        Args:
            address: the engine address (`teams:…`).
            kind: `personal`, `channel` or `groupChat`.
            reference: the reference seen on the latest activity.
            on_install: what must commit with a new install (the welcome), from the core.

        Returns:
            True when the address was unknown or unreachable before (a new install).
        """
        data: dict[str, Any] = reference.serialize()
        data.pop("activityId", None)  # proactive messages start new messages, not replies
        return self.book.save(address, kind, data, on_install)

    def uninstall(self, address: str) -> None:
        """Mark an address as no longer reachable (the bot was removed)."""
        self.mark_unreachable(address, messages.REMOVED_IN_TEAMS)

    def mark_unreachable(self, address: str, reason: str) -> None:
        """Stop delivering to an address until the bot is added there again.

        Args:
            address: the engine address.
            reason: why (the connector's error code and status, or the removal).
        """
        self.book.mark_unreachable(address, reason)

    def lookup(self, address: str) -> Lookup:
        """The reference to post to `address`, or why there is none.

        Returns:
            The reference, or the problem as admins read it in `status`: `NOT_INSTALLED`
            when the bot never saw that conversation, else `messages.chat_unreachable`.
        """
        found = self.book.lookup(address)
        if found.reference is None:
            return Lookup(problem=NOT_INSTALLED)
        if not found.installed:
            cause = found.reason or messages.REMOVED_IN_TEAMS
            since = found.since or datetime.now(UTC)
            return Lookup(problem=messages.chat_unreachable(cause, since))
        reference: ConversationReference = ConversationReference.deserialize(found.reference)
        return Lookup(reference=reference)


def _status_and_code(exc: HttpOperationError) -> tuple[int, str]:
    response = getattr(exc, "response", None)
    status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0) or 0)
    code = ""
    error = getattr(getattr(exc, "error", None), "error", None)
    if error is not None and getattr(error, "code", None):
        code = str(error.code)
    return status, code


def _retry_after(exc: HttpOperationError) -> float:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def gone(exc: Exception) -> bool:
    """Whether a failed call says the conversation refuses the bot for good (403, 404).

    Args:
        exc: what the connector call raised.

    Returns:
        True for a Bot Connector answer with a status in `GONE_STATUSES`.
    """
    return isinstance(exc, HttpOperationError) and _status_and_code(exc)[0] in GONE_STATUSES


def classify(exc: Exception) -> DeliveryResult:
    """Map a failed Bot Connector call to a delivery result (see the module docstring).

    Args:
        exc: what the call raised.

    Returns:
        `retry` (with `retry_after` for a 429) or `failed` with the connector's error code.

    Raises:
        Exception: `exc` itself when it is not a connector or network error (a bug: the
            outbox counts it as a failed attempt and logs it).
    """
    if isinstance(exc, HttpOperationError):
        status, code = _status_and_code(exc)
        label = f"{code or 'http'} (HTTP {status})"
        if status == 429:
            return DeliveryResult.retry(label, retry_after=_retry_after(exc))
        if status in PERMANENT_STATUSES:
            if status == 401:
                logger.error(
                    "teams: the connector refused our token; check MICROSOFT_APP_* settings"
                )
            return DeliveryResult.failed(label)
        return DeliveryResult.retry(label)
    if isinstance(exc, ClientRequestError | aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryResult.retry(type(exc).__name__)
    raise exc


@dataclass
class _Progress:
    """How far a multi-card message got."""

    parts_done: int = 0
    first_id: str | None = None
    ids: list[str] = field(default_factory=list)


class SharedConnectors:
    """botbuilder's `BotFrameworkAuthentication`, with one connector client per service URL.

    Proactive messages get the client made for their (service URL, audience, app) the
    first time, instead of a new one per message. Everything else (authenticating
    requests, user token clients) is the wrapped object's, unchanged.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._clients: dict[tuple[str, str | None, str | None], Any] = {}
        self.created = 0  # connector clients made (tests)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_connector_factory(self, claims_identity: Any) -> Any:
        """The wrapped factory, caching what it creates."""
        factory = self._inner.create_connector_factory(claims_identity)
        claims = getattr(claims_identity, "claims", None) or {}
        app = claims.get("aud") or claims.get("appid")
        return _CachingFactory(self, factory, str(app) if app else None)

    async def client(self, factory: Any, app: str | None, url: str, audience: str | None) -> Any:
        """The kept client for this service URL, audience and app (made on first use)."""
        key = (url, audience, app)
        found = self._clients.get(key)
        if found is None:
            found = self._clients[key] = await factory.create(url, audience)
            self.created += 1
        return found

    async def close(self) -> None:
        """Close every kept client's HTTP session."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            closing = getattr(client, "close", None)
            if closing is not None:
                try:
                    result = closing()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:  # shutting down: a client that will not close is let go
                    logger.debug("teams: a connector client did not close", exc_info=True)


@dataclass
class _CachingFactory:
    shared: SharedConnectors
    factory: Any
    app: str | None

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        return await self.shared.client(self.factory, self.app, service_url, audience)


def card_activity(card: dict[str, Any]) -> Activity:
    """A message activity carrying one Adaptive Card."""
    shaped = attachment(card)
    return Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=shaped["contentType"], content=shaped["content"])],
    )


class TeamsAdapter:
    """The Teams platform as the outbox worker sees it (the `Adapter` protocol).

    Args:
        cloud: botbuilder's `CloudAdapter` (it holds the credentials and connector clients).
        app_id: MICROSOFT_APP_ID, or None when running unauthenticated (local testing).
        references: where conversation references are stored.
        files: where an export's file is built (the core); None fails files.
    """

    platform = PLATFORM

    def __init__(
        self,
        *,
        cloud: Any,
        app_id: str | None,
        references: ReferenceStore,
        files: ExportFiles | None = None,
    ) -> None:
        self.cloud = cloud
        self.files = files
        self.app_id = app_id
        self.references = references
        self._progress: OrderedDict[str, _Progress] = OrderedDict()
        # botbuilder's CloudAdapter has one; its TestAdapter (and any adapter that makes no
        # proactive calls through the Bot Connector) has none to share.
        auth = getattr(cloud, "bot_framework_authentication", None)
        self.connectors = SharedConnectors(auth) if auth is not None else None
        if self.connectors is not None:
            cloud.bot_framework_authentication = self.connectors

    async def start(self) -> None:
        """Nothing to connect: Teams calls us; connector clients are made on first use."""

    async def stop(self) -> None:
        """Close the connector clients kept for proactive messages."""
        if self.connectors is not None:
            await self.connectors.close()

    async def send(
        self,
        *,
        address: str,
        message: OutboundMessage,
        idempotency_key: str,
        redelivery: bool = False,
        enqueued_at: datetime | None = None,
    ) -> DeliveryResult:
        """Post one outbox message proactively to a person's chat or a channel.

        Args:
            address: `teams:<AAD object id>` (a person) or `teams:<conversation id>`.
            message: what to post; rendered with `render_activity_attachments`.
            idempotency_key: the outbox key; cards already posted under it are skipped.
            redelivery: an earlier attempt may have posted it. The Bot Connector cannot
                list what a conversation holds, so the message is posted again (the cards
                this process knows were posted are skipped): at least once.
            enqueued_at: when the outbox row was written (unused: nothing to look up).

        Returns:
            `sent` with the first activity's id, `failed` with `NOT_INSTALLED` when there is
            no reference for the address, or `retry`/`failed` (see `classify`).
        """
        if not address.startswith(PREFIX) or len(address) == len(PREFIX):
            return DeliveryResult.failed(f"not a teams address: {address[:60]!r}")
        found = await asyncio.to_thread(self.references.lookup, address)
        if found.reference is None:
            logger.info("teams: %s is unreachable: %s", address, found.problem)
            return DeliveryResult.failed(found.problem or NOT_INSTALLED)
        if isinstance(message, FileReply):
            return await self._offer_file(address, found.reference, message)
        try:
            cards = render_activity_attachments(message)
        except TypeError:
            return DeliveryResult.failed(f"{message.kind} cannot be posted as a message")
        progress = self._progress.pop(idempotency_key, None) or _Progress()
        if redelivery:
            logger.info(
                "teams: %s may already hold outbox key %s; Teams cannot tell, posting again",
                address,
                idempotency_key,
            )
        try:
            await self._post(found.reference, cards, progress)
        except Exception as exc:
            if progress.parts_done:
                self._remember(idempotency_key, progress)
            return await self._failure(address, exc, "delivery")
        return DeliveryResult.sent(progress.first_id)

    async def _offer_file(
        self, address: str, reference: ConversationReference, reply: FileReply
    ) -> DeliveryResult:
        """Post the file consent card of an export (`files.py`); the upload follows consent."""
        kind = getattr(reference.conversation, "conversation_type", None) or "personal"
        if kind != "personal":
            return DeliveryResult.failed("Teams takes a file in a personal chat only")
        if self.files is None:
            return DeliveryResult.failed("files cannot be built here")
        # Built for its size (the card shows it) and dropped: the upload on consent builds
        # it again, so what is handed out is what the database holds then (a `forget` or
        # a retention purge in between is honoured), on whichever replica gets the consent.
        built = await self.files.build_file(reply)
        built.close()
        card = consent_attachment(reply, built.size)
        sent: list[str] = []

        async def post_card(context: TurnContext) -> None:
            context.activity.id = None  # a new message, not a reply to the continuation id
            activity = Activity(
                type=ActivityTypes.message,
                attachments=[
                    Attachment(
                        content_type=card["contentType"], name=card["name"], content=card["content"]
                    )
                ],
            )
            response = await context.send_activity(activity)
            sent.append(str(getattr(response, "id", "") or ""))

        try:
            await self.cloud.continue_conversation(reference, post_card, self.app_id)
        except Exception as exc:
            return await self._failure(address, exc, "file offer")
        return DeliveryResult.sent(sent[0] if sent else None)

    async def _failure(self, address: str, exc: Exception, what: str) -> DeliveryResult:
        """What a failed post means; a chat Teams says is gone is marked unreachable."""
        result = classify(exc)
        if gone(exc):
            cause = result.error or "refused"
            await asyncio.to_thread(self.references.mark_unreachable, address, cause)
            result = DeliveryResult.failed(messages.chat_unreachable(cause, datetime.now(UTC)))
        logger.info("teams: %s to %s %s (%s)", what, address, result.status, result.error)
        return result

    async def post_attachment(self, address: str, shaped: dict[str, Any]) -> None:
        """Post one attachment (a file info card) proactively to a person's chat, now.

        Raises:
            LookupError: no usable reference for the address.
            Exception: what the connector raised.
        """
        found = await asyncio.to_thread(self.references.lookup, address)
        if found.reference is None:
            raise LookupError(found.problem or NOT_INSTALLED)
        activity = Activity(
            type=ActivityTypes.message,
            attachments=[
                Attachment(
                    content_type=shaped["contentType"],
                    content_url=shaped.get("contentUrl"),
                    name=shaped.get("name"),
                    content=shaped.get("content"),
                )
            ],
        )

        async def post(context: TurnContext) -> None:
            context.activity.id = None  # a new message, not a reply to the continuation id
            await context.send_activity(activity)

        await self.cloud.continue_conversation(found.reference, post, self.app_id)

    async def _post(
        self, reference: ConversationReference, cards: list[dict[str, Any]], progress: _Progress
    ) -> None:
        async def post_cards(context: TurnContext) -> None:
            context.activity.id = None  # a new message, not a reply to the continuation id
            for index in range(progress.parts_done, len(cards)):
                response = await context.send_activity(card_activity(cards[index]))
                ident = str(getattr(response, "id", "") or "")
                if index == 0:
                    progress.first_id = ident
                progress.ids.append(ident)
                progress.parts_done = index + 1

        await self.cloud.continue_conversation(reference, post_cards, self.app_id)

    def _remember(self, key: str, progress: _Progress) -> None:
        self._progress[key] = progress
        self._progress.move_to_end(key)
        while len(self._progress) > _MAX_REMEMBERED:
            self._progress.popitem(last=False)

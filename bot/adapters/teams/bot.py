"""The Teams turn handler: activities in, engine events out, replies into the outbox.

botbuilder calls `TeamsBot.on_turn` for every activity that passed authentication. The
handler only translates; business rules stay in the engine.
Activity types are routed with a dict; types we do not use are accepted and ignored.

- **Installation** (`conversationUpdate` with the bot in `membersAdded`, or
  `installationUpdate` "add") stores the conversation reference, keyed by the person's
  address in a personal chat and by the channel's address in a team (without the user
  who spoke there: only a person's own reference names them, and `forget` deletes it).
  Removal marks it uninstalled. Every later activity refreshes the reference (a service
  URL can move) and makes a chat that refused a delivery (403/404, see `adapter.py`)
  reachable again.
- **Welcome**: when an install makes a chat reachable (Teams sends both activities above
  for one install; only the first changes the stored state), the bot says what it is and
  how to get `help`, through the outbox like every other message. In a personal chat it
  then delivers what `mine` would show when the person has an open question: their prompt
  was most likely refused as "not installed" when the round opened, and the install is
  the moment they are there to answer it. Nothing else is sent when nothing is open, so
  a welcome is never followed by "you have no open questions".
- **Messages**: Teams has no slash commands, so the command grammar is typed to the bot
  (with an @mention in a channel, which is stripped). In a personal chat text becomes a
  `TextMessage`: the engine takes it as the answer to the current question unless it is a
  complete command. In a channel nobody answers questions, so it is a `CommandInvoked`
  (an unknown word then gets "I don't know the command", not "no open questions").
- **Card submits**: an `Action.Submit` arrives as a message whose `value` holds the data
  (`cards.parse_submit`); an `Action.Execute` as an `adaptiveCard/action` invoke. The
  whole form becomes `FormSubmitted`; buttons become `ActionPressed`; a prompt's Send
  becomes `AnswerGiven` for the question that card showed, and Skip question carries its
  question too, so a click on an older card acts on what that card showed or, if that
  question was answered meanwhile, on nothing (the engine says why). A card from before
  Send carried its question becomes a `TextMessage` (the current question). Unreadable
  submits get `messages.UNREADABLE_CLICK`.

Persist before acknowledging (README, "Invariants"): the engine stores the answer and
writes its replies to the outbox in the same transaction, where its routing policy sends
them (`bot.flows.routing`: in a channel, a person's prompts and answers go to their own
chat), before the handler returns; only then does Teams get its 200. If that fails Teams
gets a 500 and redelivers; the engine ignores a redelivered activity id. Replies go
through the outbox rather than straight back on the turn, so they share one ordered,
rate-limited, retried queue with prompts (a 429 never drops one). A form (Answer all) is
the one reply the engine does not queue, since it is only shown in the moment: the bot
posts it as a card to the person's chat itself.

A file consent card (an `export`, see `files.py`) answers with a `fileConsent/invoke`,
which gets its 200 at once, so Teams shows no error on the card however big the file:
on accept the file is built and uploaded to the person's OneDrive in the background and
a file info card posted to their chat when it is there; on decline, or when the file is
not theirs or no longer handed out, a sentence says so. An invoke Teams delivers twice
(same id) is acted on once per process. `drain` waits for uploads still running.

After a form (or the last answer) is submitted on a card, the card is replaced by a
read-only summary: `update_activity` on the card's id (`replyToId`) for a message submit,
the invoke response's card for `Action.Execute`. That update is cosmetic (the answers are
stored and the full summary is queued), so its failure is logged, not raised.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes
from botbuilder.schema.teams import FileConsentCardResponse

from bot import messages
from bot.adapters.base import UNREADABLE_CLICK_NOTICE, Core
from bot.adapters.teams.adapter import (
    ReferenceStore,
    TeamsAdapter,
    card_activity,
    channel_address,
    person_address,
)
from bot.adapters.teams.cards import CardAnswer, parse_submit, render_readonly_summary
from bot.adapters.teams.files import FILE_CONSENT_INVOKE, UploadFailed, info_attachment, upload
from bot.flows.events import (
    Action,
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
)
from bot.flows.outbound import FileReply, Form, Notice, Outgoing, Summary

logger = logging.getLogger(__name__)

INVOKE_CARD_ACTION = "adaptiveCard/action"
CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE = "application/vnd.microsoft.error"
PERSONAL = "personal"
_MAX_CONSENTS = 10_000  # file consent invoke ids remembered (a redelivery is ignored)


@dataclass(frozen=True)
class SubmitResult:
    """What a card submit led to: the summary to show on the card, or why it was refused."""

    summary: Summary | None = None
    error: str | None = None


def _unique() -> str:
    return f"teams-file:{uuid.uuid4().hex}"


class TeamsBot:
    """The bot behind `/api/messages`.

    Args:
        core: the rest of the bot (`bot.adapters.base.Core`).
        references: where conversation references are stored.
    """

    def __init__(
        self, core: Core, references: ReferenceStore, adapter: TeamsAdapter | None = None
    ) -> None:
        self.core = core
        self.references = references
        self.adapter = adapter  # posts a file info card once an upload is done
        self._uploads: set[asyncio.Task[None]] = set()
        self._consented: OrderedDict[str, None] = OrderedDict()  # invoke ids acted on
        self._routes: dict[str, Callable[[TurnContext], Awaitable[None]]] = {
            ActivityTypes.message: self.on_message,
            ActivityTypes.invoke: self.on_invoke,
            ActivityTypes.conversation_update: self.on_conversation_update,
            ActivityTypes.installation_update: self.on_installation_update,
        }

    async def on_turn(self, context: TurnContext) -> None:
        """Route one authenticated activity by its type."""
        route = self._routes.get(str(context.activity.type))
        if route is None:
            logger.debug("teams: ignoring a %s activity", context.activity.type)
            return
        await route(context)

    # -- installation -----------------------------------------------------------------

    async def on_conversation_update(self, context: TurnContext) -> None:
        """The bot (or someone) joined or left a conversation."""
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(m.id == bot_id for m in activity.members_added or []):
            await self._install(context)
        elif any(m.id == bot_id for m in activity.members_removed or []):
            await self._uninstall(context)
        else:
            await self._remember(context)

    async def on_installation_update(self, context: TurnContext) -> None:
        """The app was installed, upgraded or removed in a chat or team."""
        action = str(context.activity.action or "")
        if action.startswith("remove"):
            await self._uninstall(context)
        else:
            await self._install(context)

    async def _install(self, context: TurnContext) -> None:
        activity = context.activity
        address = self._address_of(activity)
        if address is None:
            return
        personal = self._is_personal(activity)
        # The welcome, and in a person's own chat their open question if any (the core
        # decides what is open): written in the install's transaction, so both or neither.
        queue_welcome = self.core.welcome_writer(
            address,
            self._welcome(activity, address),
            cause=f"teams:{activity.id or uuid.uuid4().hex}",
            personal=personal,
        )
        _, fresh = await self._remember(context, on_install=queue_welcome)
        logger.info("teams: installed for %s%s", address, "" if fresh else " (already known)")
        if fresh:
            self.core.outbox_changed()

    def _welcome(self, activity: Activity, address: str) -> Notice:
        """What to say in a chat the bot was just added to (see the module docstring)."""
        organisation = self.core.organisation
        if not self._is_personal(activity):
            here = address == self.core.cio_channel
            lines = messages.welcome_channel(organisation, cio_channel=here)
        else:
            lines = messages.welcome_personal(organisation)
        return Notice(title=messages.WELCOME_TITLE, lines=lines)

    @staticmethod
    def _is_personal(activity: Activity) -> bool:
        conversation = activity.conversation
        return conversation is None or (conversation.conversation_type or PERSONAL) == PERSONAL

    async def _uninstall(self, context: TurnContext) -> None:
        address = self._address_of(context.activity)
        if address is not None:
            await asyncio.to_thread(self.references.uninstall, address)
            logger.info("teams: removed for %s", address)

    async def _remember(
        self, context: TurnContext, on_install: Callable[[Any], None] | None = None
    ) -> tuple[str | None, bool]:
        """Store (or refresh) the reference of the conversation an activity came from.

        Args:
            context: the turn.
            on_install: run in the same transaction if this makes the chat reachable.

        Returns:
            The conversation's address (None if the activity has none) and whether the bot
            could not reach it before (never installed, removed, or refused a delivery).
        """
        activity = context.activity
        address = self._address_of(activity)
        if address is None:
            return None, False
        reference = TurnContext.get_conversation_reference(activity)
        kind = str(activity.conversation.conversation_type or PERSONAL)
        if kind != PERSONAL:
            reference.conversation.id = address.split(":", 1)[1]  # the channel, not a thread
            # The channel's, not whoever spoke last: a person is kept only in their own
            # reference, which `forget` deletes.
            reference.user = None
        fresh = await asyncio.to_thread(self.references.save, address, kind, reference, on_install)
        return address, fresh

    @staticmethod
    def _address_of(activity: Activity) -> str | None:
        conversation = activity.conversation
        if conversation is None or not conversation.id:
            return None
        if (conversation.conversation_type or PERSONAL) == PERSONAL:
            return person_address(activity.from_property)
        return channel_address(conversation.id)

    # -- messages and card submits -----------------------------------------------------

    async def on_message(self, context: TurnContext) -> None:
        """Text typed to the bot, or an `Action.Submit` of one of our cards."""
        activity = context.activity
        actor = person_address(activity.from_property)
        if actor is None:
            return
        await self._remember(context)
        if isinstance(activity.value, Mapping):
            result = await self._submit(context, actor, activity.value)
            if result.summary is not None and activity.reply_to_id:
                await self._replace_card(context, activity.reply_to_id, result.summary)
            return
        text = TurnContext.remove_recipient_mention(activity) or ""
        text = text.replace("&nbsp;", " ").strip()
        if not text:
            return  # an image, a sticker, an empty mention: nothing to answer
        event: InboundEvent
        if self._is_personal(activity):
            event = TextMessage(
                actor=actor, text=text, event_id=activity.id, actor_name=activity.from_property.name
            )
        else:  # nobody answers questions in a channel: a mention there is always a command
            event = CommandInvoked(
                actor=actor,
                text=text,
                event_id=activity.id,
                actor_name=activity.from_property.name,
                place=channel_address(str(activity.conversation.id)),
            )
        replies = await self.core.handle(event)  # the engine queues where each reply goes
        await self._post_forms(replies, event)

    async def on_invoke(self, context: TurnContext) -> None:
        """An `Action.Execute` (`adaptiveCard/action`); other invokes are not implemented."""
        activity = context.activity
        actor = person_address(activity.from_property)
        if activity.name == FILE_CONSENT_INVOKE and actor is not None:
            await self._remember(context)
            await self._file_consent(context, actor)
            await self._invoke_response(context, InvokeResponse(status=HTTPStatus.OK))
            return
        if activity.name != INVOKE_CARD_ACTION or actor is None:
            await self._invoke_response(context, InvokeResponse(status=HTTPStatus.NOT_IMPLEMENTED))
            return
        await self._remember(context)
        value = activity.value if isinstance(activity.value, Mapping) else {}
        result = await self._submit(context, actor, value)
        body: dict[str, Any]
        if result.error is not None:
            body = {
                "statusCode": 400,
                "type": ERROR_RESPONSE,
                "value": {"code": "BadRequest", "message": result.error},
            }
        elif result.summary is not None:
            card = render_readonly_summary(result.summary)
            body = {"statusCode": 200, "type": CARD_RESPONSE, "value": card}
        else:
            body = {"statusCode": 200, "type": MESSAGE_RESPONSE, "value": "Received."}
        await self._invoke_response(context, InvokeResponse(status=HTTPStatus.OK, body=body))

    async def _submit(
        self, context: TurnContext, actor: str, data: Mapping[str, Any]
    ) -> SubmitResult:
        """Run a card submit through the engine and queue its replies."""
        activity = context.activity
        try:
            action, round_id, value = parse_submit(data)
            event: InboundEvent
            if action == "form":
                values = value if isinstance(value, Mapping) else {}
                event = FormSubmitted(
                    actor=actor, round_id=round_id, values=values, event_id=activity.id
                )
            elif isinstance(value, CardAnswer) and value.question_id is not None:
                event = AnswerGiven(
                    actor=actor,
                    round_id=round_id,
                    question_id=value.question_id,
                    value=value.text or "",
                    event_id=activity.id,
                )
            elif isinstance(value, CardAnswer):  # a card from before Send named its question
                event = TextMessage(actor=actor, text=value.text or "", event_id=activity.id)
            elif action == Action.SKIP_QUESTION:  # the button's value is its question
                event = ActionPressed(
                    actor=actor,
                    action=Action(action),
                    round_id=round_id,
                    question_id=value if isinstance(value, str) else None,
                    event_id=activity.id,
                )
            else:
                event = ActionPressed(
                    actor=actor,
                    action=Action(action),
                    round_id=round_id,
                    value=value if isinstance(value, str) else None,
                    event_id=activity.id,
                )
        except ValueError as exc:
            logger.warning("teams: unreadable card submit from %s: %s", actor, exc)
            unreadable = UNREADABLE_CLICK_NOTICE
            await self._enqueue([Outgoing(address=actor, message=unreadable)], None)
            return SubmitResult(error=messages.UNREADABLE_CLICK)
        replies = await self.core.handle(event)
        await self._post_forms(replies, event)
        summary = None
        if action in ("form", "answer"):
            summary = next((r.message for r in replies if isinstance(r.message, Summary)), None)
        return SubmitResult(summary=summary)

    async def _file_consent(self, context: TurnContext, actor: str) -> None:
        """The person accepted or declined an export's file (see the module docstring)."""
        activity = context.activity
        if activity.id:
            if activity.id in self._consented:
                logger.info("teams: file consent %s already handled", activity.id)
                return
            self._consented[activity.id] = None
            while len(self._consented) > _MAX_CONSENTS:
                self._consented.popitem(last=False)
        value = activity.value if isinstance(activity.value, Mapping) else {}
        answer = FileConsentCardResponse().deserialize(dict(value))
        token = answer.context.get("token") if isinstance(answer.context, Mapping) else None
        reply = await self.core.offered_file(actor, str(token)) if token else None
        if reply is None:
            await self._say(actor, activity, messages.EXPORT_NO_SUCH_FILE)
            return
        if answer.action != "accept":
            await self._say(actor, activity, messages.EXPORT_DECLINED, level="info")
            return
        if self.core.now() >= reply.expires_at:
            await self._say(actor, activity, messages.EXPORT_LINK_EXPIRED)
            return
        info = answer.upload_info
        if info is None or not info.upload_url:
            logger.warning("teams: a file consent from %s came without an upload URL", actor)
            await self._say(actor, activity, messages.EXPORT_UPLOAD_FAILED)
            return
        task = asyncio.get_running_loop().create_task(
            self._upload(actor, activity, reply, info), name="teams-upload"
        )
        self._uploads.add(task)
        task.add_done_callback(self._uploads.discard)

    async def _upload(self, actor: str, activity: Activity, reply: FileReply, info: Any) -> None:
        """Build the file, upload it to OneDrive, then show it in the person's chat."""
        try:
            built = await self.core.build_file(reply)
            try:
                await upload(info.upload_url, built)
            finally:
                built.close()
        except Exception as exc:  # UploadFailed, or the database while building
            level = logging.WARNING if isinstance(exc, UploadFailed) else logging.ERROR
            logger.log(level, "teams: uploading %s for %s failed: %s", reply.filename, actor, exc)
            await self._say(actor, activity, messages.EXPORT_UPLOAD_FAILED)
            return
        await self.core.file_handed_out(reply, built, "teams upload")
        if self.adapter is None:
            return
        try:
            await self.adapter.post_attachment(actor, info_attachment(info))
        except Exception:  # the file is in their OneDrive all the same
            logger.warning("teams: could not post the file card of %s", reply.filename)

    async def drain(self) -> None:
        """Wait for the uploads still running (at shut-down)."""
        if self._uploads:
            await asyncio.gather(*self._uploads, return_exceptions=True)

    async def _say(
        self, actor: str, activity: Activity, line: str, level: Literal["info", "error"] = "error"
    ) -> None:
        """A sentence to the person, through the outbox (keyed by the invoke's id)."""
        notice = Notice(level=level, lines=(line,))
        cause = f"teams-file:{activity.id}" if activity.id else None
        await self.core.queue([Outgoing(address=actor, message=notice)], cause or _unique())

    async def _replace_card(self, context: TurnContext, activity_id: str, summary: Summary) -> None:
        update = card_activity(render_readonly_summary(summary))
        update.id = activity_id
        try:
            await context.update_activity(update)
        except Exception:
            logger.warning("teams: could not update card %s to its summary", activity_id)

    @staticmethod
    async def _invoke_response(context: TurnContext, response: InvokeResponse) -> None:
        await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))

    # -- replies ----------------------------------------------------------------------

    async def _post_forms(self, replies: list[Outgoing], cause: InboundEvent) -> None:
        """Post the forms among the engine's replies to the person's chat, as cards.

        The engine queues every other reply itself; a form is only shown in the moment,
        and in Teams the moment is a card in the person's chat.
        """
        forms = [
            Outgoing(address=cause.actor, message=r.message)
            for r in replies
            if isinstance(r.message, Form)
        ]
        await self._enqueue(forms, cause)

    async def _enqueue(self, replies: list[Outgoing], cause: InboundEvent | None) -> None:
        """Write replies to the outbox (one transaction) and wake the worker."""
        if not replies:
            return
        prefix = f"teams-reply:{cause.event_id}" if cause and cause.event_id else None
        prefix = prefix or f"teams-reply:{uuid.uuid4().hex}"
        await self.core.queue(replies, prefix)

"""The Slack front door: a Bolt `AsyncApp` behind `POST /slack/events` on our aiohttp server.

Every request is checked before Bolt sees it (`requests.py`: unsigned 401, signed but
unreadable 400, one log line each); Bolt verifies it again (signature and a five-minute
timestamp window: anything else is a 401 and never reaches a listener), answers Slack's
URL and SSL checks, and routes payloads to the listeners below, which only translate: a
payload becomes an engine event, the engine's replies become Slack calls. Business rules
stay in the engine.

Acknowledge after storing (README, "Invariants"). The app runs with
`process_before_response=True`, so the HTTP 200 that acknowledges a delivery is sent only
when the listener returns. A listener that carries an answer (a DM, a button, a form)
first runs the engine, which stores the answer in one short database transaction, and
writes its replies to the outbox; then it acks. If either fails, Slack gets a 500 and
redelivers; the engine de-duplicates Events API retries by `event_id` (the retry header
`X-Slack-Retry-Num` needs no special case). With the default `process_before_response=
False` Bolt acks events *before* the listener runs, which could lose an answer to a crash.

Where replies go is the engine's decision (`bot.flows.routing`); the listeners only say
where the person acted. The engine writes its replies to the outbox in the same
transaction as the event, so they share one ordered, rate-limited, retried queue with
prompts and reminders (a reply never overtakes the prompt before it, a 429 never drops it,
and a crash after the commit loses none). The worker is woken at once.

- **DM messages, buttons, form submissions**: replies go to the person's DM.
- **`/strategy` commands** carry the command's `response_url` as their private reply
  address (`respond.py`): replies are ephemeral, in the place the command was typed. A
  digest asked for *in the CIO channel* is posted there for everyone, in a thread when long.
- **"Answer all"** opens the modal with `views.open` right away: its `trigger_id` expires
  three seconds after the click, so it cannot wait in a queue.
- **Form errors** go back in the ack (`response_action: errors`), so the modal stays open.
- **App Home**: see `home.py` (admins' dashboard and buttons, everyone's open prompts).

Text typed in a DM is stored as typed: Slack's encoding of it (`R&amp;D`, `<https://…|…>`)
is undone first (`mrkdwn.typed_text`), and every renderer escapes it again when shown.

Bad payloads (a malformed button value, an unknown action) are acked and answered with a
DM saying the click could not be read; nothing crashes, and the details go to the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.adapters.base import UNREADABLE_CLICK_NOTICE, Core
from bot.adapters.slack.adapter import DmChannels, SlackAdapter, make_client, user_address
from bot.adapters.slack.directory import SlackDirectory
from bot.adapters.slack.finished import done_summaries, mark_prompts_done
from bot.adapters.slack.home import HomeListeners, register_home
from bot.adapters.slack.install import (
    bolt_auth_options,
    build_workspace_tokens,
    mount_oauth_routes,
    mount_socket_mode,
    register_install_listeners,
)
from bot.adapters.slack.mrkdwn import typed_text
from bot.adapters.slack.render import (
    ACTION_ID_PATTERN,
    FORM_CALLBACK_ID,
    NOOP_ACTIONS,
    parse_action,
    parse_view_submission,
    question_from_block_id,
    render_form_errors,
    render_form_modal,
)
from bot.adapters.slack.requests import SlackRequestCheck
from bot.adapters.slack.respond import respond_address
from bot.config import Settings
from bot.errors import ConfigError
from bot.flows.events import (
    Action,
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
)
from bot.flows.outbound import Form, Outgoing

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = "/strategy"

Ack = Callable[..., Awaitable[Any]]


class SlackListeners:
    """The Bolt listeners, bound to the core and one adapter.

    Args:
        core: the rest of the bot (`bot.adapters.base.Core`).
        adapter: the Slack adapter (its client and DM-channel cache are shared).
    """

    def __init__(self, core: Core, adapter: SlackAdapter) -> None:
        self.core = core
        self.adapter = adapter
        self._tasks: set[asyncio.Task[None]] = set()
        self.home: HomeListeners | None = None

    # -- wiring ---------------------------------------------------------------------------

    def register(self, bolt: AsyncApp) -> None:
        """Attach every listener to a Bolt app."""
        bolt.command(COMMAND)(self.on_command)
        bolt.event("message")(self.on_message)
        self.home = register_home(bolt, self.core, self.adapter)  # App Home: home.py
        bolt.action(ACTION_ID_PATTERN)(self.on_action)
        bolt.view(FORM_CALLBACK_ID)(self.on_form)

    async def drain(self) -> None:
        """Wait for background work (command replies, Home views, prompt updates)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.home is not None:
            await self.home.drain()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- listeners ------------------------------------------------------------------------

    async def on_command(self, ack: Ack, body: dict[str, Any]) -> None:
        """`/strategy <text>`: store the command, ack, and let the command runner do it.

        Stored before the ack (`bot.intake.commands`), so a crash right after the ack
        still carries it out, once; a replayed request (same `trigger_id`) stores nothing
        and runs nothing. If it cannot be stored, Slack gets a 500 and tells the person.
        """
        event = self._command_event(body)
        stored = await self.core.store_command(event, dedup_key=_request_key(body))
        if not stored:
            logger.info(
                "slack: a replayed /strategy request from %s was not run again", event.actor
            )
        await ack()

    async def on_message(self, ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A DM to the bot: an answer or a command. Stored before the ack."""
        user = event.get("user")
        text = event.get("text")
        if (
            event.get("channel_type") != "im"
            or event.get("bot_id")
            or event.get("subtype")
            or not isinstance(user, str)
            or not isinstance(text, str)
        ):
            await ack()  # edits, joins, bot echoes, channel chatter: nothing to do
            return
        channel = event.get("channel")
        if isinstance(channel, str):
            self.adapter.remember_dm(user, channel)
        event_id = body.get("event_id")
        inbound = TextMessage(
            actor=user_address(user),
            text=typed_text(text),
            event_id=str(event_id) if event_id else None,
        )
        replies = await self.core.handle(inbound)  # raises -> 500 -> Slack redelivers
        self._after_answers(replies, inbound)
        await ack()

    async def on_action(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A button, select or checkbox of ours: answer, skip, snooze, open the form..."""
        user = _user_id(body)
        if user is None:
            await ack()
            return
        actor = user_address(user)
        state = body.get("state")
        state_values = state.get("values") if isinstance(state, dict) else None
        try:
            name, round_id, value = parse_action(action, state_values)
            if name in NOOP_ACTIONS:
                await ack()
                return
            inbound: InboundEvent
            question_id = question_from_block_id(action.get("block_id"))
            if name == "answer" and question_id:
                inbound = AnswerGiven(
                    actor=actor, round_id=round_id, question_id=question_id, value=value or ""
                )
            elif name == "answer":  # a message from before buttons named their question
                inbound = TextMessage(actor=actor, text=value or "")
            elif name == Action.SKIP_QUESTION:  # the button's value is its question
                inbound = ActionPressed(
                    actor=actor, action=Action(name), round_id=round_id, question_id=value
                )
            else:
                inbound = ActionPressed(
                    actor=actor, action=Action(name), round_id=round_id, value=value
                )
        except ValueError as exc:
            logger.warning("slack: unreadable action from %s: %s", actor, exc)
            await ack()
            await self._enqueue([_unreadable(actor)], None)
            return
        replies = await self.core.handle(inbound)
        forms = [r.message for r in replies if isinstance(r.message, Form)]
        self._after_answers(replies, inbound)
        await ack()
        for form in forms:  # within this request: the trigger_id expires 3 s after the click
            await self._open_form(str(body.get("trigger_id") or ""), form, actor)

    async def on_form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The "answer all" modal was sent: store it, or keep it open with errors."""
        user = _user_id(body)
        if user is None:
            await ack()
            return
        actor = user_address(user)
        try:
            round_id, values = parse_view_submission(view)
        except ValueError as exc:
            logger.warning("slack: unreadable form from %s: %s", actor, exc)
            await ack()
            await self._enqueue([_unreadable(actor)], None)
            return
        inbound = FormSubmitted(actor=actor, round_id=round_id, values=values)
        replies = await self.core.handle(inbound)
        first = replies[0].message if replies else None
        if isinstance(first, Form) and first.errors:
            await ack(response_action="errors", errors=render_form_errors(first))
            return
        self._after_answers(replies, inbound)
        await ack()

    # -- background work ------------------------------------------------------------------

    @staticmethod
    def _command_event(body: dict[str, Any]) -> CommandInvoked:
        """The engine event for a slash command: where it was typed, where replies go."""
        actor = user_address(str(body.get("user_id") or ""))
        text = str(body.get("text") or "").strip()
        channel = str(body.get("channel_id") or "")
        response_url = str(body.get("response_url") or "")
        return CommandInvoked(
            actor=actor,
            text=text or "help",
            # A DM with the bot (D…) is the person's own chat; anything else is a channel.
            place=user_address(channel) if channel and not channel.startswith("D") else None,
            private_reply=respond_address(response_url) if response_url else None,
        )

    async def _open_form(self, trigger_id: str, form: Form, actor: str) -> None:
        try:
            if not trigger_id:
                raise ValueError("no trigger_id")
            await self.adapter.client.views_open(
                trigger_id=trigger_id, view=render_form_modal(form)
            )
        except (SlackApiError, ValueError) as exc:
            logger.warning("slack: could not open the form for %s: %s", actor, exc)
            await self._enqueue([_unreadable(actor)], None)

    # -- helpers --------------------------------------------------------------------------

    def _after_answers(self, replies: list[Outgoing], cause: InboundEvent) -> None:
        """The engine queued its replies; turn a finished round's prompt into "Done"."""
        if done_summaries(replies):
            work = mark_prompts_done(self.core, self.adapter, cause.actor, replies)
            self._spawn(work, name="slack-prompt-done")

    async def _enqueue(self, replies: list[Outgoing], cause: InboundEvent | None) -> None:
        """Write the adapter's own notices (an unreadable click) to the outbox."""
        if not replies:
            return
        prefix = f"slack-reply:{cause.event_id}" if cause and cause.event_id else None
        prefix = prefix or f"slack-reply:{uuid.uuid4().hex}"
        await self.core.queue(replies, prefix)


def _request_key(body: dict[str, Any]) -> str:
    """Slack's id for one slash command request: its `trigger_id` (a replay repeats it)."""
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return f"slack:{trigger}"
    seen = json.dumps(
        [body.get(k) for k in ("team_id", "user_id", "channel_id", "text", "response_url")]
    )
    return "slack:#" + hashlib.sha256(seen.encode()).hexdigest()


def _user_id(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    ident = user.get("id") if isinstance(user, dict) else None
    return ident if isinstance(ident, str) and ident else None


def _unreadable(actor: str) -> Outgoing:
    return Outgoing(address=actor, message=UNREADABLE_CLICK_NOTICE)


def build_bolt_app(
    core: Core, adapter: SlackAdapter, settings: Settings, sql_engine: Engine
) -> tuple[AsyncApp, SlackListeners]:
    """The Bolt app with our listeners, verifying every request with the signing secret.

    Raises:
        ConfigError: SLACK_SIGNING_SECRET is not set.
    """
    secret = settings.slack_signing_secret
    if not secret and not settings.slack_app_token:
        raise ConfigError("SLACK_SIGNING_SECRET is required to serve Slack (see README)")
    bolt = AsyncApp(
        **bolt_auth_options(settings, adapter, sql_engine),
        signing_secret=secret or "",  # Socket Mode only: no HTTP route is mounted
        process_before_response=True,
        logger=logging.getLogger("bot.adapters.slack.bolt"),
    )
    listeners = SlackListeners(core, adapter)
    listeners.register(bolt)
    return bolt, listeners


def mount_slack(
    app: web.Application,
    core: Core,
    settings: Settings,
    sql_engine: Engine,
    dm_channels: DmChannels | None = None,
) -> tuple[SlackAdapter, SlackDirectory]:
    """Serve Slack on `POST /slack/events` and register the adapter for delivery.

    Call it after `build_app` and before the application starts (the outbox worker takes
    its adapters at start-up). Slash commands, events and interactivity all use the one
    URL (set it as Request URL in each of the app manifest's three places).

    It also builds the Slack directory (`directory.py`), which the runtime asks who is
    in a Slack-sourced group right before a round opens. With SLACK_CLIENT_ID/SECRET it
    also serves the OAuth install (`GET /slack/install`,
    `GET /slack/oauth_redirect`) and sends with each workspace's token; with
    SLACK_APP_TOKEN it connects over Socket Mode, and `POST /slack/events` is served only
    if SLACK_SIGNING_SECRET is set (see `install.py`).

    Args:
        app: the aiohttp application (`bot.app.build_app`).
        core: the rest of the bot, as adapters see it.
        settings: the bot's settings (the SLACK_* ones are read).
        sql_engine: the database engine slack_sdk's installation and OAuth state stores
            use (multi-workspace install); the adapter runs no queries of its own.
        dm_channels: where the adapter keeps DM channel ids across restarts.

    Returns:
        The Slack adapter (for the outbox) and its directory (for Slack-sourced groups);
        the caller registers them.

    Raises:
        ConfigError: neither SLACK_BOT_TOKEN nor OAuth is configured, or neither
            SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN is set.
    """
    if not (settings.slack_bot_token or settings.slack_oauth):
        raise ConfigError(
            "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "(multi-workspace install) are required to serve Slack (see README)"
        )
    client = make_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    workspaces = build_workspace_tokens(settings, sql_engine) if settings.slack_oauth else None
    adapter = SlackAdapter(
        client=client, workspaces=workspaces, dm_channels=dm_channels, files=core
    )
    bolt, listeners = build_bolt_app(core, adapter, settings, sql_engine)
    register_install_listeners(bolt, adapter)

    async def finish_background_work(_: web.Application) -> None:
        await listeners.drain()

    if settings.slack_signing_secret:
        app.router.add_post(EVENTS_PATH, _events_handler(bolt, settings.slack_signing_secret))
        logger.info("slack: serving %s", EVENTS_PATH)
    if workspaces is not None:
        mount_oauth_routes(app, bolt)
    app.on_shutdown.append(finish_background_work)
    if settings.slack_app_token:
        mount_socket_mode(app, bolt, settings.slack_app_token)
    return adapter, SlackDirectory(adapter)


def _events_handler(
    bolt: AsyncApp, signing_secret: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`POST /slack/events`: our checks first (`requests.py`), then Bolt."""
    check = SlackRequestCheck(signing_secret)

    async def slack_events(request: web.Request) -> web.StreamResponse:
        refusal = check.refusal(await request.read(), request.headers)
        if refusal is not None:  # unsigned (401) or unreadable (400): Bolt never sees it
            return check.refuse(request, refusal)
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    return slack_events


__all__ = ["EVENTS_PATH", "SlackListeners", "build_bolt_app", "mount_slack"]

"""The Slack App Home: a dashboard of the six conversations for admins, open prompts for all.

Why it looks like this:

- **Admins** see every conversation with its cadence, next round, the open round's
  progress and delivery problems (`bot.flows.overview`, read-only), and buttons to edit
  the cadence (a modal), pause or resume, open or close a round. **The CIO** (and admins)
  see the strategy summary that opens `digest all` (the organisation's place on the
  maturity map, one row per conversation, what needs them) and a "Latest digest" button.
  **Everyone** sees their own open prompts (the `mine` command's answer), so a
  stakeholder can answer from the Home tab too.
- **The buttons are the chat commands.** Each one sends the engine the same
  `CommandInvoked` a person would type (`pause social-media`), so roles, validation and
  the audit log stay in the engine and a forged button (a stakeholder posting an admin's
  payload) gets the same permission error as typing the command. The one exception is
  "Edit cadence", which only opens a modal (no change): it is shown to admins only and
  refused to others before opening, and its submission runs `schedule <key> <cadence>`
  through the engine like everything else.
- **Persist, then ack, then refresh.** A button's command runs and its reply is written to
  the person's DM through the outbox before the ack (as `app.py` does for answers); the Home
  tab is re-published in the background, because `views.publish` need not delay the ack.
- **Cadence errors keep the modal open** (`response_action: errors` on the input block),
  with the engine's own message, so the admin can fix a typo without retyping.
- Every text that came from a person or the playbook is escaped (`mrkdwn.escape`/`fit`)
  in verbatim mrkdwn objects, and a Home view keeps within Slack's 100-block limit.

Action ids start with `HOME_ACTION_PREFIX` ("strategy_home:"), which the message
listener's `^strategy:` pattern does not match, so the two sets of buttons never collide.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.adapters.base import UNREADABLE_CLICK_NOTICE, Core
from bot.adapters.slack.adapter import SlackAdapter, user_address
from bot.adapters.slack.mrkdwn import escape, fit, plain
from bot.adapters.slack.render import render_message
from bot.flows.cadence import MAX_LENGTH, parse_cadence
from bot.flows.commands import Role
from bot.flows.digest_model import Digest
from bot.flows.events import CommandInvoked
from bot.flows.outbound import DigestMessage, Form, Notice, OutboundMessage, Outgoing, Prompt
from bot.flows.overview import ConversationOverview

logger = logging.getLogger(__name__)

HOME_ACTION_PREFIX = "strategy_home:"
HOME_ACTION_PATTERN = re.compile(r"^strategy_home:")
CADENCE_CALLBACK_ID = "strategy_cadence"
CADENCE_BLOCK_ID = "cadence"
CADENCE_ACTION_ID = "cadence_text"
MAX_HOME_BLOCKS = 100
SECTION_CHARS = 3000
BUTTON_CHARS = 75
ERROR_CHARS = 300
HINT_CHARS = 2000
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

# Button -> the command it runs (`{key}` is the conversation key from the button's value).
COMMANDS = {
    "pause": "pause {key}",
    "resume": "resume {key}",
    "ask": "ask {key}",
    "close": "close {key}",
    "digest": "digest",
}
# The words on the Home tab are in `bot.messages` (HOME_*), read when a view is built, so
# they follow BOT_LANGUAGE. The example cadence is typed in English, so it stays as it is.
CADENCE_EXAMPLE = "every 2 weeks on tue at 10:00 Europe/Berlin"

Ack = Callable[..., Awaitable[Any]]
Block = dict[str, Any]


# --------------------------------------------------------------------------- rendering


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text or " ", "verbatim": True}


def _pt(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit) or " ", "emoji": True}


def _date(moment: datetime) -> str:
    """Slack's date token: shown in the reader's zone, with a UTC fallback."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


_SLOT = "\x00"  # where a placeholder's mrkdwn goes in an escaped catalogue sentence


def _said(sentence: Callable[[str], str], filled: str) -> str:
    """A catalogue sentence escaped for mrkdwn, with one placeholder's mrkdwn put in after.

    The sentences come from translators, so `&`, `<` and `>` in them are escaped; the value
    (a Slack date token, a title `fit` already escaped) must not be escaped twice.
    """
    return escape(sentence(_SLOT)).replace(_SLOT, filled)


def _button(text: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _pt(text, BUTTON_CHARS),
        "action_id": HOME_ACTION_PREFIX + action,
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def conversation_text(item: ConversationOverview) -> str:
    """The mrkdwn of one conversation on an admin's Home (escaped, within a section)."""
    lines = [
        f"*{fit(item.title, 200)}* · `{fit(item.key, 40)}`",
        f":calendar: {fit(item.cadence_description, 600)}",
    ]
    if item.paused:
        lines.append(f":double_vertical_bar: {escape(messages.HOME_PAUSED)}")
    elif item.next_round_at is not None:
        lines.append(_said(messages.home_next_round, _date(item.next_round_at)))
    round_ = item.open_round
    if round_ is not None:
        number, answered, invited, skipped = (
            round_.number,
            round_.answered,
            round_.invited,
            round_.skipped,
        )
        progress = (
            _said(
                lambda when: messages.home_round_open(number, answered, invited, skipped, when),
                _date(round_.deadline),
            )
            if round_.deadline
            else escape(messages.home_round_open(number, answered, invited, skipped, None))
        )
        lines.append(f":large_green_circle: {progress}")
    else:
        lines.append(escape(messages.HOME_NO_ROUND_OPEN))
    if item.last_closed is not None:
        closed = item.last_closed.closed_at
        last = item.last_closed.number
        lines.append(
            _said(lambda when: messages.home_last_closed(last, when), _date(closed))
            if closed
            else escape(messages.home_last_closed(last, None))
        )
    if item.delivery_failures:
        lines.append(f":warning: {escape(messages.home_undelivered(item.delivery_failures))}")
    return fit_lines(lines)


def fit_lines(lines: Sequence[str]) -> str:
    """Join escaped lines, dropping trailing ones that would not fit in one section."""
    text = ""
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > SECTION_CHARS:
            break
        text = candidate
    return text


def conversation_blocks(item: ConversationOverview) -> list[Block]:
    """A section and its admin buttons for one conversation."""
    key = item.key
    buttons = [_button(messages.HOME_EDIT_CADENCE, "cadence", key)]
    buttons.append(
        _button(messages.HOME_RESUME, "resume", key, "primary")
        if item.paused
        else _button(messages.HOME_PAUSE, "pause", key)
    )
    if item.open_round is None:
        buttons.append(_button(messages.HOME_OPEN_ROUND, "ask", key))
    else:
        number = item.open_round.number
        close = _button(messages.HOME_CLOSE_ROUND, "close", key, "danger")
        close["confirm"] = {
            "title": _pt(messages.HOME_CLOSE_ROUND_TITLE, 100),
            "text": _md(
                _said(
                    lambda title: messages.home_close_round_confirm(number, title),
                    fit(item.title, 200),
                )
            ),
            "confirm": _pt(messages.HOME_CLOSE_ROUND, 30),
            "deny": _pt(messages.CANCEL, 30),
            "style": "danger",
        }
        buttons.append(close)
    return [
        {"type": "section", "text": _md(conversation_text(item))},
        {"type": "actions", "block_id": f"{HOME_ACTION_PREFIX}{key}"[:255], "elements": buttons},
    ]


def build_home_view(
    *,
    admin: bool,
    reader: bool,
    conversations: Sequence[ConversationOverview],
    mine: Sequence[OutboundMessage],
    strategy: Digest | None = None,
) -> dict[str, Any]:
    """The Home view of one person.

    Args:
        admin: the person is an admin (sees the conversations and their buttons).
        reader: the person may read digests (the CIO or an admin: "Latest digest").
        conversations: the overview, shown to admins.
        mine: the engine's answer to `mine` (their open prompts); Forms are ignored.
        strategy: the enterprise digest, whose one-screen summary a reader sees first.

    Returns:
        A `home` view with at most 100 blocks, all text escaped.
    """
    blocks: list[Block] = [
        {"type": "header", "text": _pt(messages.HOME_TITLE, 150)},
        {"type": "context", "elements": [_md(escape(messages.HOME_INTRO))]},
    ]
    if reader:
        if strategy is not None:
            blocks += _summary_blocks(strategy)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{HOME_ACTION_PREFIX}reader",
                "elements": [_button(messages.HOME_LATEST_DIGEST, "digest", "all", "primary")],
            }
        )
    if admin:
        blocks.append({"type": "divider"})
        for item in conversations:
            blocks.extend(conversation_blocks(item))
    prompts = [m for m in mine if not isinstance(m, Form)]
    has_prompt = any(isinstance(m, Prompt) for m in prompts)
    if prompts and (has_prompt or not admin):
        blocks.append({"type": "divider"})
        for message in prompts:
            for payload in render_message(message):
                blocks.extend(payload.get("blocks") or [])
    if len(blocks) > MAX_HOME_BLOCKS:
        blocks = [
            *blocks[: MAX_HOME_BLOCKS - 1],
            {"type": "context", "elements": [_md(escape(messages.HOME_TRUNCATED))]},
        ]
    return {"type": "home", "blocks": blocks}


def _summary_blocks(strategy: Digest) -> list[Block]:
    """The summary that opens `digest all` (its first message), without its title.

    Charts stay in the channel's digest: the Home tab shows their figures in words (the
    context line each chart carries), and the details stay behind "Latest digest".
    """
    first = render_message(DigestMessage(digest=strategy))[0]["blocks"]
    body = [b for b in first[1:] if b.get("type") != "data_visualization"]
    return [{"type": "divider"}, *body]


def cadence_modal(key: str, title: str, cadence: str) -> dict[str, Any]:
    """The "Edit cadence" modal, prefilled with the cadence in force.

    Args:
        key: the conversation key (carried in `private_metadata`).
        title: the conversation title (shown, escaped).
        cadence: the current cadence text (the input's initial value).

    Returns:
        A modal view with callback id `CADENCE_CALLBACK_ID`.
    """
    forms = messages.CADENCE_ACCEPTED_FORMS
    hint = forms[0].upper() + forms[1:] + "."
    return {
        "type": "modal",
        "callback_id": CADENCE_CALLBACK_ID,
        "private_metadata": key,
        "title": _pt(messages.HOME_EDIT_CADENCE, 24),
        "submit": _pt(messages.HOME_SAVE, 24),
        "close": _pt(messages.CANCEL, 24),
        "blocks": [
            {
                "type": "section",
                "text": _md(_said(messages.home_cadence_question, fit(title, 200))),
            },
            {
                "type": "input",
                "block_id": CADENCE_BLOCK_ID,
                "label": _pt(messages.HOME_CADENCE_LABEL, 2000),
                "hint": _pt(hint, HINT_CHARS),
                "element": {
                    "type": "plain_text_input",
                    "action_id": CADENCE_ACTION_ID,
                    "initial_value": cadence[:MAX_LENGTH],
                    "max_length": MAX_LENGTH,
                    "placeholder": _pt(CADENCE_EXAMPLE, 150),
                },
            },
        ],
    }


def read_cadence_submission(view: dict[str, Any]) -> tuple[str, str]:
    """The conversation key and the cadence typed in a submitted cadence modal.

    Raises:
        ValueError: the view is not one of ours (no key, unreadable state).
    """
    key = str(view.get("private_metadata") or "")
    if not _KEY.match(key):
        raise ValueError("no conversation key in the cadence modal")
    try:
        value = view["state"]["values"][CADENCE_BLOCK_ID][CADENCE_ACTION_ID].get("value")
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError("unreadable cadence modal state") from exc
    return key, " ".join(str(value or "").split())


# --------------------------------------------------------------------------- listeners


class HomeListeners:
    """App Home listeners, bound to the core and one adapter.

    Args:
        core: the rest of the bot (`bot.adapters.base.Core`).
        adapter: the Slack adapter (its client is shared with Bolt).
    """

    def __init__(self, core: Core, adapter: SlackAdapter) -> None:
        self.core = core
        self.adapter = adapter
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, bolt: AsyncApp) -> None:
        """Attach the Home listeners to a Bolt app."""
        bolt.event("app_home_opened")(self.on_home_opened)
        bolt.action(HOME_ACTION_PATTERN)(self.on_action)
        bolt.view(CADENCE_CALLBACK_ID)(self.on_cadence)

    async def drain(self) -> None:
        """Wait for background Home publishing to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- roles (display only: the engine decides what a command may do) ------------------

    def is_admin(self, actor: str) -> bool:
        """Whether the playbook names this identity as an admin."""
        return Role.ADMIN in self.core.roles(actor)

    def is_reader(self, actor: str) -> bool:
        """Whether this identity may read digests (the CIO or an admin)."""
        return Role.READER in self.core.roles(actor)

    # -- listeners ------------------------------------------------------------------------

    async def on_home_opened(self, ack: Ack, event: dict[str, Any]) -> None:
        """The Home tab was opened: publish it in the background."""
        await ack()
        user = event.get("user")
        if event.get("tab", "home") == "home" and isinstance(user, str):
            self._spawn(self.publish(user), name="slack-home")

    async def on_action(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A Home button: run its command, DM the reply, then refresh the Home tab."""
        user = _user_id(body)
        if user is None:
            await ack()
            return
        actor = user_address(user)
        name = str(action.get("action_id") or "")[len(HOME_ACTION_PREFIX) :]
        key = str(action.get("value") or "")
        if name == "cadence":
            await ack()
            await self._open_cadence(str(body.get("trigger_id") or ""), actor, key)
            return
        template = COMMANDS.get(name)
        if template is None or (("{key}" in template) and not _KEY.match(key)):
            logger.warning("slack: unreadable Home action %r from %s", name[:40], actor)
            await ack()
            await self._reply(actor, [UNREADABLE_CLICK_NOTICE])
            return
        # The engine queues its reply to the person's DM with the command (it is theirs).
        await self.core.handle(CommandInvoked(actor=actor, text=template.format(key=key)))
        await ack()
        self._spawn(self.publish(user), name="slack-home")

    async def on_cadence(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The cadence modal was sent: save it, or keep the modal open with the error."""
        user = _user_id(body)
        if user is None:
            await ack()
            return
        actor = user_address(user)
        try:
            key, text = read_cadence_submission(view)
        except ValueError as exc:
            logger.warning("slack: unreadable cadence modal from %s: %s", actor, exc)
            await ack()
            await self._reply(actor, [UNREADABLE_CLICK_NOTICE])
            return
        if not text:
            await ack(
                response_action="errors", errors={CADENCE_BLOCK_ID: messages.HOME_CADENCE_EMPTY}
            )
            return
        try:  # a typo stays in the modal, without a DM about it
            parse_cadence(text)
        except ValueError as exc:
            await ack(
                response_action="errors", errors={CADENCE_BLOCK_ID: plain(str(exc), ERROR_CHARS)}
            )
            return
        replies = await self.core.handle(CommandInvoked(actor=actor, text=f"schedule {key} {text}"))
        error = next(
            (
                r.message
                for r in replies
                if isinstance(r.message, Notice) and r.message.level == "error"
            ),
            None,
        )
        if error is not None:
            message = " ".join(error.lines) or messages.GENERIC_FAILURE
            await ack(
                response_action="errors", errors={CADENCE_BLOCK_ID: plain(message, ERROR_CHARS)}
            )
            return
        await ack()
        self._spawn(self.publish(user), name="slack-home")

    # -- work -----------------------------------------------------------------------------

    async def publish(self, user: str) -> None:
        """Build and publish one person's Home view (errors are logged, not raised)."""
        actor = user_address(user)
        try:
            admin, reader = self.is_admin(actor), self.is_reader(actor)
            conversations = await self.core.overview() if admin else []
            mine = await self.core.open_prompts(actor)
            strategy = await self.core.strategy() if reader else None
            view = build_home_view(
                admin=admin,
                reader=reader,
                conversations=conversations,
                mine=mine,
                strategy=strategy,
            )
            await self.adapter.client.views_publish(user_id=user, view=view)
        except Exception:
            logger.exception("slack: could not publish the Home tab of %s", actor)

    async def _open_cadence(self, trigger_id: str, actor: str, key: str) -> None:
        if not self.is_admin(actor):
            await self._reply(
                actor,
                [
                    Notice(
                        level="error", lines=(messages.not_allowed("schedule", Role.ADMIN.value),)
                    )
                ],
            )
            return
        conversations = await self.core.overview()
        item = next((c for c in conversations if c.key == key), None)
        if item is None or not trigger_id:
            logger.warning("slack: cannot open the cadence modal of %r for %s", key[:40], actor)
            await self._reply(actor, [UNREADABLE_CLICK_NOTICE])
            return
        try:
            await self.adapter.client.views_open(
                trigger_id=trigger_id, view=cadence_modal(item.key, item.title, item.cadence)
            )
        except SlackApiError as exc:
            logger.warning("slack: could not open the cadence modal for %s: %s", actor, exc)
            await self._reply(actor, [UNREADABLE_CLICK_NOTICE])

    async def _reply(self, actor: str, replies: Sequence[OutboundMessage]) -> None:
        """Write replies to the actor's DM through the outbox and wake the worker."""
        if not replies:
            return
        prefix = f"slack-home:{uuid.uuid4().hex}"
        outgoing = [Outgoing(address=actor, message=m) for m in replies]
        await self.core.queue(outgoing, prefix)


def _user_id(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    ident = user.get("id") if isinstance(user, dict) else None
    return ident if isinstance(ident, str) and ident else None


def register_home(bolt_app: AsyncApp, core: Core, adapter: SlackAdapter) -> HomeListeners:
    """Attach the App Home (tab, admin buttons, cadence modal) to a Bolt app.

    Args:
        bolt_app: the Bolt app serving Slack.
        core: the rest of the bot.
        adapter: the Slack adapter whose client publishes views.

    Returns:
        The listeners (`drain()` them at shut-down to finish pending Home publishing).
    """
    listeners = HomeListeners(core, adapter)
    listeners.register(bolt_app)
    return listeners


__all__ = [
    "CADENCE_BLOCK_ID",
    "CADENCE_CALLBACK_ID",
    "HOME_ACTION_PREFIX",
    "HomeListeners",
    "build_home_view",
    "cadence_modal",
    "read_cadence_submission",
    "register_home",
]

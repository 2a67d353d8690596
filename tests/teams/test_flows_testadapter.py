"""Conversation flows through botbuilder's own `TestAdapter`, on the real engine and database.

`TestAdapter` runs our bot (`TeamsBot.on_turn`) the way botbuilder's samples test an
`ActivityHandler`: `adapter.send(activity)` runs a turn, `assert_reply` checks what the bot
said next. Our bot answers through the outbox, never on the turn (see `bot.py`), so the
outbox worker runs here too, delivering with our real `TeamsAdapter` whose "cloud" is the
`TestAdapter`: every reply takes the production path (engine -> outbox -> `TeamsAdapter.send`
-> `continue_conversation` -> a new message) and lands in the `TestAdapter`'s reply buffer,
where `assert_reply` reads it as the person would: the text of the card, in the chat it
was posted to. What the turn itself returns (an invoke response) and card updates are read
from the `TestAdapter` as well.

Activities are the JSON Teams sends (`conftest.teams_activity`), deserialized by botbuilder.
Every test runs on SQLite and on PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter, TestFlow
from botbuilder.schema import Activity, ActivityTypes
from sqlalchemy import select

from bot.adapters.teams.adapter import NOT_INSTALLED, ReferenceStore, TeamsAdapter
from bot.adapters.teams.bot import TeamsBot
from bot.app import Runtime
from bot.config import load_settings
from bot.delivery.outbox import OutboxWorker
from bot.flows.engine import EngineHooks
from bot.metrics import Metrics
from storage import models
from storage.db import Database
from storage.references import References
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.fakes.state import outbox_outcomes, stored_answers
from tests.teams.conftest import (
    ADMIN,
    BOT_ID,
    CIO_CHANNEL,
    MARIA,
    SAM,
    address,
    chat,
    mention,
    submits,
    teams_activity,
    teams_playbook,
)

SERVICE_URL = "https://smba.example.invalid/teams/"  # never called: the TestAdapter answers
WAIT_MS = 10_000  # assert_reply's limit; a reply normally arrives within milliseconds
_ESCAPED = re.compile(r"\\(.)")
_ANGLES = str.maketrans({"\uff1c": "<", "\uff1e": ">"})

Inspector = Callable[[Activity, str], None]


def read(activity: Activity) -> str:
    """What a person reads on an activity's cards: texts, facts, labels and button titles."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            parts.extend(
                node[key]
                for key in ("text", "title", "value", "label")
                if isinstance(node.get(key), str)
            )
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for attachment in activity.attachments or []:
        walk(attachment.content)
    # Markdown escapes are not shown, and the fullwidth angle brackets read as < and >.
    return _ESCAPED.sub(r"\1", "\n".join(parts)).translate(_ANGLES)


def says(*fragments: str, to: str, never: tuple[str, ...] = ()) -> Inspector:
    """An `assert_reply` inspector: a new message in conversation `to` reading `fragments`."""

    def inspect(reply: Activity, description: str) -> None:
        assert reply.type == ActivityTypes.message, f"{description}: got a {reply.type}"
        assert reply.conversation.id == to, f"{description}: posted in {reply.conversation.id}"
        assert not reply.reply_to_id, f"{description}: a reply, not a new message"
        text = read(reply)
        for fragment in fragments:
            assert fragment in text, f"{description}: {fragment!r} not in {text!r}"
        for fragment in never:
            assert fragment not in text, f"{description}: {fragment!r} in {text!r}"

    return inspect


class TeamsTestBot:
    """Our bot on a `TestAdapter`, with the real engine, database and outbox worker."""

    def __init__(self, db: Database, clock: FakeClock) -> None:
        harness = EngineHarness(db, clock, teams_playbook())
        self.db = db
        self.runtime = Runtime(
            settings=load_settings(CONSOLE_ENABLED=False, SCHEDULER_ENABLED=False),
            db=db,
            playbook=harness.playbook,
            engine=harness.engine,
            metrics=Metrics(),
        )
        references = ReferenceStore(References(db))
        self.bot = TeamsBot(self.runtime, references)
        self.adapter = TestAdapter(self.bot.on_turn)
        delivery = TeamsAdapter(cloud=self.adapter, app_id=None, references=references)
        self.runtime.adapters[delivery.platform] = delivery
        self.worker = OutboxWorker(
            db, self.runtime.adapters, clock=clock, poll_seconds=0.05, per_destination_interval=0
        )
        self.runtime.worker = self.worker
        self._ids = itertools.count(1)
        self._joined: set[str] = set()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Run the outbox worker, woken by the engine like in `bot.app`."""
        loop = asyncio.get_running_loop()
        self.runtime.engine.hooks = EngineHooks(
            outbox_changed=lambda: loop.call_soon_threadsafe(self.worker.notify)
        )
        self._task = asyncio.create_task(self.worker.run(self._stop))

    async def stop(self) -> None:
        """Stop the worker."""
        self._stop.set()
        self.worker.notify()
        if self._task is not None:
            await self._task

    # -- activities, as Teams sends them ------------------------------------------------

    def activity(
        self, kind: str, user: str, *, channel: str | None = None, **extra: Any
    ) -> Activity:
        """A Teams activity from `user`, deserialized by botbuilder."""
        body = teams_activity(
            kind, user, n=next(self._ids), service_url=SERVICE_URL, channel=channel, **extra
        )
        return Activity().deserialize(body)

    def says(self, user: str, text: str, *, channel: str | None = None) -> Activity:
        """`user` types `text` to the bot (in a channel, after an @mention)."""
        if channel is None:
            return self.activity("message", user, text=text, textFormat="plain")
        return self.activity("message", user, channel=channel, **mention(text))

    def installs(self, user: str) -> Activity:
        """`user` adds the app in personal scope: the bot joins their chat."""
        members = [{"id": BOT_ID}, {"id": f"29:1{user}-teams-id"}]
        return self.activity("conversationUpdate", user, membersAdded=members)

    def added_to(self, channel: str, kind: str = "conversationUpdate") -> Activity:
        """The admin adds the app to a team: an activity in the channel, not in a thread."""
        extra: dict[str, Any] = {"action": "add"}
        if kind == "conversationUpdate":
            extra = {"membersAdded": [{"id": BOT_ID}]}
        activity = self.activity(kind, ADMIN, channel=channel, **extra)
        activity.conversation.id = channel
        return activity

    def submits(self, user: str, value: dict[str, Any], reply_to: str | None = None) -> Activity:
        """`user` presses an Action.Submit: a message whose `value` is the card's data."""
        return self.activity("message", user, value=value, replyToId=reply_to)

    # -- state ----------------------------------------------------------------------------

    async def settled(self) -> list[Activity]:
        """Wait until the outbox has nothing pending or in flight; returns unread replies.

        A row is marked sent only after its activity reached the TestAdapter, so once the
        outbox is settled every reply of the turns so far is in the buffer.
        """
        for _ in range(400):
            if not await asyncio.to_thread(self._unfinished):
                break
            await asyncio.sleep(0.025)
        else:
            raise AssertionError("the outbox did not settle")
        replies = list(self.adapter.activity_buffer)
        self.adapter.activity_buffer.clear()
        return replies

    def _unfinished(self) -> int:
        with self.db.transaction() as s:
            return len(
                s.scalars(
                    select(models.OutboxMessage.id).where(
                        models.OutboxMessage.status.in_(("pending", "sending"))
                    )
                ).all()
            )

    def outbox(self, destination: str) -> list[tuple[str, str | None]]:
        """(status, last error) of each outbox row to an address."""
        return outbox_outcomes(self.db, destination)

    def answers(self, user: str) -> dict[str, Any]:
        """Stored answers of a user, by question id."""
        return stored_answers(self.db, address(user))

    async def join(self, *users: str) -> None:
        """Users install the app and read their welcome (once per user)."""
        for user in users:
            if user in self._joined:
                continue
            self._joined.add(user)
            flow = await self.adapter.send(self.installs(user))
            await flow.assert_reply(says("Welcome to strategy-bot", to=chat(user)), user, WAIT_MS)

    async def open_round(self) -> dict[str, Any]:
        """Maria and the admin join, the admin asks social-media; returns Maria's prompt card."""
        await self.join(MARIA, ADMIN)
        await self.adapter.send(self.says(ADMIN, "ask social-media"))
        replies = await self.settled()
        (prompt,) = [r for r in replies if r.conversation.id == chat(MARIA)]
        (notice,) = [r for r in replies if r.conversation.id == chat(ADMIN)]
        assert "Social Media: round 1 is open. 2 stakeholders prompted" in read(notice)
        assert "What are you hearing from customers?" in read(prompt)
        return dict(prompt.attachments[0].content)


@pytest.fixture
async def teams(db: Database, clock: FakeClock) -> AsyncIterator[TeamsTestBot]:
    """Our bot on a TestAdapter, its outbox worker running."""
    bot = TeamsTestBot(db, clock)
    await bot.start()
    yield bot
    await bot.stop()


# ---------------------------------------------------------------- install and welcome


async def test_installing_welcomes_once_and_says_how_to_get_help(teams: TeamsTestBot) -> None:
    flow = await teams.adapter.send(teams.installs(MARIA))
    flow = await flow.assert_reply(
        says("Welcome to strategy-bot", "Say “help”", "“mine”", to=chat(MARIA)),
        "the welcome",
        WAIT_MS,
    )
    # Teams also sends installationUpdate for the same install: no second welcome.
    flow = await flow.send(teams.activity("installationUpdate", MARIA, action="add"))
    # Nor when someone else joins a chat the bot is already in.
    others = [{"id": "29:1someone-else"}]
    await flow.send(teams.activity("conversationUpdate", MARIA, membersAdded=others))
    assert await teams.settled() == []
    assert teams.outbox(address(MARIA)) == [("sent", None)]


async def test_an_install_delivers_the_prompt_that_was_waiting(teams: TeamsTestBot) -> None:
    await teams.join(ADMIN)
    await teams.adapter.send(teams.says(ADMIN, "ask social-media"))
    await teams.settled()
    # Maria had not installed the app when the round opened: her prompt could not go out.
    assert teams.outbox(address(MARIA)) == [("failed", NOT_INSTALLED)]
    flow = await teams.adapter.send(teams.installs(MARIA))
    flow = await flow.assert_reply(
        says("Welcome to strategy-bot", to=chat(MARIA)), "welcome", WAIT_MS
    )
    flow = await flow.assert_reply(
        says("Your open questions", "Social Media round 1: question 1 of 4", to=chat(MARIA)),
        "what is open",
        WAIT_MS,
    )
    await flow.assert_reply(
        says("What are you hearing from customers?", "Send", to=chat(MARIA)), "the prompt", WAIT_MS
    )


async def test_adding_the_app_to_the_cio_channel_posts_a_welcome_there(teams: TeamsTestBot) -> None:
    flow = await teams.adapter.send(teams.added_to(CIO_CHANNEL, "installationUpdate"))
    await flow.assert_reply(
        says("Welcome to strategy-bot", "Round digests for the CIO are posted", to=CIO_CHANNEL),
        "the channel welcome",
        WAIT_MS,
    )
    other = "19:general0other@thread.tacv2"
    flow = await teams.adapter.send(teams.added_to(other))
    await flow.assert_reply(
        says("Stakeholders answer in their personal chat", to=other, never=("digests",)),
        "another channel's welcome",
        WAIT_MS,
    )


async def test_removing_the_app_stops_delivery_until_it_is_added_again(teams: TeamsTestBot) -> None:
    await teams.join(MARIA, ADMIN)
    await teams.adapter.send(teams.activity("installationUpdate", MARIA, action="remove"))
    await teams.adapter.send(teams.says(ADMIN, "ask social-media"))
    replies = await teams.settled()
    assert [r.conversation.id for r in replies] == [chat(ADMIN)]  # nothing reached Maria
    ((state, error),) = teams.outbox(address(MARIA))[1:]
    assert state == "failed" and error is not None and "removed from this chat" in error
    flow = await teams.adapter.send(teams.installs(MARIA))
    flow = await flow.assert_reply(says("Welcome to strategy-bot", to=chat(MARIA)), "back", WAIT_MS)
    flow = await flow.assert_reply(says("Your open questions", to=chat(MARIA)), "open", WAIT_MS)
    await flow.assert_reply(says("What are you hearing", to=chat(MARIA)), "prompt", WAIT_MS)


# ---------------------------------------------------------------- commands


async def test_help_lists_what_each_role_can_do(teams: TeamsTestBot) -> None:
    await teams.join(MARIA, ADMIN)
    flow = await teams.adapter.send(teams.says(MARIA, "help"))
    flow = await flow.assert_reply(
        says(
            "strategy-bot commands",
            "“mine”",
            "“snooze <duration>”",
            to=chat(MARIA),
            never=("“ask",),
        ),
        "a stakeholder's help",
        WAIT_MS,
    )
    flow = await flow.send(teams.says(ADMIN, "help"))
    await flow.assert_reply(
        says("“mine”", "“status [conversation]”", "“ask <conversation>”", to=chat(ADMIN)),
        "an admin's help",
        WAIT_MS,
    )


async def test_mine_before_and_after_a_round_opens(teams: TeamsTestBot) -> None:
    await teams.join(MARIA)
    flow = await teams.adapter.send(teams.says(MARIA, "mine"))
    await flow.assert_reply(
        says("You have no open questions right now", to=chat(MARIA)), "nothing yet", WAIT_MS
    )
    await teams.open_round()
    flow = await teams.adapter.send(teams.says(MARIA, "mine"))
    flow = await flow.assert_reply(
        says("Your open questions", "Social Media round 1: question 1 of 4", to=chat(MARIA)),
        "the list",
        WAIT_MS,
    )
    await flow.assert_reply(
        says("What are you hearing from customers?", to=chat(MARIA)), "prompt", WAIT_MS
    )


async def test_unknown_words_get_a_did_you_mean(teams: TeamsTestBot) -> None:
    await teams.join(ADMIN, MARIA)
    flow = await teams.adapter.send(teams.says(ADMIN, "stauts"))
    flow = await flow.assert_reply(
        says("I don't know the command “stauts”. Did you mean “status”?", to=chat(ADMIN)),
        "a near miss in the chat",
        WAIT_MS,
    )
    flow = await flow.send(teams.says(MARIA, "hlep"))
    flow = await flow.assert_reply(
        says("Did you mean “help”?", to=chat(MARIA)), "a stakeholder", WAIT_MS
    )
    # In a channel the words after the @mention are always a command.
    flow = await flow.send(teams.says(ADMIN, "frobnicate social-media", channel=CIO_CHANNEL))
    await flow.assert_reply(
        says("I don't know the command “frobnicate”", to=CIO_CHANNEL), "in the channel", WAIT_MS
    )


async def test_a_stakeholder_cannot_run_admin_commands(teams: TeamsTestBot) -> None:
    await teams.join(MARIA)
    flow = await teams.adapter.send(teams.says(MARIA, "ask social-media"))
    await flow.assert_reply(says("Only admins can use “ask”", to=chat(MARIA)), "refused", WAIT_MS)
    await teams.settled()
    assert teams.outbox(address(SAM)) == []  # no round was opened


# ---------------------------------------------------------------- answering


async def test_plain_text_answers_question_by_question(teams: TeamsTestBot) -> None:
    await teams.open_round()
    steps = [
        ("Customers ask about our <at>fan</at> pages", "How mature is our customer-facing"),
        ("skip", "This question is required"),  # a command while a question waits
        ("4", "Which channel matters most?"),
        ("Twitter", "Should we pilot a listening tool?"),
        ("yes", "Done ✓"),
    ]
    flow: TestFlow | None = None
    for text, expected in steps:
        flow = await (flow or teams.adapter).send(teams.says(MARIA, text))
        flow = await flow.assert_reply(says(expected, to=chat(MARIA)), f"after {text!r}", WAIT_MS)
    assert teams.answers(MARIA) == {
        "hearing": "Customers ask about our <at>fan</at> pages",
        "external": 4,
        "channel": "Twitter",
        "pilot": True,
    }
    assert await teams.settled() == []  # the summary was the last thing said


async def test_send_on_a_prompt_card_answers_the_question_it_shows(teams: TeamsTestBot) -> None:
    card = await teams.open_round()
    send = {**submits(card)["answer"], "answer": "Mostly praise"}
    flow = await teams.adapter.send(teams.submits(MARIA, send, reply_to="1:prompt"))
    flow = await flow.assert_reply(
        says("How mature is our customer-facing", to=chat(MARIA)), "next", WAIT_MS
    )
    # The same card's Send again: a stale click. It neither answers question 2 nor
    # rewrites the first answer, and says why.
    again = {**submits(card)["answer"], "answer": "Praise and questions"}
    flow = await flow.send(teams.submits(MARIA, again, reply_to="1:prompt"))
    await flow.assert_reply(
        says("You already answered", "review", to=chat(MARIA)), "stale", WAIT_MS
    )
    assert teams.answers(MARIA) == {"hearing": "Mostly praise"}
    assert teams.adapter.updated_activities == []  # not finished: the card stays


async def test_a_stale_send_after_the_round_closed_is_refused_politely(teams: TeamsTestBot) -> None:
    card = await teams.open_round()
    await teams.adapter.send(teams.says(ADMIN, "close social-media"))
    await teams.settled()
    late = {**submits(card)["answer"], "answer": "Is this still open?"}
    flow = await teams.adapter.send(teams.submits(MARIA, late, reply_to="1:prompt"))
    await flow.assert_reply(
        says("the Social Media round closed", "wasn't recorded", to=chat(MARIA)), "late", WAIT_MS
    )
    assert teams.answers(MARIA) == {}


async def test_answer_all_form_then_the_card_becomes_a_receipt(teams: TeamsTestBot) -> None:
    card = await teams.open_round()
    flow = await teams.adapter.send(teams.submits(MARIA, submits(card)["answer_all"], "1:prompt"))
    holder: dict[str, Activity] = {}

    def form_card(reply: Activity, description: str) -> None:
        says("Answer every question at once", "Submit answers", to=chat(MARIA))(reply, description)
        holder["form"] = reply

    flow = await flow.assert_reply(form_card, "the form", WAIT_MS)
    form = submits(holder["form"].attachments[0].content)["form"]
    value = {**form, "q:hearing": "Praise for support", "q:external": "4", "q:channel": "2"}
    flow = await flow.send(teams.submits(MARIA, value, reply_to="1:form"))
    await flow.assert_reply(
        says("Done ✓", "Praise for support", "Twitter", "Edit answer 1", to=chat(MARIA)),
        "the summary",
        WAIT_MS,
    )
    (update,) = teams.adapter.updated_activities
    assert update.id == "1:form"  # the form card itself now reads as a receipt
    receipt = json.dumps(update.attachments[0].content, ensure_ascii=False)
    assert "Praise for support" in receipt and "Action.Submit" not in receipt
    assert teams.answers(MARIA)["channel"] == "Twitter"


async def test_an_unreadable_submit_is_answered_not_crashed(teams: TeamsTestBot) -> None:
    await teams.join(MARIA)
    foreign = {"msteams": {"type": "messageBack"}, "someOtherBot": 1}
    flow = await teams.adapter.send(teams.submits(MARIA, foreign, "1:1"))
    await flow.assert_reply(
        says("couldn't read that button", to=chat(MARIA)), "unreadable", WAIT_MS
    )


async def test_action_execute_gets_its_receipt_as_the_invoke_response(teams: TeamsTestBot) -> None:
    card = await teams.open_round()
    form = {
        "strategy": "form",
        "r": submits(card)["answer"]["r"],
        "v": {"hearing": "t", "external": "r", "channel": "s", "pilot": "b"},
        "q:hearing": "Quiet",
        "q:external": "2",
        "q:channel": "1",
    }
    value = {"action": {"type": "Action.Execute", "verb": "strategy", "data": form}}
    await teams.adapter.send(
        teams.activity("invoke", MARIA, name="adaptiveCard/action", value=value)
    )
    replies = await teams.settled()
    (invoke,) = [r for r in replies if r.type == ActivityTypes.invoke_response]
    assert invoke.value.status == 200
    body = invoke.value.body
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Quiet" in json.dumps(body["value"]) and "Action.Submit" not in json.dumps(body["value"])
    (summary,) = [r for r in replies if r.type == ActivityTypes.message]
    assert "Done ✓" in read(summary) and summary.conversation.id == chat(MARIA)
    assert teams.answers(MARIA) == {
        "hearing": "Quiet",
        "external": 2,
        "channel": "Blogs",
        "pilot": None,
    }


async def test_other_invokes_are_not_implemented(teams: TeamsTestBot) -> None:
    query = teams.activity("invoke", MARIA, name="composeExtension/query", value={})
    flow = await teams.adapter.send(query)

    def not_implemented(reply: Activity, description: str) -> None:
        assert reply.type == ActivityTypes.invoke_response, description
        assert reply.value.status == 501, description

    await flow.assert_reply(not_implemented, "501", WAIT_MS)


async def test_a_send_from_a_card_that_names_no_question_answers_the_current_one(
    teams: TeamsTestBot,
) -> None:
    card = await teams.open_round()
    round_id = submits(card)["answer"]["r"]
    flow = await teams.adapter.send(teams.says(MARIA, "Mostly praise"))
    flow = await flow.assert_reply(says("How mature", to=chat(MARIA)), "question 2", WAIT_MS)
    # A card posted before Send carried its question id (`v` null).
    old_card = {"strategy": "answer", "r": round_id, "v": None, "answer": "4"}
    flow = await flow.send(teams.submits(MARIA, old_card, reply_to="1:old"))
    await flow.assert_reply(says("Which channel matters most?", to=chat(MARIA)), "q3", WAIT_MS)
    assert teams.answers(MARIA) == {"hearing": "Mostly praise", "external": 4}

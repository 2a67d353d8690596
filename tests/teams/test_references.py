"""The stored conversation references: installs, removals and unreachable chats.

On SQLite and PostgreSQL (`db`): "was this a new install?" decides whether a welcome is
sent, so it must be true exactly once per install even when Teams' two install activities
arrive at the same time.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference
from sqlalchemy.orm import Session

from bot.adapters.teams.adapter import NOT_INSTALLED, ReferenceStore
from storage.db import Database
from storage.references import References

PERSON = "teams:00000000-0000-0000-0000-000000000ann"


def reference(service_url: str = "https://smba.example.invalid/teams/") -> ConversationReference:
    return ConversationReference(
        activity_id="1700000000001",
        bot=ChannelAccount(id="28:bot", name="Strategy Bot"),
        user=ChannelAccount(id="29:1ann", name="Ann"),
        conversation=ConversationAccount(id="a:1personal-ann", conversation_type="personal"),
        channel_id="msteams",
        service_url=service_url,
    )


def test_a_new_install_is_reported_once_and_refreshes_after(db: Database) -> None:
    store = ReferenceStore(References(db))
    assert store.lookup(PERSON).problem == NOT_INSTALLED
    assert store.save(PERSON, "personal", reference()) is True
    assert store.save(PERSON, "personal", reference("https://moved.example.invalid/")) is False
    found = store.lookup(PERSON)
    assert found.problem is None and found.reference is not None
    assert found.reference.service_url == "https://moved.example.invalid/"
    assert found.reference.activity_id is None  # proactive posts are new messages


def test_an_unreachable_chat_says_why_until_it_is_saved_again(db: Database) -> None:
    store = ReferenceStore(References(db))
    store.save(PERSON, "personal", reference())
    store.mark_unreachable(PERSON, "ConversationBlockedByUser (HTTP 403)" + "!" * 400)
    found = store.lookup(PERSON)
    assert found.reference is None and found.problem is not None
    assert found.problem.startswith("unreachable since ")
    assert "(ConversationBlockedByUser (HTTP 403)!!!" in found.problem  # clipped, not lost
    assert len(found.problem) < 300  # fits the outbox's last_error
    assert store.save(PERSON, "personal", reference()) is True  # back: a new install
    assert store.lookup(PERSON).problem is None
    store.uninstall(PERSON)
    problem = store.lookup(PERSON).problem
    assert problem is not None and "the bot was removed from this chat or team" in problem


def test_concurrent_install_activities_count_as_one_install(db: Database) -> None:
    store = ReferenceStore(References(db))
    start = threading.Barrier(2)

    def install() -> bool:
        start.wait(5)
        return store.save(PERSON, "personal", reference())

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: install(), range(2)))
    assert sorted(results) == [False, True]
    store.mark_unreachable(PERSON, "BotDisabledByAdmin (HTTP 403)")
    start.reset()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: install(), range(2)))
    assert sorted(results) == [False, True]  # a reinstall, too, is one install


def test_what_commits_with_an_install_rolls_back_with_it(db: Database) -> None:
    store = ReferenceStore(References(db))

    def outbox_down(session: Session) -> None:
        raise RuntimeError("the welcome could not be queued")

    with pytest.raises(RuntimeError):
        store.save(PERSON, "personal", reference(), outbox_down)
    assert store.lookup(PERSON).problem == NOT_INSTALLED  # so the redelivery is an install
    welcomed: list[Session] = []
    assert store.save(PERSON, "personal", reference(), welcomed.append) is True
    assert store.save(PERSON, "personal", reference(), welcomed.append) is False
    assert len(welcomed) == 1

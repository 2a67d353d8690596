"""The membership refresh against a scripted directory, on SQLite and PostgreSQL.

What is checked here is what the Slack end-to-end tests cannot pin down one rule at a
time: listed members are never removed, each source's rows are replaced only when it
answered, addresses resolve (or are reported), a restart keeps what was read, profiles
are read at most once per `PROFILE_MAX_AGE`, and a slow directory cannot hold a round.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.base import DirectoryError, Person
from bot.flows.commands import ask_target
from bot.flows.directory import PROFILE_MAX_AGE, MembershipRefresher
from bot.flows.events import CommandInvoked, TextMessage
from bot.flows.sync import sync_playbook
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK

UG, CH = "slack:usergroup:S0UG", "slack:channel:C0CH"


def playbook(**marketing: Any) -> Playbook:
    """The engine tests' playbook with a Slack-sourced marketing group."""
    book = copy.deepcopy(PLAYBOOK)
    book["roles"]["admins"].append("slack:U0ADMIN")
    book["groups"]["marketing"] = {
        "title": "Marketing",
        "members": [
            {"id": "slack:U0LISTED", "name": "Listed Person", "timezone": "Europe/Paris"},
            {"id": "email:pat@acme.example", "name": "Pat (PR)"},
        ],
        "sources": [UG, CH],
        **marketing,
    }
    return Playbook.model_validate(book)


class ScriptedDirectory:
    """A directory whose answers each test sets; records every question asked."""

    platform = "slack"
    resolves_email = True

    def __init__(self) -> None:
        self.sources: dict[str, list[str]] = {UG: ["slack:U0ANA"], CH: ["slack:U0BOT"]}
        self.people: dict[str, Person] = {
            "slack:U0ANA": Person(identity="slack:U0ANA", name="Ana", timezone="Asia/Tokyo"),
            "slack:U0BOT": Person(identity="slack:U0BOT", name="Helper", bot=True),
            "slack:U0PAT": Person(identity="slack:U0PAT", name="Patricia", timezone="UTC"),
            "slack:U0LISTED": Person(
                identity="slack:U0LISTED", name="Slack Name", timezone="Asia/Tokyo"
            ),
        }
        self.emails: dict[str, str] = {"pat@acme.example": "slack:U0PAT"}
        self.failing: set[str] = set()  # sources, addresses or identities that raise
        self.hang = False
        self.asked: list[str] = []

    async def members(self, source: str) -> list[str]:
        self.asked.append(source)
        if self.hang:
            await asyncio.sleep(3600)
        if source in self.failing:
            raise DirectoryError("ratelimited")
        return list(self.sources[source])

    async def find_email(self, email: str) -> Person | None:
        self.asked.append(email)
        if email in self.failing:
            raise DirectoryError("http_500")
        identity = self.emails.get(email)
        return self.people[identity] if identity else None

    async def profile(self, identity: str) -> Person | None:
        self.asked.append(identity)
        if identity in self.failing:
            raise DirectoryError("http_500")
        return self.people.get(identity)


@pytest.fixture
def directory() -> ScriptedDirectory:
    return ScriptedDirectory()


def setup(db: Database, book: Playbook) -> None:
    with db.transaction() as s:
        sync_playbook(s, book, now=datetime(2026, 11, 23, 9, tzinfo=UTC))


async def refresh(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock, **kw: Any
) -> None:
    refresher = MembershipRefresher(db, book, {"slack": directory}, clock=clock, **kw)
    await refresher.refresh("social-media")
    if refresher.background is not None:  # known people's stale profiles, read after
        await refresher.background


def rows(db: Database, group: str = "marketing") -> dict[str, str | None]:
    """Identity -> source of a group's rows."""
    with db.transaction() as s:
        found = s.execute(
            select(models.Member.identity, models.GroupMember.source)
            .join(models.GroupMember, models.GroupMember.member_id == models.Member.id)
            .join(models.Group, models.Group.id == models.GroupMember.group_id)
            .where(models.Group.key == group)
        ).all()
    return {identity: source for identity, source in found}


def member(db: Database, identity: str) -> models.Member:
    with db.transaction() as s:
        found = s.scalar(select(models.Member).where(models.Member.identity == identity))
    assert found is not None, identity
    return found


@pytest.fixture
def book() -> Playbook:
    """The playbook: social-media asks the Slack-sourced marketing group."""
    return playbook()


FIRST = {
    "slack:U0LISTED": None,
    "slack:U0PAT": "email:pat@acme.example",
    "slack:U0ANA": UG,
}


async def test_sources_and_addresses_are_read_and_bots_left_out(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    assert rows(db) == {"slack:U0LISTED": None, "email:pat@acme.example": None}
    await refresh(db, book, directory, clock)
    assert rows(db) == FIRST  # the bot from the channel is not a member
    ana = member(db, "slack:U0ANA")
    assert (ana.display_name, ana.timezone, ana.directory_checked_at) == (
        "Ana",
        "Asia/Tokyo",
        clock(),
    )
    listed = member(db, "slack:U0LISTED")  # the playbook's name and zone win
    assert (listed.display_name, listed.timezone) == ("Listed Person", "Europe/Paris")
    pat = member(db, "slack:U0PAT")
    assert (pat.display_name, pat.timezone) == ("Pat (PR)", "UTC")


async def test_a_source_that_answers_is_replaced_one_that_fails_is_kept(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    directory.sources[CH] = ["slack:U0CARL"]
    directory.people["slack:U0CARL"] = Person(identity="slack:U0CARL", name="Carl")
    await refresh(db, book, directory, clock)
    assert rows(db) == {**FIRST, "slack:U0CARL": CH}

    directory.sources = {UG: ["slack:U0ERIN"], CH: []}
    directory.people["slack:U0ERIN"] = Person(identity="slack:U0ERIN", name="Erin")
    directory.emails["pat@acme.example"] = "slack:U0ERIN"
    directory.failing = {UG, "pat@acme.example"}
    clock.advance(PROFILE_MAX_AGE * 2)  # so the address is looked up again, and fails
    await refresh(db, book, directory, clock)
    assert "pat@acme.example" in directory.asked[-5:]
    # The user group and the address keep what they had; the channel emptied; the listed
    # member is untouched.
    assert rows(db) == FIRST


async def test_a_listed_member_also_in_a_source_stays_listed(
    db: Database, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    book = playbook(members=[{"id": "slack:U0ANA", "name": "Ana (listed)"}])
    setup(db, book)
    await refresh(db, book, directory, clock, max_age=timedelta(0))
    assert rows(db) == {"slack:U0ANA": None}
    directory.sources[UG] = []
    await refresh(db, book, directory, clock, max_age=timedelta(0))
    assert rows(db) == {"slack:U0ANA": None}
    assert member(db, "slack:U0ANA").display_name == "Ana (listed)"


async def test_deactivated_members_leave_and_unknown_addresses_are_unreachable(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    await refresh(db, book, directory, clock)
    directory.people["slack:U0ANA"] = Person(identity="slack:U0ANA", active=False)
    directory.emails.clear()
    clock.advance(PROFILE_MAX_AGE + timedelta(minutes=1))
    await refresh(db, book, directory, clock)
    assert rows(db) == {"slack:U0LISTED": None, "email:pat@acme.example": None}
    assert member(db, "slack:U0ANA").unreachable_reason == "deactivated"
    pat = member(db, "email:pat@acme.example")
    assert pat.unreachable_reason == "no slack user has this email address"


async def test_a_restart_keeps_what_was_read_and_drops_removed_sources(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    await refresh(db, book, directory, clock)
    setup(db, book)  # the bot restarts with the same playbook
    assert rows(db) == FIRST  # no second row for the resolved address
    data = book.model_dump(mode="json")
    data["groups"]["marketing"]["sources"] = [CH]
    data["groups"]["marketing"]["members"] = data["groups"]["marketing"]["members"][:1]
    setup(db, Playbook.model_validate(data))  # the user group and the address were removed
    assert rows(db) == {"slack:U0LISTED": None}


async def test_profiles_are_read_at_most_once_per_max_age(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    await refresh(db, book, directory, clock)
    first = list(directory.asked)
    assert {"slack:U0ANA", "slack:U0LISTED", "slack:U0BOT"} <= set(first)
    assert "slack:U0PAT" not in first  # the address look-up returned the profile
    directory.asked.clear()
    clock.advance(PROFILE_MAX_AGE - timedelta(minutes=1))
    await refresh(db, book, directory, clock)
    assert sorted(directory.asked) == sorted([UG, CH, "slack:U0BOT"])  # bots are not stored
    directory.asked.clear()
    clock.advance(timedelta(minutes=2))
    await refresh(db, book, directory, clock)
    assert "slack:U0ANA" in directory.asked and "pat@acme.example" in directory.asked


async def test_a_known_persons_stale_profile_is_read_after_the_round_can_open(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    await refresh(db, book, directory, clock)
    directory.people["slack:U0ANA"] = Person(
        identity="slack:U0ANA", name="Ana", timezone="America/Chicago"
    )
    clock.advance(PROFILE_MAX_AGE + timedelta(minutes=1))
    directory.asked.clear()
    refresher = MembershipRefresher(db, book, {"slack": directory}, clock=clock)
    await refresher.refresh("social-media")
    assert "slack:U0ANA" not in directory.asked  # not waited for before the open
    assert refresher.background is not None
    await refresher.background
    assert "slack:U0ANA" in directory.asked
    assert member(db, "slack:U0ANA").timezone == "America/Chicago"


async def test_a_hanging_directory_is_cut_off_and_changes_nothing(
    db: Database, book: Playbook, directory: ScriptedDirectory, clock: FakeClock
) -> None:
    setup(db, book)
    await refresh(db, book, directory, clock)
    directory.hang = True
    directory.sources = {UG: [], CH: []}
    await asyncio.wait_for(refresh(db, book, directory, clock, timeout=0.2), timeout=5)
    assert rows(db) == FIRST


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (CommandInvoked(actor="slack:U0ADMIN", text="ask social-media"), "social-media"),
        (TextMessage(actor="slack:U0ADMIN", text="/strategy open Social-Media"), "social-media"),
        (CommandInvoked(actor="slack:U0ANA", text="ask social-media"), None),  # not an admin
        (CommandInvoked(actor="slack:U0ADMIN", text="ask intranet"), None),
        (CommandInvoked(actor="slack:U0ADMIN", text="close social-media"), None),
        (TextMessage(actor="slack:U0ADMIN", text="ask me anything, but later"), None),
    ],
)
def test_ask_target(event: CommandInvoked | TextMessage, expected: str | None) -> None:
    assert ask_target(event, playbook()) == expected

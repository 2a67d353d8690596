"""The playbook sync: care dates of conversations, and replicas syncing at the same instant."""

from __future__ import annotations

import copy
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bot.flows.sync import sync_playbook
from bot.playbook.model import Playbook
from storage import models
from storage.db import Database
from tests.fakes.engine import PLAYBOOK

INSTALLED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def since(db: Database) -> dict[str, datetime | None]:
    with db.transaction() as s:
        return {c.key: c.scheduled_since for c in s.scalars(select(models.Conversation))}


def sync(db: Database, book: Playbook, now: datetime) -> None:
    with db.transaction() as s:
        sync_playbook(s, book, now=now)


def test_a_conversation_is_in_care_from_its_first_sync(db: Database) -> None:
    book = Playbook.model_validate(PLAYBOOK)
    sync(db, book, INSTALLED)
    assert since(db) == {"social-media": INSTALLED, "social-liability": INSTALLED}
    sync(db, book, INSTALLED + timedelta(days=3))  # a restart does not move the date
    assert since(db) == {"social-media": INSTALLED, "social-liability": INSTALLED}


def test_a_conversation_back_in_the_playbook_is_in_care_again_from_then(db: Database) -> None:
    book = Playbook.model_validate(PLAYBOOK)
    sync(db, book, INSTALLED)
    data = copy.deepcopy(PLAYBOOK)
    data["conversations"] = [c for c in data["conversations"] if c["key"] != "social-liability"]
    sync(db, Playbook.model_validate(data), INSTALLED + timedelta(days=1))
    assert since(db)["social-liability"] == INSTALLED  # inactive: kept as it was
    back = INSTALLED + timedelta(days=40)
    sync(db, book, back)
    assert since(db) == {"social-media": INSTALLED, "social-liability": back}


def _waiting_on_a_lock(monitor: Database, application_name: str) -> bool:
    with monitor.engine.connect() as conn:
        kind = conn.execute(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application_name},
        ).scalar()
    return kind == "Lock"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_replicas_syncing_at_once_on_postgresql_both_start(db_url: str) -> None:
    """The second replica's sync starts while the first holds its transaction open.

    Without the advisory lock the second reads an empty database, inserts the same group
    and fails with a UniqueViolation on `groups_key_key` once the first commits.
    """
    book = Playbook.model_validate(PLAYBOOK)
    name = f"sync-replica-{uuid.uuid4().hex[:8]}"
    first, monitor = Database(db_url), Database(db_url)
    second = Database(f"{db_url}&application_name={name}")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            with first.transaction() as session:
                sync_playbook(session, book, now=INSTALLED)
                starting = pool.submit(sync, second, book, INSTALLED + timedelta(seconds=1))
                deadline = time.monotonic() + 20
                while not _waiting_on_a_lock(monitor, name):
                    assert not starting.done(), starting.result()
                    assert time.monotonic() < deadline, "the second sync never waited"
                    time.sleep(0.02)
            # The first replica has committed: the second must now finish without error.
            starting.result(timeout=20)
        with first.transaction() as s:
            counts = {
                table.__tablename__: s.scalar(select(func.count()).select_from(table))
                for table in (models.Group, models.Member, models.GroupMember, models.Conversation)
            }
        assert counts == {"groups": 2, "members": 3, "group_members": 3, "conversations": 2}
        assert since(first) == {"social-media": INSTALLED, "social-liability": INSTALLED}
    finally:
        for database in (first, second, monitor):
            database.dispose()

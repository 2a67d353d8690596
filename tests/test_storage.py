from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import Database, normalise_url
from storage.migrate import current, upgrade
from storage.models import Base, Conversation, Round


def test_migrations_match_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current(db_url) is not None


def _conversation(db: Database) -> int:
    with db.transaction() as s:
        conv = Conversation(key="social-media", title="Social Media", spec={}, cadence="0 9 * * 1")
        s.add(conv)
        s.flush()
        return conv.id


def test_a_round_is_unique_per_scheduled_time(db: Database) -> None:
    conv_id = _conversation(db)
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with db.transaction() as s:
        s.add(
            Round(
                conversation_id=conv_id,
                number=1,
                scheduled_for=when,
                status="open",
                trigger="schedule",
                agenda={},
            )
        )
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(
            Round(
                conversation_id=conv_id,
                number=2,
                scheduled_for=when,
                status="open",
                trigger="schedule",
                agenda={},
            )
        )
    with db.transaction() as s:
        rounds = s.scalars(select(Round)).all()
    assert len(rounds) == 1
    assert rounds[0].scheduled_for == when  # aware UTC on both backends


def test_naive_datetimes_are_refused(db: Database) -> None:
    conv_id = _conversation(db)
    with pytest.raises(Exception, match="naive"), db.transaction() as s:
        s.add(
            Round(
                conversation_id=conv_id,
                number=1,
                scheduled_for=datetime(2026, 1, 1),
                status="open",
                trigger="manual",
                agenda={},
            )
        )


def test_postgres_urls_use_psycopg() -> None:
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        Database("sqlite:///:memory:")

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database, normalise_url
from storage.migrate import MIGRATION_LOCK, alembic_config, current, upgrade
from storage.models import Base, Conversation, Round, TeamsReference
from tests.conftest import PG_URL


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


def test_replicas_starting_together_migrate_one_after_the_other(pg_schema_url: str) -> None:
    """`strategy-bot db upgrade` waits while another replica holds the migration lock."""
    schema = f"sbmig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    env = {**os.environ, "DATABASE_URL": url}
    cmd = [sys.executable, "-m", "bot", "db", "upgrade"]
    try:
        with admin.connect() as other_replica:
            other_replica.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            upgrading = subprocess.Popen(  # noqa: S603 - our own CLI
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            waiting = _wait_for_advisory_waiter(admin, upgrading)
            assert waiting, upgrading.communicate(timeout=60)[0].decode()
            assert current(url) is None  # nothing migrated while the lock is held
            other_replica.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            output = upgrading.communicate(timeout=120)[0].decode()
        assert upgrading.returncode == 0, output
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert current(url) == head
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _wait_for_advisory_waiter(admin: Engine, process: subprocess.Popen[bytes]) -> bool:
    """True once a session waits on an advisory lock; False if the process ends first."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
    )
    for _ in range(600):
        if process.poll() is not None:
            return False
        with admin.connect() as conn:
            if conn.scalar(query):
                return True
        time.sleep(0.05)
    return False


def test_a_connection_in_use_when_the_database_closes_is_closed_when_given_back(
    db: Database,
) -> None:
    """A worker thread's transaction outlives `dispose` (asyncio cannot cancel a thread).

    Its connection must not stay open in the old pool until the garbage collector finds it
    (on PostgreSQL that is a server session kept open, and a warning in a later test).
    """
    in_use = db.engine.connect()
    in_use.execute(text("SELECT 1"))
    raw = in_use.connection.dbapi_connection
    db.dispose()
    in_use.close()
    closed = raw.closed if db.dialect == "postgresql" else _sqlite_closed(raw)
    assert closed
    with db.transaction() as session:  # the next connection is a new, open one
        assert session.execute(text("SELECT 1")).scalar() == 1


def _sqlite_closed(raw: object) -> bool:
    try:
        raw.execute("SELECT 1")  # type: ignore[attr-defined]
    except Exception as exc:  # sqlite3.ProgrammingError
        return "closed" in str(exc)
    return False


def test_upgrading_drops_the_speaker_from_stored_teams_channel_references(db_url: str) -> None:
    """References stored before 0012 named whoever spoke last in a channel; not after."""
    command.downgrade(alembic_config(db_url), "0011")
    speaker = {"id": "29:1maria", "name": "Maria Keller", "aadObjectId": "aad-maria"}
    channel = {
        "conversation": {"id": "19:cio@thread.tacv2", "conversationType": "channel"},
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "user": speaker,
    }
    personal = {"conversation": {"id": "a:1personal"}, "user": speaker}
    database = Database(db_url)
    try:
        with database.transaction() as s:
            s.add(
                TeamsReference(
                    address="teams:19:cio@thread.tacv2", kind="channel", reference=channel
                )
            )
            s.add(TeamsReference(address="teams:aad-maria", kind="personal", reference=personal))
    finally:
        database.dispose()
    upgrade(db_url)
    database = Database(db_url)
    try:
        with database.transaction() as s:
            stored = {r.kind: r.reference for r in s.scalars(select(TeamsReference))}
    finally:
        database.dispose()
    assert stored["channel"] == {k: v for k, v in channel.items() if k != "user"}
    assert stored["personal"] == personal  # the person the chat is with stays

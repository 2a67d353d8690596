"""Shared fixtures: a migrated database on each backend, and a controllable clock.

Every test that takes `db` runs twice, on SQLite (a file per test) and on PostgreSQL.
Tests marked `@pytest.mark.instants` run once per instant of `tests.instants`, with the
clock frozen there (the hooks at the end of this file).
PostgreSQL comes from TEST_DATABASE_URL (default: the local server, database `test`). In CI
(`CI` set) an unreachable PostgreSQL fails the run instead of skipping, so the backend that
production uses at scale is never silently untested.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base
from tests import instants

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL schema private to this test run, migrated once."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL} (required when CI is set): {problem}")
    schema = f"sbtest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "bot.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_schema_url")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A `Database` on an empty, migrated schema (SQLite and PostgreSQL)."""
    database = Database(db_url)
    yield database
    database.dispose()


class FakeClock:
    """A clock the test moves by hand; the engine and scheduler take it instead of `now()`."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    """A fake clock at Monday 2026-11-23 09:00 UTC, or at the instant of a marked test."""
    instant = instants.current(request.node)
    if instant is not None:
        return FakeClock(instant.utc)
    return FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


# --- tests at chosen instants (see tests/instants.py) ---------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise tests marked `instants` over their instants."""
    instants.generate(metafunc)


@pytest.fixture(autouse=True)
def _frozen_at_the_instant(request: pytest.FixtureRequest) -> Iterator[instants.Instant | None]:
    """In a marked test, travel to its instant before its other function fixtures run."""
    yield from instants.travel(request.node)

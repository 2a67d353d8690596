"""Health that tells the truth: `/healthz` says whether an answer can be stored now, in time.

The real app (`build_app`) runs on each database; faults are made the way they happen: a
SQLite file that can only be opened read-only, another process holding SQLite's write lock,
a PostgreSQL session holding a lock, a PostgreSQL port with nothing behind it, and one whose
listener never answers. `/livez` answers through all of them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from bot.app import RUNTIME, build_app
from bot.config import load_settings
from bot.health import HEALTH, PROBE_TIMEOUT_SECONDS, describe, replica_id
from storage import models
from storage.db import CONNECT_TIMEOUT_SECONDS, Database, retire_pool

# What "within the bound" allows on a busy two-core test machine; the faults below would
# otherwise hold a probe for 30 s (SQLite's busy timeout) or forever (no connect timeout).
BOUND = PROBE_TIMEOUT_SECONDS + 2.0

Client = TestClient[Any, Any]


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[Client]:
    """The real app on each database (console on, scheduler off)."""
    settings = load_settings(
        DATABASE_URL=db_url,
        PLAYBOOK_PATH=None,
        CONSOLE_ENABLED=True,
        SCHEDULER_ENABLED=False,
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
        TICK_SECONDS=3600,
    )
    async with TestClient(TestServer(build_app(settings, migrate=False))) as test_client:
        yield test_client


only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
only_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


async def _get(client: Client, path: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    resp = await client.get(path)
    return resp.status, await resp.json(), time.monotonic() - started


def _rows(client: Client) -> list[tuple[str, Any]]:
    with client.server.app[RUNTIME].db.transaction() as s:
        rows = s.execute(select(models.HealthCheck.replica, models.HealthCheck.checked_at))
        return [(str(replica), at) for replica, at in rows]


def _redirect_connections(
    client: Client, change: Callable[[list[Any], dict[str, Any]], None]
) -> Any:
    """Make the running app's new database connections open differently (a fault), from now on.

    Returns the listener, for `_restore`. The pool's connections are retired (`retire_pool`):
    one still checked out by the app's worker threads is closed when they give it back.
    """
    engine = client.server.app[RUNTIME].db.engine

    def do_connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        change(cargs, cparams)

    event.listen(engine, "do_connect", do_connect)
    retire_pool(engine)  # pooled connections were opened before the fault
    return do_connect


def _restore(client: Client, listener: Any) -> None:
    engine = client.server.app[RUNTIME].db.engine
    event.remove(engine, "do_connect", listener)
    retire_pool(engine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never says anything (a hung host)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
        yield int(listener.getsockname()[1])


# -- healthy -------------------------------------------------------------------------------


async def test_healthz_commits_this_replicas_row(client: Client) -> None:
    status, body, _ = await _get(client, "/healthz")
    assert status == 200, body
    assert body["status"] == "ok" and body["replica"] == f"{socket.gethostname()}:{os.getpid()}"
    assert body["replica"] == replica_id()
    assert [replica for replica, _ in _rows(client)] == [replica_id()]
    assert (await _get(client, "/healthz"))[0] == 200
    assert len(_rows(client)) == 1  # an upsert: one row per replica, however often probed


async def test_livez_answers_without_the_database(client: Client) -> None:
    status, body, _ = await _get(client, "/livez")
    assert status == 200 and body["status"] == "alive"


# -- SQLite --------------------------------------------------------------------------------


@only_sqlite
async def test_a_read_only_sqlite_file_is_503_read_only(client: Client, db_url: str) -> None:
    """The file can no longer be written: answers fail, and health says so.

    Tests run as root, and root writes files whatever their mode says, so `chmod` would not
    make the file read-only. Instead the running app's connections open the file the way
    SQLite opens a file it may not write (a read-only file, a read-only mount): read-only
    (`mode=ro`, an O_RDONLY descriptor). Every write then fails with SQLITE_READONLY, the
    error a read-only disk gives.
    """
    assert (await _get(client, "/healthz"))[0] == 200
    path = db_url.removeprefix("sqlite:///")

    def read_only(cargs: list[Any], cparams: dict[str, Any]) -> None:
        cargs[0] = f"file:{path}?mode=ro"
        cparams["uri"] = True

    fault = _redirect_connections(client, read_only)
    command = {"as": "console:admin", "text": "ask social-media", "command": True}
    assert (await client.post("/console/api/message", json=command)).status == 500
    status, body, _ = await _get(client, "/healthz")
    assert status == 503
    assert body["status"] == "error" and body["problem"] == "read-only"
    assert "readonly" in body["detail"]
    assert (await _get(client, "/livez"))[0] == 200

    _restore(client, fault)
    assert (await _get(client, "/healthz"))[0] == 200


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def sqlite_locked(db_url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the SQLite database's write lock until the test ends."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", LOCKER, db_url.removeprefix("sqlite:///")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.communicate(timeout=10)


@only_sqlite
async def test_a_sqlite_database_locked_elsewhere_is_503_within_the_bound(
    client: Client, sqlite_locked: subprocess.Popen[str]
) -> None:
    status, body, seconds = await _get(client, "/healthz")
    assert status == 503 and body["problem"] == "locked", body
    assert "locked" in body["detail"]
    assert seconds < BOUND  # not SQLite's 30 s busy timeout
    livez = await _get(client, "/livez")
    assert livez[0] == 200 and livez[2] < 1.0

    sqlite_locked.communicate(timeout=10)  # the other process lets go
    assert (await _get(client, "/healthz"))[0] == 200


@only_sqlite
async def test_probes_do_not_pile_up_behind_a_locked_database(
    client: Client, sqlite_locked: subprocess.Popen[str]
) -> None:
    first = asyncio.create_task(_get(client, "/healthz"))
    await asyncio.sleep(0.5)  # the first probe is waiting for the lock
    others = await asyncio.gather(*(_get(client, "/healthz") for _ in range(5)))
    for status, body, seconds in others:
        assert status == 503 and body["problem"] == "busy", body
        assert seconds < 1.0  # answered at once, without starting another probe
    status, body, _ = await first
    assert status == 503 and body["problem"] == "locked"


# -- PostgreSQL ----------------------------------------------------------------------------


@only_postgresql
async def test_postgresql_on_a_closed_port_is_503_unreachable(client: Client) -> None:
    assert (await _get(client, "/healthz"))[0] == 200
    closed = _free_port()
    fault = _redirect_connections(client, lambda _a, params: params.update(port=closed))
    status, body, seconds = await _get(client, "/healthz")
    assert status == 503 and body["problem"] == "unreachable", body
    assert seconds < BOUND
    assert (await _get(client, "/livez"))[0] == 200
    _restore(client, fault)
    assert (await _get(client, "/healthz"))[0] == 200


@only_postgresql
async def test_postgresql_refusing_writes_is_503_read_only(client: Client) -> None:
    """A standby, or a database set `default_transaction_read_only`: reads work, writes fail."""
    assert (await _get(client, "/healthz"))[0] == 200

    def read_only(_cargs: list[Any], params: dict[str, Any]) -> None:
        params["options"] = f"{params.get('options', '')} -cdefault_transaction_read_only=on"

    fault = _redirect_connections(client, read_only)
    status, body, _ = await _get(client, "/healthz")
    assert status == 503 and body["problem"] == "read-only", body
    assert "read-only transaction" in body["detail"]
    _restore(client, fault)
    assert (await _get(client, "/healthz"))[0] == 200


def test_a_full_sqlite_database_is_named_full(tmp_path: Path) -> None:
    """What SQLite raises when the disk (here: the file's page limit) has no room left."""
    conn = sqlite3.connect(tmp_path / "full.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as raised:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    conn.close()
    assert describe(raised.value) == ("full", "database or disk is full")


@only_postgresql
async def test_postgresql_that_never_answers_is_503_within_the_bound(
    client: Client, silent_port: int
) -> None:
    fault = _redirect_connections(client, lambda _a, params: params.update(port=silent_port))
    status, body, seconds = await _get(client, "/healthz")
    assert status == 503 and body["problem"] == "timeout", body
    assert seconds < BOUND
    # The probe's thread still waits (for the connect timeout): no second one is started.
    status, body, seconds = await _get(client, "/healthz")
    assert status == 503 and body["problem"] == "busy" and seconds < 1.0
    assert (await _get(client, "/livez"))[0] == 200
    _restore(client, fault)


@only_postgresql
async def test_postgresql_lock_held_by_another_session_is_503_within_the_bound(
    client: Client, db_url: str
) -> None:
    assert (await _get(client, "/healthz"))[0] == 200
    other = create_engine(db_url)
    try:
        with other.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE health_checks IN ACCESS EXCLUSIVE MODE"))
            status, body, seconds = await _get(client, "/healthz")
            assert status == 503 and body["problem"] == "timeout", body
            assert "statement timeout" in body["detail"]
            assert seconds < BOUND
            probe = client.server.app[HEALTH]
            assert probe._running is not None and probe._running.done()  # nothing left waiting
    finally:
        other.dispose()
    assert (await _get(client, "/healthz"))[0] == 200


def test_a_postgresql_host_that_never_answers_fails_after_the_connect_timeout(
    silent_port: int,
) -> None:
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/test")
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            with db.transaction() as s:
                s.scalar(select(func.now()))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(CONNECT_TIMEOUT_SECONDS + 10)
    assert not worker.is_alive(), "the connection attempt hangs: no connect timeout"
    assert isinstance(outcome[0], OperationalError)
    assert time.monotonic() - started >= CONNECT_TIMEOUT_SECONDS - 0.5
    db.dispose()

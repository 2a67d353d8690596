"""Health that tells the truth: can this replica store an answer now, within a bound?

Why: a probe that only reads (`select 1`) says "ok" while the SQLite file is read-only or
the disk is full and every answer fails, and a probe without a bound hangs as long as the
database does, so an orchestrator learns nothing. Here:

- `/livez` (liveness) answers from the event loop and touches nothing else: the process is
  up and serving HTTP. A database outage must not make an orchestrator restart every
  replica, which would not bring the database back.
- `/healthz` (readiness) writes and commits this replica's row of `health_checks`
  (`storage.models.HealthCheck`), the same kind of short write transaction that stores an
  answer, bounded by `PROBE_TIMEOUT_SECONDS`: PostgreSQL gets `SET LOCAL
  statement_timeout`, SQLite a busy timeout for the probe's connection, and an asyncio
  timeout around the worker thread covers what neither sees (a connection that does not
  come, a pool with no free connection). Only one probe runs at a time: while one is still
  waiting, further probes answer 503 `busy` at once instead of piling up threads behind
  a hung database.

A replica is named by host name and process id (`replica_id`): the host name tells the
machine (a container's host name is its pod or container id), the pid tells two processes
on one machine apart, and a restarted process gets a fresh row. Each replica writing its
own row means one replica's stuck transaction on its row cannot make another replica's
probe wait. Rows of replicas that are gone stay (one small row per process start).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.logs import Throttled, redact
from storage.db import Database
from storage.models import HealthCheck, utcnow

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 3.0
# The database's own limits end the probe's wait a little before the asyncio bound, so
# its answer says what was wrong ("database is locked") rather than just "timeout".
_DATABASE_MARGIN_SECONDS = 0.5
_DETAIL_CHARS = 200


def replica_id() -> str:
    """This process's name in `health_checks`: `<host name>:<pid>` (see the module docstring)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


@dataclass(frozen=True)
class Health:
    """The outcome of one probe.

    Attributes:
        problem: None when healthy; else `read-only`, `full`, `locked`, `unreachable`,
            `timeout`, `busy` or `error` (README, Operations).
        detail: one line saying what the database answered (no credentials).
        seconds: how long the probe took.
    """

    problem: str | None
    detail: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the probe wrote and committed its row in time."""
        return self.problem is None


class HealthProbe:
    """Writes this replica's `health_checks` row, one probe at a time, within a bound.

    Args:
        db: the database the bot stores answers in.
        replica: the row's key (default `replica_id()`).
        timeout: seconds a probe may take before it answers `timeout`.
        clock: the time written as `checked_at`.
    """

    def __init__(
        self,
        db: Database,
        *,
        replica: str | None = None,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.replica = replica or replica_id()
        self.timeout = timeout
        self._clock = clock
        self._running: asyncio.Future[None] | None = None
        self._started = 0.0
        self._log = Throttled(logger)
        self._logged: set[str] = set()

    async def check(self) -> Health:
        """Probe the database once, or answer `busy` if the previous probe still waits."""
        started = time.monotonic()
        if self._running is not None and not self._running.done():
            waited = started - self._started
            return self._report(
                Health("busy", f"the previous check has been waiting {waited:.1f} s", 0.0)
            )
        self._started = started
        running = asyncio.ensure_future(asyncio.to_thread(self._write))
        running.add_done_callback(_consume)
        self._running = running
        try:
            await asyncio.wait_for(asyncio.shield(running), self.timeout)
        except TimeoutError:
            detail = f"no answer from the database within {self.timeout:g} s"
            return self._report(Health("timeout", detail, time.monotonic() - started))
        except Exception as exc:  # every failure is a health answer
            problem, detail = describe(exc)
            return self._report(Health(problem, detail, time.monotonic() - started))
        return self._report(Health(None, "the database took a write", time.monotonic() - started))

    async def finish(self, _app: web.Application | None = None) -> None:
        """Wait (bounded) for a probe still running, e.g. one stuck connecting, to end."""
        running = self._running
        if running is not None and not running.done():
            await asyncio.wait([running], timeout=SHUTDOWN_WAIT_SECONDS)

    def _write(self) -> None:
        """Upsert this replica's row and commit (in a worker thread).

        It takes a connection from the engine the bot stores answers with (so a full pool
        shows too), but not `Database.transaction`: that one queues this process's SQLite
        writers on a lock with no time limit, and the probe must keep its own bound.
        """
        engine = self.db.engine
        table = HealthCheck.__table__
        dialect = sqlite_dialect if engine.dialect.name == "sqlite" else pg_dialect
        insert = dialect.insert(table).values(replica=self.replica, checked_at=self._clock())
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.replica], set_={"checked_at": insert.excluded.checked_at}
        )
        limit_ms = max(100, int((self.timeout - _DATABASE_MARGIN_SECONDS) * 1000))
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                # Set on the driver's connection: a statement through SQLAlchemy would begin
                # the transaction (BEGIN IMMEDIATE) and wait with the pool's 30 s timeout.
                raw: Any = conn.connection.driver_connection
                previous = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
                raw.execute(f"PRAGMA busy_timeout={limit_ms}")
                try:
                    with conn.begin():
                        conn.execute(upsert)
                finally:
                    raw.execute(f"PRAGMA busy_timeout={previous}")
                return
            with conn.begin():
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {limit_ms}")
                conn.execute(upsert)

    def _report(self, health: Health) -> Health:
        if health.ok:
            for key in sorted(self._logged):
                self._log.recovered(key, "health check: the database takes writes again")
            self._logged.clear()
        else:
            key = f"health:{health.problem}"
            self._logged.add(key)
            self._log.warning(key, "health check failed: %s (%s)", health.problem, health.detail)
        return health


def _consume(future: asyncio.Future[None]) -> None:
    """Retrieve a late probe's outcome, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


# SQLite result codes (the primary code is the low byte of `sqlite_errorcode`).
_SQLITE_PROBLEMS = {
    5: "locked",  # SQLITE_BUSY: another connection holds the write lock
    6: "locked",  # SQLITE_LOCKED
    8: "read-only",  # SQLITE_READONLY
    13: "full",  # SQLITE_FULL
    14: "unreachable",  # SQLITE_CANTOPEN
}
# PostgreSQL SQLSTATEs.
_POSTGRES_PROBLEMS = {
    "25006": "read-only",  # read_only_sql_transaction (a standby, default_transaction_read_only)
    "53100": "full",  # disk_full
    "53200": "full",  # out_of_memory
    "57014": "timeout",  # query_canceled: statement_timeout
    "55P03": "locked",  # lock_not_available
    "57P01": "unreachable",  # admin_shutdown
    "57P03": "unreachable",  # cannot_connect_now (starting up, shutting down)
}


def describe(error: BaseException) -> tuple[str, str]:
    """Name what a failed probe says about the database, and one line of detail.

    Returns:
        `(problem, detail)`: the problem as in `Health.problem`; the detail is the
        driver's first line, without credentials.
    """
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    detail = redact(str(original).strip().splitlines()[0] if str(original).strip() else "")
    detail = detail[:_DETAIL_CHARS] or type(original).__name__
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_PROBLEMS:
            return _SQLITE_PROBLEMS[code & 0xFF], detail
        return "error", detail
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate in _POSTGRES_PROBLEMS:
            return _POSTGRES_PROBLEMS[sqlstate], detail
        if sqlstate.startswith("08"):  # connection_exception
            return "unreachable", detail
        return "error", detail
    if isinstance(error, sa_exc.TimeoutError):  # no free connection in the pool
        return "timeout", detail
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | OSError):
        return "unreachable", detail  # the driver could not connect (no SQLSTATE)
    return "error", detail


HEALTH: web.AppKey[HealthProbe] = web.AppKey("health", HealthProbe)
# How long shutdown waits for a probe stuck in the database (PostgreSQL's connect timeout
# is 5 s, see `storage.db`).
SHUTDOWN_WAIT_SECONDS = 8.0


def register_health_routes(app: web.Application, probe: HealthProbe) -> None:
    """Serve `GET /livez` (liveness) and `GET /healthz` (readiness) with `probe`.

    On shutdown a probe still waiting for the database is given its connect timeout to
    finish before the process closes its connections; otherwise its connection, opened
    after the pool was closed, would be left open.
    """
    app[HEALTH] = probe
    app.router.add_get("/livez", _livez)
    app.router.add_get("/healthz", _healthz)
    app.on_cleanup.append(probe.finish)


async def _livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive", "replica": request.app[HEALTH].replica})


async def _healthz(request: web.Request) -> web.Response:
    probe = request.app[HEALTH]
    health = await probe.check()
    body: dict[str, object] = {
        "status": "ok" if health.ok else "error",
        "database": probe.db.dialect,
        "replica": probe.replica,
        "seconds": round(health.seconds, 3),
    }
    if not health.ok:
        body.update(problem=health.problem, detail=health.detail)
    return web.json_response(body, status=200 if health.ok else 503)

"""The database connection: one engine per process, short transactions.

SQLAlchemy's synchronous API is used on purpose: the engine's transactions are short, and
the async parts of the process run them in a worker thread (`asyncio.to_thread`). That keeps
the flow engine plain, testable without an event loop, and lets Alembic and the same code
serve SQLite (the default) and PostgreSQL (several replicas).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

# Seconds a PostgreSQL connection may take to open (libpq `connect_timeout`, whole seconds,
# at least 2), so an unreachable host fails a request instead of hanging it. A
# `connect_timeout` in DATABASE_URL wins.
CONNECT_TIMEOUT_SECONDS = 5
READ_ONLY = "strategy_bot_read_only"  # execution option of `Database.reading` connections


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs (Heroku-style `postgres://` too)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    PostgreSQL connections get a connect timeout (`CONNECT_TIMEOUT_SECONDS`). Statement
    parameters are kept out of error messages (`hide_parameters`): they are answer text,
    and an error's message ends up in the log.
    """
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            raise ValueError("use a file for SQLite; an in-memory database is lost on restart")
        # A small pool: opening a SQLite connection (and its PRAGMAs) costs more than a
        # short transaction, and WAL lets pooled connections read while one writes.
        kwargs["pool_size"] = 5
        kwargs["max_overflow"] = 10
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = 10
        if "connect_timeout" not in make_url(url).query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN, so concurrent writers queue instead of failing to upgrade.
    # A read-only transaction (`Database.reading`) begins deferred: WAL lets it read while
    # one writer writes.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class FairLock:
    """A re-entrant lock handed to waiting threads in the order they asked (FIFO).

    `threading.RLock` makes no promise of order: a thread that releases and at once asks
    again (a big round's fan-out, one chunk per transaction) can take it back before a
    click that has been waiting, and starve it. Here a thread asking for the lock queues
    behind every thread already waiting, so a click waits for one chunk at most.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._queue: collections.deque[int] = collections.deque()

    def __enter__(self) -> FairLock:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return self
            self._queue.append(me)
            while self._owner is not None or self._queue[0] != me:
                self._cond.wait()
            self._queue.popleft()
            self._owner, self._depth = me, 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a writer that finds the file locked sleeps in
        # SQLite's busy handler (1, 2, 5 ... 100 ms steps). Queueing this process's
        # transactions on a lock hands the database over at once instead; other processes
        # still meet the busy timeout. PostgreSQL needs no such thing.
        # The lock is fair (`FairLock`): waiting transactions go in the order they came.
        self._lock: FairLock | None = FairLock() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        if self._lock is None:
            with self._sessions() as session, session.begin():
                yield session
            return
        with self._lock, self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session in one transaction that only reads: never waits for SQLite's writer.

        On SQLite it takes neither this process's writer lock nor the file's (WAL lets it
        read a consistent snapshot while one transaction writes), so a long read (the
        digest of a 50,000-person round) holds up no click. Rolled back at the end: it
        must not write. On PostgreSQL it is an ordinary transaction.
        """
        if self._lock is None:
            with self._sessions() as session:
                try:
                    yield session
                finally:
                    session.rollback()
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with Session(bind=conn) as session:
                try:
                    yield session
                finally:
                    session.rollback()

    def dispose(self) -> None:
        """Close all pooled connections (see `retire_pool` for those still in use)."""
        retire_pool(self.engine)


def retire_pool(engine: Engine) -> None:
    """Close the engine's pooled connections now, and those still checked out when given back.

    SQLAlchemy's `Engine.dispose` closes the connections in the pool and starts a new one; a
    connection checked out at that moment (a worker thread's transaction still running,
    which asyncio cannot cancel) later goes back to the old pool, which nothing closes: it
    stays open until the garbage collector finds it. Closing it on its way back ends it
    with its transaction.
    """
    retired = engine.pool
    engine.dispose()
    # After `dispose`: the new pool copies the old one's listeners when it is made.
    event.listen(retired, "checkin", _close_given_back)


def _close_given_back(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None:
        dbapi_connection.close()

"""Engines for SQLite and PostgreSQL, and running the migrations.

SQLite needs care to be a good server database:

* WAL journal, so readers never block the writer nor the writer readers;
  ``synchronous=NORMAL`` (safe with WAL, far fewer fsyncs); foreign keys on
  (SQLite leaves them off by default).
* The driver's own transaction handling is switched off and the store emits
  ``BEGIN`` itself: a plain (deferred) ``BEGIN`` for reads and
  ``BEGIN IMMEDIATE`` for writes. A deferred transaction that reads and then
  writes can fail at once with "database is locked" when another writer got
  in between (the busy timeout cannot help there); taking the write lock up
  front turns that into an orderly wait of at most :data:`SQLITE_BUSY_TIMEOUT_MS`.
* Inside one process the store also serialises its write transactions with an
  ``asyncio.Lock`` (see :mod:`desklink.store._base`), so the busy timeout only
  matters when a second process (a CLI command) writes at the same time.

PostgreSQL runs at READ COMMITTED; the store's conditional updates are
written for that level.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: How long a SQLite write waits for another process's write lock before it
#: fails with "database is locked", in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 10_000

#: Pooled PostgreSQL connections per process, and how many more may be opened
#: under a burst. Every concurrent transaction holds one connection.
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 20

#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
WRITE_OPTION = "desklink_write"

#: Key of PostgreSQL's transaction-level advisory lock held while migrating,
#: so several nodes starting at once upgrade the schema one after the other.
_MIGRATION_LOCK_KEY = 0x6465736B6C696E6B  # "desklink"

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def create_engine(url: str, *, pool_size: int = PG_POOL_SIZE, max_overflow: int = PG_MAX_OVERFLOW) -> AsyncEngine:
    """An async engine for ``url``, with the SQLite set-up described above.

    Only file-backed SQLite is supported: an in-memory database lives in one
    connection, which concurrent tasks would share mid-transaction.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed):
            raise ValueError("the store needs a file-backed SQLite database, not an in-memory one")
        engine = create_async_engine(url)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg")


def _wal(cursor: Any) -> None:
    """Put the database file in WAL mode (it stays so). Switching needs an
    exclusive lock, and SQLite answers "database is locked" at once, without
    waiting out the busy timeout, when another connection opened the fresh
    file at the same moment (several nodes or tests starting together); so
    try again for up to the busy timeout. A file already in WAL needs no lock."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
        except Exception as exc:  # the driver's OperationalError: locked
            if "locked" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise RuntimeError("could not switch the SQLite database to WAL mode: it stayed locked")
        time.sleep(0.02)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from emitting its own BEGIN; _on_begin does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config built in code: no ``alembic.ini`` on disk.

    With ``url`` it can also drive Alembic's commands by hand, e.g. to write
    the next revision::

        from alembic import command
        command.revision(alembic_config("sqlite+aiosqlite:///dev.db"),
                         "add ratings", autogenerate=True)
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would choke on a '%' in a password.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` in one transaction.

    PostgreSQL and SQLite both have transactional DDL, so a failed migration
    leaves the schema as it was.
    """
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.run_sync(_upgrade, revision)

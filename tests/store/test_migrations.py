"""The schema: Alembic's result equals the models, opening is repeatable and
safe to race, and the engines are set up as documented."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from desklink.store import Store
from desklink.store._engine import MIGRATIONS_DIR, alembic_config, create_engine, upgrade
from desklink.store.models import Base

from ._helpers import make_user


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, Base.metadata))


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_models(store: Store) -> None:
    async with store._engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_the_check_sees_a_difference(store: Store) -> None:
    """Guard against a comparison that can never fail: drop an index the
    models declare and the check must report it."""
    async with store._engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_events_created_at"))
    async with store._engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert [d[0] for d in diff] == ["add_index"]
    assert diff[0][1].name == "ix_events_created_at"


async def test_database_is_at_head(store: Store) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == "0012"
    async with store._engine.connect() as conn:
        assert await conn.run_sync(_current) == head


async def test_reopening_keeps_data(database_url: str) -> None:
    first = await Store.open(database_url)
    user = await make_user(first)
    await first.close()
    second = await Store.open(database_url)
    try:
        assert await second.get_user(user.id) == user
    finally:
        await second.close()


async def test_concurrent_opens_migrate_once(database_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(database_url) for _ in range(4)))
    try:
        assert all([await s.ping() for s in stores])
        await make_user(stores[0])
        assert await stores[3].count_users() == 1
    finally:
        for s in stores:
            await s.close()


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert {"users", "requests", "messages", "events"} <= await conn.run_sync(_tables)

        def downgrade(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == {"alembic_version"}
            assert await conn.run_sync(_current) is None
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


def test_migrations_ship_with_the_package() -> None:
    names = {p.name for p in MIGRATIONS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert {"env.py", "script.py.mako", "0001_initial.py", "0002_join_codes.py", "0003_hardening.py", "0004_event_actors.py", "0005_visitor_client.py", "0006_files.py", "0007_recordings.py", "0008_reports.py", "0009_canned_notes.py", "0010_visitor_context.py", "0011_offline_hours.py"} <= names


# -- engine set-up -------------------------------------------------------------


async def test_sqlite_pragmas(sqlite_database_url: str) -> None:
    store = await Store.open(sqlite_database_url)
    try:
        async with store._engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000
    finally:
        await store.close()


async def test_ping(store: Store) -> None:
    assert await store.ping() is True


async def test_ping_is_false_when_the_database_is_gone() -> None:
    store = Store(create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    try:
        assert await store.ping() is False
    finally:
        await store.close()


async def test_accepts_writes(store: Store) -> None:
    assert await store.accepts_writes() is True


async def test_accepts_writes_is_false_when_the_database_is_gone() -> None:
    store = Store(create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    try:
        assert await store.accepts_writes() is False
    finally:
        await store.close()


@pytest.mark.pg
async def test_a_read_only_postgresql_database_refuses_writes(pg_database_url: str) -> None:
    """What a standby or a database switched to read-only looks like: it
    answers (ping) but would refuse every write; /readyz needs to know."""
    import asyncpg

    name = pg_database_url.rsplit("/", 1)[1]
    store = await Store.open(pg_database_url)
    admin = await asyncpg.connect(pg_database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        await store._engine.dispose()  # new connections take the new default
        assert await store.ping() is True
        assert await store.accepts_writes() is False
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
        await store._engine.dispose()
        assert await store.accepts_writes() is True
    finally:
        await admin.close()
        await store.close()


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:", "mysql+aiomysql://u@h/db"]
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        create_engine(url)



async def test_0005_keeps_older_requests_with_no_visitor_client(database_url: str) -> None:
    """A request stored before 0005 comes through the upgrade with an empty
    system-and-browser summary; new ones keep theirs."""
    from ._helpers import make_queue, make_request

    store = await Store.open(database_url)
    try:
        queue = await make_queue(store)
        old = await make_request(store, queue)

        def step(connection: Connection, to: str) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if to == "0004" else command.upgrade)(config, to)

        async with store._engine.begin() as conn:
            await conn.run_sync(step, "0004")
        async with store._engine.connect() as conn:
            assert "visitor_client" not in {c["name"] for c in await conn.run_sync(lambda c: inspect(c).get_columns("requests"))}
        async with store._engine.begin() as conn:
            await conn.run_sync(step, "head")
        got = await store.get_request(old.id)
        assert got is not None and got.visitor_client == "" and got.question == old.question
        new = await make_request(store, queue, visitor_client="Windows 11 · Chrome 131")
        assert (await store.get_request(new.id)).visitor_client == "Windows 11 · Chrome 131"  # type: ignore[union-attr]
    finally:
        await store.close()

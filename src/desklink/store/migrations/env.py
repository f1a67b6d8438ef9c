"""Alembic environment: migrate over a connection handed in by the store.

:func:`desklink.store._engine.upgrade` puts a synchronous connection (from
``AsyncConnection.run_sync``) into ``config.attributes["connection"]``; the
migration then runs inside the caller's transaction. Without one (Alembic
commands run by hand with :func:`~desklink.store._engine.alembic_config`),
an async engine is built from ``sqlalchemy.url``; ``--sql`` (offline) mode
renders the SQL instead.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from desklink.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render :class:`UTCDateTime` as the plain column type it creates, so a
    revision never imports the models (which will have moved on)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can alter little in place: rebuild tables ("batch" mode).
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _main() -> None:
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: use desklink.store._engine.alembic_config(url)")
    asyncio.run(_run_with_own_engine(url))


_main()

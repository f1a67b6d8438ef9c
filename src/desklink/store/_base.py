"""What every part of the store shares: the engine, transactions, records.

Reads and writes go through :meth:`StoreBase._read` and
:meth:`StoreBase._write`, one short transaction each; no transaction spans an
``await`` on anything but the database. Rows become frozen records
(:mod:`desklink.store.records`) before they leave a method.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Row, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from desklink.protocol.lifecycle import REQUEST_TRANSITIONS, RequestEvent, RequestStatus, sources_of
from desklink.store._engine import WRITE_OPTION
from desklink.store.models import Base, RequestRow
from desklink.store.records import Queue

R = TypeVar("R")


class StoreBase:
    """The engine plus the transaction helpers the store's parts build on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        if self._dialect == "sqlite":
            # SQLite has one writer at a time. Queueing our own writers here
            # (instead of in SQLite's busy handler, which sleeps and polls on a
            # worker thread) keeps them in order and fast.
            self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            self._write_engine = engine
            self._write_lock = None

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot on both backends)."""
        async with self._engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; committed on normal exit, rolled back on error."""
        if self._write_lock is None:
            async with self._write_engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self._write_engine.begin() as conn:
            yield conn

    def _insert_ignore(self, model: type[Base]) -> Any:
        """``INSERT ... ON CONFLICT DO NOTHING`` for the running backend."""
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(model).on_conflict_do_nothing()


def record(cls: type[R], row: Row[Any] | Mapping[str, Any]) -> R:
    """Build the record ``cls`` from a row, taking the columns it names."""
    mapping = row._mapping if isinstance(row, Row) else row
    values = {f.name: mapping[f.name] for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if cls is Queue:
        values["allowed_origins"] = tuple(values["allowed_origins"])
    return cls(**values)


def transition(event: RequestEvent) -> tuple[frozenset[RequestStatus], ColumnElement[str]]:
    """The states ``event`` may leave, and the SQL for the state it enters.

    Both come from :data:`REQUEST_TRANSITIONS`, so a conditional
    ``UPDATE ... SET status = <target> WHERE status IN <sources>`` makes
    exactly the lifecycle's transition, whatever the table says.
    """
    targets = {src: dst for (src, ev), dst in REQUEST_TRANSITIONS.items() if ev == event}
    return sources_of(event), case(targets, value=RequestRow.status)

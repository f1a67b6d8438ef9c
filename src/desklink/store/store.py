"""The store: DeskLink's records in SQLite or PostgreSQL.

:class:`Store` is the one repository the server and dispatcher use. Its
methods are grouped in private modules (users and logins, queues, requests and
sessions, chat and events, files) and joined here. Every method is one short
transaction and returns frozen records; times are timezone-aware UTC and the
caller passes ``now`` in, so tests control the clock.

Limits: one :class:`Store` per process and event loop. On SQLite the store
serialises its own writes (see :mod:`desklink.store._engine`), which suits
the single-process ``desklink serve``; several processes writing the same
SQLite file work but wait on each other. Scale-out deployments use
PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from desklink.store._admin import AdminMixin
from desklink.store._board import BoardMixin
from desklink.store._branding import BrandingMixin
from desklink.store._canned import CannedMixin
from desklink.store._chat import ChatMixin
from desklink.store._files import FilesMixin
from desklink.store._joincodes import JoinCodesMixin
from desklink.store._mfa import SecondFactorMixin
from desklink.store._offline import OfflineMixin
from desklink.store._engine import PG_MAX_OVERFLOW, PG_POOL_SIZE, create_engine, upgrade
from desklink.store._presence import PresenceMixin
from desklink.store._queues import QueuesMixin
from desklink.store._ratings import RatingsMixin
from desklink.store._recordings import RecordingsMixin
from desklink.store._reports import ReportsMixin
from desklink.store._requests import RequestsMixin
from desklink.store._search import SearchMixin
from desklink.store._users import UsersMixin


class Store(
    UsersMixin,
    QueuesMixin,
    RequestsMixin,
    ChatMixin,
    JoinCodesMixin,
    AdminMixin,
    SecondFactorMixin,
    FilesMixin,
    RecordingsMixin,
    SearchMixin,
    RatingsMixin,
    PresenceMixin,
    ReportsMixin,
    BoardMixin,
    CannedMixin,
    OfflineMixin,
    BrandingMixin,
):
    """Repository over an async SQLAlchemy engine; build it with :meth:`open`."""

    @classmethod
    async def open(cls, url: str, *, pool_size: int = PG_POOL_SIZE, max_overflow: int = PG_MAX_OVERFLOW) -> Store:
        """Connect to ``url`` (``sqlite+aiosqlite:///path`` or
        ``postgresql+asyncpg://...``) and migrate the schema to the newest
        revision. ``pool_size``/``max_overflow`` bound PostgreSQL connections
        (each concurrent call holds one); SQLite ignores them."""
        engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        try:
            await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        """Close every pooled connection. The store is unusable afterwards."""
        await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for instrumentation (server/metrics.py times its statements)."""
        return self._engine

    async def ping(self) -> bool:
        """Whether the database answers (for the readiness endpoint); never raises
        for a database failure."""
        try:
            async with self._read() as conn:
                return bool((await conn.execute(text("SELECT 1"))).scalar() == 1)
        except Exception:
            return False

    async def accepts_writes(self) -> bool:
        """Whether the database would take a write now (for the readiness
        endpoint), found without writing anything: SQLite must grant the
        write lock (it refuses on a read-only file), PostgreSQL must not be a
        read-only server (a standby, ``default_transaction_read_only``). A
        full disk is not seen here: see :mod:`desklink.server.health`."""
        try:
            async with self._write() as conn:
                if self._dialect == "postgresql":
                    return (await conn.execute(text("SHOW transaction_read_only"))).scalar() == "off"
                return True
        except Exception:
            return False

"""The presence log: stretches of a rep's console being online (issue 13's
online time). The rep socket opens a stretch when a console goes online,
renews its ``seen_at`` from the heartbeat and closes it when the console goes
away, signs out or disconnects. A stretch whose node died stays open; the
sweeper closes it at its ``seen_at`` once that is older than a bound.

Every write is one short statement by primary key (or one ranged update for
the sweep), so the console's write path stays cheap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from desklink.store._base import StoreBase, record
from desklink.store.models import PresenceRow
from desklink.store.records import PresenceStretch


class PresenceMixin(StoreBase):
    async def open_presence(self, *, user_id: int, node: str, now: datetime) -> int:
        """Open a stretch for ``user_id`` on ``node`` starting ``now``; its id."""
        async with self._write() as conn:
            result = await conn.execute(
                insert(PresenceRow)
                .values(
                    user_id=user_id,
                    node=node,
                    started_at=now,
                    seen_at=now,
                    ended_at=None,
                )
                .returning(PresenceRow.id)
            )
            return int(result.scalar_one())

    async def renew_presence(self, stretch_id: int, now: datetime) -> bool:
        """Move an open stretch's ``seen_at`` to ``now``; False if it is
        closed or gone (the sweeper closed it while the node was cut off)."""
        async with self._write() as conn:
            result = await conn.execute(
                update(PresenceRow)
                .where(PresenceRow.id == stretch_id, PresenceRow.ended_at.is_(None))
                .values(seen_at=now)
            )
            return bool(result.rowcount)

    async def close_presence(self, stretch_id: int, now: datetime) -> bool:
        """Close an open stretch at ``now`` (``seen_at`` too); False if it
        was already closed or is gone."""
        async with self._write() as conn:
            result = await conn.execute(
                update(PresenceRow)
                .where(PresenceRow.id == stretch_id, PresenceRow.ended_at.is_(None))
                .values(seen_at=now, ended_at=now)
            )
            return bool(result.rowcount)

    async def close_stale_presence(
        self, *, older_than: datetime, node: str | None = None
    ) -> int:
        """Close every open stretch whose ``seen_at`` is before ``older_than``
        (only ``node``'s if given) at its own ``seen_at``: a dead node's
        stretch counts up to its last sign of life. Returns how many."""
        cond = [PresenceRow.ended_at.is_(None), PresenceRow.seen_at < older_than]
        if node is not None:
            cond.append(PresenceRow.node == node)
        async with self._write() as conn:
            result = await conn.execute(
                update(PresenceRow).where(*cond).values(ended_at=PresenceRow.seen_at)
            )
            return int(result.rowcount)

    async def presence_stretches(self, user_id: int) -> list[PresenceStretch]:
        """``user_id``'s stretches, oldest first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(PresenceRow)
                .where(PresenceRow.user_id == user_id)
                .order_by(PresenceRow.started_at, PresenceRow.id)
            )
            return [record(PresenceStretch, r) for r in rows]

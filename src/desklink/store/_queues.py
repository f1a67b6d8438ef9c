"""Queues and who belongs to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable
from sqlalchemy.ext.asyncio import AsyncConnection

from desklink.errors import Conflict, NotFound
from desklink.store._base import StoreBase, record
from desklink.store.models import QueueMemberRow, QueueRow, UserRow
from desklink.store.records import Queue


class QueuesMixin(StoreBase):
    async def create_queue(self, slug: str, name: str, allowed_origins: Sequence[str], now: datetime) -> Queue:
        """Create a queue; :class:`Conflict` if ``slug`` is taken (slugs are
        compared exactly: the server decides their allowed characters)."""
        try:
            async with self._write() as conn:
                if await conn.scalar(select(QueueRow.id).where(QueueRow.slug == slug)) is not None:
                    raise Conflict(f"queue slug {slug!r} is taken", code="conflict_exists")
                row = (
                    await conn.execute(
                        insert(QueueRow)
                        .values(slug=slug, name=name, allowed_origins=list(allowed_origins), created_at=now)
                        .returning(QueueRow)
                    )
                ).one()
        except IntegrityError:
            raise Conflict(f"queue slug {slug!r} is taken", code="conflict_exists") from None
        return record(Queue, row)

    async def get_queue(self, queue_id: int) -> Queue | None:
        async with self._read() as conn:
            row = (await conn.execute(select(QueueRow).where(QueueRow.id == queue_id))).first()
        return None if row is None else record(Queue, row)

    async def get_queue_by_slug(self, slug: str) -> Queue | None:
        async with self._read() as conn:
            row = (await conn.execute(select(QueueRow).where(QueueRow.slug == slug))).first()
        return None if row is None else record(Queue, row)

    async def list_queues(self) -> list[Queue]:
        """Every queue, in creation order."""
        async with self._read() as conn:
            rows = (await conn.execute(select(QueueRow).order_by(QueueRow.id))).all()
        return [record(Queue, r) for r in rows]

    async def update_queue(
        self, queue_id: int, *, name: str | None = None, allowed_origins: Sequence[str] | None = None
    ) -> Queue:
        """Change the given fields (``None`` leaves one as it is); :class:`NotFound`
        for an unknown id. ``allowed_origins`` replaces the whole list."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if allowed_origins is not None:
            values["allowed_origins"] = list(allowed_origins)
        async with self._write() as conn:
            stmt: Executable
            if values:
                stmt = update(QueueRow).where(QueueRow.id == queue_id).values(**values).returning(QueueRow)
            else:
                stmt = select(QueueRow).where(QueueRow.id == queue_id)
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no queue {queue_id}")
        return record(Queue, row)

    async def set_queue_members(self, queue_id: int, user_ids: Sequence[int]) -> None:
        """Make ``user_ids`` exactly the queue's members (duplicates ignored);
        :class:`NotFound` if the queue or any user is unknown, changing nothing."""
        wanted = sorted(set(user_ids))
        async with self._write() as conn:
            await _require_queue(conn, queue_id)
            await _require_users(conn, wanted)
            await conn.execute(delete(QueueMemberRow).where(QueueMemberRow.queue_id == queue_id))
            if wanted:
                await conn.execute(insert(QueueMemberRow), [{"queue_id": queue_id, "user_id": u} for u in wanted])

    async def add_queue_member(self, queue_id: int, user_id: int) -> None:
        """Add one member; adding an existing member is a no-op.
        :class:`NotFound` if the queue or user is unknown."""
        async with self._write() as conn:
            await _require_queue(conn, queue_id)
            await _require_users(conn, [user_id])
            await conn.execute(self._insert_ignore(QueueMemberRow).values(queue_id=queue_id, user_id=user_id))

    async def remove_queue_member(self, queue_id: int, user_id: int) -> bool:
        """Remove one member; False when they were not a member."""
        async with self._write() as conn:
            result = await conn.execute(
                delete(QueueMemberRow).where(QueueMemberRow.queue_id == queue_id, QueueMemberRow.user_id == user_id)
            )
        return bool(result.rowcount)

    async def queue_member_ids(self, queue_id: int) -> list[int]:
        """Member user ids, ascending (disabled users included: the caller
        decides whether they count)."""
        stmt = select(QueueMemberRow.user_id).where(QueueMemberRow.queue_id == queue_id).order_by(QueueMemberRow.user_id)
        async with self._read() as conn:
            return list((await conn.scalars(stmt)).all())

    async def queues_of_user(self, user_id: int) -> list[Queue]:
        """The queues ``user_id`` belongs to, in creation order."""
        stmt = (
            select(QueueRow)
            .join(QueueMemberRow, QueueMemberRow.queue_id == QueueRow.id)
            .where(QueueMemberRow.user_id == user_id)
            .order_by(QueueRow.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Queue, r) for r in rows]


async def _require_queue(conn: AsyncConnection, queue_id: int) -> None:
    if await conn.scalar(select(QueueRow.id).where(QueueRow.id == queue_id)) is None:
        raise NotFound(f"no queue {queue_id}")


async def _require_users(conn: AsyncConnection, user_ids: Sequence[int]) -> None:
    if not user_ids:
        return
    found = set((await conn.scalars(select(UserRow.id).where(UserRow.id.in_(user_ids)))).all())
    missing = sorted(set(user_ids) - found)
    if missing:
        raise NotFound(f"no users {missing}")

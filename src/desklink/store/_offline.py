"""Business hours per queue and offline messages (issue 14).

An offline message is its own table, not a request with a kind: a request
has a lifecycle (waiting, accepted, expired), a place in the queue, a
session, a sweeper and figures in the reports; an offline message has none
of these, only "answered or not". Keeping them apart leaves every request
query and report as it was.

Answering is first-come: :meth:`OfflineMixin.mark_offline_answered` sets the
answer only ``WHERE answered_at IS NULL``, so of two reps the second gets
:class:`Conflict` (``conflict_answered``) naming the first. The e-mail is sent
before the row is marked (the server holds a broker claim meanwhile, see
server/api_offline.py), so a failed send leaves the message unanswered.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from desklink.errors import Conflict, NotFound
from desklink.store._base import StoreBase, record
from desklink.store.models import OfflineMessageRow, QueueRow
from desklink.store.records import OfflineMessage

#: ``secrets.token_urlsafe(12)``: 16 characters, as request ids.
ID_BYTES = 12


class OfflineMixin(StoreBase):
    # ------------------------------------------------------------ hours
    async def get_queue_hours(self, queue_id: int) -> dict[str, Any]:
        """The queue's hours as stored (``{}``: always open); :class:`NotFound`
        for an unknown queue."""
        async with self._read() as conn:
            row = (await conn.execute(select(QueueRow.hours).where(QueueRow.id == queue_id))).first()
        if row is None:
            raise NotFound(f"no queue {queue_id}")
        return dict(row[0] or {})

    async def set_queue_hours(self, queue_id: int, hours: dict[str, Any]) -> dict[str, Any]:
        """Replace the queue's hours (checked by hours.parse beforehand)."""
        async with self._write() as conn:
            done = (
                await conn.execute(update(QueueRow).where(QueueRow.id == queue_id).values(hours=hours or None).returning(QueueRow.id))
            ).first()
        if done is None:
            raise NotFound(f"no queue {queue_id}")
        return hours

    # --------------------------------------------------------- messages
    async def create_offline_message(
        self, *, queue_id: int, visitor_name: str, visitor_email: str, body: str, ip: str, origin: str,
        now: datetime, max_pending: int,
    ) -> OfflineMessage:
        """Store a visitor's message; :class:`Conflict` (``conflict_full``)
        when the queue already holds ``max_pending`` unanswered ones."""
        async with self._write() as conn:
            pending = await conn.scalar(
                select(func.count()).select_from(OfflineMessageRow).where(
                    OfflineMessageRow.queue_id == queue_id, OfflineMessageRow.answered_at.is_(None)
                )
            )
            if (pending or 0) >= max_pending:
                raise Conflict(
                    f"this help desk holds {pending} unanswered messages (limit {max_pending}); try again later",
                    code="conflict_full",
                )
            row = (
                await conn.execute(
                    insert(OfflineMessageRow)
                    .values(
                        id=secrets.token_urlsafe(ID_BYTES), queue_id=queue_id, visitor_name=visitor_name,
                        visitor_email=visitor_email, body=body, ip=ip, origin=origin, created_at=now,
                        copy_sent_at=None, answered_at=None, answered_by=None, answered_by_name="", answer="",
                    )
                    .returning(OfflineMessageRow)
                )
            ).one()
        return record(OfflineMessage, row)

    async def mark_offline_copy_sent(self, message_id: str, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(update(OfflineMessageRow).where(OfflineMessageRow.id == message_id).values(copy_sent_at=now))

    async def get_offline_message(self, message_id: str) -> OfflineMessage | None:
        async with self._read() as conn:
            row = (await conn.execute(select(OfflineMessageRow).where(OfflineMessageRow.id == message_id))).first()
        return None if row is None else record(OfflineMessage, row)

    async def list_offline_messages(
        self, queue_ids: Sequence[int], *, answered: bool | None = None, limit: int = 100
    ) -> list[OfflineMessage]:
        """Messages of ``queue_ids``, newest first; ``answered`` filters."""
        if not queue_ids:
            return []
        stmt = select(OfflineMessageRow).where(OfflineMessageRow.queue_id.in_(list(queue_ids)))
        if answered is True:
            stmt = stmt.where(OfflineMessageRow.answered_at.is_not(None))
        elif answered is False:
            stmt = stmt.where(OfflineMessageRow.answered_at.is_(None))
        stmt = stmt.order_by(OfflineMessageRow.created_at.desc(), OfflineMessageRow.id).limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(OfflineMessage, r) for r in rows]

    async def count_unanswered_offline(self, queue_ids: Sequence[int]) -> int:
        if not queue_ids:
            return 0
        stmt = select(func.count()).select_from(OfflineMessageRow).where(
            OfflineMessageRow.queue_id.in_(list(queue_ids)), OfflineMessageRow.answered_at.is_(None)
        )
        async with self._read() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def mark_offline_answered(
        self, message_id: str, *, user_id: int, user_name: str, answer: str, now: datetime
    ) -> OfflineMessage:
        """Record the answer, once: :class:`Conflict` (``conflict_answered``)
        when someone answered first, :class:`NotFound` for an unknown id."""
        async with self._write() as conn:
            row = (
                await conn.execute(
                    update(OfflineMessageRow)
                    .where(OfflineMessageRow.id == message_id, OfflineMessageRow.answered_at.is_(None))
                    .values(answered_at=now, answered_by=user_id, answered_by_name=user_name, answer=answer)
                    .returning(OfflineMessageRow)
                )
            ).first()
        if row is not None:
            return record(OfflineMessage, row)
        existing = await self.get_offline_message(message_id)
        if existing is None:
            raise NotFound(f"no offline message {message_id}")
        raise answered_conflict(existing)


def answered_conflict(msg: OfflineMessage) -> Conflict:
    who = msg.answered_by_name or "another rep"
    return Conflict(f"{who} already answered this message", code="conflict_answered")

"""Canned replies (a queue's, or one rep's own) and internal notes on
sessions (issue 14).

A reply belongs to exactly one owner: a queue (``queue_id``) or a user
(``owner_id``); its ``name`` (the console's ``/`` shortcut) is unique within
that owner, which the unique constraints enforce on both databases. The
count limit is checked in the same write transaction as the insert: on
SQLite writes are serialised, so it is exact; on PostgreSQL two inserts
racing for the last place can both pass (one over the limit, no harm).

The caller (server/api_canned.py) checks who may do what and the sizes of
the fields; the store checks existence, uniqueness and counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from desklink.errors import Conflict, NotFound, TooLarge
from desklink.store._base import StoreBase, record
from desklink.store.models import CannedReplyRow, QueueRow, SessionNoteRow, SessionRow, UserRow
from desklink.store.records import CannedReply, SessionNote


def _taken(name: str) -> Conflict:
    return Conflict(f"a canned reply named {name!r} exists already here", code="conflict_exists")


class CannedMixin(StoreBase):
    # -- canned replies -------------------------------------------------------

    async def create_canned(
        self,
        *,
        queue_id: int | None,
        owner_id: int | None,
        name: str,
        title: str,
        body: str,
        max_per_owner: int,
        now: datetime,
    ) -> CannedReply:
        """A new reply of queue ``queue_id`` or of user ``owner_id`` (give
        exactly one). :class:`NotFound` for an unknown queue or user,
        :class:`Conflict` (``conflict_exists``) when the name is taken,
        :class:`TooLarge` when the owner holds ``max_per_owner`` already."""
        if (queue_id is None) == (owner_id is None):
            raise ValueError("a canned reply belongs to a queue or to a user, exactly one")
        owner = CannedReplyRow.queue_id == queue_id if queue_id is not None else CannedReplyRow.owner_id == owner_id
        try:
            async with self._write() as conn:
                if queue_id is not None:
                    if await conn.scalar(select(QueueRow.id).where(QueueRow.id == queue_id)) is None:
                        raise NotFound(f"no queue {queue_id}")
                elif await conn.scalar(select(UserRow.id).where(UserRow.id == owner_id)) is None:
                    raise NotFound(f"no user {owner_id}")
                if await conn.scalar(select(CannedReplyRow.id).where(owner, CannedReplyRow.name == name)) is not None:
                    raise _taken(name)
                count = await conn.scalar(select(func.count()).select_from(CannedReplyRow).where(owner)) or 0
                if count >= max_per_owner:
                    whose = "a queue" if queue_id is not None else "each rep"
                    raise TooLarge(f"{whose} may keep at most {max_per_owner} canned replies; delete one first")
                row = (
                    await conn.execute(
                        insert(CannedReplyRow)
                        .values(
                            queue_id=queue_id, owner_id=owner_id, name=name, title=title, body=body,
                            created_at=now, updated_at=now,
                        )
                        .returning(CannedReplyRow)
                    )
                ).one()
        except IntegrityError:
            raise _taken(name) from None
        return record(CannedReply, row)

    async def get_canned(self, reply_id: int) -> CannedReply | None:
        async with self._read() as conn:
            row = (await conn.execute(select(CannedReplyRow).where(CannedReplyRow.id == reply_id))).first()
        return None if row is None else record(CannedReply, row)

    async def list_canned(
        self, *, owner_id: int | None = None, queue_ids: list[int] | None = None
    ) -> list[CannedReply]:
        """The replies of user ``owner_id`` and of the queues ``queue_ids``
        (either may be left out), by owner then name."""
        conds: list[Any] = []
        if owner_id is not None:
            conds.append(CannedReplyRow.owner_id == owner_id)
        if queue_ids:
            conds.append(CannedReplyRow.queue_id.in_(queue_ids))
        if not conds:
            return []
        stmt = (
            select(CannedReplyRow)
            .where(or_(*conds))
            .order_by(CannedReplyRow.queue_id.is_(None), CannedReplyRow.queue_id, CannedReplyRow.name)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(CannedReply, r) for r in rows]

    async def update_canned(
        self, reply_id: int, *, name: str | None, title: str | None, body: str | None, now: datetime
    ) -> CannedReply:
        """Change the given fields (``None`` keeps one); :class:`NotFound`
        for an unknown id, :class:`Conflict` when the new name is taken."""
        values: dict[str, Any] = {"updated_at": now}
        if name is not None:
            values["name"] = name
        if title is not None:
            values["title"] = title
        if body is not None:
            values["body"] = body
        try:
            async with self._write() as conn:
                row = (
                    await conn.execute(
                        update(CannedReplyRow)
                        .where(CannedReplyRow.id == reply_id)
                        .values(**values)
                        .returning(CannedReplyRow)
                    )
                ).first()
        except IntegrityError:
            raise _taken(name or "") from None
        if row is None:
            raise NotFound(f"no canned reply {reply_id}")
        return record(CannedReply, row)

    async def delete_canned(self, reply_id: int) -> bool:
        """Delete one reply; False when there was none."""
        async with self._write() as conn:
            result = await conn.execute(delete(CannedReplyRow).where(CannedReplyRow.id == reply_id))
        return bool(result.rowcount)

    # -- internal notes -------------------------------------------------------

    async def add_session_note(
        self, session_id: str, *, author_id: int | None, author_name: str, body: str, max_notes: int, now: datetime
    ) -> SessionNote:
        """Append a note to a session; :class:`NotFound` for an unknown
        session, :class:`TooLarge` when it carries ``max_notes`` already."""
        async with self._write() as conn:
            if await conn.scalar(select(SessionRow.id).where(SessionRow.id == session_id)) is None:
                raise NotFound(f"no session {session_id}")
            count = (
                await conn.scalar(
                    select(func.count()).select_from(SessionNoteRow).where(SessionNoteRow.session_id == session_id)
                )
                or 0
            )
            if count >= max_notes:
                raise TooLarge(f"a session may carry at most {max_notes} notes")
            row = (
                await conn.execute(
                    insert(SessionNoteRow)
                    .values(session_id=session_id, author_id=author_id, author_name=author_name, body=body, created_at=now)
                    .returning(SessionNoteRow)
                )
            ).one()
        return record(SessionNote, row)

    async def session_notes(self, session_id: str) -> list[SessionNote]:
        """A session's notes, oldest first."""
        stmt = select(SessionNoteRow).where(SessionNoteRow.session_id == session_id).order_by(SessionNoteRow.id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(SessionNote, r) for r in rows]

"""What the live board reads (dispatch/board.py builds the snapshot).

Every figure is one SQL statement over the *open* part of the data: waiting
requests, sessions not yet ended, and the events and transfers of the
sessions listed. Nothing here reads the history of closed sessions, so a
board costs the same after a million sessions as after ten. Each method is
one read transaction; several of them make a snapshot, so a snapshot may mix
instants a few milliseconds apart (the next one, coalesced and periodic,
puts it right).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from desklink.store._base import StoreBase, record
from desklink.store._files import UNFINISHED_STATUSES
from desklink.store.models import EventRow, RequestRow, SessionRow, TransferRow, UserRow
from desklink.store.records import BoardSession, Request

#: The events that say whether a session's screen is shared and which
#: privileges (control, files) are held: the newest of each decides.
MODE_EVENT_KINDS: tuple[str, ...] = (
    "sharing_started",
    "sharing_stopped",
    "privilege_granted",
    "privilege_revoked",
    "privilege_released",
)

#: Mode marks of one request: (event kind, privilege or "") -> newest event id.
Marks = dict[tuple[str, str], int]


class BoardMixin(StoreBase):
    async def waiting_counts(self, queue_ids: Sequence[int]) -> dict[int, int]:
        """Waiting requests per queue (queues with none are left out)."""
        if not queue_ids:
            return {}
        stmt = (
            select(RequestRow.queue_id, func.count())
            .where(RequestRow.queue_id.in_(list(queue_ids)), RequestRow.status == "waiting")
            .group_by(RequestRow.queue_id)
        )
        async with self._read() as conn:
            return {int(q): int(n) for q, n in (await conn.execute(stmt)).all()}

    async def waiting_oldest(self, queue_ids: Sequence[int], limit: int) -> list[Request]:
        """At most ``limit`` waiting requests of the queues, oldest first."""
        if not queue_ids:
            return []
        stmt = (
            select(RequestRow)
            .where(RequestRow.queue_id.in_(list(queue_ids)), RequestRow.status == "waiting")
            .order_by(RequestRow.created_at, RequestRow.id)
            .limit(limit)
        )
        async with self._read() as conn:
            return [record(Request, r) for r in (await conn.execute(stmt)).all()]

    async def open_session_count(self, queue_ids: Sequence[int]) -> int:
        """Sessions not yet ended in the queues."""
        if not queue_ids:
            return 0
        stmt = (
            select(func.count())
            .select_from(SessionRow)
            .join(RequestRow, RequestRow.id == SessionRow.request_id)
            .where(SessionRow.ended_at.is_(None), RequestRow.queue_id.in_(list(queue_ids)))
        )
        async with self._read() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def open_sessions_of_queues(self, queue_ids: Sequence[int], limit: int) -> list[BoardSession]:
        """At most ``limit`` sessions not yet ended in the queues, oldest
        first, with the visitor's and the rep's names."""
        if not queue_ids:
            return []
        stmt = (
            select(
                SessionRow.id.label("session_id"),
                SessionRow.request_id,
                RequestRow.queue_id,
                RequestRow.visitor_name,
                SessionRow.rep_id,
                UserRow.display_name.label("rep_name"),
                SessionRow.started_at,
            )
            .join(RequestRow, RequestRow.id == SessionRow.request_id)
            .join(UserRow, UserRow.id == SessionRow.rep_id)
            .where(SessionRow.ended_at.is_(None), RequestRow.queue_id.in_(list(queue_ids)))
            .order_by(SessionRow.started_at, SessionRow.id)
            .limit(limit)
        )
        async with self._read() as conn:
            return [record(BoardSession, dict(r._mapping)) for r in (await conn.execute(stmt)).all()]

    async def mode_marks(self, request_ids: Sequence[str]) -> dict[str, Marks]:
        """Per request, the newest event id of each mode event kind (and
        privilege): one grouped query, read by
        :func:`desklink.dispatch.board.modes_of`."""
        if not request_ids:
            return {}
        privilege = EventRow.data["privilege"].as_string()
        stmt = (
            select(EventRow.request_id, EventRow.kind, privilege, func.max(EventRow.id))
            .where(EventRow.request_id.in_(list(request_ids)), EventRow.kind.in_(MODE_EVENT_KINDS))
            .group_by(EventRow.request_id, EventRow.kind, privilege)
        )
        out: dict[str, Marks] = {}
        async with self._read() as conn:
            for request_id, kind, priv, newest in (await conn.execute(stmt)).all():
                out.setdefault(str(request_id), {})[(str(kind), str(priv or ""))] = int(newest)
        return out

    async def requests_with_files_travelling(self, request_ids: Sequence[str]) -> set[str]:
        """Which of the requests have a file transfer still on its way."""
        if not request_ids:
            return set()
        stmt = (
            select(TransferRow.request_id)
            .where(TransferRow.request_id.in_(list(request_ids)), TransferRow.status.in_(sorted(UNFINISHED_STATUSES)))
            .distinct()
        )
        async with self._read() as conn:
            return {str(r) for r in (await conn.scalars(stmt)).all()}

    async def open_session_loads(self, rep_ids: Sequence[int]) -> dict[int, int]:
        """Open sessions each rep holds, in any queue (reps holding none are left out)."""
        if not rep_ids:
            return {}
        stmt = (
            select(SessionRow.rep_id, func.count())
            .where(SessionRow.ended_at.is_(None), SessionRow.rep_id.in_(list(rep_ids)))
            .group_by(SessionRow.rep_id)
        )
        async with self._read() as conn:
            return {int(r): int(n) for r, n in (await conn.execute(stmt)).all()}

    async def display_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The display names of the users (unknown ids are left out)."""
        if not user_ids:
            return {}
        stmt = select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(list(user_ids)))
        async with self._read() as conn:
            return {int(i): str(n) for i, n in (await conn.execute(stmt)).all()}

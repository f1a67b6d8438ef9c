"""Requests and the sessions they become: the lifecycle's transitions.

Every state change is one conditional ``UPDATE ... WHERE status IN <sources>``
built from :data:`desklink.protocol.lifecycle.REQUEST_TRANSITIONS` (see
:func:`desklink.store._base.transition`). The database decides who wins: at
PostgreSQL's READ COMMITTED a second updater of the same row waits for the
first to commit, then re-checks the ``WHERE`` against the new row and matches
nothing; SQLite writes one transaction at a time. No read-then-write races.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from desklink.errors import Conflict, NotFound
from desklink.protocol.lifecycle import REQUEST_OPEN
from desklink.store._base import StoreBase, record, transition
from desklink.store.models import QueueRow, RequestRow, SessionRow, UserRow
from desklink.store.records import Queue, Request, Session, SessionSummary

#: The lifecycle events :meth:`RequestsMixin.close_request` makes; ``accept``
#: and ``end`` have their own methods because they also touch the session.
CloseEvent = Literal["cancel", "abandon", "expire"]
_CLOSE_EVENTS: frozenset[str] = frozenset({"cancel", "abandon", "expire"})


def new_id() -> str:
    """A random id of 16 URL-safe characters (96 bits) for requests and sessions."""
    return secrets.token_urlsafe(12)


class RequestsMixin(StoreBase):
    # -- requests ----------------------------------------------------------

    async def create_request(
        self,
        *,
        queue_id: int,
        visitor_name: str,
        visitor_email: str,
        question: str,
        token_hash: str,
        ip: str,
        origin: str,
        now: datetime,
        visitor_client: str = "",
        visitor_context: dict[str, Any] | None = None,
    ) -> Request:
        """Store a new ``waiting`` request. :class:`NotFound` for an unknown
        queue; :class:`Conflict` if ``token_hash`` is already used (a token
        must be fresh randomness per request)."""
        try:
            async with self._write() as conn:
                if await conn.scalar(select(QueueRow.id).where(QueueRow.id == queue_id)) is None:
                    raise NotFound(f"no queue {queue_id}")
                row = (
                    await conn.execute(
                        insert(RequestRow)
                        .values(
                            id=new_id(),
                            queue_id=queue_id,
                            visitor_name=visitor_name,
                            visitor_email=visitor_email,
                            visitor_client=visitor_client,
                            visitor_context=visitor_context or {},
                            question=question,
                            visitor_token_hash=token_hash,
                            ip=ip,
                            origin=origin,
                            status="waiting",
                            rep_id=None,
                            last_seq=0,
                            created_at=now,
                        )
                        .returning(RequestRow)
                    )
                ).one()
        except IntegrityError:
            raise Conflict("visitor token already in use", code="conflict_exists") from None
        return record(Request, row)

    async def get_request(self, request_id: str) -> Request | None:
        async with self._read() as conn:
            row = (await conn.execute(select(RequestRow).where(RequestRow.id == request_id))).first()
        return None if row is None else record(Request, row)

    async def get_request_by_token(self, token_hash: str) -> Request | None:
        """The request whose visitor token hashes to ``token_hash``."""
        async with self._read() as conn:
            row = (await conn.execute(select(RequestRow).where(RequestRow.visitor_token_hash == token_hash))).first()
        return None if row is None else record(Request, row)

    async def count_open_requests_by_ip(self, ip: str) -> int:
        """Requests from ``ip`` still waiting or in chat (for the per-IP limit)."""
        stmt = select(func.count()).where(RequestRow.ip == ip, RequestRow.status.in_(REQUEST_OPEN))
        async with self._read() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def waiting_requests(self, queue_ids: Sequence[int]) -> list[Request]:
        """Waiting requests of the given queues, oldest first (ties by id)."""
        if not queue_ids:
            return []
        stmt = (
            select(RequestRow)
            .where(RequestRow.queue_id.in_(list(queue_ids)), RequestRow.status == "waiting")
            .order_by(RequestRow.created_at, RequestRow.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Request, r) for r in rows]

    async def queue_position(self, request_id: str) -> int:
        """1-based place among the waiting requests of its queue, ordered by
        ``created_at`` then id; 0 if it is not waiting. :class:`NotFound` for an
        unknown id."""
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(RequestRow.queue_id, RequestRow.status, RequestRow.created_at).where(
                        RequestRow.id == request_id
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"no request {request_id}")
            if row.status != "waiting":
                return 0
            ahead = await conn.scalar(
                select(func.count()).where(
                    RequestRow.queue_id == row.queue_id,
                    RequestRow.status == "waiting",
                    or_(
                        RequestRow.created_at < row.created_at,
                        and_(RequestRow.created_at == row.created_at, RequestRow.id < request_id),
                    ),
                )
            )
        return int(ahead or 0) + 1

    async def accept_request(self, request_id: str, rep_id: int, now: datetime) -> Session | None:
        """First accept wins: move the request ``waiting -> accepted`` and open
        its session in one transaction. ``None`` if the request was not
        waiting (someone else accepted first, or it ended). :class:`NotFound`
        for an unknown request or rep.

        Whether ``rep_id`` may accept (role, queue membership, disabled) is
        the caller's decision; the store only makes the transition atomic.
        """
        sources, target = transition("accept")
        try:
            async with self._write() as conn:
                won = (
                    await conn.execute(
                        update(RequestRow)
                        .where(RequestRow.id == request_id, RequestRow.status.in_(sources))
                        .values(status=target, rep_id=rep_id, accepted_at=now)
                        .returning(RequestRow.id)
                    )
                ).first()
                if won is None:
                    await _require_request(conn, request_id)
                    return None
                row = (
                    await conn.execute(
                        insert(SessionRow)
                        .values(
                            id=new_id(), request_id=request_id, rep_id=rep_id, started_at=now, note=""
                        )
                        .returning(SessionRow)
                    )
                ).one()
        except IntegrityError:
            # The only foreign key the winner can break is rep_id's.
            raise NotFound(f"no user {rep_id}") from None
        return record(Session, row)

    async def close_request(self, request_id: str, event: CloseEvent, now: datetime) -> Request | None:
        """Make the lifecycle transition ``event`` (cancel, abandon or expire)
        and set ``closed_at``; returns the updated request, or ``None`` if it
        was not in a state ``event`` may leave (e.g. cancel after accept).
        :class:`NotFound` for an unknown id."""
        if event not in _CLOSE_EVENTS:
            raise ValueError(f"close_request takes one of {sorted(_CLOSE_EVENTS)}, not {event!r}")
        sources, target = transition(event)
        async with self._write() as conn:
            row = (
                await conn.execute(
                    update(RequestRow)
                    .where(RequestRow.id == request_id, RequestRow.status.in_(sources))
                    .values(status=target, closed_at=now)
                    .returning(RequestRow)
                )
            ).first()
            if row is None:
                await _require_request(conn, request_id)
                return None
        return record(Request, row)

    async def expire_waiting(self, created_before: datetime, now: datetime) -> list[Request]:
        """Expire every waiting request created before ``created_before``
        (strictly); returns them oldest first.

        A request accepted at the same moment is either accepted or expired,
        never both. On PostgreSQL the rows are locked in id order with
        ``SKIP LOCKED``: sweepers on several nodes never deadlock or wait on
        each other, and a row another transaction holds right now (being
        accepted, say) is left for the next sweep. SQLite has no row locks and
        needs none (one writer at a time).
        """
        sources, target = transition("expire")
        due = (
            select(RequestRow.id)
            .where(RequestRow.status.in_(sources), RequestRow.created_at < created_before)
            .order_by(RequestRow.id)
            .with_for_update(skip_locked=True)
        )
        async with self._write() as conn:
            rows = (
                await conn.execute(
                    update(RequestRow)
                    .where(RequestRow.id.in_(due.scalar_subquery()), RequestRow.status.in_(sources))
                    .values(status=target, closed_at=now)
                    .returning(RequestRow)
                )
            ).all()
        return sorted((record(Request, r) for r in rows), key=lambda r: (r.created_at, r.id))

    async def recent_accept_waits(self, queue_id: int, *, since: datetime, limit: int = 50) -> list[float]:
        """Seconds each request of the queue waited before being accepted, for
        requests accepted at or after ``since``; the latest ``limit``
        acceptances, most recent first. Feeds the visitor's expected wait."""
        stmt = (
            select(RequestRow.created_at, RequestRow.accepted_at)
            .where(RequestRow.queue_id == queue_id, RequestRow.accepted_at >= since)
            .order_by(RequestRow.accepted_at.desc(), RequestRow.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        # accepted_at is not NULL here: the WHERE compares it.
        return [(accepted - created).total_seconds() for created, accepted in rows if accepted is not None]

    # -- sessions ----------------------------------------------------------

    async def get_session(self, session_id: str) -> Session | None:
        async with self._read() as conn:
            row = (await conn.execute(select(SessionRow).where(SessionRow.id == session_id))).first()
        return None if row is None else record(Session, row)

    async def get_session_by_request(self, request_id: str) -> Session | None:
        async with self._read() as conn:
            row = (await conn.execute(select(SessionRow).where(SessionRow.request_id == request_id))).first()
        return None if row is None else record(Session, row)

    async def open_sessions_for_rep(self, rep_id: int) -> list[Session]:
        """The rep's sessions not yet ended, oldest first."""
        stmt = (
            select(SessionRow)
            .where(SessionRow.rep_id == rep_id, SessionRow.ended_at.is_(None))
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Session, r) for r in rows]

    async def hand_over_session(self, session_id: str, from_rep_id: int, to_rep_id: int) -> Session | None:
        """A supervisor takes a session over: ``sessions.rep_id`` and
        ``requests.rep_id`` move from ``from_rep_id`` to ``to_rep_id`` in one
        transaction, only while the session is open and still held by
        ``from_rep_id``. ``None`` otherwise (it ended, or someone else took
        it first). :class:`NotFound` for an unknown session."""
        async with self._write() as conn:
            row = (
                await conn.execute(
                    update(SessionRow)
                    .where(
                        SessionRow.id == session_id, SessionRow.ended_at.is_(None), SessionRow.rep_id == from_rep_id
                    )
                    .values(rep_id=to_rep_id)
                    .returning(SessionRow)
                )
            ).first()
            if row is None:
                if await conn.scalar(select(SessionRow.id).where(SessionRow.id == session_id)) is None:
                    raise NotFound(f"no session {session_id}")
                return None
            await conn.execute(update(RequestRow).where(RequestRow.id == row.request_id).values(rep_id=to_rep_id))
        return record(Session, row)

    async def end_session(
        self, session_id: str, *, ended_by: str, disposition: str | None, note: str, now: datetime
    ) -> Session | None:
        """End an open session and close its request (``accepted -> closed``,
        ``closed_at = now``) in one transaction. ``None`` if it had already
        ended, so ending twice (rep and visitor at once) is harmless and only
        the first ``ended_by``/``disposition``/``note`` are kept.
        :class:`NotFound` for an unknown id."""
        sources, target = transition("end")
        async with self._write() as conn:
            row = (
                await conn.execute(
                    update(SessionRow)
                    .where(SessionRow.id == session_id, SessionRow.ended_at.is_(None))
                    .values(ended_at=now, ended_by=ended_by, disposition=disposition, note=note)
                    .returning(SessionRow)
                )
            ).first()
            if row is None:
                if await conn.scalar(select(SessionRow.id).where(SessionRow.id == session_id)) is None:
                    raise NotFound(f"no session {session_id}")
                return None
            await conn.execute(
                update(RequestRow)
                .where(RequestRow.id == row.request_id, RequestRow.status.in_(sources))
                .values(status=target, closed_at=now)
            )
        return record(Session, row)

    async def wrap_up_session(self, session_id: str, *, disposition: str, note: str) -> Session | None:
        """Record the disposition of a session that ended without one (the
        visitor left first). ``None`` if it is still open or already has one,
        so a disposition is written once. :class:`NotFound` for an unknown id."""
        async with self._write() as conn:
            row = (
                await conn.execute(
                    update(SessionRow)
                    .where(
                        SessionRow.id == session_id,
                        SessionRow.ended_at.is_not(None),
                        SessionRow.disposition.is_(None),
                    )
                    .values(disposition=disposition, note=note)
                    .returning(SessionRow)
                )
            ).first()
            if row is None:
                if await conn.scalar(select(SessionRow.id).where(SessionRow.id == session_id)) is None:
                    raise NotFound(f"no session {session_id}")
                return None
        return record(Session, row)

    async def list_sessions(self, *, rep_id: int | None = None, limit: int = 100, offset: int = 0) -> list[Session]:
        """Sessions newest first (by ``started_at``, then id), optionally one
        rep's; page with ``limit`` and ``offset``."""
        stmt = select(SessionRow).order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
        if rep_id is not None:
            stmt = stmt.where(SessionRow.rep_id == rep_id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt.limit(limit).offset(offset))).all()
        return [record(Session, r) for r in rows]


    async def list_session_summaries(
        self, *, rep_id: int | None = None, queue_ids: Sequence[int] = (), limit: int = 100, offset: int = 0
    ) -> list[SessionSummary]:
        """Like :meth:`list_sessions`, with each session's request, queue and
        rep name, in one query (the history pages show all of them). With
        ``rep_id``: that rep's sessions, and also any of ``queue_ids``."""
        cols = [
            *(c.label("s_" + c.name) for c in SessionRow.__table__.c),
            *(c.label("r_" + c.name) for c in RequestRow.__table__.c),
            *(c.label("q_" + c.name) for c in QueueRow.__table__.c),
            UserRow.display_name.label("rep_name"),
        ]
        stmt = (
            select(*cols)
            .join(RequestRow, RequestRow.id == SessionRow.request_id)
            .join(QueueRow, QueueRow.id == RequestRow.queue_id)
            .join(UserRow, UserRow.id == SessionRow.rep_id)
            .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
        )
        if rep_id is not None and queue_ids:
            stmt = stmt.where(or_(SessionRow.rep_id == rep_id, RequestRow.queue_id.in_(list(queue_ids))))
        elif rep_id is not None:
            stmt = stmt.where(SessionRow.rep_id == rep_id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt.limit(limit).offset(offset))).all()
        out = []
        for row in rows:
            m = row._mapping
            out.append(
                SessionSummary(
                    session=record(Session, {k[2:]: v for k, v in m.items() if k.startswith("s_")}),
                    request=record(Request, {k[2:]: v for k, v in m.items() if k.startswith("r_")}),
                    queue=record(Queue, {k[2:]: v for k, v in m.items() if k.startswith("q_")}),
                    rep_name=str(m["rep_name"]),
                )
            )
        return out


async def _require_request(conn: AsyncConnection, request_id: str) -> None:
    if await conn.scalar(select(RequestRow.id).where(RequestRow.id == request_id)) is None:
        raise NotFound(f"no request {request_id}")


"""Chat messages (numbered, stored once per client id) and the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from desklink.errors import Conflict, NotFound, Rollback
from desklink.protocol.events import Actor, EventKind, check_kind
from desklink.protocol.lifecycle import CHAT_ALLOWED
from desklink.store._base import StoreBase, record
from desklink.store.models import EventRow, MessageRow, RequestRow
from desklink.store.records import Event, Message

Sender = Literal["visitor", "rep", "system"]
_SENDERS: frozenset[str] = frozenset({"visitor", "rep", "system"})


class ChatMixin(StoreBase):
    # -- messages ----------------------------------------------------------

    async def add_message(
        self,
        *,
        request_id: str,
        client_id: str,
        sender: Sender,
        sender_name: str,
        user_id: int | None,
        body: str,
        now: datetime,
    ) -> tuple[Message, bool]:
        """Store a chat message once per ``(request_id, client_id)``.

        Returns ``(message, True)`` when stored now, with the next ``seq``
        (1, 2, 3... per request, no gaps), or ``(stored, False)`` when that
        client id was stored before: a client re-sending after a reconnect
        gets the original back, whatever body it sent this time.

        How it stays exact under concurrency: the seq comes from
        ``UPDATE requests SET last_seq = last_seq + 1 ... RETURNING``, which
        also locks the request row until commit; only then does it look for
        the client id again (at READ COMMITTED that read sees every message
        committed before the lock was granted). A duplicate found there rolls
        the transaction back, so the counter is not advanced and seqs stay
        gap-free.

        Rule 2 of the lifecycle: visitors and reps may chat only while the
        request is waiting or accepted, otherwise :class:`Conflict` (code
        ``conflict_closed``). ``system`` messages are always accepted: they
        record what happened, including the ending itself. :class:`NotFound`
        for an unknown request.
        """
        if sender not in _SENDERS:
            raise ValueError(f"unknown sender {sender!r}")
        async with self._read() as conn:
            stored = await _by_client_id(conn, request_id, client_id)
        if stored is not None:
            return stored, False

        bump = update(RequestRow).where(RequestRow.id == request_id)
        if sender != "system":
            bump = bump.where(RequestRow.status.in_(CHAT_ALLOWED))
        bump = bump.values(last_seq=RequestRow.last_seq + 1).returning(RequestRow.last_seq)
        try:
            async with self._write() as conn:
                seq = await conn.scalar(bump)
                if seq is None:
                    stored = await _by_client_id(conn, request_id, client_id)
                    if stored is not None:
                        return stored, False
                    if await conn.scalar(select(RequestRow.status).where(RequestRow.id == request_id)) is None:
                        raise NotFound(f"no request {request_id}")
                    raise Conflict(f"request {request_id} is closed to chat")
                stored = await _by_client_id(conn, request_id, client_id)
                if stored is not None:
                    raise Rollback(stored)
                row = (
                    await conn.execute(
                        insert(MessageRow)
                        .values(
                            request_id=request_id,
                            seq=seq,
                            client_id=client_id,
                            sender=sender,
                            sender_name=sender_name,
                            user_id=user_id,
                            body=body,
                            created_at=now,
                        )
                        .returning(MessageRow)
                    )
                ).one()
        except Rollback as undone:
            return undone.value, False
        except IntegrityError:
            # The only constraint left to break is user_id's foreign key.
            raise NotFound(f"no user {user_id}") from None
        return record(Message, row), True

    async def messages_after(self, request_id: str, after_seq: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages with ``seq > after_seq``, ascending: what a
        reconnecting client missed."""
        stmt = (
            select(MessageRow)
            .where(MessageRow.request_id == request_id, MessageRow.seq > after_seq)
            .order_by(MessageRow.seq)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Message, r) for r in rows]

    async def all_messages(self, request_id: str) -> list[Message]:
        """The whole transcript, ascending by seq (unbounded: for downloads
        and admin review, not for resuming a connection)."""
        stmt = select(MessageRow).where(MessageRow.request_id == request_id).order_by(MessageRow.seq)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Message, r) for r in rows]

    # -- events ------------------------------------------------------------

    async def add_event(
        self,
        *,
        request_id: str | None,
        kind: EventKind,
        actor: Actor,
        data: dict[str, Any],
        now: datetime,
        actor_id: int | None = None,
    ) -> Event:
        """Append to the event log. ``kind`` and ``actor`` come from the
        closed vocabulary of :mod:`desklink.protocol.events` (anything else
        is a ``ValueError``); ``actor_id`` is the acting user, if a user
        acted. ``data`` must be JSON-serialisable; it comes back as plain
        JSON values (tuples become lists). :class:`NotFound` if
        ``request_id`` names no request."""
        check_kind(kind, actor)
        try:
            async with self._write() as conn:
                row = (
                    await conn.execute(
                        insert(EventRow)
                        .values(request_id=request_id, kind=kind, actor=actor, actor_id=actor_id, data=data, created_at=now)
                        .returning(EventRow)
                    )
                ).one()
        except IntegrityError:
            raise NotFound(f"no request {request_id}") from None
        return record(Event, row)

    async def events_for(self, request_id: str) -> list[Event]:
        """A request's events in the order they were logged."""
        stmt = select(EventRow).where(EventRow.request_id == request_id).order_by(EventRow.id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Event, r) for r in rows]


async def _by_client_id(conn: AsyncConnection, request_id: str, client_id: str) -> Message | None:
    row = (
        await conn.execute(
            select(MessageRow).where(MessageRow.request_id == request_id, MessageRow.client_id == client_id)
        )
    ).first()
    return None if row is None else record(Message, row)

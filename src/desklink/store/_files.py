"""Files: transfer rows and each queue's file policy.

A transfer row is the session's record of one file (who sent what, how far
it got, why it stopped); the bytes live in the file store
(``server/file_store.py``), keyed by the row's id. Rows are never deleted:
retention removes the bytes and marks the row ``expired``.

Creating a transfer is idempotent on ``(request_id, sender, client_id)``, as
chat messages are on their client id: a help box that re-sends its
``file.offer`` after a reconnect gets the transfer it already has.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from desklink.errors import Conflict, NotFound
from desklink.protocol.files import FINAL
from desklink.protocol.filepolicy import FilePolicy, parse_extensions
from desklink.store._base import StoreBase, record
from desklink.store.models import QueueRow, RequestRow, TransferRow
from desklink.store.records import Transfer

#: The columns :meth:`FilesMixin.update_transfer` may change.
UPDATABLE: frozenset[str] = frozenset({"status", "received", "delivered", "sha256", "reason"})
#: Still travelling: only the transfer hub ends these (server/transfers.py ``UNFINISHED``).
UNFINISHED_STATUSES: frozenset[str] = frozenset({"offered", "uploading", "paused", "delivering"})


class FilesMixin(StoreBase):
    # -- transfers ---------------------------------------------------------

    async def create_transfer(
        self,
        *,
        request_id: str,
        session_id: str,
        sender: Literal["visitor", "rep"],
        sender_name: str,
        user_id: int | None,
        via: Literal["browser", "agent"],
        target: Literal["chat", "computer"],
        client_id: str,
        name: str,
        mime: str,
        size: int,
        download_key: str,
        status: str = "offered",
        now: datetime | None = None,
    ) -> tuple[Transfer, bool]:
        """Record an offered file: ``(transfer, True)`` when stored now, or
        ``(existing, False)`` when ``(request_id, sender, client_id)`` was
        stored before (whatever else was sent this time). :class:`NotFound`
        for an unknown request or user."""
        now = now or datetime.now(UTC)
        async with self._read() as conn:
            stored = await _by_client_id(conn, request_id, sender, client_id)
        if stored is not None:
            return stored, False
        values = dict(
            request_id=request_id,
            session_id=session_id,
            sender=sender,
            sender_name=sender_name,
            user_id=user_id,
            via=via,
            target=target,
            client_id=client_id,
            name=name,
            mime=mime,
            size=size,
            received=0,
            delivered=0,
            sha256="",
            status=status,
            reason="",
            download_key=download_key,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._write() as conn:
                row = (await conn.execute(insert(TransferRow).values(**values).returning(TransferRow))).one()
        except IntegrityError:
            # Either another writer stored the same client id first (the
            # unique constraint), or a foreign key is wrong.
            async with self._read() as conn:
                stored = await _by_client_id(conn, request_id, sender, client_id)
                if stored is not None:
                    return stored, False
                if await conn.scalar(select(RequestRow.id).where(RequestRow.id == request_id)) is None:
                    raise NotFound(f"no request {request_id}") from None
            raise NotFound(f"no user {user_id}") from None
        return record(Transfer, row), True

    async def get_transfer(self, transfer_id: int) -> Transfer | None:
        async with self._read() as conn:
            row = (await conn.execute(select(TransferRow).where(TransferRow.id == transfer_id))).first()
        return None if row is None else record(Transfer, row)

    async def list_transfers(self, request_id: str) -> list[Transfer]:
        """A request's transfers in the order they were offered."""
        stmt = select(TransferRow).where(TransferRow.request_id == request_id).order_by(TransferRow.id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Transfer, r) for r in rows]

    async def update_transfer(
        self, transfer_id: int, *, now: datetime | None = None, when: Collection[str] | None = None, **fields: Any
    ) -> Transfer:
        """Change ``status``, ``received``, ``delivered``, ``sha256`` or
        ``reason`` (anything else is a ``ValueError``); :class:`NotFound`
        for an unknown id. With ``when``, only a row whose status is one of
        those changes (:class:`Conflict` otherwise: another node or the
        sweeper ended it meanwhile). The caller (the transfer hub) owns the
        state machine; the store just records."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"transfers: cannot update {sorted(unknown)}")
        stmt = update(TransferRow).where(TransferRow.id == transfer_id)
        if when is not None:
            stmt = stmt.where(TransferRow.status.in_(sorted(when)))
        stmt = stmt.values(**fields, updated_at=now or datetime.now(UTC)).returning(TransferRow)
        async with self._write() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            if when is not None and await self.get_transfer(transfer_id) is not None:
                raise Conflict(f"transfer {transfer_id} is no longer {'/'.join(sorted(when))}", code="bad_state")
            raise NotFound(f"no transfer {transfer_id}")
        return record(Transfer, row)

    async def count_transfers(self, request_id: str) -> int:
        """Every transfer offered in the session, whatever became of it (the
        files-per-session policy counts offers, not successes)."""
        stmt = select(func.count()).select_from(TransferRow).where(TransferRow.request_id == request_id)
        async with self._read() as conn:
            return int(await conn.scalar(stmt) or 0)

    # -- retention ---------------------------------------------------------

    async def expire_transfers(self, before: datetime, now: datetime) -> list[Transfer]:
        """Mark ``expired`` every transfer offered before ``before`` that is
        final or ``ready`` (not expired yet), and return them (the caller
        removes their bytes). Unfinished rows are left alone: their bytes
        may still be arriving, and only the transfer hub may end them
        (:meth:`idle_transfers`, session end), telling both parties."""
        stmt = (
            update(TransferRow)
            .where(
                TransferRow.created_at < before,
                TransferRow.status != "expired",
                TransferRow.status.not_in(sorted(UNFINISHED_STATUSES)),
            )
            .values(status="expired", updated_at=now)
            .returning(TransferRow)
        )
        async with self._write() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Transfer, r) for r in rows]

    async def idle_transfers(self, before: datetime) -> list[Transfer]:
        """Unfinished transfers whose row last changed before ``before`` (no
        byte arrived since: ``received`` is written while bytes move)."""
        stmt = select(TransferRow).where(
            TransferRow.status.in_(sorted(UNFINISHED_STATUSES)), TransferRow.updated_at < before
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Transfer, r) for r in rows]

    async def transfers_holding_bytes(self, transfer_ids: Collection[int]) -> set[int]:
        """Of ``transfer_ids``, those whose row still wants its bytes (a row
        exists and is not expired, cancelled, refused or failed)."""
        if not transfer_ids:
            return set()
        gone = FINAL - {"delivered"}
        wanted: set[int] = set()
        ids = sorted(transfer_ids)
        async with self._read() as conn:
            for start in range(0, len(ids), 500):
                stmt = select(TransferRow.id).where(TransferRow.id.in_(ids[start : start + 500]), TransferRow.status.not_in(gone))
                wanted.update((await conn.scalars(stmt)).all())
        return wanted

    # -- queue file policy -------------------------------------------------

    async def get_file_policy(self, queue_id: int) -> FilePolicy:
        """The queue's file policy; :class:`NotFound` for an unknown queue."""
        stmt = select(
            QueueRow.files_to_visitor,
            QueueRow.files_from_visitor,
            QueueRow.max_file_bytes,
            QueueRow.max_files_per_session,
            QueueRow.blocked_extensions,
        ).where(QueueRow.id == queue_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no queue {queue_id}")
        return FilePolicy(
            to_visitor=bool(row.files_to_visitor),
            from_visitor=bool(row.files_from_visitor),
            max_file_bytes=int(row.max_file_bytes),
            max_files_per_session=int(row.max_files_per_session),
            blocked_extensions=parse_extensions(row.blocked_extensions),
        )

    async def set_file_policy(self, queue_id: int, policy: FilePolicy) -> FilePolicy:
        """Replace the queue's file policy; :class:`NotFound` for an unknown
        queue. The caller validated it against the server's ceilings."""
        if policy.max_file_bytes < 0 or policy.max_files_per_session < 0:
            raise ValueError("file policy limits must be >= 0")
        stmt = (
            update(QueueRow)
            .where(QueueRow.id == queue_id)
            .values(
                files_to_visitor=policy.to_visitor,
                files_from_visitor=policy.from_visitor,
                max_file_bytes=policy.max_file_bytes,
                max_files_per_session=policy.max_files_per_session,
                blocked_extensions=",".join(parse_extensions(",".join(policy.blocked_extensions))),
            )
            .returning(QueueRow.id)
        )
        async with self._write() as conn:
            if (await conn.execute(stmt)).first() is None:
                raise NotFound(f"no queue {queue_id}")
        return await self.get_file_policy(queue_id)


async def _by_client_id(conn: AsyncConnection, request_id: str, sender: str, client_id: str) -> Transfer | None:
    row = (
        await conn.execute(
            select(TransferRow).where(
                TransferRow.request_id == request_id, TransferRow.sender == sender, TransferRow.client_id == client_id
            )
        )
    ).first()
    return None if row is None else record(Transfer, row)

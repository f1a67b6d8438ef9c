"""Recordings index and each queue's recording policy (issue 12).

The segments themselves live in the recording store (a port,
server/recording_store.py); the database keeps what proves the newest one
(``head_hash``) and what the reading API lists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from desklink.errors import NotFound
from desklink.protocol.server_messages import RECORDING_POLICIES, RecordingPolicy
from desklink.store._base import StoreBase, record
from desklink.store.models import QueueRow, RecordingRow, RequestRow
from desklink.store.records import Recording


class RecordingsMixin(StoreBase):
    async def get_recording_policy(self, queue_id: int) -> RecordingPolicy:
        """:class:`NotFound` for an unknown queue."""
        async with self._read() as conn:
            value = await conn.scalar(select(QueueRow.recording).where(QueueRow.id == queue_id))
        if value is None:
            raise NotFound(f"no queue {queue_id}")
        return _policy(value)

    async def recording_policy_of_request(self, request_id: str) -> RecordingPolicy:
        """The policy of the request's queue (``never`` for an unknown request)."""
        stmt = select(QueueRow.recording).join(RequestRow, RequestRow.queue_id == QueueRow.id).where(RequestRow.id == request_id)
        async with self._read() as conn:
            value = await conn.scalar(stmt)
        return "never" if value is None else _policy(value)

    async def set_recording_policy(self, queue_id: int, policy: RecordingPolicy) -> RecordingPolicy:
        if policy not in RECORDING_POLICIES:
            raise ValueError(f"recording policy is one of {', '.join(RECORDING_POLICIES)}")
        async with self._write() as conn:
            done = (
                await conn.execute(update(QueueRow).where(QueueRow.id == queue_id).values(recording=policy).returning(QueueRow.id))
            ).first()
        if done is None:
            raise NotFound(f"no queue {queue_id}")
        return policy

    async def start_recording(self, session_id: str, request_id: str, now: datetime) -> Recording:
        """A recording begins (or, for a session recorded before, goes on:
        its row is marked recording again and keeps its segments)."""
        async with self._write() as conn:
            found = (await conn.execute(select(RecordingRow).where(RecordingRow.session_id == session_id))).first()
            if found is None:
                await conn.execute(
                    insert(RecordingRow).values(
                        session_id=session_id, request_id=request_id, started_at=now, status="recording"
                    )
                )
            else:
                await conn.execute(
                    update(RecordingRow)
                    .where(RecordingRow.session_id == session_id)
                    .values(status="recording", ended_at=None, error="")
                )
            row = (await conn.execute(select(RecordingRow).where(RecordingRow.session_id == session_id))).one()
        return record(Recording, row)

    async def add_recording_segment(self, session_id: str, number: int, size: int, head_hash: str, end_t_ms: int) -> None:
        """A segment is durably stored: it is now the head."""
        async with self._write() as conn:
            await conn.execute(
                update(RecordingRow)
                .where(RecordingRow.session_id == session_id)
                .values(
                    segments=number + 1,
                    bytes=RecordingRow.bytes + size,
                    head_hash=head_hash,
                    duration_ms=end_t_ms,
                )
            )

    async def end_recording(self, session_id: str, now: datetime, *, error: str = "") -> None:
        async with self._write() as conn:
            await conn.execute(
                update(RecordingRow)
                .where(RecordingRow.session_id == session_id)
                .values(ended_at=now, status="failed" if error else "done", error=error)
            )

    async def get_recording(self, session_id: str) -> Recording | None:
        async with self._read() as conn:
            row = (await conn.execute(select(RecordingRow).where(RecordingRow.session_id == session_id))).first()
        return None if row is None else record(Recording, row)

    async def recordings_started_before(self, cutoff: datetime, limit: int = 500) -> list[Recording]:
        """Finished recordings older than ``cutoff``, oldest first (retention)."""
        stmt = (
            select(RecordingRow)
            .where(RecordingRow.started_at < cutoff, RecordingRow.status != "recording")
            .order_by(RecordingRow.started_at)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(Recording, r) for r in rows]

    async def delete_recording(self, session_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(RecordingRow).where(RecordingRow.session_id == session_id))


def _policy(value: str) -> RecordingPolicy:
    return value if value in RECORDING_POLICIES else "never"

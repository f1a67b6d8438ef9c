"""Each queue's branding: title, accent colour, welcome text, pre-chat
fields, and its logo (issue 14). The values arrive checked
(admin/rules.py); the store keeps them as they are."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from desklink.errors import NotFound
from desklink.store._base import StoreBase
from desklink.store._queues import _require_queue
from desklink.store.models import QueueLogoRow, QueueRow
from desklink.store.records import Branding, Logo


class BrandingMixin(StoreBase):
    async def get_branding(self, queue_id: int) -> Branding:
        """:class:`NotFound` for an unknown queue."""
        stmt = (
            select(
                QueueRow.brand_title, QueueRow.brand_color, QueueRow.brand_welcome, QueueRow.prechat_fields,
                QueueLogoRow.sha256, QueueLogoRow.content_type,
            )
            .outerjoin(QueueLogoRow, QueueLogoRow.queue_id == QueueRow.id)
            .where(QueueRow.id == queue_id)
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no queue {queue_id}")
        title, color, welcome, fields, sha, media = row
        return Branding(
            title=title, color=color, welcome=welcome, fields=tuple(json.loads(fields or "[]")), logo_sha256=sha or "", logo_type=media or ""
        )

    async def set_branding(
        self, queue_id: int, *, title: str, color: str, welcome: str, fields: Sequence[dict[str, Any]]
    ) -> Branding:
        """Replace the queue's title, colour, welcome text and fields (the logo stays)."""
        values = {"brand_title": title, "brand_color": color, "brand_welcome": welcome, "prechat_fields": json.dumps(list(fields), ensure_ascii=False)}
        async with self._write() as conn:
            done = (await conn.execute(update(QueueRow).where(QueueRow.id == queue_id).values(**values).returning(QueueRow.id))).first()
        if done is None:
            raise NotFound(f"no queue {queue_id}")
        return await self.get_branding(queue_id)

    async def set_logo(self, queue_id: int, *, data: bytes, content_type: str, sha256: str, now: datetime) -> None:
        """Put ``data`` in place of the queue's logo; :class:`NotFound` for an unknown queue."""
        async with self._write() as conn:
            await _require_queue(conn, queue_id)
            await conn.execute(delete(QueueLogoRow).where(QueueLogoRow.queue_id == queue_id))
            await conn.execute(
                insert(QueueLogoRow).values(
                    queue_id=queue_id, content_type=content_type, sha256=sha256, data=data, updated_at=now
                )
            )

    async def delete_logo(self, queue_id: int) -> bool:
        """Remove the queue's logo; False when it had none."""
        async with self._write() as conn:
            result = await conn.execute(delete(QueueLogoRow).where(QueueLogoRow.queue_id == queue_id))
        return bool(result.rowcount)

    async def get_logo(self, queue_id: int) -> Logo | None:
        stmt = select(QueueLogoRow.content_type, QueueLogoRow.sha256, QueueLogoRow.data).where(QueueLogoRow.queue_id == queue_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else Logo(content_type=row[0], sha256=row[1], data=bytes(row[2]))

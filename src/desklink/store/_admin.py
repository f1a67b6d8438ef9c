"""What admins change and who saw it: the audit log, access changes and
deployment-wide policies.

* The **audit log** records every admin action (users, roles, queues,
  policies) with who, what and when; admins read it newest first.
* **Access changes** are an append-only list of "user N's role, queues or
  status changed". Every node reads the rows after the last id it saw (one
  indexed query twice a second, ``server/access.py``) and re-checks that user's open sockets, so a change
  made by the admin center on any node, or by the command line in another
  process, reaches every socket without relying on the broker. Rows older
  than a few minutes are purged.
* **Policies** are small JSON values under a key (for example which roles
  must sign in with a second factor).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from desklink.store._base import StoreBase, record
from desklink.store.models import AccessChangeRow, AuditRow, PolicyRow
from desklink.store.records import AccessChange, AuditEntry


class AdminMixin(StoreBase):
    # -- audit log -----------------------------------------------------------

    async def add_audit(
        self, *, actor_id: int | None, actor: str, action: str, target: str, data: dict[str, Any], now: datetime
    ) -> AuditEntry:
        """Append one admin action. ``actor`` names who did it in words (the
        admin's username, or ``command line``); ``target`` what it acted on."""
        async with self._write() as conn:
            row = (
                await conn.execute(
                    insert(AuditRow)
                    .values(actor_id=actor_id, actor=actor, action=action, target=target, data=data, created_at=now)
                    .returning(AuditRow)
                )
            ).one()
        return record(AuditEntry, row)

    async def list_audit(self, *, limit: int, before_id: int | None = None) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back through older entries."""
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(AuditRow.id < before_id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(AuditEntry, r) for r in rows]

    # -- access changes --------------------------------------------------------

    async def add_access_change(self, user_id: int, now: datetime) -> int:
        """Note that ``user_id``'s role, queues or status changed; returns the
        change's id (ids only grow)."""
        async with self._write() as conn:
            new_id = await conn.scalar(
                insert(AccessChangeRow).values(user_id=user_id, created_at=now).returning(AccessChangeRow.id)
            )
        return int(new_id or 0)

    async def access_changes_after(self, after_id: int, limit: int = 1000) -> list[AccessChange]:
        """Changes with an id above ``after_id``, oldest first."""
        stmt = select(AccessChangeRow).where(AccessChangeRow.id > after_id).order_by(AccessChangeRow.id).limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [record(AccessChange, r) for r in rows]

    async def last_access_change_id(self) -> int:
        """The newest change's id (0 when there is none): where a node that
        starts begins reading."""
        async with self._read() as conn:
            return int(await conn.scalar(select(func.max(AccessChangeRow.id))) or 0)

    async def purge_access_changes(self, before: datetime) -> int:
        """Drop changes older than ``before``, except the newest change of
        all; returns how many. SQLite gives a new row the highest id plus
        one, so an emptied table would hand out ids again from 1 and every
        node, reading after the id it last saw, would miss them."""
        async with self._write() as conn:
            newest = await conn.scalar(select(func.max(AccessChangeRow.id)))
            if newest is None:
                return 0
            result = await conn.execute(
                delete(AccessChangeRow).where(AccessChangeRow.created_at < before, AccessChangeRow.id < newest)
            )
        return int(result.rowcount or 0)

    # -- policies ----------------------------------------------------------------

    async def get_policy(self, key: str) -> dict[str, Any] | None:
        async with self._read() as conn:
            value = await conn.scalar(select(PolicyRow.value).where(PolicyRow.key == key))
        return None if value is None else dict(value)

    async def set_policy(self, key: str, value: dict[str, Any], now: datetime) -> None:
        """Create or replace the policy ``key``."""
        async with self._write() as conn:
            await conn.execute(delete(PolicyRow).where(PolicyRow.key == key))
            await conn.execute(insert(PolicyRow).values(key=key, value=value, updated_at=now))

"""Second factors: a user's TOTP secret and their one-time recovery codes.

The secret lives in ``users.totp_secret``; ``users.totp_confirmed_at`` is
NULL while the user enrols (a secret was handed out, no code proved it yet).
Recovery codes are stored as SHA-256 of the normalised code (they are long
random strings, so a plain hash is enough); a used code keeps its row with
``used_at`` set, and using it is one conditional UPDATE, so a code works once
even when two nodes race.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from desklink.store._base import StoreBase
from desklink.store.models import RecoveryCodeRow, UserRow
from desklink.store.records import SecondFactor


class SecondFactorMixin(StoreBase):
    async def get_second_factor(self, user_id: int) -> SecondFactor | None:
        """The user's factor (enrolling or confirmed), or None without one."""
        stmt = select(UserRow.totp_secret, UserRow.totp_confirmed_at).where(UserRow.id == user_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None or row.totp_secret is None:
            return None
        return SecondFactor(user_id, row.totp_secret, row.totp_confirmed_at)

    async def second_factor_states(self) -> dict[int, bool]:
        """``{user_id: confirmed}`` for every user who has a secret (enrolling
        users map to False)."""
        stmt = select(UserRow.id, UserRow.totp_confirmed_at).where(UserRow.totp_secret.is_not(None))
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {r.id: r.totp_confirmed_at is not None for r in rows}

    async def begin_second_factor(self, user_id: int, secret: str) -> bool:
        """Start (or restart) enrolment with ``secret``. False, changing
        nothing, when the user already has a confirmed factor or is unknown."""
        stmt = (
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.totp_confirmed_at.is_(None))
            .values(totp_secret=secret)
        )
        async with self._write() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount or 0) == 1

    async def confirm_second_factor(
        self, user_id: int, secret: str, code_hashes: list[str], now: datetime
    ) -> bool:
        """Confirm the enrolment of ``secret`` and store the user's recovery
        codes (replacing any older ones), in one transaction. False, changing
        nothing, when the user's pending secret is no longer ``secret``
        (restarted, reset, or confirmed already)."""
        stmt = (
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.totp_secret == secret, UserRow.totp_confirmed_at.is_(None))
            .values(totp_confirmed_at=now)
        )
        async with self._write() as conn:
            if int((await conn.execute(stmt)).rowcount or 0) != 1:
                return False
            await self._put_codes(conn, user_id, code_hashes, now)
        return True

    async def replace_recovery_codes(self, user_id: int, code_hashes: list[str], now: datetime) -> None:
        """Drop every recovery code of the user and store these instead."""
        async with self._write() as conn:
            await self._put_codes(conn, user_id, code_hashes, now)

    async def use_recovery_code(self, user_id: int, code_hash: str, now: datetime) -> bool:
        """Mark the unused code ``code_hash`` used; True if there was one."""
        stmt = (
            update(RecoveryCodeRow)
            .where(
                RecoveryCodeRow.user_id == user_id,
                RecoveryCodeRow.code_hash == code_hash,
                RecoveryCodeRow.used_at.is_(None),
            )
            .values(used_at=now)
        )
        async with self._write() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount or 0) >= 1

    async def recovery_codes_left(self, user_id: int) -> int:
        stmt = (
            select(func.count())
            .select_from(RecoveryCodeRow)
            .where(RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_at.is_(None))
        )
        async with self._read() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def clear_second_factor(self, user_id: int) -> bool:
        """Remove the user's secret and recovery codes (turned off by the user,
        or reset by an admin). True if the user had a secret."""
        async with self._write() as conn:
            result = await conn.execute(
                update(UserRow)
                .where(UserRow.id == user_id, UserRow.totp_secret.is_not(None))
                .values(totp_secret=None, totp_confirmed_at=None)
            )
            await conn.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
        return int(result.rowcount or 0) == 1

    @staticmethod
    async def _put_codes(conn: AsyncConnection, user_id: int, code_hashes: list[str], now: datetime) -> None:
        await conn.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
        if code_hashes:
            await conn.execute(
                insert(RecoveryCodeRow),
                [{"user_id": user_id, "code_hash": h, "created_at": now, "used_at": None} for h in code_hashes],
            )

"""Screen-sharing join codes: short enough to read aloud, single use,
expiring, and burned after ``max_tries`` wrong secrets for their slot (see
:mod:`desklink.protocol.joincode` for the odds this leaves a guesser)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from desklink.errors import LimitExceeded
from desklink.store._base import StoreBase
from desklink.store.models import JoinCodeRow

#: Slots are 000-999: at most this many live codes at once per deployment.
SLOTS = 1000
#: Random slot picks before giving up on finding a free one.
SLOT_PICKS = 20


class JoinCodesMixin(StoreBase):
    async def create_join_code(self, *, session_id: str, secret_hash: str, now: datetime, expires_at: datetime) -> int:
        """Reserve a free slot for ``session_id`` and the hashed secret;
        returns the slot. Drops the session's older codes first (a new code
        replaces the old one). ``LimitExceeded`` when no slot is free."""
        async with self._write() as conn:
            await conn.execute(delete(JoinCodeRow).where(JoinCodeRow.expires_at < now))
            await conn.execute(delete(JoinCodeRow).where(JoinCodeRow.session_id == session_id))
        for _ in range(SLOT_PICKS):
            slot = secrets.randbelow(SLOTS)
            try:
                async with self._write() as conn:
                    await conn.execute(
                        insert(JoinCodeRow).values(
                            slot=slot,
                            secret_hash=secret_hash,
                            session_id=session_id,
                            created_at=now,
                            expires_at=expires_at,
                            tries=0,
                        )
                    )
                return slot
            except IntegrityError:
                continue
        raise LimitExceeded("no free join code right now; try again in a minute", code="too_many_requests")

    async def redeem_join_code(self, *, slot: int, secret_hash: str, now: datetime, max_tries: int) -> str | None:
        """The session id if the code is live and right; the code is then gone
        (single use). A wrong secret counts a try; at ``max_tries`` the code
        is burned. None for anything but success.

        A guess at an empty slot (most guesses) costs one read and no write
        transaction, so guessing cannot queue up the server's writers."""
        async with self._read() as conn:
            if await conn.scalar(select(JoinCodeRow.slot).where(JoinCodeRow.slot == slot)) is None:
                return None
        async with self._write() as conn:
            row = (await conn.execute(select(JoinCodeRow).where(JoinCodeRow.slot == slot))).first()
            if row is None:
                return None
            if row.expires_at <= now:
                await conn.execute(delete(JoinCodeRow).where(JoinCodeRow.slot == slot))
                return None
            if not secrets.compare_digest(row.secret_hash, secret_hash):
                if row.tries + 1 >= max_tries:
                    await conn.execute(delete(JoinCodeRow).where(JoinCodeRow.slot == slot))
                else:
                    await conn.execute(
                        update(JoinCodeRow).where(JoinCodeRow.slot == slot).values(tries=JoinCodeRow.tries + 1)
                    )
                return None
            await conn.execute(delete(JoinCodeRow).where(JoinCodeRow.slot == slot))
            return str(row.session_id)

    async def revoke_join_codes(self, session_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(JoinCodeRow).where(JoinCodeRow.session_id == session_id))

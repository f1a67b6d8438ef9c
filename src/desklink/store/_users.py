"""Accounts and console logins."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from desklink.errors import Conflict, NotFound, ProtocolError
from desklink.store._base import StoreBase, record
from desklink.store.models import AuthSessionRow, UserRow
from desklink.store.records import ROLES, AuthSession, Role, User


def username_key(username: str) -> str:
    """What makes two usernames the same: NFKC-normalised and case-folded,
    so "Alice", "ALICE" and "ａｌｉｃｅ" (full-width) are one account."""
    return unicodedata.normalize("NFKC", username).casefold()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")


class UsersMixin(StoreBase):
    # -- users -------------------------------------------------------------

    async def create_user(
        self, username: str, display_name: str, role: Role, password_hash: str, now: datetime
    ) -> User:
        """Create an account; :class:`Conflict` if the username is taken in
        any letter case (see :func:`username_key`). The username is kept as
        typed for display."""
        _check_role(role)
        key = username_key(username)
        try:
            async with self._write() as conn:
                taken = await conn.scalar(select(UserRow.id).where(UserRow.username_key == key))
                if taken is not None:
                    raise Conflict(f"username {username!r} is taken", code="conflict_exists")
                row = (
                    await conn.execute(
                        insert(UserRow)
                        .values(
                            username=username,
                            username_key=key,
                            display_name=display_name,
                            role=role,
                            password_hash=password_hash,
                            disabled=False,
                            created_at=now,
                        )
                        .returning(UserRow)
                    )
                ).one()
        except IntegrityError:
            # Another node created the same name between our check and insert.
            raise Conflict(f"username {username!r} is taken", code="conflict_exists") from None
        return record(User, row)

    async def get_user(self, user_id: int) -> User | None:
        async with self._read() as conn:
            row = (await conn.execute(select(UserRow).where(UserRow.id == user_id))).first()
        return None if row is None else record(User, row)

    async def get_user_by_name(self, username: str) -> User | None:
        """Look up by username in any letter case (see :func:`username_key`)."""
        async with self._read() as conn:
            row = (await conn.execute(select(UserRow).where(UserRow.username_key == username_key(username)))).first()
        return None if row is None else record(User, row)

    async def list_users(self) -> list[User]:
        """Every account, disabled ones included, in creation order."""
        async with self._read() as conn:
            rows = (await conn.execute(select(UserRow).order_by(UserRow.id))).all()
        return [record(User, r) for r in rows]

    async def update_user(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        role: Role | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        keep_an_admin: bool = False,
    ) -> User:
        """Change the given fields (``None`` leaves one as it is); :class:`NotFound`
        for an unknown id. Disabling does not delete the user's logins, but
        :meth:`get_auth_session` stops honouring them at once.

        With ``keep_an_admin`` the change is refused (``bad_state``, nothing
        changed) when it would leave no enabled admin. The check is in the
        same transaction as the change, and on PostgreSQL the enabled admins
        are locked first, so two admins demoting each other at the same
        moment cannot both succeed (SQLite has one writer at a time anyway)."""
        values: dict[str, Any] = {}
        if display_name is not None:
            values["display_name"] = display_name
        if role is not None:
            _check_role(role)
            values["role"] = role
        if disabled is not None:
            values["disabled"] = disabled
        if password_hash is not None:
            values["password_hash"] = password_hash
        active_admin = (UserRow.role == "admin", UserRow.disabled.is_(False))
        async with self._write() as conn:
            if keep_an_admin:
                await conn.execute(select(UserRow.id).where(*active_admin).with_for_update())
            stmt: Executable
            if values:
                stmt = update(UserRow).where(UserRow.id == user_id).values(**values).returning(UserRow)
            else:
                stmt = select(UserRow).where(UserRow.id == user_id)
            row = (await conn.execute(stmt)).first()
            if row is not None and keep_an_admin:
                if not await conn.scalar(select(func.count()).select_from(UserRow).where(*active_admin)):
                    raise ProtocolError(
                        "that would leave no enabled admin: make another account admin first", code="bad_state"
                    )
        if row is None:
            raise NotFound(f"no user {user_id}")
        return record(User, row)

    async def count_users(self) -> int:
        async with self._read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(UserRow)) or 0)

    # -- console logins --------------------------------------------------------

    async def create_auth_session(
        self, token_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
    ) -> AuthSession:
        """Store a login; :class:`NotFound` for an unknown user,
        :class:`Conflict` if ``token_hash`` is already in use."""
        try:
            async with self._write() as conn:
                if await conn.scalar(select(UserRow.id).where(UserRow.id == user_id)) is None:
                    raise NotFound(f"no user {user_id}")
                row = (
                    await conn.execute(
                        insert(AuthSessionRow)
                        .values(
                            token_hash=token_hash,
                            user_id=user_id,
                            csrf_token=csrf_token,
                            created_at=now,
                            expires_at=expires_at,
                        )
                        .returning(AuthSessionRow)
                    )
                ).one()
        except IntegrityError:
            raise Conflict("auth session token already exists", code="conflict_exists") from None
        return record(AuthSession, row)

    async def get_auth_session(self, token_hash: str, now: datetime) -> tuple[AuthSession, User] | None:
        """The login and its user, or ``None`` if unknown, expired
        (``expires_at <= now``) or the user is disabled."""
        stmt = (
            select(AuthSessionRow, UserRow)
            .join(UserRow, UserRow.id == AuthSessionRow.user_id)
            .where(
                AuthSessionRow.token_hash == token_hash,
                AuthSessionRow.expires_at > now,
                UserRow.disabled.is_(False),
            )
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        # Both tables have created_at: split the row by column position.
        cols = list(row)
        n = len(AuthSessionRow.__table__.columns)
        auth_cols = dict(zip(AuthSessionRow.__table__.columns.keys(), cols[:n], strict=True))
        user_cols = dict(zip(UserRow.__table__.columns.keys(), cols[n:], strict=True))
        return record(AuthSession, auth_cols), record(User, user_cols)

    async def delete_auth_session(self, token_hash: str) -> None:
        """Log out; deleting an unknown token is not an error."""
        async with self._write() as conn:
            await conn.execute(delete(AuthSessionRow).where(AuthSessionRow.token_hash == token_hash))

    async def delete_user_auth_sessions(self, user_id: int) -> None:
        """Log a user out everywhere (after a password change or disabling)."""
        async with self._write() as conn:
            await conn.execute(delete(AuthSessionRow).where(AuthSessionRow.user_id == user_id))

    async def purge_auth_sessions(self, now: datetime) -> int:
        """Delete logins expired at ``now``; returns how many. Expired logins
        are already refused, this only keeps the table from growing forever:
        call it from a periodic sweep."""
        async with self._write() as conn:
            result = await conn.execute(delete(AuthSessionRow).where(AuthSessionRow.expires_at <= now))
        return int(result.rowcount)

"""Accounts: Argon2id passwords, login limits with backoff, console sessions.

A console login is a random 256-bit token in an HttpOnly, SameSite=Strict
cookie (Secure under TLS); the store keeps only its SHA-256, so a leaked
database holds no usable session. Each login also gets a CSRF token that
state-changing requests must echo in ``X-CSRF-Token``.

Failed logins are counted per account and per client address in the broker
(so every node sees the same counts). Past ``login_attempts_per_*`` failures
within ``login_window_s``, further attempts are refused for a backoff that
doubles with each failure; a correct password does not get through during
the backoff either, so guessing stays slow.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from desklink.broker.base import Broker
from desklink.config import Settings
from desklink.errors import AuthError, LimitExceeded, ProtocolError
from desklink.protocol.ratelimit import login_backoff
from desklink.store import Store
from desklink.store.records import ROLES, AuthSession, User

COOKIE_NAME = "dl_session"
CSRF_HEADER = "x-csrf-token"
#: Passwords shorter than this are refused when set (not when checked).
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_USERNAME_CHARS = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Login:
    user: User
    auth: AuthSession


class Accounts:
    def __init__(self, store: Store, broker: Broker, settings: Settings) -> None:
        self.store = store
        self.broker = broker
        self.settings = settings
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1
        )
        # Verified against when the username is unknown, so both paths cost the same.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # --------------------------------------------------------------- users
    def hash_password(self, password: str) -> str:
        check_password(password)
        return self.hasher.hash(password)

    async def create_user(self, username: str, display_name: str, role: str, password: str) -> User:
        username = check_username(username)
        display_name = (display_name or username).strip()[: self.settings.max_name_chars]
        if role not in ROLES:
            raise ProtocolError(f"role must be one of {', '.join(ROLES)}")
        return await self.store.create_user(
            username, display_name, role, self.hash_password(password), datetime.now(UTC)  # type: ignore[arg-type]
        )

    # --------------------------------------------------------------- login
    async def login(self, username: str, password: str, ip: str) -> tuple[Login, str]:
        """Check a password under the login limits; returns the login and the
        cookie token. Raises ``LimitExceeded`` (login_limited) or ``AuthError``."""
        s = self.settings
        keys = (f"login:acct:{username.strip().lower()[:MAX_USERNAME_CHARS]}", f"login:ip:{ip}")
        for key in keys:
            wait = await self.broker.ttl(key + ":lock")
            if wait > 0:
                raise LimitExceeded(
                    f"too many failed logins; try again in {int(wait) + 1} s", code="login_limited", retry_after=wait
                )
        user = await self.store.get_user_by_name(username.strip()) if len(username) <= MAX_USERNAME_CHARS else None
        ok = self._verify(user.password_hash if user else self._dummy_hash, password[:MAX_PASSWORD_CHARS])
        if not ok or user is None or user.disabled:
            for key, limit in zip(keys, (s.login_attempts_per_account, s.login_attempts_per_ip), strict=True):
                failures = await self.broker.hit(key, s.login_window_s)
                backoff = login_backoff(failures, limit, s.login_backoff_base_s)
                if backoff > 0:
                    await self.broker.delete(key + ":lock")
                    await self.broker.claim(key + ":lock", str(failures), backoff)
            raise AuthError("wrong username or password", code="auth_failed")
        await self.broker.delete(keys[0])
        if self.hasher.check_needs_rehash(user.password_hash):
            user = await self.store.update_user(user.id, password_hash=self.hasher.hash(password))
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        auth = await self.store.create_auth_session(
            token_hash(token), user.id, secrets.token_urlsafe(24), now, now + timedelta(seconds=s.auth_session_ttl_s)
        )
        return Login(user, auth), token

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def authenticate(self, cookie: str | None) -> Login | None:
        if not cookie or len(cookie) > 128:
            return None
        found = await self.store.get_auth_session(token_hash(cookie), datetime.now(UTC))
        if found is None:
            return None
        auth, user = found
        return Login(user, auth)

    async def logout(self, cookie: str) -> None:
        await self.store.delete_auth_session(token_hash(cookie))


def csrf_ok(login: Login, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(login.auth.csrf_token, header or "")


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > MAX_USERNAME_CHARS:
        raise ProtocolError(f"username must be 1-{MAX_USERNAME_CHARS} characters")
    if not all(c.isalnum() or c in "._-@" for c in username):
        raise ProtocolError("username may hold letters, digits and . _ - @ only")
    return username


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ProtocolError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ProtocolError(f"password must be at most {MAX_PASSWORD_CHARS} characters")

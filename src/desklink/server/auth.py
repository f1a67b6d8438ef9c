"""Accounts: Argon2id passwords, login limits, second factors, console sessions.

A console login is a random 256-bit token in an HttpOnly, SameSite=Strict
cookie (Secure under TLS); the store keeps only its SHA-256, so a leaked
database holds no usable session. Each login also gets a CSRF token that
state-changing requests must echo in ``X-CSRF-Token``.

Every password and second-factor check runs under the login limits of
:mod:`desklink.server.login_limits` (counted before the check, per account
and per client address, in the broker) and Argon2id runs on the worker
threads of :mod:`desklink.server.passwords`, never on the event loop.

Two steps for users with a second factor (TOTP, see
:mod:`desklink.server.second_factor`): a right password answers a *ticket*
instead of a cookie. The ticket is random, lives ``second_factor_ticket_ttl_s``
in the broker (so any node can finish the login), names its user, and
finishes one login: :meth:`Accounts.finish_login` with a current code or an
unused recovery code. Wrong codes count against the same limits as wrong
passwords, and the password's own hit on the account stays until the login
is complete, so the password and the codes after it share one budget. When
the admin policy requires a second factor for the user's role and the user
has none, the ticket comes with an enrolment (secret, ``otpauth`` URI, QR
code) and the first code confirms it, answering the recovery codes once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from desklink.broker.base import Broker
from desklink.config import Settings
from desklink.errors import AuthError, Conflict, Forbidden, LimitExceeded, ProtocolError
from desklink.server import second_factor as sf
from desklink.server.login_limits import LoginLimits, account_key
from desklink.server.passwords import PasswordPool
from desklink.store import Store
from desklink.store.records import ROLES, AuthSession, SecondFactor, User

COOKIE_NAME = "dl_session"
CSRF_HEADER = "x-csrf-token"
#: Passwords shorter than this are refused when set (not when checked).
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_USERNAME_CHARS = 64
#: Longest ticket looked at: "<user id>.<32 URL-safe characters>".
MAX_TICKET_CHARS = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Login:
    user: User
    auth: AuthSession


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a user needs to add DeskLink to an authenticator app."""

    secret: str
    uri: str
    qr: str  # PNG data: URI


@dataclass(frozen=True, slots=True)
class LoginStep:
    """What a login call ends with: a finished login (``login`` and the
    cookie ``token``, plus ``recovery_codes`` right after an enrolment), or a
    ``ticket`` for the second step, with an ``enroll`` ment when the user must
    first set up a second factor."""

    login: Login | None = None
    token: str = ""
    ticket: str = ""
    enroll: Enrolment | None = None
    recovery_codes: tuple[str, ...] = ()


def _ticket_key(ticket: str) -> str:
    return "login:ticket:" + token_hash(ticket)


def _ticket_user(ticket: str) -> int | None:
    head, dot, rest = ticket.partition(".")
    if not dot or not rest or len(ticket) > MAX_TICKET_CHARS or not head.isascii() or not head.isdigit():
        return None
    return int(head)


_EXPIRED = "this sign-in has expired; log in with your password again"


class Accounts:
    def __init__(self, store: Store, broker: Broker, settings: Settings) -> None:
        self.store = store
        self.broker = broker
        self.settings = settings
        self.passwords = PasswordPool(
            PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1),
            max_concurrent=settings.argon2_max_concurrent,
            max_waiting=settings.argon2_max_waiting,
            retry_after=settings.argon2_busy_retry_after_s,
        )
        self.limits = LoginLimits(broker, settings)

    def close(self) -> None:
        self.passwords.close()

    # --------------------------------------------------------------- users
    async def hash_password(self, password: str) -> str:
        """Check the password rules, then hash on a worker thread (raises
        ``LimitExceeded`` when the password pool is full)."""
        check_password(password)
        return await self.passwords.hash(password)

    async def create_user(self, username: str, display_name: str, role: str, password: str) -> User:
        username = check_username(username)
        display_name = (display_name or username).strip()[: self.settings.max_name_chars]
        if role not in ROLES:
            raise ProtocolError(f"role must be one of {', '.join(ROLES)}")
        password_hash = await self.hash_password(password)
        return await self.store.create_user(
            username, display_name, role, password_hash, datetime.now(UTC)
        )

    # --------------------------------------------------------------- login
    async def login(self, username: str, password: str, ip: str) -> LoginStep:
        """Check a password under the login limits. Answers a finished login,
        or a ticket for the second step. Raises ``LimitExceeded``
        (``login_limited``, or ``too_many_requests`` when the password pool is
        full) or ``AuthError``."""
        attempt = await self.limits.admit(account_key(username), ip)
        try:
            user = await self.store.get_user_by_name(username.strip()) if len(username) <= MAX_USERNAME_CHARS else None
            stored = user.password_hash if user else self.passwords.dummy_hash
            ok = await self.passwords.verify(stored, password[:MAX_PASSWORD_CHARS])
        except BaseException:
            await self.limits.refund(attempt)
            raise
        if not ok or user is None or user.disabled:
            await self.limits.failed(attempt)
            raise AuthError("wrong username or password", code="auth_failed")
        user = await self._rehash(user, password)
        factor = await self.store.get_second_factor(user.id)
        if factor is not None and factor.confirmed:
            await self.limits.succeeded(attempt, complete=False)
            return LoginStep(ticket=await self._new_ticket(user.id))
        if await self.second_factor_required(user.role):
            enrolment = await self._begin(user)
            await self.limits.succeeded(attempt, complete=False)
            return LoginStep(ticket=await self._new_ticket(user.id), enroll=enrolment)
        await self.limits.succeeded(attempt)
        return await self._start_session(user)

    async def finish_login(self, ticket: str, code: str, ip: str) -> LoginStep:
        """The second step: a current TOTP code (or an unused recovery code)
        for the ticket's user; for a user who is enrolling, the first code
        confirms the enrolment and the answer carries the recovery codes."""
        user_id = _ticket_user(ticket)
        key = _ticket_key(ticket)
        if user_id is None or await self.broker.ttl(key) <= 0:
            raise AuthError(_EXPIRED)
        user = await self.store.get_user(user_id)
        factor = await self.store.get_second_factor(user_id)
        if user is None or user.disabled or factor is None:
            await self.broker.delete(key)
            raise AuthError(_EXPIRED)
        attempt = await self.limits.admit(account_key(user.username), ip)
        try:
            ok = await self._check_code(factor, code, recovery=factor.confirmed)
        except BaseException:
            await self.limits.refund(attempt)
            raise
        if not ok:
            await self.limits.failed(attempt)
            raise AuthError("wrong code", code="auth_failed")
        if not await self.broker.release(key, "1"):
            await self.limits.refund(attempt)
            raise AuthError(_EXPIRED)  # another request finished this ticket
        codes: list[str] = []
        if not factor.confirmed:
            codes = sf.new_recovery_codes()
            if not await self.store.confirm_second_factor(
                user.id, factor.secret, sf.recovery_hashes(codes), datetime.now(UTC)
            ):
                raise AuthError(_EXPIRED)  # enrolment restarted or reset meanwhile
        await self.limits.succeeded(attempt)
        step = await self._start_session(user)
        return LoginStep(login=step.login, token=step.token, recovery_codes=tuple(codes))

    async def _rehash(self, user: User, password: str) -> User:
        """Re-hash with the current Argon2 cost after a successful check; skipped
        (until the next login) when the password pool is full."""
        if not self.passwords.needs_rehash(user.password_hash):
            return user
        try:
            new_hash = await self.passwords.hash(password[:MAX_PASSWORD_CHARS])
        except LimitExceeded:
            return user
        return await self.store.update_user(user.id, password_hash=new_hash)

    async def _start_session(self, user: User) -> LoginStep:
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        auth = await self.store.create_auth_session(
            token_hash(token),
            user.id,
            secrets.token_urlsafe(24),
            now,
            now + timedelta(seconds=self.settings.auth_session_ttl_s),
        )
        return LoginStep(login=Login(user, auth), token=token)

    async def _new_ticket(self, user_id: int) -> str:
        ticket = f"{user_id}.{secrets.token_urlsafe(24)}"
        await self.broker.claim(_ticket_key(ticket), "1", self.settings.second_factor_ticket_ttl_s)
        return ticket

    # -------------------------------------------------------- second factor
    async def second_factor_required(self, role: str) -> bool:
        return sf.required_for(await self.store.get_policy(sf.POLICY_KEY), role)

    async def _begin(self, user: User) -> Enrolment:
        secret = sf.new_secret()
        if not await self.store.begin_second_factor(user.id, secret):
            raise Conflict("this account has a second factor already; turn it off first", code="conflict_exists")
        uri = sf.otpauth_uri(secret, user.username, self.settings.provider_name)
        return Enrolment(secret=secret, uri=uri, qr=sf.qr_data_uri(uri))

    async def _check_code(self, factor: SecondFactor, code: str, *, recovery: bool) -> bool:
        """A TOTP code not used before (each step's code works once per user,
        across nodes: the broker remembers used steps until they are stale),
        or, when ``recovery``, an unused recovery code (used up by this)."""
        code = code.strip()[: sf.MAX_CODE_CHARS]
        if sf.looks_like_totp(code):
            step = sf.matching_step(factor.secret, code, time.time())
            if step is None:
                return False
            mark = f"login:totp:{factor.user_id}:{step}"
            token = secrets.token_hex(8)
            stale_after = (2 * sf.TOTP_DRIFT_STEPS + 2) * sf.TOTP_STEP_S
            return await self.broker.claim(mark, token, stale_after) == token
        if recovery and code:
            return await self.store.use_recovery_code(factor.user_id, sf.recovery_hash(code), datetime.now(UTC))
        return False

    async def _prove(self, user: User, factor: SecondFactor, code: str, ip: str) -> None:
        """A logged-in user proves a current TOTP code, under the login limits
        (so a stolen session cannot guess codes freely). A wrong code is 403
        ``auth_failed``: the login itself is fine."""
        attempt = await self.limits.admit(account_key(user.username), ip)
        try:
            ok = await self._check_code(factor, code, recovery=False)
        except BaseException:
            await self.limits.refund(attempt)
            raise
        if not ok:
            await self.limits.failed(attempt)
            raise Forbidden("wrong code", code="auth_failed")
        await self.limits.succeeded(attempt)

    async def second_factor_status(self, user: User) -> dict[str, object]:
        factor = await self.store.get_second_factor(user.id)
        return {
            "enabled": factor is not None and factor.confirmed,
            "enrolling": factor is not None and not factor.confirmed,
            "required": await self.second_factor_required(user.role),
            "recovery_codes_left": await self.store.recovery_codes_left(user.id),
        }

    async def begin_enrolment(self, user: User) -> Enrolment:
        """A logged-in user starts adding a second factor (a new secret each
        time, until one is confirmed)."""
        return await self._begin(user)

    async def confirm_enrolment(self, user: User, code: str, ip: str) -> list[str]:
        factor = await self.store.get_second_factor(user.id)
        if factor is None or factor.confirmed:
            raise ProtocolError("start adding a second factor first", code="bad_state")
        await self._prove(user, factor, code, ip)
        codes = sf.new_recovery_codes()
        if not await self.store.confirm_second_factor(user.id, factor.secret, sf.recovery_hashes(codes), datetime.now(UTC)):
            raise Conflict("the enrolment was restarted meanwhile; start again", code="conflict_closed")
        return codes

    async def regenerate_recovery_codes(self, user: User, code: str, ip: str) -> list[str]:
        factor = await self._confirmed(user)
        await self._prove(user, factor, code, ip)
        codes = sf.new_recovery_codes()
        await self.store.replace_recovery_codes(user.id, sf.recovery_hashes(codes), datetime.now(UTC))
        return codes

    async def disable_second_factor(self, user: User, code: str, ip: str) -> None:
        factor = await self._confirmed(user)
        if await self.second_factor_required(user.role):
            raise Forbidden(f"an admin requires a second factor for the {user.role} role", code="forbidden")
        await self._prove(user, factor, code, ip)
        await self.store.clear_second_factor(user.id)

    async def _confirmed(self, user: User) -> SecondFactor:
        factor = await self.store.get_second_factor(user.id)
        if factor is None or not factor.confirmed:
            raise ProtocolError("this account has no second factor", code="bad_state")
        return factor

    # ------------------------------------------------------------- sessions
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

"""Login limits: every password or second-factor check is counted *before* it
runs, per account and per client address, in the broker (so all nodes share
the counts).

An attempt first :meth:`LoginLimits.admit`\\ s: while either key is locked it
is refused at once (HTTP 429 ``login_limited``). Otherwise both counters are
incremented atomically (``Broker.hit``), and the counter's value decides:

* below the limit: the attempt may be checked;
* at or past the limit: the attempt must first take the key's lock for the
  backoff (``login_backoff``: ``login_backoff_base_s``, doubling with each
  further attempt, capped at an hour). Only one attempt can hold it, so while
  the lock lasts nobody else is checked, a correct password included.

So however many attempts arrive at once, at most ``limit`` of them are ever
checked in a window before the backoff, then one per backoff period. The
counter holds failures plus attempts being checked right now: an attempt
refused unchecked, or turned away because the server is busy, takes its hit
back (:meth:`refund`); a failure keeps it (:meth:`failed`). A success
(:meth:`succeeded`) clears the account's counter and lock, and takes its hit
back from the address's counter, so an office behind one address can log in
all morning without being locked out by its own successes.

Keys: the account part is :func:`account_key` of the typed username, the same
NFKC + case-fold key the user lookup uses, so every spelling of one account
("Rep", "ＲＥＰ", ...) shares one counter and one lock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from desklink.broker.base import Broker
from desklink.config import Settings
from desklink.errors import LimitExceeded
from desklink.protocol.ratelimit import login_backoff
from desklink.store._users import username_key

#: Account keys longer than this (no real username gets near it) are hashed,
#: so a megabyte "username" cannot make a megabyte broker key.
MAX_KEY_CHARS = 200


def account_key(username: str) -> str:
    """The account part of the limit keys: what the user lookup uses
    (``store.get_user_by_name(username.strip())``)."""
    key = username_key(username.strip())
    if len(key) > MAX_KEY_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


@dataclass(slots=True)
class Attempt:
    """One admitted attempt: the counters it hit and the locks it holds."""

    account: str  # counter key of the account
    address: str  # counter key of the client address
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    hits: list[str] = field(default_factory=list)
    locks: list[str] = field(default_factory=list)


def _limited(wait: float) -> LimitExceeded:
    return LimitExceeded(
        f"too many failed logins; try again in {int(wait) + 1} s", code="login_limited", retry_after=wait
    )


class LoginLimits:
    def __init__(self, broker: Broker, settings: Settings) -> None:
        self.broker = broker
        self.settings = settings

    async def admit(self, account: str, ip: str) -> Attempt:
        """Count one attempt for ``account`` (see :func:`account_key`) from
        ``ip``; raises ``LimitExceeded`` (``login_limited``) if it may not be
        checked now."""
        s = self.settings
        attempt = Attempt(account=f"login:acct:{account}", address=f"login:ip:{ip}")
        keys = ((attempt.account, s.login_attempts_per_account), (attempt.address, s.login_attempts_per_ip))
        for key, _ in keys:
            wait = await self.broker.ttl(key + ":lock")
            if wait > 0:
                raise _limited(wait)
        try:
            for key, limit in keys:
                count = await self.broker.hit(key, s.login_window_s)
                attempt.hits.append(key)
                if count < limit:
                    continue
                lock = key + ":lock"
                backoff = login_backoff(count, limit, s.login_backoff_base_s)
                if await self.broker.claim(lock, attempt.token, backoff) != attempt.token:
                    raise _limited(await self.broker.ttl(lock) or s.login_backoff_base_s)
                attempt.locks.append(lock)
        except BaseException:
            await self.refund(attempt)
            raise
        return attempt

    async def failed(self, attempt: Attempt) -> None:
        """A wrong password or code: the hits and any lock taken stay."""

    async def succeeded(self, attempt: Attempt, *, complete: bool = True) -> None:
        """A right password or code. ``complete`` when the user is now logged
        in (or a logged-in user proved their code): the account's counter and
        lock are cleared. A password that still needs its second factor
        (``complete=False``) leaves the account's count and lock alone, so the
        codes that follow share the account's budget. The address gets its
        hit and its lock back either way."""
        if complete:
            await self.broker.delete(attempt.account)
            await self.broker.delete(attempt.account + ":lock")
        await self._give_back(attempt, attempt.address)

    async def refund(self, attempt: Attempt) -> None:
        """The attempt was not checked (refused, or the server was busy):
        take back its hits and drop the locks it took."""
        for key in (attempt.account, attempt.address):
            await self._give_back(attempt, key)

    async def _give_back(self, attempt: Attempt, key: str) -> None:
        if key in attempt.hits:
            attempt.hits.remove(key)
            await self.broker.unhit(key)
        if key + ":lock" in attempt.locks:
            attempt.locks.remove(key + ":lock")
            await self.broker.release(key + ":lock", attempt.token)

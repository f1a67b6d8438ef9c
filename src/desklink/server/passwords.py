"""Argon2id off the event loop: a small thread pool with a bounded queue.

One Argon2id hash or verification costs tens to hundreds of milliseconds of
CPU and ``argon2_memory_kib`` of memory by design. Run on the event loop,
every login attempt (even for an unknown user) would stall every chat,
alert and screen frame of the node for that long. So :class:`PasswordPool`
runs them on at most ``max_concurrent`` worker threads (argon2-cffi releases
the GIL while it hashes, so the loop keeps running), and lets at most
``max_waiting`` more wait for a thread. Past that, a call raises
:class:`~desklink.errors.LimitExceeded` (HTTP 429 ``too_many_requests`` with
``Retry-After``) instead of queueing without bound: a login flood then costs
the node at most ``max_concurrent`` cores and
``max_concurrent x argon2_memory_kib`` of memory, and answers the excess at
once.

Limits: the bound is per node (each node has its own pool). A caller that
gives up (its task is cancelled) frees its queue place at once if it was
still waiting; a hash already running finishes on its thread.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from desklink.errors import LimitExceeded

T = TypeVar("T")


class PasswordPool:
    """Hash and verify passwords with ``hasher`` on worker threads.

    ``statistics()`` feeds ``/metrics``: ``running`` + ``waiting`` is the
    number admitted now; ``verified`` and ``hashed`` count completed calls;
    ``refused`` counts calls turned away because the queue was full."""

    def __init__(self, hasher: PasswordHasher, *, max_concurrent: int, max_waiting: int, retry_after: float) -> None:
        if max_concurrent < 1 or max_waiting < 0:
            raise ValueError("max_concurrent must be at least 1 and max_waiting at least 0")
        self.hasher = hasher
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self.retry_after = retry_after
        self._executor = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="desklink-argon2")
        self._admitted = 0
        self._running = 0
        self.verified = 0
        self.hashed = 0
        self.refused = 0
        # Verified against when the username is unknown, so both paths cost
        # the same. Made once, at start-up, before the loop serves anyone.
        self.dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    async def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches the Argon2 hash ``stored`` (False for
        a malformed hash too)."""
        ok = await self._run(self._verify, stored, password)
        self.verified += 1
        return ok

    async def hash(self, password: str) -> str:
        digest = await self._run(self.hasher.hash, password)
        self.hashed += 1
        return digest

    def needs_rehash(self, stored: str) -> bool:
        """Cheap (parses the parameters): fine on the loop."""
        return self.hasher.check_needs_rehash(stored)

    def statistics(self) -> dict[str, int]:
        return {
            "running": self._running,
            "waiting": self._admitted - self._running,
            "verified": self.verified,
            "hashed": self.hashed,
            "refused": self.refused,
        }

    def close(self) -> None:
        """Stop the threads once running work is done; waiting work is dropped."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- internals
    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        if self._admitted >= self.max_concurrent + self.max_waiting:
            self.refused += 1
            raise LimitExceeded(
                "the server is busy checking passwords; try again in a moment",
                code="too_many_requests",
                retry_after=self.retry_after,
            )
        loop = asyncio.get_running_loop()
        self._admitted += 1

        def started() -> T:
            _tell(loop, self._started)
            return fn(*args)

        future: Future[T] = self._executor.submit(started)
        future.add_done_callback(lambda f: _tell(loop, self._finished, f))
        return await asyncio.wrap_future(future)

    def _started(self) -> None:
        self._running += 1

    def _finished(self, future: Future[object]) -> None:
        self._admitted -= 1
        if not future.cancelled():
            self._running -= 1


def _tell(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: object) -> None:
    """Run ``callback`` on the loop from a worker thread (nothing once the
    loop is closed: the node is shutting down and nobody reads the counts)."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        pass

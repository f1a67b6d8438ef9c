"""Pumps the relay's effects: deliveries into the receivers' outboxes, closes,
and audit events into the store, in order, off the socket paths.

The relay core (``relay/``) is sans-I/O; this module is the one place its
output meets sockets and the database. A relay ticker task runs its clock:
dead agent links are noticed and grace periods end even when no message
arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from desklink.relay.effects import Audit, Close, Deliver, Effects

if TYPE_CHECKING:
    from desklink.relay.registry import Relay
    from desklink.server.recording_writer import RecordingHub
    from desklink.store import Store

log = logging.getLogger("desklink.relay")

#: Audit events waiting for the store, at most; past it the oldest are
#: dropped and counted (the store being down must not grow memory).
MAX_PENDING_AUDITS = 10_000


class Endpoint(Protocol):
    """What a socket adapter offers the pump (server/connection.py)."""

    def deliver_effect(self, delivery: Deliver) -> None: ...

    def close_soon(self, code: int, reason: str = "") -> None: ...


class AuditWriter:
    """Writes audit events to the store one at a time, in the order the
    relay made them. A failed write is logged and skipped; the relay never
    waits for the database.

    ``on_written`` hears of each event stored whose kind is in ``notify``
    (the node tells the live board that a session's modes changed); its
    failures are logged, never stop the writer."""

    def __init__(
        self,
        store: Store,
        *,
        on_written: Callable[[Audit], Awaitable[None]] | None = None,
        notify: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.on_written = on_written
        self.notify = notify
        self._pending: deque[tuple[Audit, datetime]] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.written = 0
        self.failed = 0
        self.dropped = 0

    def put(self, audit: Audit) -> None:
        if len(self._pending) >= MAX_PENDING_AUDITS:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append((audit, datetime.now(UTC)))
        self._idle.clear()
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                audit, at = self._pending.popleft()
                try:
                    await self.store.add_event(
                        request_id=audit.request_id,
                        kind=audit.kind,
                        actor=audit.actor,
                        actor_id=audit.actor_id,
                        data=audit.data,
                        now=at,
                    )
                    self.written += 1
                except Exception:
                    self.failed += 1
                    log.exception("could not store the %s event of request %s", audit.kind, audit.request_id)
                    continue
                if self.on_written is not None and audit.kind in self.notify:
                    try:
                        await self.on_written(audit)
                    except Exception:
                        log.exception("telling of the %s event of request %s failed", audit.kind, audit.request_id)
            self._idle.set()

    async def drain(self) -> None:
        """Wait until everything queued so far is written (shutdown, tests)."""
        await self._idle.wait()

    def statistics(self) -> dict[str, int]:
        return {"pending": len(self._pending), "written": self.written, "failed": self.failed, "dropped": self.dropped}


def pump(fx: Effects, audits: AuditWriter, recordings: RecordingHub | None = None) -> None:
    """Carry out ``fx``: deliveries first (in order), then closes (which flush
    what is queued), then audit events, then what goes into recordings
    (neither of the last two ever waits)."""
    for d in fx.deliveries:
        target: Endpoint = d.to  # type: ignore[assignment]
        target.deliver_effect(d)
    for c in fx.closes:
        closing: Endpoint = c.to  # type: ignore[assignment]
        closing.close_soon(c.code, c.reason)
    for a in fx.audits:
        audits.put(a)
    if recordings is not None:
        for r in fx.records:
            recordings.put(r)


#: How often the relay's clock ticks, seconds (dead links are noticed within
#: this much after their deadline).
TICK_S = 0.5


async def relay_ticker(relay: Relay, audits: AuditWriter, recordings: RecordingHub | None = None) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        try:
            pump(relay.tick(time.monotonic()), audits, recordings)
        except Exception:
            log.exception("relay tick failed; trying again")


__all__ = ["AuditWriter", "Close", "Endpoint", "pump", "relay_ticker"]

"""What both backends share: the bounded subscription queue and its counters.

A node keeps one subscription and must never stall the publisher (on the
memory backend, ``publish`` runs in the publisher's task; on Redis, a reader
that falls behind makes Redis buffer and finally cut the connection). So each
subscription drains into a local, bounded, drop-oldest queue: a node that is
``max_pending`` messages behind loses the *oldest* ones, the loss is counted
in ``dropped``, and the publisher never waits. Delivery is at-most-once
anyway (see :mod:`desklink.broker.base`); what must not be lost is stored
first and the broker only carries the nudge.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass

from desklink.errors import BrokerClosed
from desklink.broker.base import BrokerMessage, Subscription

#: Messages one subscription may hold before the oldest are dropped. At
#: ~1 KB per alert this bounds a stuck node to ~10 MB, and 10 000 is far
#: more than a healthy node ever has pending (it drains in microseconds).
MAX_PENDING_MESSAGES = 10_000


@dataclass(slots=True)
class Counters:
    """Per-broker totals, shared by reference with its subscriptions."""

    published: int = 0  # publish() calls made through this broker
    delivered: int = 0  # messages placed into this broker's subscription queues
    dropped: int = 0  # messages discarded because a queue was full


def to_millis(seconds: float, what: str = "ttl") -> int:
    """Whole milliseconds (rounded up, at least 1) for an expiry.

    Zero, negative, NaN or infinite expiries are refused: Redis rejects
    ``PX 0`` and an entry that never expires would defeat the bounded-memory
    promise of presence, claims and counters."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{what} must be a positive number of seconds, got {seconds!r}")
    return max(1, math.ceil(round(seconds * 1000.0, 6)))


class QueueSubscription(Subscription):
    """A subscription whose messages wait in a bounded drop-oldest queue.

    Subclasses say how channels are (un)subscribed; this class owns the
    queue, ``get`` and ``statistics``. ``get`` only returns messages of
    channels that are still subscribed, so after ``unsubscribe`` returns no
    message of that channel is handed out, even one already queued."""

    def __init__(self, counters: Counters, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._counters = counters
        self._max_pending = max_pending
        self._pending: deque[BrokerMessage] = deque()
        self._ready = asyncio.Event()
        self._channels: set[str] = set()
        self._closed = False
        self._cause: BaseException | None = None
        self._delivered = 0
        self._dropped = 0

    @property
    def channels(self) -> frozenset[str]:
        """The channels currently subscribed (without the prefix)."""
        return frozenset(self._channels)

    @property
    def closed(self) -> bool:
        return self._closed

    def put_nowait(self, message: BrokerMessage) -> None:
        """Queue ``message``; drop the oldest one first if the queue is full.
        Never blocks and never raises: this runs on the publish hot path."""
        if self._closed:
            return
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self._dropped += 1
            self._counters.dropped += 1
        self._pending.append(message)
        self._delivered += 1
        self._counters.delivered += 1
        self._ready.set()

    def get_nowait(self) -> BrokerMessage | None:
        """The next queued message, or None if none is waiting (for draining a
        batch after ``get``). Raises :class:`BrokerClosed` once closed."""
        self._raise_if_closed()
        while self._pending:
            message = self._pending.popleft()
            if message.channel in self._channels:
                return message
        self._ready.clear()
        return None

    async def get(self) -> BrokerMessage:
        while True:
            message = self.get_nowait()
            if message is not None:
                return message
            await self._ready.wait()

    def statistics(self) -> dict[str, int]:
        return {
            "channels": len(self._channels),
            "pending": len(self._pending),
            "max_pending": self._max_pending,
            "delivered": self._delivered,
            "dropped": self._dropped,
        }

    def _raise_if_closed(self) -> None:
        if self._closed:
            if self._cause is not None:
                raise BrokerClosed(f"subscription closed: {self._cause!r}") from self._cause
            raise BrokerClosed("subscription closed")

    def _mark_closed(self, cause: BaseException | None = None) -> None:
        """Close the queue: pending messages are discarded and every waiting
        ``get`` wakes up to raise :class:`BrokerClosed` (chained to ``cause``
        when the backend failed underneath)."""
        if self._closed:
            return
        self._closed = True
        self._cause = cause
        self._pending.clear()
        self._channels.clear()
        self._ready.set()

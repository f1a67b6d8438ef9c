"""The in-process broker: the default backend of a single ``desklink serve``.

Everything lives in dictionaries of this one process, so it serves exactly
one node. ``publish`` is the alert fan-out hot path: it appends one shared,
immutable :class:`BrokerMessage` to each subscription's bounded queue with
``put_nowait`` and never awaits, so its cost is one dictionary lookup plus
one ``deque.append`` per subscription.

Expiry follows the injected ``clock`` (``time.monotonic`` by default; tests
pass a fake one). Expired entries are ignored on read and swept in bulk once
the number of writes since the last sweep reaches the number of live entries
(or :data:`PRUNE_INTERVAL`, whichever is larger): an amortised O(1) cost per
write, and memory stays within about twice the live entries.

``prefix`` is accepted so both backends are configured alike; one
``MemoryBroker`` is its own namespace already, so it changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from desklink.broker._common import (
    MAX_PENDING_MESSAGES,
    Counters,
    QueueSubscription,
    to_millis,
)
from desklink.errors import BrokerClosed
from desklink.broker.base import Broker, BrokerMessage, Subscription

__all__ = ["MAX_PENDING_MESSAGES", "PRUNE_INTERVAL", "MemoryBroker", "MemorySubscription"]

#: Fewest writes between two sweeps of expired presence, claims and counters.
PRUNE_INTERVAL = 1024


class _Entry:
    """A claim (``value`` is the owner) or a counter (``value`` is an int)."""

    __slots__ = ("value", "expires_at")

    def __init__(self, value: str | int, expires_at: float) -> None:
        self.value = value
        self.expires_at = expires_at


class MemorySubscription(QueueSubscription):
    """A subscription registered directly in its broker's channel table;
    (un)subscribing takes effect before the call returns."""

    def __init__(self, broker: MemoryBroker, max_pending: int) -> None:
        super().__init__(broker._counters, max_pending)
        self._broker = broker

    async def subscribe(self, *channels: str) -> None:
        self._raise_if_closed()
        table = self._broker._channels
        for channel in channels:
            self._channels.add(channel)
            table.setdefault(channel, set()).add(self)

    async def unsubscribe(self, *channels: str) -> None:
        """Stop receiving ``channels`` (all of them when none are named)."""
        self._detach(channels or tuple(self._channels))

    async def aclose(self) -> None:
        self._detach(tuple(self._channels))
        self._broker._subscriptions.discard(self)
        self._mark_closed()

    def _detach(self, channels: tuple[str, ...]) -> None:
        table = self._broker._channels
        for channel in channels:
            self._channels.discard(channel)
            members = table.get(channel)
            if members is not None:
                members.discard(self)
                if not members:
                    del table[channel]


class MemoryBroker(Broker):
    def __init__(
        self,
        prefix: str = "desklink:",
        clock: Callable[[], float] = time.monotonic,
        *,
        max_pending: int = MAX_PENDING_MESSAGES,
    ) -> None:
        self.prefix = prefix
        self._clock = clock
        self._max_pending = max_pending
        self._counters = Counters()
        self._channels: dict[str, set[MemorySubscription]] = {}
        self._subscriptions: set[MemorySubscription] = set()
        self._presence: dict[str, dict[str, float]] = {}
        self._directory: dict[str, dict[str, tuple[bytes, float]]] = {}
        self._entries: dict[str, _Entry] = {}
        self._writes = 0
        self._prune_after = PRUNE_INTERVAL
        self._closed = False
        self._presence_since = clock()

    # fan-out -------------------------------------------------------------
    async def publish(self, channel: str, data: bytes) -> int:
        self._check_open()
        self._counters.published += 1
        members = self._channels.get(channel)
        if not members:
            return 0
        message = BrokerMessage(channel, data)
        for subscription in members:
            subscription.put_nowait(message)
        return len(members)

    def subscription(self) -> Subscription:
        self._check_open()
        subscription = MemorySubscription(self, self._max_pending)
        self._subscriptions.add(subscription)
        return subscription

    # presence --------------------------------------------------------------
    async def presence_set(self, group: str, member: str, ttl: float) -> None:
        self._check_open()
        to_millis(ttl)
        self._presence.setdefault(group, {})[member] = self._clock() + ttl
        self._wrote()

    async def presence_remove(self, group: str, member: str) -> None:
        self._check_open()
        members = self._presence.get(group)
        if members is not None:
            members.pop(member, None)
            if not members:
                del self._presence[group]

    async def presence_members(self, group: str) -> list[str]:
        self._check_open()
        members = self._presence.get(group)
        if not members:
            return []
        now = self._clock()
        for member in [m for m, expires_at in members.items() if expires_at <= now]:
            del members[member]
        if not members:
            del self._presence[group]
        return list(members)

    async def presence_age(self) -> float:
        """Since the broker was made (its data lives as long as the process)
        or the last gap."""
        self._check_open()
        return max(0.0, self._clock() - self._presence_since)

    async def mark_presence_gap(self) -> None:
        self._check_open()
        self._presence_since = self._clock()

    # directory ----------------------------------------------------------------
    async def directory_put(self, group: str, member: str, data: bytes, ttl: float) -> None:
        self._check_open()
        to_millis(ttl)
        self._directory.setdefault(group, {})[member] = (bytes(data), self._clock() + ttl)
        self._wrote()

    async def directory_remove(self, group: str, member: str) -> None:
        self._check_open()
        members = self._directory.get(group)
        if members is not None:
            members.pop(member, None)
            if not members:
                del self._directory[group]

    async def directory_entries(self, group: str) -> dict[str, bytes]:
        self._check_open()
        members = self._directory.get(group)
        if not members:
            return {}
        now = self._clock()
        for member in [m for m, (_, expires_at) in members.items() if expires_at <= now]:
            del members[member]
        if not members:
            del self._directory[group]
        return {m: data for m, (data, _) in members.items()}

    # claims ----------------------------------------------------------------
    async def claim(self, key: str, owner: str, ttl: float) -> str:
        """A repeated claim by the holder returns it and does not extend it
        (as ``SET NX`` on Redis)."""
        self._check_open()
        to_millis(ttl)
        entry = self._live(key)
        if entry is not None:
            return str(entry.value)
        self._entries[key] = _Entry(owner, self._clock() + ttl)
        self._wrote()
        return owner

    async def replace(self, key: str, expected: str, owner: str, ttl: float) -> str:
        self._check_open()
        to_millis(ttl)
        entry = self._live(key)
        if entry is not None and entry.value != expected:
            return str(entry.value)
        self._entries[key] = _Entry(owner, self._clock() + ttl)
        self._wrote()
        return owner

    async def release(self, key: str, owner: str) -> bool:
        self._check_open()
        entry = self._live(key)
        if entry is None or entry.value != owner:
            return False
        del self._entries[key]
        return True

    # counters ----------------------------------------------------------------
    async def hit(self, key: str, window: float) -> int:
        self._check_open()
        to_millis(window, "window")
        entry = self._live(key)
        if entry is None:
            self._entries[key] = _Entry(1, self._clock() + window)
            self._wrote()
            return 1
        if not isinstance(entry.value, int):
            raise TypeError(f"{key!r} holds a claim, not a counter")
        entry.value += 1
        return entry.value

    async def unhit(self, key: str) -> int:
        self._check_open()
        entry = self._live(key)
        if entry is None:
            return 0
        if not isinstance(entry.value, int):
            raise TypeError(f"{key!r} holds a claim, not a counter")
        entry.value = max(0, entry.value - 1)
        return entry.value

    async def ttl(self, key: str) -> float:
        self._check_open()
        entry = self._live(key)
        return 0.0 if entry is None else max(0.0, entry.expires_at - self._clock())

    async def delete(self, key: str) -> None:
        self._check_open()
        self._entries.pop(key, None)

    # lifecycle ---------------------------------------------------------------
    async def ping(self) -> bool:
        return not self._closed

    async def aclose(self) -> None:
        """Close every subscription (their ``get`` raises
        :class:`BrokerClosed`) and refuse further calls."""
        if self._closed:
            return
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        self._closed = True
        self._presence.clear()
        self._directory.clear()
        self._entries.clear()

    def statistics(self) -> dict[str, int]:
        return {
            "published": self._counters.published,
            "delivered": self._counters.delivered,
            "dropped": self._counters.dropped,
            "subscriptions": len(self._subscriptions),
            "channels": len(self._channels),
            "pending": sum(len(s._pending) for s in self._subscriptions),
            "presence_groups": len(self._presence),
            "directory_groups": len(self._directory),
            "keys": len(self._entries),
        }

    # internals -----------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise BrokerClosed("broker closed")

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= self._clock():
            del self._entries[key]
            return None
        return entry

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes >= self._prune_after:
            self.prune()

    def prune(self) -> None:
        """Drop every expired entry now (normally called by writes)."""
        now = self._clock()
        self._entries = {k: e for k, e in self._entries.items() if e.expires_at > now}
        live = len(self._entries)
        for group in list(self._presence):
            members = {m: t for m, t in self._presence[group].items() if t > now}
            if members:
                self._presence[group] = members
                live += len(members)
            else:
                del self._presence[group]
        for group in list(self._directory):
            entries = {m: e for m, e in self._directory[group].items() if e[1] > now}
            if entries:
                self._directory[group] = entries
                live += len(entries)
            else:
                del self._directory[group]
        self._writes = 0
        self._prune_after = max(PRUNE_INTERVAL, live)

"""The broker port: fan-out channels, presence with expiry, atomic claims,
expiring counters. One interface, two backends chosen by configuration:
:class:`~desklink.broker.memory.MemoryBroker` (one process, the default) and
:class:`~desklink.broker.redis.RedisBroker` (several nodes).

Names passed in (channels, keys, groups) are the caller's; a backend adds its
configured prefix so deployments and test runs sharing one Redis never meet.
Payloads are bytes and opaque to the broker.

Delivery is at-most-once and unordered across channels, ordered within one
channel from one publisher, as Redis pub/sub is. Anything that must not be
lost is stored first and the broker only carries the nudge.

A backend that cannot be reached raises :class:`BrokerUnavailable` (a
:class:`~desklink.errors.Unavailable`, so adapters answer ``unavailable``
/ HTTP 503 without knowing the backend); a closed broker or subscription
raises :class:`BrokerClosed`. :data:`BROKER_ERRORS` names both for the
callers that carry on without the broker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from desklink.errors import BrokerClosed, BrokerUnavailable



@dataclass(frozen=True, slots=True)
class BrokerMessage:
    channel: str  # without the prefix
    data: bytes


class Subscription(ABC):
    """One consumer's set of channels. A node keeps a single subscription and
    routes what arrives to its local connections; channels are added and
    removed while it runs."""

    @abstractmethod
    async def subscribe(self, *channels: str) -> None:
        """Start receiving ``channels``. Returns once the subscription is
        active, so a message published after this returns is delivered."""

    @abstractmethod
    async def unsubscribe(self, *channels: str) -> None: ...

    @abstractmethod
    async def get(self) -> BrokerMessage:
        """Wait for the next message on any subscribed channel. Raises
        :class:`BrokerClosed` once the subscription is closed."""

    @abstractmethod
    async def aclose(self) -> None: ...

    def statistics(self) -> dict[str, int]:
        """Queue counters (pending, delivered, dropped, ...); each backend
        adds its own."""
        return {}


#: What a broker call raises when the broker cannot do it: callers that can
#: do without the broker (heartbeats, best-effort news) catch exactly these.
BROKER_ERRORS: tuple[type[Exception], ...] = (BrokerUnavailable, BrokerClosed)


class Broker(ABC):
    # fan-out -------------------------------------------------------------
    @abstractmethod
    async def publish(self, channel: str, data: bytes) -> int:
        """Send ``data`` to every subscription of ``channel``; returns how many
        subscriptions (nodes) it reached."""

    @abstractmethod
    def subscription(self) -> Subscription:
        """A new, empty subscription."""

    # presence --------------------------------------------------------------
    @abstractmethod
    async def presence_set(self, group: str, member: str, ttl: float) -> None:
        """Mark ``member`` present in ``group`` until ``ttl`` seconds from now
        (a heartbeat calls this again before then)."""

    @abstractmethod
    async def presence_remove(self, group: str, member: str) -> None: ...

    @abstractmethod
    async def presence_members(self, group: str) -> list[str]:
        """Members whose presence has not expired, in no particular order."""

    @abstractmethod
    async def presence_age(self) -> float:
        """Seconds the backend's presence data has been kept without a known
        gap: since it began (a backend that restarted and lost its data
        begins again at 0) or since the last :meth:`mark_presence_gap`. Absence
        from a group means "gone" only once this exceeds the period in which
        every present member renews itself."""

    @abstractmethod
    async def mark_presence_gap(self) -> None:
        """Say that presence may be incomplete as of now (a node could not
        renew its members for a while): :meth:`presence_age` starts again
        at 0 for every node."""

    # directory ----------------------------------------------------------------
    @abstractmethod
    async def directory_put(self, group: str, member: str, data: bytes, ttl: float) -> None:
        """Announce ``member`` of ``group`` with ``data`` (replacing what it
        said before) until ``ttl`` seconds from now. Like presence, but each
        member carries a small payload: relay nodes announce their URL,
        capacity and load this way and renew it with every heartbeat."""

    @abstractmethod
    async def directory_remove(self, group: str, member: str) -> None: ...

    @abstractmethod
    async def directory_entries(self, group: str) -> dict[str, bytes]:
        """Every member of ``group`` whose announcement has not expired, with
        its latest data."""

    # claims ----------------------------------------------------------------
    @abstractmethod
    async def claim(self, key: str, owner: str, ttl: float) -> str:
        """Atomically take ``key`` for ``owner`` if nobody holds it. Returns
        the owner that holds it afterwards: ``owner`` if this call won (or
        already held it), else the winner. The claim expires after ``ttl``."""

    @abstractmethod
    async def replace(self, key: str, expected: str, owner: str, ttl: float) -> str:
        """Atomically hand ``key`` to ``owner`` if it is held by ``expected``
        or by nobody (compare and set). Returns the holder afterwards:
        ``owner`` if this call won, else whoever holds it (another caller
        that replaced ``expected`` first). A won claim expires after ``ttl``.
        Several nodes replacing one dead holder at once all name one winner."""

    @abstractmethod
    async def release(self, key: str, owner: str) -> bool:
        """Drop the claim if ``owner`` holds it; True if it was dropped."""

    # counters ----------------------------------------------------------------
    @abstractmethod
    async def hit(self, key: str, window: float) -> int:
        """Increment the counter ``key`` and return its new value. The counter
        expires ``window`` seconds after its *first* hit (a fixed window)."""

    @abstractmethod
    async def unhit(self, key: str) -> int:
        """Take one hit back from the counter ``key`` (an attempt that was
        counted before it was checked and turned out fine, or was refused
        unchecked) and return its new value. Never goes below zero and leaves
        the window as it is; 0 when the counter is absent."""

    @abstractmethod
    async def ttl(self, key: str) -> float:
        """Seconds until ``key`` (a counter or a claim) expires; 0 if absent."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove a counter or claim."""

    # lifecycle ---------------------------------------------------------------
    @abstractmethod
    async def ping(self) -> bool:
        """True when the backend is reachable (readiness)."""

    @abstractmethod
    async def aclose(self) -> None: ...

    def statistics(self) -> dict[str, int]:
        """Counters for the metrics endpoint (published, delivered, dropped,
        subscriptions, ...); each backend adds its own."""
        return {}

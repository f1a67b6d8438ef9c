"""Token bucket for per-connection message rates. Pure: the caller passes
the time, so tests drive it with any clock and the server with its loop's.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per ``per`` seconds with a burst of ``capacity``.

    ``MESSAGES_PER_MINUTE = 120`` becomes ``TokenBucket(120, 60.0)``: a burst
    of 120 messages, then two a second.
    """

    capacity: int
    per: float
    tokens: float = field(init=False)
    stamp: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.capacity <= 0 or self.per <= 0:
            raise ValueError("capacity and per must be positive")
        self.tokens = float(self.capacity)

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means "over the limit"."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after(self, now: float) -> float:
        """Seconds until the next token."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) * self.per / self.capacity

    def _refill(self, now: float) -> None:
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(float(self.capacity), self.tokens + (now - self.stamp) * self.capacity / self.per)
        if self.stamp is None or now > self.stamp:
            self.stamp = now


class KeyedBuckets:
    """A :class:`TokenBucket` per key (a client address, an account id),
    all alike, remembering at most ``max_keys`` of them: past that the least
    recently used is forgotten, which only gives that key a fresh bucket. So
    memory stays bounded however many keys an attacker rotates through.
    """

    def __init__(self, capacity: int, per: float, max_keys: int) -> None:
        if max_keys <= 0:
            raise ValueError("max_keys must be positive")
        TokenBucket(capacity, per)  # validates the shape once
        self.capacity = capacity
        self.per = per
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.refused = 0

    def take(self, key: str, now: float) -> float:
        """Spend one of ``key``'s tokens: 0.0 when allowed, else the seconds
        until the next token (the request is refused and costs nothing)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.capacity, self.per)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if bucket.take(now):
            return 0.0
        self.refused += 1
        return max(bucket.retry_after(now), 1e-3)

    def statistics(self) -> dict[str, int]:
        return {"keys": len(self._buckets), "refused": self.refused}


def login_backoff(failures: int, limit: int, base: float) -> float:
    """Seconds a login must wait after ``failures`` failed attempts: nothing
    up to ``limit``, then ``base``, doubling with each further failure and
    capped at an hour."""
    if failures < limit:
        return 0.0
    return float(min(base * (2 ** min(failures - limit, 30)), 3600.0))

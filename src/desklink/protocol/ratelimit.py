"""Token bucket for per-connection message rates. Pure: the caller passes
the time, so tests drive it with any clock and the server with its loop's.
"""

from __future__ import annotations

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


def login_backoff(failures: int, limit: int, base: float) -> float:
    """Seconds a login must wait after ``failures`` failed attempts: nothing
    up to ``limit``, then ``base``, doubling with each further failure and
    capped at an hour."""
    if failures < limit:
        return 0.0
    return float(min(base * (2 ** min(failures - limit, 30)), 3600.0))

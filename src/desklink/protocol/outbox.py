"""Per-connection outbound queue with priority classes.

Theory of operation
-------------------
One WebSocket carries every stream of an endpoint. What waits to be sent
sits here in one bounded FIFO per priority class, and the connection's writer
always takes from the most urgent non-empty class: control and input first,
then the pointer, then screen, then bulk file data. A chat message or an alert therefore never
waits behind megabytes of file data.

Each class is bounded by ``limit``. Pushing past it does not block and does
not grow: :meth:`push` returns False and the adapter closes the connection
with ``CLOSE_SLOW`` (control must not be dropped silently). Screen frames use
"latest wins" instead (:meth:`replace`), so a slow viewer lowers its frame
rate rather than its freshness.

Sans-I/O: no asyncio here; the adapter wakes its writer when
:meth:`push` returns True on an empty outbox.
"""

from __future__ import annotations

from collections import deque
from enum import IntEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class Priority(IntEnum):
    CONTROL = 0  # chat, alerts, presence, input, consent
    POINTER = 1  # cursor shape and position: latest wins
    SCREEN = 2  # screen frames
    BULK = 3  # file data


class Outbox(Generic[T]):
    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("limit must be positive")
        self.limit = limit
        self._queues: tuple[deque[T], ...] = tuple(deque() for _ in Priority)
        self.pushed = 0
        self.sent = 0
        self.refused = 0
        self.replaced = 0

    def push(self, item: T, priority: Priority = Priority.CONTROL) -> bool:
        """Queue ``item``; False when its class is full (the item is refused)."""
        q = self._queues[priority]
        if len(q) >= self.limit:
            self.refused += 1
            return False
        q.append(item)
        self.pushed += 1
        return True

    def replace(self, item: T, priority: Priority = Priority.SCREEN) -> None:
        """Latest wins: drop whatever of this class still waits, queue ``item``."""
        q = self._queues[priority]
        self.replaced += len(q)
        q.clear()
        q.append(item)
        self.pushed += 1

    def pop(self) -> T | None:
        """The next item to send, most urgent class first; None when empty."""
        for q in self._queues:
            if q:
                self.sent += 1
                return q.popleft()
        return None

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues)

    def statistics(self) -> dict[str, int]:
        stats = {f"queued_{p.name.lower()}": len(self._queues[p]) for p in Priority}
        stats.update(pushed=self.pushed, sent=self.sent, refused=self.refused, replaced=self.replaced)
        return stats

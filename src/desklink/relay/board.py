"""The annotation board the relay keeps for a screen session: every stroke
still on the visitor's screen (bounded), so a viewer who joins and an agent
that comes back after a dropped link get them all, oldest first; and each
side's budget of annotation messages.

Strokes are kept as the validated, re-encoded messages: an unknown field a
peer sent is never stored or passed on.
"""

from __future__ import annotations

from typing import Literal

from desklink.errors import LimitExceeded
from desklink.protocol.messages import Annotate
from desklink.protocol.ratelimit import TokenBucket

Side = Literal["agent", "viewers"]


class Board:
    def __init__(self, *, max_strokes: int, per_minute: int) -> None:
        self.max_strokes = max_strokes
        self.per_minute = per_minute
        self._strokes: dict[str, Annotate] = {}  # id -> stroke, oldest first
        self._budgets: dict[Side, TokenBucket] = {side: TokenBucket(per_minute, 60.0) for side in ("agent", "viewers")}

    def spend(self, side: Side, now: float) -> None:
        """One annotation message from ``side``; ``LimitExceeded`` past its budget."""
        bucket = self._budgets[side]
        if not bucket.take(now):
            raise LimitExceeded(
                f"more than {self.per_minute} annotation messages a minute; dropped",
                retry_after=bucket.retry_after(now),
            )

    def apply(self, msg: Annotate) -> None:
        if msg.op == "clear":
            self._strokes.clear()
        elif msg.op == "undo":
            self._strokes.pop(msg.id, None)
        else:
            self._strokes.pop(msg.id, None)
            self._strokes[msg.id] = msg
            while len(self._strokes) > self.max_strokes:
                self._strokes.pop(next(iter(self._strokes)))

    def strokes(self) -> list[Annotate]:
        return list(self._strokes.values())

    def clear(self) -> None:
        self._strokes.clear()

    def __len__(self) -> int:
        return len(self._strokes)

"""The visitor's pen: pointer presses, moves and releases on the shared
monitor, turned into ``annotate`` stroke messages. Sans-I/O: the caller
feeds pointer positions (shared-monitor pixels) and gets messages back; the
draw surface (agent/overlay/surface.py) supplies the positions and the Tk UI
puts the messages on the board and sends them.

* :meth:`Pen.down` starts a stroke, :meth:`Pen.move` extends it and
  :meth:`Pen.up` finishes it. The stroke under way (:attr:`Pen.current`) is
  shown on the visitor's screen as it grows; only finished strokes are sent
  (the rep's whiteboard does the same), so the agent spends one message of
  its per-minute budget per stroke.
* A stroke holds at most ``max_points`` points (the protocol's limit); a
  longer one is finished there and a new one carries on from its end, so a
  long scribble arrives as several strokes, none refused.
* Positions are clamped to the monitor; a repeat of the last point adds
  nothing.
* :meth:`Pen.undo` takes back the visitor's own newest stroke.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from desklink.protocol import limits

#: The visitor's ink: purple, a colour the rep's palette does not offer, so
#: whose stroke is whose is always clear.
VISITOR_COLOR = "#9333ea"
VISITOR_WIDTH = 5


def _new_id() -> str:
    return "v-" + secrets.token_hex(6)


class Pen:
    def __init__(
        self,
        width: int,
        height: int,
        *,
        color: str = VISITOR_COLOR,
        line_width: int = VISITOR_WIDTH,
        max_points: int = limits.MAX_STROKE_POINTS,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        if max_points < 2:
            raise ValueError("a stroke needs room for two points")
        self.width, self.height = width, height
        self.color = color
        self.line_width = line_width
        self.max_points = max_points
        self.new_id = new_id
        self.current: dict[str, Any] | None = None
        #: The ids of the visitor's finished strokes, oldest first (for undo).
        self.mine: list[str] = []

    def _clamp(self, x: int, y: int) -> list[int]:
        return [min(max(int(x), 0), self.width - 1), min(max(int(y), 0), self.height - 1)]

    def _stroke(self, points: list[list[int]]) -> dict[str, Any]:
        return {
            "t": "annotate", "op": "stroke", "id": self.new_id(), "tool": "pen", "color": self.color,
            "width": self.line_width, "points": points, "fade_s": 0,
        }

    def down(self, x: int, y: int) -> dict[str, Any]:
        """Start a stroke at (x, y). Returns the stroke under way."""
        self.current = None  # one left open (a release the surface never saw) is dropped
        self.current = self._stroke([self._clamp(x, y)])
        return self.current

    def move(self, x: int, y: int) -> list[dict[str, Any]]:
        """The pointer moved with the button down. Returns the strokes that
        were finished on the way (a full one), usually none."""
        cur = self.current
        if cur is None:
            return []
        p = self._clamp(x, y)
        last = cur["points"][-1]
        if p == last:
            return []
        if len(cur["points"]) >= self.max_points:
            done = self._finish()
            self.current = self._stroke([last, p])
            return [done]
        cur["points"].append(p)
        return []

    def up(self, x: int | None = None, y: int | None = None) -> list[dict[str, Any]]:
        """The button went up (at x, y when known): the finished strokes, to
        send (none when no stroke was under way; two when the last point
        overflowed a full one)."""
        if self.current is None:
            return []
        finished = self.move(x, y) if x is not None and y is not None else []
        return [*finished, self._finish()]

    def cancel(self) -> dict[str, Any] | None:
        """Drop the stroke under way (drawing was switched off mid-stroke);
        returns it, so the caller can take it off the board."""
        cur, self.current = self.current, None
        return cur

    def _finish(self) -> dict[str, Any]:
        assert self.current is not None
        done, self.current = self.current, None
        self.mine.append(done["id"])
        if len(self.mine) > limits.MAX_STROKES:
            del self.mine[0]
        return done

    def undo(self, live: Callable[[str], bool] = lambda _id: True) -> dict[str, Any] | None:
        """An ``undo`` message for the visitor's newest stroke still on the
        board (``live`` says whether an id is), or None."""
        while self.mine:
            stroke_id = self.mine.pop()
            if live(stroke_id):
                return {"t": "annotate", "op": "undo", "id": stroke_id}
        return None

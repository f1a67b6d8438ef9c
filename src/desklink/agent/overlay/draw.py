"""Draw mode: the visitor draws on their own screen. Tk thread only.

While it is on, a :class:`~desklink.agent.overlay.surface.DrawSurface`
takes the pointer over the shared monitor; a :class:`~desklink.agent.overlay.pen.Pen`
turns left-button drags into strokes; each stroke goes on the same
:class:`~desklink.agent.overlay.board.Board` the rep's strokes go on (so it
is painted by the overlay and masked out of the captures, exactly like
theirs) and, once finished, to the rep through ``send``. A right click
takes back the visitor's newest stroke.

The stroke under way is shown as it grows (re-applied to the board under
one id on every tick); only finished strokes are sent, in pieces of at most
:data:`STROKE_PIECE_POINTS` points so the ink keeps up with the pointer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from desklink.agent.overlay.board import Board
from desklink.agent.overlay.pen import Pen
from desklink.agent.overlay.surface import DrawSurface

log = logging.getLogger(__name__)

#: How often the surface's pointer events are read, ms.
DRAW_POLL_MS = 15
#: How often the surface is put back just below the indicator, s.
RESTACK_S = 1.0
#: The visitor's strokes are sent in pieces of at most this many points: the
#: stroke under way is re-rasterized on every pump, and that cost grows with
#: its length (bench/overlay.py: ~3 ms under 200 points, ~36 ms past 1000).
STROKE_PIECE_POINTS = 256


class DrawMode:
    """``root`` is the Tk root; ``overlay()`` returns the overlay window that
    paints ``board`` (creating it when needed); ``send(msg)`` hands an
    ``annotate`` message to the network side; ``below`` is the indicator's
    X window, which stays above the surface."""

    def __init__(
        self,
        root: Any,
        board: Board,
        left: int,
        top: int,
        *,
        overlay: Callable[[], Any],
        send: Callable[[dict[str, Any]], None],
        below: int = 0,
    ) -> None:
        self.root = root
        self.board = board
        self.overlay = overlay
        self.send = send
        self.below = below
        self.pen = Pen(board.width, board.height, max_points=STROKE_PIECE_POINTS)
        self._resets = board.resets  # a reset (another monitor) voids the stroke under way
        self.surface = DrawSurface(root.winfo_screen(), left, top, board.width, board.height, below=below)
        self.sent = 0
        self.closed = False
        self._restacked = time.monotonic()
        self._tick_id: str | None = root.after(DRAW_POLL_MS, self._tick)

    def _tick(self) -> None:
        self._tick_id = None
        if self.closed:
            return
        try:
            self.pump()
            if time.monotonic() - self._restacked > RESTACK_S:
                self._restacked = time.monotonic()
                self.surface.restack(self.below)
        except Exception:  # noqa: BLE001 - keep drawing possible; a broken tick must not stop the UI
            log.exception("draw: tick failed")
        self._tick_id = self.root.after(DRAW_POLL_MS, self._tick)

    def pump(self) -> bool:
        """Read the pointer, update the board and the overlay, send finished
        strokes. Returns whether the board changed."""
        if self.board.resets != self._resets:
            # The shared monitor changed under the pen: its coordinates mean
            # nothing now. Drop the stroke; the UI closes draw mode next.
            self.pen.cancel()
            self.surface.events()
            return False
        changed = False
        for ev in self.surface.events():
            if ev.kind == "down" and ev.button == 1:
                self._finish(self.pen.up())
                self.pen.down(ev.x, ev.y)
                changed = True
            elif ev.kind == "down" and ev.button == 3 and self.pen.current is None:
                undo = self.pen.undo(live=lambda i: i in self.board.ids)
                if undo is not None:
                    changed |= self.board.apply(undo)
                    self.send(undo)
            elif ev.kind == "move" and self.pen.current is not None:
                self._finish(self.pen.move(ev.x, ev.y))
                changed = True
            elif ev.kind == "up" and ev.button == 1 and self.pen.current is not None:
                self._finish(self.pen.up(ev.x, ev.y))
                changed = True
        if self.pen.current is not None and changed:
            self.board.apply(self.pen.current)
        if changed:
            self.board.beneath_from()
            self.overlay().sync()
        return changed

    def _finish(self, strokes: list[dict[str, Any]]) -> None:
        for msg in strokes:
            self.board.apply(msg)
            self.send(msg)
            self.sent += 1

    def clear(self) -> None:
        """Take every stroke off the board (the rep's too) and tell the rep."""
        self.pen.cancel()
        clear_board(self.board, self.overlay, self.send)

    def close(self) -> None:
        """Stop drawing: a stroke under way is finished and sent, the pointer
        goes back to the applications."""
        if self.closed:
            return
        self.closed = True
        if self._tick_id is not None:
            self.root.after_cancel(self._tick_id)
            self._tick_id = None
        try:
            self.pump()
            if self.board.resets == self._resets:
                self._finish(self.pen.up())
        except Exception:  # noqa: BLE001 - closing anyway
            log.debug("draw: last pump failed", exc_info=True)
        finally:
            self.surface.close()


def clear_board(board: Board, overlay: Callable[[], Any], send: Callable[[dict[str, Any]], None]) -> None:
    """The visitor's Clear: everything off the screen, and the rep told."""
    if board.apply({"op": "clear"}):
        overlay().sync()
    send({"t": "annotate", "op": "clear"})

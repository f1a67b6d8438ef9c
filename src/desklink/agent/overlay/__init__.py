"""Annotation on the visitor's real screen: the strokes a rep (or the visitor)
draws, painted in an always-on-top, click-through window over the shared
monitor, and kept out of the picture the viewers get.

Integration (what the agent's client and its Tk UI call)
--------------------------------------------------------
One :class:`Board` per shared monitor, shared by three threads::

    board = Board(mon.width, mon.height)
    ui.post("board", board, mon.left, mon.top)   # the UI draws on this one

    # network thread, on every ``annotate`` message from the relay:
    if board.apply(msg):               # stroke / undo / clear; False = ignored
        board.beneath_from()           # newest (masked) capture; or pass one
        ui.post("annotate", msg)       # only now may the overlay paint it (on the posted board)

    # capture worker thread, on every grab, before encoding:
    image = board.mask(capture.grab())  # in place; returns the same array
    # ...and grab even when capture.changed() is False while board.needs_grab
    # (a removed stroke's pixels are waiting to be let through again)

    # Tk main thread (TkUI), for the posted "annotate" command:
    self._overlay().apply(msg)         # the board's OverlayWindow, made on first use; repaints

    # Tk main thread, while the visitor draws (draw.DrawMode, on the indicator's Draw):
    # pointer events from the InputOnly surface.DrawSurface -> pen.Pen ->
    board.apply(stroke); board.beneath_from(); overlay.sync()   # the same order
    hooks.annotate(stroke)             # finished strokes only, to the rep

    # the shared monitor changed (screen.select, resolution change):
    board.reset(new.width, new.height); ui.post("annotate_move", new.left, new.top)
    # -> on the Tk thread: overlay.move(new.left, new.top)
    # sharing ends:  ui.post(...) -> overlay.destroy()

Only create a Board when an :class:`OverlayWindow` paints it (the Tk UI);
with the terminal UI nothing is drawn on the screen, so there is nothing to
mask.

Why masking
-----------
Without a compositor, X11 cannot leave a window out of a screen grab, so a
capture taken while strokes are on screen contains them, and the viewer
(which draws the strokes itself) would show them twice, one copy a frame
late. The fallback: :meth:`Board.mask` replaces every pixel a stroke covers
with what lay *beneath* it, remembered from a capture taken before the
stroke was painted. Where the content under a stroke changes while the
stroke is up, the viewers see the old content there until the stroke goes
(undo, clear, fade): the price of the fallback.

Ordering (the invariants that make the picture exact)
-----------------------------------------------------
* The overlay shows a pixel only once the board *holds* its beneath
  (:meth:`Board.view` gives the shape "live strokes AND held"). So the
  network thread must call :meth:`Board.beneath_from` (newest capture)
  BEFORE posting the stroke to the UI; if it does not, the stroke simply
  appears one capture later, never in a capture.
* :meth:`Board.mask` first takes the beneath of covered-but-not-held pixels
  from the image it is given (safe: the overlay has not painted them), then
  replaces all covered pixels.
* A removed stroke (undo, clear, fade) may still be on screen until the Tk
  thread has repainted: its pixels stay masked ("lingering") until the
  overlay calls :meth:`Board.settle` after the X server has processed the
  new shape, and then for two more :meth:`Board.mask` calls, because the
  grab that the next ``mask`` call belongs to may have started before the
  repaint. This assumes grab + mask run one after the other on one thread
  (as the agent's capture worker does).
* A capture that holds the beneath of pixels of a live stroke for the first
  time (a stroke that came before any capture) gives the board a new
  version, so the overlay's tick repaints and shows it.
* Every Board method takes the board's lock; none calls out while holding it.

Rasterization (:func:`rasterize`) is pure numpy: for each segment and each
image row, the pixels whose centre lies within ``width / 2`` of the segment
form one interval (the capsule is convex), computed in closed form; the
intervals of all segments are painted with a per-row difference array and a
cumulative sum over the stroke's bounding box. Pen and highlighter are round
polylines, arrow a polyline plus a filled triangular head
(:func:`arrow_head`), rect the outline of the box spanned by the first and
last points.

The window (:class:`OverlayWindow`) paints with Tk's canvas, each item drawn
:data:`PAINT_PAD` pixels wider than the raster, and is shaped with the X
SHAPE extension (through xcffib) to exactly the board's pixels: so the
visible overlay is exactly the mask, every visible pixel is a stroke's
colour, and an empty input shape lets every click through to the windows
beneath.
"""

from desklink.agent.overlay.board import Board, BoardView
from desklink.agent.overlay.raster import arrow_head, highlight_color, mask_rects, rasterize, rasterize_box
from desklink.agent.overlay.window import OverlayWindow

__all__ = [
    "Board",
    "BoardView",
    "OverlayWindow",
    "arrow_head",
    "highlight_color",
    "mask_rects",
    "rasterize",
    "rasterize_box",
]

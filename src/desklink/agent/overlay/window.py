"""The overlay window: a borderless, always-on-top Tk window shaped to the
stroke pixels and transparent to input (X SHAPE through xcffib)."""

from __future__ import annotations

import io
import logging
import math
import struct
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from desklink.agent.overlay.raster import MAX_SHAPE_RECTS, Mask, PAINT_PAD, PUT_IMAGE_CHUNK, RAISE_MS, TICK_MS, _segments, arrow_head, highlight_color, mask_rects
from desklink.agent.overlay.board import Board
from desklink.agent.overlay.surface import top_level

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# the window


class _Shaper:
    """The X SHAPE extension through xcffib, on a connection of its own."""

    def __init__(self, display: str) -> None:
        import xcffib
        import xcffib.shape
        import xcffib.xproto

        self.xproto = xcffib.xproto
        self.shape_mod = xcffib.shape
        self.conn: Any = xcffib.connect(display=display)
        if not self.conn.core.QueryExtension(len(b"SHAPE"), b"SHAPE").reply().present:
            self.conn.disconnect()
            raise RuntimeError("the X server has no SHAPE extension")
        self.shape = self.conn(xcffib.shape.key)
        ver = self.shape.QueryVersion().reply()
        if (ver.major_version, ver.minor_version) < (1, 1):
            self.conn.disconnect()
            raise RuntimeError("SHAPE 1.1 (input shapes) is needed")
        setup = self.conn.get_setup()
        self.lsb_first = setup.bitmap_format_bit_order == xcffib.xproto.ImageOrder.LSBFirst
        pad = next((f.scanline_pad for f in setup.pixmap_formats if f.depth == 1), 32)
        self.pad_bytes = max(pad // 8, 1)

    def top_level(self, window: int) -> int:
        """The ancestor of ``window`` (or itself) whose parent is the root."""
        return top_level(self.conn, window)

    def no_background(self, windows: Iterable[int]) -> None:
        """Background None: where the shape grows, the server leaves the
        pixels as they were until Tk repaints (no flash of background colour)."""
        for window in windows:
            self.conn.core.ChangeWindowAttributesChecked(window, self.xproto.CW.BackPixmap, [0]).check()

    def rects(self, window: int, kind: int, rects: npt.NDArray[np.int64]) -> None:
        data = rects.astype("=i2").tobytes() if len(rects) else b""
        head = struct.pack("=xx2xBBBxIhh", self.shape_mod.SO.Set, kind, 0, window, 0, 0)  # ordering Unsorted
        self.shape.send_request(1, io.BytesIO(head + data), is_checked=True).check()

    def bitmap(self, window: int, kind: int, mask: Mask, x0: int, y0: int) -> None:
        """Shape ``window`` with ``mask`` placed at (x0, y0) through a depth-1 pixmap."""
        xp = self.xproto
        h, w = mask.shape
        pix = self.conn.generate_id()
        gc = self.conn.generate_id()
        self.conn.core.CreatePixmap(1, pix, window, w, h)
        self.conn.core.CreateGC(gc, pix, 0, [])
        bits = np.packbits(mask, axis=1, bitorder="little" if self.lsb_first else "big")
        stride = -(-bits.shape[1] // self.pad_bytes) * self.pad_bytes
        rowsbuf = np.zeros((h, stride), dtype=np.uint8)
        rowsbuf[:, : bits.shape[1]] = bits
        step = max(1, PUT_IMAGE_CHUNK // stride)
        for top in range(0, h, step):
            chunk = rowsbuf[top : top + step]
            self.conn.core.PutImage(xp.ImageFormat.ZPixmap, pix, gc, w, chunk.shape[0], 0, top, 0, 1,
                                    chunk.size, chunk.tobytes())
        self.shape.MaskChecked(self.shape_mod.SO.Set, kind, window, x0, y0, pix).check()
        self.conn.core.FreeGC(gc)
        self.conn.core.FreePixmap(pix)
        self.conn.flush()

    def set(self, window: int, kind: int, mask: Mask | None) -> int:
        """Shape ``window`` to exactly ``mask`` (None or empty: nothing).
        Returns the number of rectangles (-1: sent as a bitmap)."""
        if mask is None or not mask.any():
            self.rects(window, kind, np.zeros((0, 4), dtype=np.int64))
            return 0
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        sub = mask[y0:y1, x0:x1]
        rects = mask_rects(sub, x0, y0)
        if len(rects) <= MAX_SHAPE_RECTS:
            self.rects(window, kind, rects)
            return len(rects)
        self.bitmap(window, kind, sub, x0, y0)
        return -1

    def close(self) -> None:
        try:
            self.conn.disconnect()
        except Exception:  # noqa: BLE001 - closing anyway
            pass


class OverlayWindow:
    """The strokes on the visitor's screen: a borderless, always-on-top Tk
    window over the shared monitor, shaped to the stroke pixels and
    transparent to input. Create and use it on the Tk thread only.

    ``master`` is the Tk root (TkUI.root); ``board`` the shared
    :class:`Board`; (``left``, ``top``) the shared monitor's origin on the
    virtual desktop.
    """

    def __init__(self, master: Any, board: Board, *, left: int = 0, top: int = 0, title: str = "DeskLink - annotation") -> None:
        import tkinter as tk

        self.tk = tk
        self.board = board
        self.left, self.top = left, top
        self.items: dict[int, list[int]] = {}  # stroke key -> canvas items
        self.shown = np.zeros((board.height, board.width), dtype=bool)
        self.shown_version = -1
        self.rect_count = 0
        self.closed = False
        self._tick_id: str | None = None
        self._last_raise = 0.0
        win = tk.Toplevel(master)
        self.win = win
        win.withdraw()
        win.title(title)
        win.overrideredirect(True)
        win.configure(background="#000000", borderwidth=0, highlightthickness=0)
        self.canvas = tk.Canvas(win, background="#000000", borderwidth=0, highlightthickness=0)
        self.canvas.place(x=0, y=0, relwidth=1, relheight=1)
        self._geometry()
        win.update_idletasks()
        self.shaper = _Shaper(win.winfo_screen())
        self.xid = self._outer_xid()
        # Empty shapes before the window is ever mapped: nothing shows, nothing catches a click.
        self.shaper.set(self.xid, self.shaper.shape_mod.SK.Input, None)
        self.shaper.set(self.xid, self.shaper.shape_mod.SK.Bounding, None)
        inner = {self.xid, int(win.winfo_id()), int(self.canvas.winfo_id())}
        win.winfo_pointerxy()  # a round trip: they exist on the server now
        self.shaper.no_background(inner)
        win.deiconify()
        win.attributes("-topmost", True)
        win.lift()
        self.sync()
        self._tick_id = win.after(TICK_MS, self._tick)

    def _geometry(self) -> None:
        self.win.geometry(f"{self.board.width}x{self.board.height}+{self.left}+{self.top}")

    def _outer_xid(self) -> int:
        """The X window to shape: the ancestor of the toplevel that is a child
        of the root. Tk on X11 puts each toplevel inside a "wrapper" window
        (created by the first idle pass) and ``wm frame`` names the wrapper
        only when a window manager reparented it, which override-redirect
        windows never are; so ask the server (``xwininfo -tree`` shows
        wrapper -> toplevel -> canvas)."""
        self.win.winfo_pointerxy()  # a round trip: Tk's windows exist on the server
        return self.shaper.top_level(int(self.win.winfo_id()))

    # ------------------------------------------------------------ public

    def apply(self, msg: dict[str, Any] | None = None) -> None:
        """Repaint from the board (which already holds ``msg``: the network
        thread applied it before posting)."""
        self.sync()

    def show(self, strokes: Iterable[dict[str, Any]]) -> None:
        """Put several stroke messages on the board (with their beneath from
        the newest capture) and paint them."""
        for msg in strokes:
            self.board.apply(msg)
        self.board.beneath_from()
        self.sync()

    def clear(self) -> None:
        self.board.apply({"op": "clear"})
        self.sync()

    def move(self, left: int, top: int) -> None:
        """The shared monitor changed: cover it (after ``board.reset``)."""
        self.left, self.top = left, top
        self._geometry()
        self.sync()

    def destroy(self) -> None:
        """Take everything off the screen and close the window."""
        if self.closed:
            return
        self.closed = True
        if self._tick_id is not None:
            self.win.after_cancel(self._tick_id)
        self.board.apply({"op": "clear"})
        version = self.board.view().version
        try:
            self.shaper.set(self.xid, self.shaper.shape_mod.SK.Bounding, None)
        except Exception as exc:  # noqa: BLE001 - the window goes anyway
            log.debug("overlay: unshape on destroy failed: %s", exc)
        self.win.destroy()
        self.shaper.close()
        self.board.settle(version)

    # ------------------------------------------------------------ painting

    def sync(self) -> None:
        """Make the window show the board: shrink the shape to what stays,
        repaint the canvas, grow the shape to what is new, then tell the
        board (so removed strokes may leave the capture mask)."""
        if self.closed:
            return
        view = self.board.view()
        if (view.height, view.width) != self.shown.shape:
            self.shown = np.zeros((view.height, view.width), dtype=bool)
            self._geometry()
        SK = self.shaper.shape_mod.SK
        keep = self.shown & view.shown
        if not np.array_equal(keep, self.shown):
            self.rect_count = self.shaper.set(self.xid, SK.Bounding, keep)
            self.shown = keep
        live = {key for key, _ in view.strokes}
        for key in [k for k in self.items if k not in live]:
            for item in self.items.pop(key):
                self.canvas.delete(item)
        for key, msg in view.strokes:
            if key not in self.items:
                self.items[key] = self._paint(msg)
        self.win.update_idletasks()
        self.win.winfo_pointerxy()  # a round trip: Tk's drawing has reached the server
        if not np.array_equal(view.shown, self.shown):
            self.rect_count = self.shaper.set(self.xid, SK.Bounding, view.shown)
            self.shown = view.shown
        if view.strokes:
            self._raise()
        self.shown_version = view.version
        self.board.settle(view.version)

    def _raise(self, force: bool = True) -> None:
        now = time.monotonic()
        if force or now - self._last_raise >= RAISE_MS / 1000:
            self._last_raise = now
            self.win.lift()

    def _tick(self) -> None:
        self._tick_id = None
        if self.closed:
            return
        try:
            self.board.expire()
            if self.board.version != self.shown_version:
                self.sync()
            elif self.items:
                self._raise(force=False)
        except Exception:  # noqa: BLE001 - keep ticking; a broken overlay must not stop the UI
            log.exception("overlay: repaint failed")
        self._tick_id = self.win.after(TICK_MS, self._tick)

    def _paint(self, msg: dict[str, Any]) -> list[int]:
        """Canvas items for one stroke, PAINT_PAD wider than its raster."""
        c = self.canvas
        w = msg["width"]
        tool = msg["tool"]
        color = highlight_color(msg["color"]) if tool == "highlighter" else msg["color"]
        pts = msg["points"]
        pw = w + PAINT_PAD
        if tool == "rect":
            (x0, y0), (x1, y1) = pts[0], pts[-1]
            return [c.create_line(x0, y0, x1, y0, x1, y1, x0, y1, x0, y0, fill=color, width=pw,  # type: ignore[call-overload]  # Tk takes any number of points; the typeshed signature lists four
                                  capstyle="projecting", joinstyle="miter")]
        flat = [v for p in pts for v in p]
        if len(pts) == 1 or all(p == pts[0] for p in pts):
            x, y = pts[0]
            rad = pw / 2 + 1
            return [c.create_oval(x - rad, y - rad, x + rad, y + rad, fill=color, outline=color, width=1)]
        if tool == "arrow":
            _, polys = _segments(msg)
            shaft = c.create_line(  # type: ignore[call-overload]  # any number of points; the typeshed signature lists four
                *flat[:-2], *_shaft_end(pts, w), fill=color, width=pw, capstyle="round", joinstyle="round"
            )
            items = [shaft] if polys else []
            if polys:
                tri = [float(v) for v in polys[0].reshape(-1)]
                items.append(c.create_polygon(*tri, fill=color, outline=color, width=PAINT_PAD, joinstyle="miter"))
            else:
                items.append(c.create_line(*flat, fill=color, width=pw, capstyle="round", joinstyle="round"))
            return items
        return [c.create_line(*flat, fill=color, width=pw, capstyle="round", joinstyle="round")]


def _shaft_end(pts: list[list[int]], width: int) -> tuple[float, float]:
    """Where an arrow's shaft ends: the head's base (as in :func:`_segments`)."""
    tip = np.asarray(pts[-1], dtype=float)
    back = np.asarray(pts[:-1], dtype=float)
    back = back[np.hypot(*(back - tip).T) > 0.5]
    d = tip - back[-1]
    d /= math.hypot(*d)
    length, _ = arrow_head(width)
    neck = tip - d * length
    return float(neck[0]), float(neck[1])

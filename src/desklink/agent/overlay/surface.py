"""The draw surface: while the visitor draws, an invisible X window over the
shared monitor takes the pointer, so presses and drags become strokes
instead of clicks on the applications beneath.

It is an *InputOnly* window (through xcffib, on a connection of its own):
it has no pixels at all, so nothing of it can appear on the screen or in a
capture, and the stroke overlay (a shaped InputOutput window whose input
shape is empty) keeps painting above it. Tk cannot make such a window,
which is why this is not a Tk widget. The pointer shows a crosshair over it.

It is stacked just below the agent's indicator, so the indicator's buttons
(Stop drawing, Stop) stay clickable; above everything else.

Use on one thread (the Tk thread): :meth:`DrawSurface.events` drains what
the X server reported since the last call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

#: Glyphs of the standard X "cursor" font: crosshair and its mask.
XC_CROSSHAIR = 34


@dataclass(frozen=True)
class PointerEvent:
    kind: Literal["down", "move", "up"]
    x: int  # shared-monitor pixels
    y: int
    button: int = 0


def top_level(conn: Any, window: int) -> int:
    """The ancestor of ``window`` (or itself) whose parent is the root: the
    window that is stacked among the root's children."""
    while True:
        tree = conn.core.QueryTree(window).reply()
        if tree.parent in (0, tree.root):
            return window
        window = tree.parent


class DrawSurface:
    """An InputOnly window covering (left, top, width, height) of the
    virtual desktop, mapped at once; :meth:`close` takes it away."""

    def __init__(self, display: str, left: int, top: int, width: int, height: int, *, below: int = 0) -> None:
        import xcffib
        import xcffib.xproto

        xp = xcffib.xproto
        self.xp = xp
        self.left, self.top = left, top
        self.conn: Any = xcffib.connect(display=display)
        self.closed = False
        try:
            screen = self.conn.get_setup().roots[self.conn.pref_screen]
            self.root = screen.root
            font = self.conn.generate_id()
            self.conn.core.OpenFont(font, len(b"cursor"), b"cursor")
            self.cursor = self.conn.generate_id()
            self.conn.core.CreateGlyphCursor(self.cursor, font, font, XC_CROSSHAIR, XC_CROSSHAIR + 1,
                                             0, 0, 0, 65535, 65535, 65535)
            self.conn.core.CloseFont(font)
            self.wid = self.conn.generate_id()
            mask = xp.EventMask.ButtonPress | xp.EventMask.ButtonRelease | xp.EventMask.ButtonMotion
            self.conn.core.CreateWindowChecked(
                0, self.wid, self.root, left, top, width, height, 0, xp.WindowClass.InputOnly, 0,
                xp.CW.OverrideRedirect | xp.CW.EventMask | xp.CW.Cursor, [1, mask, self.cursor],
            ).check()
            self.conn.core.MapWindowChecked(self.wid).check()
            self.restack(below)
        except Exception:
            self.conn.disconnect()
            raise

    def restack(self, below: int = 0) -> None:
        """Put the surface just below the root child holding ``below`` (the
        indicator), or on top of everything when that is not possible."""
        xp = self.xp
        if not below:
            self.conn.core.ConfigureWindowChecked(self.wid, xp.ConfigWindow.StackMode, [xp.StackMode.Above]).check()
            return
        sibling = top_level(self.conn, below)
        try:
            self.conn.core.ConfigureWindowChecked(
                self.wid, xp.ConfigWindow.Sibling | xp.ConfigWindow.StackMode, [sibling, xp.StackMode.Below],
            ).check()
        except Exception as exc:  # noqa: BLE001 - not siblings (a window manager's frame): surface up, indicator over it
            log.debug("draw surface: cannot stack below %#x: %s", sibling, exc)
            self.conn.core.ConfigureWindowChecked(self.wid, xp.ConfigWindow.StackMode, [xp.StackMode.Above]).check()
            self.conn.core.ConfigureWindow(sibling, xp.ConfigWindow.StackMode, [xp.StackMode.Above])
            self.conn.flush()

    def events(self) -> list[PointerEvent]:
        """What the pointer did over the surface since the last call."""
        out: list[PointerEvent] = []
        if self.closed:
            return out
        import xcffib

        xp = self.xp
        while True:
            try:
                ev = self.conn.poll_for_event()
            except xcffib.ConnectionException:
                log.warning("draw surface: the X connection is gone")
                self.close()
                return out
            except Exception as exc:  # noqa: BLE001 - an X error reply: not an event
                log.debug("draw surface: %s", exc)
                continue
            if ev is None:
                return out
            if isinstance(ev, xp.ButtonPressEvent):
                out.append(PointerEvent("down", ev.event_x, ev.event_y, ev.detail))
            elif isinstance(ev, xp.ButtonReleaseEvent):
                out.append(PointerEvent("up", ev.event_x, ev.event_y, ev.detail))
            elif isinstance(ev, xp.MotionNotifyEvent):
                out.append(PointerEvent("move", ev.event_x, ev.event_y))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.conn.core.DestroyWindow(self.wid)
            self.conn.core.FreeCursor(self.cursor)
            self.conn.flush()
        except Exception as exc:  # noqa: BLE001 - the connection goes anyway
            log.debug("draw surface: close: %s", exc)
        finally:
            self.conn.disconnect()

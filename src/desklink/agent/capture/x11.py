"""X11 capture: mss for the pixels, XDamage through xcffib for "did anything
change?".

Why XDamage at the NonEmpty level: the X server then sends one event when
the root window's damage region goes from empty to non-empty and nothing
more until we subtract it, so a poll costs about 0.3 ms whatever is being
drawn. The raw-rectangle level would tell us *where* but sends an event per
drawing operation, which floods Python during terminal output; the tile
diff finds the "where" faster.

Ordering: :meth:`X11Capture.grab` subtracts the damage *before* grabbing, so
anything drawn while the grab runs raises the flag again: a false alarm is
possible (the diff finds nothing), a missed change is not.

We also listen for ``ConfigureNotify`` on the root window (RandR resizes
it), so a resolution change re-reads the monitor layout at the next grab.

Limits: without the DAMAGE extension, or without xcffib, :meth:`changed`
answers ``None`` like :class:`MssCapture`. Compositing window managers
still report damage on the root window. Calls must not overlap (see
:class:`~desklink.agent.capture.base.Capture`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from desklink.errors import CaptureError
from desklink.agent.capture.base import CursorImage, Image, Monitor
from desklink.agent.capture.mss_backend import MssCapture

__all__ = ["X11Capture"]


def _no_cursor() -> CursorImage | None:
    return None


log = logging.getLogger(__name__)

_DAMAGE_VERSION = (1, 1)
#: Events drained per :meth:`X11Capture.changed` call at most, so a burst of
#: other events can never keep the capture thread busy.
MAX_EVENTS_PER_POLL = 256


class X11Capture(MssCapture):
    """Capture one X11 monitor, with a cheap XDamage-backed :meth:`changed`."""

    def __init__(self, display: str | None = None) -> None:
        super().__init__(display)
        self._conn: Any = None
        self._damage_ext: Any = None
        self._damage_id = 0
        self._notify_types: tuple[type, ...] = ()
        self._configure_type: type | None = None
        self._dirty = True  # nothing grabbed yet
        self._cursor_rgba: tuple[int, int, int, bytes] | None = None  # (serial, w, h, straight RGBA)
        self._layout_stale = False
        try:
            self._open_damage(display)
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot tell"
            log.info("XDamage unavailable, change hints disabled: %s", exc)
            self._close_damage()

    # -- damage -----------------------------------------------------------

    def _open_damage(self, display: str | None) -> None:
        import xcffib
        import xcffib.damage  # registers the extension before connecting
        import xcffib.xfixes
        import xcffib.xproto

        conn: Any = xcffib.connect(display=display)
        self._conn = conn
        present = conn.core.QueryExtension(len(b"DAMAGE"), b"DAMAGE").reply().present
        if not present:
            raise CaptureError("the X server has no DAMAGE extension")
        # DAMAGE is built on XFixes regions; both want their version negotiated first.
        conn(xcffib.xfixes.key).QueryVersion(5, 0).reply()
        damage = conn(xcffib.damage.key)
        damage.QueryVersion(*_DAMAGE_VERSION).reply()
        root = conn.get_setup().roots[conn.pref_screen].root
        damage_id = conn.generate_id()
        damage.CreateChecked(damage_id, root, xcffib.damage.ReportLevel.NonEmpty).check()
        conn.core.ChangeWindowAttributesChecked(
            root, xcffib.xproto.CW.EventMask, [xcffib.xproto.EventMask.StructureNotify]
        ).check()
        conn.flush()
        self._damage_ext = damage
        self._damage_id = damage_id
        self._notify_types = (xcffib.damage.NotifyEvent,)
        self._configure_type = xcffib.xproto.ConfigureNotifyEvent

    def _close_damage(self) -> None:
        conn, self._conn = self._conn, None
        self._damage_ext = None
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    @property
    def has_damage(self) -> bool:
        """Whether :meth:`changed` is backed by XDamage (else it answers None)."""
        return self._damage_ext is not None

    def _drain(self) -> None:
        conn = self._conn
        for _ in range(MAX_EVENTS_PER_POLL):
            event = conn.poll_for_event()
            if event is None:
                return
            if isinstance(event, self._notify_types):
                self._dirty = True
            elif self._configure_type is not None and isinstance(event, self._configure_type):
                self._dirty = True
                self._layout_stale = True

    def changed(self) -> bool | None:
        if self._damage_ext is None:
            return None
        try:
            self._drain()
        except Exception as exc:  # noqa: BLE001 - a dead connection: stop hinting
            log.warning("XDamage connection failed, change hints disabled: %s", exc)
            self._close_damage()
            return None
        return self._dirty

    # -- capture ----------------------------------------------------------

    def grab(self) -> Image:
        if self._damage_ext is not None:
            try:
                self._drain()
                # Subtract before grabbing: drawing during the grab re-arms the flag.
                self._damage_ext.Subtract(self._damage_id, 0, 0)
                self._conn.flush()
            except Exception as exc:  # noqa: BLE001
                log.warning("XDamage connection failed, change hints disabled: %s", exc)
                self._close_damage()
            self._dirty = False
        if self._layout_stale:
            self._layout_stale = False
            self._reload()
        return super().grab()

    def monitors(self) -> list[Monitor]:
        self._layout_stale = False
        return super().monitors()

    def cursor(self) -> CursorImage | None:
        """The pointer through XFixes GetCursorImage (one round trip, the
        image included; cheap at pointer sizes). XFixes hands out
        premultiplied ARGB; browsers want straight RGBA."""
        return self.cursor_request()()

    def cursor_request(self) -> Callable[[], CursorImage | None]:
        """Send GetCursorImage now; the reply is read when the result is
        called. Under a busy X server the round trip costs milliseconds, and
        the agent grabs and encodes while it runs."""
        if self._conn is None:
            return _no_cursor
        try:
            import xcffib.xfixes

            cookie = self._conn(xcffib.xfixes.key).GetCursorImage()
            self._conn.flush()
        except Exception as exc:  # noqa: BLE001
            log.info("cursor unavailable: %s", exc)
            return _no_cursor
        return lambda: self._cursor_reply(cookie)

    def _cursor_reply(self, cookie: Any) -> CursorImage | None:
        try:
            import numpy as np

            reply = cookie.reply()
        except Exception as exc:  # noqa: BLE001
            log.info("cursor unavailable: %s", exc)
            return None
        serial = int(reply.cursor_serial)
        cached = self._cursor_rgba
        if cached is not None and cached[0] == serial:
            # The same shape as last time: only the position is new (the
            # conversion below is most of the cost on the Python side).
            return CursorImage(int(reply.x), int(reply.y), cached[1], cached[2], int(reply.xhot), int(reply.yhot), serial, cached[3])
        w, h = int(reply.width), int(reply.height)
        argb = np.asarray(reply.cursor_image, dtype=np.uint32)[: w * h]
        a = (argb >> 24).astype(np.uint16)
        safe = np.maximum(a, 1)
        rgba = np.empty((argb.size, 4), dtype=np.uint8)
        for i, shift in enumerate((16, 8, 0)):
            channel = ((argb >> shift) & 0xFF).astype(np.uint16)
            rgba[:, i] = np.minimum(channel * 255 // safe, 255).astype(np.uint8)
        rgba[:, 3] = a.astype(np.uint8)
        data = rgba.tobytes()
        self._cursor_rgba = (serial, w, h, data)
        return CursorImage(int(reply.x), int(reply.y), w, h, int(reply.xhot), int(reply.yhot), serial, data)

    def close(self) -> None:
        if self._damage_ext is not None:
            try:
                self._damage_ext.Destroy(self._damage_id)
                self._conn.flush()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        self._close_damage()
        super().close()

"""Local input on X11: the visitor's own mouse and keyboard, told apart
from :class:`~desklink.agent.inputs.x11.X11Injector`'s by state.

Why state and not devices: XTest events from any client (a test's xdotool,
an accessibility tool, a second remote-control program) all come from the
same "Virtual core XTEST" devices, and XInput2 raw events would need a
second connection and event stream. Instead each :meth:`X11LocalInput.poll`
asks, in one pipelined round trip on the injector's own connection (so
every injected event is already processed): is the pointer where the
injector left it, and is any key or button down that the injector does not
hold?

Limits: a local key pressed and released between two polls, or a local
motion followed by an injected one before the poll, goes unseen; a pointer
confined by the server (multi-monitor dead zones) can look like local
motion once; a key stuck down by another program counts as local input for
as long as it stays down.
"""

from __future__ import annotations

from typing import Final

from desklink.agent.inputs.base import LocalInput
from desklink.agent.inputs.x11 import X11Injector

__all__ = ["X11LocalInput"]

_BUTTON_MASKS: Final = {b: 1 << (7 + b) for b in range(1, 6)}  # Button1Mask 0x100 .. Button5Mask


class X11LocalInput(LocalInput):
    """The visitor's own input on the injector's display, told apart from
    the injector's by state (see the module docstring)."""

    def __init__(self, injector: X11Injector) -> None:
        self._inj = injector
        with injector._op():
            pointer = injector._conn.core.QueryPointer(injector._root).reply()
            self._last = (int(pointer.root_x), int(pointer.root_y))
            self._serial = injector._pointer_serial

    def poll(self) -> bool:
        inj = self._inj
        with inj._op():
            conn = inj._conn
            moved_by_us = inj._pointer_serial != self._serial
            geometry = conn.core.GetGeometry(inj._root) if moved_by_us else None
            pointer_cookie, keymap_cookie = conn.core.QueryPointer(inj._root), conn.core.QueryKeymap()
            pointer, keys = pointer_cookie.reply(), keymap_cookie.reply()
            at = (int(pointer.root_x), int(pointer.root_y))
            if geometry is not None:
                g = geometry.reply()
                inj._size = (int(g.width), int(g.height))
            expected = inj._pointer_at if moved_by_us else self._last
            if moved_by_us and expected is not None:
                w, h = inj._size
                expected = (min(expected[0], w - 1), min(expected[1], h - 1))
            self._last, self._serial = at, inj._pointer_serial
            if inj._scratch.lent and inj._scratch.restore_idle(set(inj._keys.values())):
                conn.flush()
            if at != expected:
                return True
            mask = int(pointer.mask)
            if any(mask & bit for b, bit in _BUTTON_MASKS.items() if b not in inj._buttons):
                return True
            ours = set(inj._keys.values())
            return any(kc not in ours for kc in _down(bytes(keys.keys)))

    def hotkey(self) -> bool:
        inj = self._inj
        with inj._op():
            down = _down(bytes(inj._conn.core.QueryKeymap().reply().keys))
            ours = set(inj._keys.values())
            return any(kc in down and kc not in ours for kc in inj._keymap.pause_keycodes)


def _down(bitmap: bytes) -> set[int]:
    """Keycodes set in a QueryKeymap bit vector."""
    return {i * 8 + bit for i, byte in enumerate(bitmap) if byte for bit in range(8) if byte >> bit & 1}

"""X11 input injection: XTest over xcffib.

Why XTest through xcffib: a ``FakeInput`` request is 36 bytes queued in
libxcb and one flush per event, so an event costs a few tens of
microseconds (python-xlib: 0.24 ms; running xdotool: 2.8 ms). The server
processes XTest events synchronously while handling the request, so any
later request on the same connection (``QueryPointer``, ``QueryKeymap``)
already sees their effect: the local-input watcher (:mod:`.x11_local`)
shares the injector's connection and lock for exactly that reason.

Keys are injected by meaning (see :mod:`desklink.agent.inputs.keysyms`):
the keysym is looked up in the visitor's core keyboard mapping and pressed
with the Shift/AltGr it needs, Caps Lock taken into account; a keysym the
layout lacks goes through a spare keycode (:mod:`._x11_keymap`). The
mapping is re-read lazily when the server announces a change we did not
make (``MappingNotify``), e.g. after ``setxkbmap``.

The injector remembers where it left the pointer and which keys and buttons
it holds; :mod:`.x11_local` compares the server's state with that to tell
the visitor's own input from ours.

Limits: only the first keyboard group is searched (a visitor on their
second layout group gets spare keycodes for every character); dead keys are
not synthesised (the rep's browser composes and sends the result); on
Windows-hosted viewers AltGr arrives as Control+Alt and stays so.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from desklink.agent.inputs._x11_keymap import SCRATCH_REUSE_S, Keymap, Place, ScratchKeys
from desklink.errors import InputError
from desklink.agent.inputs.base import BUTTONS, Held, Injector
from desklink.agent.inputs.keysyms import BACKSPACE, RETURN, TAB, char_to_keysym, keysym_for

__all__ = ["X11Injector"]

log = logging.getLogger(__name__)

_KEY_PRESS, _KEY_RELEASE, _BUTTON_PRESS, _BUTTON_RELEASE, _MOTION = 2, 3, 4, 5, 6
_LOCK_MASK: Final = 1 << 1
#: Events drained per call at most, so a flood can never keep us busy.
MAX_EVENTS_PER_DRAIN: Final = 256
_CONTROL_CHARS: Final = {"\n": RETURN, "\t": TAB, "\b": BACKSPACE}


class X11Injector(Injector):
    """Inject input on one X display through XTest. Thread-safe: every call
    holds the injector's lock."""

    def __init__(self, display: str | None = None) -> None:
        super().__init__()
        import xcffib
        import xcffib.xproto
        import xcffib.xtest  # registers the extension before connecting

        conn: Any = None
        try:
            conn = xcffib.connect(display=display)
            if not conn.core.QueryExtension(len(b"XTEST"), b"XTEST").reply().present:
                raise InputError(f"the X server on {display or '$DISPLAY'} has no XTEST extension")
            self._xtest: Any = conn(xcffib.xtest.key)
            self._xtest.GetVersion(2, 2).reply()
            keymap = Keymap.fetch(conn)
        except (xcffib.XcffibException, InputError) as exc:
            if conn is not None:
                conn.disconnect()
            if isinstance(exc, InputError):
                raise
            raise InputError(f"cannot open X display {display or '$DISPLAY'}: {exc}") from exc
        self._conn = conn
        #: The display this injector is on, as named when opened.
        self.display = display or os.environ.get("DISPLAY", "")
        self._errors: tuple[type[BaseException], ...] = (xcffib.XcffibException,)
        self._dead: type[BaseException] = xcffib.ConnectionException
        self._mapping_notify: type[Any] = xcffib.xproto.MappingNotifyEvent
        screen = conn.get_setup().roots[conn.pref_screen]
        self._root: int = screen.root
        self._size = (int(screen.width_in_pixels), int(screen.height_in_pixels))
        self._lock = threading.RLock()
        spare = keymap.empty_keycodes()
        self._scratch = ScratchKeys(conn, spare, keymap.per, {kc: keymap.row(kc) for kc in spare})
        self._keymap = keymap
        self._stale = False
        self._keys: dict[str, int] = {}  # key id -> keycode, in pressing order
        self._buttons: dict[int, None] = {}  # held buttons, in pressing order
        self._pointer_at: tuple[int, int] | None = None  # where we last put it (root coordinates)
        self._pointer_serial = 0
        self._closed = False

    # -- pointer ------------------------------------------------------------

    def move(self, x: int, y: int) -> None:
        with self._op():
            self._motion(x, y)
            self._conn.flush()

    def button(self, b: int, down: bool, x: int, y: int) -> None:
        if b not in BUTTONS:
            raise ValueError(f"button {b} is not 1, 2 or 3")
        with self._op():
            self._motion(x, y)
            if down and b not in self._buttons:
                self._fake(_BUTTON_PRESS, b)
                self._buttons[b] = None
            elif not down and b in self._buttons:
                self._fake(_BUTTON_RELEASE, b)
                del self._buttons[b]
            self._conn.flush()

    def wheel(self, dx: int, dy: int, x: int, y: int) -> None:
        with self._op():
            self._motion(x, y)
            for count, button in ((dy, 5 if dy > 0 else 4), (dx, 7 if dx > 0 else 6)):
                for _ in range(abs(count)):
                    self._fake(_BUTTON_PRESS, button)
                    self._fake(_BUTTON_RELEASE, button)
            self._conn.flush()

    # -- keyboard -----------------------------------------------------------

    def key(self, key: str, code: str, down: bool) -> None:
        ident = code or key
        with self._op():
            self._begin_keys()
            if not down:
                self._release_key(ident, key if not code else None)
            else:
                self._press_key(ident, key, code)
            self._conn.flush()

    def text(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        with self._op():
            self._begin_keys()
            mask = self._modifier_mask()
            for ch in text:
                named = _CONTROL_CHARS.get(ch)
                if named is not None:
                    place = self._keymap.find(named)
                    if place is not None:
                        self._tap(place.keycode)
                elif ord(ch) >= 0x20 and ch != "\x7f":
                    self._type_char(ch, mask)
            self._conn.flush()

    def release_all(self) -> None:
        if self._closed:
            return
        with self._op():
            for kc in dict.fromkeys(reversed(self._keys.values())):
                self._fake(_KEY_RELEASE, kc)
                self._scratch.touch(kc)
            for b in self._buttons:
                self._fake(_BUTTON_RELEASE, b)
            self._keys.clear()
            self._buttons.clear()
            self._conn.flush()

    @property
    def pressed(self) -> Held:
        with self._lock:
            return Held(frozenset(self._keys), frozenset(self._buttons))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self.release_all()
                if self._scratch.lent:
                    self._conn.flush()
                    time.sleep(SCRATCH_REUSE_S)  # let clients read the last taps first
                    self._scratch.restore_idle(set(), idle_s=0.0)
                # A round trip before disconnecting: the server may drop what
                # it has not processed yet when the connection goes away.
                self._conn.core.GetInputFocus().reply()
            except self._errors + (InputError,) as exc:
                log.info("X connection failed while closing the injector: %s", exc)
            finally:
                self._closed = True
                self._conn.disconnect()

    # -- internals ----------------------------------------------------------

    @contextmanager
    def _op(self) -> Iterator[None]:
        """Hold the lock for one operation; a closed injector or a dead
        connection is an :class:`InputError`. The local-input watcher uses it too."""
        with self._lock:
            if self._closed:
                raise InputError("the injector is closed")
            try:
                yield
            except self._dead as exc:
                raise InputError(f"the X connection to {self.display} failed: {exc}") from exc

    def _fake(self, kind: int, detail: int, x: int = 0, y: int = 0, root: int = 0) -> None:
        self._xtest.FakeInput(kind, detail, 0, root, x, y, 0)

    def _motion(self, x: int, y: int) -> None:
        rx, ry = x + self._left, y + self._top
        self._fake(_MOTION, 0, rx, ry, self._root)
        w, h = self._size
        self._pointer_at = (min(max(rx, 0), w - 1), min(max(ry, 0), h - 1))
        self._pointer_serial += 1

    def _begin_keys(self) -> None:
        """Before any key work: notice mapping changes, give idle scratch
        keycodes back, re-read the mapping if someone else changed it."""
        self._drain()
        if self._scratch.restore_idle(set(self._keys.values())):
            self._conn.flush()
        if self._stale:
            self._stale = False
            self._keymap = Keymap.fetch(self._conn, reserved=self._scratch.keycodes)
            log.info("keyboard mapping changed: re-read")

    def _drain(self) -> None:
        for _ in range(MAX_EVENTS_PER_DRAIN):
            try:
                event = self._conn.poll_for_event()
            except self._dead as exc:
                raise InputError(f"the X connection failed: {exc}") from exc
            except self._errors as exc:  # an X error for an earlier unchecked request
                log.warning("X error from an input request: %r", exc)
                continue
            if event is None:
                return
            if isinstance(event, self._mapping_notify):
                ours = event.request == 1 and self._scratch.owns(event.first_keycode, event.count)
                if event.request in (0, 1) and not ours:
                    self._stale = True

    def _modifier_mask(self) -> int:
        """The server's modifier and button mask now (Lock, group, ...)."""
        return int(self._conn.core.QueryPointer(self._root).reply().mask)

    def _press_key(self, ident: str, key: str, code: str) -> None:
        resolved = keysym_for(key, code)
        if resolved is None:
            if len(key) > 1 and not key.isascii() and key.isprintable():
                self.text(key)  # a multi-character key value: type it, nothing stays held
            return
        keysym, ch = resolved
        mask = self._modifier_mask() if ch is not None else 0
        place = self._keymap.find(keysym) if ch is None or not _group(mask) else None
        if place is not None:
            self._forget(ident, place.keycode)
            if ch is None:
                self._fake(_KEY_PRESS, place.keycode)  # named keys: the rep's modifiers apply as they are
            else:
                self._press_placed(place, mask)
            self._keys[ident] = place.keycode
            return
        kc = self._scratch.lend(keysym, set(self._keys.values()))
        if kc is None:
            log.warning("no spare keycode for keysym %#x: key %r dropped", keysym, key)
            return
        self._forget(ident, kc)
        self._fake(_KEY_PRESS, kc)
        self._keys[ident] = kc

    def _forget(self, ident: str, keycode: int) -> None:
        """An auto-repeat press of ``ident`` that now resolves to another
        keycode releases the old one first."""
        previous = self._keys.pop(ident, None)
        if previous is not None and previous != keycode and previous not in self._keys.values():
            self._fake(_KEY_RELEASE, previous)

    def _release_key(self, ident: str, key: str | None) -> None:
        keycode = self._keys.pop(ident, None)
        if keycode is None and key is not None:  # no code: the key may have changed case meanwhile
            for other in (key.lower(), key.upper()):
                keycode = self._keys.pop(other, None)
                if keycode is not None:
                    break
        if keycode is None:
            return  # not held by us: ignore
        if keycode not in self._keys.values():
            self._fake(_KEY_RELEASE, keycode)
            self._scratch.touch(keycode)

    def _type_char(self, ch: str, mask: int) -> None:
        keysym = char_to_keysym(ch)
        place = self._keymap.find(keysym) if not _group(mask) else None
        if place is not None:
            self._press_placed(place, mask)
            self._fake(_KEY_RELEASE, place.keycode)
            return
        kc = self._scratch.lend(keysym, set(self._keys.values()))
        if kc is None:
            log.warning("no spare keycode for %r (U+%04X): dropped", ch, ord(ch))
            return
        self._tap(kc)

    def _tap(self, keycode: int) -> None:
        self._fake(_KEY_PRESS, keycode)
        self._fake(_KEY_RELEASE, keycode)

    def _press_placed(self, place: Place, mask: int) -> None:
        """Press ``place.keycode`` with exactly the Shift/AltGr it needs,
        then put the modifiers we hold back as they were."""
        keymap = self._keymap
        want_shift = place.shift != (place.cased and bool(mask & _LOCK_MASK))
        undo: list[tuple[int, int]] = []
        for want, keycode, modifier_row in (
            (want_shift, keymap.shift_keycode, keymap.modifiers[0]),
            (place.altgr, keymap.altgr_keycode, _row_of(keymap, keymap.altgr_keycode)),
        ):
            held = [kc for kc in dict.fromkeys(self._keys.values()) if kc in modifier_row]
            if want and not held and keycode is not None:
                self._fake(_KEY_PRESS, keycode)
                undo.append((_KEY_RELEASE, keycode))
            elif not want and held:
                for kc in held:
                    self._fake(_KEY_RELEASE, kc)
                    undo.append((_KEY_PRESS, kc))
        self._fake(_KEY_PRESS, place.keycode)
        for kind, kc in reversed(undo):
            self._fake(kind, kc)


def _group(mask: int) -> int:
    """The XKB group from a core state mask (bits 13-14)."""
    return (mask >> 13) & 3


def _row_of(keymap: Keymap, keycode: int | None) -> list[int]:
    """The modifier-map row holding ``keycode`` (for AltGr: usually Mod5)."""
    if keycode is None:
        return []
    for row in keymap.modifiers:
        if keycode in row:
            return row
    return [keycode]

"""Helpers for the input tests: a real xterm running bash, a Tk window that
records its pointer events, a raw X window that records button numbers, and
"the rep's browser" typing on a US layout through :meth:`Injector.key`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import xcffib
import xcffib.xproto

from desklink.agent.inputs import Injector
from desklink.agent.inputs.keysyms import US_CODE_CHARS
from desklink.testing import poll_until
from desklink.testing_x import XDisplay

T = TypeVar("T")

#: Shifted characters of a US layout -> the unshifted character on that key.
_US_SHIFTED = dict(zip('!@#$%^&*()_+{}|:"~<>?', "1234567890-=[]\\;'`,./", strict=True))
_US_CODE_OF = {ch: code for code, ch in US_CODE_CHARS.items() if not code.startswith("Numpad")}


def wait_for(check: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; that value."""
    return poll_until(check, timeout, what)


def browser_type(inj: Injector, text: str) -> None:
    """Send ``text`` as the key events a browser on a US layout produces:
    ``key`` is the character, ``code`` the key, Shift pressed around
    shifted characters; ``\\n`` is the Enter key."""
    for ch in text:
        if ch == "\n":
            inj.key("Enter", "Enter", True)
            inj.key("Enter", "Enter", False)
            continue
        base = _US_SHIFTED.get(ch, ch.lower())
        shift = ch in _US_SHIFTED or ch.isupper()
        code = _US_CODE_OF[base]
        if shift:
            inj.key("Shift", "ShiftLeft", True)
        inj.key(ch, code, True)
        inj.key(ch, code, False)
        if shift:
            inj.key("Shift", "ShiftLeft", False)


def start_xterm(display: XDisplay, title: str) -> tuple[int, int, int, int]:
    """A UTF-8 xterm running a bare bash at the top-left corner; returns its
    geometry. Without a window manager the keyboard focus follows the
    pointer, so callers move the pointer into it before typing."""
    display.spawn(
        "env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "xterm", "-u8", "-fa", "DejaVu Sans Mono", "-fs", "10",
        "-geometry", "80x20+0+0", "-T", title, "-e", "bash", "--norc", "--noprofile",
    )  # fmt: skip
    return display.window_geometry(display.wait_window(title))


def read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None


TK_RECORDER = """
import sys, tkinter as tk
out = open(sys.argv[1], "w", buffering=1)
root = tk.Tk()
root.title(sys.argv[2])
root.geometry("400x300+0+0")
def record(kind):
    return lambda e: out.write(f"{kind} {e.num} {e.x_root} {e.y_root} {e.state}\\n")
root.bind("<ButtonPress>", record("press"))
root.bind("<ButtonRelease>", record("release"))
root.bind("<B1-Motion>", record("motion"))
root.bind("<Map>", lambda e: out.write("mapped\\n"))
root.mainloop()
"""


def start_tk_recorder(display: XDisplay, tmp: Path) -> Path:
    """A 400x300 Tk window at the top-left corner that writes
    ``kind num x_root y_root state`` per pointer event to the returned file."""
    script, out = tmp / "recorder.py", tmp / "events.txt"
    script.write_text(TK_RECORDER)
    display.spawn(sys.executable, str(script), str(out), "tk-recorder")
    display.wait_window("tk-recorder")
    wait_for(lambda: "mapped" in (read_text(out) or ""), what="the Tk window")
    return out


def tk_events(out: Path) -> list[tuple[str, str, int, int, int]]:
    rows = []
    for line in (read_text(out) or "").splitlines():
        parts = line.split()
        if len(parts) == 5:
            rows.append((parts[0], parts[1], int(parts[2]), int(parts[3]), int(parts[4])))
    return rows


class RawWindow:
    """A plain X window that records raw button numbers (no toolkit
    translating buttons 6/7 into Shift+4/5 as Tk 8.6 does)."""

    def __init__(self, display: XDisplay, x: int, y: int, w: int, h: int) -> None:
        conn: Any = xcffib.connect(display=display.name)  # type: ignore[no-untyped-call]
        self.conn = conn
        screen = conn.get_setup().roots[conn.pref_screen]
        self.wid = conn.generate_id()
        mask = xcffib.xproto.EventMask
        conn.core.CreateWindow(
            screen.root_depth, self.wid, screen.root, x, y, w, h, 0,
            xcffib.xproto.WindowClass.InputOutput, screen.root_visual,
            xcffib.xproto.CW.BackPixel | xcffib.xproto.CW.EventMask,
            [screen.white_pixel, mask.ButtonPress | mask.ButtonRelease | mask.Exposure],
        )  # fmt: skip
        conn.core.MapWindow(self.wid)
        conn.flush()
        wait_for(lambda: any(isinstance(e, xcffib.xproto.ExposeEvent) for e in self._events()), what="exposure")

    def _events(self) -> Iterator[Any]:
        while (event := self.conn.poll_for_event()) is not None:
            yield event

    def buttons(self, count: int, timeout: float = 5.0) -> list[tuple[str, int]]:
        """The next ``count`` button events as ``("press"|"release", button)``."""
        got: list[tuple[str, int]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            for e in self._events():
                if isinstance(e, xcffib.xproto.ButtonPressEvent):
                    got.append(("press", e.detail))
                elif isinstance(e, xcffib.xproto.ButtonReleaseEvent):
                    got.append(("release", e.detail))
            time.sleep(0.02)
        return got

    def close(self) -> None:
        self.conn.disconnect()


def process_running(needle: str) -> bool:
    """Is any process's command line exactly ``needle`` (args joined by spaces)?"""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") == needle:
            return True
    return False


class Probe:
    """An independent X connection to look at the server's input state."""

    def __init__(self, display: XDisplay) -> None:
        self.conn: Any = xcffib.connect(display=display.name)  # type: ignore[no-untyped-call]
        self.root = self.conn.get_setup().roots[self.conn.pref_screen].root

    def keys_down(self) -> set[int]:
        bitmap = bytes(self.conn.core.QueryKeymap().reply().keys)
        return {i * 8 + b for i, byte in enumerate(bitmap) for b in range(8) if byte >> b & 1}

    def pointer(self) -> tuple[int, int, int]:
        reply = self.conn.core.QueryPointer(self.root).reply()
        return int(reply.root_x), int(reply.root_y), int(reply.mask)

    def keyboard_mapping(self) -> list[int]:
        setup = self.conn.get_setup()
        reply = self.conn.core.GetKeyboardMapping(setup.min_keycode, setup.max_keycode - setup.min_keycode + 1).reply()
        return list(reply.keysyms)

    def close(self) -> None:
        self.conn.disconnect()

"""bench/screen.py's input: what a workload's user does (keys, pointer
moves), played at a steady rate from one of two places:

* ``xdotool``: the visitor's own keyboard and mouse, by the ``INPUT`` driver
  (``_screen_drivers``) running xdotool on the display;
* ``viewer``: the rep's viewer, through the product being measured: for
  DeskLink ``input`` messages through the relay (the bench's viewer has
  control granted), for x11vnc RFB ``KeyEvent`` / ``PointerEvent`` messages
  on the RFB client's socket.

A script is a list of steps, each a list of events, played at ``rate``
steps a second against a start time (a late step does not shift the ones
after it), from the first step again when it runs out. Events:
``("key", name)`` with a DOM ``KeyboardEvent.key`` (``ArrowDown``,
``PageDown``, ``Enter`` or one character): pressed and released;
``("move", x, y)``: the pointer to (x, y).
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Event = tuple[Any, ...]
Step = list[Event]

#: DOM key names used by the scripts -> (xdotool key name, X keysym).
NAMED_KEYS = {"ArrowDown": ("Down", 0xFF54), "PageDown": ("Next", 0xFF56), "Enter": ("Return", 0xFF0D)}


@dataclass
class Script:
    steps: list[Step]
    rate: float  # steps per second

    def save(self, path: Path) -> Path:
        """For the xdotool driver: the steps as xdotool argument lists."""
        path.write_text(json.dumps({"rate": self.rate, "steps": [[xdotool_args(e) for e in s] for s in self.steps]}))
        return path


def xdotool_args(e: Event) -> list[str]:
    if e[0] == "key":
        name = e[1]
        if name in NAMED_KEYS:
            return ["key", NAMED_KEYS[name][0]]
        return ["type", "--delay", "0", "--", name]
    if e[0] == "move":
        return ["mousemove", str(e[1]), str(e[2])]
    raise ValueError(f"unknown event {e!r}")


def desklink_events(e: Event) -> list[dict[str, Any]]:
    """The viewer's ``input`` events for one script event (docs/protocol.md)."""
    if e[0] == "key":
        return [{"k": "key", "key": e[1], "code": "", "down": True}, {"k": "key", "key": e[1], "code": "", "down": False}]
    if e[0] == "move":
        return [{"k": "move", "x": e[1], "y": e[2]}]
    raise ValueError(f"unknown event {e!r}")


def rfb_messages(e: Event) -> bytes:
    """RFB ``KeyEvent`` (press, release) or ``PointerEvent`` (RFC 6143 7.5.4-5)."""
    if e[0] == "key":
        name = e[1]
        keysym = NAMED_KEYS[name][1] if name in NAMED_KEYS else ord(name)
        return struct.pack(">BBxxI", 4, 1, keysym) + struct.pack(">BBxxI", 4, 0, keysym)
    if e[0] == "move":
        return struct.pack(">BBHH", 5, 0, e[1], e[2])
    raise ValueError(f"unknown event {e!r}")


async def play_desklink(script: Script, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """Play ``script`` as the rep's viewer until cancelled: one ``input``
    message per step."""
    t0 = time.monotonic()
    i = 0
    while True:
        events = [d for e in script.steps[i % len(script.steps)] for d in desklink_events(e)]
        await send({"t": "input", "events": events})
        i += 1
        await asyncio.sleep(max(0.0, t0 + i / script.rate - time.monotonic()))


class RFBPlayer:
    """Play ``script`` on an RFB client's socket (``send``: bytes) from a
    thread, until :meth:`stop`."""

    def __init__(self, script: Script, send: Callable[[bytes], None]) -> None:
        self.script = script
        self.send = send
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rfb-input", daemon=True)

    def start(self) -> RFBPlayer:
        self._thread.start()
        return self

    def _run(self) -> None:
        t0 = time.monotonic()
        i = 0
        try:
            while not self._stop.is_set():
                self.send(b"".join(rfb_messages(e) for e in self.script.steps[i % len(self.script.steps)]))
                i += 1
                self._stop.wait(max(0.0, t0 + i / self.script.rate - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    error: Exception | None = None

    def stop(self) -> None:
        """Stop playing; raises if the player failed (the input stopped early,
        so the figures would not be the workload's)."""
        self._stop.set()
        self._thread.join(5)
        if self.error is not None:
            raise RuntimeError(f"RFB input failed: {self.error!r}") from self.error

"""bench/screen.py's viewer: the reference :class:`~desklink.testing.ViewerClient`
unchanged, reading through a tap that time-stamps and parses every message
(``desklink.protocol.screen.decode``, no pixels decoded) before the viewer
decodes, draws and acks it as the browser does.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from desklink.agent.encode.palette import STREAMED, Form
from desklink.protocol import screen
from desklink.testing import ViewerClient

#: Largest message the bench's viewer reads (ViewerClient.connect's
#: websockets ``max_size``); the bench measures, the server enforces.
VIEWER_MAX_MESSAGE = 2**23


@dataclass
class Arrival:
    """One frame as the viewer took it off its socket."""

    at: float  # time.monotonic() when the viewer got the message off the socket
    nbytes: int  # WebSocket payload + frame header
    seq: int
    capture_us: int
    flags: int
    rects: dict[str, int]
    rect_bytes: dict[str, int]
    drawn: float = float("nan")  # when the viewer asked for the next message: decoded, painted, acked


def ws_header(n: int) -> int:
    """Server-to-client WebSocket frame header size (unmasked) for ``n`` bytes."""
    return 2 if n < 126 else 4 if n < 65536 else 10


_OTHER_BINARY = {screen.KIND_CURSOR: "cursor", screen.KIND_POINTER: "pointer"}


def rect_name(r: screen.Rect) -> str:
    """The rectangle's encoding, with PALETTE's form (PALETTE/CELLS ...)."""
    if r.enc is not screen.Enc.PALETTE or not r.payload:
        return r.enc.name
    form = r.payload[0] & ~STREAMED
    return f"PALETTE/{Form(form).name}" if form in Form._value2member_map_ else f"PALETTE/{form}"


class _Tap:
    """Wraps the viewer's WebSocket: time-stamps every message as the
    viewer's reading loop takes it, and notes when the loop comes back for
    the next one (the previous one is then decoded, drawn and acked).
    Everything else is the real socket.

    Frames are parsed with the protocol's own :func:`desklink.protocol.screen.decode`
    (every encoding, PNG included, every bound checked), so the counts are
    those of the frames the viewer draws. Parsing copies the rectangles'
    payloads but decodes no pixels: microseconds per frame, next to the
    JPEG/PNG decoding the viewer then does on its Canvas. The server sends
    viewers whole messages (only the agent's socket carries frames in parts),
    so one WebSocket message is one screen message here."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.log: list[Arrival] = []
        self.wire: list[tuple[float, int, str]] = []  # (arrival, bytes incl. WebSocket header, kind)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        async for raw in self._ws:
            at = time.monotonic()
            n = len(raw) if isinstance(raw, bytes) else len(raw.encode())
            n += ws_header(n)
            frame: Arrival | None = None
            if isinstance(raw, bytes):
                msg = screen.decode(raw[1:], VIEWER_MAX_MESSAGE)
                if isinstance(msg, screen.Frame):
                    rects: dict[str, int] = {}
                    rbytes: dict[str, int] = {}
                    for r in msg.rects:
                        name = rect_name(r)
                        rects[name] = rects.get(name, 0) + 1
                        rbytes[name] = rbytes.get(name, 0) + len(r.payload)
                    frame = Arrival(at, n, msg.seq, msg.capture_us, msg.flags, rects, rbytes)
                    self.log.append(frame)
                    self.wire.append((at, n, "frame"))
                else:
                    self.wire.append((at, n, _OTHER_BINARY.get(raw[1], "binary")))
            else:
                try:
                    kind = str(json.loads(raw).get("t"))
                except ValueError:
                    kind = "json"
                self.wire.append((at, n, kind))
            yield raw
            if frame is not None:
                frame.drawn = time.monotonic()


class BenchViewer(ViewerClient):
    """The reference :class:`ViewerClient` unchanged (it decodes every frame
    onto a Canvas and acks it, as the browser does), reading through a
    :class:`_Tap` that records each message's arrival, size, the frame
    header's ``capture_us`` and the rectangles."""

    def __init__(self, ws: Any) -> None:
        self.tap = _Tap(ws)
        super().__init__(self.tap)

    @property
    def log(self) -> list[Arrival]:
        return self.tap.log

    @property
    def wire(self) -> list[tuple[float, int, str]]:
        return self.tap.wire

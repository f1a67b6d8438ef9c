"""A minimal RFB 3.8 (VNC) client for the screen benchmark: it counts what a
VNC server sends, it does not draw it.

What it does, as a real viewer would: protocol version 3.8, security type
None, shared session, ``SetPixelFormat`` 32 bpp true colour (depth 24,
little-endian, 8 bits per channel), ``SetEncodings [ZRLE(16), CopyRect(1)]``
(Raw is always allowed), one non-incremental ``FramebufferUpdateRequest`` for
the whole screen and then incremental ones in a loop with exactly one
outstanding: the next request goes out when the previous update has been
read completely.

What it does not do: decode pixels. Every rectangle's payload is skipped by
its length (ZRLE: ``u32 length`` + zlib data; Tight: a compact length,
known sizes for the small cases; CopyRect: 4 bytes; Raw: ``w * h * 4``), so parsing costs next to nothing on the measuring side; a
real viewer would also inflate and paint. Bytes are counted as read from the
TCP socket (every server message, headers included).

RFB reference: RFC 6143 (https://www.rfc-editor.org/rfc/rfc6143).
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

ENC_RAW = 0
ENC_COPYRECT = 1
ENC_ZRLE = 16
ENC_TIGHT = 7
ENC_LASTRECT = -224  # pseudo-encodings we never ask for, tolerated anyway
ENC_DESKTOPSIZE = -223
ENC_CURSOR = -239

#: ``SetPixelFormat``: bpp 32, depth 24, little-endian, true colour,
#: r/g/b max 255, shifts 16/8/0 (so pixels are B, G, R, X in memory).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)


class RFBError(Exception):
    pass


@dataclass
class Update:
    """One ``FramebufferUpdate``: when its header arrived and when it was
    read completely (``time.monotonic()``), its size on the wire, and the
    rectangles by encoding."""

    started: float
    done: float
    nbytes: int
    rects: dict[int, int] = field(default_factory=dict)
    pixels: int = 0  # area covered by the rectangles (CopyRect included)


class RFBClient:
    """Connect with :meth:`connect`, then :meth:`start` a reader thread that
    requests and reads updates until :meth:`stop`. ``updates`` collects every
    update; ``bytes_total`` every byte read from the socket."""

    def __init__(self, host: str, port: int, *, encodings: tuple[int, ...] = (ENC_ZRLE, ENC_COPYRECT)) -> None:
        self.host, self.port = host, port
        self.encodings = encodings
        self.sock: socket.socket | None = None
        self._buf = bytearray()
        self.width = self.height = 0
        self.name = ""
        self.bytes_total = 0
        self.updates: list[Update] = []
        self.other_messages = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- socket --------------------------------------------------------------
    def _recv_exact(self, n: int) -> bytes:
        assert self.sock is not None
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise RFBError("server closed the connection")
            self.bytes_total += len(chunk)
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _skip(self, n: int) -> None:
        """Discard ``n`` bytes without keeping them (large payloads)."""
        assert self.sock is not None
        take = min(n, len(self._buf))
        del self._buf[:take]
        n -= take
        while n > 0:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise RFBError("server closed the connection")
            self.bytes_total += len(chunk)
            n -= len(chunk)

    def _send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    # -- handshake -----------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> RFBClient:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        version = self._recv_exact(12)
        if not version.startswith(b"RFB 003."):
            raise RFBError(f"not an RFB server: {version!r}")
        self._send(b"RFB 003.008\n")
        (n,) = self._recv_exact(1)
        if n == 0:
            (length,) = struct.unpack(">I", self._recv_exact(4))
            raise RFBError("server refused: " + self._recv_exact(length).decode(errors="replace"))
        types = self._recv_exact(n)
        if 1 not in types:
            raise RFBError(f"server offers no security type None (offers {list(types)})")
        self._send(b"\x01")
        (result,) = struct.unpack(">I", self._recv_exact(4))
        if result != 0:
            (length,) = struct.unpack(">I", self._recv_exact(4))
            raise RFBError("security failed: " + self._recv_exact(length).decode(errors="replace"))
        self._send(b"\x01")  # ClientInit: shared
        self.width, self.height = struct.unpack(">HH", self._recv_exact(4))
        self._recv_exact(16)  # the server's pixel format; we set ours
        (length,) = struct.unpack(">I", self._recv_exact(4))
        self.name = self._recv_exact(length).decode(errors="replace")
        self._send(b"\x00\x00\x00\x00" + PIXEL_FORMAT)
        self._send(struct.pack(">BxH", 2, len(self.encodings)) + b"".join(struct.pack(">i", e) for e in self.encodings))
        return self

    def request(self, incremental: bool) -> None:
        self._send(struct.pack(">BBHHHH", 3, int(incremental), 0, 0, self.width, self.height))

    # -- messages ------------------------------------------------------------
    def read_message(self) -> Update | None:
        """Read one server message; a ``FramebufferUpdate`` is returned (and
        recorded), anything else (bell, colour map, cut text) is skipped."""
        before_bytes = self.bytes_total - len(self._buf)
        (kind,) = self._recv_exact(1)
        started = time.monotonic()
        if kind == 0:
            _, count = struct.unpack(">BH", self._recv_exact(3))
            update = Update(started, 0.0, 0)
            i = 0
            while i < count:
                x, y, w, h, enc = struct.unpack(">HHHHi", self._recv_exact(12))
                i += 1
                if enc == ENC_LASTRECT:
                    break
                update.rects[enc] = update.rects.get(enc, 0) + 1
                update.pixels += w * h
                if enc == ENC_ZRLE:
                    (length,) = struct.unpack(">I", self._recv_exact(4))
                    self._skip(length)
                elif enc == ENC_TIGHT:
                    self._skip_tight(w, h)
                elif enc == ENC_COPYRECT:
                    self._recv_exact(4)
                elif enc == ENC_RAW:
                    self._skip(w * h * 4)
                elif enc == ENC_DESKTOPSIZE:
                    self.width, self.height = w, h
                elif enc == ENC_CURSOR:
                    self._skip(w * h * 4 + ((w + 7) // 8) * h)
                else:
                    raise RFBError(f"unexpected encoding {enc} (not asked for)")
            update.done = time.monotonic()
            update.nbytes = self.bytes_total - len(self._buf) - before_bytes
            self.updates.append(update)
            return update
        if kind == 1:  # SetColourMapEntries
            _, _, n = struct.unpack(">BHH", self._recv_exact(5))
            self._skip(6 * n)
        elif kind == 2:  # Bell
            pass
        elif kind == 3:  # ServerCutText
            self._recv_exact(3)
            (length,) = struct.unpack(">I", self._recv_exact(4))
            self._skip(length)
        else:
            raise RFBError(f"unknown server message {kind}")
        self.other_messages += 1
        return None

    def _compact_length(self) -> int:
        """Tight's 1-3 byte length (7 bits a byte, low first)."""
        (b,) = self._recv_exact(1)
        n = b & 0x7F
        if b & 0x80:
            (b,) = self._recv_exact(1)
            n |= (b & 0x7F) << 7
            if b & 0x80:
                (b,) = self._recv_exact(1)
                n |= b << 14
        return n

    def _skip_tight(self, w: int, h: int) -> None:
        """Skip one Tight rectangle without inflating it. With our pixel format
        (32 bpp, depth 24, 8 bits a channel) a pixel travels as 3 bytes
        (TPIXEL). Fill: one pixel; JPEG: length + data; basic: an optional
        filter (copy, palette, gradient), then the data, raw when under 12
        bytes, else length + zlib data (the size before compression follows
        from the filter, so the length can be trusted as is)."""
        (control,) = self._recv_exact(1)
        kind = control >> 4
        if kind == 0x8:
            self._recv_exact(3)
            return
        if kind == 0x9:
            self._skip(self._compact_length())
            return
        if kind > 0x9:
            raise RFBError(f"bad Tight compression control {control:#x}")
        filt = self._recv_exact(1)[0] if control & 0x40 else 0
        if filt == 1:
            (n,) = self._recv_exact(1)
            colours = n + 1
            self._recv_exact(3 * colours)
            size = ((w + 7) // 8) * h if colours <= 2 else w * h
        elif filt in (0, 2):
            size = w * h * 3
        else:
            raise RFBError(f"unknown Tight filter {filt}")
        if size < 12:
            self._recv_exact(size)
        else:
            self._skip(self._compact_length())

    def send_input(self, data: bytes) -> None:
        """Send RFB input messages (``KeyEvent``, ``PointerEvent``) from any
        thread (the reader thread only reads)."""
        self._send(data)

    # -- the viewer loop -------------------------------------------------------
    def start(self) -> None:
        """Ask for the whole screen, then keep one incremental request
        outstanding, on a daemon thread."""
        assert self.sock is not None
        self.sock.settimeout(30)
        self._thread = threading.Thread(target=self._loop, name="rfb-reader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            self.request(incremental=False)
            while not self._stop.is_set():
                if not self._buf and not select.select([self.sock], [], [], 0.2)[0]:
                    continue  # nothing changed yet; the request stays outstanding
                msg = self.read_message()
                if msg is not None:
                    self.request(incremental=True)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            if not self._stop.is_set():
                self.error = exc

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.error is not None:
            raise RFBError(f"reader failed: {self.error!r}") from self.error

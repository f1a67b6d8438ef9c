"""Screen channel: the binary frame format and the agent's flow control.

Theory of operation
-------------------
The agent captures the screen, finds what changed, and sends one *frame*
per capture: a list of rectangles, each either a picture (JPEG, or the
lossless PALETTE coding for text and UI), a copy of another part of the
previous picture (scroll and move), or a solid fill.
Applied in order onto the previous picture they give the new one. A frame
with ``KEY`` set covers the whole screen and needs no previous picture.

Flow control is pull-like: the agent keeps at most ``window`` frames the
viewer has not acknowledged. While the window is full it keeps capturing
into its *pending* change region instead of sending, and sends the
coalesced result as soon as an ack opens the window. A slow link therefore
lowers the frame rate; it never builds a queue, so the lag stays one window
deep.

Wire format (all integers big-endian), inside a binary WebSocket frame after
the channel byte (:data:`~desklink.protocol.framing.Channel.SCREEN`)::

    frame   := u8 kind=1 | u8 flags | u32 seq | u64 capture_us
               | u16 screen_w | u16 screen_h | u16 nrects | rect*
    rect    := u16 x | u16 y | u16 w | u16 h | u8 enc | u32 len | payload[len]
    cursor  := u8 kind=2 | u16 x | u16 y | u16 w | u16 h | u16 hot_x | u16 hot_y
               | u32 len | rgba[len]          (shape; w=h=0: hidden)
    pointer := u8 kind=3 | u16 x | u16 y      (position only)
    video   := u8 kind=4 | u8 flags | u32 seq | u64 capture_us
               | u16 screen_w | u16 screen_h | u8 codec | u32 len | data[len]

    enc 0 JPEG : payload is a JPEG of w x h
    enc 1 COPY : payload is u16 src_x | u16 src_y: copy w x h from there
                 (source read from the picture before this rectangle)
    enc 2 FILL : payload is u8 r | u8 g | u8 b
    enc 3 PNG  : payload is a PNG of w x h (lossless; the agent now sends
                 PALETTE instead unless an area has too many colours)
    enc 4 PALETTE : lossless text and UI: payload is
                 u8 form | u8 ncolours-1 | deflate_raw(rgb[ncolours*3] | body)
                 form 0 PACKED: h rows of ceil(w*bits/8) bytes, indices
                 MSB first, bits = 1/2/4/8 for ncolours <= 2/4/16/256;
                 form 1 RUNS: idx[k] | len_minus_1[k], runs of 1..256
                 pixels in reading order adding up to w*h. form | 0x80
                 STREAMED: the deflate data is the next piece of the agent
                 session's one raw-deflate stream (RFC 1951), ending at a
                 sync flush (00 00 ff ff); the stream restarts at the first
                 rectangle of every KEY frame. Without the bit a rectangle
                 is deflated on its own. See agent/encode/palette.py.
    enc 5 H264 : payload is one H.264 access unit (Annex B) of the stream of
                 the video region at exactly (x, y, w, h); a key unit (SPS,
                 PPS, IDR) starts the region's stream. Coded at the even
                 size at or above w x h, drawn cropped to w x h

    codec 1 H264 : data is one H.264 access unit in Annex B form (start
                   codes; a KEY chunk carries its SPS and PPS)
    codec 2 VP8, 3 VP9, 4 AV1 : data is one encoded frame as WebCodecs'
                   ``EncodedVideoChunk`` holds it

Video chunks come from a visitor's browser sharing its screen
(``/ws/share``): its ``VideoEncoder`` gives one chunk per captured frame.
They are deltas like frames: ``KEY`` marks a chunk that decodes on its own
(a key frame), and a viewer starts decoding at one. They travel, are
windowed and acknowledged exactly as frames are (the same ``seq`` space,
``screen.ack`` and ``screen.refresh``, which asks the encoder for a key
frame). A browser without ``VideoEncoder`` sends ordinary KEY frames of one
JPEG rectangle instead. A browser share never sends cursor messages (the
captured picture shows the pointer).

Acknowledgements and everything else travel as JSON control messages:
``screen.ack {seq}`` from the viewer, ``screen.refresh`` to ask for a key
frame. ``capture_us`` is the agent's monotonic clock; only differences on
the agent side mean anything (the ack lets the agent measure round trips).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol import limits

KIND_FRAME = 1
KIND_CURSOR = 2
KIND_POINTER = 3
KIND_VIDEO = 4

FLAG_KEY = 0x01  # whole screen; no previous picture needed
FLAG_REFINE = 0x02  # high-quality refresh of settled content

#: Frames the agent may have in flight without an ack (see limits.SCREEN_WINDOW).
DEFAULT_WINDOW = limits.SCREEN_WINDOW
#: Largest screen side accepted, pixels (8K and a bit).
MAX_SIDE = limits.MAX_SCREEN_SIDE
#: Most rectangles in one frame; the encoder merges far below this.
MAX_RECTS = 4096
#: Largest cursor image side, pixels.
MAX_CURSOR_SIDE = 256


class Enc(IntEnum):
    JPEG = 0
    COPY = 1
    FILL = 2
    PNG = 3
    PALETTE = 4
    H264 = 5  # a video region's access unit (agent/encode/video.py)


_FRAME_HEAD = struct.Struct(">BBIQHHH")
_RECT_HEAD = struct.Struct(">HHHHBI")
_COPY = struct.Struct(">HH")
_CURSOR_HEAD = struct.Struct(">BHHHHHHI")
_POINTER = struct.Struct(">BHH")
_VIDEO_HEAD = struct.Struct(">BBIQHHBI")


class Codec(IntEnum):
    """The codec of a video chunk (the viewer configures its decoder by it)."""

    H264 = 1
    VP8 = 2
    VP9 = 3
    AV1 = 4


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    w: int
    h: int
    enc: Enc
    payload: bytes

    @classmethod
    def copy(cls, x: int, y: int, w: int, h: int, src_x: int, src_y: int) -> Rect:
        return cls(x, y, w, h, Enc.COPY, _COPY.pack(src_x, src_y))

    @classmethod
    def fill(cls, x: int, y: int, w: int, h: int, rgb: tuple[int, int, int]) -> Rect:
        return cls(x, y, w, h, Enc.FILL, bytes(rgb))

    @property
    def source(self) -> tuple[int, int]:
        sx, sy = _COPY.unpack(self.payload)
        return int(sx), int(sy)


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    capture_us: int
    width: int
    height: int
    rects: tuple[Rect, ...]
    flags: int = 0

    @property
    def key(self) -> bool:
        return bool(self.flags & FLAG_KEY)

    def encode(self) -> bytes:
        parts = [_FRAME_HEAD.pack(KIND_FRAME, self.flags, self.seq, self.capture_us, self.width, self.height, len(self.rects))]
        for r in self.rects:
            parts.append(_RECT_HEAD.pack(r.x, r.y, r.w, r.h, r.enc, len(r.payload)))
            parts.append(r.payload)
        return b"".join(parts)

    @property
    def payload_bytes(self) -> int:
        return sum(len(r.payload) for r in self.rects)


@dataclass(frozen=True, slots=True)
class Cursor:
    x: int
    y: int
    w: int
    h: int
    hot_x: int
    hot_y: int
    rgba: bytes

    def encode(self) -> bytes:
        return _CURSOR_HEAD.pack(KIND_CURSOR, self.x, self.y, self.w, self.h, self.hot_x, self.hot_y, len(self.rgba)) + self.rgba


@dataclass(frozen=True, slots=True)
class Pointer:
    x: int
    y: int

    def encode(self) -> bytes:
        return _POINTER.pack(KIND_POINTER, self.x, self.y)


@dataclass(frozen=True, slots=True)
class VideoChunk:
    seq: int
    capture_us: int
    width: int
    height: int
    codec: Codec
    data: bytes
    flags: int = 0

    @property
    def key(self) -> bool:
        return bool(self.flags & FLAG_KEY)

    def encode(self) -> bytes:
        head = _VIDEO_HEAD.pack(KIND_VIDEO, self.flags, self.seq, self.capture_us, self.width, self.height, self.codec, len(self.data))
        return head + self.data


def decode(data: bytes, max_bytes: int) -> Frame | Cursor | Pointer | VideoChunk:
    """Parse one screen message. Every bound is checked: a rectangle must lie
    inside the screen, a copy source too, payload lengths must add up exactly.
    Raises ``ProtocolError`` (``TooLarge`` past ``max_bytes``), nothing else."""
    if len(data) > max_bytes:
        raise TooLarge(f"screen message of {len(data)} bytes is over the limit of {max_bytes}")
    if not data:
        raise ProtocolError("empty screen message")
    kind = data[0]
    try:
        if kind == KIND_FRAME:
            return _decode_frame(data)
        if kind == KIND_CURSOR:
            return _decode_cursor(data)
        if kind == KIND_VIDEO:
            return _decode_video(data)
        if kind == KIND_POINTER:
            if len(data) != _POINTER.size:
                raise ProtocolError("pointer message has the wrong length")
            _, x, y = _POINTER.unpack(data)
            return Pointer(x, y)
    except struct.error as exc:
        raise ProtocolError(f"truncated screen message: {exc}") from None
    raise ProtocolError(f"unknown screen message kind {kind}", code="bad_type")


def _decode_frame(data: bytes) -> Frame:
    _, flags, seq, capture_us, width, height, n = _FRAME_HEAD.unpack_from(data, 0)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ProtocolError(f"screen size {width}x{height} out of range")
    if n > MAX_RECTS:
        raise ProtocolError(f"{n} rectangles in one frame; the limit is {MAX_RECTS}")
    offset = _FRAME_HEAD.size
    rects = []
    for _ in range(n):
        x, y, w, h, enc, length = _RECT_HEAD.unpack_from(data, offset)
        offset += _RECT_HEAD.size
        payload = data[offset : offset + length]
        if len(payload) != length:
            raise ProtocolError("rectangle payload runs past the end of the message")
        offset += length
        if w == 0 or h == 0 or x + w > width or y + h > height:
            raise ProtocolError(f"rectangle {w}x{h}+{x}+{y} is outside the {width}x{height} screen")
        try:
            kind = Enc(enc)
        except ValueError:
            raise ProtocolError(f"unknown rectangle encoding {enc}", code="bad_type") from None
        rect = Rect(x, y, w, h, kind, bytes(payload))
        if kind is Enc.COPY:
            if length != _COPY.size:
                raise ProtocolError("copy rectangle payload must be 4 bytes")
            sx, sy = rect.source
            if sx + w > width or sy + h > height:
                raise ProtocolError("copy source is outside the screen")
        elif kind is Enc.FILL and length != 3:
            raise ProtocolError("fill rectangle payload must be 3 bytes")
        elif kind in (Enc.JPEG, Enc.PNG, Enc.PALETTE, Enc.H264) and length < 4:
            raise ProtocolError(f"{kind.name.lower()} rectangle payload is too short")
        rects.append(rect)
    if offset != len(data):
        raise ProtocolError(f"{len(data) - offset} stray bytes after the last rectangle")
    return Frame(seq, capture_us, width, height, tuple(rects), flags)


def _decode_video(data: bytes) -> VideoChunk:
    _, flags, seq, capture_us, width, height, codec, length = _VIDEO_HEAD.unpack_from(data, 0)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ProtocolError(f"screen size {width}x{height} out of range")
    try:
        kind = Codec(codec)
    except ValueError:
        raise ProtocolError(f"unknown video codec {codec}", code="bad_type") from None
    if length == 0:
        raise ProtocolError("empty video chunk")
    if len(data) != _VIDEO_HEAD.size + length:
        raise ProtocolError("video chunk length does not match its data")
    return VideoChunk(seq, capture_us, width, height, kind, bytes(data[_VIDEO_HEAD.size :]), flags)


def _decode_cursor(data: bytes) -> Cursor:
    _, x, y, w, h, hx, hy, length = _CURSOR_HEAD.unpack_from(data, 0)
    if w > MAX_CURSOR_SIDE or h > MAX_CURSOR_SIDE:
        raise ProtocolError(f"cursor {w}x{h} is larger than {MAX_CURSOR_SIDE}")
    if length != w * h * 4 or len(data) != _CURSOR_HEAD.size + length:
        raise ProtocolError("cursor image length does not match its size")
    if (w or h) and (hx >= w or hy >= h):
        raise ProtocolError("cursor hot spot outside the image")
    return Cursor(x, y, w, h, hx, hy, bytes(data[_CURSOR_HEAD.size :]))


# --------------------------------------------------------------------------
# flow control (agent side)


@dataclass
class FlowControl:
    """The agent's send window. ``can_send()`` before sending a frame;
    ``sent(seq, now)`` after; ``acked(seq, now)`` when the viewer's ack comes
    back (acks are cumulative: an ack for ``seq`` covers every earlier frame).
    Round-trip times of acked frames are kept for the statistics."""

    window: int = DEFAULT_WINDOW
    next_seq: int = 1
    in_flight: dict[int, float] = field(default_factory=dict)
    rtts: list[float] = field(default_factory=list)
    frames_sent: int = 0
    frames_acked: int = 0

    def __post_init__(self) -> None:
        if self.window <= 0:
            raise ValueError("window must be positive")

    def can_send(self) -> bool:
        return len(self.in_flight) < self.window

    def take_seq(self) -> int:
        seq = self.next_seq
        self.next_seq = (self.next_seq + 1) & 0xFFFFFFFF or 1
        return seq

    def sent(self, seq: int, now: float) -> None:
        self.in_flight[seq] = now
        self.frames_sent += 1

    def acked(self, seq: int, now: float) -> int:
        """Release ``seq`` and every earlier frame in flight; returns how many
        were released (0 for a stale or unknown ack)."""
        if seq not in self.in_flight:
            return 0
        released = 0
        for s in list(self.in_flight):  # insertion order is send order
            start = self.in_flight.pop(s)
            released += 1
            if s == seq:
                self.rtts.append(now - start)
                if len(self.rtts) > 1000:
                    del self.rtts[:500]
                break
        self.frames_acked += released
        return released

    def reset(self) -> None:
        """Forget what is in flight (a viewer reconnected or asked for a key frame)."""
        self.in_flight.clear()

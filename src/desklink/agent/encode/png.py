"""Lossless PNG for small changes (typing, a blinking caret, a checkbox)
with more colours than the PALETTE coding takes (palette.py, which replaced
PNG everywhere else: no 60 bytes of headers, and smaller); viewers keep
decoding PNG for recordings made before it.

Why PNG: a keystroke changes a few hundred pixels of text; a JPEG of the
whole 64 px tile costs ~2 kB and blurs the glyph, while a PNG of the tight
box around the changed pixels is exact and a few hundred bytes. Browsers
decode PNG natively through the same ``createImageBitmap`` path as JPEG.

Palette PNG (colour type 3) when the area has at most 256 colours (text
almost always does), else RGB with the Sub filter. zlib from Python is slow
on large areas, so the encoder uses this only for small boxes
(:data:`MAX_PNG_PIXELS`); large areas stay JPEG.

The decoder reads back what this encoder writes (types 2 and 3, filters
0-4) for the reference viewer :class:`~desklink.agent.encode.canvas.Canvas`;
it is not a general PNG reader.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

#: Largest area sent as PNG, pixels (larger changes are JPEG: zlib cost grows
#: with area, JPEG's barely).
MAX_PNG_PIXELS = 160 * 160
#: zlib effort: 6 is ~2x the time of 1 for ~20 % fewer bytes on text.
ZLIB_LEVEL = 6
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: npt.NDArray[np.uint8], x: int, y: int, w: int, h: int) -> bytes:
    """PNG of the ``w`` x ``h`` area at (``x``, ``y``) of a BGRA image."""
    rgb = np.ascontiguousarray(image[y : y + h, x : x + w, 2::-1])
    flat = rgb.reshape(-1, 3)
    keys = (flat[:, 0].astype(np.uint32) << 16) | (flat[:, 1].astype(np.uint32) << 8) | flat[:, 2]
    colours, index = np.unique(keys, return_inverse=True)
    if len(colours) <= 256:
        header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
        palette = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.uint8)
        rows = index.astype(np.uint8).reshape(h, w)
        raw = np.zeros((h, w + 1), np.uint8)  # filter 0 (None) per row
        raw[:, 1:] = rows
        body = _chunk(b"PLTE", palette.tobytes())
    else:
        header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        sub = rgb.astype(np.int16)
        sub[:, 1:] -= rgb[:, :-1]
        raw = np.empty((h, w * 3 + 1), np.uint8)
        raw[:, 0] = 1  # filter 1 (Sub)
        raw[:, 1:] = (sub & 255).astype(np.uint8).reshape(h, w * 3)
        body = b""
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + body
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), ZLIB_LEVEL))
        + _chunk(b"IEND", b"")
    )


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def decode_png(data: bytes) -> npt.NDArray[np.uint8]:
    """H x W x 3 RGB from a PNG this module wrote (8-bit RGB or palette).
    Raises ``ValueError`` for anything else or anything broken."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    pos, idat, palette = len(SIGNATURE), b"", None
    w = h = ctype = 0
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ValueError("truncated PNG chunk")
        pos += 12 + length
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 3) or body[12] != 0:
                raise ValueError("unsupported PNG form")
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    channels = 3 if ctype == 2 else 1
    stride = w * channels
    raw = zlib.decompress(idat)
    if len(raw) != h * (stride + 1):
        raise ValueError("PNG data has the wrong size")
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for row in range(h):
        f = raw[row * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, row * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:
            cur = line.copy()
            for i in range(channels, stride):
                cur[i] = (cur[i] + cur[i - channels]) & 255
        elif f == 2:
            cur = (line + prev) & 255
        elif f in (3, 4):
            cur = line.copy()
            for i in range(stride):
                left = cur[i - channels] if i >= channels else 0
                up = int(prev[i])
                if f == 3:
                    cur[i] = (cur[i] + (left + up) // 2) & 255
                else:
                    ul = int(prev[i - channels]) if i >= channels else 0
                    cur[i] = (cur[i] + _paeth(int(left), up, ul)) & 255
        else:
            raise ValueError(f"unknown PNG filter {f}")
        out[row] = cur
        prev = cur
    if ctype == 3:
        if palette is None:
            raise ValueError("palette PNG without a palette")
        return palette[out]
    return out.reshape(h, w, 3)

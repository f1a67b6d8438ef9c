"""JPEG and FILL coding of BGRA screen regions, through simplejpeg (libjpeg-turbo).

Why simplejpeg: it takes BGRA directly (no colour conversion pass in
Python), encodes a 1080p frame at q70 4:2:0 in about 5 ms, and releases the
GIL. Pillow's PNG/WebP-lossless are 10-50x slower on large areas.

Two profiles: *motion* (default q60, 4:2:0) while things move, *refine*
(default q90, 4:4:4) once they settle: 4:4:4 keeps the colour of thin text
strokes, which 4:2:0 smears across two pixels.

Limits: JPEG is lossy; text-like areas go as the lossless PALETTE coding
instead (palette.py, chosen in choose.py), 4-7x smaller on text. Regions must be at most 65535 pixels on a side (the protocol caps screens
at 8192).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import simplejpeg

from desklink.agent.encode.tiles import as_u32

__all__ = ["Subsampling", "decode_jpeg", "encode_jpeg", "flat_color"]

Subsampling = Literal["420", "422", "444"]


def encode_jpeg(image: npt.NDArray[np.uint8], x: int, y: int, w: int, h: int, *,
                quality: int, subsampling: Subsampling = "420") -> bytes:
    """JPEG of the ``w x h`` region at ``(x, y)`` of a BGRA picture."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality {quality} is outside 1..100")
    region = np.ascontiguousarray(image[y : y + h, x : x + w])
    if region.shape[:2] != (h, w):
        raise ValueError(f"region {w}x{h}+{x}+{y} is outside the {image.shape[1]}x{image.shape[0]} picture")
    return bytes(simplejpeg.encode_jpeg(region, quality=quality, colorspace="BGRA", colorsubsampling=subsampling))


def decode_jpeg(data: bytes) -> npt.NDArray[np.uint8]:
    """Decode to an ``H x W x 4`` BGRA picture (alpha 255). Raises
    ``ValueError`` for data that is not a JPEG."""
    return simplejpeg.decode_jpeg(data, colorspace="BGRA")  # type: ignore[no-any-return]


def flat_color(image: npt.NDArray[np.uint8], x: int, y: int, w: int, h: int) -> tuple[int, int, int] | None:
    """The ``(r, g, b)`` of the region when every pixel has it, else ``None``.

    Cheap on the common "not flat" answer: the four corners and the centre
    are checked before the full comparison. The fourth byte is ignored.
    """
    region = as_u32(image)[y : y + h, x : x + w]
    first = region[0, 0] & np.uint32(0x00FFFFFF)
    for py, px in ((0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)):
        if region[py, px] & np.uint32(0x00FFFFFF) != first:
            return None
    if not ((region & np.uint32(0x00FFFFFF)) == first).all():
        return None
    b, g, r = int(first & 0xFF), int((first >> 8) & 0xFF), int((first >> 16) & 0xFF)
    return r, g, b

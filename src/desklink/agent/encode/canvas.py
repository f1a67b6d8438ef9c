"""A reference viewer in Python: applies protocol frames to a picture.

Why: the encoder's correctness is "what the viewer ends up showing matches
the screen". The tests, the integration tests and the benchmark rebuild the
viewer's picture with this class and compare it to the captured one. It
follows the same rules the browser viewer must: rectangles apply in order,
a COPY reads its source from the picture as it was before that rectangle
(so overlapping scroll copies are safe), a KEY frame or a size change starts
a new picture. An H.264 rectangle (a video region) is decoded by the stream
of its exact (x, y, w, h), which a key unit starts; a delta with no stream
is a ``ProtocolError`` (the browser then asks for a key frame). STREAMED
PALETTE rectangles read the canvas's one inflater, which every KEY frame
resets and any error breaks until the next KEY frame.

The picture is ``H x W x 4`` BGRA ``uint8`` (the capture layout; alpha is
255), so it compares directly with a :class:`~desklink.agent.capture.Capture`
grab on the first three channels; :attr:`Canvas.rgb` gives RGB.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.h264 import H264Decoder, coded_size, is_key_unit
from desklink.agent.encode.jpeg import decode_jpeg
from desklink.agent.encode.palette import PaletteInflater, decode_palette
from desklink.agent.encode.png import decode_png
from desklink.agent.encode.sps import check_unit
from desklink.errors import ProtocolError
from desklink.protocol.screen import Enc, Frame

__all__ = ["MAX_STREAMS", "Canvas"]

#: Video region streams a canvas keeps at once (the agent has one region at
#: a time; a new region's key unit evicts the oldest past this).
MAX_STREAMS = 4


class Canvas:
    """The viewer's picture. Starts empty (0 x 0) until the first frame."""

    def __init__(self) -> None:
        self._image: npt.NDArray[np.uint8] = np.zeros((0, 0, 4), dtype=np.uint8)
        self.frames = 0
        self.streams: dict[tuple[int, int, int, int], H264Decoder] = {}
        #: The agent's PALETTE deflate stream: reset at every KEY frame.
        self.palette = PaletteInflater()

    @property
    def image(self) -> npt.NDArray[np.uint8]:
        """The current picture (BGRA, alpha 255). Do not modify it."""
        return self._image

    @property
    def rgb(self) -> npt.NDArray[np.uint8]:
        """The current picture as ``H x W x 3`` RGB (a copy)."""
        return np.ascontiguousarray(self._image[:, :, 2::-1])

    @property
    def size(self) -> tuple[int, int]:
        return self._image.shape[1], self._image.shape[0]

    def apply(self, frame: Frame) -> None:
        """Apply one frame. A frame that does not match the current size
        starts a black picture of its size first (a viewer that missed the
        key frame shows black until the next one). Raises ``ProtocolError``
        for a rectangle that does not fit or a JPEG of the wrong size."""
        if frame.key:
            self.palette.reset()
        if frame.key or self.size != (frame.width, frame.height):
            self._image = np.zeros((frame.height, frame.width, 4), dtype=np.uint8)
            self._image[:, :, 3] = 255
        pic = self._image
        for r in frame.rects:
            if r.w <= 0 or r.h <= 0 or r.x + r.w > frame.width or r.y + r.h > frame.height:
                raise ProtocolError(f"rectangle {r.w}x{r.h}+{r.x}+{r.y} outside the screen")
            if r.enc is Enc.JPEG:
                try:
                    tile = decode_jpeg(r.payload)
                except ValueError as exc:
                    raise ProtocolError(f"bad JPEG: {exc}") from None
                if tile.shape[:2] != (r.h, r.w):
                    raise ProtocolError(f"JPEG is {tile.shape[1]}x{tile.shape[0]}, rectangle {r.w}x{r.h}")
                pic[r.y : r.y + r.h, r.x : r.x + r.w] = tile
            elif r.enc is Enc.PNG:
                try:
                    rgb = decode_png(r.payload)
                except (ValueError, zlib.error) as exc:
                    raise ProtocolError(f"bad PNG: {exc}") from None
                if rgb.shape[:2] != (r.h, r.w):
                    raise ProtocolError(f"PNG is {rgb.shape[1]}x{rgb.shape[0]}, rectangle {r.w}x{r.h}")
                pic[r.y : r.y + r.h, r.x : r.x + r.w, :3] = rgb[:, :, ::-1]
                pic[r.y : r.y + r.h, r.x : r.x + r.w, 3] = 255
            elif r.enc is Enc.PALETTE:
                rgb = decode_palette(r.payload, r.w, r.h, self.palette)  # raises ProtocolError itself
                pic[r.y : r.y + r.h, r.x : r.x + r.w, :3] = rgb[:, :, ::-1]
                pic[r.y : r.y + r.h, r.x : r.x + r.w, 3] = 255
            elif r.enc is Enc.COPY:
                sx, sy = r.source
                if sx + r.w > frame.width or sy + r.h > frame.height:
                    raise ProtocolError("copy source outside the screen")
                pic[r.y : r.y + r.h, r.x : r.x + r.w] = pic[sy : sy + r.h, sx : sx + r.w].copy()
            elif r.enc is Enc.H264:
                rgb = self._decode_h264(r.x, r.y, r.w, r.h, r.payload)
                pic[r.y : r.y + r.h, r.x : r.x + r.w, :3] = rgb[:, :, ::-1]
                pic[r.y : r.y + r.h, r.x : r.x + r.w, 3] = 255
            elif r.enc is Enc.FILL:
                red, green, blue = r.payload
                pic[r.y : r.y + r.h, r.x : r.x + r.w] = (blue, green, red, 255)
        self.frames += 1

    def _decode_h264(self, x: int, y: int, w: int, h: int, unit: bytes) -> npt.NDArray[np.uint8]:
        box = (x, y, w, h)
        # A unit whose SPS claims another size fails here, before the stream
        # table is touched: the region's good stream survives it (as in the browser).
        check_unit(unit, *coded_size(w, h), f"H.264 unit for the region {w}x{h}+{x}+{y}")
        if is_key_unit(unit):
            self.streams.pop(box, None)
            while len(self.streams) >= MAX_STREAMS:
                self.streams.pop(next(iter(self.streams)))
            self.streams[box] = H264Decoder(w, h)
        stream = self.streams.get(box)
        if stream is None:
            raise ProtocolError(f"H.264 delta for the region {w}x{h}+{x}+{y} with no key unit before it")
        try:
            return stream.decode(unit)
        except ProtocolError:
            del self.streams[box]  # broken: the next key unit starts afresh
            raise

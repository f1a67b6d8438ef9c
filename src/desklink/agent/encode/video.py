"""The screen encoder's video mode: the motion tracker and the region's H.264
stream together, behind the few calls :class:`~desklink.agent.encode.encoder.ScreenEncoder` makes.

Per frame, :meth:`VideoMode.step` takes the changed tiles and returns the
tiles left for the tile coder plus the rectangles video mode sends:

* while a region plays (:mod:`desklink.agent.encode.motion`), its tiles leave
  the tile mask and, when any of them changed (unchanged pictures never reach
  the encoder), the region goes out as one ``Enc.H264`` rectangle: one access
  unit of the region's stream. A new region, a region that grew, or
  :meth:`request_key` (a key frame, a viewer's refresh) start the stream
  with a key unit;
* when the region calms down, its settled picture goes out crisp in the
  same step, and its tiles are the tile coder's again: as the tile coder
  would code it at refine quality (:func:`~desklink.agent.encode.choose.encode_area`)
  when that is exact (FILL and PALETTE: text that flooded fast enough to
  look like video ends pixel-exact), else exactly as PNG up to
  :data:`SETTLED_PNG_MAX_PIXELS` and :data:`SETTLED_PNG_MAX_BYTES`, else as
  those pieces (PALETTE where text-like, JPEG q90 4:4:4 elsewhere): a 1080p
  PNG of a film is about 4 MB and takes most of a second to make.

Without PyAV (:func:`desklink.agent.encode.h264.available`) there is no
video mode: :func:`video_mode` returns ``None`` and the encoder codes every
tile as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.agent.encode import h264
from desklink.agent.encode.choose import PaletteOptions, encode_area
from desklink.agent.encode.motion import MotionTracker, VideoSettings
from desklink.agent.encode.png import encode_png
from desklink.agent.encode.rects import Box
from desklink.agent.encode.tiles import Mask
from desklink.protocol.screen import Enc, Rect

__all__ = ["SETTLED_JPEG_QUALITY", "SETTLED_PNG_MAX_BYTES", "SETTLED_PNG_MAX_PIXELS", "VideoMode", "VideoStats", "video_mode"]

#: Largest settled region sent as PNG, pixels (a 640x360 video on the tile
#: grid is 704x448 = 315 392; its PNG takes about 60 ms).
SETTLED_PNG_MAX_PIXELS = 800 * 600
#: A settled region's PNG larger than this goes as JPEG instead, bytes.
SETTLED_PNG_MAX_BYTES = 1 << 20
#: JPEG quality (4:4:4) of a settled region too large for PNG: the encoder's
#: refine quality.
SETTLED_JPEG_QUALITY = 90


@dataclass
class VideoStats:
    """Video mode's counters (the benchmark and the metrics read them)."""

    regions: int = 0  # regions entered
    units: int = 0  # access units sent
    key_units: int = 0
    bytes: int = 0
    settled: int = 0  # regions that calmed down and were sent exactly


def video_mode(width: int, height: int, tile: int, settings: VideoSettings | None) -> VideoMode | None:
    """A video mode for the encoder, or ``None`` when it is off (``settings``
    is ``None``) or PyAV is missing."""
    if settings is None or not h264.available():
        return None
    return VideoMode(width, height, tile, settings)


class VideoMode:
    def __init__(self, width: int, height: int, tile: int, settings: VideoSettings) -> None:
        self.tracker = MotionTracker(width, height, tile, settings)
        self.tile = tile
        self.settings = settings
        self.stats = VideoStats()
        self._stream: h264.H264Encoder | None = None
        self._box: Box | None = None
        self._key = True
        #: The region that settled in the last step (sent exact), else None.
        self.settled: Box | None = None

    @property
    def region(self) -> Box | None:
        return self.tracker.region

    def request_key(self) -> None:
        """The next unit is a key unit (the viewer's picture restarts)."""
        self._key = True

    def step(self, image: npt.NDArray[np.uint8], mask: Mask, now: float) -> tuple[Mask, list[Rect]]:
        """Observe ``mask`` (this frame's changed tiles against the viewer's
        picture) and return ``(mask for the tile coder, video rectangles)``."""
        before = self.tracker.region
        self.settled = None
        self.tracker.observe(mask, now)
        region = self.tracker.region
        rects: list[Rect] = []
        if before is not None and region is None:
            rects += _settled(image, before, self.tile)  # crisp at once
            rows, cols = self.tracker.tiles_of(before)
            mask = mask.copy()
            mask[rows, cols] = False
            self._stream = self._box = None
            self.settled = before
            self.stats.settled += 1
            return mask, rects
        if region is None:
            return mask, rects
        rows, cols = self.tracker.tiles_of(region)
        changed = bool(mask[rows, cols].any())
        if region != self._box:
            cap = h264.max_kbit_s_for(region[2], region[3], self.settings.max_bits_per_pixel)
            self._stream = h264.H264Encoder(region[2], region[3], crf=self.settings.crf, max_kbit_s=cap)
            self._box, self._key, changed = region, True, True
            self.stats.regions += int(before is None)
        if changed or self._key:
            assert self._stream is not None
            x, y, w, h = region
            unit = self._stream.encode(image[y : y + h, x : x + w], key=self._key)
            rects.append(Rect(x, y, w, h, Enc.H264, unit))
            self.stats.units += 1
            self.stats.key_units += int(self._key)
            self.stats.bytes += len(unit)
            self._key = False
        mask = mask.copy()
        mask[rows, cols] = False
        return mask, rects

    def reset(self) -> None:
        """A new screen size: no region, no stream."""
        self.tracker.reset()
        self._stream = self._box = None
        self._key = True


def _settled(image: npt.NDArray[np.uint8], box: Box, tile: int) -> list[Rect]:
    coded = encode_area(image, box, tile=tile, quality=SETTLED_JPEG_QUALITY, subsampling="444", opts=PaletteOptions())
    if all(c.exact for c in coded):
        return [c.rect for c in coded]
    x, y, w, h = box
    if w * h <= SETTLED_PNG_MAX_PIXELS:
        png = encode_png(image, x, y, w, h)
        if len(png) <= SETTLED_PNG_MAX_BYTES:
            return [Rect(x, y, w, h, Enc.PNG, png)]
    return [c.rect for c in coded]

"""Which part of the screen is playing video: the motion tracker (pure).

Theory of operation
-------------------
The encoder shows the tracker every frame's tile mask (:meth:`MotionTracker.observe`).
Per tile it counts the changes of the last :data:`RATE_WINDOW_S`; a tile
changing at least :data:`VIDEO_MIN_RATE` times a second is *fast*, and a tile
fast without a break for :data:`VIDEO_AFTER_S` is *hot*. When at least
:data:`VIDEO_MIN_TILES` tiles are hot, their bounding box (on the tile grid,
so 64-pixel aligned, a whole number of macroblocks except at the screen's
right and bottom edge) becomes the video *region*. Typing (a few changes a
second), a blinking cursor or a clock never get there; a playing video, a
game or an animation does within about a second.

Changes the encoder sends as a move (a COPY: scrolled text, a dragged
window) or as text on a character grid (PALETTE's CELLS form: a terminal
flooding output) do not count (:meth:`MotionTracker.moved`): those are coded best as they are, and
text must not turn into video because it scrolls or floods.

The region is stable while it lasts: it only grows (when tiles outside it
turn hot, to the bounding box of both; the encoder then starts a new stream
with a key unit), never shrinks or moves. It ends when nothing inside it
changed for :data:`VIDEO_CALM_S`; the encoder then sends the settled picture
exactly. Two videos far apart share one region (their bounding box): one
stream is simpler for the viewer, and the pixels between them cost little
in H.264 when they do not change.

Observations come once per frame the encoder makes, so a link too slow for
:data:`VIDEO_MIN_RATE` frames a second never enters video mode (tiles then
serve it as before).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.h264 import DEFAULT_CRF, DEFAULT_MAX_BITS_PER_PIXEL
from desklink.agent.encode.rects import Box
from desklink.agent.encode.tiles import Mask, tile_box

__all__ = [
    "DEFAULT_VIDEO", "RATE_WINDOW_S", "VIDEO_AFTER_S", "VIDEO_CALM_S", "VIDEO_MAX_PIXELS", "VIDEO_MIN_RATE", "VIDEO_MIN_TILES",
    "MotionTracker", "VideoSettings",
]

#: Changes a second at which a tile counts as fast.
VIDEO_MIN_RATE = 10.0
#: How long a tile must stay fast before it is coded as video, seconds.
VIDEO_AFTER_S = 1.0
#: The window the change rate is counted over, seconds.
RATE_WINDOW_S = 0.5
#: A video region with no change for this long drops back to tiles, seconds.
VIDEO_CALM_S = 0.5
#: Fewest hot tiles that make a video region (4 tiles of 64: a 128x128 area).
VIDEO_MIN_TILES = 4
#: Largest video region, pixels: 1080p (1920x1088 on the tile grid). x264
#: ultrafast takes about 17 ms of CPU a picture there (half a core at 30
#: fps, docs/performance.md); a larger region (a 4K screen playing full
#: screen) stays tiles, and a region never grows past it.
VIDEO_MAX_PIXELS = 1920 * 1088


@dataclass(frozen=True, slots=True)
class VideoSettings:
    """The video mode's knobs (the agent's options; tests go past each)."""

    min_rate: float = VIDEO_MIN_RATE
    after_s: float = VIDEO_AFTER_S
    window_s: float = RATE_WINDOW_S
    calm_s: float = VIDEO_CALM_S
    min_tiles: int = VIDEO_MIN_TILES
    max_pixels: int = VIDEO_MAX_PIXELS
    #: The region stream's quality and bitrate cap (agent/encode/h264.py).
    crf: int = DEFAULT_CRF
    max_bits_per_pixel: float = DEFAULT_MAX_BITS_PER_PIXEL

    def __post_init__(self) -> None:
        if self.min_rate <= 0 or self.window_s <= 0 or self.after_s < 0 or self.calm_s <= 0 or self.min_tiles < 1:
            raise ValueError("video settings: min_rate, window_s, calm_s must be > 0, after_s >= 0, min_tiles >= 1")
        if not 0 <= self.crf <= 51 or self.max_bits_per_pixel <= 0 or self.max_pixels < 1:
            raise ValueError("video settings: crf must be in 0..51, max_bits_per_pixel above 0, max_pixels at least 1")


#: The encoder's default: video mode on, with the constants above.
DEFAULT_VIDEO = VideoSettings()


class MotionTracker:
    """Finds the video region of a ``rows x cols`` tile grid (``tile`` pixels,
    screen ``width x height``). :attr:`region` is the current region's pixel
    box, or ``None``."""

    def __init__(self, width: int, height: int, tile: int, settings: VideoSettings | None = None) -> None:
        self.settings = settings or VideoSettings()
        self.width, self.height, self.tile = width, height, tile
        rows, cols = -(-height // tile), -(-width // tile)
        self._history: deque[tuple[float, Mask]] = deque()
        self._counts = np.zeros((rows, cols), dtype=np.int32)
        self._fast_since = np.full((rows, cols), np.inf)
        self.region: Box | None = None
        self.region_changed_at = -np.inf

    def observe(self, mask: Mask, now: float) -> None:
        """Record one frame's changed tiles at ``now`` (monotonic seconds) and
        update :attr:`region`."""
        s = self.settings
        self._history.append((now, mask))
        self._counts += mask
        while self._history and self._history[0][0] <= now - s.window_s:
            self._counts -= self._history.popleft()[1]
        fast = self._counts >= s.min_rate * s.window_s
        self._fast_since[~fast] = np.inf
        self._fast_since[fast & np.isinf(self._fast_since)] = now
        region = self.region
        if region is not None:
            rows, cols = self.tiles_of(region)
            if mask[rows, cols].any():
                self.region_changed_at = now
            elif now - self.region_changed_at >= s.calm_s:
                self._fast_since[rows, cols] = np.inf  # it must earn video mode afresh
                self.region = region = None
        hot: npt.NDArray[np.bool_] = fast & (now - self._fast_since >= s.after_s)
        if int(hot.sum()) >= s.min_tiles:
            box = tile_box(hot, self.tile, self.width, self.height)
            assert box is not None
            if region is None:
                if box[2] * box[3] <= s.max_pixels:
                    self.region, self.region_changed_at = box, now
            elif not _inside(box, region):
                grown = _union(box, region)
                if grown[2] * grown[3] <= s.max_pixels:
                    self.region = grown

    def moved(self, tiles: Mask) -> None:
        """The last observed changes in ``tiles`` were a move (a scroll or a
        dragged window, sent as a COPY) or text (sent as character cells,
        exact and far smaller than video): they do not count towards video."""
        if not self._history:
            return
        at, last = self._history[-1]
        self._history[-1] = (at, last & ~tiles)
        self._counts -= last & tiles

    def tiles_of(self, box: Box) -> tuple[slice, slice]:
        """The tile rows and columns a pixel box covers."""
        x, y, w, h = box
        t = self.tile
        return slice(y // t, -(-(y + h) // t)), slice(x // t, -(-(x + w) // t))

    def region_mask(self) -> Mask:
        """The tiles of the region (all false without one)."""
        out = np.zeros(self._counts.shape, dtype=np.bool_)
        if self.region is not None:
            out[self.tiles_of(self.region)] = True
        return out

    def reset(self) -> None:
        """Forget the region and the history (a new screen size)."""
        self._history.clear()
        self._counts[:] = 0
        self._fast_since[:] = np.inf
        self.region = None


def _inside(a: Box, b: Box) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[0] + a[2] <= b[0] + b[2] and a[1] + a[3] <= b[1] + b[3]


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0

"""The screen encoder: captures in, protocol frames out.

Theory of operation
-------------------
The encoder keeps ``sent_image``: the *captured* picture the viewer's
picture is based on (the last capture whose changes were sent; not a decoded
JPEG, so diffs are exact and cheap). Per tile it keeps ``lossy`` (the viewer
has it at motion quality) and ``changed_at`` (when it last changed).

* :meth:`ScreenEncoder.update` only records the newest capture: the pending
  damage is, by definition, wherever it differs from ``sent_image``. Several
  updates between two :meth:`~ScreenEncoder.next_frame` calls therefore
  coalesce for free into one frame, and a change that reverts before it was
  sent costs nothing. This is what lets flow control lower the frame rate
  instead of queueing.
* :meth:`ScreenEncoder.next_frame` diffs the newest capture against
  ``sent_image`` by tiles. Damage: try a scroll COPY first, else COPYs of
  regions moved in any direction (:mod:`~desklink.agent.encode.moves`), then merge the
  remaining tiles into rectangles, each a FILL when flat, the lossless
  PALETTE coding when it has few colours (text, UI: exact, never refined;
  agent/encode/choose.py), else a JPEG at motion quality 4:2:0 (or at
  refine quality 4:4:4 for a small change, which then never needs a second
  pass; typing goes as the tight box of changed pixels). No damage: lossy tiles
  unchanged for ``settle_s`` (and those unchanged for half of it along with
  them) are re-sent at refine quality 4:4:4 in a ``FLAG_REFINE`` frame, so
  text ends crisp. Nothing to do: ``None`` (an unchanged screen costs one
  0.5 ms diff, or nothing when the capture is the same object). Under
  constant motion elsewhere (a video in a corner), settled tiles still
  sharpen: up to a quarter of ``max_refine_tiles`` of them ride along in
  every :data:`REFINE_EVERY`-th motion frame, ahead of its motion
  rectangles, so the motion is never delayed by a frame of its own.
* A size change (or the first capture, or :meth:`request_key`) makes the next
  frame a key frame: the whole screen, ``FLAG_KEY``, PALETTE where it is
  text-like and JPEG at refine quality elsewhere. It restarts the PALETTE
  deflate stream (one per session, agent/encode/palette.py), so a viewer
  joining or a recording seeking at a key frame can inflate what follows.
* Video mode (:mod:`desklink.agent.encode.video`, when PyAV is installed):
  each frame's changed tiles first go to :meth:`VideoMode.step`, which takes
  a region playing video out of the tile mask and returns its H.264
  rectangle (drawn last in the frame), or the exact picture of a region that
  just calmed down. Moves do not count towards video.

The caller must not modify a picture after passing it to :meth:`update`:
the encoder keeps a reference (captures are fresh arrays, so this is free).

Not thread-safe; one encoder per capture loop. Timings at 1920x1080 on two
cores are in bench/screen_encode.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.choose import Coded, PaletteOptions, encode_area, encode_exact
from desklink.agent.encode.jpeg import Subsampling
from desklink.agent.encode.motion import DEFAULT_VIDEO, VideoSettings
from desklink.agent.encode.palette import PaletteStream, is_cells
from desklink.agent.encode.png import MAX_PNG_PIXELS
from desklink.agent.encode.moves import MoveDetector, move_mask
from desklink.agent.encode.rects import MAX_RECTS_PER_FRAME, Box, merge_rects
from desklink.agent.encode.scroll import CopyRect, detect_scroll
from desklink.agent.encode.tiles import DEFAULT_TILE, Mask, as_u32, changed_tiles, grid_shape
from desklink.agent.encode.video import VideoMode, video_mode
from desklink.protocol.screen import FLAG_KEY, FLAG_REFINE, MAX_SIDE, Enc, Frame, Rect

__all__ = ["REFINE_EVERY", "SCROLL_MIN_TILES", "TEXT_BOX_SHARE", "EncoderStats", "ScreenEncoder"]

#: Changed tiles below which scroll detection is not tried (typing, a clock).
SCROLL_MIN_TILES = 8
#: Under constant motion, one refine frame after this many motion frames.
REFINE_EVERY = 4
#: On a screen of text on a character grid, a change that fills at least
#: this share of its bounding box's tiles is sent as that one box.
TEXT_BOX_SHARE = 0.25


@dataclass
class EncoderStats:
    """Counters for the metrics endpoint and the benchmark."""

    frames: int = 0
    key_frames: int = 0
    refine_frames: int = 0
    refine_rects: int = 0
    copies: int = 0
    png_rects: int = 0
    palette_rects: int = 0
    rects: int = 0
    bytes: int = 0
    last_encode_ms: float = 0.0


class ScreenEncoder:
    """Encode captures of a ``width x height`` screen into protocol frames.

    ``tile``: diff granularity in pixels. ``motion_quality`` / ``refine_quality``:
    JPEG qualities while moving (4:2:0) and once settled (4:4:4).
    ``settle_s``: how long a lossy tile must stay unchanged before it is
    refined. ``small_change_tiles``: a change of at most this many tiles is
    sent at refine quality at once. ``max_refine_tiles``: tiles refined per
    frame at most, so a settling full screen does not send one huge burst.
    ``palette``: the PALETTE coding's colour limit and zlib level
    (``PaletteOptions(colours=0)`` turns it off).
    """

    def __init__(self, width: int, height: int, *, tile: int = DEFAULT_TILE, motion_quality: int = 60,
                 refine_quality: int = 90, settle_s: float = 0.25, small_change_tiles: int = 4,
                 max_rects: int = MAX_RECTS_PER_FRAME, max_refine_tiles: int = 160, scroll: bool = True,
                 palette: PaletteOptions | None = None, video: VideoSettings | None = DEFAULT_VIDEO,
                 moves: bool = True) -> None:
        if tile < 16 or tile % 16:
            raise ValueError("tile must be a positive multiple of 16 (the 4:2:0 JPEG block)")
        for name, q in (("motion_quality", motion_quality), ("refine_quality", refine_quality)):
            if not 1 <= q <= 100:
                raise ValueError(f"{name} {q} is outside 1..100")
        if settle_s < 0 or small_change_tiles < 0 or max_rects < 1 or max_refine_tiles < 1:
            raise ValueError("settle_s, small_change_tiles must be >= 0; max_rects, max_refine_tiles >= 1")
        self.tile = tile
        self.motion_quality = motion_quality
        self.refine_quality = refine_quality
        self.settle_s = settle_s
        self.small_change_tiles = small_change_tiles
        self.max_rects = max_rects
        self.max_refine_tiles = max_refine_tiles
        self.scroll = scroll
        self.palette = palette or PaletteOptions()
        #: The session's PALETTE deflate stream (reset at every key frame).
        self.palette_stream = PaletteStream(self.palette.level) if self.palette.streamed else None
        self.video_settings = video
        self.video: VideoMode | None = None  # video mode (agent/encode/video.py); None without PyAV
        self.moves = moves
        self._find_moves = MoveDetector()
        self._dragging = False
        self.stats = EncoderStats()
        self.sent_image: npt.NDArray[np.uint8] | None = None
        self._latest: npt.NDArray[np.uint8] | None = None
        self._needs_key = True
        self._motion_run = 0
        self.width = self.height = 0
        self.lossy: Mask = np.zeros((0, 0), dtype=np.bool_)
        self.changed_at: npt.NDArray[np.float64] = np.zeros((0, 0))
        self._resize(width, height)

    # -- input --------------------------------------------------------------

    def _resize(self, width: int, height: int) -> None:
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
            raise ValueError(f"screen size {width}x{height} is outside 1..{MAX_SIDE}")
        self.width, self.height = width, height
        shape = grid_shape(width, height, self.tile)
        self.lossy = np.zeros(shape, dtype=np.bool_)
        self.changed_at = np.full(shape, -np.inf)
        self.sent_image = None
        self._needs_key = True
        self.video = video_mode(width, height, self.tile, self.video_settings)

    def update(self, image: npt.NDArray[np.uint8], now: float) -> None:
        """Record a new capture (``H x W x 4`` BGRA ``uint8``) taken at ``now``
        (monotonic seconds). O(1): the diff happens in :meth:`next_frame`. A
        new size makes the next frame a key frame."""
        if image.ndim != 3 or image.shape[2] != 4 or image.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 4 uint8 picture, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
        if (width, height) != (self.width, self.height):
            self._resize(width, height)
        self._latest = image

    def request_key(self) -> None:
        """Make the next :meth:`next_frame` a key frame (a viewer joined or
        asked for a refresh)."""
        self._needs_key = True

    @property
    def needs_key(self) -> bool:
        return self._needs_key

    # -- output -------------------------------------------------------------

    def next_frame(self, seq: int, now: float, capture_us: int) -> Frame | None:
        """The frame bringing the viewer up to the newest capture, a refine
        frame, or ``None`` when there is nothing to send. See the module
        docstring for the rules."""
        image = self._latest
        if image is None:
            return None
        previous = self.sent_image
        if self._needs_key or previous is None:
            return self.key_frame(seq, now, capture_us)
        started = time.perf_counter()
        if image is previous:
            mask = np.zeros_like(self.lossy)
        else:
            mask = changed_tiles(previous, image, self.tile)
        frame: Frame | None
        if self.video is not None:
            mask, video_rects = self.video.step(image, mask, now)
            if self.video.settled is not None:  # sent exact in this frame
                self.lossy[self._tiles_of(self.video.settled)] = False
        else:
            video_rects = []
        if mask.any():
            self.changed_at[mask] = now
            rects: list[Rect] = []
            if self._motion_run >= REFINE_EVERY:
                due = self._refine_due(now) & ~mask
                if due.any():
                    # From the *previous* picture: merging may pull changed
                    # tiles into a refine rectangle, and a COPY after it must
                    # still find the old pixels there.
                    rects = self._refine_rects(previous, due, max(1, self.max_refine_tiles // 4))
            frame = self._motion(seq, now, capture_us, image, mask, rects, video_rects)
        elif video_rects:  # only the video region changed (or settled)
            self.sent_image = image
            frame = Frame(seq, capture_us, self.width, self.height, tuple(video_rects), 0)
        else:
            self.sent_image = image  # identical pixels: adopt, so the next diff can be skipped
            due = self._refine_due(now)
            frame = None
            if due.any():
                rects = self._refine_rects(image, due, self.max_refine_tiles)
                frame = Frame(seq, capture_us, self.width, self.height, tuple(rects), FLAG_REFINE)
                self.stats.refine_frames += 1
        if self.video is not None and self.video.region is not None:
            # Lossy, so a COPY reading the region carries that along; never
            # refined while it plays (_refine_due), sent exact when it settles.
            self.lossy[self._tiles_of(self.video.region)] = True
        if frame is not None:
            self._count(frame, started)
        return frame

    def key_frame(self, seq: int, now: float, capture_us: int) -> Frame:
        """The whole newest capture as one rectangle at refine quality 4:4:4,
        ``FLAG_KEY``. Raises ``RuntimeError`` before the first :meth:`update`."""
        image = self._latest
        if image is None:
            raise RuntimeError("no capture yet: call update() first")
        started = time.perf_counter()
        if self.palette_stream is not None:
            self.palette_stream.reset()  # viewers join and recordings seek here
        coded = self._encode(image, (0, 0, self.width, self.height), self.refine_quality, "444")
        self.sent_image = image
        self.lossy[:] = False
        self.changed_at[:] = now
        self._needs_key = False
        self._motion_run = 0
        if self.video is not None:
            self.video.request_key()
        frame = Frame(seq, capture_us, self.width, self.height, tuple(c.rect for c in coded), FLAG_KEY)
        self.stats.key_frames += 1
        self._count(frame, started)
        return frame

    def statistics(self) -> EncoderStats:
        return self.stats

    # -- internals ----------------------------------------------------------

    def _count(self, frame: Frame, started: float) -> None:
        self.stats.frames += 1
        self.stats.rects += len(frame.rects)
        self.stats.bytes += frame.payload_bytes
        self.stats.last_encode_ms = (time.perf_counter() - started) * 1000.0

    def _refine_due(self, now: float) -> Mask:
        """Lossy tiles settled for ``settle_s``; when there are any, those
        settled for half of it join them, which saves a trickle of tiny
        refine frames after a scroll (tiles settle a frame apart)."""
        age = now - self.changed_at
        due = self.lossy & (age >= self.settle_s)
        if due.any():
            due |= self.lossy & (age >= self.settle_s / 2)
        if self.video is not None and self.video.region is not None:
            due[self._tiles_of(self.video.region)] = False
        return due

    def _encode(self, image: npt.NDArray[np.uint8], box: Box, quality: int, subsampling: Subsampling) -> list[Coded]:
        """The rectangles of a tile-aligned box: FILL, PALETTE (both exact) or
        JPEG, split where text meets pictures (agent/encode/choose.py)."""
        coded = encode_area(image, box, tile=self.tile, quality=quality, subsampling=subsampling, opts=self.palette,
                            stream=self.palette_stream)
        self.stats.palette_rects += sum(c.rect.enc is Enc.PALETTE for c in coded)
        return coded

    @staticmethod
    def _tight(previous: npt.NDArray[np.uint8], image: npt.NDArray[np.uint8], box: Box) -> Box | None:
        """The smallest box inside ``box`` holding every pixel that differs."""
        x, y, w, h = box
        diff = as_u32(previous[y : y + h, x : x + w]) != as_u32(image[y : y + h, x : x + w])
        rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
        if not rows.size:
            return None
        return x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)

    def _encode_exact(self, image: npt.NDArray[np.uint8], box: Box) -> Rect:
        """FILL when flat, else PALETTE, else PNG: exact pixels either way."""
        rect = encode_exact(image, box, self.palette, self.palette_stream)
        self.stats.palette_rects += rect.enc is Enc.PALETTE
        self.stats.png_rects += rect.enc is Enc.PNG
        return rect

    def _tiles_of(self, box: Box) -> tuple[slice, slice]:
        x, y, w, h = box
        t = self.tile
        return slice(y // t, -(-(y + h) // t)), slice(x // t, -(-(x + w) // t))

    def _motion(self, seq: int, now: float, capture_us: int, image: npt.NDArray[np.uint8], mask: Mask,
                rects: list[Rect], video_rects: list[Rect]) -> Frame:
        """Append the COPY and the changed rectangles to ``rects`` (refine
        rectangles already there show the previous picture, which is what
        the COPY and the changed rectangles are computed against), then the
        video region's rectangles (drawn last: they cover whatever a merged
        rectangle put over the region)."""
        assert self.sent_image is not None
        found = moved = None
        # While a window is being dragged sideways, skip the vertical search.
        if self.scroll and int(mask.sum()) >= SCROLL_MIN_TILES and not self._dragging:
            found = detect_scroll(self.sent_image, image, mask, self.tile)
            if found is not None:
                c = found.copy
                rects.append(Rect.copy(c.x, c.y, c.w, c.h, c.src_x, c.src_y))
                self._move_lossy(c)
                self.stats.copies += 1
                if self.video is not None:
                    self.video.tracker.moved(mask)  # a move and what it uncovered: never video
                mask = found.remaining
        if found is None and self.moves and int(mask.sum()) >= SCROLL_MIN_TILES:
            moved = self._find_moves(self.sent_image, image, mask, self.tile)
            self._dragging = moved is not None and any(c.x != c.src_x for c in moved.copies)
            for c in moved.copies if moved is not None else ():
                rects.append(Rect.copy(c.x, c.y, c.w, c.h, c.src_x, c.src_y))
                self.lossy = move_mask(self.lossy, c, self.tile, self.width, self.height)
                self.stats.copies += 1
            if moved is not None:
                if self.video is not None:
                    self.video.tracker.moved(mask)  # a dragged window is a move, never video
                mask = moved.remaining
        # After a COPY that may not be exact everywhere, only whole tiles are
        # sure to cover what differs (the tight box looks at the old picture).
        inexact = found is None and moved is not None
        small = int(mask.sum()) <= self.small_change_tiles
        quality = self.refine_quality if small else self.motion_quality
        subsampling: Subsampling = "444" if small else "420"
        text = np.zeros_like(mask)
        boxes = self._text_box(mask) or merge_rects(mask, self.tile, self.width, self.height, max_rects=self.max_rects)
        for box in boxes:
            tight = self._tight(self.sent_image, image, box) if small and not inexact else None
            if tight is not None and tight[2] * tight[3] <= MAX_PNG_PIXELS:
                # Typing-sized: exactly the changed pixels, lossless. Pixels
                # of the box outside it did not change, so their tiles keep
                # whatever lossy state they had.
                rects.append(self._encode_exact(image, tight))
                continue
            for coded in self._encode(image, box, quality, subsampling):
                rects.append(coded.rect)
                tiles = self._tiles_of((coded.rect.x, coded.rect.y, coded.rect.w, coded.rect.h))
                self.lossy[tiles] = not (small or coded.exact)
                self.changed_at[tiles] = now  # unchanged tiles merged in were re-sent too
                if self.video is not None and is_cells(coded.rect):
                    text[tiles] = True
        if self.video is not None and text.any():
            # Text flooding a terminal changes at video rates too, but goes far
            # smaller and exact as character cells: it never counts towards
            # video. (Other PALETTE areas do: a flat-colour animation is video.)
            self.video.tracker.moved(text)
        rects.extend(video_rects)
        self.sent_image = image
        self._motion_run += 1
        return Frame(seq, capture_us, self.width, self.height, tuple(rects), 0)

    def _text_box(self, mask: Mask) -> list[Box] | None:
        """One box around the whole change, when the screen shows text on a
        character grid (the stream found one) and the change fills at least
        :data:`TEXT_BOX_SHARE` of its bounding box: the unchanged text pulled
        in costs about a byte a character as CELLS, while every separate
        rectangle sends its own distinct cells again (a page of ragged prose:
        six to nine rectangles, 13-17 KB, against 2 KB as one)."""
        stream = self.palette_stream
        if stream is None or stream.grid is None or (self.video is not None and self.video.region is not None):
            return None  # (a video region inside the box would be sent twice)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if not rows.size:
            return None
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        if int(mask.sum()) < TEXT_BOX_SHARE * (r1 - r0) * (c1 - c0) or int(mask.sum()) <= self.small_change_tiles:
            return None
        t = self.tile
        x, y = c0 * t, r0 * t
        return [(x, y, min(c1 * t, self.width) - x, min(r1 * t, self.height) - y)]

    def _move_lossy(self, c: CopyRect) -> None:
        """Carry the lossy flags along with a COPY: a destination tile is lossy
        when any source tile it reads from is (or, partly covered, it was)."""
        t, old = self.tile, self.lossy.copy()
        cols = self._tiles_of((c.x, c.y, c.w, c.h))[1]
        full_cols = c.x % t == 0 and ((c.x + c.w) % t == 0 or c.x + c.w == self.width)
        for ty in range(c.y // t, -(-(c.y + c.h) // t)):
            r0, r1 = max(ty * t, c.y), min((ty + 1) * t, c.y + c.h, self.height)
            s0, s1 = (r0 - c.dy) // t, (r1 - 1 - c.dy) // t + 1
            src = old[s0:s1, cols].any(axis=0)
            full = full_cols and r0 == ty * t and r1 == min((ty + 1) * t, self.height)
            self.lossy[ty, cols] = src if full else (src | old[ty, cols])

    def _refine_rects(self, image: npt.NDArray[np.uint8], due: Mask, cap: int) -> list[Rect]:
        """Refine-quality 4:4:4 rectangles for at most ``cap`` of the ``due``
        tiles (first in reading order) of ``image``; clears their lossy flags."""
        if int(due.sum()) > cap:
            keep = np.flatnonzero(due)[:cap]
            due = np.zeros_like(due)
            due.flat[keep] = True
        rects: list[Rect] = []
        for box in merge_rects(due, self.tile, self.width, self.height, max_rects=self.max_rects):
            rects.extend(c.rect for c in self._encode(image, box, self.refine_quality, "444"))
            self.lossy[self._tiles_of(box)] = False
        self._motion_run = 0
        self.stats.refine_rects += len(rects)
        return rects

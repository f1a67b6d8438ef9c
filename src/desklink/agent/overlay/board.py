"""The board: the strokes, the pixels they cover, and what lay beneath them
(see the package docstring for the threads and the ordering)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from desklink.protocol import limits
from desklink.agent.overlay.raster import Mask, _normalize, rasterize_box


@dataclass
class _Stroke:
    key: int
    msg: dict[str, Any]
    x0: int
    y0: int
    mask: Mask
    born: float

    @property
    def expires(self) -> float:
        fade = self.msg["fade_s"]
        return self.born + fade if fade > 0 else math.inf


@dataclass
class _Linger:
    version: int
    x0: int
    y0: int
    mask: Mask
    settled_at: int | None = None  # the mask-call count when the UI confirmed


@dataclass
class BoardView:
    """What the overlay paints: the live strokes in order (``(key, msg)``)
    and the pixels it may show (live strokes whose beneath the board holds),
    as of ``version``."""

    version: int
    strokes: list[tuple[int, dict[str, Any]]]
    shown: Mask
    next_expiry: float = math.inf
    width: int = 0
    height: int = 0


def _contains(x0: int, y0: int, m: Mask, s: _Stroke) -> bool:
    """Does the raster ``m`` placed at (x0, y0) cover every pixel of ``s``?
    (A pen stroke that grew by more points does.)"""
    h, w = s.mask.shape
    ox, oy = s.x0 - x0, s.y0 - y0
    if ox < 0 or oy < 0 or ox + w > m.shape[1] or oy + h > m.shape[0]:
        return False
    return not (s.mask & ~m[oy : oy + h, ox : ox + w]).any()


class Board:
    """The agent's strokes, the pixels they cover, and what lies beneath
    them. Thread-safe: every method takes the board's lock."""

    def __init__(self, width: int, height: int, *, clock: Callable[[], float] = time.monotonic,
                 max_strokes: int = limits.MAX_STROKES) -> None:
        self.clock = clock
        self.max_strokes = max_strokes
        self._lock = threading.Lock()
        self._serial = 0
        #: How many times the board was reset (a stroke begun before a reset is void).
        self.resets = 0
        self._init(width, height)

    def _init(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        self._strokes: dict[int, _Stroke] = {}
        self._by_id: dict[str, int] = {}
        self._linger: list[_Linger] = []
        self.version: int = getattr(self, "version", -1) + 1
        self._cover = np.zeros((self.height, self.width), dtype=bool)
        self._live = np.zeros((self.height, self.width), dtype=bool)
        self._held = np.zeros((self.height, self.width), dtype=bool)
        self._beneath = np.zeros((self.height, self.width), dtype=np.uint32)
        self._box: tuple[int, int, int, int] | None = None  # cover's bbox (y0, y1, x0, x1)
        self._idx: npt.NDArray[np.intp] | None = None  # flat indices of cover
        self._vals: npt.NDArray[np.uint32] | None = None
        self._unheld = False  # may some covered pixel lack its beneath?
        self._masks = 0
        self._latest: npt.NDArray[np.uint8] | None = None

    # ------------------------------------------------------------ messages

    def apply(self, msg: dict[str, Any]) -> bool:
        """Take one ``annotate`` message (stroke, undo or clear). Returns
        whether the board changed. Coordinates are shared-monitor pixels.
        A stroke is rasterized before the lock is taken, so captures never
        wait for it."""
        op = msg.get("op")
        if op == "stroke":
            clean = _normalize(msg)
            if clean is None:
                return False
            size = (self.width, self.height)
            box = rasterize_box(clean, *size)
            with self._lock:
                if size != (self.width, self.height):  # reset meanwhile: draw on the new size
                    box = rasterize_box(clean, self.width, self.height)
                if box is None:
                    return False
                self._add(clean, box)
                return True
        with self._lock:
            if op == "clear":
                if not self._strokes:
                    return False
                self._remove(list(self._strokes))
                return True
            if op == "undo":
                key = self._by_id.get(str(msg.get("id") or ""))
                if key is None:
                    return False
                self._remove([key])
                return True
            return False

    def _add(self, clean: dict[str, Any], box: tuple[int, int, Mask]) -> None:
        x0, y0, m = box
        old: list[int] = []
        grown: int | None = None  # the same stroke, longer: every pixel it had stays
        if clean["id"] in self._by_id:
            prev = self._strokes[self._by_id[clean["id"]]]
            if _contains(x0, y0, m, prev):
                grown = prev.key
            else:
                old.append(prev.key)
        overflow = len(self._strokes) + 1 - len(old) - (grown is not None) - self.max_strokes
        if overflow > 0:
            old += [k for k in self._strokes if k not in old and k != grown][:overflow]
        if grown is not None:
            del self._strokes[grown]  # no pixel leaves the screen: nothing to linger
        if old:
            self._remove(old, recompute=False)
        self._serial += 1
        stroke = _Stroke(self._serial, clean, x0, y0, m, self.clock())
        self._strokes[stroke.key] = stroke
        if clean["id"]:
            self._by_id[clean["id"]] = stroke.key
        self.version += 1
        if old:
            self._recompute()
            return
        # Only added: grow the masks in place.
        y1, x1 = y0 + m.shape[0], x0 + m.shape[1]
        self._live[y0:y1, x0:x1] |= m
        self._cover[y0:y1, x0:x1] |= m
        if self._box is None:
            self._box = (y0, y1, x0, x1)
        else:
            by0, by1, bx0, bx1 = self._box
            self._box = (min(by0, y0), max(by1, y1), min(bx0, x0), max(bx1, x1))
        self._idx = self._vals = None
        self._unheld = True

    def expire(self, now: float | None = None) -> bool:
        """Remove the strokes whose ``fade_s`` has run out (the overlay calls
        this on its timer). Returns whether any went."""
        now = self.clock() if now is None else now
        with self._lock:
            gone = [k for k, s in self._strokes.items() if s.expires <= now]
            if gone:
                self._remove(gone)
            return bool(gone)

    def reset(self, width: int, height: int) -> None:
        """Forget everything (the shared monitor changed)."""
        with self._lock:
            self.resets += 1
            self._init(width, height)

    def _remove(self, keys: Iterable[int], recompute: bool = True) -> None:
        self.version += 1
        for key in keys:
            s = self._strokes.pop(key, None)
            if s is None:
                continue
            if s.msg["id"] and self._by_id.get(s.msg["id"]) == key:
                del self._by_id[s.msg["id"]]
            self._linger.append(_Linger(self.version, s.x0, s.y0, s.mask))
        if recompute:
            self._recompute()

    def _recompute(self) -> None:
        self._live[:] = False
        for s in self._strokes.values():
            self._live[s.y0 : s.y0 + s.mask.shape[0], s.x0 : s.x0 + s.mask.shape[1]] |= s.mask
        np.copyto(self._cover, self._live)
        for g in self._linger:
            self._cover[g.y0 : g.y0 + g.mask.shape[0], g.x0 : g.x0 + g.mask.shape[1]] |= g.mask
        self._held &= self._cover
        rows = np.flatnonzero(self._cover.any(axis=1))
        if len(rows):
            cols = np.flatnonzero(self._cover[rows[0] : rows[-1] + 1].any(axis=0))
            self._box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        else:
            self._box = None
        self._idx = self._vals = None
        self._unheld = True

    # ------------------------------------------------------------ pixels

    def beneath_from(self, image: npt.NDArray[np.uint8] | None = None) -> int:
        """Remember, for pixels newly covered by a stroke, what ``image``
        shows there: a capture of the shared monitor (BGRA, H x W x 4) taken
        before the stroke was painted. Without ``image``: the newest capture
        :meth:`mask` has seen. Returns how many pixels were taken."""
        with self._lock:
            return self._take_beneath(self._latest if image is None else image)

    def _take_beneath(self, image: npt.NDArray[np.uint8] | None) -> int:
        if image is None or self._box is None or not self._unheld or image.shape[:2] != (self.height, self.width):
            return 0
        y0, y1, x0, x1 = self._box
        new = self._cover[y0:y1, x0:x1] & ~self._held[y0:y1, x0:x1]
        self._unheld = False
        if not new.any():
            return 0
        src = np.ascontiguousarray(image[y0:y1, x0:x1]).view(np.uint32)[..., 0]
        self._beneath[y0:y1, x0:x1][new] = src[new]
        self._held[y0:y1, x0:x1] |= new
        self._vals = None
        if (new & self._live[y0:y1, x0:x1]).any():
            # The overlay may show more now (a stroke that came before any
            # capture, e.g. replayed after a reconnect): a new version makes
            # it repaint on its next tick.
            self.version += 1
        return int(new.sum())

    def mask(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Replace, in place, every pixel of a fresh capture (BGRA, H x W x 4,
        C-contiguous) that the overlay may be showing with what lies beneath
        it; returns ``image``. Call right after each grab, on one thread."""
        with self._lock:
            self._masks += 1
            if self._linger:
                keep = [g for g in self._linger if g.settled_at is None or self._masks < g.settled_at + 2]
                if len(keep) != len(self._linger):
                    self._linger = keep
                    self._recompute()
            if image.shape[:2] != (self.height, self.width) or image.dtype != np.uint8 or image.shape[2] != 4:
                return image  # another monitor or size: the board will be reset
            self._latest = image
            if self._box is None:
                return image
            self._take_beneath(image)
            if self._idx is None:
                y0, y1, x0, x1 = self._box
                ys, xs = np.nonzero(self._cover[y0:y1, x0:x1])
                self._idx = (ys + y0) * self.width + (xs + x0)
                self._vals = None
            if self._vals is None:
                self._vals = self._beneath.reshape(-1)[self._idx]
            if image.flags.c_contiguous:
                image.view(np.uint32).reshape(-1)[self._idx] = self._vals
            else:
                yy, xx = np.unravel_index(self._idx, (self.height, self.width))
                image[yy, xx] = self._vals.view(np.uint8).reshape(-1, 4)
            return image

    # ------------------------------------------------------------ for the UI

    def view(self) -> BoardView:
        """A consistent copy of what the overlay should show now."""
        with self._lock:
            return BoardView(
                version=self.version,
                strokes=[(s.key, s.msg) for s in self._strokes.values()],
                shown=self._live & self._held,
                next_expiry=min((s.expires for s in self._strokes.values()), default=math.inf),
                width=self.width,
                height=self.height,
            )

    def settle(self, version: int) -> None:
        """The overlay shows ``version`` now (the X server has processed
        it): strokes removed up to it may leave the mask after two more
        captures."""
        with self._lock:
            for g in self._linger:
                if g.version <= version and g.settled_at is None:
                    g.settled_at = self._masks

    # ------------------------------------------------------------ queries

    @property
    def needs_grab(self) -> bool:
        """Strokes the overlay has already taken off the screen are still
        masked: the next grabs let their pixels through again, so grab even
        when the capture backend says nothing changed."""
        with self._lock:
            return any(g.settled_at is not None for g in self._linger)

    @property
    def ids(self) -> list[str]:
        with self._lock:
            return [s.msg["id"] for s in self._strokes.values()]

    def covered(self) -> Mask:
        """A copy of the pixels :meth:`mask` replaces now."""
        with self._lock:
            return self._cover.copy()

    def __len__(self) -> int:
        with self._lock:
            return len(self._strokes)

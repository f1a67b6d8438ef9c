"""Vertical scroll and move detection: send a COPY instead of re-encoding.

Why: scrolling a page re-draws every pixel of its area, so the tile diff
marks it all as changed and JPEG re-sends it (174 KB per frame for a browser
scroll at 1080p), yet all but a strip of it is the old picture moved by
``dy`` rows. One COPY plus the exposed strip was 23 KB.

How:

1. Hash every row of the dirty box per *column strip* (``strip`` pixels
   wide, tile-aligned): the sum of its pixels as 64-bit words. Strips let a
   scrolling page match even though its scrollbar, a sticky sidebar or a
   window edge in the same rows did not move. The hash is weak (order
   blind); every candidate is verified pixel-exact, so a collision can only
   cost time, never a wrong picture.
2. Vote: for sample rows that changed and are not repeats of the row above
   (blank rows match everything), look up previous rows with the same hash
   in the same strip; each match votes for ``dy = y_now - y_before``.
3. For the best few shifts, compare the hash grids shifted by ``dy``; for
   each of :data:`STRIP_THRESHOLDS`, keep the longest run of strips where at
   least that share of rows match, then the longest run of rows where all
   those strips match; verify the largest such block pixel-exactly.

Limits: vertical only (moves in any direction, and a second region, are
:mod:`~desklink.agent.encode.moves`' job: the encoder tries it when this
finds nothing), one COPY per frame,
shifts leaving less than :data:`MIN_ROWS` rows of overlap are ignored.
Cost: a few milliseconds for a full 1080p box, mostly the two row hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.tiles import Mask, as_u32, reduce_tiles, tile_box

__all__ = ["MIN_ROWS", "CopyRect", "Scroll", "apply_copy", "detect_scroll", "find_scroll"]

#: Fewest rows a COPY must move to be worth it (and to trust a match).
MIN_ROWS = 16
#: Strips that vote (the most informative ones), and sample rows per strip.
VOTE_STRIPS = 8
SAMPLES = 24
#: A previous-row hash shared by more rows than this is too common to vote.
MAX_MULTIPLICITY = 4
#: Candidate shifts tried (best voted first), and candidate copies verified.
CANDIDATES = 3
#: Share of matching rows that admits a strip into the copy, tried in turn:
#: a loose one keeps strips with a few changed rows (the copy then gets
#: shorter), a strict one drops them (the copy gets narrower); the larger
#: copy wins. A scrollbar whose thumb moved is the typical strict case.
STRIP_THRESHOLDS = (0.5, 0.8, 0.97)


@dataclass(frozen=True, slots=True)
class CopyRect:
    """Copy the ``w x h`` block at ``(src_x, src_y)`` to ``(x, y)``."""

    x: int
    y: int
    w: int
    h: int
    src_x: int
    src_y: int

    @property
    def dy(self) -> int:
        return self.y - self.src_y


@dataclass(frozen=True, slots=True)
class Scroll:
    """A detected move: the COPY, and the tile mask still differing once it
    is applied (send those tiles as pictures after the COPY)."""

    copy: CopyRect
    remaining: Mask


def _row_hashes(img: npt.NDArray[np.uint32], strips: int, strip: int) -> npt.NDArray[np.uint64]:
    """``rows x strips`` hashes: the wrapped sum of each strip row's pixels,
    taken two at a time as 64-bit words (``strip`` is even). ``add.reduceat``
    along the rows is 2-4x faster than a reshape and ``sum(axis=2)``."""
    words = img[:, : strips * strip].view(np.uint64)
    return np.add.reduceat(words, np.arange(0, strips * strip // 2, strip // 2), axis=1)


def _longest_run(flags: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """``(start, end)`` of the longest run of True (``(0, 0)`` if none)."""
    if not flags.any():
        return 0, 0
    padded = np.concatenate(([False], flags, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


def _votes(hp: npt.NDArray[np.uint64], hc: npt.NDArray[np.uint64], max_shift: int) -> list[int]:
    """Candidate shifts, most voted first, from the :data:`VOTE_STRIPS`
    strips with the most changed, non-repeated rows."""
    changed = hc != hp
    useful = changed.copy()
    useful[1:] &= hc[1:] != hc[:-1]
    per_strip = useful.sum(axis=0)
    chosen = np.argsort(-per_strip, kind="stable")[:VOTE_STRIPS]
    chosen = chosen[per_strip[chosen] > 0]
    order = np.argsort(hp[:, chosen], axis=0, kind="stable")
    found: list[npt.NDArray[np.int64]] = []
    for i, s in enumerate(chosen):
        cand = np.flatnonzero(useful[:, s])
        sample = cand[np.linspace(0, cand.size - 1, min(SAMPLES, cand.size)).astype(np.int64)]
        sorted_h = hp[order[:, i], s]
        lo = np.searchsorted(sorted_h, hc[sample, s], side="left")
        count = np.searchsorted(sorted_h, hc[sample, s], side="right") - lo
        count[count > MAX_MULTIPLICITY] = 0  # too common (blank, repeated) to vote
        for k in range(MAX_MULTIPLICITY):
            hit = count > k
            if not hit.any():
                break
            found.append(sample[hit] - order[lo[hit] + k, i])
    if not found:
        return []
    dys = np.concatenate(found)
    dys = dys[(dys != 0) & (np.abs(dys) <= max_shift)]
    if dys.size == 0:
        return []
    values, counts = np.unique(dys, return_counts=True)
    best = np.argsort(-counts, kind="stable")[:CANDIDATES]
    return [int(values[k]) for k in best if counts[k] >= 2]


def find_scroll(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8], box: tuple[int, int, int, int],
                *, strip: int = 64) -> CopyRect | None:
    """Find a vertical move inside ``box`` (``x, y, w, h`` pixels) from
    ``prev`` to ``cur``: a COPY whose destination pixels in ``cur`` equal its
    source pixels in ``prev`` exactly, or ``None``."""
    bx, by, bw, bh = box
    strip = min(strip, bw) & ~1
    if strip == 0 or bh < 2 * MIN_ROWS:
        return None
    strips = bw // strip
    p = as_u32(prev)[by : by + bh, bx : bx + bw]
    c = as_u32(cur)[by : by + bh, bx : bx + bw]
    hp = _row_hashes(p, strips, strip)
    hc = _row_hashes(c, strips, strip)
    options: list[tuple[int, int, int, int, int, int]] = []  # (area, dy, rows a..b, strips s0..s1)
    for dy in _votes(hp, hc, bh - MIN_ROWS):
        r0, r1 = max(0, dy), bh + min(0, dy)  # destination rows with a source inside the box
        eq = hc[r0:r1] == hp[r0 - dy : r1 - dy]
        share = eq.mean(axis=0)
        for threshold in STRIP_THRESHOLDS:
            s0, s1 = _longest_run(share >= threshold)
            if s1 == s0:
                continue
            a, b = _longest_run(eq[:, s0:s1].all(axis=1))
            if b - a >= MIN_ROWS:
                options.append(((b - a) * (s1 - s0), dy, r0 + a, r0 + b, s0, s1))
    options.sort(reverse=True)
    for _, dy, ya, yb, s0, s1 in options[:CANDIDATES]:
        xa, xb = s0 * strip, s1 * strip
        if np.array_equal(c[ya:yb, xa:xb], p[ya - dy : yb - dy, xa:xb]):
            return CopyRect(bx + xa, by + ya, xb - xa, yb - ya, bx + xa, by + ya - dy)
        # else a hash collision: never send a wrong picture
    return None


def apply_copy(image: npt.NDArray[np.uint8], copy: CopyRect) -> None:
    """Apply ``copy`` to ``image`` in place with the protocol's semantics
    (the source is read as it was before the copy, so overlap is safe)."""
    src = image[copy.src_y : copy.src_y + copy.h, copy.src_x : copy.src_x + copy.w].copy()
    image[copy.y : copy.y + copy.h, copy.x : copy.x + copy.w] = src


def detect_scroll(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8], mask: Mask, tile: int,
                  *, min_gain: float = 0.25) -> Scroll | None:
    """Look for a move in the bounding box of the changed tiles ``mask``.
    Returns it with the tiles still differing after the COPY, if the COPY
    saves at least ``min_gain`` of the changed tiles; else ``None``."""
    height, width = cur.shape[:2]
    box = tile_box(mask, tile, width, height)
    if box is None:
        return None
    copy = find_scroll(prev, cur, box, strip=tile)
    if copy is None:
        return None
    bx, by, bw, bh = box
    # The COPY's destination equals ``cur`` exactly (verified), so what still
    # differs is the original difference outside it: no picture copy needed.
    still = as_u32(prev)[by : by + bh, bx : bx + bw] != as_u32(cur)[by : by + bh, bx : bx + bw]
    still[copy.y - by : copy.y - by + copy.h, copy.x - bx : copy.x - bx + copy.w] = False
    remaining = np.zeros_like(mask)
    ty, tx = by // tile, bx // tile
    sub = reduce_tiles(still, tile)
    remaining[ty : ty + sub.shape[0], tx : tx + sub.shape[1]] = sub
    before = int(mask.sum())
    if before - int(remaining.sum()) < min_gain * before:
        return None
    return Scroll(copy, remaining)

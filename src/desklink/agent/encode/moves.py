"""Moves in any direction: a window or region moved by ``(dx, dy)`` becomes a
COPY plus what it uncovered.

Why: dragging a terminal window redraws it at its new place and uncovers
what was under it; the tile diff marks both as changed and the encoder would
re-send the window's pixels every frame. All but the uncovered strip is the
old picture moved by ``(dx, dy)``: one COPY (12 bytes) and the strip.
:mod:`~desklink.agent.encode.scroll` finds vertical moves only (its row
hashes are per fixed column strip); this module finds any displacement.

How (sans-I/O, pure numpy):

1. **Anchors.** In the bounding box of the changed tiles of the new
   capture, sample up to :data:`ANCHORS` horizontal runs of :data:`RUN`
   pixels (every half run along the sampled rows) that changed, have at
   least :data:`MIN_EDGES` colour changes and are not a repeat of the run
   just left of them (blank or repeated runs match everywhere).
2. **Hash the old picture.** Every run of :data:`RUN` pixels on every
   :data:`ROW_STEP`-th row of the old picture in that box gets a rolling
   polynomial hash (one cumulative sum along the rows). Anchors come in
   blocks of ROW_STEP consecutive rows, so whatever the move, some land on
   hashed rows.
3. **Vote.** A small table (the low bits of the anchors' hashes) screens
   the old runs; runs passing it are matched exactly against the anchors'
   hashes, and each match votes for ``(dx, dy) = anchor - old position``.
   Anchors found at more than :data:`MAX_MULTIPLICITY` places do not vote.
   Displacements with at least :data:`MIN_VOTES` votes are candidates.
4. **Region.** For the best candidates, the map of pixels where the new
   picture equals the old one moved by ``(dx, dy)`` (exact comparison); the
   largest block of it (columns where most rows match, then the longest
   run of rows where at least :data:`ROW_MATCH` of those columns match) is
   the COPY. The tiles it touches are then compared pixel by pixel with the
   new picture: any that still differ (a cursor that blinked inside the
   moved window) are sent as pictures after the COPY, so the viewer's
   picture is always exactly the new one; a hash collision can only cost
   time, never a wrong picture.
5. **More than one.** After a move is found, when the tiles still
   differing are at least half as many as it cleared (more than the strip
   a moved window uncovers), the search runs again (at most ``max_moves``
   in all) on them, against the old
   picture with the COPY applied (the protocol reads a COPY's source from
   the picture as it is before that rectangle, so a second COPY must read
   from the picture the first one left).

:class:`MoveDetector` backs off while searches find nothing (a video, a
flood of text), so those frames do not pay for it.

Limits: the source of a move is searched inside the box of the changed
tiles (a moved window uncovers its old place, which is changed, so it is
there); moves smaller than :data:`MIN_SIDE` pixels on a side, or saving
fewer than ``min_gain`` of the tiles they land on, are not sent. Cost: about
2-4 hashes-worth of passes over the box; timings at 1080p in
bench/screen_encode.py (``drag``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.scroll import CopyRect, apply_copy
from desklink.agent.encode.tiles import Mask, as_u32, reduce_tiles, tile_box

__all__ = ["ANCHORS", "MAX_MULTIPLICITY", "MIN_EDGES", "MIN_SIDE", "MIN_VOTES", "RUN", "Move", "MoveDetector", "detect_moves", "find_move", "move_mask"]

#: Pixels in a hashed horizontal run.
RUN = 16
#: Anchors sampled from the new picture, at most (about 1/ROW_STEP of
#: them vote for the true displacement).
ANCHORS = 384
#: Colour changes along a run that make it an anchor: runs with fewer
#: (blank, a lone glyph stroke) recur all over a screen and vote for noise.
MIN_EDGES = 4
#: An anchor found at more places than this in the old picture does not vote.
MAX_MULTIPLICITY = 4
#: The old picture is hashed on every ROW_STEP-th row (see _anchors).
ROW_STEP = 4
#: Votes a displacement needs to be tried, and candidates tried at most.
MIN_VOTES = 3
CANDIDATES = 3
#: Smallest side of a COPY, pixels.
MIN_SIDE = 16
#: Bits of the screening table (a 2**TABLE_BITS boolean table).
TABLE_BITS = 16
#: Share of matching rows that admits a column into the copy, tried in turn
#: (the largest copy wins); see scroll.STRIP_THRESHOLDS.
COL_THRESHOLDS = (0.5, 0.9, 1.0)
#: Share of a row's pixels that must match for the row to join the copy.
ROW_MATCH = 0.95

_MIX = np.uint32(0x9E3779B1)


@dataclass(frozen=True, slots=True)
class Move:
    """Detected moves, in the order they must be applied, and the tile mask
    still differing once they are (sent as pictures after them)."""

    copies: tuple[CopyRect, ...]
    remaining: Mask


def _mixed(px: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """A per-pixel value whose weighted wrapped sums make a usable run hash
    (plain pixel sums collide a lot on anti-aliased text)."""
    v = px * _MIX
    v ^= v >> np.uint32(15)
    return v


_BASE = 0x01000193  # odd, so invertible modulo 2**32
_BASE_INV = pow(_BASE, -1, 1 << 32)
_powers: dict[int, tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]] = {}


def _pow_table(n: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """``B**i`` and ``B**-i`` modulo 2**32 for ``i < n`` (cached per width)."""
    got = _powers.get(n)
    if got is None:
        up, down, a, b = [], [], 1, 1
        for _ in range(n):
            up.append(a)
            down.append(b)
            a, b = a * _BASE % (1 << 32), b * _BASE_INV % (1 << 32)
        got = _powers[n] = (np.array(up, dtype=np.uint32), np.array(down, dtype=np.uint32))
    return got


def _run_hashes(px: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """``rows x (cols - RUN + 1)``: a polynomial hash of the run starting at
    each column (order-sensitive: ``sum f(p[x+k]) B**k`` modulo 2**32), by
    one cumulative sum along the rows of ``f(p) B**x``, then scaled back by
    ``B**-x``. 32 bits: half the memory traffic of 64, and a collision only
    costs a wasted vote (every COPY is verified)."""
    up, down = _pow_table(px.shape[1])
    v = _mixed(px)
    v *= up
    c = np.cumsum(v, axis=1, dtype=np.uint32)
    out = c[:, RUN - 1 :].copy()
    out[:, 1:] -= c[:, : -RUN]
    out *= down[: out.shape[1]]
    return out


def _longest_run(flags: npt.NDArray[np.bool_]) -> tuple[int, int]:
    if not flags.any():
        return 0, 0
    padded = np.concatenate(([False], flags, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


def _anchors(p: npt.NDArray[np.uint32], c: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    """Sampled anchor runs of the new picture ``c`` (box coordinates):
    ``(ys, xs, hashes)``, from blocks of :data:`ROW_STEP` consecutive rows
    (the old picture is hashed on every ROW_STEP-th row only: whatever
    ``dy``, one row of each block lands on a hashed row)."""
    h, w = c.shape
    step_y = max(ROW_STEP, h // 64)
    rows = (np.arange(0, h, step_y)[:, None] + np.arange(ROW_STEP)[None, :]).ravel()
    rows = rows[rows < h]
    half = RUN // 2
    blocks = w // half
    if blocks < 2 or rows.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint32)
    # Runs start every half run: hash, change and colour changes per half-run
    # block (reshapes, no cumulative sums), then a run is two blocks.
    sub_c = c[rows, : blocks * half]
    starts = np.arange(blocks - 1) * half
    up = _pow_table(half + 1)[0]
    v = _mixed(sub_c).reshape(rows.size, blocks, half)
    v *= up[:half]
    part = v.sum(axis=2, dtype=np.uint32)
    hc = part[:, :-1] + part[:, 1:] * up[half]  # == _run_hashes(sub_c)[:, starts]
    changed_b = (sub_c != p[rows, : blocks * half]).reshape(rows.size, blocks, half).any(axis=2)
    changed = changed_b[:, :-1] | changed_b[:, 1:]
    steps = np.zeros(sub_c.shape, dtype=np.uint8)
    steps[:, :-1] = sub_c[:, 1:] != sub_c[:, :-1]
    per_b = steps.reshape(rows.size, blocks, half).sum(axis=2, dtype=np.int16)
    edges = per_b[:, :-1] + per_b[:, 1:]  # the colour changes along the run (+- the one leaving it)
    useful = changed & (edges >= MIN_EDGES)
    useful[:, 1:] &= hc[:, 1:] != hc[:, :-1]
    ys, xi = np.nonzero(useful)
    if ys.size > ANCHORS:
        pick = np.linspace(0, ys.size - 1, ANCHORS).astype(np.int64)
        ys, xi = ys[pick], xi[pick]
    return rows[ys].astype(np.int64), starts[xi].astype(np.int64), hc[ys, xi]


def _votes(p: npt.NDArray[np.uint32], ay: npt.NDArray[np.int64], ax: npt.NDArray[np.int64],
           ah: npt.NDArray[np.uint32]) -> list[tuple[int, int, int]]:
    """``[(votes, dx, dy), ...]`` best first, at least :data:`MIN_VOTES` each."""
    hp = _run_hashes(p[::ROW_STEP])
    mask = np.uint32((1 << TABLE_BITS) - 1)
    table = np.zeros(1 << TABLE_BITS, dtype=np.bool_)
    table[(ah & mask).astype(np.intp)] = True
    hit_y, hit_x = np.nonzero(table[(hp & mask).astype(np.intp)])
    if hit_y.size == 0:
        return []
    hit_h = hp[hit_y, hit_x]
    hit_y = hit_y * ROW_STEP
    order = np.argsort(ah, kind="stable")
    sorted_h = ah[order]
    lo = np.searchsorted(sorted_h, hit_h, side="left")
    hi = np.searchsorted(sorted_h, hit_h, side="right")
    dxs: list[npt.NDArray[np.int64]] = []
    dys: list[npt.NDArray[np.int64]] = []
    count = hi - lo
    # Anchors found too often (a repeated word) vote for nothing.
    per_anchor = np.zeros(ah.size, dtype=np.int64)
    np.add.at(per_anchor, order[lo[count > 0]], 1)
    count[per_anchor[order[np.minimum(lo, ah.size - 1)]] > MAX_MULTIPLICITY] = 0
    for k in range(int(count.max(initial=0))):
        sel = count > k
        a = order[lo[sel] + k]
        dxs.append(ax[a] - hit_x[sel])
        dys.append(ay[a] - hit_y[sel])
    if not dxs:
        return []
    dx, dy = np.concatenate(dxs), np.concatenate(dys)
    keep = (dx != 0) | (dy != 0)
    dx, dy = dx[keep], dy[keep]
    if dx.size == 0:
        return []
    span = 2 * max(p.shape) + 1
    key = (dy + max(p.shape)) * span + (dx + max(p.shape))
    values, counts = np.unique(key, return_counts=True)
    best = np.argsort(-counts, kind="stable")[:CANDIDATES]
    out = []
    for k in best:
        if counts[k] < MIN_VOTES:
            break
        ky, kx = divmod(int(values[k]), span)
        out.append((int(counts[k]), kx - max(p.shape), ky - max(p.shape)))
    return out


def _region(p: npt.NDArray[np.uint32], c: npt.NDArray[np.uint32], dx: int, dy: int) -> tuple[int, int, int, int] | None:
    """The largest block ``(x0, y0, x1, y1)`` (box coordinates, destination)
    where ``c`` equals ``p`` moved by ``(dx, dy)``, but for at most
    ``1 - ROW_MATCH`` of each row, or ``None``."""
    h, w = c.shape
    x0, x1 = max(0, dx), w + min(0, dx)
    y0, y1 = max(0, dy), h + min(0, dy)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        return None
    eq = c[y0:y1, x0:x1] == p[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    # Only rows where the move shows at all: a moved window is a band of
    # rows; rows that merely match by chance (flat background) widen it.
    row_any = np.count_nonzero(eq, axis=1) * 4 >= eq.shape[1]
    ra, rb = _longest_run(row_any)
    best: tuple[int, int, int, int, int] | None = None
    if rb - ra < MIN_SIDE:
        return None
    band = eq[ra:rb]
    share = np.count_nonzero(band, axis=0) / band.shape[0]
    for threshold in COL_THRESHOLDS:
        ca, cb = _longest_run(share >= threshold)
        if cb - ca < MIN_SIDE:
            continue
        # Rows where all those columns match, or nearly all: a blinking text
        # cursor inside a dragged window must not cut the copy short (the
        # few pixels that differ are sent after it, see _after_copy). Each
        # block scores its area less what its differing pixels would cost
        # to re-send (a 64 px cell each), so rows that differ a lot lose.
        matched = np.count_nonzero(band[:, ca:cb], axis=1)
        for need in (cb - ca, ROW_MATCH * (cb - ca)):
            a, b = _longest_run(matched >= need)
            if b - a < MIN_SIDE:
                continue
            bad = ~band[a:b, ca:cb]
            cells = 0
            if need < cb - ca and bad.any():
                ys, xs = np.nonzero(bad)
                cells = np.unique((ys // 64) * 4096 + xs // 64).size
            score = (b - a) * (cb - ca) - cells * 64 * 64 * 2
            if best is None or score > best[0]:
                best = (score, x0 + ca, y0 + ra + a, x0 + cb, y0 + ra + b)
    if best is None:
        return None
    return best[1:]


def find_move(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> CopyRect | None:
    """Find a region inside ``box`` (``x, y, w, h``) moved by any ``(dx, dy)``
    from ``prev`` to ``cur``: a COPY (source and destination inside ``box``)
    whose destination pixels in ``cur`` equal its source pixels in ``prev``
    but for at most ``1 - ROW_MATCH`` of each row (:func:`detect_moves`
    sends those after it), or ``None``."""
    bx, by, bw, bh = box
    if bw < max(RUN, MIN_SIDE) + 1 or bh < MIN_SIDE + 1:
        return None
    p = as_u32(prev)[by : by + bh, bx : bx + bw]
    c = as_u32(cur)[by : by + bh, bx : bx + bw]
    ay, ax, ah = _anchors(p, c)
    if ah.size < MIN_VOTES:
        return None
    best: tuple[int, int, int, tuple[int, int, int, int]] | None = None  # (area, dx, dy, block)
    for _n, dx, dy in _votes(p, ay, ax, ah):
        region = _region(p, c, dx, dy)
        if region is None:
            continue
        x0, y0, x1, y1 = region
        area = (x1 - x0) * (y1 - y0)
        if best is None or area > best[0]:
            best = (area, dx, dy, region)
    if best is None:
        return None
    _, dx, dy, (x0, y0, x1, y1) = best
    return CopyRect(bx + x0, by + y0, x1 - x0, y1 - y0, bx + x0 - dx, by + y0 - dy)


def detect_moves(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8], mask: Mask, tile: int, *,
                 max_moves: int = 2, min_gain: float = 0.25) -> Move | None:
    """Moves in the changed tiles ``mask`` of ``prev -> cur``: at most
    ``max_moves`` COPYs, each clearing at least ``min_gain`` of the tiles
    under its destination, with the tiles still differing after them; ``None``
    when there is no such move."""
    height, width = cur.shape[:2]
    copies: list[CopyRect] = []
    base = prev
    remaining = mask
    for _ in range(max_moves):
        box = tile_box(remaining, tile, width, height)
        if box is None:
            break
        copy = find_move(base, cur, box)
        if copy is None:
            break
        after = _after_copy(base, cur, remaining, copy, tile)
        # Worth it when it clears min_gain of the tiles it lands on (a second
        # window's move saves little of the whole change, a lot of its own).
        under = int(_box_mask(remaining.shape, (copy.x, copy.y, copy.w, copy.h), tile).sum())
        cleared = int(remaining.sum()) - int(after.sum())
        if cleared < max(1.0, min_gain * under):
            break
        copies.append(copy)
        remaining = after
        # Another search costs as much as this one: only when what is left
        # could be another window (not the strip this one uncovered).
        if int(remaining.sum()) * 2 < cleared:
            break
        if len(copies) < max_moves:
            base = base.copy() if base is prev else base
            apply_copy(base, copy)
    if not copies:
        return None
    return Move(tuple(copies), remaining)


class MoveDetector:
    """:func:`detect_moves` with a back-off: after ``n`` searches in a row
    found nothing, the next ``min(2**n - 1, max_skip)`` frames are not
    searched. A video or a flood of text changes most of the screen every
    frame and never moves; searching it would cost 10-15 ms a 1080p frame
    for nothing. A drag that starts then is found within ``max_skip + 1``
    frames (a quarter of a second at 30 fps), and a found move resets it."""

    def __init__(self, *, max_moves: int = 2, max_skip: int = 7) -> None:
        self.max_moves = max_moves
        self.max_skip = max_skip
        self.misses = 0
        self.skip = 0

    def __call__(self, prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8], mask: Mask, tile: int) -> Move | None:
        if self.skip > 0:
            self.skip -= 1
            return None
        found = detect_moves(prev, cur, mask, tile, max_moves=self.max_moves)
        if found is None:
            self.misses += 1
            self.skip = min((1 << min(self.misses, 16)) - 1, self.max_skip)
        else:
            self.misses = 0
        return found


def _after_copy(base: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8], remaining: Mask, copy: CopyRect, tile: int) -> Mask:
    """The tiles of ``remaining`` still differing from ``cur`` once ``copy``
    is applied to ``base``: a tile the copy does not touch is as it was; a
    tile it touches is compared pixel by pixel (copied pixels against their
    source, the rest against ``base``), so a copy that is not exact
    everywhere (a cursor blinked inside a moved window) leaves exactly its
    differing tiles to be sent after it."""
    after = remaining.copy()
    height, width = cur.shape[:2]
    ty0, ty1 = copy.y // tile, -(-(copy.y + copy.h) // tile)
    tx0, tx1 = copy.x // tile, -(-(copy.x + copy.w) // tile)
    y0, y1, x0, x1 = ty0 * tile, min(ty1 * tile, height), tx0 * tile, min(tx1 * tile, width)
    b32, c32 = as_u32(base), as_u32(cur)
    diff = b32[y0:y1, x0:x1] != c32[y0:y1, x0:x1]
    diff[copy.y - y0 : copy.y - y0 + copy.h, copy.x - x0 : copy.x - x0 + copy.w] = (
        c32[copy.y : copy.y + copy.h, copy.x : copy.x + copy.w]
        != b32[copy.src_y : copy.src_y + copy.h, copy.src_x : copy.src_x + copy.w])
    after[ty0:ty1, tx0:tx1] = reduce_tiles(diff, tile)
    return after


def _box_mask(shape: tuple[int, ...], box: tuple[int, int, int, int], tile: int) -> Mask:
    out = np.zeros(shape, dtype=np.bool_)
    x, y, w, h = box
    out[y // tile : -(-(y + h) // tile), x // tile : -(-(x + w) // tile)] = True
    return out


def move_mask(lossy: Mask, copy: CopyRect, tile: int, width: int, height: int) -> Mask:
    """The per-tile flag map ``lossy`` after ``copy``: a destination tile is
    set when any source tile it reads from is, or (only partly covered by
    the copy) when it was. Returns a new array."""
    out = lossy.copy()
    for ty in range(copy.y // tile, -(-(copy.y + copy.h) // tile)):
        r0, r1 = max(ty * tile, copy.y), min((ty + 1) * tile, copy.y + copy.h, height)
        s0, s1 = (r0 - copy.y + copy.src_y) // tile, (r1 - 1 - copy.y + copy.src_y) // tile + 1
        for tx in range(copy.x // tile, -(-(copy.x + copy.w) // tile)):
            c0, c1 = max(tx * tile, copy.x), min((tx + 1) * tile, copy.x + copy.w, width)
            u0, u1 = (c0 - copy.x + copy.src_x) // tile, (c1 - 1 - copy.x + copy.src_x) // tile + 1
            src = bool(lossy[s0:s1, u0:u1].any())
            full = r0 == ty * tile and r1 == min((ty + 1) * tile, height) and c0 == tx * tile and c1 == min((tx + 1) * tile, width)
            out[ty, tx] = src if full else (src or bool(lossy[ty, tx]))
    return out

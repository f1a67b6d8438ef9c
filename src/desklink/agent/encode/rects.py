"""Turn a tile mask into few, larger rectangles.

Why: the browser pays 0.6-0.9 ms per rectangle (``createImageBitmap`` +
``drawImage``) whatever its size up to a tile, and each JPEG carries ~600
bytes of tables, so one rectangle of twelve tiles beats twelve tiles. But an
unchanged tile pulled into a rectangle costs its bytes (up to a few KB of
text), so merging is bounded by *waste*, the unchanged tiles a rectangle
covers.

How (all in tile units, then scaled to pixels and clipped to the screen):

1. per tile row, runs of set tiles, bridging gaps of at most ``max_gap``
   unset tiles;
2. runs with the same x-extent in consecutive rows stack into rectangles;
3. greedy pairwise merging: the pair whose bounding box adds the fewest
   unchanged tiles merges (swallowing any rectangle inside the box, growing
   over any it cuts), as long as a merge adds at most ``max_waste``
   unchanged tiles; skipped when there are more than :data:`GREEDY_LIMIT`
   rectangles (the search is quadratic);
4. if more than ``max_rects`` remain, the mask is coarsened 2x2 (a coarse
   tile is set when any of its four is) and everything runs again, so a
   scattered change ends as a few big rectangles rather than hundreds of
   small ones.

Guarantees (tested with Hypothesis): the rectangles cover every set tile,
never overlap, stay inside the screen, and are at most ``max_rects`` (or one
rectangle covering the whole screen). With ``max_gap=0`` and ``max_waste=0``
and no coarsening they cover exactly the set tiles.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.tiles import Mask

__all__ = ["GREEDY_LIMIT", "MAX_RECTS_PER_FRAME", "Box", "merge_rects", "merge_tiles"]

#: ``(x, y, w, h)``: pixels from :func:`merge_rects`, tiles from :func:`merge_tiles`.
Box = tuple[int, int, int, int]

#: Default cap on rectangles per frame: about 20-30 ms of browser decode
#: overhead, no worse than one full-screen JPEG.
MAX_RECTS_PER_FRAME = 32
#: Above this many rectangles the greedy merge (O(n^2) per step) is skipped
#: and the mask coarsened instead.
GREEDY_LIMIT = 48


def _row_runs(mask: Mask, max_gap: int) -> list[list[tuple[int, int]]]:
    """Per row, ``[(x0, x1), ...]`` runs of set tiles (``x1`` exclusive)."""
    out: list[list[tuple[int, int]]] = []
    for row in mask:
        idx = np.flatnonzero(row)
        if idx.size == 0:
            out.append([])
            continue
        breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
        starts = np.concatenate(([idx[0]], idx[breaks + 1]))
        ends = np.concatenate((idx[breaks], [idx[-1]])) + 1
        out.append([(int(a), int(b)) for a, b in zip(starts, ends, strict=True)])
    return out


def _stack(runs: list[list[tuple[int, int]]]) -> list[list[int]]:
    """Stack runs with identical x-extent in consecutive rows: ``[x0, y0, x1, y1]``."""
    done: list[list[int]] = []
    open_: dict[tuple[int, int], list[int]] = {}
    for y, row in enumerate(runs):
        still: dict[tuple[int, int], list[int]] = {}
        for run in row:
            box = open_.pop(run, None)
            if box is None:
                box = [run[0], y, run[1], y + 1]
            else:
                box[3] = y + 1
            still[run] = box
        done.extend(open_.values())
        open_ = still
    done.extend(open_.values())
    return done


def _covered(prefix: npt.NDArray[np.int64], x0: npt.NDArray[np.int64], y0: npt.NDArray[np.int64],
             x1: npt.NDArray[np.int64], y1: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return prefix[y1, x1] - prefix[y0, x1] - prefix[y1, x0] + prefix[y0, x0]


def _prefix(cover: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    p = np.zeros((cover.shape[0] + 1, cover.shape[1] + 1), dtype=np.int64)
    p[1:, 1:] = cover.cumsum(axis=0).cumsum(axis=1)
    return p


def _greedy(boxes: list[list[int]], shape: tuple[int, int], max_waste: int) -> list[list[int]]:
    """Merge pairs while a merge adds at most ``max_waste`` uncovered tiles."""
    cover = np.zeros(shape, dtype=np.bool_)
    for x0, y0, x1, y1 in boxes:
        cover[y0:y1, x0:x1] = True
    arr = np.array(boxes, dtype=np.int64).reshape(-1, 4)
    while len(arr) > 1:
        prefix = _prefix(cover)
        bx0 = np.minimum.outer(arr[:, 0], arr[:, 0])
        by0 = np.minimum.outer(arr[:, 1], arr[:, 1])
        bx1 = np.maximum.outer(arr[:, 2], arr[:, 2])
        by1 = np.maximum.outer(arr[:, 3], arr[:, 3])
        added = (bx1 - bx0) * (by1 - by0) - _covered(prefix, bx0, by0, bx1, by1)
        added[np.tril_indices(len(arr))] = max_waste + 1  # each pair once, never with itself
        merged = False
        for flat in np.argsort(added, axis=None, kind="stable"):
            i, j = divmod(int(flat), len(arr))
            if added[i, j] > max_waste:
                break
            box = np.array([bx0[i, j], by0[i, j], bx1[i, j], by1[i, j]])
            # Grow over every rectangle the box cuts, so nothing overlaps.
            while True:
                hit = (arr[:, 0] < box[2]) & (arr[:, 2] > box[0]) & (arr[:, 1] < box[3]) & (arr[:, 3] > box[1])
                grown = np.array([min(box[0], arr[hit, 0].min()), min(box[1], arr[hit, 1].min()),
                                  max(box[2], arr[hit, 2].max()), max(box[3], arr[hit, 3].max())])
                if (grown == box).all():
                    break
                box = grown
            waste = int((box[2] - box[0]) * (box[3] - box[1]) - cover[box[1]:box[3], box[0]:box[2]].sum())
            if waste > max_waste:
                continue
            cover[box[1]:box[3], box[0]:box[2]] = True
            arr = np.vstack((arr[~hit], box[None, :]))
            merged = True
            break
        if not merged:
            break
    return [list(map(int, b)) for b in arr]


def merge_tiles(mask: Mask, *, max_gap: int = 1, max_waste: int = 2) -> list[Box]:
    """Steps 1-3 in tile units: ``(x, y, w, h)`` rectangles covering every set
    tile of ``mask``, non-overlapping, each merge adding at most ``max_waste``
    unset tiles (a bridged row gap adds at most ``max_gap``)."""
    if max_gap < 0 or max_waste < 0:
        raise ValueError("max_gap and max_waste must not be negative")
    boxes = _stack(_row_runs(mask, max_gap))
    if 1 < len(boxes) <= GREEDY_LIMIT:
        boxes = _greedy(boxes, mask.shape, max_waste)
    boxes.sort(key=lambda b: (b[1], b[0]))
    return [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]


def _coarsen(mask: Mask) -> Mask:
    rows, cols = mask.shape
    padded = np.zeros((rows + rows % 2, cols + cols % 2), dtype=np.bool_)
    padded[:rows, :cols] = mask
    return np.asarray(padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).any(axis=(1, 3)))


def merge_rects(mask: Mask, tile: int, width: int, height: int, *, max_gap: int = 1, max_waste: int = 2,
                max_rects: int = MAX_RECTS_PER_FRAME) -> list[Box]:
    """Pixel rectangles ``(x, y, w, h)`` covering every set tile of ``mask``
    (the tile grid of a ``width x height`` screen), at most ``max_rects`` of
    them; see the module docstring for the rules."""
    if max_rects < 1:
        raise ValueError("max_rects must be at least 1")
    size = tile
    while True:
        boxes = merge_tiles(mask, max_gap=max_gap, max_waste=max_waste)
        if len(boxes) <= max_rects or mask.size <= 1:
            break
        mask = _coarsen(mask)
        size *= 2
    out: list[Box] = []
    for tx, ty, tw, th in boxes:
        x, y = tx * size, ty * size
        if x >= width or y >= height:  # only possible for padding added by coarsening
            continue
        out.append((x, y, min(tw * size, width - x), min(th * size, height - y)))
    return out

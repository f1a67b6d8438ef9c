"""Strokes to pixels: the exact raster of each tool, shared by the board
(masking) and the window (shaping), so both agree pixel for pixel."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from desklink.protocol import limits


Mask = npt.NDArray[np.bool_]

TOOLS = ("pen", "arrow", "rect", "highlighter")
MAX_WIDTH = 64
#: How much wider than the raster the Tk canvas draws each stroke, pixels
#: (the window's shape trims it back to the raster, so every visible pixel
#: has the stroke's colour).
PAINT_PAD = 2
#: Above this many shape rectangles the window is shaped with a bitmap.
MAX_SHAPE_RECTS = 16_384
#: Bytes of bitmap per PutImage request (the core limit is 256 KiB).
PUT_IMAGE_CHUNK = 128 * 1024
#: The overlay looks for fading strokes and board changes this often, ms.
TICK_MS = 100
#: ...and raises itself above newer windows this often while it shows strokes, ms.
RAISE_MS = 1000
#: Highlighter colour: this share of white mixed in (the overlay is opaque).
HIGHLIGHT_WHITE = 0.55

# --------------------------------------------------------------------------
# rasterization


def arrow_head(width: int) -> tuple[float, float]:
    """The arrow head's (length along the line, half width) in pixels for a
    stroke ``width`` wide. The viewer draws the same head."""
    return 10.0 + 3.0 * width, 5.0 + 1.5 * width


def highlight_color(color: str) -> str:
    """The opaque light colour the overlay paints a highlighter in."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * HIGHLIGHT_WHITE) for c in (r, g, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def _points(msg: dict[str, Any]) -> npt.NDArray[np.float64]:
    pts = msg.get("points") or []
    arr = np.asarray(pts[: limits.MAX_STROKE_POINTS], dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or not len(arr):
        return np.zeros((0, 2))
    return arr


def _segments(msg: dict[str, Any]) -> tuple[npt.NDArray[np.float64], list[npt.NDArray[np.float64]]]:
    """(segments as N x 4 [ax, ay, bx, by], convex polygons to fill)."""
    pts = _points(msg)
    tool = msg.get("tool", "pen")
    if not len(pts):
        return np.zeros((0, 4)), []
    if tool == "rect":
        (x0, y0), (x1, y1) = pts[0], pts[-1]
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
    polys: list[npt.NDArray[np.float64]] = []
    if tool == "arrow" and len(pts) >= 2:
        tip = pts[-1]
        back = pts[:-1][np.hypot(*(pts[:-1] - tip).T) > 0.5]
        if len(back):
            d = tip - back[-1]
            d = d / math.hypot(*d)
            length, half = arrow_head(_width(msg))
            neck = tip - d * length
            n = np.array([-d[1], d[0]])
            polys.append(np.array([tip, neck + n * half, neck - n * half]))
            pts = np.vstack([back, neck])  # the shaft ends at the head's base
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    segs = np.hstack([pts[:-1], pts[1:]])
    return segs, polys


def _width(msg: dict[str, Any]) -> int:
    try:
        return int(min(max(int(msg.get("width", 4)), 1), MAX_WIDTH))
    except (TypeError, ValueError):
        return 4


def _interval(a: Any, c: Any, lo: Any, hi: Any) -> None:
    """Narrow [lo, hi] (in place) to the x with a*x <= c (arrays)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = c / a
    pos, neg, zero = a > 0, a < 0, a == 0
    np.minimum(hi, bound, out=hi, where=pos)
    np.maximum(lo, bound, out=lo, where=neg)
    dead = zero & (c < 0)
    lo[dead] = np.inf
    hi[dead] = -np.inf


def _pairs(y0: Any, y1: Any, height: int) -> tuple[Any, Any]:
    """For items with row ranges [y0, y1] (clipped to the image): the item
    index and the row of every (item, row) pair."""
    y0 = np.maximum(y0, 0).astype(np.int64)
    y1 = np.minimum(y1, height - 1).astype(np.int64)
    counts = np.maximum(y1 - y0 + 1, 0)
    total = int(counts.sum())
    item = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rows = y0[item] + (np.arange(total) - starts[item])
    return item, rows


def _capsule_runs(segs: npt.NDArray[np.float64], r: float, height: int) -> list[tuple[Any, Any, Any]]:
    """Row runs (row, first x, last x as floats) whose union is the pixels
    within ``r`` of the polyline's segments: a disc at every end point and,
    per segment, the band between its two discs. In the band, each row's x
    interval is bounded by two lines in y per side, so a (segment, row)
    pair costs a handful of operations."""
    out = []
    # discs at the (distinct) end points
    ends = np.unique(np.vstack([segs[:, :2], segs[:, 2:]]), axis=0)
    px, py = ends.T
    item, rows = _pairs(np.ceil(py - r), np.floor(py + r), height)
    if len(rows):
        half = np.sqrt(np.maximum(r * r - (rows - py[item]) ** 2, 0))
        out.append((rows, px[item] - half, px[item] + half))
    # bands
    ax, ay, bx, by = segs.T
    dx, dy = bx - ax, by - ay
    length = np.hypot(dx, dy)
    ok = length > 0
    if not ok.any():
        return out
    ax, ay, dx, dy, length = ax[ok], ay[ok], dx[ok], dy[ok], length[ok]
    reach = r * np.abs(dx) / length  # how far the band reaches above and below the segment's ends
    item, rows = _pairs(np.ceil(np.minimum(ay, ay + dy) - reach), np.floor(np.maximum(ay, ay + dy) + reach), height)
    if not len(rows):
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        # 0 <= (P-A).d <= |d|^2: x between ax and ax + |d|^2/dx at v = 0, slope -dy/dx
        s1 = np.where(dx != 0, -dy / dx, 0.0)
        e1 = np.where(dx != 0, ax + length * length / dx, 0.0)
        lo1 = np.where(dx != 0, np.minimum(ax, e1), -np.inf)
        hi1 = np.where(dx != 0, np.maximum(ax, e1), np.inf)
        # |(P-A) x d| <= r|d|: x within ax -+ r|d|/|dy| at v = 0, slope dx/dy
        s2 = np.where(dy != 0, dx / dy, 0.0)
        w2 = np.where(dy != 0, r * length / np.abs(dy), np.inf)
        lo2 = ax - w2
        hi2 = ax + w2
    v = rows - ay[item]
    a = s1[item] * v
    b = s2[item] * v
    lo = np.maximum(lo1[item] + a, lo2[item] + b)
    hi = np.minimum(hi1[item] + a, hi2[item] + b)
    out.append((rows, lo, hi))
    return out


def _polygon_runs(poly: npt.NDArray[np.float64], height: int) -> tuple[Any, Any, Any]:
    """Per row: first and last x of a convex polygon (any winding)."""
    ys = poly[:, 1]
    y0 = max(int(math.ceil(ys.min())), 0)
    y1 = min(int(math.floor(ys.max())), height - 1)
    if y1 < y0:
        e = np.zeros(0)
        return e.astype(np.int64), e, e
    rows = np.arange(y0, y1 + 1)
    y = rows.astype(np.float64)
    lo = np.full(len(rows), -np.inf)
    hi = np.full(len(rows), np.inf)
    cx, cy = poly.mean(axis=0)
    for (px, py), (qx, qy) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        # the edge's normal n = (qy-py, -(qx-px)); keep the centroid's side: s * n.(P-p) >= 0
        nx, ny = qy - py, -(qx - px)
        s = 1.0 if nx * (cx - px) + ny * (cy - py) >= 0 else -1.0
        # s*nx*x >= s*(nx*px - ny*(y-py))  ->  -s*nx*x <= -s*(nx*px - ny*(y-py))
        _interval(np.full(len(rows), -s * nx), -s * (nx * px - ny * (y - py)), lo, hi)
    return rows, lo, hi


def rasterize_box(msg: dict[str, Any], width: int, height: int) -> tuple[int, int, Mask] | None:
    """The pixels a stroke covers, as ``(x0, y0, mask)``: ``mask`` is the
    stroke's bounding box (clipped to the image) starting at (x0, y0); None
    when nothing of it lies on the image."""
    segs, polys = _segments(msg)
    if not len(segs) or width <= 0 or height <= 0:
        return None
    r = _width(msg) / 2.0
    parts = [*_capsule_runs(segs, r, height), *(_polygon_runs(p, height) for p in polys)]
    if not parts:
        return None
    rows = np.concatenate([p[0] for p in parts])
    xa = np.ceil(np.concatenate([p[1] for p in parts]) - 1e-9)
    xb = np.floor(np.concatenate([p[2] for p in parts]) + 1e-9)
    np.maximum(xa, 0, out=xa)
    np.minimum(xb, width - 1, out=xb)
    keep = xa <= xb
    if not keep.any():
        return None
    rows, xa, xb = rows[keep], xa[keep].astype(np.int64), xb[keep].astype(np.int64)
    bx0, bx1 = int(xa.min()), int(xb.max())
    by0, by1 = int(rows.min()), int(rows.max())
    bw, bh = bx1 - bx0 + 1, by1 - by0 + 1
    size = bh * (bw + 1)
    base = (rows - by0) * (bw + 1)
    diff = np.bincount(base + (xa - bx0), minlength=size) - np.bincount(base + (xb - bx0 + 1), minlength=size)
    cover = np.cumsum(diff.reshape(bh, bw + 1)[:, :bw], axis=1) > 0
    return bx0, by0, cover


def rasterize(msg: dict[str, Any], width: int, height: int) -> Mask:
    """The pixels a stroke covers, as a ``height x width`` bool mask."""
    out = np.zeros((height, width), dtype=bool)
    box = rasterize_box(msg, width, height)
    if box is not None:
        x0, y0, m = box
        out[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]] = m
    return out


def mask_rects(mask: Mask, x0: int = 0, y0: int = 0) -> npt.NDArray[np.int64]:
    """Cover ``mask`` exactly with rectangles ``[x, y, w, h]`` (offset by
    x0, y0): runs per row, identical runs on consecutive rows merged."""
    if not mask.size:
        return np.zeros((0, 4), dtype=np.int64)
    m = mask.view(np.int8) if mask.dtype == np.bool_ else mask.astype(np.int8)
    padded = np.zeros((m.shape[0], m.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = m
    d = np.diff(padded, axis=1)
    ry, rx0 = np.nonzero(d == 1)
    _, rx1 = np.nonzero(d == -1)
    if not len(ry):
        return np.zeros((0, 4), dtype=np.int64)
    order = np.lexsort((ry, rx1, rx0))
    ry, rx0, rx1 = ry[order], rx0[order], rx1[order]
    start = np.ones(len(ry), dtype=bool)
    start[1:] = (rx0[1:] != rx0[:-1]) | (rx1[1:] != rx1[:-1]) | (ry[1:] != ry[:-1] + 1)
    first = np.flatnonzero(start)
    heights = np.diff(np.append(first, len(ry)))
    return np.stack([rx0[first] + x0, ry[first] + y0, rx1[first] - rx0[first], heights], axis=1).astype(np.int64)


# --------------------------------------------------------------------------
# the board


def _normalize(msg: dict[str, Any]) -> dict[str, Any] | None:
    """A clean copy of a stroke message, or None when it cannot be drawn."""
    tool = msg.get("tool", "pen")
    color = msg.get("color", "#e11d48")
    if tool not in TOOLS or not isinstance(color, str) or len(color) != 7 or color[0] != "#":
        return None
    try:
        int(color[1:], 16)
        pts = [[int(p[0]), int(p[1])] for p in (msg.get("points") or [])[: limits.MAX_STROKE_POINTS]]
        fade = float(msg.get("fade_s") or 0)
    except (TypeError, ValueError, IndexError):
        return None
    if not pts or not math.isfinite(fade) or fade < 0:
        return None
    return {
        "op": "stroke", "id": str(msg.get("id") or "")[:64], "tool": tool, "color": color.lower(),
        "width": _width(msg), "points": pts, "fade_s": fade,
    }

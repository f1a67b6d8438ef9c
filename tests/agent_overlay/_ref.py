"""A brute-force reference rasterizer (every pixel against every segment),
independent of the interval method in :mod:`desklink.agent.overlay`."""

from __future__ import annotations

from typing import Any

import numpy as np


def capsules(points: Any, width: int, w: int, h: int) -> np.ndarray:
    """Pixels whose centre lies within ``width / 2`` of the polyline."""
    pts = np.asarray(points, dtype=float)
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    r = width / 2
    yy, xx = np.mgrid[0:h, 0:w]
    p = np.stack([xx, yy], -1).astype(float)
    out = np.zeros((h, w), bool)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        d = b - a
        l2 = float(d @ d)
        t = np.clip(((p - a) @ d) / l2, 0, 1) if l2 else np.zeros((h, w))
        q = a + t[..., None] * d
        out |= np.hypot(*(p - q).transpose(2, 0, 1)) <= r + 1e-9
    return out


def triangle(tri: Any, w: int, h: int) -> np.ndarray:
    """Pixels whose centre lies in (or on) a triangle."""
    (ax, ay), (bx, by), (cx, cy) = np.asarray(tri, float)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)

    def side(px: float, py: float, qx: float, qy: float) -> np.ndarray:
        return (qx - px) * (yy - py) - (qy - py) * (xx - px)

    s1, s2, s3 = side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
    eps = 1e-9
    return ((s1 >= -eps) & (s2 >= -eps) & (s3 >= -eps)) | ((s1 <= eps) & (s2 <= eps) & (s3 <= eps))


def stroke(**kw: Any) -> dict[str, Any]:
    msg = {"t": "annotate", "op": "stroke", "id": "s1", "tool": "pen", "color": "#e11d48", "width": 4, "points": [[0, 0]], "fade_s": 0}
    msg.update(kw)
    return msg

"""rasterize / rasterize_box / mask_rects: exact against a brute-force
reference, within bounds, endpoints covered, widths respected, and fast
enough at 1080p for the longest stroke the protocol allows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.agent.overlay import arrow_head, mask_rects, rasterize, rasterize_box
from desklink.protocol import limits

from . import _ref
from ._ref import stroke

W, H = 96, 72

coord = st.integers(-20, 120)
points = st.lists(st.tuples(coord, coord).map(list), min_size=1, max_size=6)
widths = st.integers(1, 64)


@settings(max_examples=300, deadline=None)
@given(points, widths, st.sampled_from(["pen", "highlighter"]))
def test_pen_matches_brute_force(pts: list[list[int]], width: int, tool: str) -> None:
    got = rasterize(stroke(tool=tool, points=pts, width=width), W, H)
    assert got.shape == (H, W) and got.dtype == np.bool_
    assert np.array_equal(got, _ref.capsules(pts, width, W, H))


@settings(max_examples=150, deadline=None)
@given(points, widths, st.sampled_from(["pen", "arrow", "rect", "highlighter"]))
def test_within_bounds_and_box_agrees(pts: list[list[int]], width: int, tool: str) -> None:
    msg = stroke(tool=tool, points=pts, width=width)
    full = rasterize(msg, W, H)
    box = rasterize_box(msg, W, H)
    if box is None:
        assert not full.any()
        return
    x0, y0, m = box
    assert 0 <= x0 and 0 <= y0 and x0 + m.shape[1] <= W and y0 + m.shape[0] <= H
    again = np.zeros((H, W), bool)
    again[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]] = m
    assert np.array_equal(full, again)
    # the box is tight: every edge row and column has a covered pixel
    assert m[0].any() and m[-1].any() and m[:, 0].any() and m[:, -1].any()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, W - 1), st.integers(0, H - 1)).map(list), min_size=1, max_size=8), widths,
       st.sampled_from(["pen", "highlighter", "rect"]))
def test_covers_the_points(pts: list[list[int]], width: int, tool: str) -> None:
    m = rasterize(stroke(tool=tool, points=pts, width=width), W, H)
    check = pts if tool != "rect" else [pts[0], pts[-1], [pts[0][0], pts[-1][1]], [pts[-1][0], pts[0][1]]]
    for x, y in check:
        assert m[y, x], (x, y)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8, 13, 64])
def test_width_respected_horizontal_and_vertical(width: int) -> None:
    wide, high = 300, 300
    h = rasterize(stroke(points=[[50, 150], [250, 150]], width=width), wide, high)
    rows = np.flatnonzero(h[:, 150])  # across the middle of the line
    assert len(rows) in (width, width + 1) and abs(rows.mean() - 150) < 0.51
    v = rasterize(stroke(points=[[150, 50], [150, 250]], width=width), wide, high)
    cols = np.flatnonzero(v[150])
    assert len(cols) in (width, width + 1)
    # round caps: the line reaches width/2 past its ends and no further
    assert h[150, 50 - width // 2] and not h[150, :50 - width // 2 - 1].any()


@pytest.mark.parametrize("width", [2, 6, 20])
def test_width_respected_diagonal(width: int) -> None:
    m = rasterize(stroke(points=[[20, 20], [220, 220]], width=width), 240, 240)
    # perpendicular distance of covered pixels from the line y = x
    yy, xx = np.nonzero(m[60:180, 60:180])
    dist = np.abs(xx - yy) / math.sqrt(2)
    assert dist.max() <= width / 2 + 1e-9
    assert dist.max() >= width / 2 - 1  # reaches out to the full width
    # area along the middle part is about width per unit length
    area = m[60:180, 60:180].sum()
    assert abs(area / (120 * math.sqrt(2)) - width) <= 1.2


def test_single_point_is_a_dot() -> None:
    m = rasterize(stroke(points=[[40, 30]], width=9), W, H)
    assert np.array_equal(m, _ref.capsules([[40, 30]], 9, W, H))
    assert m.sum() == _ref.capsules([[40, 30]], 9, W, H).sum() > 50


def test_arrow_is_shaft_plus_filled_head() -> None:
    width = 4
    m = rasterize(stroke(tool="arrow", points=[[10, 60], [180, 60]], width=width), 200, 120)
    length, half = arrow_head(width)
    tip = np.array([180.0, 60.0])
    neck = tip - [length, 0]
    head = _ref.triangle([tip, neck + [0, half], neck - [0, half]], 200, 120)
    shaft = _ref.capsules([[10, 60], neck.tolist()], width, 200, 120)
    assert np.array_equal(m, head | shaft)
    assert m[60, 180] and m[60, 10]  # both ends
    assert m[60 - int(half) + 1, int(neck[0]) + 1]  # the head is wide...
    assert not m[60 - width, 100]  # ...the shaft is not
    assert not m[60, 181 :].any()  # nothing past the tip


def test_arrow_head_follows_the_last_direction() -> None:
    m = rasterize(stroke(tool="arrow", points=[[20, 20], [20, 100], [100, 100]], width=3), 120, 120)
    length, half = arrow_head(3)
    # the head points right (last segment), so it is tall near x = 100 - length
    assert m[int(100 - half) + 1, int(100 - length) + 1] and m[int(100 + half) - 1, int(100 - length) + 1]
    assert m[20:100, 20].all()  # the first segment is there


def test_rect_is_an_outline() -> None:
    m = rasterize(stroke(tool="rect", points=[[70, 50], [20, 10]], width=3), W, H)
    assert m[10, 20:71].all() and m[50, 20:71].all() and m[10:51, 20].all() and m[10:51, 70].all()
    assert not m[14:47, 24:67].any()  # hollow
    ref = _ref.capsules([[20, 10], [70, 10], [70, 50], [20, 50], [20, 10]], 3, W, H)
    assert np.array_equal(m, ref)


def test_off_image_and_clipped() -> None:
    assert rasterize_box(stroke(points=[[-100, -100], [-50, -60]]), W, H) is None
    assert not rasterize(stroke(points=[[500, 500]]), W, H).any()
    m = rasterize(stroke(points=[[-50, 10], [500, 10]], width=5), W, H)
    assert m[10].all() and m.sum() == 5 * W
    assert rasterize_box(stroke(points=[]), W, H) is None


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(0.05, 0.95))
def test_mask_rects_cover_exactly(h: int, w: int, seed: int, density: float) -> None:
    m = np.random.default_rng(seed).random((h, w)) < density
    rects = mask_rects(m, 7, 3)
    back = np.zeros((h + 3, w + 7), bool)
    count = np.zeros((h + 3, w + 7), int)
    for x, y, rw, rh in rects:
        assert rw > 0 and rh > 0
        back[y : y + rh, x : x + rw] = True
        count[y : y + rh, x : x + rw] += 1
    assert np.array_equal(back[3:, 7:], m) and not back[:3].any() and not back[:, :7].any()
    assert count.max(initial=0) <= 1  # no overlaps


def test_mask_rects_merge_rows() -> None:
    m = np.zeros((50, 50), bool)
    m[10:40, 5:20] = True
    assert mask_rects(m).tolist() == [[5, 10, 15, 30]]
    assert len(mask_rects(np.zeros((5, 5), bool))) == 0


def _walk(n: int, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    p = np.cumsum(rng.normal(0, 4, (n, 2)), 0) + [960, 540]
    return np.clip(p, 0, [1919, 1079]).astype(int).tolist()


def test_the_longest_strokes_at_1080p() -> None:
    """2000-point strokes (the protocol's limit) rasterize to what the
    reference does (their speed is in bench/overlay.py)."""
    n = limits.MAX_STROKE_POINTS
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([960 + 500 * np.cos(t), 540 + 500 * np.sin(t)], 1).astype(int).tolist()
    zigzag = [[int(x), 100 if i % 2 else 1000] for i, x in enumerate(np.linspace(0, 1919, n))]
    for pts, width in [(_walk(n), 8), (circle, 32), (zigzag, 4)]:
        msg = stroke(points=pts, width=width)
        box = rasterize_box(msg, 1920, 1080)
        assert box is not None
        x0, y0, m = box
        full = rasterize(msg, 1920, 1080)
        assert full.sum() == m.sum() and full[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]].all(where=m)

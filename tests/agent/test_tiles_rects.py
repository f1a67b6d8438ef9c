"""Tile diff and rectangle merging: pure functions, checked with Hypothesis
against naive reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from desklink.agent.encode.rects import merge_rects, merge_tiles
from desklink.agent.encode.tiles import changed_tiles, grid_shape, reduce_tiles, tile_box

SETTINGS = settings(max_examples=200, deadline=None)


def naive_tiles(a: np.ndarray, b: np.ndarray, tile: int) -> np.ndarray:
    h, w = a.shape[:2]
    rows, cols = grid_shape(w, h, tile)
    out = np.zeros((rows, cols), dtype=bool)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = not np.array_equal(a[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile],
                                           b[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile])
    return out


@st.composite
def picture_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    tile = draw(st.sampled_from([1, 3, 8, 16, 64]))
    w = draw(st.integers(1, 150))
    h = draw(st.integers(1, 150))
    a = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, 256, (h, w, 4), dtype=np.uint8)
    b = a.copy()
    for _ in range(draw(st.integers(0, 6))):
        y, x = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        channel = draw(st.integers(0, 3))  # the fourth byte counts too
        b[y, x, channel] ^= draw(st.integers(1, 255))
    return a, b, tile


class TestChangedTiles:
    @SETTINGS
    @given(picture_pairs())
    def test_matches_naive_reference(self, pair: tuple[np.ndarray, np.ndarray, int]) -> None:
        a, b, tile = pair
        np.testing.assert_array_equal(changed_tiles(a, b, tile), naive_tiles(a, b, tile))

    def test_edge_tiles_when_size_is_not_a_multiple(self) -> None:
        a = np.zeros((1080, 1920 + 7, 4), np.uint8)
        b = a.copy()
        b[1079, 1926, 0] = 1  # bottom-right pixel: partial row and column of tiles
        mask = changed_tiles(a, b, 64)
        assert mask.shape == (17, 31)
        assert mask.sum() == 1 and mask[16, 30]

    def test_non_contiguous_input_is_accepted(self) -> None:
        big = np.zeros((100, 200, 4), np.uint8)
        other = big.copy()
        other[50, 150] = 9
        assert changed_tiles(big[:, 100:], other[:, 100:], 16)[3, 3]

    def test_size_mismatch_is_refused(self) -> None:
        with pytest.raises(ValueError):
            changed_tiles(np.zeros((4, 4, 4), np.uint8), np.zeros((4, 5, 4), np.uint8))

    def test_reduce_and_box(self) -> None:
        changed = np.zeros((130, 70), bool)
        changed[129, 3] = True
        mask = reduce_tiles(changed, 64)
        assert mask.shape == (3, 2) and mask[2, 0]
        assert tile_box(mask, 64, 70, 130) == (0, 128, 64, 2)
        assert tile_box(np.zeros((3, 2), bool), 64, 70, 130) is None


masks = hnp.arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 20)))


def paint(boxes: list[tuple[int, int, int, int]], shape: tuple[int, int]) -> np.ndarray:
    """Coverage count per cell (so an overlap shows up as a 2)."""
    cover = np.zeros(shape, dtype=np.int32)
    for x, y, w, h in boxes:
        assert w > 0 and h > 0
        cover[y : y + h, x : x + w] += 1
    return cover


class TestMergeTiles:
    @SETTINGS
    @given(masks, st.integers(0, 3), st.integers(0, 4))
    def test_covers_every_set_tile_without_overlap(self, mask: np.ndarray, max_gap: int, max_waste: int) -> None:
        boxes = merge_tiles(mask, max_gap=max_gap, max_waste=max_waste)
        for x, y, w, h in boxes:
            assert 0 <= x and 0 <= y and x + w <= mask.shape[1] and y + h <= mask.shape[0]
        cover = paint(boxes, mask.shape)
        assert cover.max(initial=0) <= 1, "rectangles overlap"
        assert (cover[mask] == 1).all(), "a changed tile is not covered"

    @SETTINGS
    @given(masks)
    def test_exact_cover_without_gap_or_waste(self, mask: np.ndarray) -> None:
        cover = paint(merge_tiles(mask, max_gap=0, max_waste=0), mask.shape)
        np.testing.assert_array_equal(cover.astype(bool), mask)

    @SETTINGS
    @given(masks, st.integers(0, 4))
    def test_waste_is_bounded(self, mask: np.ndarray, max_waste: int) -> None:
        """Each merge removes at least one rectangle and adds at most
        ``max_waste`` unchanged tiles; there are never more rectangles than
        changed tiles, so the total waste is bounded by both."""
        boxes = merge_tiles(mask, max_gap=0, max_waste=max_waste)
        waste = int(paint(boxes, mask.shape).sum() - mask.sum())
        assert waste <= max_waste * max(0, int(mask.sum()) - len(boxes))

    def test_distant_tiles_stay_apart(self) -> None:
        mask = np.zeros((17, 30), bool)
        mask[1, 1] = mask[15, 28] = True  # a clock and a typed character
        assert merge_tiles(mask) == [(1, 1, 1, 1), (28, 15, 1, 1)]

    def test_block_is_one_rect(self) -> None:
        mask = np.zeros((17, 30), bool)
        mask[3:9, 4:20] = True
        assert merge_tiles(mask) == [(4, 3, 16, 6)]

    def test_ragged_blob_merges_with_small_waste(self) -> None:
        mask = np.zeros((17, 30), bool)
        for i, row in enumerate(range(4, 12)):
            mask[row, 5 + i % 2 : 15 + i % 2] = True  # a window being dragged
        boxes = merge_tiles(mask)
        assert len(boxes) <= 2


class TestMergeRects:
    @SETTINGS
    @given(masks, st.sampled_from([16, 64]), st.integers(0, 63), st.integers(0, 63), st.integers(1, 40))
    def test_pixel_rects_cover_fit_and_are_capped(self, mask: np.ndarray, tile: int, cut_w: int, cut_h: int,
                                                  max_rects: int) -> None:
        rows, cols = mask.shape
        width = max(1, cols * tile - cut_w % tile)
        height = max(1, rows * tile - cut_h % tile)
        rows2, cols2 = grid_shape(width, height, tile)
        mask = mask[:rows2, :cols2]
        boxes = merge_rects(mask, tile, width, height, max_rects=max_rects)
        assert len(boxes) <= max_rects
        cover = np.zeros((height, width), np.int32)
        for x, y, w, h in boxes:
            assert w > 0 and h > 0 and x + w <= width and y + h <= height
            cover[y : y + h, x : x + w] += 1
        assert cover.max(initial=0) <= 1, "rectangles overlap"
        for r, c in zip(*np.nonzero(mask), strict=True):
            assert cover[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile].all(), "a changed tile is not covered"

    def test_checkerboard_coarsens_to_few_rects(self) -> None:
        mask = np.indices((17, 30)).sum(axis=0) % 2 == 0  # 255 scattered tiles
        boxes = merge_rects(mask, 64, 1920, 1080, max_rects=32)
        assert 1 <= len(boxes) <= 32

    def test_bad_parameters(self) -> None:
        with pytest.raises(ValueError):
            merge_rects(np.ones((2, 2), bool), 64, 128, 128, max_rects=0)
        with pytest.raises(ValueError):
            merge_tiles(np.ones((2, 2), bool), max_gap=-1)

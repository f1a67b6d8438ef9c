"""Scroll detection: finds the shift, never proposes a copy that is not
pixel-exact, and leaves exactly the still-different tiles."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import long_page, noise, photo, text_page, view
from desklink.agent.encode.scroll import MIN_ROWS, CopyRect, apply_copy, detect_scroll, find_scroll
from desklink.agent.encode.tiles import changed_tiles

W, H = 640, 480
PAGE = long_page(W, 3 * H, seed=21)


def check_exact(prev: np.ndarray, cur: np.ndarray, c: CopyRect) -> None:
    np.testing.assert_array_equal(cur[c.y : c.y + c.h, c.x : c.x + c.w], prev[c.src_y : c.src_y + c.h, c.src_x : c.src_x + c.w])


class TestFindScroll:
    @settings(max_examples=60, deadline=None)
    @given(st.integers(0, H), st.integers(-(H - 3 * MIN_ROWS), H - 3 * MIN_ROWS).filter(lambda d: d != 0))
    def test_finds_the_shift_both_ways(self, top: int, dy: int) -> None:
        """``dy > 0``: content moved down (scrolling back up the page)."""
        top = max(top, dy, 0)
        prev, cur = view(PAGE, top, H), view(PAGE, top - dy, H)
        c = find_scroll(prev, cur, (0, 0, W, H))
        assert c is not None and c.dy == dy
        check_exact(prev, cur, c)
        # Most of the overlap is covered (blank margins may trim the ends).
        assert c.h >= (H - abs(dy)) * 0.8 and c.w >= W * 0.7

    def test_scrollbar_strip_that_moves_is_left_out(self) -> None:
        prev, cur = view(PAGE, 200, H), view(PAGE, 260, H)
        prev[:, -16:, :3] = 200
        cur[:, -16:, :3] = 200
        prev[100:140, -16:, :3] = 90  # scrollbar thumb, moving the other way
        cur[110:150, -16:, :3] = 90
        c = find_scroll(prev, cur, (0, 0, W, H))
        assert c is not None and c.dy == -60 and c.x + c.w <= W - 16
        check_exact(prev, cur, c)

    def test_box_offset_and_partial_region(self) -> None:
        screen_prev = photo(1024, 768, seed=2)
        screen_cur = screen_prev.copy()
        screen_prev[128:608, 192:832] = view(PAGE, 300, H)
        screen_cur[128:608, 192:832] = view(PAGE, 337, H)
        c = find_scroll(screen_prev, screen_cur, (192, 128, 640, 480))
        assert c is not None and c.dy == -37 and c.x >= 192 and c.y >= 128
        check_exact(screen_prev, screen_cur, c)

    def test_unrelated_pictures_give_none(self) -> None:
        assert find_scroll(photo(W, H, seed=1), photo(W, H, seed=2), (0, 0, W, H)) is None
        assert find_scroll(noise(W, H, seed=1), noise(W, H, seed=2), (0, 0, W, H)) is None
        # Two text pages share blank stretches: a copy of one may turn up; it
        # must be exact, and detect_scroll must find it not worth sending.
        prev, cur = text_page(W, H, seed=1), text_page(W, H, seed=2)
        c = find_scroll(prev, cur, (0, 0, W, H))
        if c is not None:
            check_exact(prev, cur, c)
        assert detect_scroll(prev, cur, changed_tiles(prev, cur, 64), 64) is None

    def test_hash_collisions_never_make_a_copy(self) -> None:
        """Reverse every strip row: the order-blind row hashes all still match
        the shifted rows, the pixels do not. No copy may come out of it."""
        prev = view(PAGE, 100, H)
        shifted = view(PAGE, 140, H)
        cur = shifted.reshape(H, W // 64, 64, 4)[:, :, ::-1].reshape(H, W, 4).copy()
        c = find_scroll(prev, cur, (0, 0, W, H))
        if c is not None:
            check_exact(prev, cur, c)

    def test_too_small_box(self) -> None:
        img = text_page(W, H)
        assert find_scroll(img, img, (0, 0, W, 2 * MIN_ROWS - 1)) is None
        assert find_scroll(img, img, (0, 0, 1, H)) is None


class TestDetectScroll:
    def test_remaining_is_what_still_differs(self) -> None:
        prev, cur = view(PAGE, 500, H), view(PAGE, 430, H)
        mask = changed_tiles(prev, cur, 64)
        found = detect_scroll(prev, cur, mask, 64)
        assert found is not None and found.copy.dy == 70
        moved = prev.copy()
        apply_copy(moved, found.copy)
        np.testing.assert_array_equal(found.remaining, changed_tiles(moved, cur, 64))
        assert found.remaining.sum() < mask.sum() / 3

    def test_no_gain_no_scroll(self) -> None:
        prev, cur = photo(W, H, seed=1), photo(W, H, seed=2)
        assert detect_scroll(prev, cur, changed_tiles(prev, cur, 64), 64) is None
        assert detect_scroll(prev, prev, changed_tiles(prev, prev, 64), 64) is None


def test_apply_copy_overlap_semantics() -> None:
    img = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
    before = img.copy()
    apply_copy(img, CopyRect(0, 2, 4, 8, 0, 0))  # down by 2, overlapping
    np.testing.assert_array_equal(img[2:], before[:8])
    img = before.copy()
    apply_copy(img, CopyRect(0, 0, 4, 8, 0, 2))  # up by 2, overlapping
    np.testing.assert_array_equal(img[:8], before[2:])

"""Moves in any direction: a region moved by (dx, dy) is found, its COPY is
pixel-exact, and the COPYs plus the remaining tiles rebuild the new picture
exactly; the encoder sends it as a COPY."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import noise, photo, text_page
from desklink.agent.encode import ScreenEncoder
from desklink.agent.encode.moves import MIN_SIDE, MoveDetector, detect_moves, find_move, move_mask
from desklink.agent.encode.scroll import CopyRect, apply_copy
from desklink.agent.encode.tiles import changed_tiles
from desklink.protocol.screen import Enc, Frame, decode

W, H = 640, 480
TILE = 64


def moved(prev: np.ndarray, x: int, y: int, w: int, h: int, dx: int, dy: int, uncovered: tuple[int, int, int]) -> np.ndarray:
    """``prev`` with its ``w x h`` block at ``(x, y)`` moved by ``(dx, dy)``;
    the place it left shows a flat colour (the desktop under a window)."""
    cur = prev.copy()
    cur[y : y + h, x : x + w, :3] = uncovered
    cur[y + dy : y + dy + h, x + dx : x + dx + w] = prev[y : y + h, x : x + w]
    return cur


def rebuild(prev: np.ndarray, cur: np.ndarray, copies: tuple[CopyRect, ...], remaining: np.ndarray) -> np.ndarray:
    """What a lossless viewer would show: ``prev``, the COPYs in order, then
    ``cur``'s pixels in the remaining tiles."""
    out = prev.copy()
    for c in copies:
        apply_copy(out, c)
    for ty, tx in zip(*np.nonzero(remaining), strict=True):
        out[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE] = cur[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
    return out


def apply_lossless(prev: np.ndarray, cur: np.ndarray, frame: Frame) -> np.ndarray:
    """Apply ``frame`` (through the wire format) to ``prev`` with every picture
    rectangle standing for ``cur``'s exact pixels: equal to ``cur`` only if
    the COPYs are exact and the rectangles cover everything else that changed."""
    out = prev.copy()
    back = decode(b"\0" * 0 + frame.encode(), 1 << 26)
    assert isinstance(back, Frame)
    for r in back.rects:
        if r.enc is Enc.COPY:
            sx, sy = r.source
            out[r.y : r.y + r.h, r.x : r.x + r.w] = out[sy : sy + r.h, sx : sx + r.w].copy()
        else:
            out[r.y : r.y + r.h, r.x : r.x + r.w] = cur[r.y : r.y + r.h, r.x : r.x + r.w]
    return out


@st.composite
def moves(draw: st.DrawFn) -> tuple[int, int, int, int, int, int]:
    w = draw(st.integers(130, 320))
    h = draw(st.integers(130, 300))
    x = draw(st.integers(0, W - w))
    y = draw(st.integers(0, H - h))
    dx = draw(st.integers(-x, W - w - x))
    dy = draw(st.integers(-y, H - h - y))
    if dx == 0 and dy == 0:
        dx = 1 if x + w < W else -1
    return x, y, w, h, dx, dy


class TestDetectMoves:
    @settings(max_examples=80, deadline=None)
    @given(moves(), st.integers(0, 1000), st.sampled_from([(0, 0, 0), (40, 90, 160)]))
    def test_random_region_moved_any_direction(self, m: tuple[int, int, int, int, int, int], seed: int,
                                               bg: tuple[int, int, int]) -> None:
        x, y, w, h, dx, dy = m
        prev = noise(W, H, seed=seed)
        cur = moved(prev, x, y, w, h, dx, dy, bg)
        mask = changed_tiles(prev, cur, TILE)
        found = detect_moves(prev, cur, mask, TILE)
        assert found is not None
        c = found.copies[0]
        assert (c.x - c.src_x, c.y - c.src_y) == (dx, dy)
        # The COPY lies inside the moved block's new place (noise matches nowhere else).
        assert x + dx <= c.x and c.x + c.w <= x + dx + w and y + dy <= c.y and c.y + c.h <= y + dy + h
        np.testing.assert_array_equal(rebuild(prev, cur, found.copies, found.remaining), cur)
        assert found.remaining.sum() < mask.sum()

    @settings(max_examples=40, deadline=None)
    @given(moves(), st.integers(0, 1000))
    def test_encoder_sends_the_move_as_a_copy(self, m: tuple[int, int, int, int, int, int], seed: int) -> None:
        x, y, w, h, dx, dy = m
        prev = noise(W, H, seed=seed)
        cur = moved(prev, x, y, w, h, dx, dy, (0, 0, 0))
        enc = ScreenEncoder(W, H)  # scroll detection first (it finds dx == 0), then moves
        enc.update(prev, 0.0)
        enc.next_frame(1, 0.0, 0)
        enc.update(cur, 0.05)
        frame = enc.next_frame(2, 0.05, 50_000)
        assert frame is not None
        copies = [r for r in frame.rects if r.enc is Enc.COPY]
        assert copies and (copies[0].x - copies[0].source[0], copies[0].y - copies[0].source[1]) == (dx, dy)
        np.testing.assert_array_equal(apply_lossless(prev, cur, frame), cur)

    def test_two_windows_moved_two_ways(self) -> None:
        prev = photo(W, H, seed=4)
        a, b = noise(200, 150, seed=1), noise(180, 160, seed=2)
        prev[20:170, 20:220] = a
        prev[250:410, 380:560] = b
        cur = prev.copy()
        cur[20:170, 20:220, :3] = 0
        cur[250:410, 380:560, :3] = 0
        cur[60:210, 90:290] = a  # (+70, +40)
        cur[300:460, 330:510] = b  # (-50, +50)
        found = detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE)
        assert found is not None and len(found.copies) == 2
        assert {(c.x - c.src_x, c.y - c.src_y) for c in found.copies} == {(70, 40), (-50, 50)}
        np.testing.assert_array_equal(rebuild(prev, cur, found.copies, found.remaining), cur)

    def test_second_copy_reads_the_picture_the_first_left(self) -> None:
        """Window B moves onto where A was, A moves away: B's COPY must not
        read A's new pixels (or the other way), whatever the order."""
        prev = np.zeros((H, W, 4), np.uint8)
        prev[..., 3] = 255
        a, b = noise(160, 140, seed=8), noise(160, 140, seed=9)
        prev[100:240, 100:260] = a
        prev[100:240, 300:460] = b
        cur = prev.copy()
        cur[100:240, 100:260, :3] = 0
        cur[100:240, 300:460, :3] = 0
        cur[100:240, 160:320] = a  # A right by 60, over B's old left part
        cur[300:440, 300:460] = b  # B down by 200
        found = detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE)
        assert found is not None
        np.testing.assert_array_equal(rebuild(prev, cur, found.copies, found.remaining), cur)

    def test_unrelated_pictures_give_no_move(self) -> None:
        prev, cur = noise(W, H, seed=1), noise(W, H, seed=2)
        assert detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE) is None
        prev, cur = text_page(W, H, seed=1), text_page(W, H, seed=2)
        found = detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE)
        if found is not None:  # blank stretches may match: then exact
            np.testing.assert_array_equal(rebuild(prev, cur, found.copies, found.remaining), cur)

    def test_text_window_moved(self) -> None:
        """A text window (repeated glyphs, blank margins) on a photo, moved
        diagonally: found, exact."""
        prev = photo(W, H, seed=6)
        win = text_page(300, 220, seed=3)
        prev[40:260, 30:330] = win
        cur = prev.copy()
        cur[40:260, 30:330] = photo(300, 220, seed=7)
        cur[123:343, 281:581] = win
        found = detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE)
        assert found is not None and (found.copies[0].x - found.copies[0].src_x, found.copies[0].y - found.copies[0].src_y) == (251, 83)
        np.testing.assert_array_equal(rebuild(prev, cur, found.copies, found.remaining), cur)

    def test_cursor_blinking_in_the_moved_window_does_not_cut_the_copy(self) -> None:
        """A text cursor inside the window changed while it moved: the COPY
        still spans the whole window; the cursor's tile is sent after it."""
        prev = np.zeros((H, W, 4), np.uint8)
        prev[..., 3] = 255
        win = noise(300, 220, seed=12)
        prev[40:260, 30:330] = win
        cur = prev.copy()
        cur[40:260, 30:330, :3] = 0
        cur[110:330, 250:550] = win
        cur[110 + 200 : 110 + 219, 250 + 20 : 250 + 29, :3] = 255  # the cursor, a 9x19 cell near the bottom
        found = detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE)
        assert found is not None
        c = found.copies[0]
        assert (c.x - c.src_x, c.y - c.src_y) == (220, 70)
        assert c.x <= 250 and c.x + c.w >= 550 and c.y <= 110 and c.y + c.h >= 330  # the whole window (and black around it)
        np.testing.assert_array_equal(rebuild(prev, cur, found.copies, found.remaining), cur)
        assert found.remaining[(110 + 205) // TILE, (250 + 24) // TILE]

    def test_too_small_box(self) -> None:
        img = noise(W, H)
        assert find_move(img, img, (0, 0, W, MIN_SIDE)) is None
        assert find_move(img, img, (0, 0, 8, H)) is None


def test_move_mask_carries_flags_with_the_copy() -> None:
    lossy = np.zeros((8, 10), dtype=np.bool_)
    lossy[1, 1] = True
    out = move_mask(lossy, CopyRect(192, 128, 128, 128, 64, 64), TILE, W, H)
    # Tile (1, 1) moved by (+2, +1) tiles lands on (2, 3); the source keeps its flag.
    assert out[2, 3] and out[1, 1] and out.sum() == 2
    # A copy not on tile edges: destination tiles partly covered keep their own flag too.
    lossy[5, 5] = True
    out = move_mask(lossy, CopyRect(100, 100, 64, 64, 70, 70), TILE, W, H)
    assert out[1, 1] and out[2, 2] and out[5, 5]


def test_detector_backs_off_while_nothing_moves_and_finds_a_drag_soon() -> None:
    """Frames of unrelated noise (a video): searched less and less often; a
    move after them is found within max_skip + 1 frames."""
    find = MoveDetector(max_skip=7)
    searched = []
    for k in range(40):
        prev, cur = noise(W, H, seed=k), noise(W, H, seed=k + 1)
        before = find.misses
        assert find(prev, cur, changed_tiles(prev, cur, TILE), TILE) is None
        searched.append(find.misses > before)
    assert 5 <= sum(searched) <= 12  # 1 + 2 + 4 + 8 + 8...: not every frame
    prev = noise(W, H, seed=99)
    cur = moved(prev, 100, 100, 300, 200, 37, -21, (0, 0, 0))
    mask = changed_tiles(prev, cur, TILE)
    results = [find(prev, cur, mask, TILE) for _ in range(8)]
    assert any(r is not None for r in results)
    assert find.misses == 0 and find(prev, cur, mask, TILE) is not None  # found: no back-off

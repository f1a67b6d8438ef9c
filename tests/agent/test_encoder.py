"""ScreenEncoder round trips: every frame goes through the wire format
(encode, then the protocol's validating decoder) into the reference
:class:`Canvas`, and what the viewer sees is compared with the source.

Tolerances, per B/G/R channel in 0..255: once refined (q90 4:4:4) the mean
absolute error is below 2 and the 99th percentile below 12; while moving
(q60 4:2:0) below 4 and 40.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import desktop, draw_text, errors, gradient, long_page, noise, photo, text_page, view
from desklink.agent.encode import Canvas, ScreenEncoder
from desklink.agent.encode.choose import PaletteOptions
from desklink.agent.encode.encoder import REFINE_EVERY
from desklink.agent.encode.jpeg import decode_jpeg, encode_jpeg
from desklink.protocol.screen import FLAG_KEY, FLAG_REFINE, MAX_SIDE, Enc, Frame, decode

REFINED = (2.0, 12.0)
MOVING = (4.0, 40.0)
W, H = 1280, 800
STEP = 0.05  # seconds between captures (20 fps)
#: The palette coding off: tests of the JPEG motion/refine machinery use
#: synthetic text, which would otherwise go lossless and never refine.
JPEG_ONLY = PaletteOptions(colours=0)


def close(a: np.ndarray, b: np.ndarray, tolerance: tuple[float, float]) -> None:
    mean, p99 = errors(a, b)
    assert mean < tolerance[0] and p99 < tolerance[1], f"mean {mean:.2f}, p99 {p99:.1f} over {tolerance}"


class Session:
    """An encoder and a viewer joined by the wire format, on a fake clock."""

    def __init__(self, width: int = W, height: int = H, **options: object) -> None:
        self.enc = ScreenEncoder(width, height, **options)  # type: ignore[arg-type]
        self.canvas = Canvas()
        self.now = 0.0
        self.seq = 0
        self.frames: list[Frame] = []

    def send(self, frame: Frame | None) -> Frame | None:
        if frame is not None:
            wire = decode(frame.encode(), 1 << 26)
            assert isinstance(wire, Frame)
            self.canvas.apply(wire)
            self.frames.append(frame)
        return frame

    def step(self, image: np.ndarray | None = None) -> Frame | None:
        """Advance the clock, record ``image`` if given, ask for a frame."""
        self.now += STEP
        self.seq += 1
        if image is not None:
            self.enc.update(image, self.now)
        return self.send(self.enc.next_frame(self.seq, self.now, int(self.now * 1e6)))

    def settle(self, steps: int = 12) -> list[Frame]:
        """Let the screen stay still (refines happen); returns the frames sent."""
        return [f for f in (self.step() for _ in range(steps)) if f is not None]


def test_first_frame_is_a_key_frame_that_reconstructs_alone() -> None:
    s = Session()
    img = desktop(W, H)
    frame = s.step(img)
    assert frame is not None and frame.flags == FLAG_KEY
    # The rectangles tile the screen exactly: text and chrome PALETTE, the rest JPEG.
    cover = np.zeros((H, W), np.int32)
    for r in frame.rects:
        cover[r.y : r.y + r.h, r.x : r.x + r.w] += 1
    assert (cover == 1).all()
    assert {r.enc for r in frame.rects} >= {Enc.PALETTE, Enc.JPEG}
    close(s.canvas.image, img, REFINED)
    for r in frame.rects:
        if r.enc is Enc.PALETTE:
            assert (s.canvas.image[r.y : r.y + r.h, r.x : r.x + r.w, :3] == img[r.y : r.y + r.h, r.x : r.x + r.w, :3]).all()
    assert not s.enc.lossy.any()
    viewer = Canvas()  # a second viewer joining later needs nothing else
    viewer.apply(s.enc.key_frame(99, s.now, 0))
    close(viewer.image, img, REFINED)


def test_unchanged_screen_costs_nothing() -> None:
    s = Session()
    img = desktop(W, H)
    s.step(img)
    assert s.step() is None
    assert s.step(img) is None
    assert s.step(img.copy()) is None  # equal pixels, other array
    assert s.settle() == []


def test_small_change_is_sent_crisp_at_once() -> None:
    s = Session()
    img = text_page(W, H)
    s.step(img)
    typed = img.copy()
    draw_text(typed, 16, 16 + 18 * 30, "hello, world")
    frame = s.step(typed)
    assert frame is not None and frame.flags == 0
    assert sum(r.w * r.h for r in frame.rects) <= 4 * 64 * 64
    assert frame.payload_bytes < 15_000
    close(s.canvas.image, typed, REFINED)
    assert not s.enc.lossy.any() and s.settle() == []


def test_large_change_moves_then_refines() -> None:
    s = Session(settle_s=0.25)
    base = gradient(W, H)
    s.step(base)
    img = base.copy()
    img[100:700, 100:900] = text_page(800, 600, seed=4)
    img[100:500, 950:1250] = photo(300, 400)
    frame = s.step(img)
    assert frame is not None and frame.flags == 0
    close(s.canvas.image, img, MOVING)
    assert s.enc.lossy.any()
    assert s.step() is None  # not settled yet
    refines = s.settle()
    assert refines and all(f.flags == FLAG_REFINE for f in refines)
    assert not s.enc.lossy.any()
    close(s.canvas.image, img, REFINED)
    assert s.settle() == []


def test_session_round_trip() -> None:
    """Typing, a window opening, scrolling in it, a flat dialog, a video in a
    corner: within tolerance after every frame, crisp once settled."""
    s = Session()
    page = long_page(640, 4000, seed=8)
    img = desktop(W, H)
    s.step(img)
    for text in ("a", "ab", "abc", "abc d"):
        img = img.copy()
        draw_text(img, 120, 130, text)
        s.step(img)
        close(s.canvas.image, img, REFINED)
    img = img.copy()
    img[100:700, 80:720] = view(page, 0, 600)
    s.step(img)
    close(s.canvas.image, img, MOVING)
    for k in range(1, 8):
        img = img.copy()
        img[100:700, 80:720] = view(page, k * 53, 600)
        frame = s.step(img)
        assert frame is not None and any(r.enc is Enc.COPY for r in frame.rects)
        close(s.canvas.image, img, MOVING)
    img = img.copy()
    img[256:448, 320:640, :3] = (40, 160, 230)  # a flat panel on whole tiles
    frame = s.step(img)
    assert frame is not None and any(r.enc is Enc.FILL for r in frame.rects)
    for k in range(6):
        img = img.copy()
        img[40:440, 760:1260] = photo(500, 400, seed=k)
        s.step(img)
    s.settle()
    close(s.canvas.image, img, REFINED)
    assert not s.enc.lossy.any()


def test_scroll_is_a_copy_and_much_smaller() -> None:
    page = long_page(W, 3000, seed=5)
    sizes = {}
    for scroll in (True, False):
        s = Session(scroll=scroll, moves=scroll)
        s.step(view(page, 400, H))
        s.settle()
        cur = view(page, 460, H)
        frame = s.step(cur)
        assert frame is not None
        close(s.canvas.image, cur, MOVING)
        sizes[scroll] = frame.payload_bytes
        if scroll:
            copy = frame.rects[0]
            assert copy.enc is Enc.COPY and copy.source[1] - copy.y == 60
            assert copy.h >= H - 60 - 64
    assert sizes[True] * 4 < sizes[False], sizes


def test_scrolled_lossy_content_still_refines() -> None:
    """Lossy flags travel with a COPY: content sent at motion quality and then
    scrolled is still refined once it settles."""
    page = long_page(W, 3000, seed=6)
    s = Session(settle_s=10.0, palette=JPEG_ONLY)  # nothing refines during the scroll
    s.step(gradient(W, H))
    s.step(view(page, 0, H))  # big change: lossy everywhere
    assert s.enc.lossy.mean() > 0.8
    s.enc.settle_s = 0.25
    cur = view(page, 200, H)
    frame = s.step(cur)
    assert frame is not None and frame.rects[0].enc is Enc.COPY
    assert s.enc.lossy.mean() > 0.8
    s.settle()
    close(s.canvas.image, cur, REFINED)


def test_updates_coalesce_into_one_frame() -> None:
    s = Session()
    img = desktop(W, H)
    s.step(img)
    a = img.copy()
    draw_text(a, 100, 120, "first")
    b = a.copy()
    b[600:700, 900:1200] = photo(300, 100)
    c = b.copy()
    draw_text(c, 700, 750, "third")
    for i, pic in enumerate((a, b, c)):
        s.enc.update(pic, s.now + i * 0.01)  # the window is full: no next_frame
    frame = s.step()
    assert frame is not None and len(s.frames) == 2
    close(s.canvas.image, c, MOVING)
    s.settle()
    close(s.canvas.image, c, REFINED)


def test_a_change_that_reverts_before_sending_costs_nothing() -> None:
    s = Session()
    img = desktop(W, H)
    s.step(img)
    blink = img.copy()
    blink[300:318, 400:408, :3] = 0  # a cursor blinks on and off again
    s.enc.update(blink, s.now)
    assert s.step(img) is None


def test_resolution_change_makes_a_key_frame() -> None:
    s = Session()
    s.step(desktop(W, H))
    small = desktop(1024, 768, seed=3)
    frame = s.step(small)
    assert frame is not None and frame.key and (frame.width, frame.height) == (1024, 768)
    assert (s.enc.width, s.enc.height) == (1024, 768)
    close(s.canvas.image, small, REFINED)
    assert s.step(small) is None


def test_request_key() -> None:
    s = Session()
    img = desktop(W, H)
    s.step(img)
    s.enc.request_key()
    assert s.enc.needs_key
    frame = s.step()
    assert frame is not None and frame.key and not s.enc.needs_key


def test_odd_sizes_round_trip() -> None:
    s = Session(1001, 677)
    img = desktop(1001, 677)
    s.step(img)
    moved = img.copy()
    moved[600:677, 950:1001] = photo(51, 77)  # bottom-right partial tiles
    moved[0:5, 0:1001, :3] = 0
    s.step(moved)
    close(s.canvas.image, moved, MOVING)
    s.settle()
    close(s.canvas.image, moved, REFINED)


def test_refine_interleaves_under_constant_motion() -> None:
    s = Session(settle_s=0.1, palette=JPEG_ONLY)
    s.step(gradient(W, H))
    big = text_page(W, H, seed=9)
    s.step(big)
    assert s.enc.lossy.any()
    img = big
    for k in range(10 * REFINE_EVERY):
        img = img.copy()
        img[0:64, 0:128] = photo(128, 64, seed=k)  # a tiny animation never stops
        frame = s.step(img)
        assert frame is not None and frame.flags == 0  # never a frame of its own
        close(s.canvas.image, img, MOVING)  # the motion is never late
    assert not s.enc.lossy[1:].any()
    close(s.canvas.image[64:], img[64:], REFINED)


def test_refine_riding_along_a_scroll_keeps_the_copy_source() -> None:
    """A refine rectangle in a motion frame may be merged over changed tiles
    (here ``max_rects=1`` forces one box over everything); it must show the
    previous picture there, or the COPY after it would move new pixels."""
    page = long_page(320, 2000, seed=3)
    s = Session(320, 240, tile=32, settle_s=0.1, max_rects=1, palette=JPEG_ONLY)
    img = view(page, 0, 240)
    s.step(img)
    s.enc.lossy[:, [0, 9]] = True  # the edge columns were sent at motion quality
    for k in range(REFINE_EVERY + 1):
        img = img.copy()
        img[:, 64:224] = view(page, 40 * (k + 1), 240)[:, 64:224]
        frame = s.step(img)
        assert frame is not None and frame.rects[0].enc is (Enc.JPEG if k == REFINE_EVERY else Enc.COPY)
        close(s.canvas.image, img, MOVING)
    s.settle()
    close(s.canvas.image, img, REFINED)


def test_max_refine_tiles_spreads_a_refine() -> None:
    s = Session(max_refine_tiles=40)
    s.step(gradient(W, H))
    img = noise(W, H)
    s.step(img)
    refines = s.settle(20)
    assert len(refines) >= 250 // 40 and all(f.flags == FLAG_REFINE for f in refines)
    assert not s.enc.lossy.any()


def test_scattered_changes_stay_under_the_rect_cap() -> None:
    s = Session(max_rects=16)
    img = desktop(W, H)
    s.step(img)
    dots = img.copy()
    for r in range(0, H, 128):
        for c in range(0, W, 128):
            dots[r + 5, c + 5, :3] = 0
    frame = s.step(dots)
    assert frame is not None and len(frame.rects) <= 16
    close(s.canvas.image, dots, MOVING)


def test_bad_input_is_refused() -> None:
    enc = ScreenEncoder(64, 64)
    with pytest.raises(RuntimeError):
        enc.key_frame(1, 0.0, 0)
    assert enc.next_frame(1, 0.0, 0) is None
    with pytest.raises(ValueError):
        enc.update(np.zeros((64, 64, 3), np.uint8), 0.0)
    with pytest.raises(ValueError):
        enc.update(np.zeros((8, MAX_SIDE + 1, 4), np.uint8), 0.0)
    for bad in ({"tile": 40}, {"motion_quality": 0}, {"refine_quality": 101}, {"settle_s": -1.0}):
        with pytest.raises(ValueError):
            ScreenEncoder(64, 64, **bad)  # type: ignore[arg-type]


def test_statistics_count_frames() -> None:
    s = Session()
    s.step(desktop(W, H))
    stats = s.enc.statistics()
    assert stats.frames == stats.key_frames == 1 and stats.bytes > 0 and stats.last_encode_ms > 0


edits = st.lists(
    st.one_of(
        st.tuples(st.just("fill"), st.integers(0, 319), st.integers(0, 239), st.integers(1, 200), st.integers(1, 150),
                  st.integers(0, 255)),
        st.tuples(st.just("photo"), st.integers(0, 319), st.integers(0, 239), st.integers(1, 200), st.integers(1, 150),
                  st.integers(0, 99)),
        st.tuples(st.just("text"), st.integers(0, 300), st.integers(0, 220), st.integers(1, 30), st.just(0),
                  st.integers(0, 99)),
        st.tuples(st.just("scroll"), st.integers(0, 100), st.integers(0, 60), st.integers(100, 220),
                  st.integers(100, 180), st.integers(-90, 90)),
        st.tuples(st.just("frame"), st.just(0), st.just(0), st.just(0), st.just(0), st.integers(1, 8)),
    ),
    max_size=24,
)


def tile_errors(a: np.ndarray, b: np.ndarray, tile: int) -> np.ndarray:
    d = np.abs(a[:, :, :3].astype(np.int16) - b[:, :, :3].astype(np.int16)).mean(axis=2)
    h, w = d.shape
    return d.reshape(h // tile, tile, w // tile, tile).mean(axis=(1, 3))


@settings(max_examples=60, deadline=None)
@given(edits, st.sampled_from([2, 4, 32]), st.sampled_from([3, 160]), st.sampled_from([0.0, 0.1, 0.25]))
def test_any_edit_sequence_ends_crisp(steps: list[tuple[str, int, int, int, int, int]], max_rects: int,
                                      max_refine_tiles: int, settle_s: float) -> None:
    """Whatever happens on screen, however captures and frames interleave
    and whatever the caps (tiny ones force coarse merging and interleaved
    refines), the viewer converges to the screen once it settles."""
    s = Session(320, 240, tile=32, max_rects=max_rects, max_refine_tiles=max_refine_tiles, settle_s=settle_s)
    img = desktop(320, 240)
    s.step(img)
    for kind, x, y, w, h, v in steps:
        if kind == "frame":
            s.now += STEP * (v - 1)  # step() adds one more
            s.step()
            continue
        img = img.copy()
        if kind == "fill":
            img[y : y + h, x : x + w, :3] = (v, 255 - v, v // 2)
        elif kind == "photo":
            patch = photo(320, 240, seed=v)
            img[y : y + h, x : x + w] = patch[y : y + h, x : x + w]
        elif kind == "text":
            draw_text(img, x, y, [33 + (v + i) % 60 for i in range(w)])
        else:  # scroll the box by v rows
            box = img[y : y + h, x : x + w].copy()
            img[y : y + h, x : x + w] = np.roll(box, v, axis=0)
        s.enc.update(img, s.now)  # a capture; a frame only at the next "frame" step
    s.step(img)
    s.settle(40)
    assert not s.enc.lossy.any()
    # Random content can be harder for JPEG than the fixed screens (text on
    # a photo), so the bar is what one q90 4:4:4 JPEG of the whole final
    # screen achieves, tile by tile, with a little room for tile boundaries.
    direct = decode_jpeg(encode_jpeg(img, 0, 0, 320, 240, quality=90, subsampling="444"))
    worse = tile_errors(s.canvas.image, img, 16) - tile_errors(direct, img, 16)
    assert worse.max() < 2.0, f"a tile is {worse.max():.1f} worse than a direct JPEG"

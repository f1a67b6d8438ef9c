"""Board: the agent's strokes, the capture mask and the beneath pixels.
Pure numpy pictures: exact equality throughout."""

from __future__ import annotations

import threading

import numpy as np

from desklink.agent.overlay import Board, rasterize
from desklink.protocol import limits

from ._ref import stroke

W, H = 160, 120


def picture(seed: int) -> np.ndarray:
    """A random BGRA capture (fresh array, like Capture.grab)."""
    return np.random.default_rng(seed).integers(0, 256, (H, W, 4), dtype=np.uint8)


def paint(image: np.ndarray, msg: dict, bgra: tuple[int, int, int, int] = (72, 29, 225, 255)) -> np.ndarray:
    """``image`` with the stroke painted on it, as the overlay would."""
    out = image.copy()
    out[rasterize(msg, W, H)] = bgra
    return out


def settle_and_grab(board: Board, n: int = 2) -> None:
    """The overlay confirmed; let ``n`` further captures pass."""
    board.settle(board.view().version)
    for _ in range(n):
        board.mask(picture(99))


def test_mask_restores_the_beneath_exactly() -> None:
    board = Board(W, H)
    before = picture(1)
    board.mask(before.copy())  # the newest capture, before the stroke
    a = stroke(id="a", points=[[10, 10], [150, 100], [20, 110]], width=9)
    assert board.apply(a)
    assert board.beneath_from() == rasterize(a, W, H).sum()  # from the newest capture
    on_screen = paint(before, a)
    assert not np.array_equal(on_screen, before)
    masked = board.mask(on_screen)
    assert masked is on_screen  # in place
    assert np.array_equal(masked, before)


def test_other_pixels_pass_through_untouched() -> None:
    board = Board(W, H)
    board.mask(picture(1))
    a = stroke(id="a", points=[[30, 30], [90, 40]], width=5)
    board.apply(a)
    board.beneath_from()
    later = picture(2)  # the rest of the screen changed
    expect = later.copy()
    cover = rasterize(a, W, H)
    expect[cover] = picture(1)[cover]
    assert np.array_equal(board.mask(paint(later, a)), expect)


def test_explicit_capture_and_overlapping_strokes_keep_the_first_beneath() -> None:
    board = Board(W, H)
    base = picture(3)
    a = stroke(id="a", points=[[10, 60], [150, 60]], width=11)
    b = stroke(id="b", tool="highlighter", points=[[80, 5], [80, 115]], width=21)
    board.apply(a)
    board.beneath_from(base)
    screen = paint(base, a)  # a is painted
    board.apply(b)
    board.beneath_from(screen.copy())  # this capture shows a where b crosses it
    screen = paint(screen, b, (0, 255, 255, 255))
    assert np.array_equal(board.mask(screen), base)


def test_mask_takes_beneath_itself_when_nobody_did() -> None:
    """A capture that arrives between apply and beneath_from: the overlay has
    not painted yet, so the capture itself is the beneath."""
    board = Board(W, H)
    a = stroke(id="a", points=[[5, 5], [100, 100]], width=6)
    board.apply(a)
    first = picture(4)
    assert np.array_equal(board.mask(first.copy()), first)
    assert np.array_equal(board.mask(paint(first, a)), first)


def test_view_shows_only_held_pixels() -> None:
    board = Board(W, H)
    a = stroke(id="a", points=[[5, 5], [100, 100]], width=6)
    board.apply(a)
    assert not board.view().shown.any()  # no beneath yet: the overlay must not show it
    board.beneath_from(picture(5))
    view = board.view()
    assert np.array_equal(view.shown, rasterize(a, W, H))
    assert [m["id"] for _, m in view.strokes] == ["a"]


def test_undo_uncovers_after_the_overlay_settles_and_two_captures() -> None:
    board = Board(W, H)
    base = picture(6)
    a = stroke(id="a", points=[[20, 20], [140, 20]], width=7)
    b = stroke(id="b", points=[[20, 90], [140, 90]], width=7)
    for m in (a, b):
        board.apply(m)
    board.beneath_from(base)
    screen = paint(paint(base, a), b)
    assert board.apply({"op": "undo", "id": "a"})
    assert board.ids == ["b"]
    # not confirmed yet: a may still be on screen, so it stays masked
    assert np.array_equal(board.mask(screen.copy()), base)
    assert not board.needs_grab
    board.settle(board.view().version)
    assert board.needs_grab  # grabs will let a's pixels through: ask for them
    # the next capture may have been grabbed before the repaint: still masked
    assert np.array_equal(board.mask(screen.copy()), base)
    assert board.needs_grab
    # the one after that cannot have been: a's pixels come through (b's do not)
    now = paint(picture(7), b)
    expect = picture(7)
    cover_b = rasterize(b, W, H)
    expect[cover_b] = base[cover_b]
    assert np.array_equal(board.mask(now), expect)
    assert np.array_equal(board.covered(), cover_b)
    assert not board.needs_grab


def test_clear_uncovers_everything() -> None:
    board = Board(W, H)
    board.apply(stroke(id="a", points=[[1, 1], [150, 110]]))
    board.apply(stroke(id="b", tool="rect", points=[[10, 10], [60, 60]]))
    board.beneath_from(picture(8))
    assert board.apply({"op": "clear"})
    assert len(board) == 0 and not board.view().shown.any()
    assert board.covered().any()  # lingering until the overlay says so
    settle_and_grab(board)
    assert not board.covered().any()
    fresh = picture(9)
    assert np.array_equal(board.mask(fresh.copy()), fresh)
    assert not board.apply({"op": "clear"})  # nothing left


def test_settle_only_covers_versions_the_overlay_showed() -> None:
    board = Board(W, H)
    board.apply(stroke(id="a", points=[[10, 10], [50, 10]]))
    board.apply(stroke(id="b", points=[[10, 80], [50, 80]]))
    board.beneath_from(picture(10))
    board.apply({"op": "undo", "id": "a"})
    shown = board.view().version
    board.apply({"op": "undo", "id": "b"})  # arrives after the overlay took its view
    board.settle(shown)
    for _ in range(3):
        board.mask(picture(11))
    cover = board.covered()
    assert not cover[10].any() and cover[80].any()  # a gone, b still masked


def test_fade() -> None:
    now = [100.0]
    board = Board(W, H, clock=lambda: now[0])
    board.apply(stroke(id="a", points=[[10, 10], [50, 10]], fade_s=2.5))
    board.apply(stroke(id="b", points=[[10, 80], [50, 80]]))
    assert board.view().next_expiry == 102.5
    now[0] = 102.4
    assert not board.expire()
    now[0] = 102.5
    assert board.expire()
    assert board.ids == ["b"]
    assert not board.expire(now=10_000)  # b never fades


def test_undo_unknown_replace_same_id_and_bad_messages() -> None:
    board = Board(W, H)
    assert not board.apply({"op": "undo", "id": "nope"})
    assert not board.apply({"op": "what"})
    assert not board.apply(stroke(tool="spray"))
    assert not board.apply(stroke(color="red"))
    assert not board.apply(stroke(points=[]))
    assert not board.apply(stroke(points=[["x", 1]]))
    assert not board.apply(stroke(points=[[5000, 5000]]))  # entirely off the monitor
    assert board.apply(stroke(id="a", points=[[10, 10]], width=200))  # width clamped
    assert board.view().strokes[0][1]["width"] == 64
    assert board.apply(stroke(id="a", points=[[100, 100]], width=3))  # same id replaces
    assert board.ids == ["a"] and board.view().strokes[0][1]["points"] == [[100, 100]]


def test_a_growing_stroke_keeps_its_pixels_and_a_changed_one_lets_them_go() -> None:
    """The visitor's stroke under way is re-applied, longer, on every pump:
    none of its pixels ever leaves the screen, so nothing lingers; a
    replacement that drops pixels lingers as an undo would."""
    board = Board(W, H)
    before = picture(1)
    board.mask(before.copy())
    short = stroke(id="v", points=[[10, 10], [60, 20]], width=5)
    board.apply(short)
    board.beneath_from()
    longer = stroke(id="v", points=[[10, 10], [60, 20], [90, 80]], width=5)
    assert board.apply(longer)
    assert board._linger == []
    assert np.array_equal(board.covered(), rasterize(longer, W, H))
    board.beneath_from()
    assert np.array_equal(board.mask(paint(before, longer)), before)  # still exact
    moved = stroke(id="v", points=[[100, 100], [120, 110]], width=5)  # not a superset: the old pixels linger
    assert board.apply(moved)
    assert len(board._linger) == 1
    assert board.covered()[rasterize(longer, W, H)].all()
    assert board.ids == ["v"] and len(board) == 1


def test_stroke_count_is_capped() -> None:
    board = Board(W, H, max_strokes=5)
    for i in range(8):
        board.apply(stroke(id=f"s{i}", points=[[i * 10, 5]]))
    assert board.ids == ["s3", "s4", "s5", "s6", "s7"]
    assert Board(W, H).max_strokes == limits.MAX_STROKES


def test_reset_and_other_sizes() -> None:
    board = Board(W, H)
    board.apply(stroke(id="a", points=[[10, 10], [50, 10]]))
    board.beneath_from(picture(12))
    other = np.zeros((H, W + 1, 4), np.uint8)
    assert board.mask(other) is other and not other.any()  # another monitor: untouched
    board.reset(W * 2, H)
    assert len(board) == 0 and not board.covered().any() and board.width == W * 2


def test_non_contiguous_capture() -> None:
    board = Board(W, H)
    base = picture(13)
    a = stroke(id="a", points=[[10, 10], [100, 60]], width=5)
    board.apply(a)
    board.beneath_from(base)
    big = np.zeros((H, W * 2, 4), np.uint8)
    view = big[:, ::2]
    view[...] = paint(base, a)
    assert not view.flags.c_contiguous
    assert np.array_equal(board.mask(view), base)


def test_threads_strokes_captures_and_painting_at_once() -> None:
    """Network, capture and UI threads hammer one board, modelled as in the
    agent: the UI shows ``view().shown`` (the window's shape) and then
    settles; a grab sees whatever is shown at that moment and is masked
    after. The invariant: no painted pixel ever reaches a masked capture."""
    board = Board(W, H)
    base = picture(14)
    board.mask(base.copy())
    errors: list[str] = []
    stop = threading.Event()
    shown = [np.zeros((H, W), bool)]  # what the overlay shows now (replaced atomically)

    def network() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            board.apply(stroke(id=f"s{i % 7}", points=[[i % W, (i * 7) % H], [(i * 13) % W, (i * 3) % H]], width=1 + i % 9))
            if i % 3:
                board.beneath_from()  # most of the time the client does this at once
            if i % 5 == 0:
                board.apply({"op": "undo", "id": f"s{(i + 3) % 7}"})
            if i % 40 == 0:
                board.apply({"op": "clear"})
            if i % 11 == 0:
                board.expire(now=float("inf"))

    def ui() -> None:
        while not stop.is_set():
            view = board.view()
            shown[0] = view.shown
            board.settle(view.version)

    def capture() -> None:
        for n in range(400):
            screen = base.copy()
            screen[shown[0]] = (1, 2, 3, 4)  # the grab
            masked = board.mask(screen)
            if not np.array_equal(masked, base):
                errors.append(f"capture {n}: a painted pixel got through")
                break
        stop.set()

    threads = [threading.Thread(target=f) for f in (network, ui, capture)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors

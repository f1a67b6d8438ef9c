"""The overlay window on a real X server (Xvfb, no window manager, no
compositor): it paints exactly the board's pixels, clicks pass through it,
and a masked capture of the screen with the overlay up equals a capture
taken before the stroke was painted."""

from __future__ import annotations

import subprocess
import sys
import time
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xcffib
import xcffib.shape
import xcffib.xproto

from desklink.agent.overlay import window as overlay_window
from desklink.agent.capture import X11Capture
from desklink.agent.overlay import Board, OverlayWindow, highlight_color, rasterize
from desklink.testing_x import XDisplay, stop_process

from ._ref import stroke
from ._tk import Lines, bgra, pump, settle, wait_for

W, H = 1024, 768
RED = np.array([255, 0, 0], np.uint8)


@pytest.fixture(scope="module")
def xd(tk_display: XDisplay) -> Iterator[XDisplay]:
    term = tk_display.spawn("xterm", "-geometry", "80x20+20+20", "-bg", "white", "-fg", "black", "-title", "overlay-xterm",
                            "-e", "sh", "-c", "seq 1 400; sleep 600")
    tk_display.wait_window("overlay-xterm")
    time.sleep(0.5)  # let it print
    yield tk_display
    stop_process(term)


@pytest.fixture
def root(xd: XDisplay) -> Iterator[tk.Tk]:
    r = tk.Tk(screenName=xd.name)
    r.withdraw()
    yield r
    r.destroy()


@pytest.fixture
def board() -> Board:
    return Board(W, H)


@pytest.fixture
def window(root: tk.Tk, board: Board) -> Iterator[OverlayWindow]:
    ov = OverlayWindow(root, board)
    pump(root)
    yield ov
    ov.destroy()
    pump(root)


def draw(board: Board, ov: OverlayWindow, msg: dict[str, Any], latest: np.ndarray) -> None:
    """What the agent does on ``annotate``: board first, beneath from the
    newest capture, then the UI paints."""
    assert board.apply(msg)
    board.beneath_from(latest)
    ov.apply(msg)


def test_paints_exactly_the_stroke(xd: XDisplay, root: tk.Tk, board: Board, window: OverlayWindow) -> None:
    before = xd.screenshot()
    msg = stroke(id="red", color="#ff0000", width=6, points=[[100, 400], [300, 480], [600, 420], [900, 700]])
    draw(board, window, msg, bgra(before))
    settle(root, xd)
    shot = xd.screenshot()
    where = rasterize(msg, W, H)
    assert (shot[where] == RED).all()  # every stroke pixel is red...
    assert np.array_equal(shot[~where], before[~where])  # ...and nothing else changed
    assert window.rect_count > 0


@pytest.mark.parametrize("msg", [
    stroke(id="a", tool="arrow", color="#00c000", width=5, points=[[80, 700], [500, 520]]),
    stroke(id="r", tool="rect", color="#0000ff", width=3, points=[[600, 100], [980, 400]]),
    stroke(id="h", tool="highlighter", color="#ffd400", width=20, points=[[40, 300], [400, 330], [420, 380]]),
    stroke(id="p1", color="#ff00ff", width=1, points=[[700, 600], [1000, 750], [720, 760]]),
    stroke(id="dot", color="#ff0000", width=12, points=[[512, 384]]),
], ids=lambda m: f"{m['tool']}-{m['width']}")
def test_every_tool_is_exact(xd: XDisplay, root: tk.Tk, board: Board, window: OverlayWindow, msg: dict[str, Any]) -> None:
    before = xd.screenshot()
    draw(board, window, msg, bgra(before))
    settle(root, xd)
    shot = xd.screenshot()
    where = rasterize(msg, W, H)
    color = highlight_color(msg["color"]) if msg["tool"] == "highlighter" else msg["color"]
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)
    assert (shot[where] == rgb).all()
    assert np.array_equal(shot[~where], before[~where])


def test_the_shaped_window_is_the_top_level_one(xd: XDisplay, board: Board, window: OverlayWindow) -> None:
    """Tk wraps each toplevel in a wrapper window: that one (the root's
    child) must carry the shapes, with an empty input shape."""
    conn: Any = xcffib.connect(display=xd.name)
    try:
        tree = conn.core.QueryTree(window.xid).reply()
        assert tree.parent == tree.root
        assert window.xid != window.win.winfo_id()  # the wrapper, not Tk's inner window
        shape = conn(xcffib.shape.key)
        inputs = shape.GetRectangles(window.xid, xcffib.shape.SK.Input).reply()
        assert inputs.rectangles_len == 0
        bounding = shape.GetRectangles(window.xid, xcffib.shape.SK.Bounding).reply()
        assert bounding.rectangles_len == 0  # nothing drawn yet: nothing shown
    finally:
        conn.disconnect()


def test_clicks_pass_through_to_the_window_beneath(xd: XDisplay, root: tk.Tk, board: Board, window: OverlayWindow) -> None:
    rec = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_clicks.py")), "400x300+560+420"],
                           env=xd.env, stdout=subprocess.PIPE, text=True)
    xd.children.append(rec)
    lines: Lines | None = None
    try:
        assert rec.stdout is not None
        lines = Lines(rec.stdout)
        assert lines.next(30) == ["ready"]
        xd.wait_window("overlay-click-recorder")
        window.win.lift()  # the recorder came later; the overlay goes back on top
        settle(root, xd)
        msg = stroke(id="x", color="#ff0000", width=14, points=[[560, 420], [960, 720]])
        draw(board, window, msg, bgra(xd.screenshot()))
        settle(root, xd)
        shot = xd.screenshot()
        x, y = 760, 570  # on the stroke, inside the recorder
        assert (shot[y, x] == RED).all()  # the overlay is on top there...
        xd.click(x, y)
        assert lines.next() == ["click", str(x), str(y), "1"]  # ...and the click went through
        xd.click(600, 700)  # off the stroke, for good measure
        assert lines.next() == ["click", "600", "700", "1"]

        # Control: an unshaped window in the same place does catch the click.
        blocker = tk.Toplevel(root)
        blocker.overrideredirect(True)
        blocker.geometry("60x60+730+540")
        pump(root, 0.2)
        xd.click(x, y)
        xd.click(600, 700)
        assert lines.next() == ["click", "600", "700", "1"]  # 760,570 never arrived
        blocker.destroy()
    finally:
        rec.terminate()
        rec.wait(5)
        if lines is not None:
            lines.thread.join(5)  # EOF once the recorder is gone
        if rec.stdout is not None:
            rec.stdout.close()


def test_masked_capture_equals_the_capture_before_the_stroke(xd: XDisplay, root: tk.Tk, board: Board, window: OverlayWindow) -> None:
    cap = X11Capture(xd.name)
    try:
        assert (cap.selected.width, cap.selected.height) == (W, H)
        before = board.mask(cap.grab())  # the agent masks every grab; this one has nothing to mask
        msgs = [
            stroke(id="s1", color="#ff0000", width=8, points=[[30, 40], [400, 200], [200, 330]]),  # over the xterm's text
            stroke(id="s2", tool="arrow", color="#00ff00", width=4, points=[[700, 100], [900, 300]]),
            stroke(id="s3", tool="highlighter", color="#ffff00", width=24, points=[[50, 100], [500, 110]]),  # crosses s1
        ]
        for msg in msgs:
            assert board.apply(msg)
            board.beneath_from()  # the newest masked capture
            window.apply(msg)
            settle(root, xd)
        raw = cap.grab()
        assert (raw[..., :3] != before[..., :3]).any(axis=2).sum() > 1000  # the strokes are in the raw grab
        masked = board.mask(raw)
        assert np.array_equal(masked[..., :3], before[..., :3])  # and not in what the viewers get

        # Undo: the stroke leaves the screen, and the mask lets its pixels through again.
        assert board.apply({"op": "undo", "id": "s2"})
        board.beneath_from()
        window.apply({"op": "undo", "id": "s2"})
        settle(root, xd)
        for _ in range(3):
            raw = cap.grab()
            unmasked = raw.copy()
            assert np.array_equal(board.mask(raw)[..., :3], before[..., :3])
        s2 = rasterize(msgs[1], W, H) & ~rasterize(msgs[0], W, H) & ~rasterize(msgs[2], W, H)
        assert np.array_equal(unmasked[s2][:, :3], before[s2][:, :3])  # off the screen for real
        assert not board.covered()[s2].any()

        # Clear: everything goes; captures are the plain screen again.
        board.apply({"op": "clear"})
        window.apply({"op": "clear"})
        settle(root, xd)
        for _ in range(3):
            raw = cap.grab()
            plain = raw.copy()
            board.mask(raw)
        assert np.array_equal(plain[..., :3], before[..., :3])
        assert not board.covered().any()
    finally:
        cap.close()


def test_fading_stroke_goes(xd: XDisplay, root: tk.Tk, board: Board, window: OverlayWindow) -> None:
    before = xd.screenshot()
    msg = stroke(id="f", color="#ff0000", width=10, points=[[100, 600], [900, 600]], fade_s=1.5)
    draw(board, window, msg, bgra(before))
    settle(root, xd)
    assert (xd.screenshot()[600, 100:900] == RED).all()
    assert wait_for(root, lambda: len(board) == 0 and np.array_equal(xd.screenshot(), before), timeout=5)


def test_bitmap_shape_past_the_rectangle_cap(xd: XDisplay, root: tk.Tk, board: Board, window: OverlayWindow,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlay_window, "MAX_SHAPE_RECTS", 8)
    before = xd.screenshot()
    msg = stroke(id="b", color="#ff0000", width=7, points=[[20, 20], [1000, 740], [30, 700], [990, 30]])
    draw(board, window, msg, bgra(before))
    settle(root, xd)
    assert window.rect_count == -1  # sent as a bitmap
    shot = xd.screenshot()
    where = rasterize(msg, W, H)
    assert (shot[where] == RED).all()
    assert np.array_equal(shot[~where], before[~where])


def test_destroy_takes_everything_off(xd: XDisplay, root: tk.Tk, board: Board) -> None:
    before = xd.screenshot()
    ov = OverlayWindow(root, board)
    ov.show([stroke(id="d", color="#ff0000", width=9, points=[[10, 10], [1000, 700]])])
    board.beneath_from(bgra(before))
    ov.apply()
    settle(root, xd)
    assert not np.array_equal(xd.screenshot(), before)
    ov.destroy()
    settle(root, xd)
    assert np.array_equal(xd.screenshot(), before)
    assert len(board) == 0
    ov.destroy()  # twice is fine

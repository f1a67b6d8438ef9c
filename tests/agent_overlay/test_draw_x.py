"""The visitor draws on their own screen (draw mode) on a real X server:
xdotool drags (XTest, as a real mouse would) become the visitor's purple strokes on the
screen and finished ``annotate`` messages for the rep; while drawing, the
applications beneath get no clicks; afterwards they do again."""

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

from desklink.agent.overlay import Board, OverlayWindow, rasterize
from desklink.agent.overlay.draw import DrawMode, clear_board
from desklink.agent.overlay.pen import VISITOR_COLOR
from desklink.agent.overlay.surface import DrawSurface
from desklink.testing_x import XDisplay

from ._tk import Lines, bgra, pump, settle, wait_for

W, H = 1024, 768
INK = np.array([int(VISITOR_COLOR[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)


def ink(shot: np.ndarray) -> np.ndarray:
    return (shot == INK).all(axis=-1)


@pytest.fixture
def xd(tk_display: XDisplay) -> XDisplay:
    return tk_display


@pytest.fixture
def recorder(xd: XDisplay) -> Iterator[Lines]:
    """A window under everything that prints the clicks it gets."""
    rec = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_clicks.py")), f"{W}x{H}+0+0"],
                           env=xd.env, stdout=subprocess.PIPE, text=True)
    xd.children.append(rec)
    assert rec.stdout is not None
    lines = Lines(rec.stdout)
    assert lines.next(30) == ["ready"]
    xd.wait_window("overlay-click-recorder")
    yield lines
    rec.terminate()
    rec.wait(5)
    lines.thread.join(5)
    rec.stdout.close()


@pytest.fixture
def scene(xd: XDisplay, recorder: Lines) -> Iterator[dict[str, Any]]:
    root = tk.Tk(screenName=xd.name)
    root.withdraw()
    board = Board(W, H)
    sent: list[dict[str, Any]] = []
    holder: dict[str, Any] = {}

    def overlay() -> OverlayWindow:
        if "overlay" not in holder:
            holder["overlay"] = OverlayWindow(root, board)
        return holder["overlay"]  # type: ignore[no-any-return]

    pump(root)
    board.mask(bgra(xd.screenshot()))  # the agent's newest capture (what beneath_from() uses)
    yield {"root": root, "board": board, "sent": sent, "overlay": overlay, "holder": holder}
    if "overlay" in holder:
        holder["overlay"].destroy()
    root.destroy()


def drag(xd: XDisplay, points: list[tuple[int, int]], button: int = 1) -> None:
    xd.xdotool("mousemove", "--sync", str(points[0][0]), str(points[0][1]))
    xd.xdotool("mousedown", str(button))
    for x, y in points[1:]:
        xd.xdotool("mousemove", "--sync", str(x), str(y))
        time.sleep(0.02)
    xd.xdotool("mouseup", str(button))


def test_a_drag_becomes_a_stroke_on_the_screen_and_for_the_rep(xd: XDisplay, recorder: Lines, scene: dict[str, Any]) -> None:
    root, board, sent = scene["root"], scene["board"], scene["sent"]
    mode = DrawMode(root, board, 0, 0, overlay=scene["overlay"], send=sent.append)
    try:
        path = [(200, 300), (300, 320), (420, 380), (500, 500)]
        drag(xd, path)
        assert wait_for(root, lambda: len(sent) == 1), sent
        msg = sent[0]
        assert msg["t"] == "annotate" and msg["op"] == "stroke" and msg["color"] == VISITOR_COLOR
        assert msg["points"][0] == [200, 300] and msg["points"][-1] == [500, 500]
        assert len(msg["points"]) >= 4
        shot = settle(root, xd)
        where = rasterize(msg, W, H)
        assert ink(shot)[where].mean() > 0.99  # painted exactly where the pointer went
        assert not ink(shot)[~where].any()
        assert recorder.next(0.5) == ["<nothing>"]  # the application beneath got no click

        # The capture the rep gets leaves the visitor's stroke out too.
        masked = board.mask(bgra(shot))
        assert not ink(masked[..., 2::-1])[where].any()

        # A right click takes back the visitor's newest stroke.
        xd.xdotool("mousemove", "--sync", "700", "600")
        xd.xdotool("click", "3")
        assert wait_for(root, lambda: len(sent) == 2)
        assert sent[1] == {"t": "annotate", "op": "undo", "id": msg["id"]}
        assert wait_for(root, lambda: not ink(xd.screenshot()).any())
        assert recorder.next(0.3) == ["<nothing>"]
    finally:
        mode.close()
    # Drawing off: clicks reach the application again.
    pump(root, 0.1)
    xd.click(640, 480)
    assert recorder.next() == ["click", "640", "480", "1"]


def test_stopping_mid_stroke_sends_it_and_clear_removes_everything(xd: XDisplay, scene: dict[str, Any]) -> None:
    root, board, sent = scene["root"], scene["board"], scene["sent"]
    board.apply({"op": "stroke", "id": "rep-1", "tool": "pen", "color": "#ff0000", "width": 6, "points": [[50, 700], [300, 700]]})
    board.beneath_from(bgra(xd.screenshot()))
    scene["overlay"]().sync()
    mode = DrawMode(root, board, 0, 0, overlay=scene["overlay"], send=sent.append)
    xd.xdotool("mousemove", "--sync", "600", "100")
    xd.xdotool("mousedown", "1")
    xd.xdotool("mousemove", "--sync", "700", "150")
    assert wait_for(root, lambda: ink(xd.screenshot()).any())  # shown while under way...
    assert sent == []  # ...sent only when finished
    mode.close()  # e.g. the visitor pressed "Stop drawing" with the button still down
    xd.xdotool("mouseup", "1")
    assert len(sent) == 1 and sent[0]["points"][-1] == [700, 150]
    assert sorted(board.ids) == sorted(["rep-1", sent[0]["id"]])

    clear_board(board, scene["overlay"], sent.append)
    assert sent[-1] == {"t": "annotate", "op": "clear"}
    assert len(board) == 0
    shot = settle(root, xd)
    assert not ink(shot).any() and not (shot == [255, 0, 0]).all(axis=-1).any()


def test_the_surface_stays_below_the_indicator(xd: XDisplay, scene: dict[str, Any]) -> None:
    """The indicator's buttons must stay clickable while drawing."""
    root = scene["root"]
    indicator = tk.Toplevel(root)
    indicator.overrideredirect(True)
    indicator.geometry("200x40+400+0")
    clicks: list[int] = []
    tk.Button(indicator, text="Stop drawing", command=lambda: clicks.append(1)).pack(fill="both", expand=True)
    pump(root, 0.2)
    surface = DrawSurface(xd.name, 0, 0, W, H, below=int(indicator.winfo_id()))
    try:
        xd.click(500, 20)
        assert wait_for(root, lambda: clicks == [1])
        assert surface.events() == []  # the click went to the indicator, not the surface
        xd.click(500, 300)
        deadline = time.monotonic() + 5
        got: list[Any] = []
        while time.monotonic() < deadline and len(got) < 2:
            got += surface.events()
            time.sleep(0.02)
        assert [(e.kind, e.x, e.y, e.button) for e in got] == [("down", 500, 300, 1), ("up", 500, 300, 1)]
    finally:
        surface.close()
        indicator.destroy()


def test_a_monitor_change_mid_stroke_drops_the_stroke(xd: XDisplay, scene: dict[str, Any]) -> None:
    """The shared monitor changes (the board is reset) while the visitor's
    button is down: the half stroke's coordinates mean nothing on the new
    monitor, so it is neither kept nor sent, even when draw mode closes."""
    root, board, sent = scene["root"], scene["board"], scene["sent"]
    mode = DrawMode(root, board, 0, 0, overlay=scene["overlay"], send=sent.append)
    try:
        xd.xdotool("mousemove", "--sync", "200", "200")
        xd.xdotool("mousedown", "1")
        xd.xdotool("mousemove", "--sync", "300", "260")
        assert wait_for(root, lambda: mode.pen.current is not None and len(mode.pen.current["points"]) >= 2)
        board.reset(W, H)  # what the network thread does on screen.select
        xd.xdotool("mousemove", "--sync", "400", "300")
        pump(root, 0.2)
        assert mode.pen.current is None and len(board) == 0
    finally:
        mode.close()
        xd.xdotool("mouseup", "1")
    assert sent == [] and len(board) == 0

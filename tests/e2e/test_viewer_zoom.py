"""The viewer's view modes in Chromium, with the real agent on Xvfb: fit,
1:1 with scrollbars, zoom steps (buttons and Ctrl+wheel) and panning by drag;
a click at a known pixel of the visitor's screen lands exactly there in
every mode (the test pad reports the root coordinates X saw); the bar keeps
its height; the mode survives a reload (localStorage).

The scene and pad are test_remote_control.py's (1280 x 800 screen, the pad at
PAD)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from playwright.sync_api import expect

from desklink.testing import poll_until
from desklink.testing_x import XDisplay

from test_remote_control import PAD, Pad, Sent, display, grant, rig, wait_pointer  # noqa: F401 (fixtures)
from test_screen_viewer import Scene, shot

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

W, H = 1280, 800


def boxes(scene: Scene) -> dict[str, Any]:
    """The picture's canvas box, the stage's scroll state and the bar's height, read in the page."""
    return scene.screen.evaluate("""(root) => {
        const c = root.querySelector('[data-testid=screen-canvas]').getBoundingClientRect();
        const s = root.querySelector('[data-testid=screen-stage]');
        const bar = root.querySelector('.screen-bar').getBoundingClientRect();
        return {x: c.left, y: c.top, w: c.width, h: c.height, scrollLeft: s.scrollLeft, scrollTop: s.scrollTop,
                scrollW: s.scrollWidth, clientW: s.clientWidth, scrollH: s.scrollHeight, clientH: s.clientHeight,
                stage: s.getBoundingClientRect().toJSON(), bar: bar.height};
    }""")


def show_pixel(scene: Scene, x: int, y: int, scale: float) -> tuple[float, float]:
    """Scroll the stage (as its scrollbars would) so that screen pixel (x, y)
    is in view, and return where its centre is on the page, worked out from
    the canvas box and the scale alone (independently of input.js)."""
    scene.screen.get_by_test_id("screen-stage").evaluate(
        "(s, p) => { s.scrollLeft = p.x * p.scale - s.clientWidth / 2; s.scrollTop = p.y * p.scale - s.clientHeight / 2; }",
        {"x": x, "y": y, "scale": scale},
    )
    b = boxes(scene)
    assert abs(b["w"] - W * scale) < 0.01 and abs(b["h"] - H * scale) < 0.01, b
    cx, cy = b["x"] + (x + 0.5) * scale, b["y"] + (y + 0.5) * scale
    st = b["stage"]
    assert st["left"] < cx < st["left"] + b["clientW"] and st["top"] < cy < st["top"] + b["clientH"], (cx, cy, b)
    return cx, cy


def test_fit_one_to_one_and_zoom_keep_clicks_exact(
    rig: tuple[Scene, Sent, subprocess.Popen[str]], display: XDisplay,  # noqa: F811 (fixtures)
) -> None:
    scene, sent, _agent = rig
    rep = scene.rep
    level = scene.screen.get_by_test_id("screen-zoom-level")
    stage = scene.screen.get_by_test_id("screen-stage")
    expect(level).to_have_text("Fit")
    fit = boxes(scene)
    assert fit["scrollW"] == fit["clientW"] and fit["scrollH"] == fit["clientH"], "fit never scrolls"
    bar = fit["bar"]

    # 1:1: actual pixels, and the stage scrolls (the console is smaller than the visitor's screen).
    scene.screen.get_by_test_id("screen-fit").click()
    expect(scene.screen).to_have_attribute("data-scale", "1:1")
    expect(level).to_have_text("100%")
    one = boxes(scene)
    assert (one["w"], one["h"]) == (W, H), one
    assert one["scrollW"] > one["clientW"] and one["scrollH"] > one["clientH"], one
    assert one["bar"] == bar
    shot(rep, "viewer-1to1-scrolls")

    # Pan by dragging the picture (not in control): it follows the pointer.
    stage.evaluate("(s) => { s.scrollLeft = 0; s.scrollTop = 0; }")
    st = one["stage"]
    sx, sy = st["left"] + 300, st["top"] + 200
    rep.mouse.move(sx, sy)
    rep.mouse.down()
    rep.mouse.move(sx - 120, sy - 80, steps=6)
    rep.mouse.up()
    panned = boxes(scene)
    assert (panned["scrollLeft"], panned["scrollTop"]) == (120, 80), panned
    assert not sent.inputs(), "a pan sends nothing to the visitor"

    # Ctrl+wheel zooms in one step, keeping the picture's point under the pointer.
    px, py = st["left"] + 400, st["top"] + 150
    under = ((px - panned["x"]) / 1.0, (py - panned["y"]) / 1.0)  # screen pixels at 100 %
    rep.mouse.move(px, py)
    rep.keyboard.down("Control")
    rep.mouse.wheel(0, -100)
    rep.keyboard.up("Control")
    expect(level).to_have_text("125%")
    expect(scene.screen).to_have_attribute("data-scale", "zoom")
    z = boxes(scene)
    assert abs(z["w"] - W * 1.25) < 0.01
    assert abs((px - z["x"]) / 1.25 - under[0]) < 1 and abs((py - z["y"]) / 1.25 - under[1]) < 1, (under, z)
    # The buttons: up to 200 %, the bar unchanged.
    for want in ("150%", "200%"):
        scene.screen.get_by_test_id("screen-zoom-in").click()
        expect(level).to_have_text(want)
    assert boxes(scene)["bar"] == bar
    shot(rep, "viewer-zoom-200")

    # Drawing at 200 %: the stroke starts and ends on the pixels aimed at, and nothing pans.
    scene.screen.get_by_test_id("whiteboard-toggle").click()
    ax, ay = show_pixel(scene, 500, 300, 2.0)
    before = boxes(scene)
    rep.mouse.move(ax, ay)
    rep.mouse.down()
    rep.mouse.move(ax + 2 * 40, ay + 2 * 25, steps=5)
    rep.mouse.up()
    def strokes() -> list[dict[str, Any]]:
        return [f for f in sent.frames if f.get("t") == "annotate" and f.get("op") == "stroke"]

    poll_until(strokes, 10, "the stroke on the viewer's socket", interval=0.05, sleep=lambda s: rep.wait_for_timeout(s * 1000))
    strokes = strokes()
    assert strokes and strokes[0]["points"][0] == [500, 300] and strokes[-1]["points"][-1] == [540, 325], strokes
    after = boxes(scene)
    assert (after["scrollLeft"], after["scrollTop"]) == (before["scrollLeft"], before["scrollTop"])
    scene.screen.get_by_test_id("whiteboard-toggle").click()
    scene.screen.get_by_test_id("whiteboard-clear").click()

    # In control, clicks land on the exact pixel at 200 %, at 1:1 and at 50 %.
    grant(scene, display)
    pad = Pad(display)
    scene.screen.get_by_test_id("screen-surface").focus()
    steps = {"200%": 2.0, "100%": 1.0, "50%": 0.5}
    for i, (name, scale) in enumerate(steps.items()):
        if name == "100%":
            scene.screen.get_by_test_id("screen-fit").click()  # to fit
            expect(level).to_have_text("Fit")
            scene.screen.get_by_test_id("screen-fit").click()  # and 1:1
        elif name == "50%":
            scene.screen.get_by_test_id("screen-zoom-out").click()
            expect(level).to_have_text("75%")
            scene.screen.get_by_test_id("screen-zoom-out").click()
            expect(scene.screen.get_by_test_id("screen-zoom-out")).to_be_disabled()
        expect(level).to_have_text(name)
        assert boxes(scene)["bar"] == bar
        tx, ty = PAD[0] + 37 + 41 * i, PAD[1] + 53 + 29 * i
        cx, cy = show_pixel(scene, tx, ty, scale)
        pad.quiet()
        rep.mouse.click(cx, cy)
        got = pad.events(until="release")
        press = next(e for e in got if e[0] == "press")
        assert press[1:] == (tx, ty), (name, got)
        wait_pointer(display, tx, ty, tol=0)
        if name == "200%":
            # In control a drag is the visitor's, not a pan: the pad sees it, the stage stays.
            still = boxes(scene)
            pad.quiet()
            rep.mouse.move(cx, cy)
            rep.mouse.down()
            rep.mouse.move(cx - 2 * 30, cy - 2 * 20, steps=6)
            rep.mouse.up()
            got = pad.events(until="release")
            assert got[-1] == ("release", tx - 30, ty - 20), got
            moved = boxes(scene)
            assert (moved["scrollLeft"], moved["scrollTop"]) == (still["scrollLeft"], still["scrollTop"])
    shot(rep, "viewer-zoom-50")

    # The mode is the console's: a reload keeps 50 %.
    rep.reload()
    expect(scene.screen).to_be_visible()
    expect(scene.screen).to_have_attribute("data-zoom", "50")
    expect(scene.screen.get_by_test_id("screen-zoom-level")).to_have_text("50%")
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    b = boxes(scene)
    assert abs(b["w"] - W / 2) < 0.01 and abs(b["h"] - H / 2) < 0.01, b
    assert scene.rep_w.errors == []

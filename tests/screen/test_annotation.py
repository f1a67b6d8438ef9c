"""Annotation end to end: a stroke the rep draws appears on the visitor's
real X screen (the Tk overlay, consent clicked for real), and the picture
the viewer reconstructs never contains it (the agent masks its own overlay)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import numpy as np

from desklink.agent.overlay.pen import VISITOR_COLOR
from desklink.agent.ui import INDICATOR_TITLE
from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from ._agent import Chat, click_indicator, finish, start_agent
from .test_agent_lifecycle import CuttableProxy
from .test_clipboard import allow
from .test_control_agent import _eventually, typed

RED = (255, 0, 0)


#: Below the agent's own indicator bar (dark red, along the top edge).
BELOW_BAR = 60


def reddish(pixels: np.ndarray) -> np.ndarray:
    """Pure stroke red (#ff0000, allowing for JPEG)."""
    return (pixels[..., 0] > 225) & (pixels[..., 1] < 45) & (pixels[..., 2] < 45)


async def test_stroke_on_the_x_screen_not_in_the_viewer(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    display.spawn("xterm", "-geometry", "80x24+0+0", "-bg", "white", "-fg", "black")
    display.wait_window("xterm")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=False)
    await allow(display)
    await viewer.wait_status("sharing")
    await viewer.settle(quiet_s=0.8)
    assert not reddish(viewer.canvas.rgb[BELOW_BAR:]).any()

    stroke = {"t": "annotate", "op": "stroke", "id": "s1", "tool": "pen", "color": "#ff0000", "width": 8,
              "points": [[100, 300], [400, 300], [400, 500]]}
    await viewer.send(stroke)
    on_screen = None
    for _ in range(100):
        shot = display.screenshot()
        if reddish(shot[296:305, 100:400]).mean() > 0.9:
            on_screen = shot
            break
        await asyncio.sleep(0.05)
    assert on_screen is not None, "the stroke never appeared on the X screen"
    assert reddish(on_screen[300:500, 396:405]).mean() > 0.9
    assert not reddish(on_screen[600:700, 600:700]).any()  # only where drawn

    # Something changes on screen so frames keep flowing; the viewer's
    # picture still has no red where the overlay is.
    display.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
    display.xdotool("type", "--delay", "10", "echo more output")
    await asyncio.sleep(0.8)
    await viewer.settle(quiet_s=0.8)
    assert viewer.frames > 0
    assert not reddish(viewer.canvas.rgb[BELOW_BAR:]).any(), "the overlay was captured: the viewer would show it twice"

    # Undo takes it off the screen.
    await viewer.send({"t": "annotate", "op": "undo", "id": "s1"})
    for _ in range(60):
        if not reddish(display.screenshot()[BELOW_BAR:]).any():
            break
        await asyncio.sleep(0.05)
    assert not reddish(display.screenshot()[BELOW_BAR:]).any()
    await viewer.send({"t": "screen.stop"})
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()


def visitor_ink(pixels: np.ndarray) -> np.ndarray:
    """The visitor's ink (VISITOR_COLOR), allowing for JPEG."""
    r, g, b = (int(VISITOR_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    return (abs(pixels[..., 0].astype(int) - r) < 30) & (abs(pixels[..., 1].astype(int) - g) < 30) \
        & (abs(pixels[..., 2].astype(int) - b) < 30)


async def _drag(display: XDisplay, points: list[tuple[int, int]]) -> None:
    def run() -> None:
        display.xdotool("mousemove", "--sync", *map(str, points[0]))
        display.xdotool("mousedown", "1")
        for x, y in points[1:]:
            display.xdotool("mousemove", "--sync", str(x), str(y))
            time.sleep(0.03)
        display.xdotool("mouseup", "1")
    await asyncio.to_thread(run)


async def test_the_visitor_draws_and_clears_from_the_indicator(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    env = {**display.env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    term = subprocess.Popen(["xterm", "-geometry", "100x30+0+80", "-bg", "white", "-fg", "black", "-e", "bash", "--norc",
                             "--noprofile"], env=env)
    display.children.append(term)
    display.wait_window("bash")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=False, extra=["--local-pause", "0.2"])
    await allow(display)
    await viewer.wait_status("sharing")
    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    await allow(display)
    await viewer.wait_control("granted")

    # Draw on: a drag on the screen is a stroke for the rep, purple on the X screen.
    click_indicator(display, "draw")
    await asyncio.sleep(0.3)
    path = [(300, 300), (450, 340), (600, 420)]
    await _drag(display, path)
    assert await _eventually(lambda: any(a.get("op") == "stroke" for a in viewer.annotations)), viewer.annotations
    [mine] = [a for a in viewer.annotations if a.get("op") == "stroke"]
    assert mine["color"] == VISITOR_COLOR and mine["points"][0] == [300, 300] and mine["points"][-1] == [600, 420]
    assert await _eventually(lambda: all(visitor_ink(display.screenshot()[y - 1 : y + 2, x - 1 : x + 2]).all() for x, y in path))
    await asyncio.sleep(0.5)  # the visitor's own input no longer holds remote input back...

    # ...but drawing does: a drag from the rep is neither injected (no new stroke) nor lost in the picture.
    await viewer.send({"t": "input", "events": [
        {"k": "button", "b": 1, "down": True, "x": 300, "y": 600}, {"k": "move", "x": 700, "y": 650},
        {"k": "button", "b": 1, "down": False, "x": 700, "y": 650}]})
    await asyncio.sleep(1.0)
    assert [a for a in viewer.annotations if a.get("op") == "stroke"] == [mine]
    assert not visitor_ink(display.screenshot()[590:660, 300:700]).any()

    # The viewer's picture leaves the visitor's stroke out (the viewer draws it itself).
    await viewer.send({"t": "screen.refresh"})
    await viewer.settle(quiet_s=0.8)
    assert not visitor_ink(viewer.canvas.rgb[BELOW_BAR:]).any()

    # The rep clears: the visitor's stroke goes from the X screen.
    await viewer.send({"t": "annotate", "op": "clear"})
    assert await _eventually(lambda: not visitor_ink(display.screenshot()[BELOW_BAR:]).any())

    # The visitor draws again, then clears from the indicator: gone on both sides.
    await _drag(display, [(200, 500), (500, 520)])
    assert await _eventually(lambda: sum(a.get("op") == "stroke" for a in viewer.annotations) == 2)
    assert await _eventually(lambda: visitor_ink(display.screenshot()[BELOW_BAR:]).any())
    click_indicator(display, "clear")
    assert await _eventually(lambda: viewer.annotations[-1] == {"t": "annotate", "op": "clear"}), viewer.annotations[-1]
    assert await _eventually(lambda: not visitor_ink(display.screenshot()[BELOW_BAR:]).any())

    # Draw off: the rep's keystrokes reach the xterm again.
    click_indicator(display, "draw")
    display.xdotool("mousemove", "--sync", "200", "300")  # focus follows the pointer without a window manager
    await asyncio.sleep(0.5)
    done = tmp_path / "after-drawing"
    for m in typed(f"touch {done}\n"):
        await viewer.send(m)
    assert await _eventually(done.exists), "remote input stayed held after drawing ended"
    await viewer.send({"t": "screen.stop"})
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()


async def test_strokes_come_back_after_the_agent_reconnects(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    """The agent takes its overlay down when its link drops; the relay gives
    it the board again when it resumes, so the rep's stroke is back on the
    screen (and still left out of the picture)."""
    proxy = CuttableProxy(server.port)
    await proxy.start()
    via_proxy = ServerProcess.__new__(ServerProcess)
    via_proxy.url = f"http://127.0.0.1:{proxy.port}"
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, via_proxy, (await chat.offer())["code"], terminal=False)
    try:
        await allow(display)
        await viewer.wait_status("sharing")
        await viewer.send({"t": "annotate", "op": "stroke", "id": "s1", "tool": "pen", "color": "#ff0000", "width": 8,
                           "points": [[100, 300], [400, 300]]})
        assert await _eventually(lambda: reddish(display.screenshot()[298:303, 120:380]).mean() > 0.9)
        proxy.cut()
        assert await _eventually(lambda: viewer.states[-1]["agent"] is False, 5)
        assert await _eventually(lambda: viewer.states[-1]["agent"] is True and viewer.status == "sharing", 15)
        assert await _eventually(lambda: reddish(display.screenshot()[298:303, 120:380]).mean() > 0.9), "the stroke did not come back"
        assert await asyncio.to_thread(display.wait_window, INDICATOR_TITLE)
        await viewer.send({"t": "screen.refresh"})
        await asyncio.sleep(0.5)
        await viewer.settle(quiet_s=0.8)
        assert not reddish(viewer.canvas.rgb[BELOW_BAR:]).any()
        await viewer.send({"t": "screen.stop"})
        code, out = await finish(agent)
        assert code == 0, out
    finally:
        await viewer.close()
        await proxy.stop()

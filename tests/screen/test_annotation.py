"""Annotation end to end: a stroke the rep draws appears on the visitor's
real X screen (the Tk overlay, consent clicked for real), and the picture
the viewer reconstructs never contains it (the agent masks its own overlay)."""

from __future__ import annotations

import asyncio

import numpy as np

from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent
from .test_clipboard import allow

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

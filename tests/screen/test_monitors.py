"""The monitor picker end to end: the real agent on an Xvfb screen with two
RandR monitors of different sizes and colours (XDisplay(monitors=...)), a
real server, and a viewer reconstructing the picture.

The agent lists both monitors in screen.info (the relay passes them on in
screen.state), captures the primary one, and after the rep's screen.select
sends a key frame of the other monitor's size and content; the rep's clicks
then land on that monitor (input is mapped to its origin)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from desklink.testing import ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent

MONITORS = ((900, 600), (640, 480))
RED, BLUE = (208, 32, 32), (32, 64, 208)


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(monitors=MONITORS) as d:
        yield d


def mostly(rgb: np.ndarray, colour: tuple[int, int, int]) -> float:
    """The share of pixels within a few levels of ``colour``."""
    return float((np.abs(rgb.astype(int) - np.array(colour)).max(axis=2) <= 8).mean())


async def test_the_rep_switches_to_the_second_monitor_and_clicks_land_there(
    server: ServerProcess, display: XDisplay, chat: Chat,
) -> None:
    presses = display.paint_monitors(("#d02020", "#2040d0"))
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=True, answer="y\n")
    try:
        state = await viewer.wait_status("sharing")
        await wait_until(lambda: len(viewer.states[-1]["monitors"]) == 3, 15, "the monitors in screen.state")
        state = viewer.states[-1]
        assert state["monitors"] == [
            {"index": 1, "width": 900, "height": 600, "primary": True},
            {"index": 2, "width": 640, "height": 480, "primary": False},
            {"index": 0, "width": 1540, "height": 600, "primary": False},  # all of them
        ]
        assert state["selected"] == 1
        await viewer.settle()
        assert viewer.canvas.size == (900, 600)
        assert mostly(viewer.canvas.rgb, RED) > 0.8

        # The rep picks the second monitor: a picture of its size and colour follows.
        await viewer.send({"t": "screen.select", "monitor": 2})
        await wait_until(lambda: viewer.canvas.size == (640, 480), 15, "a frame of the second monitor's size")
        await viewer.settle()
        assert mostly(viewer.canvas.rgb, BLUE) > 0.8
        assert mostly(viewer.canvas.rgb, RED) == 0.0
        await wait_until(lambda: viewer.states[-1]["selected"] == 2, 10, "screen.state saying monitor 2")

        # A monitor that does not exist: a clear error, and the picture stays.
        await viewer.send({"t": "screen.select", "monitor": 3})
        error = await viewer.expect_error()
        assert error["code"] == "forbidden" and "no monitor 3" in error["message"]
        assert viewer.canvas.size == (640, 480)

        # Control: a click at (100, 50) of the picture lands at (900 + 100, 50) on the X screen.
        await viewer.send({"t": "control.request"})
        await viewer.wait_control("asking")
        assert agent.stdin is not None
        agent.stdin.write("y\n")
        agent.stdin.flush()
        await viewer.wait_control("granted")
        await viewer.send({"t": "input", "events": [
            {"k": "move", "x": 100, "y": 50},
            {"k": "button", "b": 1, "down": True, "x": 100, "y": 50},
            {"k": "button", "b": 1, "down": False, "x": 100, "y": 50},
        ]})
        assert presses.next() == (900 + 100, 50)

        # Back to the first monitor: its size, and clicks without an offset again.
        await viewer.send({"t": "screen.select", "monitor": 1})
        await wait_until(lambda: viewer.canvas.size == (900, 600), 15, "a frame of the first monitor again")
        await viewer.settle()
        assert mostly(viewer.canvas.rgb, RED) > 0.8
        await viewer.send({"t": "input", "events": [
            {"k": "button", "b": 1, "down": True, "x": 30, "y": 40},
            {"k": "button", "b": 1, "down": False, "x": 30, "y": 40},
        ]})
        assert presses.next() == (30, 40)

        # Every monitor at once: the whole desktop, clicks at desktop coordinates.
        await viewer.send({"t": "screen.select", "monitor": 0})
        await wait_until(lambda: viewer.canvas.size == (1540, 600), 15, "a frame of the whole desktop")
        await viewer.settle()
        rgb = viewer.canvas.rgb
        assert mostly(rgb[:, :900], RED) > 0.8 and mostly(rgb[:480, 900:], BLUE) > 0.8
        await wait_until(lambda: viewer.states[-1]["selected"] == 0, 10, "screen.state saying all monitors")
        await viewer.send({"t": "input", "events": [
            {"k": "button", "b": 1, "down": True, "x": 1200, "y": 70},
            {"k": "button", "b": 1, "down": False, "x": 1200, "y": 70},
        ]})
        assert presses.next() == (1200, 70)

        await viewer.send({"t": "screen.stop"})
        code, output = await finish(agent)
        assert code == 0, output
    finally:
        await viewer.close()
        presses.close()

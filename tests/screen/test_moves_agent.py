"""A window moved on a real X server reaches the viewer as a move: the real
agent on Xvfb sends a COPY whose source is offset by the move, and the
viewer's picture ends equal to the screen."""

from __future__ import annotations

import numpy as np

from desklink.agent.encode.canvas import Canvas
from desklink.protocol.screen import Enc, Frame
from desklink.testing import ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent


class RecordingCanvas(Canvas):
    """The reference Canvas, keeping every frame it applied."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[Frame] = []

    def apply(self, frame: Frame) -> None:
        super().apply(frame)
        self.applied.append(frame)


def copy_offsets(frames: list[Frame]) -> set[tuple[int, int]]:
    """``(dx, dy)`` of every COPY in ``frames``: destination minus source."""
    return {(r.x - r.source[0], r.y - r.source[1]) for f in frames for r in f.rects if r.enc is Enc.COPY}


def close_to_screen(viewer: ViewerClient, display: XDisplay) -> bool:
    shot = display.screenshot()
    if viewer.canvas.rgb.shape != shot.shape:
        return False
    diff = np.abs(viewer.canvas.rgb.astype(int) - shot.astype(int))
    return bool(diff.mean() < 1.0 and np.percentile(diff, 99.9) < 40)


async def test_a_window_moved_with_xdotool_is_sent_as_a_move(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    # Text that stays put (no cursor blink in less), on the black root window.
    display.spawn("xterm", "-geometry", "90x26+60+50", "-fa", "DejaVu Sans Mono", "-fs", "11", "-title", "moves-term",
                  "-e", "sh", "-c", "ls -l /usr/bin /usr/lib | less")
    wid = display.wait_window("moves-term")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    canvas = RecordingCanvas()
    viewer.canvas = canvas
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    await viewer.settle(quiet_s=1.0)
    x, y = display.window_geometry(wid)[:2]
    # Any direction: right and down, left and down, right and up, straight left.
    for dx, dy in ((210, 140), (-150, 60), (90, -170), (-100, 0)):
        before = len(canvas.applied)
        x, y = x + dx, y + dy
        display.xdotool("windowmove", "--sync", wid, str(x), str(y))
        assert display.window_geometry(wid)[:2] == (x, y)
        await wait_until(lambda d=(dx, dy), b=before: d in copy_offsets(canvas.applied[b:]), 20, f"a COPY moved by {(dx, dy)}")
        await viewer.settle(quiet_s=1.0)
        assert close_to_screen(viewer, display), f"after the move by {(dx, dy)} the viewer differs from the screen"
    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()

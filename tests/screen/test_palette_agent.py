"""The PALETTE coding with the real agent on Xvfb: an xterm's anti-aliased
text reaches the viewer pixel-exact without any refinement frame, typing
goes as small PALETTE rectangles, and a session starts with exactly one key
frame (no second one for the relay's refresh after consent)."""

from __future__ import annotations

import numpy as np

from desklink.testing import ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent


def exact(viewer: ViewerClient, display: XDisplay) -> bool:
    return bool(np.array_equal(viewer.canvas.rgb, display.screenshot()))


async def test_terminal_text_arrives_exact_with_one_key_frame_and_no_refinement(
    server: ServerProcess, display: XDisplay, chat: Chat
) -> None:
    display.spawn("xterm", "-geometry", "100x30+40+40", "-fa", "DejaVu Sans Mono", "-fs", "11")
    display.wait_window("xterm")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    await viewer.wait_status("waiting_agent")
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    await viewer.settle(quiet_s=1.5)
    assert viewer.canvas.size == (1280, 800)
    assert viewer.key_frames == 1, viewer.encodings  # the agent's first frame only
    assert exact(viewer, display)  # lossless at once: the xterm's text is palette-like
    assert viewer.rects_by_encoding["PALETTE"] >= 1 and viewer.rects_by_encoding["JPEG"] == 0, viewer.rects_by_encoding

    display.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
    before = dict(viewer.rects_by_encoding)
    display.xdotool("type", "--delay", "30", "echo palette-coded text 0123456789")
    await wait_until(lambda: viewer.rects_by_encoding["PALETTE"] > before["PALETTE"] and exact(viewer, display), 30.0,
                     "the typed text to show exactly")
    await viewer.settle(quiet_s=1.5)
    assert exact(viewer, display)
    assert viewer.refine_frames == 0  # nothing was ever sent lossy, so nothing is refined
    assert viewer.key_frames == 1
    assert viewer.rects_by_encoding["JPEG"] == 0, viewer.rects_by_encoding

    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()

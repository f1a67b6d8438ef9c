"""The PALETTE coding with the real agent on Xvfb: an xterm's anti-aliased
text reaches the viewer pixel-exact without any refinement frame, typing
goes as small PALETTE rectangles, a session starts with exactly one key
frame (no second one for the relay's refresh after consent), and a pager's
pages go as character cells (the CELLS form), exact."""

from __future__ import annotations

from pathlib import Path

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


async def test_a_pager_paged_down_goes_as_character_cells_exactly(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    """less in a full-screen xterm, paged down: the pages go as PALETTE's
    CELLS form (the grid found in the real font's pixels), each page
    arrives pixel-exact, and a page costs far less than the key frame."""
    text = tmp_path / "prose.txt"
    words = "support session screen agent relay viewer frame cell grid text page the a of to and".split()
    text.write_text("\n".join(" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(8 + i % 13)) for i in range(3000)))
    display.spawn("xterm", "-geometry", "142x42+0+0", "-fa", "DejaVu Sans Mono", "-fs", "11", "-title", "pager", "-e", "less", str(text))
    window = display.wait_window("pager")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    await viewer.wait_status("waiting_agent")
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    await viewer.settle(quiet_s=1.5)
    assert exact(viewer, display)
    key_bytes = viewer.frame_bytes
    display.xdotool("windowfocus", "--sync", window)
    for page in range(3):
        before_frames, before_bytes = viewer.frames, viewer.frame_bytes
        shown = display.screenshot()
        display.xdotool("key", "Next")
        await wait_until(lambda shown=shown: not np.array_equal(display.screenshot(), shown), 20.0, "less to show the next page")
        await wait_until(lambda: exact(viewer, display), 30.0, f"page {page + 1} to show exactly")
        await viewer.settle(quiet_s=1.0)
        assert exact(viewer, display), page
        assert viewer.frames > before_frames
        # A page of new text: a small share of the key frame's bytes.
        assert viewer.frame_bytes - before_bytes < key_bytes, (page, viewer.frame_bytes - before_bytes, key_bytes)
    assert viewer.palette_forms[2] >= 3, viewer.palette_forms  # CELLS
    assert viewer.rects_by_encoding["JPEG"] == 0 and viewer.refine_frames == 0, viewer.rects_by_encoding

    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()

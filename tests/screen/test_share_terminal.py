"""The whole path with the terminal consent: code, consent, frames, stop."""

from __future__ import annotations

import asyncio

import numpy as np

from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent


async def test_viewer_reconstructs_the_x_screen_and_sees_typing(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    display.spawn("xterm", "-geometry", "100x30+40+40", "-fa", "DejaVu Sans Mono", "-fs", "11")
    display.wait_window("xterm")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    await viewer.wait_status("waiting_agent")
    offer = await chat.offer()
    assert offer["command"].startswith(f"desklink agent --server {server.url} --code ")
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    await viewer.settle(quiet_s=1.0)
    diff = np.abs(viewer.canvas.rgb.astype(int) - display.screenshot().astype(int))
    assert viewer.canvas.size == (1280, 800)
    assert diff.mean() < 2.0, diff.mean()
    assert np.percentile(diff, 99.9) < 40

    # Typing in the xterm shows up in the viewer.
    before = viewer.frames
    display.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
    display.xdotool("type", "--delay", "20", "echo hello-desklink")
    await asyncio.sleep(0.5)
    await viewer.settle(quiet_s=1.0)
    assert viewer.frames > before
    assert viewer.latency_ms is not None and viewer.latency_ms > 0
    diff = np.abs(viewer.canvas.rgb.astype(int) - display.screenshot().astype(int))
    assert diff.mean() < 2.0

    # The pointer travels as shape plus position, not pixels.
    display.xdotool("mousemove", "--sync", "300", "200")
    for _ in range(50):
        if viewer.pointer == (300, 200):
            break
        await asyncio.sleep(0.05)
    assert viewer.pointer == (300, 200)
    assert viewer.cursor is not None and viewer.cursor.w > 0 and len(viewer.cursor.rgba) == viewer.cursor.w * viewer.cursor.h * 4

    # The rep stops: the agent exits cleanly and the viewer is told.
    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    assert "stopped sharing" in out
    await viewer.close()


async def test_deny_means_no_frame_ever_reaches_the_viewer(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="n\n")
    await viewer.wait_status("denied")
    code, out = await finish(agent)
    assert code == 0 and "declined" in out
    await asyncio.sleep(0.5)
    assert viewer.frames == 0
    await viewer.close()


async def test_wrong_and_reused_codes_are_refused(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    offer = await chat.offer()
    digits = offer["code"].replace(" ", "")
    wrong = digits[:3] + ("000000" if digits[3:] != "000000" else "111111")
    code, out = await finish(start_agent(display, server, wrong, terminal=True))
    assert code == 0 and "wrong, used or expired: click New code in the chat window" in out
    ok = start_agent(display, server, digits, terminal=True, answer="n\n")
    assert (await finish(ok))[0] == 0
    code, out = await finish(start_agent(display, server, digits, terminal=True))
    assert "wrong, used or expired" in out  # single use

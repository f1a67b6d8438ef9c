"""An agent told neither its code (no ``--code``, nothing in its file name)
asks once, in a small window on the visitor's screen; the code typed there
joins the session like any other."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from desklink.agent.join_prompt import JOIN_TITLE
from desklink.agent.ui import CONSENT_TITLE, DENY_BUTTON
from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish


async def test_the_window_asks_for_the_code_and_the_agent_joins_with_it(
    server: ServerProcess, display: XDisplay, chat: Chat
) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    offer = await chat.offer()
    proc = subprocess.Popen(
        [sys.executable, "-m", "desklink", "agent", "--server", server.url], env={**display.env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(proc)
    window = await asyncio.to_thread(display.wait_window, JOIN_TITLE)
    x, y, w, h = display.window_geometry(window)
    # No window manager: the keyboard follows the pointer.
    display.xdotool("mousemove", "--sync", str(x + w // 2), str(y + h // 2))
    # Not a code: the window says so and stays (Connect refuses it), so the
    # code typed next, in the same field, is the one that joins.
    display.xdotool("type", "--delay", "30", "12 34")
    display.xdotool("key", "Return")
    display.xdotool("key", "--repeat", "8", "BackSpace")
    display.xdotool("type", "--delay", "30", offer["code"])
    display.xdotool("key", "Return")
    # The code worked: the agent joined and now asks for the screen.
    consent = await asyncio.to_thread(display.wait_window, CONSENT_TITLE)
    await viewer.wait_status("asking")
    cx, cy, _, _ = display.window_geometry(consent)
    bx, by, bw, bh = DENY_BUTTON
    display.click(cx + bx + bw // 2, cy + by + bh // 2)
    await viewer.wait_status("denied")
    code, out = await finish(proc)
    assert code == 0 and "declined" in out, out
    await viewer.close()

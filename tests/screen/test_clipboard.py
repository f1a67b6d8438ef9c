"""Clipboard both ways with the real X clipboard, through the Tk agent whose
consent window is clicked for real; each direction can be switched off."""

from __future__ import annotations

import asyncio
import subprocess

from desklink.agent.ui import ALLOW_BUTTON, CONSENT_TITLE
from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from ._agent import Chat, click_indicator, finish, start_agent


def x_clipboard(display: XDisplay) -> str:
    out = subprocess.run(["xclip", "-o", "-selection", "clipboard"], env=display.env, capture_output=True, text=True, timeout=10)
    return out.stdout


def copy_locally(display: XDisplay, text: str) -> subprocess.Popen[str]:
    # xclip -quiet stays in the foreground serving the selection until someone
    # else takes it; the display stops it by PID.
    proc = subprocess.Popen(["xclip", "-selection", "clipboard", "-quiet"], env=display.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None
    proc.stdin.write(text)
    proc.stdin.close()
    display.children.append(proc)
    return proc


async def allow(display: XDisplay) -> None:
    window = await asyncio.to_thread(display.wait_window, CONSENT_TITLE)
    x, y, _w, _h = display.window_geometry(window)
    bx, by, bw, bh = ALLOW_BUTTON
    display.click(x + bx + bw // 2, y + by + bh // 2)


async def _eventually(check: object, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.1)):
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def test_clipboard_stays_private_until_the_visitor_shares_it(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=False)
    await allow(display)
    await viewer.wait_status("sharing")
    assert viewer.states[-1]["clipboard"] == {"from_visitor": False, "to_visitor": False}

    # Off by default: nothing the visitor copies leaves, nothing the rep sends arrives.
    copy_locally(display, "private before sharing")
    await viewer.send({"t": "clipboard", "text": "too early"})
    error = await viewer.expect_error()
    assert error["code"] == "forbidden"
    assert x_clipboard(display) == "private before sharing"

    # The visitor clicks Share clipboard on the indicator: both ways now.
    click_indicator(display, "clip")
    assert await _eventually(lambda: viewer.states[-1]["clipboard"] == {"from_visitor": True, "to_visitor": True})
    assert viewer.clipboard is None  # what was copied before the switch is not sent
    await viewer.send({"t": "clipboard", "text": "from the rep: ñ € ok"})
    assert await _eventually(lambda: x_clipboard(display) == "from the rep: ñ € ok")
    copy_locally(display, "copied on the visitor's computer")
    assert await _eventually(lambda: viewer.clipboard == "copied on the visitor's computer")

    # And off again.
    click_indicator(display, "clip")
    assert await _eventually(lambda: viewer.states[-1]["clipboard"] == {"from_visitor": False, "to_visitor": False})
    copy_locally(display, "private again")
    await viewer.send({"t": "clipboard", "text": "refused again"})
    assert (await viewer.expect_error())["code"] == "forbidden"
    assert viewer.clipboard == "copied on the visitor's computer"

    await viewer.send({"t": "screen.stop"})
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()


async def test_the_command_line_locks_win_over_the_indicator(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    code = (await chat.offer())["code"]
    agent = start_agent(display, server, code, terminal=False, extra=["--no-clipboard-in", "--no-clipboard-out"])
    await allow(display)
    await viewer.wait_status("sharing")
    click_indicator(display, "clip")
    copy_locally(display, "secret of the visitor")
    await viewer.send({"t": "clipboard", "text": "rep text"})
    assert (await viewer.expect_error())["code"] == "forbidden"
    assert viewer.states[-1]["clipboard"] == {"from_visitor": False, "to_visitor": False}
    assert viewer.clipboard is None
    assert x_clipboard(display) == "secret of the visitor"
    await viewer.send({"t": "screen.stop"})
    await finish(agent)
    await viewer.close()

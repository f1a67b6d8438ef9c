"""The real agent with its windows (not the terminal) on Xvfb, driven by
clicks where the visitor clicks: Allow for the screen and for files, Accept
on an incoming file, "Choose files..." on the rep's request (the dialog
answered through the test hook), Cancel on a running transfer, and Stop
file sharing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from desklink.agent.file_paths import PART_SUFFIX
from desklink.agent.files_ui import (
    FILE_ASK_TITLE,
    FILE_OFFER_TITLE,
    FILES_TITLE,
    PICK_ENV,
    REVOKE_BUTTON,
    ROW_CANCEL_BUTTON,
    ROW_PAUSE_BUTTON,
    SEND_BUTTON,
    ROW_TOP,
    YES_BUTTON,
)
from desklink.agent.ui import ALLOW_BUTTON, CONSENT_TITLE
from desklink.protocol import limits
from desklink.protocol.files import encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.testing import ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish

from ._e2e import RepUpload, download, wait_files

MB = 1024 * 1024


def _click(display: XDisplay, title: str, button: tuple[int, int, int, int], top: int = 0) -> None:
    x, y, _, _ = display.window_geometry(display.wait_window(title))
    bx, by, bw, bh = button
    cx, cy = x + bx + bw // 2, y + top + by + bh // 2
    # The pointer may still be exactly there from the last click (the
    # questions share a layout), and ``mousemove --sync`` to where the pointer
    # already is waits for a motion that never comes: step aside first.
    display.xdotool("mousemove", "--sync", str(cx - 3), str(cy - 3))
    display.click(cx, cy)


async def _click_when(display: XDisplay, title: str, button: tuple[int, int, int, int], top: int = 0) -> None:
    await asyncio.to_thread(display.wait_window, title)
    _click(display, title, button, top)


async def test_the_visitor_drives_files_with_the_windows(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    home, dest = tmp_path / "home", tmp_path / "inbox"
    mine = tmp_path / "notes.txt"
    mine.write_bytes(os.urandom(3 * MB))
    env = {**display.env, "HOME": str(home), "XDG_STATE_HOME": str(home / ".state"), PICK_ENV: str(mine),
           "PYTHONUNBUFFERED": "1"}
    home.mkdir()
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    code = (await chat.offer())["code"].replace(" ", "")
    agent = subprocess.Popen([sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code,
                              "--files-dir", str(dest)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    display.children.append(agent)
    await _click_when(display, CONSENT_TITLE, ALLOW_BUTTON)
    await viewer.wait_status("sharing")
    await wait_until(lambda: not display.xdotool("search", "--name", CONSENT_TITLE, check=False).strip(), 10, "consent closed")
    await viewer.send({"t": "files.request"})
    await wait_files(viewer, "asking")
    await _click_when(display, CONSENT_TITLE, ALLOW_BUTTON)
    await wait_files(viewer, "granted")

    # A file from the rep: Accept.
    data = os.urandom(5 * MB)
    up = RepUpload(chat.rep, chat.session_id, data, "guide.pdf")
    await up.offer()
    await up.send_all()
    await _click_when(display, FILE_OFFER_TITLE, YES_BUTTON)
    await up.wait_status("delivered")
    assert hashlib.sha256((dest / "guide.pdf").read_bytes()).hexdigest() == up.sha256

    # The rep asks for a file: Choose files...
    await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "your notes"})
    await _click_when(display, FILE_ASK_TITLE, YES_BUTTON)
    ready = await chat.rep.expect("file.state", timeout=60, name="notes.txt", status="ready")
    assert await download(server, chat, ready["download"]) == mine.read_bytes()

    # A file that stalls half-way (the rep sends only part of it): the
    # visitor cancels it in the files window; nothing stays behind.
    big = os.urandom(40 * MB)
    stalled = RepUpload(chat.rep, chat.session_id, big, "half.iso")
    await stalled.offer()
    part = 4 * MB
    until = 0
    offset = 0
    while offset < part:
        while until <= offset:
            until = max(until, int((await chat.rep.expect("file.ack", id=stalled.id))["until"]))
        end = min(offset + limits.FILE_CHUNK_BYTES, until, part)
        for piece in split_frame(Channel.FILE, encode_chunk(stalled.id, offset, big[offset:end]), limits.MAX_MESSAGE_BYTES):
            await chat.rep.ws.send(piece)
        offset = end
    await _click_when(display, FILE_OFFER_TITLE, YES_BUTTON)
    await wait_until(lambda: list(dest.glob("*" + PART_SUFFIX)), 20, "the transfer running")
    await wait_until(lambda: list(dest.glob("*" + PART_SUFFIX))[0].stat().st_size > 0, 20, "bytes at the agent")
    # Running transfers are listed first: row 0 is the stalled one. Pause
    # and Resume reach the rep; then Cancel.
    _click(display, FILES_TITLE, ROW_PAUSE_BUTTON, ROW_TOP)
    paused = await stalled.wait_status("paused")
    assert paused["paused_by"] == "Vic"
    _click(display, FILES_TITLE, ROW_PAUSE_BUTTON, ROW_TOP)  # now "Resume"
    await chat.rep.expect("file.state", id=stalled.id, status="uploading")
    _click(display, FILES_TITLE, ROW_CANCEL_BUTTON, ROW_TOP)
    cancelled = await stalled.wait_status("cancelled")
    assert cancelled["id"] == stalled.id
    await wait_until(lambda: not list(dest.glob("*" + PART_SUFFIX)), 10, "the temporary file removed")
    assert not (dest / "half.iso").exists()

    # The visitor sends a file on their own: "Send a file..." in the files window.
    _click(display, FILES_TITLE, SEND_BUTTON)
    again = ready
    while again["id"] == ready["id"]:
        again = await chat.rep.expect("file.state", timeout=60, name="notes.txt", status="ready")
    assert again["via"] == "agent" and await download(server, chat, again["download"]) == mine.read_bytes()

    # Stop file sharing: the privilege ends for the rep too.
    _click(display, FILES_TITLE, REVOKE_BUTTON)
    await wait_files(viewer, "off")
    await viewer.send({"t": "screen.stop"})
    code_, out = await finish(agent)
    assert code_ == 0, out
    assert "Traceback" not in out, out  # every window command worked
    await viewer.close()

"""The session the files bench runs in: Xvfb with the latency target, a real
server, a rep in a chat with a visitor, the reference viewer, and the real
agent (``--terminal``, answered on stdin) with view, remote control and
files granted; plus a reader that keeps an otherwise idle socket drained.

The agent gets its own HOME and ``--files-dir`` under the server's data
folder, so delivered files land where the bench can check and delete them.
Its output goes to ``agent.log`` there (a pipe nobody reads would fill up
and stall it)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import input_latency

from desklink.testing import AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until
from desklink.testing_x import XDisplay


@dataclass
class Session:
    server: ServerProcess
    display: XDisplay
    rep: RepClient
    visitor: VisitorClient
    viewer: ViewerClient
    agent: subprocess.Popen[str]
    session_id: str
    username: str
    password: str
    work: Path
    inbox: Path
    log: Any = field(default=None)

    def answer(self, line: str) -> None:
        assert self.agent.stdin is not None
        self.agent.stdin.write(line + "\n")
        self.agent.stdin.flush()

    async def close(self) -> None:
        await self.viewer.send({"t": "screen.stop"})
        try:
            await asyncio.to_thread(self.agent.wait, 15)
        except subprocess.TimeoutExpired:
            self.agent.kill()
            self.agent.wait()
        await self.viewer.close()
        await self.rep.close()
        await self.visitor.close()
        if self.log is not None:
            self.log.close()


async def _files_state(viewer: ViewerClient, state: str) -> None:
    await wait_until(lambda: bool(viewer.states) and viewer.states[-1].get("privileges", {}).get("files") == state, 20,
                     f"files {state}")


async def open_session(server: ServerProcess, display: XDisplay) -> Session:
    work = Path(server.data_dir)
    (work / "target.py").write_text(input_latency.TARGET)
    display.spawn(sys.executable, str(work / "target.py"))
    display.wait_window("latency-target")
    admin = AdminAPI(server)
    ((user, pw),) = admin.reps(1, prefix="files")
    admin.close()
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await visitor.expect("joined")
    viewer = await ViewerClient.connect(server, user, pw, sid)
    await rep.send({"t": "screen.request", "session_id": sid})
    code = (await rep.expect("screen.offer"))["code"].replace(" ", "")
    home, inbox = work / "agent-home", work / "agent-inbox"
    home.mkdir()
    log = (work / "agent.log").open("w")
    agent = subprocess.Popen(
        [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code, "--terminal",
         "--files-dir", str(inbox)],
        env={**display.env, "HOME": str(home), "XDG_STATE_HOME": str(home / ".state"), "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(agent)
    s = Session(server, display, rep, visitor, viewer, agent, sid, user, pw, work, inbox, log)
    s.answer("y")  # view
    await viewer.wait_status("sharing")
    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    s.answer("y")
    await viewer.wait_control("granted")
    await viewer.send({"t": "files.request"})
    await _files_state(viewer, "asking")
    s.answer("y")
    await _files_state(viewer, "granted")
    display.xdotool("search", "--name", "latency-target", "windowfocus", "--sync")
    return s


class Drain:
    """Reads a client's socket while nothing else does (its messages are
    kept in ``received`` only), so the server never sees a stalled reader.
    Stops by a flag between short reads, not by cancelling a read (Python
    3.11's ``wait_for`` can swallow a cancel that meets a message)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._stop = False
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self._stop:
            try:
                await self.client.recv(0.2)
            except TimeoutError:
                continue

    async def stop(self) -> None:
        self._stop = True
        await self.task

"""Helpers for the agent files tests against a real server: the agent
process with its own home, a scripted rep that uploads to the visitor's
computer and downloads what the visitor sent."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from desklink.protocol import limits
from desklink.protocol.files import FINAL, encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.testing import RepClient, ServerProcess, ViewerClient, login_retrying
from desklink.testing_x import XDisplay
from screen._agent import Chat


def start_agent(display: XDisplay, server_url: str, code: str, home: Path, *extra: str) -> subprocess.Popen[str]:
    """The real agent (terminal questions, answered on stdin), with its own
    home and state folder, so Downloads and resume records are the test's."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**display.env, "HOME": str(home), "XDG_STATE_HOME": str(home / ".state"), "PYTHONUNBUFFERED": "1",
           "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "desklink", "agent", "--server", server_url, "--code", code.replace(" ", ""), "--terminal", *extra],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(proc)
    return proc


def answer(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


async def wait_files(viewer: ViewerClient, state: str, timeout: float = 20.0) -> None:
    from desklink.testing import wait_until

    await wait_until(lambda: bool(viewer.states) and viewer.states[-1].get("privileges", {}).get("files") == state, timeout,
                     f"files {state}")


async def granted_files(viewer: ViewerClient, agent: subprocess.Popen[str]) -> None:
    """The rep asks for files; the visitor says yes in the agent."""
    await viewer.send({"t": "files.request"})
    await wait_files(viewer, "asking")
    answer(agent, "y")
    await wait_files(viewer, "granted")


class RepUpload:
    """The rep's side of an upload to the visitor's computer, with the
    server's credit respected as the console does."""

    def __init__(self, rep: RepClient, session_id: str, data: bytes, name: str) -> None:
        self.rep, self.session_id, self.data, self.name = rep, session_id, data, name
        self.cid = secrets.token_hex(8)
        self.id = 0
        self.sha256 = hashlib.sha256(data).hexdigest()
        #: The final ``file.state`` when it came while sending.
        self.final: dict[str, Any] | None = None

    async def offer(self) -> int:
        await self.rep.send({"t": "file.offer", "cid": self.cid, "name": self.name, "size": len(self.data),
                             "mime": "application/octet-stream", "to": "computer", "session_id": self.session_id})
        state = await self.rep.expect("file.state", cid=self.cid)
        self.id = int(state["id"])
        return self.id

    async def send_all(self, chunk: int = limits.FILE_CHUNK_BYTES) -> None:
        data, offset = self.data, 0
        until = 0
        while offset < len(data):
            while until <= offset:
                got = await self.rep.expect(("file.ack", "file.state"), timeout=30, id=self.id)
                if got["t"] == "file.state":
                    if got["status"] in FINAL:
                        self.final = got
                        return  # the transfer ended (the visitor's disk is full...): stop, as the console does
                    continue
                until = max(until, int(got["until"]))
            end = min(offset + chunk, until, len(data))
            for part in split_frame(Channel.FILE, encode_chunk(self.id, offset, data[offset:end]), limits.MAX_MESSAGE_BYTES):
                await self.rep.ws.send(part)
            offset = end
        await self.rep.send({"t": "file.end", "id": self.id, "sha256": self.sha256})

    async def wait_status(self, status: str, timeout: float = 60.0) -> dict[str, Any]:
        if self.final is not None and self.final["status"] == status:
            return self.final  # read by send_all
        try:
            return await self.rep.expect("file.state", timeout=timeout, id=self.id, status=status)
        except TimeoutError:
            seen = [(m.get("status"), m.get("reason"), m.get("delivered")) for m in self.rep.received
                    if m.get("t") == "file.state" and m.get("id") == self.id]
            errors = [m for m in self.rep.received if m.get("t") == "error"]
            raise AssertionError(f"transfer {self.id} never became {status}: states {seen[-8:]}, errors {errors[-3:]}") from None


async def download(server: ServerProcess, chat: Chat, path: str) -> bytes:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        await login_retrying(http, chat.username, chat.password)
        r = await http.get(path)
        r.raise_for_status()
        return r.content

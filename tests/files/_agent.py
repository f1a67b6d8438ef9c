"""A scripted agent for the file tests: joins with a join code like the real
agent, answers consent, and receives files the way protocol/files.py says
(accept with an offset, credit, CRC per chunk, SHA-256 at the end)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from desklink.protocol.files import CHUNK_HEAD_BYTES, Receiver, Take, decode_chunk
from desklink.protocol.framing import Channel, Reassembler
from desklink.protocol.limits import FILE_CHUNK_BYTES, FILE_WINDOW_BYTES
from desklink.testing import AdminAPI, ServerProcess, ViewerClient, _Client, wait_until

from ._files import Chat, open_chat


@dataclass
class Incoming:
    """One file the scripted agent receives."""

    id: int
    size: int
    receiver: Receiver
    data: bytearray = field(default_factory=bytearray)
    chunks: int = 0
    #: Largest number of bytes that arrived past the credit it had granted.
    over_credit: int = 0
    granted: int = 0


class ScriptedAgent(_Client):
    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.parts = Reassembler({Channel.FILE: FILE_CHUNK_BYTES + CHUNK_HEAD_BYTES})
        self.incoming: dict[int, Incoming] = {}
        #: Stop acknowledging (the credit runs out): a slow or stuck agent.
        self.hold_acks = False

    @classmethod
    async def join(cls, server: ServerProcess, code: str) -> ScriptedAgent:
        ws = await websockets.connect(server.ws_url + "/ws/agent", max_size=2**22)
        agent = cls(ws)
        await agent.send({"t": "hello", "code": code.replace(" ", "")})
        agent.welcome = await agent.expect("welcome")
        return agent

    @classmethod
    async def resume(cls, server: ServerProcess, token: str) -> ScriptedAgent:
        ws = await websockets.connect(server.ws_url + "/ws/agent", max_size=2**22)
        agent = cls(ws)
        await agent.send({"t": "hello", "resume": token})
        agent.welcome = await agent.expect("welcome")
        return agent

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next JSON message; file chunks met on the way are taken (and
        acknowledged) as the agent does."""
        deadline = time.monotonic() + timeout
        while True:
            import asyncio

            raw = await asyncio.wait_for(self.ws.recv(), max(0.001, deadline - time.monotonic()))
            if isinstance(raw, bytes):
                await self._chunk(raw)
                continue
            msg: dict[str, Any] = json.loads(raw)
            self.received.append(msg)
            return msg

    async def take_until(self, check: Any, timeout: float = 10.0) -> None:
        """Read (taking chunks, keeping messages for ``expect``) until ``check()``."""
        import asyncio

        deadline = time.monotonic() + timeout
        while not check():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the agent did not get what it waited for")
            raw = await asyncio.wait_for(self.ws.recv(), remaining)
            if isinstance(raw, bytes):
                await self._chunk(raw)
            else:
                msg = json.loads(raw)
                self.received.append(msg)
                self._unclaimed.append(msg)

    async def accept(self, tid: int, size: int, offset: int = 0, have: bytes = b"") -> Incoming:
        inc = Incoming(tid, size, Receiver(tid, size, FILE_WINDOW_BYTES, acked=offset), bytearray(have))
        self.incoming[tid] = inc
        await self.send({"t": "file.accept", "id": tid, "offset": offset})
        await self.grant(inc)
        return inc

    async def grant(self, inc: Incoming) -> None:
        inc.granted = inc.receiver.until
        await self.send({"t": "file.ack", "id": inc.id, "acked": inc.receiver.acked, "until": inc.receiver.until})

    async def _chunk(self, raw: bytes) -> None:
        done = self.parts.feed(raw)
        if done is None:
            return
        chunk = decode_chunk(done[1], FILE_CHUNK_BYTES)
        inc = self.incoming[chunk.transfer_id]
        inc.chunks += 1
        inc.over_credit = max(inc.over_credit, chunk.end - inc.granted)
        result = inc.receiver.feed(chunk)
        if isinstance(result, Take):
            inc.data += chunk.data
            if not self.hold_acks:
                await self.grant(inc)
        elif result is not None:
            await self.send({"t": "file.nak", "id": inc.id, "offset": result.offset})

    def sha(self, tid: int) -> str:
        return hashlib.sha256(bytes(self.incoming[tid].data)).hexdigest()


@dataclass
class Setup:
    chat: Chat
    viewer: ViewerClient
    agent: ScriptedAgent

    def files(self) -> str:
        return str(self.viewer.states[-1]["privileges"]["files"]) if self.viewer.states else ""


async def join_agent(server: ServerProcess, admin: AdminAPI, *, grant: bool = True) -> Setup:
    chat = await open_chat(server, admin, "agt")
    await chat.rep.send({"t": "screen.request", "session_id": chat.session_id})
    code = (await chat.visitor.expect("screen.offer"))["code"]
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await ScriptedAgent.join(server, code)
    await agent.send({"t": "consent", "view": True})
    await viewer.wait_status("sharing")
    s = Setup(chat, viewer, agent)
    if grant:
        await viewer.send({"t": "files.request"})
        assert (await agent.expect("files.ask"))["rep"] == "Rep 0"
        await wait_until(lambda: s.files() == "asking", what="files asking")
        await agent.send({"t": "consent", "files": True})
        await wait_until(lambda: s.files() == "granted", what="files granted")
    return s

"""Helpers for the file tests: a chat session and a scripted uploader that
speaks the transfer protocol (protocol/files.py) over a real socket."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from desklink.protocol.files import encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.protocol.limits import FILE_CHUNK_BYTES, MAX_MESSAGE_BYTES
from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

_n = iter(range(10**6))


@dataclass
class Chat:
    rep: RepClient
    visitor: VisitorClient
    session_id: str
    username: str
    password: str
    queue: dict[str, Any]

    async def close(self) -> None:
        await self.rep.close()
        await self.visitor.close()


async def open_chat(server: ServerProcess, admin: AdminAPI, prefix: str = "f") -> Chat:
    name = f"{prefix}{next(_n)}{secrets.token_hex(2)}"
    queue = admin.queue(name)
    ((user, pw),) = admin.reps(1, queue_slug=name, prefix=name)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=name, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await visitor.expect("joined")
    return Chat(rep, visitor, sid, user, pw, queue)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def send_chunk(ws: Any, tid: int, offset: int, data: bytes, *, crc_damage: bool = False) -> None:
    """One chunk, in parts of at most ``max_message_bytes``, as clients send it."""
    payload = encode_chunk(tid, offset, data)
    if crc_damage:
        payload = payload[:-1] + bytes([payload[-1] ^ 0xFF])
    for part in split_frame(Channel.FILE, payload, MAX_MESSAGE_BYTES):
        await ws.send(part)


class Refused(Exception):
    """The server answered an upload with an ``error``."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error)
        self.error = error


class Upload:
    """One file sent by a scripted client: offer, chunks under the credit
    window, end. Counts every byte it sends (resends included)."""

    def __init__(self, client: Any, data: bytes, name: str = "file.bin", *, session_id: str = "", to: str = "chat") -> None:
        self.client = client
        self.data = data
        self.name = name
        self.session_id = session_id
        self.to = to
        self.cid = "c" + secrets.token_hex(6)
        self.id = 0
        self.position = 0
        self.acked = 0
        self.until = 0
        self.bytes_sent = 0
        self.state: dict[str, Any] = {}

    async def offer(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        msg: dict[str, Any] = {"t": "file.offer", "cid": self.cid, "name": self.name, "size": len(self.data),
                               "mime": "application/octet-stream", "to": self.to, **(extra or {})}
        if self.session_id:
            msg["session_id"] = self.session_id
        await self.client.send(msg)
        self.state = await self.client.expect("file.state", cid=self.cid)
        self.id = self.state["id"]
        self.take(await self.client.expect("file.ack", id=self.id))
        return self.state

    def take(self, ack: dict[str, Any]) -> None:
        self.acked, self.until = ack["acked"], ack["until"]
        self.position = max(self.position, self.acked)

    async def resume(self) -> None:
        await self.client.send({"t": "file.resume", "id": self.id})
        ack = await self.client.expect("file.ack", id=self.id)
        self.acked, self.until, self.position = ack["acked"], ack["until"], ack["acked"]

    async def send_window(self) -> None:
        """Send everything the credit allows."""
        while self.position < min(self.until, len(self.data)):
            end = min(self.position + FILE_CHUNK_BYTES, self.until, len(self.data))
            await send_chunk(self.client.ws, self.id, self.position, self.data[self.position:end])
            self.bytes_sent += end - self.position
            self.position = end

    async def send_until(self, stop: int) -> None:
        """Send and take acks until the server holds at least ``stop`` bytes."""
        while self.acked < stop:
            await self.send_window()
            msg = await expect_where(self.client, lambda m: (m.get("t") == "file.ack" and m["id"] == self.id) or m.get("t") == "error")
            if msg["t"] == "error":
                raise Refused(msg)
            self.take(msg)

    async def send_all(self) -> None:
        await self.send_until(len(self.data))

    async def end(self, digest: str | None = None) -> None:
        await self.client.send({"t": "file.end", "id": self.id, "sha256": digest or sha(self.data)})

    async def run(self) -> dict[str, Any]:
        await self.offer()
        await self.send_all()
        await self.end()
        return self.state


async def wait_state(client: Any, tid: int, status: str, timeout: float = 20.0) -> dict[str, Any]:
    """The first ``file.state`` of ``tid`` with ``status``, however many came before."""
    return await client.expect("file.state", timeout=timeout, id=tid, status=status)


def download(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30)


def states(client: Any, tid: int) -> list[dict[str, Any]]:
    return [m for m in client.received if m.get("t") == "file.state" and m.get("id") == tid]


def dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg)


async def expect_where(client: Any, fits: Any, timeout: float = 20.0, what: str = "a message") -> dict[str, Any]:
    """The first message ``fits(msg)`` accepts, already received or to come
    (the others stay for ``expect``)."""
    import time

    for i, msg in enumerate(client._unclaimed):
        if fits(msg):
            return dict(client._unclaimed.pop(i))
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {what} within {timeout}s")
        msg = await client.recv(remaining)
        if fits(msg):
            return dict(msg)
        client._unclaimed.append(msg)

"""A scripted file sender for tests and benches: speaks the transfer
protocol (protocol/files.py) over a real socket, as the help box, the
console and the agent do.

Theory of operation: :class:`Upload` drives one file from the sending side.
``offer`` sends ``file.offer`` and takes the server's first ``file.state``
(the transfer id) and ``file.ack`` (the credit: ``until`` is the offset the
sender may send up to). ``send_window`` sends chunks (``FILE_CHUNK_BYTES``,
each cut in parts of ``MAX_MESSAGE_BYTES`` on the ``FILE`` channel, as
clients send them) up to that credit; ``send_until`` alternates sending
and taking acks until the server holds a given offset; ``end`` sends the
SHA-256. Any client with ``send``, ``expect``, ``recv``, ``ws`` and
``_unclaimed`` works (``desklink.testing.RepClient``, ``VisitorClient``,
the tests' scripted agent). An ``error`` while sending raises
:class:`Refused`. Bytes sent are counted, resends included.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from desklink.protocol.files import encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.protocol.limits import FILE_CHUNK_BYTES, MAX_MESSAGE_BYTES


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


async def expect_where(client: Any, fits: Callable[[dict[str, Any]], bool], timeout: float = 20.0,
                       what: str = "a message") -> dict[str, Any]:
    """The first message ``fits(msg)`` accepts, already received or to come
    (the others stay for ``expect``)."""
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


async def wait_state(client: Any, tid: int, status: str, timeout: float = 20.0) -> dict[str, Any]:
    """The first ``file.state`` of ``tid`` with ``status``, however many came before."""
    return dict(await client.expect("file.state", timeout=timeout, id=tid, status=status))


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
        self.state = dict(await self.client.expect("file.state", cid=self.cid))
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

    async def send_until(self, stop: int, timeout: float = 20.0) -> None:
        """Send and take acks until the server holds at least ``stop`` bytes."""
        while self.acked < stop:
            await self.send_window()
            msg = await expect_where(
                self.client, lambda m: (m.get("t") == "file.ack" and m["id"] == self.id) or m.get("t") == "error", timeout)
            if msg["t"] == "error":
                raise Refused(msg)
            self.take(msg)

    async def send_all(self, timeout: float = 20.0) -> None:
        await self.send_until(len(self.data), timeout)

    async def end(self, digest: str | None = None) -> None:
        await self.client.send({"t": "file.end", "id": self.id, "sha256": digest or sha(self.data)})

    async def run(self) -> dict[str, Any]:
        await self.offer()
        await self.send_all()
        await self.end()
        return self.state


async def stored_transfer(
    store: Any, server: Any, *, data: bytes = b"hello", name: str = "notes.txt", mime: str = "text/plain",
    sender: str = "visitor", status: str = "ready", finish: bool = True, offered: Any = None,
) -> Any:
    """A transfer as the hub leaves it, made straight in the store and the
    file store of ``server`` (a :class:`~desklink.testing.ServerProcess`):
    a queue, a request, the row (offered at ``offered``, default now) and its
    bytes, finished unless ``finish`` is False. For tests of what serves or
    sweeps stored files (downloads, retention), not of the hub itself."""
    from datetime import UTC, datetime

    from desklink.server.file_store import LocalFileStore

    when = offered or datetime.now(UTC)
    slug = "q" + secrets.token_hex(4)
    queue = await store.create_queue(slug, slug, [], when)
    req = await store.create_request(
        queue_id=queue.id, visitor_name="V", visitor_email="", question="?", token_hash=secrets.token_hex(32),
        ip="127.0.0.1", origin=server.url, now=when,
    )
    row, _ = await store.create_transfer(
        request_id=req.id, session_id="s", sender=sender, sender_name="Alice" if sender == "rep" else "V", user_id=None,
        via="browser", target="chat", client_id="c", name=name, mime=mime, size=len(data),
        download_key=secrets.token_urlsafe(32), now=when,
    )
    files = LocalFileStore(server.data_dir / "files")
    files.append(row.id, 0, data)
    if finish:
        files.finish(row.id, len(data))
    return await store.update_transfer(
        row.id, status=status, received=len(data), sha256=hashlib.sha256(data).hexdigest(), now=when
    )

"""A transfer manager wired to lists instead of a socket, and a scripted
server side that feeds it chunks made with the real codec."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desklink.agent.files import FileManager, Incoming
from desklink.protocol.files import decode_chunk, encode_chunk
from desklink.protocol.messages import FileAck, FileEnd
from desklink.protocol.server_messages import FileOfferOut

CHUNK = 64 * 1024
WINDOW = 256 * 1024


@dataclass
class Wire:
    sent: list[Any] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.sent if isinstance(m, kind)]

    def last(self, kind: type) -> Any:
        found = self.of(kind)
        assert found, f"no {kind.__name__} was sent (sent: {self.sent})"
        return found[-1]


def manager(states: Path, wire: Wire, server: str = "http://127.0.0.1:1") -> FileManager:
    return FileManager(server, wire.sent.append, wire.chunks.append, states=states, chunk_bytes=CHUNK, window_bytes=WINDOW)


def offer_of(data: bytes, name: str = "report.pdf", transfer_id: int = 7) -> FileOfferOut:
    return FileOfferOut(id=transfer_id, name=name, size=len(data), mime="application/pdf", rep="Rita")


def feed(m: FileManager, wire: Wire, transfer_id: int, data: bytes, start: int = 0, stop: int | None = None) -> None:
    """Send ``data[start:stop]`` as the server does: only within the credit
    the agent's last ``file.ack`` granted."""
    stop = len(data) if stop is None else stop
    offset = start
    while offset < stop:
        until = wire.last(FileAck).until
        assert until > offset, "the agent granted no credit"
        end = min(offset + CHUNK, until, stop)
        m.receive_chunk(encode_chunk(transfer_id, offset, data[offset:end]))
        offset = end


def finish(m: FileManager, transfer_id: int, sha256: str) -> Incoming | None:
    inc = m.end_incoming(FileEnd(id=transfer_id, sha256=sha256))
    if inc is not None:
        try:
            final: Path | OSError = m.place_incoming(inc)
        except OSError as exc:
            final = exc
        m.placed(inc, final)
    return inc


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_payloads(wire: Wire) -> list[Any]:
    """The agent's outgoing chunks, decoded."""
    return [decode_chunk(frame, CHUNK) for frame in wire.chunks]

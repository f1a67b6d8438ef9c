"""Files: one transfer protocol for every path (help box, console, agent).

Theory of operation
-------------------
A file always travels in two *legs* through the server, which keeps it in
transit (``server/file_store.py``): the sender *uploads* it to the server,
and the receiver gets it from there. A browser gets it as an ordinary HTTP
download (an attachment, with ``Range`` so the browser can resume); an agent
gets it over its WebSocket as a server *upload* to the agent. Both legs that
travel over a WebSocket use the same machine, defined here without any I/O:

* :class:`Sender` keeps the next offset to send, the receiver's cumulative
  acknowledgement and its credit. It sends only below ``until`` (the credit
  window) and only what is ``available`` (the server may forward to an agent
  while the upload is still arriving). A ``nak`` rewinds it to the bad chunk.
* :class:`Receiver` accepts chunks strictly in order: a chunk at the
  expected offset whose CRC-32 matches is taken (the adapter writes it and
  feeds it to the SHA-256), anything else is answered with a ``nak`` for the
  expected offset (a bad chunk is sent again, not the file). After each
  taken chunk it grants credit: ``until = acked + window``.

Resume: the receiver's ``acked`` is durable (bytes written to the
temporary file). A sender that reconnects (network drop, page reload, agent
restart) asks with ``file.resume`` and gets ``file.ack {acked, until}``: it
continues from ``acked``. The receiver re-hashes the bytes it already holds.

End: after the last byte the sender sends ``file.end {sha256}`` of the whole
file; the receiver compares it with its own running hash. Only a match makes
the file *verified*: the server then offers it for download or sends it on,
and an agent renames its temporary file to the final name. A mismatch fails
the transfer (``file.state`` ``failed`` with the reason).

Wire format
-----------
Control messages are JSON text frames (``file.*``, see
:mod:`desklink.protocol.messages`); data travels as binary frames on channel
:data:`~desklink.protocol.framing.Channel.FILE` at the lowest priority
(``Priority.BULK``), so screen frames, input and chat overtake it::

    chunk := u8 kind=1 | u64 transfer_id | u64 offset | u32 crc32 | data

``transfer_id`` is the server's id of the transfer (``file.state {id}``),
``crc32`` is zlib's CRC-32 of ``data``. ``data`` is at most the chunk size
the server announced (``limits.FILE_CHUNK_BYTES``); a zero-length chunk is
never sent.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final, Literal

from desklink.errors import ProtocolError

KIND_DATA: Final = 1
_CHUNK_HEAD = struct.Struct(">BQQI")
CHUNK_HEAD_BYTES: Final = _CHUNK_HEAD.size

#: Where a transfer stands, as every party sees it (``file.state {status}``).
Status = Literal[
    "offered",  # announced; waiting for the receiver's yes (agent) or for bytes
    "uploading",  # bytes arriving at the server
    "paused",  # someone pressed pause; no credit is granted either way
    "ready",  # verified on the server; a browser may download it
    "delivering",  # the server sends it on to the visitor's agent
    "delivered",  # the agent verified it and saved it under its final name
    "refused",  # the receiver said no
    "cancelled",  # someone cancelled
    "failed",  # something went wrong; ``reason`` says what
    "expired",  # removed from the server after the retention period
]
FINAL: Final[frozenset[str]] = frozenset({"delivered", "refused", "cancelled", "failed", "expired"})

#: ``chat``: the file is offered as a download card in the conversation.
#: ``computer``: the rep sends it straight to the visitor's computer (agent).
Target = Literal["chat", "computer"]


@dataclass(frozen=True, slots=True)
class Chunk:
    transfer_id: int
    offset: int
    crc32: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


def encode_chunk(transfer_id: int, offset: int, data: bytes) -> bytes:
    """A data chunk, without the channel byte (``framing.encode_frame`` adds it)."""
    return _CHUNK_HEAD.pack(KIND_DATA, transfer_id, offset, zlib.crc32(data)) + data


def decode_chunk(payload: bytes, max_data_bytes: int) -> Chunk:
    """Parse a chunk; ``ProtocolError`` for anything malformed (the CRC is
    checked by :class:`Receiver`, so a damaged chunk can be asked for again)."""
    if len(payload) <= CHUNK_HEAD_BYTES:
        raise ProtocolError("file chunk too short", code="bad_message")
    kind, transfer_id, offset, crc = _CHUNK_HEAD.unpack_from(payload)
    if kind != KIND_DATA:
        raise ProtocolError(f"unknown file chunk kind {kind}", code="bad_type")
    data = payload[CHUNK_HEAD_BYTES:]
    if len(data) > max_data_bytes:
        raise ProtocolError(f"file chunk of {len(data)} bytes is over the chunk size {max_data_bytes}", code="too_large")
    return Chunk(transfer_id, offset, crc, data)


class Sender:
    """The sending side of one leg. The adapter loops::

        while (span := sender.next_span(available)) is not None:
            offset, length = span
            send(encode_chunk(id, offset, read(offset, length)))
            sender.sent(offset + length)

    and calls :meth:`ack` / :meth:`nak` as the receiver answers. When
    :attr:`finished` (everything sent) it sends ``file.end``; the leg is
    complete when :attr:`acked` equals the size and the receiver confirms."""

    def __init__(self, size: int, chunk_bytes: int) -> None:
        if size < 0 or chunk_bytes <= 0:
            raise ValueError("size must be >= 0 and chunk_bytes > 0")
        self.size = size
        self.chunk_bytes = chunk_bytes
        self.position = 0  # next offset to send
        self.acked = 0  # the receiver holds every byte below this
        self.until = 0  # the receiver's credit: send nothing at or past this
        self.paused = False
        self.resent_bytes = 0  # bytes sent again after a nak or a resume
        self._high = 0  # highest offset ever sent, to count resends

    def ack(self, acked: int, until: int) -> None:
        """The receiver holds everything below ``acked`` and lets us send up
        to ``until``. Also the answer to ``file.resume``: sending continues
        from ``acked`` if we were behind or past it."""
        if not 0 <= acked <= self.size or until < acked:
            raise ProtocolError(f"bad file.ack {acked}..{until} for a file of {self.size} bytes", code="bad_message")
        if acked < self.acked:
            # The receiver lost bytes (it restarted from an older state).
            self.position = acked
        self.acked = acked
        self.until = until
        if self.position < acked:
            self.position = acked

    def resume_from(self, acked: int, until: int) -> None:
        """Start again from the receiver's durable offset (after a reconnect)."""
        if not 0 <= acked <= self.size or until < acked:
            raise ProtocolError(f"bad resume offset {acked} for a file of {self.size} bytes", code="bad_message")
        self.acked = acked
        self.until = until
        self.position = acked

    def nak(self, offset: int) -> None:
        """The chunk at ``offset`` was bad (or out of order): go back to it."""
        if not self.acked <= offset <= self.size:
            raise ProtocolError(f"bad file.nak offset {offset}", code="bad_message")
        self.position = min(self.position, offset)

    def next_span(self, available: int | None = None) -> tuple[int, int] | None:
        """The next ``(offset, length)`` to send, or None when the window is
        closed, nothing more is available yet, or everything was sent."""
        if self.paused:
            return None
        limit = min(self.until, self.size if available is None else min(available, self.size))
        length = min(self.chunk_bytes, limit - self.position)
        if length <= 0:
            return None
        return self.position, length

    def sent(self, end: int) -> None:
        """The chunk ending at ``end`` went out."""
        if self.position < self._high:
            self.resent_bytes += min(end, self._high) - self.position
        self._high = max(self._high, end)
        self.position = end

    @property
    def finished(self) -> bool:
        """Every byte has been sent at least up to the end (``file.end`` may go)."""
        return self.position >= self.size

    @property
    def complete(self) -> bool:
        return self.acked >= self.size


@dataclass(frozen=True, slots=True)
class Take:
    """The chunk is good: write ``chunk.data`` at ``chunk.offset``, hash it,
    then answer ``file.ack {acked, until}``."""

    chunk: Chunk
    acked: int
    until: int


@dataclass(frozen=True, slots=True)
class Nak:
    """Answer ``file.nak {offset}``: the sender goes back to ``offset``."""

    offset: int
    reason: str


class Receiver:
    """The receiving side of one leg. Chunks are taken in order only; a
    duplicate of bytes already held is ignored (None), anything else that is
    not the expected chunk with a matching CRC is a :class:`Nak`."""

    def __init__(self, transfer_id: int, size: int, window_bytes: int, acked: int = 0) -> None:
        if not 0 <= acked <= size or window_bytes <= 0:
            raise ValueError("bad receiver state")
        self.transfer_id = transfer_id
        self.size = size
        self.window_bytes = window_bytes
        self.acked = acked
        self.naks = 0
        self._nak_pending = False

    @property
    def until(self) -> int:
        return min(self.size, self.acked + self.window_bytes)

    def feed(self, chunk: Chunk, until: int | None = None) -> Take | Nak | None:
        """Check one chunk. A chunk ending past the credit (``until``: the
        window's, or a lower one the caller grants, e.g. ``acked`` while
        paused) is a ``ProtocolError`` ``bad_state``: nothing is taken."""
        if chunk.transfer_id != self.transfer_id:
            raise ProtocolError("chunk for another transfer", code="bad_message")
        if chunk.end > self.size:
            raise ProtocolError(f"chunk past the end of the file ({chunk.end} > {self.size})", code="too_large")
        if chunk.end <= self.acked:
            return None  # a resend of bytes we already hold
        credit = self.until if until is None else min(until, self.until)
        if chunk.end > credit:
            raise ProtocolError(f"chunk past the credit ({chunk.end} > {credit}); wait for file.ack", code="bad_state")
        if chunk.offset != self.acked:
            if self._nak_pending:
                return None  # the sender is still on its way back
            self._nak_pending = True
            self.naks += 1
            return Nak(self.acked, "out of order")
        if zlib.crc32(chunk.data) != chunk.crc32:
            self._nak_pending = True
            self.naks += 1
            return Nak(self.acked, "checksum mismatch")
        self._nak_pending = False
        self.acked = chunk.end
        return Take(chunk, self.acked, self.until)

    @property
    def complete(self) -> bool:
        return self.acked >= self.size

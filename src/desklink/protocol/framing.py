"""Binary frames for bulk channels: ``[u8 channel][payload]``.

Control messages travel as JSON text frames (:mod:`.messages`). Binary frames
carry the bulk channels (screen, files), each tagged with one channel byte so
one WebSocket multiplexes them all. The channel decides the priority class in
the :class:`~.outbox.Outbox`.

Large messages travel in parts
------------------------------
Every WebSocket message a server accepts is bounded by ``max_message_bytes``
at the transport, before anything is buffered, on every socket, authenticated
or not. A screen frame can be larger (a key frame of a 4K screen), so a
sender splits a large binary message into parts: every part but the last has
:data:`MORE` set in its channel byte. The receiver joins the parts of a
channel (:class:`Reassembler`) up to that channel's own limit, and only on a
socket that is allowed large messages (an authenticated agent). Between two
parts the sender may send anything else, so an urgent control message never
waits behind a large frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.outbox import Priority

#: Set in the channel byte of every part of a message but its last.
MORE = 0x80


class Channel(IntEnum):
    INPUT = 1
    SCREEN = 2
    FILE = 3


CHANNEL_PRIORITY: dict[Channel, Priority] = {
    Channel.INPUT: Priority.CONTROL,
    Channel.SCREEN: Priority.SCREEN,
    Channel.FILE: Priority.BULK,
}


def encode_frame(channel: Channel, payload: bytes) -> bytes:
    return bytes((channel,)) + payload


def split_frame(channel: Channel, payload: bytes, max_part_bytes: int) -> Iterator[bytes]:
    """``payload`` as one or more binary messages of at most
    ``max_part_bytes`` each (channel byte included)."""
    room = max_part_bytes - 1
    if room < 1:
        raise ValueError("max_part_bytes must leave room for a payload byte")
    if len(payload) <= room:
        yield bytes((channel,)) + payload
        return
    view = memoryview(payload)
    for start in range(0, len(payload), room):
        last = start + room >= len(payload)
        yield bytes((channel if last else channel | MORE,)) + view[start : start + room].tobytes()


def decode_frame(data: bytes, max_bytes: int) -> tuple[Channel, bytes]:
    """Split a binary frame; ``ProtocolError`` for an empty frame or unknown
    channel, ``TooLarge`` past ``max_bytes``."""
    if len(data) > max_bytes:
        raise TooLarge(f"frame of {len(data)} bytes is over the limit of {max_bytes}")
    if not data:
        raise ProtocolError("empty binary frame")
    try:
        channel = Channel(data[0])
    except ValueError:
        raise ProtocolError(f"unknown channel {data[0]}", code="bad_type") from None
    return channel, data[1:]


class Reassembler:
    """Joins the parts of large binary messages, per channel, within limits.

    ``feed(data)`` returns ``(channel, payload)`` once a message is complete,
    or None while its parts are still coming. ``limits`` maps each channel
    this socket accepts to the largest whole message; a part of any other
    channel, a message growing past its limit, or an empty part raises
    :class:`ProtocolError` (``TooLarge`` for size). Sans-I/O."""

    def __init__(self, limits: dict[Channel, int]) -> None:
        self.limits = dict(limits)
        self._parts: dict[Channel, list[bytes]] = {}
        self._sizes: dict[Channel, int] = {}

    def feed(self, data: bytes) -> tuple[Channel, bytes] | None:
        if not data:
            raise ProtocolError("empty binary frame")
        more = bool(data[0] & MORE)
        try:
            channel = Channel(data[0] & ~MORE)
        except ValueError:
            raise ProtocolError(f"unknown channel {data[0] & ~MORE}", code="bad_type") from None
        limit = self.limits.get(channel)
        if limit is None:
            raise ProtocolError(f"channel {channel.name} is not accepted here", code="bad_type")
        size = self._sizes.get(channel, 0) + len(data) - 1
        if size > limit:
            self._parts.pop(channel, None)
            self._sizes.pop(channel, None)
            raise TooLarge(f"{channel.name.lower()} message over the limit of {limit} bytes")
        if more:
            self._parts.setdefault(channel, []).append(data[1:])
            self._sizes[channel] = size
            return None
        earlier = self._parts.pop(channel, None)
        self._sizes.pop(channel, None)
        if earlier is None:
            return channel, data[1:]
        earlier.append(data[1:])
        return channel, b"".join(earlier)

    def pending_bytes(self) -> int:
        """Bytes held in unfinished messages (for statistics)."""
        return sum(self._sizes.values())

"""Binary frames for bulk channels: ``[u8 channel][payload]``.

Control messages travel as JSON text frames (:mod:`.messages`). Binary frames
carry the bulk channels that later features add (screen, input, files), each
tagged with one channel byte so one WebSocket multiplexes them all. The
channel decides the priority class in the :class:`~.outbox.Outbox`.
"""

from __future__ import annotations

from enum import IntEnum

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.outbox import Priority


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

"""Video chunks (screen message kind 4, a browser share): round trips, every
bound, fuzzing, and the browser's stop reasons in ``screen.stop``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol import screen
from desklink.protocol.messages import StopSharing, decode_agent

chunks = st.builds(
    screen.VideoChunk,
    seq=st.integers(0, 2**32 - 1),
    capture_us=st.integers(0, 2**64 - 1),
    width=st.integers(1, screen.MAX_SIDE),
    height=st.integers(1, screen.MAX_SIDE),
    codec=st.sampled_from(list(screen.Codec)),
    data=st.binary(min_size=1, max_size=256),
    flags=st.sampled_from([0, screen.FLAG_KEY]),
)


@given(chunks)
def test_round_trip(chunk: screen.VideoChunk) -> None:
    assert screen.decode(chunk.encode(), 1 << 20) == chunk


def test_the_header_is_23_bytes_as_the_docs_say() -> None:
    data = screen.VideoChunk(7, 9, 1920, 1080, screen.Codec.VP9, b"abc", screen.FLAG_KEY).encode()
    assert data[:23] == bytes([4, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0x07, 0x80, 0x04, 0x38, 3, 0, 0, 0, 3])
    assert data[23:] == b"abc"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (screen.VideoChunk(1, 0, 0, 10, screen.Codec.H264, b"x").encode(), "screen size 0x10 out of range"),
        (screen.VideoChunk(1, 0, 10, screen.MAX_SIDE + 1, screen.Codec.H264, b"x").encode(), "out of range"),
        (screen.VideoChunk(1, 0, 10, 10, screen.Codec.H264, b"x").encode()[:18] + b"\x00\x00\x00\x00\x01x", "unknown video codec 0"),
        (screen.VideoChunk(1, 0, 10, 10, screen.Codec.H264, b"x").encode()[:19] + b"\x00\x00\x00\x00", "empty video chunk"),
        (screen.VideoChunk(1, 0, 10, 10, screen.Codec.H264, b"xy").encode()[:-1], "does not match"),
        (screen.VideoChunk(1, 0, 10, 10, screen.Codec.H264, b"xy").encode() + b"!", "does not match"),
        (screen.VideoChunk(1, 0, 10, 10, screen.Codec.H264, b"xy").encode()[:12], "truncated"),
    ],
)
def test_every_bound_is_checked(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        screen.decode(data, 1 << 20)


def test_past_the_size_limit() -> None:
    with pytest.raises(TooLarge):
        screen.decode(screen.VideoChunk(1, 0, 10, 10, screen.Codec.VP8, bytes(100)).encode(), 100)


@given(st.binary(max_size=64))
def test_anything_in_gives_a_chunk_or_a_protocol_error(tail: bytes) -> None:
    try:
        screen.decode(bytes([screen.KIND_VIDEO]) + tail, 1 << 20)
    except ProtocolError:
        pass


def test_stop_reasons_are_a_closed_set() -> None:
    assert decode_agent('{"t":"screen.stop","why":"browser_bar"}') == StopSharing(why="browser_bar")
    assert decode_agent('{"t":"screen.stop"}') == StopSharing()
    with pytest.raises(ProtocolError):
        decode_agent('{"t":"screen.stop","why":"<b>anything</b>"}')

"""Binary frames for bulk channels (protocol/framing.py): ``[u8 channel][payload]``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.framing import CHANNEL_PRIORITY, Channel, decode_frame, encode_frame
from desklink.protocol.outbox import Priority


def test_channel_numbers_are_fixed() -> None:
    # these are wire values: changing one breaks every deployed client
    assert {c.name: int(c) for c in Channel} == {"INPUT": 1, "SCREEN": 2, "FILE": 3}


def test_every_channel_has_a_priority() -> None:
    assert set(CHANNEL_PRIORITY) == set(Channel)
    assert CHANNEL_PRIORITY[Channel.INPUT] is Priority.CONTROL
    assert CHANNEL_PRIORITY[Channel.SCREEN] is Priority.SCREEN
    assert CHANNEL_PRIORITY[Channel.FILE] is Priority.BULK


def test_encode_layout() -> None:
    assert encode_frame(Channel.SCREEN, b"abc") == b"\x02abc"
    assert encode_frame(Channel.FILE, b"") == b"\x03"


@pytest.mark.parametrize("channel", list(Channel))
def test_channel_with_empty_payload(channel: Channel) -> None:
    assert decode_frame(encode_frame(channel, b""), 1) == (channel, b"")


@given(channel=st.sampled_from(Channel), payload=st.binary(max_size=512))
def test_round_trip(channel: Channel, payload: bytes) -> None:
    frame = encode_frame(channel, payload)
    assert len(frame) == len(payload) + 1
    got_channel, got_payload = decode_frame(frame, len(frame))
    assert got_channel is channel
    assert got_payload == payload


def test_empty_frame_is_bad_message() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_frame(b"", 100)
    assert not isinstance(info.value, TooLarge)
    assert info.value.code == "bad_message"


@pytest.mark.parametrize("byte", [0, *range(4, 256)])
def test_unknown_channel_is_bad_type(byte: int) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_frame(bytes([byte]) + b"payload", 100)
    assert info.value.code == "bad_type"
    assert str(byte) in info.value.message


def test_limit_counts_the_channel_byte() -> None:
    frame = encode_frame(Channel.FILE, b"x" * 99)
    assert decode_frame(frame, 100) == (Channel.FILE, b"x" * 99)
    with pytest.raises(TooLarge) as info:
        decode_frame(frame, 99)
    assert info.value.code == "too_large"


def test_size_is_checked_before_the_channel() -> None:
    with pytest.raises(TooLarge):
        decode_frame(b"\xff" * 10, 9)


@given(data=st.binary(), max_bytes=st.integers(min_value=0, max_value=64))
def test_any_bytes_decode_or_protocol_error(data: bytes, max_bytes: int) -> None:
    try:
        channel, payload = decode_frame(data, max_bytes)
    except TooLarge:
        assert len(data) > max_bytes
        return
    except ProtocolError as exc:
        assert len(data) <= max_bytes
        assert exc.code in ("bad_message", "bad_type")
        assert not data or data[0] not in set(Channel)
        return
    assert len(data) <= max_bytes
    assert encode_frame(channel, payload) == data

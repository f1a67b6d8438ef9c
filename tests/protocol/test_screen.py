"""The screen frame format and the agent/viewer message decoders: round
trips, every bound, and Hypothesis fuzzing (anything in, ProtocolError or a
valid message out, never another exception)."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol import limits, screen
from desklink.protocol.messages import (
    AHello,
    Consent,
    ScreenAck,
    ScreenInfo,
    ScreenSelect,
    decode_agent,
    decode_viewer,
    encode,
)

W, H = 1920, 1080


@st.composite
def rects(draw: st.DrawFn, width: int = W, height: int = H) -> screen.Rect:
    x = draw(st.integers(0, width - 1))
    y = draw(st.integers(0, height - 1))
    w = draw(st.integers(1, width - x))
    h = draw(st.integers(1, height - y))
    kind = draw(st.sampled_from(list(screen.Enc)))
    if kind is screen.Enc.COPY:
        return screen.Rect.copy(x, y, w, h, draw(st.integers(0, width - w)), draw(st.integers(0, height - h)))
    if kind is screen.Enc.FILL:
        return screen.Rect.fill(x, y, w, h, (draw(st.integers(0, 255)), 0, 255))
    return screen.Rect(x, y, w, h, kind, b"\xff\xd8" + draw(st.binary(min_size=2, max_size=64)))


frames = st.builds(
    screen.Frame,
    seq=st.integers(0, 2**32 - 1),
    capture_us=st.integers(0, 2**64 - 1),
    width=st.just(W),
    height=st.just(H),
    rects=st.lists(rects(), max_size=12).map(tuple),
    flags=st.sampled_from([0, screen.FLAG_KEY, screen.FLAG_REFINE]),
)


@given(frames)
def test_frames_round_trip(frame: screen.Frame) -> None:
    assert screen.decode(frame.encode(), 2**24) == frame


@given(st.binary(max_size=512))
@settings(max_examples=500)
def test_any_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    try:
        screen.decode(data, 2**20)
    except ProtocolError:
        pass


@given(frames, st.data())
def test_corrupted_frames_never_raise_anything_else(frame: screen.Frame, data: st.DataObject) -> None:
    raw = bytearray(frame.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        decoded = screen.decode(bytes(raw[:cut]), 2**20)
    except ProtocolError:
        return
    if isinstance(decoded, screen.Frame):  # whatever got through obeys every bound
        for r in decoded.rects:
            assert r.x + r.w <= decoded.width and r.y + r.h <= decoded.height


def _frame(*rect_list: screen.Rect, width: int = 64, height: int = 48) -> bytes:
    return screen.Frame(1, 0, width, height, tuple(rect_list)).encode()


@pytest.mark.parametrize(
    "data",
    [
        _frame(screen.Rect(60, 0, 10, 10, screen.Enc.FILL, b"abc")),  # past the right edge
        _frame(screen.Rect(0, 0, 0, 10, screen.Enc.FILL, b"abc")),  # empty
        _frame(screen.Rect.copy(0, 0, 10, 10, 60, 0)),  # copy source outside
        _frame(screen.Rect(0, 0, 4, 4, screen.Enc.COPY, b"\x00\x00")),  # short copy payload
        _frame(screen.Rect(0, 0, 4, 4, screen.Enc.FILL, b"\x00")),  # short fill
        _frame(screen.Rect(0, 0, 4, 4, screen.Enc.JPEG, b"")),  # empty jpeg
        _frame(width=0),
        _frame(width=screen.MAX_SIDE + 1),
        _frame() + b"x",  # stray bytes
        _frame(screen.Rect(0, 0, 4, 4, screen.Enc.FILL, b"abc"))[:-1],  # truncated
        bytes([9]) + b"\x00" * 20,  # unknown kind
        b"",
    ],
)
def test_frames_breaking_a_rule_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        screen.decode(data, 2**20)


def test_unknown_encoding_is_bad_type() -> None:
    raw = bytearray(_frame(screen.Rect(0, 0, 4, 4, screen.Enc.FILL, b"abc")))
    raw[struct.calcsize(">BBIQHHH") + 8] = 7
    with pytest.raises(ProtocolError) as exc:
        screen.decode(bytes(raw), 2**20)
    assert exc.value.code == "bad_type"


def test_over_the_size_limit_is_too_large() -> None:
    data = _frame(screen.Rect(0, 0, 4, 4, screen.Enc.JPEG, b"\xff" * 100))
    assert screen.decode(data, len(data))
    with pytest.raises(TooLarge):
        screen.decode(data, len(data) - 1)


def test_too_many_rects_refused() -> None:
    head = struct.pack(">BBIQHHH", 1, 0, 1, 0, 64, 48, screen.MAX_RECTS + 1)
    with pytest.raises(ProtocolError):
        screen.decode(head, 2**24)


def test_cursor_and_pointer() -> None:
    cursor = screen.Cursor(5, 6, 2, 2, 1, 1, bytes(16))
    assert screen.decode(cursor.encode(), 1024) == cursor
    assert screen.decode(screen.Pointer(7, 8).encode(), 1024) == screen.Pointer(7, 8)
    with pytest.raises(ProtocolError):
        screen.decode(screen.Cursor(0, 0, 2, 2, 5, 0, bytes(16)).encode(), 1024)  # hot spot outside
    with pytest.raises(ProtocolError):
        screen.decode(screen.Cursor(0, 0, 2, 2, 0, 0, bytes(15)).encode(), 1024)
    with pytest.raises(ProtocolError):
        screen.decode(screen.Pointer(1, 2).encode() + b"x", 1024)


class TestFlowControl:
    def test_window_bounds_in_flight_frames(self) -> None:
        flow = screen.FlowControl(window=2)
        for _ in range(2):
            flow.sent(flow.take_seq(), 0.0)
        assert not flow.can_send()
        assert flow.acked(1, 0.05) == 1 and flow.can_send()
        assert flow.rtts == [0.05]

    def test_ack_is_cumulative_and_stale_acks_are_ignored(self) -> None:
        flow = screen.FlowControl(window=3)
        for t in range(3):
            flow.sent(flow.take_seq(), float(t))
        assert flow.acked(3, 5.0) == 3 and not flow.in_flight
        assert flow.acked(2, 6.0) == 0

    def test_seq_wraps_skipping_zero(self) -> None:
        flow = screen.FlowControl()
        flow.next_seq = 2**32 - 1
        assert flow.take_seq() == 2**32 - 1 and flow.take_seq() == 1

    def test_window_must_be_positive(self) -> None:
        with pytest.raises(ValueError):
            screen.FlowControl(window=0)


AGENT_EXAMPLES = [
    AHello(code="123 456 789"),
    AHello(resume="r" * 22, version="0.1.0", platform="Linux"),
    Consent(view=True),
    ScreenInfo(monitors=[], selected=1),
]


@pytest.mark.parametrize("msg", AGENT_EXAMPLES, ids=repr)
def test_agent_messages_round_trip(msg: object) -> None:
    assert decode_agent(encode(msg)) == msg  # type: ignore[arg-type]


@pytest.mark.parametrize("msg", [ScreenAck(seq=1), ScreenSelect(monitor=2), ScreenSelect(monitor=0)], ids=repr)
def test_viewer_messages_round_trip(msg: object) -> None:
    assert decode_viewer(encode(msg)) == msg  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decode", "data", "code"),
    [
        (decode_agent, '{"t":"hello","code":"' + "9" * 40 + '"}', "bad_message"),
        (decode_agent, '{"t":"screen.info","monitors":[{"index":-1,"width":1,"height":1}],"selected":1}', "bad_message"),
        (decode_agent, '{"t":"chat.send","cid":"a","text":"b"}', "bad_type"),
        (decode_viewer, '{"t":"screen.ack","seq":0}', "bad_message"),
        (decode_viewer, '{"t":"accept","request_id":"x"}', "bad_type"),
    ],
)
def test_agent_and_viewer_refusals(decode: object, data: str, code: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        decode(data)  # type: ignore[operator]
    assert exc.value.code == code


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_agent_and_viewer_decoders_never_raise_anything_else(data: str | bytes) -> None:
    for decode in (decode_agent, decode_viewer):
        try:
            decode(data)
        except ProtocolError:
            pass


# --------------------------------------------------------------------------- the monitor picker


@pytest.mark.parametrize(
    "data",
    [
        '{"t":"screen.select","monitor":-1}',
        '{"t":"screen.select","monitor":"2"}',
        '{"t":"screen.select"}',
        '{"t":"screen.select","monitor":' + str(limits.MAX_MONITORS + 1) + "}",
        '{"t":"screen.select","monitor":2.5}',
    ],
)
def test_a_malformed_monitor_choice_is_refused_by_name(data: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        decode_viewer(data)
    assert exc.value.code == "bad_message"
    assert "monitor" in str(exc.value)


def test_more_monitors_than_the_limit_are_refused() -> None:
    monitors = [{"index": 1, "width": 10, "height": 10}] * (limits.MAX_MONITORS + 1)
    with pytest.raises(ProtocolError) as exc:
        decode_agent(json.dumps({"t": "screen.info", "monitors": monitors, "selected": 1}))
    assert exc.value.code == "bad_message"
    fine = monitors[: limits.MAX_MONITORS]
    assert len(decode_agent(json.dumps({"t": "screen.info", "monitors": fine, "selected": 1})).monitors) == limits.MAX_MONITORS  # type: ignore[union-attr]

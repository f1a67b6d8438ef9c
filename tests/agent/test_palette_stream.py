"""STREAMED PALETTE rectangles (form bit 0x80): one raw-deflate stream per
agent session, a sync flush after each rectangle, restarted at every KEY
frame. Round trips of rectangle sequences through the stream and the
Python reference inflater (Hypothesis), the real ScreenEncoder into the
reference Canvas (a viewer joining late at a KEY frame included), the bytes
a shared stream saves, and malformed pieces: each a clear ProtocolError
that leaves the stream broken until the next KEY frame."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import draw_text, text_page
from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.choose import PaletteOptions
from desklink.agent.encode.encoder import ScreenEncoder
from desklink.agent.encode.palette import (
    MAX_PALETTE_COLOURS,
    STREAMED,
    Form,
    PaletteInflater,
    PaletteStream,
    decode_palette,
    encode_palette,
)
from desklink.errors import ProtocolError
from desklink.protocol.screen import Enc, Frame


def picture(w: int, h: int, colours: int, seed: int, run: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
    index = np.repeat(rng.integers(0, colours, (h, -(-w // run))), run, axis=1)[:, :w]
    return palette[index]


rectangle = st.tuples(
    st.integers(1, 70), st.integers(1, 30), st.integers(1, MAX_PALETTE_COLOURS), st.integers(0, 2**32 - 1),
    st.sampled_from([1, 3, 300]), st.booleans(),
)


@given(seq=st.lists(rectangle, min_size=1, max_size=12), level=st.integers(0, 9))
@settings(max_examples=120, deadline=None)
def test_a_sequence_of_streamed_rectangles_round_trips(seq: list[tuple[int, int, int, int, int, bool]], level: int) -> None:
    """Every piece decodes exactly on its own arrival; a KEY reset on both
    sides restarts the stream (the first rectangle is always a KEY one)."""
    stream, inflater = PaletteStream(level), PaletteInflater()
    for i, (w, h, colours, seed, run, key) in enumerate(seq):
        img = picture(w, h, colours, seed, run)
        if key or i == 0:
            stream.reset()
            inflater.reset()
        payload = encode_palette(img, 0, 0, w, h, max_colours=MAX_PALETTE_COLOURS, stream=stream)
        assert payload is not None
        assert payload[0] & STREAMED and Form(payload[0] & ~STREAMED) in (Form.PACKED, Form.RUNS)
        assert payload.endswith(b"\x00\x00\xff\xff")
        assert np.array_equal(decode_palette(payload, w, h, inflater), img[:, :, 2::-1]), i


def test_a_streamed_rectangle_needs_the_stream() -> None:
    stream = PaletteStream()
    img = picture(20, 10, 5, 1, 1)
    payload = encode_palette(img, 0, 0, 20, 10, stream=stream) or b""
    with pytest.raises(ProtocolError, match="no stream to read it from"):
        decode_palette(payload, 20, 10)
    with pytest.raises(ProtocolError, match="no key frame .or after an error. before it"):
        decode_palette(payload, 20, 10, PaletteInflater())  # never reset: nothing before it
    # Un-streamed payloads still decode, with or without an inflater.
    alone = encode_palette(img, 0, 0, 20, 10) or b""
    assert not alone[0] & STREAMED
    assert np.array_equal(decode_palette(alone, 20, 10, PaletteInflater()), img[:, :, 2::-1])


def piece(data: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)


def streamed_bad() -> dict[str, tuple[bytes, int, int, str]]:
    """Malformed streamed payloads, each the first piece after a KEY frame
    (shared with the browser test): (payload, w, h, message after the
    rectangle's name)."""
    pal2 = bytes(range(6))
    good = encode_palette(picture(16, 8, 3, 1, 1), 0, 0, 16, 8, stream=PaletteStream()) or b""
    return {
        "no flush point": (good[:-3], 16, 8, ": the streamed deflate data does not end at a flush point"),
        "corrupt": (bytes([STREAMED, 1]) + b"\xff\xff\xff\xff\x00\x00\xff\xff", 16, 8, ": the deflate data"),
        "short": (bytes([STREAMED, 1]) + piece(pal2 + b"\x00" * 15), 16, 8, ": packed indices are 15 bytes, expected 16"),
        "too long": (bytes([STREAMED | 1, 1]) + piece(pal2 + bytes(300)), 16, 8, ": the deflate data inflates past 262 bytes"),
        "bomb": (bytes([STREAMED | 1, 1]) + piece(bytes(4 << 20)), 16, 8, ": the deflate data inflates past 262 bytes"),
        "cut mid-stream": (bytes([STREAMED, 1]) + piece(pal2 + b"\x00" * 16)[:5] + b"\x00\x00\xff\xff", 16, 8, ": "),
        "unknown form": (bytes([STREAMED | 7, 1]) + piece(pal2 + bytes(16)), 16, 8, ": unknown form 7"),
        "final block": (bytes([STREAMED, 1]) + piece(pal2 + bytes(16)) + b"\x01\x00\x00\xff\xff", 16, 8,
                        ": the streamed deflate data ends its stream"),
    }


@pytest.mark.parametrize("name", list(streamed_bad()))
def test_malformed_streamed_pieces_fail_clearly_and_break_the_stream(name: str) -> None:
    payload, w, h, message = streamed_bad()[name]
    inflater = PaletteInflater()
    inflater.reset()
    with pytest.raises(ProtocolError) as info:
        decode_palette(payload, w, h, inflater)
    assert str(info.value).startswith(f"palette rectangle {w}x{h}{message}"), str(info.value)
    # Broken until the next KEY frame: a good first piece of a new stream fails now, decodes after a reset.
    img = picture(16, 8, 3, 2, 1)
    good = encode_palette(img, 0, 0, 16, 8, stream=PaletteStream()) or b""
    if name != "unknown form":  # refused before inflating: the stream is intact but the rectangle is lost
        with pytest.raises(ProtocolError, match="no key frame .or after an error. before it"):
            decode_palette(good, 16, 8, inflater)
    inflater.reset()
    assert np.array_equal(decode_palette(good, 16, 8, inflater), img[:, :, 2::-1])


def typing(base: np.ndarray, chars: int) -> list[np.ndarray]:
    """Pictures of a terminal line being typed, one character a picture."""
    out, img = [], base.copy()
    for i in range(chars):
        img = img.copy()
        draw_text(img, 16 + 9 * i, 400, [33 + i % 50])
        out.append(img)
    return out


@given(keys=st.lists(st.booleans(), min_size=6, max_size=14), join=st.integers(0, 13), seed=st.integers(0, 1000))
@settings(max_examples=15, deadline=None)
def test_encoder_frames_round_trip_and_a_late_viewer_joins_at_a_key_frame(keys: list[bool], join: int, seed: int) -> None:
    """The real ScreenEncoder over typing (tight PALETTE boxes), some frames
    KEY (request_key): the reference Canvas shows every picture exactly;
    a second Canvas that starts at a later KEY frame does too."""
    base = text_page(640, 480, seed=seed, lines=5)
    pictures = [base, *typing(base, len(keys))]
    encoder = ScreenEncoder(640, 480)
    frames: list[Frame] = []
    for seq, (img, key) in enumerate(zip(pictures, [True, *keys], strict=False), start=1):
        if key:
            encoder.request_key()
        encoder.update(img, seq * 0.05)
        frame = encoder.next_frame(seq, seq * 0.05, seq)
        assert frame is not None and frame.key == key
        frames.append(frame)
    streamed = [f.seq for f in frames for r in f.rects if r.enc is Enc.PALETTE and r.payload[0] & STREAMED]
    assert len(set(streamed)) > len(frames) // 2, streamed  # a glyph of one colour in its box goes as FILL
    canvas = Canvas()
    for img, frame in zip(pictures, frames, strict=True):
        canvas.apply(frame)
        assert np.array_equal(canvas.image[:, :, :3], img[:, :, :3]), frame.seq
    start = next((i for i in range(min(join, len(frames) - 1), len(frames)) if frames[i].key), None)
    if start is not None:
        late = Canvas()
        for img, frame in zip(pictures[start:], frames[start:], strict=True):
            late.apply(frame)
            assert np.array_equal(late.image[:, :, :3], img[:, :, :3]), frame.seq
    # A viewer that joins on a delta frame holding a streamed piece has no
    # stream: a clear error, not garbage (a delta of FILLs alone decodes).
    delta = next((i for i, f in enumerate(frames)
                  if not f.key and any(r.enc is Enc.PALETTE and r.payload[0] & STREAMED for r in f.rects)), None)
    if delta is not None:
        with pytest.raises(ProtocolError, match="no key frame"):
            Canvas().apply(frames[delta])


def test_a_shared_stream_costs_fewer_bytes_when_typing() -> None:
    """The point of the stream: typed glyphs repeat what the stream already
    holds (measured on real xterm in docs/performance.md)."""
    base = text_page(640, 480, seed=3, lines=5)
    pictures = [base, *typing(base, 40)]
    sizes = {}
    for streamed in (False, True):
        encoder = ScreenEncoder(640, 480, palette=PaletteOptions(streamed=streamed))
        total = 0
        for seq, img in enumerate(pictures, start=1):
            encoder.update(img, seq * 0.05)
            frame = encoder.next_frame(seq, seq * 0.05, seq)
            assert frame is not None
            if seq > 1:
                total += frame.payload_bytes
        sizes[streamed] = total
    assert sizes[True] < 0.9 * sizes[False], sizes

"""The lossless PALETTE coding (encoding 4): exact round trips through the
Python reference decoder for any palette and rectangle size, both forms,
the classifier, and malformed payloads raising a clear ProtocolError."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import desktop, photo, text_page
from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.palette import (
    MAX_PALETTE_COLOURS,
    MAX_RUN,
    Form,
    classify,
    decode_palette,
    encode_palette,
)
from desklink.errors import ProtocolError
from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect, decode


def picture(w: int, h: int, colours: int, seed: int, run: int) -> np.ndarray:
    """A BGRA picture of at most ``colours`` colours; ``run`` > 1 makes
    horizontal runs of that length (the RUNS form's case), 1 noise (PACKED)."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
    per_row = -(-w // run)
    index = np.repeat(rng.integers(0, colours, (h, per_row)), run, axis=1)[:, :w]
    return palette[index]


def form_of(payload: bytes) -> Form:
    return Form(payload[0])


@given(
    w=st.integers(1, 80), h=st.integers(1, 40), colours=st.integers(1, MAX_PALETTE_COLOURS),
    seed=st.integers(0, 2**32 - 1), run=st.sampled_from([1, 2, 7, 300]), ox=st.integers(0, 3), oy=st.integers(0, 3),
)
@settings(max_examples=150, deadline=None)
def test_round_trip_is_exact(w: int, h: int, colours: int, seed: int, run: int, ox: int, oy: int) -> None:
    image = picture(w + ox + 2, h + oy + 1, colours, seed, run)
    payload = encode_palette(image, ox, oy, w, h, max_colours=MAX_PALETTE_COLOURS)
    assert payload is not None
    got = decode_palette(payload, w, h)
    assert got.shape == (h, w, 3)
    assert np.array_equal(got, image[oy : oy + h, ox : ox + w, 2::-1])  # alpha ignored, RGB order
    assert payload[1] + 1 == len(np.unique(image[oy : oy + h, ox : ox + w, :3].reshape(-1, 3), axis=0))


@pytest.mark.parametrize("colours", [1, 2, 3, 4, 5, 16, 17, 256])
@pytest.mark.parametrize(("run", "form"), [(1, Form.PACKED), (600, Form.RUNS)])
def test_both_forms_at_every_index_width(colours: int, run: int, form: Form) -> None:
    """Noise packs (1, 2, 4, 8 bits an index); long runs go as RUNS, split
    at MAX_RUN pixels; odd widths leave spare bits in each packed row."""
    image = picture(301, 60, colours, colours, run)  # over TRY_BOTH_PIXELS: the form is chosen by RUNS_FACTOR
    payload = encode_palette(image, 0, 0, 301, 60, max_colours=256)
    assert payload is not None
    if colours > 1 or form is Form.RUNS:
        assert form_of(payload) is form
    assert np.array_equal(decode_palette(payload, 301, 60), image[:, :, 2::-1])
    small = encode_palette(image, 3, 5, 64, 50, max_colours=256)  # both forms tried, the smaller kept
    assert small is not None and np.array_equal(decode_palette(small, 64, 50), image[5:55, 3:67, 2::-1])


def test_one_pixel_and_a_run_longer_than_the_limit() -> None:
    one = picture(1, 1, 1, 1, 1)
    assert np.array_equal(decode_palette(encode_palette(one, 0, 0, 1, 1) or b"", 1, 1), one[:, :, 2::-1])
    flat = picture(3 * MAX_RUN + 5, 30, 1, 2, 1)
    payload = encode_palette(flat, 0, 0, flat.shape[1], 30)
    assert payload is not None and form_of(payload) is Form.RUNS
    body = zlib.decompress(payload[2:], -15)[3:]
    assert len(body) == 2 * 91  # 23190 pixels: 90 runs of 256 and one of 150
    assert set(body[91:-1]) == {MAX_RUN - 1} and body[-1] == 149
    assert np.array_equal(decode_palette(payload, flat.shape[1], 30), flat[:, :, 2::-1])


def test_too_many_colours_is_turned_away() -> None:
    image = picture(40, 40, 200, 3, 1)
    assert encode_palette(image, 0, 0, 40, 40, max_colours=64) is None
    assert encode_palette(image, 0, 0, 40, 40, max_colours=256) is not None
    big = photo(640, 480)  # the large-area path (sample, then searchsorted)
    assert encode_palette(big, 0, 0, 640, 480) is None
    with pytest.raises(ValueError, match="outside 1..256"):
        encode_palette(image, 0, 0, 40, 40, max_colours=257)
    with pytest.raises(ValueError, match="outside the 40x40 picture"):
        encode_palette(image, 30, 0, 20, 20)


def test_colours_the_sample_missed_are_added() -> None:
    """A large area whose sample misses a colour (a lone dot) still codes
    exactly: the second pass adds it."""
    image = text_page(800, 600)
    image[301, 333, :3] = (1, 2, 3)
    payload = encode_palette(image, 0, 0, 800, 600)
    assert payload is not None
    assert np.array_equal(decode_palette(payload, 800, 600), image[:, :, 2::-1])


def test_classifier_tells_text_from_photos() -> None:
    assert classify(text_page(1920, 1080), 0, 0, 1920, 1080)
    assert not classify(photo(1920, 1080), 0, 0, 1920, 1080)
    assert not classify(desktop(1920, 1080), 0, 0, 1920, 1080)  # the key frame is then split by tiles
    assert classify(photo(64, 64), 0, 0, 64, 64, max_colours=4096)


def test_canvas_applies_a_palette_rect_through_the_wire() -> None:
    image = text_page(200, 100)
    payload = encode_palette(image, 10, 20, 150, 60)
    assert payload is not None
    frame = Frame(1, 0, 200, 100, (Rect.fill(0, 0, 200, 100, (9, 9, 9)), Rect(10, 20, 150, 60, Enc.PALETTE, payload)), FLAG_KEY)
    wire = decode(frame.encode(), 1 << 20)
    assert isinstance(wire, Frame)
    canvas = Canvas()
    canvas.apply(wire)
    assert np.array_equal(canvas.image[20:80, 10:160, :3], image[20:80, 10:160, :3])
    assert (canvas.image[:, :, 3] == 255).all()


# --------------------------------------------------------------------------- malformed payloads


def raw(body: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush()


def palette_head(form: int, colours: int) -> bytes:
    return struct.pack(">BB", form, colours - 1)


def pal(colours: int) -> bytes:
    return bytes(range(3 * colours))


def malformed_cases() -> dict[str, tuple[bytes, int, int, str]]:
    """name -> (payload, w, h, the start of the error message after 'palette rectangle WxH')."""
    good = encode_palette(picture(16, 8, 3, 1, 1), 0, 0, 16, 8) or b""
    return {
        "short": (b"\x00\x00", 16, 8, ": payload of 2 bytes is too short"),
        "palette cut": (palette_head(0, 4) + raw(bytes(9)), 16, 8, ": the data ends inside its 4-colour palette"),
        "unknown form": (palette_head(7, 2) + raw(b"\x00" * 32), 16, 8, ": unknown form 7"),
        "corrupt deflate": (palette_head(0, 2) + b"\xff\xff\xff\xff", 16, 8, ": the deflate data is corrupt"),
        "cut short": (good[:-3], 16, 8, ": the deflate data is cut short"),
        "stray bytes": (good + b"\x00\x01", 16, 8, ": the deflate data is followed by 2 stray bytes"),
        "bomb": (palette_head(1, 2) + raw(b"\x00" * (4 << 20)), 16, 8, ": the deflate data inflates past 262 bytes"),
        "packed too short": (palette_head(0, 2) + raw(pal(2) + b"\x00" * 15), 16, 8, ": packed indices are 15 bytes, expected 16"),
        "packed index past palette": (palette_head(0, 3) + raw(pal(3) + b"\xff" * 32), 16, 8, ": index 3 is past the 3-colour palette"),
        "runs index past palette": (palette_head(1, 2) + raw(pal(2) + bytes([0, 2, 63, 63])), 16, 8, ": index 2 is past the 2-colour palette"),
        "runs past the rectangle": (palette_head(1, 2) + raw(pal(2) + bytes([0, 1, 255, 0])), 16, 8, ": runs cover 257 pixels, the rectangle has 128"),
        "runs short": (palette_head(1, 2) + raw(pal(2) + bytes([0, 1, 10, 10])), 16, 8, ": runs cover 22 pixels, the rectangle has 128"),
        "runs odd": (palette_head(1, 2) + raw(pal(2) + bytes([0, 1, 10])), 16, 8, ": run data of 3 bytes is not whole (index, length) pairs"),
        "runs empty": (palette_head(1, 2) + raw(pal(2) + b""), 16, 8, ": run data of 0 bytes is not whole (index, length) pairs"),
    }


@pytest.mark.parametrize("name", sorted(malformed_cases()))
def test_malformed_payloads_raise_a_clear_protocol_error(name: str) -> None:
    payload, w, h, message = malformed_cases()[name]
    with pytest.raises(ProtocolError) as info:
        decode_palette(payload, w, h)
    assert str(info.value).startswith(f"palette rectangle {w}x{h}{message}"), str(info.value)
    # The reference viewer raises the same from a whole frame, and keeps its picture size.
    canvas = Canvas()
    frame = Frame(1, 0, 32, 32, (Rect(0, 0, w, h, Enc.PALETTE, payload),), FLAG_KEY)
    with pytest.raises(ProtocolError, match="palette rectangle"):
        canvas.apply(frame)

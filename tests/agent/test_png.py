"""Lossless PNG: exact round trips, and the encoder uses it for typing-sized
changes with more colours than the palette coding takes (a tight box)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.choose import PaletteOptions
from desklink.agent.encode.encoder import ScreenEncoder
from desklink.agent.encode.png import decode_png, encode_png
from desklink.protocol import screen


@given(
    st.integers(1, 40), st.integers(1, 40), st.integers(1, 300), st.integers(0, 2**32 - 1),
)
@settings(max_examples=60)
def test_png_round_trip_is_exact(w: int, h: int, colours: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
    image = palette[rng.integers(0, colours, (h + 3, w + 5))]
    data = encode_png(image, 2, 1, w, h)
    assert (decode_png(data) == image[1 : 1 + h, 2 : 2 + w, 2::-1]).all()


def _screen() -> np.ndarray:
    img = np.full((200, 320, 4), 255, np.uint8)
    img[40:56, 10:300, :3] = 30  # a line of "text"
    return img


@pytest.mark.parametrize(("colours", "enc", "most"), [(128, screen.Enc.PALETTE, 60), (1, screen.Enc.PNG, 400)])
def test_typing_goes_as_a_small_exact_rect(colours: int, enc: screen.Enc, most: int) -> None:
    """A glyph goes as the lossless PALETTE coding; past the palette's colour
    limit (here 1, the glyph has 2), as PNG; exact either way."""
    encoder = ScreenEncoder(320, 200, palette=PaletteOptions(colours=colours))
    canvas = Canvas()
    first = _screen()
    encoder.update(first, 0.0)
    canvas.apply(screen.decode(encoder.key_frame(1, 0.0, 0).encode(), 2**24))  # type: ignore[arg-type]
    typed = first.copy()
    typed[60:72, 20:27, :3] = [[0, 0, 0], [90, 90, 90], [200, 200, 200]][1]  # one glyph
    typed[62:70, 22:25, :3] = 0
    encoder.update(typed, 1.0)
    frame = encoder.next_frame(2, 1.0, 1)
    assert frame is not None
    assert [r.enc for r in frame.rects] == [enc]
    r = frame.rects[0]
    assert (r.x, r.y, r.w, r.h) == (20, 60, 7, 12)  # the tight box, not the 64 px tile
    assert len(r.payload) < most
    canvas.apply(screen.decode(frame.encode(), 2**24))  # type: ignore[arg-type]
    assert (canvas.image[60:72, 20:27, :3] == typed[60:72, 20:27, :3]).all()

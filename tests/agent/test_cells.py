"""PALETTE's CELLS form (character cells, ``agent/encode/cells.py``): the grid
is found in text, pages of text round-trip exactly through the reference
decoder at any placement, the grid found is kept for rectangles too small
to show it, pictures that are not text never take the form, and malformed
cell grids raise a clear ProtocolError."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import LINE_H, GLYPH_W, photo, text_page
from desklink.agent.encode.cells import MAX_CELL, Grid, cell_body, find_grid, read_cells
from desklink.agent.encode.palette import STREAMED, Form, PaletteInflater, PaletteStream, decode_palette, encode_palette
from desklink.errors import ProtocolError


def form_of(payload: bytes) -> Form:
    return Form(payload[0] & ~STREAMED)


def indices(img: np.ndarray) -> tuple[np.ndarray, int]:
    """Palette indices of a BGRA picture and its commonest one."""
    flat = img.view(np.uint32)[:, :, 0] & np.uint32(0xFFFFFF)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    return inverse.reshape(flat.shape).astype(np.uint8), int(counts.argmax())


def grid_text(w: int, h: int, cw: int, ch: int, px: int, py: int, seed: int, glyphs: int = 40) -> np.ndarray:
    """Text on an exact grid: ``glyphs`` random glyphs of ``cw x ch`` (ink
    only inside a one-pixel gap on the left and top, as a font leaves one),
    cell borders at ``x ≡ px (mod cw)``, ``y ≡ py (mod ch)``."""
    rng = np.random.default_rng(seed)
    shapes = rng.random((glyphs, ch, cw)) < 0.35
    shapes[:, 0, :] = False
    shapes[:, :, 0] = False
    shapes[0] = False  # the space
    colours = np.array([[250, 250, 250, 255], [20, 20, 20, 255], [20, 20, 180, 255]], np.uint8)
    nx, ny = -(-(w + cw) // cw) + 1, -(-(h + ch) // ch) + 1
    codes = rng.integers(0, glyphs, (ny, nx))
    codes[rng.random((ny, nx)) < 0.3] = 0
    ink = shapes[codes].transpose(0, 2, 1, 3).reshape(ny * ch, nx * cw)
    ink = ink[(ch - py) % ch : (ch - py) % ch + h, (cw - px) % cw : (cw - px) % cw + w]
    tint = np.repeat(np.repeat(1 + (codes % 7 == 0), ch, axis=0), cw, axis=1)[(ch - py) % ch :, (cw - px) % cw :][:h, :w]
    return colours[np.where(ink, tint, 0)]


def test_the_grid_of_synthetic_text_is_found() -> None:
    img = text_page(800, 400, margin=16)
    index, bg = indices(img)
    grid = find_grid(index, bg)
    assert grid is not None
    assert (grid.cw, grid.ch) == (GLYPH_W, LINE_H)
    # The cells cut no glyph: at most the font's 64 glyphs and the space.
    body = cell_body(index, bg, grid, 0, 0)
    assert body is not None and struct.unpack_from(">H", body, 4)[0] <= 65


@pytest.mark.parametrize(("cw", "ch", "px", "py"), [(9, 19, 3, 2), (7, 13, 0, 0), (12, 24, 11, 23), (6, 10, 5, 1)])
def test_the_grid_and_its_phase_are_found(cw: int, ch: int, px: int, py: int) -> None:
    img = grid_text(640, 360, cw, ch, px, py, seed=cw * ch)
    index, bg = indices(img)
    assert find_grid(index, bg) == Grid(cw, ch, px, py)
    # At a screen position the phase is in screen coordinates.
    assert find_grid(index, bg, x=100, y=50) == Grid(cw, ch, (px + 100) % cw, (py + 50) % ch)


def test_no_grid_in_a_photo_or_a_flat_picture() -> None:
    index, bg = indices(photo(256, 256) & np.uint8(0xF0))
    assert find_grid(index, bg) is None
    assert find_grid(np.zeros((100, 100), np.uint8), 0) is None


def test_a_page_of_text_goes_as_cells_exactly_and_far_smaller() -> None:
    img = grid_text(1920, 1080, 9, 19, 3, 2, seed=1)
    stream, alone = PaletteStream(), None
    payload = encode_palette(img, 0, 0, 1920, 1080, stream=stream)
    assert payload is not None and form_of(payload) is Form.CELLS and payload[0] & STREAMED
    assert stream.grid == Grid(9, 19, 3, 2)
    inflater = PaletteInflater()
    inflater.reset()
    assert np.array_equal(decode_palette(payload, 1920, 1080, inflater), img[:, :, 2::-1])
    alone = encode_palette(img, 0, 0, 1920, 1080)
    assert alone is not None and form_of(alone) is Form.CELLS
    assert np.array_equal(decode_palette(alone, 1920, 1080), img[:, :, 2::-1])
    # The body is many times smaller than one index per pixel.
    index, bg = indices(img)
    body = cell_body(index, bg, Grid(9, 19, 3, 2), 0, 0)
    assert body is not None and len(body) * 20 < index.size


def test_more_than_256_distinct_cells_take_two_byte_numbers() -> None:
    img = grid_text(1920, 1080, 9, 19, 3, 2, seed=4, glyphs=600)
    index, bg = indices(img)
    body = cell_body(index, bg, Grid(9, 19, 3, 2), 0, 0)
    assert body is not None
    k = struct.unpack_from(">H", body, 4)[0]
    assert 256 < k <= 0.25 * 214 * 57
    nx, ny = -(-(6 + 1920) // 9), -(-(17 + 1080) // 19)
    assert len(body) == 6 + k * 9 * 19 + 2 * nx * ny
    payload = encode_palette(img, 0, 0, 1920, 1080, stream=PaletteStream())
    assert payload is not None and form_of(payload) is Form.CELLS
    inflater = PaletteInflater()
    inflater.reset()
    assert np.array_equal(decode_palette(payload, 1920, 1080, inflater), img[:, :, 2::-1])


def test_a_band_too_small_to_show_the_grid_uses_the_one_kept() -> None:
    """One line uncovered by a scroll: one period of rows cannot show the
    line height, but the grid the stream found on the screen before can."""
    page = grid_text(1920, 1080, 9, 19, 3, 2, seed=2)
    band = (0, 2 + 19 * 30, 1920, 19)
    x, y, w, h = band
    index, bg = indices(page[y : y + h, x : x + w])
    assert find_grid(index, bg, x, y) is None
    fresh = encode_palette(page, *band, stream=PaletteStream())
    assert fresh is not None and form_of(fresh) is not Form.CELLS
    stream = PaletteStream()
    inflater = PaletteInflater()
    inflater.reset()
    first = encode_palette(page, 0, 0, 1920, 1080, stream=stream)
    assert first is not None
    decode_palette(first, 1920, 1080, inflater)
    payload = encode_palette(page, *band, stream=stream)
    assert payload is not None and form_of(payload) is Form.CELLS
    assert np.array_equal(decode_palette(payload, w, h, inflater), page[y : y + h, x : x + w, 2::-1])
    # Its cell pictures are in the stream's window: the band costs a few hundred bytes.
    assert len(payload) < len(fresh)


def test_pictures_that_are_not_text_never_take_cells() -> None:
    rng = np.random.default_rng(3)
    noisy = np.zeros((300, 400, 4), np.uint8)
    noisy[:, :, :3] = rng.integers(0, 4, (300, 400, 1)) * 60  # 4 colours, no repetition
    noisy[:, :, 3] = 255
    for img in (noisy, photo(400, 300) & np.uint8(0xC0)):
        stream = PaletteStream()
        stream.grid = Grid(9, 19, 0, 0)  # even with a grid kept from text
        payload = encode_palette(img, 0, 0, 400, 300, stream=stream)
        assert payload is not None and form_of(payload) is not Form.CELLS


@settings(max_examples=60, deadline=None)
@given(
    cw=st.integers(5, 16), ch=st.integers(8, 24), px=st.integers(0, 15), py=st.integers(0, 23),
    x=st.integers(0, 40), y=st.integers(0, 40), w=st.integers(1, 300), h=st.integers(1, 200),
    seed=st.integers(0, 2**16),
)
def test_any_placement_round_trips_exactly(cw: int, ch: int, px: int, py: int, x: int, y: int, w: int, h: int, seed: int) -> None:
    """Whatever form the encoder takes, and on any grid it keeps, the
    rectangle decodes to exactly its pixels (CELLS included)."""
    img = grid_text(360, 260, cw, ch, px % cw, py % ch, seed=seed)
    w, h = min(w, 360 - x), min(h, 260 - y)
    stream = PaletteStream()
    stream.grid = Grid(cw, ch, px % cw, py % ch) if seed % 2 else None
    inflater = PaletteInflater()
    inflater.reset()
    payload = encode_palette(img, x, y, w, h, stream=stream)
    assert payload is not None
    assert np.array_equal(decode_palette(payload, w, h, inflater), img[y : y + h, x : x + w, 2::-1])
    alone = encode_palette(img, x, y, w, h)
    assert alone is not None
    assert np.array_equal(decode_palette(alone, w, h), img[y : y + h, x : x + w, 2::-1])


@settings(max_examples=40, deadline=None)
@given(cw=st.integers(1, MAX_CELL), ch=st.integers(1, MAX_CELL), w=st.integers(1, 70), h=st.integers(1, 70),
       ox=st.integers(0, MAX_CELL - 1), oy=st.integers(0, MAX_CELL - 1), seed=st.integers(0, 999))
def test_any_well_formed_body_reads_back(cw: int, ch: int, w: int, h: int, ox: int, oy: int, seed: int) -> None:
    """A body built by hand for any cell size and padding reads back as the
    cells it names, cropped to the rectangle."""
    ox, oy = ox % cw, oy % ch
    nx, ny = -(-(ox + w) // cw), -(-(oy + h) // ch)
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, min(nx * ny, 300) + 1))
    pics = rng.integers(0, 5, (k, ch, cw), dtype=np.uint8)
    numbers = rng.integers(0, k, nx * ny)
    body = struct.pack(">BBBBH", cw, ch, ox, oy, k) + pics.tobytes() + numbers.astype(np.uint8 if k <= 256 else ">u2").tobytes()
    got = read_cells(body, w, h, 5, "t")
    full = pics[numbers].reshape(ny, nx, ch, cw).transpose(0, 2, 1, 3).reshape(ny * ch, nx * cw)
    assert np.array_equal(got, full[oy : oy + h, ox : ox + w])


def cells_payload(body: bytes, colours: int = 2) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return struct.pack(">BB", Form.CELLS, colours - 1) + c.compress(bytes(3 * colours) + body) + c.flush()


def head(cw: int, ch: int, ox: int, oy: int, k: int) -> bytes:
    return struct.pack(">BBBBH", cw, ch, ox, oy, k)


@pytest.mark.parametrize(("body", "message"), [
    (b"\x08\x08\x00", "the cell grid's header is cut short"),
    (head(65, 8, 0, 0, 1), "cells of 65x8 are outside 1..64"),
    (head(0, 8, 0, 0, 1), "cells of 0x8 are outside 1..64"),
    (head(8, 8, 8, 0, 1), "padding 8,0 is not inside a 8x8 cell"),
    (head(8, 8, 0, 0, 0), "0 distinct cells for a grid of 2"),
    (head(8, 8, 0, 0, 3), "3 distinct cells for a grid of 2"),
    (head(8, 8, 0, 0, 1) + bytes(64) + b"\x00", "the cell grid is 71 bytes, expected 72"),
    (head(8, 8, 0, 0, 1) + bytes(63) + b"\x02" + b"\x00\x00", "index 2 is past the 2-colour palette"),
    (head(8, 8, 0, 0, 1) + bytes(64) + b"\x00\x01", "cell number 1 is past its 1 cells"),
])
def test_malformed_cell_grids_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^palette rectangle 16x8: {message}$"):
        decode_palette(cells_payload(body), 16, 8)


def test_a_cells_bomb_stops_at_its_cap() -> None:
    """The cap is what the largest cells a 16x8 rectangle may have can need."""
    with pytest.raises(ProtocolError, match="inflates past 16839 bytes"):
        decode_palette(cells_payload(bytes(4 << 20)), 16, 8)

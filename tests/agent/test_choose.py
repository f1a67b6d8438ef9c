"""Choosing each rectangle's coding (agent/encode/choose.py): flat -> FILL,
few colours -> PALETTE (exact), photo -> JPEG; an area mixing text and
pictures is split by tiles into rectangles that tile it exactly, the text
ones exact."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ._screens import blank, draw_text, photo, text_page
from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.choose import MAX_SPLIT_RECTS, PaletteOptions, encode_area, encode_exact
from desklink.protocol.screen import FLAG_KEY, Enc, Frame

TILE = 64


def paint(rects: list, w: int, h: int) -> np.ndarray:  # type: ignore[type-arg]
    canvas = Canvas()
    canvas.apply(Frame(1, 0, w, h, tuple(rects), FLAG_KEY))
    return canvas.image


@given(
    cols=st.integers(1, 7), rows=st.integers(1, 5), edge_w=st.integers(0, TILE - 1), edge_h=st.integers(0, TILE - 1),
    layout=st.integers(0, 2**35 - 1), seed=st.integers(0, 1000),
)
@settings(max_examples=40, deadline=None)
def test_a_mixed_area_is_tiled_exactly_and_its_text_is_exact(cols: int, rows: int, edge_w: int, edge_h: int,
                                                             layout: int, seed: int) -> None:
    w, h = cols * TILE + edge_w, rows * TILE + edge_h
    img = text_page(w, h, seed=seed)
    pic = photo(w, h, seed=seed)
    is_photo = np.zeros((-(-h // TILE), -(-w // TILE)), bool)
    for i in range(is_photo.size):
        if layout >> (i % 35) & 1:
            ty, tx = divmod(i, is_photo.shape[1])
            is_photo[ty, tx] = True
            img[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE] = pic[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
    coded = encode_area(img, (0, 0, w, h), tile=TILE, quality=90, subsampling="444", opts=PaletteOptions())
    assert 1 <= len(coded) <= MAX_SPLIT_RECTS
    cover = np.zeros((h, w), np.int32)
    for c in coded:
        r = c.rect
        cover[r.y : r.y + r.h, r.x : r.x + r.w] += 1
        assert c.exact == (r.enc in (Enc.PALETTE, Enc.FILL))
    assert (cover == 1).all()  # the pieces tile the area, no overlap
    shown = paint([c.rect for c in coded], w, h)
    for c in coded:
        r = c.rect
        if c.exact:
            assert np.array_equal(shown[r.y : r.y + r.h, r.x : r.x + r.w, :3], img[r.y : r.y + r.h, r.x : r.x + r.w, :3])
    if not is_photo.any():
        assert [c.rect.enc for c in coded] == [Enc.PALETTE]  # text alone: one exact rectangle


def test_classes_and_the_palette_switch() -> None:
    flat = blank(200, 100)
    text = text_page(200, 100)
    pic = photo(200, 100)
    opts = PaletteOptions()
    assert [c.rect.enc for c in encode_area(flat, (0, 0, 200, 100), tile=TILE, quality=60, subsampling="420", opts=opts)] == [Enc.FILL]
    assert [c.rect.enc for c in encode_area(text, (0, 0, 200, 100), tile=TILE, quality=60, subsampling="420", opts=opts)] == [Enc.PALETTE]
    assert [c.rect.enc for c in encode_area(pic, (0, 0, 200, 100), tile=TILE, quality=60, subsampling="420", opts=opts)] == [Enc.JPEG]
    off = PaletteOptions(colours=0)
    assert [c.rect.enc for c in encode_area(text, (0, 0, 200, 100), tile=TILE, quality=60, subsampling="420", opts=off)] == [Enc.JPEG]
    glyph = blank(20, 20)
    draw_text(glyph, 2, 2, "a")
    assert encode_exact(glyph, (0, 0, 20, 20), opts).enc is Enc.PALETTE
    assert encode_exact(glyph, (0, 0, 20, 20), off).enc is Enc.PNG
    assert encode_exact(pic, (0, 0, 40, 40), opts).enc is Enc.PNG  # past 256 colours, still lossless


def test_options_are_checked() -> None:
    for bad in ({"colours": 257}, {"colours": -1}, {"level": 10}):
        try:
            PaletteOptions(**bad)  # type: ignore[arg-type]
        except ValueError as exc:
            assert "outside" in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_past_the_split_limit_the_area_is_one_jpeg() -> None:
    """A checkerboard of text and photo tiles would take more than
    MAX_SPLIT_RECTS rectangles: the area goes as one JPEG instead."""
    n = 9  # 81 tiles: 41 text, 40 photo, none mergeable
    img = text_page(n * TILE, n * TILE)
    pic = photo(n * TILE, n * TILE)
    for ty in range(n):
        for tx in range(n):
            if (tx + ty) % 2:
                img[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE] = pic[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
    coded = encode_area(img, (0, 0, n * TILE, n * TILE), tile=TILE, quality=90, subsampling="444", opts=PaletteOptions())
    assert [c.rect.enc for c in coded] == [Enc.JPEG]
    # Within the limit (the top-left 4x4 tiles: 16 pieces) it is split, text exact.
    coded = encode_area(img, (0, 0, 4 * TILE, 4 * TILE), tile=TILE, quality=90, subsampling="444", opts=PaletteOptions())
    assert len(coded) == 16 and sum(c.rect.enc is Enc.PALETTE for c in coded) == 8

"""Choose the coding of an area: FILL, lossless PALETTE, JPEG (or PNG).

The cheap classifier (issue 16) runs per rectangle, in this order:

1. *flat* (one colour): FILL, exact;
2. *palette-like* (at most ``palette_colours`` colours on a sample of the
   area, confirmed on every pixel): PALETTE, exact, so its tiles never need
   a refinement pass;
3. *photo-like*: JPEG at the quality asked for (lossy at motion quality,
   refined later by the encoder).

A large area that fails step 2 as a whole (a terminal next to a photo, a
desktop key frame) is looked at tile by tile: its palette-like tiles are
merged into rectangles (:func:`~desklink.agent.encode.rects.merge_rects`)
and sent as PALETTE, the rest as JPEG. So text stays exact beside a picture.

:func:`encode_exact` is the small-change path (typing): the tight box of
changed pixels, FILL, else PALETTE, else PNG (many colours, still lossless).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.jpeg import Subsampling, encode_jpeg, flat_color
from desklink.agent.encode.palette import MAX_COLOURS, ZLIB_LEVEL, PaletteStream, classify, encode_palette
from desklink.agent.encode.png import encode_png
from desklink.agent.encode.rects import Box, merge_rects
from desklink.protocol.screen import Enc, Rect

__all__ = ["DOMINANT_SHARE", "MAX_SPLIT_RECTS", "Coded", "PaletteOptions", "encode_area", "encode_exact"]

#: Most rectangles one area is split into (text tiles beside picture tiles);
#: past it the area is one JPEG (each rectangle costs the browser ~0.7 ms).
MAX_SPLIT_RECTS = 32
#: A tile is palette-like when, besides having few colours, its commonest
#: colour (the background of text) covers this share of it: a smooth
#: gradient also has few colours per tile but no dominant one, and as
#: PALETTE it would cost more than as JPEG.
DOMINANT_SHARE = 0.3
#: Pixels sampled per tile when an area is split tile by tile (every
#: second row and column of a 64-pixel tile).
_TILE_STEP = 2


@dataclass(frozen=True, slots=True)
class PaletteOptions:
    """``colours``: most colours an area may have to be palette-coded (0 turns
    the palette coding off: JPEG and PNG as before); ``level``: zlib effort;
    ``streamed``: one deflate stream per session (the encoder's
    :class:`~desklink.agent.encode.palette.PaletteStream`), else each
    rectangle deflated alone."""

    colours: int = MAX_COLOURS
    level: int = ZLIB_LEVEL
    streamed: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.colours <= 256:
            raise ValueError(f"palette colours {self.colours} is outside 0..256")
        if not 0 <= self.level <= 9:
            raise ValueError(f"palette zlib level {self.level} is outside 0..9")


@dataclass(frozen=True, slots=True)
class Coded:
    """One coded rectangle and whether the viewer gets its pixels exactly."""

    rect: Rect
    exact: bool


def _palette(image: npt.NDArray[np.uint8], box: Box, opts: PaletteOptions, stream: PaletteStream | None) -> Rect | None:
    x, y, w, h = box
    if not opts.colours or not classify(image, x, y, w, h, opts.colours):
        return None
    payload = encode_palette(image, x, y, w, h, max_colours=opts.colours, level=opts.level, stream=stream)
    return None if payload is None else Rect(x, y, w, h, Enc.PALETTE, payload)


def _single(image: npt.NDArray[np.uint8], box: Box, quality: int, subsampling: Subsampling,
            opts: PaletteOptions, stream: PaletteStream | None, *, try_palette: bool = True) -> Coded:
    x, y, w, h = box
    rgb = flat_color(image, x, y, w, h)
    if rgb is not None:
        return Coded(Rect.fill(x, y, w, h, rgb), True)
    rect = _palette(image, box, opts, stream) if try_palette else None
    if rect is not None:
        return Coded(rect, True)
    return Coded(Rect(x, y, w, h, Enc.JPEG, encode_jpeg(image, x, y, w, h, quality=quality, subsampling=subsampling)), False)


def _tile_stats(image: npt.NDArray[np.uint8], box: Box, tile: int, stride: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], int]:
    """``(distinct colours, longest run of one colour, pixels sampled)`` per
    tile of ``box`` (flattened), from every ``stride``-th pixel of each row
    and column. Vectorised: every tile's sample sorted at once (a Python
    loop over 510 tiles with ``np.unique`` was 4x slower). Partial tiles at
    the screen's edge are padded with mirror images of themselves: no new
    colours, and each colour keeps about its share."""
    x, y, w, h = box
    rows, cols = -(-h // tile), -(-w // tile)
    step = tile // stride
    region = np.ascontiguousarray(image[y : y + h : stride, x : x + w : stride]).view(np.uint32)[:, :, 0]
    region = region & np.uint32(0x00FFFFFF)
    pad_h, pad_w = rows * step - region.shape[0], cols * step - region.shape[1]
    if pad_h or pad_w:
        region = np.pad(region, ((0, pad_h), (0, pad_w)), mode="symmetric")
    per = step * step
    tiles = np.sort(region.reshape(rows, step, cols, step).transpose(0, 2, 1, 3).reshape(rows * cols, per), axis=1)
    change = np.ones((rows * cols, per), np.bool_)
    change[:, 1:] = tiles[:, 1:] != tiles[:, :-1]
    distinct = change.sum(axis=1)
    starts = np.flatnonzero(change.reshape(-1))
    lengths = np.diff(np.concatenate((starts, [change.size])))
    first = np.concatenate(([0], np.cumsum(distinct)[:-1]))
    return distinct, np.maximum.reduceat(lengths, first), per


def _palette_tiles(image: npt.NDArray[np.uint8], box: Box, tile: int, colours: int) -> npt.NDArray[np.bool_]:
    """Per tile of ``box`` (tile-aligned), whether a sample of it has at most
    ``colours`` colours, one of them covering :data:`DOMINANT_SHARE` of it.
    A coarse look first (64 pixels a tile): a photo or video has no
    dominant colour anywhere and is turned away in about a millisecond."""
    rows, cols = -(-box[3] // tile), -(-box[2] // tile)
    _, longest, per = _tile_stats(image, box, tile, _TILE_STEP * 4)
    if not (longest >= DOMINANT_SHARE * per).any():
        return np.zeros((rows, cols), np.bool_)
    distinct, longest, per = _tile_stats(image, box, tile, _TILE_STEP)
    palette_like: npt.NDArray[np.bool_] = (distinct <= colours) & (longest >= DOMINANT_SHARE * per)
    return palette_like.reshape(rows, cols)


def encode_area(image: npt.NDArray[np.uint8], box: Box, *, tile: int, quality: int, subsampling: Subsampling,
                opts: PaletteOptions, stream: PaletteStream | None = None) -> list[Coded]:
    """The rectangles coding ``box`` (tile-aligned, at most ``tile``-sized
    edges at the screen's border) of a BGRA picture: one, or several when
    the area mixes text and pictures (see the module docstring). They
    cover ``box`` exactly and do not overlap."""
    x, y, w, h = box
    rgb = flat_color(image, x, y, w, h)
    if rgb is not None:
        return [Coded(Rect.fill(x, y, w, h, rgb), True)]
    rect = _palette(image, box, opts, stream)
    if rect is not None:
        return [Coded(rect, True)]
    if opts.colours and (w > tile or h > tile):
        split = _split(image, box, tile, quality, subsampling, opts, stream)
        if split is not None:
            return split
    return [_single(image, box, quality, subsampling, opts, stream, try_palette=False)]


def _split(image: npt.NDArray[np.uint8], box: Box, tile: int, quality: int, subsampling: Subsampling,
           opts: PaletteOptions, stream: PaletteStream | None) -> list[Coded] | None:
    """``box`` as palette-like rectangles and JPEG ones, or ``None`` when no
    tile is palette-like or it takes more than :data:`MAX_SPLIT_RECTS`. A
    merged palette rectangle with too many colours in all (tiles straddling
    a window's edge each pass on their own) is tried one row of tiles at a
    time; rows that still fail go as JPEG."""
    x, y, w, h = box
    mask = _palette_tiles(image, box, tile, opts.colours)
    if not mask.any():
        return None
    # No coarsening (it would let the two kinds overlap).
    pieces = [(b, True) for b in merge_rects(mask, tile, w, h, max_gap=0, max_waste=0, max_rects=mask.size)]
    pieces += [(b, False) for b in merge_rects(~mask, tile, w, h, max_gap=0, max_waste=0, max_rects=mask.size)]
    if len(pieces) > MAX_SPLIT_RECTS:
        return None
    out: list[Coded] = []
    for (bx, by, bw, bh), palette in pieces:
        sub = (x + bx, y + by, bw, bh)
        if not palette:
            out.append(_single(image, sub, quality, subsampling, opts, stream, try_palette=False))
            continue
        coded = _single(image, sub, quality, subsampling, opts, stream)
        if coded.exact or bh <= tile:
            out.append(coded)
            continue
        for row in range(0, bh, tile):
            out.append(_single(image, (sub[0], sub[1] + row, bw, min(tile, bh - row)), quality, subsampling, opts, stream))
    return out if len(out) <= MAX_SPLIT_RECTS else None


def encode_exact(image: npt.NDArray[np.uint8], box: Box, opts: PaletteOptions,
                 stream: PaletteStream | None = None) -> Rect:
    """FILL when flat, else PALETTE, else PNG: either way the viewer gets
    exact pixels."""
    x, y, w, h = box
    rgb = flat_color(image, x, y, w, h)
    if rgb is not None:
        return Rect.fill(x, y, w, h, rgb)
    if opts.colours:
        payload = encode_palette(image, x, y, w, h, max_colours=opts.colours, level=opts.level, stream=stream)
        if payload is not None:
            return Rect(x, y, w, h, Enc.PALETTE, payload)
    return Rect(x, y, w, h, Enc.PNG, encode_png(image, x, y, w, h))

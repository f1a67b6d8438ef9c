"""Lossless palette coding (rectangle encoding 4, ``Enc.PALETTE``) for areas of
few colours: text, window chrome, UI.

Why: text changes in place are what support work mostly shows. JPEG blurs
glyphs (so it needs a refinement pass) and PNG carries ~60 bytes of headers
per small rectangle; a palette of the rectangle's colours plus the index of
each pixel, deflated, is exact and smaller than both (figures in
docs/performance.md). It is the idea of VNC's ZRLE packed-palette and
palette-RLE sub-encodings and of Tight's palette filter, written afresh:

* the colours are counted first on a sample (:func:`classify`), so a photo
  is turned away in a fraction of a millisecond; then the runs of equal
  pixels are found and only their colours sorted (text is mostly
  background: 10-20x fewer runs than pixels);
* two forms of the indices: ``PACKED`` rows of 1, 2, 4 or 8 bits an index,
  and ``RUNS`` of (index, length) pairs, kept as two separate arrays (all
  the indices, then all the lengths). Small rectangles are deflated both
  ways and the smaller kept; large ones take RUNS when its raw size times
  :data:`RUNS_FACTOR` is below PACKED's raw size (measured on xterm text:
  the runs of a terminal's background win on wide areas, packed indices on
  glyph-sized ones, where deflate finds the repeated glyph rows);
* the palette is deflated with the indices (anti-aliased text has up to
  256 grey-ish shades: 768 bytes raw, a few hundred deflated);
* raw deflate (no zlib header or checksum: 6 bytes saved per rectangle;
  the browser's ``DecompressionStream('deflate-raw')`` reads it natively);
* text on a fixed grid (terminals, pagers, editors) as character cells
  (``CELLS``, :mod:`desklink.agent.encode.cells`): a 1080p page of text is
  ~60 distinct cell pictures and a cell number per cell, about 25x smaller
  than packed indices. Tried on rectangles of at least
  :data:`CELLS_MIN_PIXELS`; the grid found is kept by the session's stream
  for the next rectangles (one uncovered line is too small to show it).

*Streamed* rectangles (form bit :data:`STREAMED`, the encoder's default):
the deflate data is the next piece of one raw-deflate stream per agent
session (:class:`PaletteStream`, as ZRLE keeps one zlib stream), ended by a
``Z_SYNC_FLUSH`` so each piece inflates completely on its own arrival. The
stream starts afresh at the first rectangle of every KEY frame, where
viewers join and recordings seek; the decoder (:class:`PaletteInflater`,
one per canvas) resets there too. A shared stream saves 47 % on
glyph-sized typing rectangles, 33 % on 64-pixel tiles, 15 % on full-width
pager bands (docs/performance.md). The browser decodes it with the vendored
fflate inflater (``DecompressionStream`` cannot tell when a piece's output
is complete). After any error the inflater is broken until the next KEY
frame (the viewer asks for one). Rectangles without the bit are deflated
alone, as before, and still decode.

Wire form (all integers big-endian)::

    payload := u8 form | u8 ncolours-1 | deflate_raw(rgb[ncolours * 3] | body)
    form 0 PACKED : body is h rows of ceil(w * bits / 8) bytes, indices
                    most significant bits first, bits = 1, 2, 4 or 8 for
                    ncolours <= 2, 4, 16, 256 (the row's spare bits are 0)
    form 1 RUNS   : body is idx[k] | len_minus_1[k] (k = len(body) / 2 runs
                    in reading order over the whole rectangle, each 1..256
                    pixels long; the lengths add up to exactly w * h)
    form 2 CELLS  : body is a grid of character cells: the distinct cell
                    pictures (8-bit indices) and each cell's number
                    (:mod:`desklink.agent.encode.cells` has the layout)
    form | 0x80   : STREAMED: the deflate data is the next piece of the
                    session's stream (not a whole deflate stream), ending
                    with a sync flush (00 00 ff ff); it must inflate to
                    exactly the rectangle's palette and body

The decoder (:func:`decode_palette`) allocates only what ``w x h`` allows,
inflates at most that much (a deflate bomb stops at the cap) and checks every
index against the palette: malformed input raises ``ProtocolError``.
"""

from __future__ import annotations

import struct
import zlib
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.cells import Grid, cell_body, cells_cap, find_grid, read_cells
from desklink.agent.encode.tiles import as_u32
from desklink.errors import ProtocolError
from desklink.protocol.screen import Enc, Rect

__all__ = [
    "CELLS_MIN_PIXELS",
    "MAX_COLOURS",
    "MAX_PALETTE_COLOURS",
    "MAX_RUN",
    "RUNS_FACTOR",
    "SAMPLE_PIXELS",
    "TRY_BOTH_PIXELS",
    "ZLIB_LEVEL",
    "STREAMED",
    "Form",
    "PaletteInflater",
    "PaletteStream",
    "classify",
    "decode_palette",
    "encode_palette",
    "is_cells",
]

#: The wire's limit: the colour count travels as one byte (ncolours - 1).
MAX_PALETTE_COLOURS = 256
#: Default most colours an area may have to be palette-coded (the encoder's
#: ``PaletteOptions.colours`` setting). An xterm with anti-aliased DejaVu
#: Sans Mono shows up to 230 colours in one 64-pixel tile and 256 on a
#: 1080p screen; photos have thousands.
MAX_COLOURS = 256
#: Pixels looked at by :func:`classify` before the whole area is mapped.
SAMPLE_PIXELS = 4096
#: zlib effort: level 1 is 2-3x faster than 6 on a 1080p key frame for
#: about 10 % more bytes (docs/performance.md); the encoder's
#: ``palette_level`` setting.
ZLIB_LEVEL = 6
#: Longest run of the RUNS form (its length travels as one byte, minus one).
MAX_RUN = 256
#: Rectangles of at most this many pixels are deflated in both forms and
#: the smaller kept (well under a millisecond); larger ones choose by
#: :data:`RUNS_FACTOR`.
TRY_BOTH_PIXELS = 128 * 128
#: A large rectangle takes RUNS when its raw size times this is below
#: PACKED's raw size.
RUNS_FACTOR = 4
#: Rectangles of at least this many pixels are looked at as character
#: cells (16 cells of 9 x 19; smaller ones are typing, cheaper as they are).
CELLS_MIN_PIXELS = 16 * 9 * 19
#: CELLS is taken when its raw body times this is below the raw body of the
#: better of PACKED and RUNS (text: 10-100x below).
CELLS_FACTOR = 2

_HEAD = struct.Struct(">BB")
_RGB_MASK = np.uint32(0x00FFFFFF)


#: Form bit: the deflate data is the next piece of the session's stream.
STREAMED = 0x80
_SYNC_MARK = b"\x00\x00\xff\xff"


class PaletteStream:
    """The encoder's one raw-deflate stream per session. :meth:`reset` at
    every KEY frame (before its first rectangle)."""

    def __init__(self, level: int = ZLIB_LEVEL) -> None:
        self.level = level
        self._z = zlib.compressobj(level, zlib.DEFLATED, -15)
        #: The character grid last found on the screen (CELLS form).
        self.grid: Grid | None = None

    def reset(self) -> None:
        self._z = zlib.compressobj(self.level, zlib.DEFLATED, -15)

    def trial(self, data: bytes) -> tuple[bytes, "zlib._Compress"]:
        """The piece ``data`` would make, and the stream after it (not kept)."""
        z = self._z.copy()
        return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH), z

    def keep(self, z: "zlib._Compress") -> None:
        """Adopt a stream returned by :meth:`trial` (its piece is sent)."""
        self._z = z

    def deflate(self, data: bytes) -> bytes:
        piece, self._z = self.trial(data)
        return piece


class PaletteInflater:
    """The decoder's side of :class:`PaletteStream`, one per canvas. Broken
    (``None``) until a KEY frame and after any error."""

    def __init__(self) -> None:
        self._d: "zlib._Decompress | None" = None

    def reset(self) -> None:
        """A KEY frame starts: a new stream."""
        self._d = zlib.decompressobj(-15)

    def fail(self) -> None:
        """A rectangle failed: broken until the next :meth:`reset`."""
        self._d = None

    def inflate(self, piece: bytes, cap: int, what: str) -> bytes:
        """The output of the next ``piece``: at most ``cap`` bytes, all of it
        (a piece ends at a sync flush). Any error breaks the stream."""
        d, self._d = self._d, None
        if d is None:
            raise ProtocolError(f"{what}: a streamed rectangle with no key frame (or after an error) before it")
        if not piece.endswith(_SYNC_MARK):
            raise ProtocolError(f"{what}: the streamed deflate data does not end at a flush point")
        out = _decompress(d, piece, cap, what)
        if d.eof:
            raise ProtocolError(f"{what}: the streamed deflate data ends its stream")
        self._d = d
        return out


class Form(IntEnum):
    PACKED = 0
    RUNS = 1
    CELLS = 2


def is_cells(rect: Rect) -> bool:
    """Whether a rectangle is PALETTE in the CELLS form (text on a grid)."""
    return rect.enc is Enc.PALETTE and len(rect.payload) > 0 and rect.payload[0] & ~STREAMED == Form.CELLS


def _bits(ncolours: int) -> int:
    return 1 if ncolours <= 2 else 2 if ncolours <= 4 else 4 if ncolours <= 16 else 8


def _stride(w: int, bits: int) -> int:
    return (w * bits + 7) // 8


def classify(image: npt.NDArray[np.uint8], x: int, y: int, w: int, h: int, max_colours: int = MAX_COLOURS) -> bool:
    """Whether the area looks palette-like: at most ``max_colours`` distinct
    colours among :data:`SAMPLE_PIXELS` pixels spread over it (whole rows,
    evenly spaced, so text lines and edges are in the sample). Cheap: the
    decision :func:`encode_palette` confirms on every pixel."""
    region = as_u32(image)[y : y + h, x : x + w]
    rows = max(1, min(h, SAMPLE_PIXELS // max(w, 1)))
    step = max(1, h // rows)
    sample = region[::step][:rows]
    if sample.size > SAMPLE_PIXELS:
        sample = sample.reshape(-1)[:: -(-sample.size // SAMPLE_PIXELS)]
    return len(np.unique(sample & _RGB_MASK)) <= max_colours


def _colour_runs(flat: npt.NDArray[np.uint32], max_colours: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8], npt.NDArray[np.int64]] | None:
    """``(sorted colours, palette index per run, length per run)`` of the
    runs of equal pixels, or ``None`` past ``max_colours``. Runs first, then
    the palette of the runs' colours: text is mostly background, so there
    are 10-20x fewer runs than pixels to sort (a 1080p xterm: 140 000 runs
    for 2 million pixels)."""
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], starts))
    colours, index = np.unique(flat[starts], return_inverse=True)
    if len(colours) > max_colours:
        return None
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    return colours, index.reshape(-1).astype(np.uint8), lengths


def _packed(index: npt.NDArray[np.uint8], w: int, h: int, bits: int) -> bytes:
    rows = index.reshape(h, w)
    if bits == 8:
        return rows.tobytes()
    if bits == 1:
        return np.packbits(rows, axis=1).tobytes()
    per = 8 // bits
    padded = np.zeros((h, _stride(w, bits) * per), np.uint8)
    padded[:, :w] = rows
    groups = padded.reshape(h, -1, per)
    out = np.zeros(groups.shape[:2], np.uint8)
    for i in range(per):
        out |= groups[:, :, i] << np.uint8(8 - bits * (i + 1))
    return out.tobytes()


def _runs_body(values: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> bytes:
    """Split runs longer than :data:`MAX_RUN`; indices first, then lengths-1."""
    pieces = (lengths + MAX_RUN - 1) // MAX_RUN
    idx = np.repeat(values, pieces)
    out = np.full(idx.size, MAX_RUN - 1, np.uint8)
    last = np.cumsum(pieces) - 1
    out[last] = (lengths - MAX_RUN * (pieces - 1) - 1).astype(np.uint8)
    return idx.tobytes() + out.tobytes()


def encode_palette(image: npt.NDArray[np.uint8], x: int, y: int, w: int, h: int, *,
                   max_colours: int = MAX_COLOURS, level: int = ZLIB_LEVEL,
                   stream: PaletteStream | None = None) -> bytes | None:
    """The PALETTE payload of the ``w x h`` area at ``(x, y)`` of a BGRA
    picture, or ``None`` when it has more than ``max_colours`` colours (the
    fourth byte is ignored). With ``stream``, a STREAMED piece of it (the
    stream advances only when a payload is returned; ``level`` is then the
    stream's)."""
    if not 1 <= max_colours <= MAX_PALETTE_COLOURS:
        raise ValueError(f"max_colours {max_colours} is outside 1..{MAX_PALETTE_COLOURS}")
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > image.shape[1] or y + h > image.shape[0]:
        raise ValueError(f"area {w}x{h}+{x}+{y} is outside the {image.shape[1]}x{image.shape[0]} picture")
    flat = (as_u32(image)[y : y + h, x : x + w] & _RGB_MASK).reshape(-1)
    found = _colour_runs(flat, max_colours)
    if found is None:
        return None
    colours, values, lengths = found
    n = len(colours)
    rgb = np.empty((n, 3), np.uint8)
    rgb[:, 0] = (colours >> 16) & 255
    rgb[:, 1] = (colours >> 8) & 255
    rgb[:, 2] = colours & 255
    bits = _bits(n)
    head = rgb.tobytes()
    cells = _cells(values, lengths, w, h, x, y, stream)
    if cells is not None and CELLS_FACTOR * len(cells) < min(h * _stride(w, bits), 2 * _run_count(lengths)):
        # A clear win (a page of text): the other forms are not even built.
        data = stream.deflate(head + cells) if stream is not None else _deflate(head + cells, level)
        return _HEAD.pack(Form.CELLS | (STREAMED if stream is not None else 0), n - 1) + data
    if stream is not None:
        form, data, z = _streamed(stream, head, values, lengths, w, h, bits)
        if cells is not None:
            # Close on raw bytes (a band of a few lines), but the cells' pictures
            # are mostly in the stream's window already: the deflated sizes decide.
            cdata, cz = stream.trial(head + cells)
            if len(cdata) < len(data):
                form, data, z = Form.CELLS, cdata, cz
        stream.keep(z)
        return _HEAD.pack(form | STREAMED, n - 1) + data
    if cells is not None:
        alone = _deflate(head + cells, level)
    if w * h <= TRY_BOTH_PIXELS:
        runs = _deflate(head + _runs_body(values, lengths), level)
        packed = _deflate(head + _packed(np.repeat(values, lengths), w, h, bits), level)
        form, data = (Form.RUNS, runs) if len(runs) < len(packed) else (Form.PACKED, packed)
    elif RUNS_FACTOR * 2 * _run_count(lengths) < h * _stride(w, bits):
        form, data = Form.RUNS, _deflate(head + _runs_body(values, lengths), level)
    else:
        form, data = Form.PACKED, _deflate(head + _packed(np.repeat(values, lengths), w, h, bits), level)
    if cells is not None and len(alone) < len(data):
        form, data = Form.CELLS, alone
    return _HEAD.pack(form, n - 1) + data


def _run_count(lengths: npt.NDArray[np.int64]) -> int:
    """Runs of the RUNS form (those past :data:`MAX_RUN` split)."""
    return int(((lengths + MAX_RUN - 1) // MAX_RUN).sum())


def _cells(values: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64], w: int, h: int, x: int, y: int,
           stream: PaletteStream | None) -> bytes | None:
    """The CELLS body of the area, or ``None`` when it shows no character
    grid that pays. The stream's grid is tried first; a grid found afresh
    replaces it."""
    if w * h < CELLS_MIN_PIXELS:
        return None
    index = np.repeat(values, lengths).reshape(h, w)
    background = int(np.bincount(values, weights=lengths).argmax())
    known = stream.grid if stream is not None else None
    if known is not None:
        body = cell_body(index, background, known, x, y)
        if body is not None:
            return body
    grid = find_grid(index, background, x, y)
    if grid is None or grid == known:
        return None
    body = cell_body(index, background, grid, x, y)
    if body is not None and stream is not None:
        stream.grid = grid
    return body


def _streamed(stream: PaletteStream, head: bytes, values: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64],
              w: int, h: int, bits: int) -> tuple[Form, bytes, "zlib._Compress"]:
    """As :func:`encode_palette`'s choice of PACKED or RUNS, on copies of
    the stream: ``(form, piece, the stream after it)`` (not kept)."""
    runs_raw = head + _runs_body(values, lengths)
    if w * h <= TRY_BOTH_PIXELS:
        runs, rz = stream.trial(runs_raw)
        packed, pz = stream.trial(head + _packed(np.repeat(values, lengths), w, h, bits))
        return (Form.RUNS, runs, rz) if len(runs) < len(packed) else (Form.PACKED, packed, pz)
    if RUNS_FACTOR * (len(runs_raw) - len(head)) < h * _stride(w, bits):
        return (Form.RUNS, *stream.trial(runs_raw))
    return (Form.PACKED, *stream.trial(head + _packed(np.repeat(values, lengths), w, h, bits)))


def _deflate(data: bytes, level: int) -> bytes:
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflate.compress(data) + deflate.flush()


def _decompress(d: "zlib._Decompress", data: bytes, cap: int, what: str) -> bytes:
    """What ``d`` gives for ``data``: at most ``cap`` bytes (a deflate bomb
    stops there), else ``ProtocolError``."""
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as exc:
        raise ProtocolError(f"{what}: the deflate data is corrupt ({exc})") from None
    if len(out) > cap or d.unconsumed_tail:
        raise ProtocolError(f"{what}: the deflate data inflates past {cap} bytes")
    return out


def _inflate(data: bytes, cap: int, what: str) -> bytes:
    """Raw-inflate ``data`` to at most ``cap`` bytes; the stream must end
    exactly at the end of ``data``."""
    d = zlib.decompressobj(-15)
    out = _decompress(d, data, cap, what)
    if not d.eof:
        raise ProtocolError(f"{what}: the deflate data is cut short")
    if d.unused_data:
        raise ProtocolError(f"{what}: the deflate data is followed by {len(d.unused_data)} stray bytes")
    return out


def decode_palette(payload: bytes, w: int, h: int, inflater: PaletteInflater | None = None) -> npt.NDArray[np.uint8]:
    """The ``h x w x 3`` RGB pixels of a PALETTE payload for a ``w x h``
    rectangle; a STREAMED one needs the canvas's ``inflater``. Raises
    ``ProtocolError`` for anything malformed (and then the inflater is
    broken until its next reset)."""
    try:
        return _decode(payload, w, h, inflater)
    except ProtocolError:
        if inflater is not None and len(payload) > 0 and payload[0] & STREAMED:
            inflater.fail()
        raise


def _decode(payload: bytes, w: int, h: int, inflater: PaletteInflater | None) -> npt.NDArray[np.uint8]:
    what = f"palette rectangle {w}x{h}"
    if w <= 0 or h <= 0:
        raise ProtocolError(f"{what} is empty")
    if len(payload) < _HEAD.size + 1:
        raise ProtocolError(f"{what}: payload of {len(payload)} bytes is too short")
    form, n1 = _HEAD.unpack_from(payload, 0)
    streamed = bool(form & STREAMED)
    form &= ~STREAMED
    n = n1 + 1
    pixels = w * h
    if form == Form.PACKED:
        bits = _bits(n)
        stride = _stride(w, bits)
        cap = h * stride
    elif form == Form.RUNS:
        cap = 2 * pixels
    elif form == Form.CELLS:
        cap = cells_cap(w, h)
    else:
        raise ProtocolError(f"{what}: unknown form {form}")
    if not streamed:
        data = _inflate(payload[_HEAD.size :], 3 * n + cap, what)
    elif inflater is None:
        raise ProtocolError(f"{what}: a streamed rectangle, and no stream to read it from")
    else:
        data = inflater.inflate(bytes(payload[_HEAD.size :]), 3 * n + cap, what)
    if len(data) < 3 * n:
        raise ProtocolError(f"{what}: the data ends inside its {n}-colour palette")
    palette = np.frombuffer(data, np.uint8, 3 * n).reshape(n, 3)
    body = data[3 * n :]
    index: npt.NDArray[np.uint8]
    if form == Form.PACKED:
        if len(body) != h * stride:
            raise ProtocolError(f"{what}: packed indices are {len(body)} bytes, expected {h * stride}")
        rows = np.frombuffer(body, np.uint8).reshape(h, stride)
        if bits == 8:
            grid = rows
        elif bits == 1:
            grid = np.unpackbits(rows, axis=1)[:, :w]
        else:
            per = 8 // bits
            mask = np.uint8((1 << bits) - 1)
            parts = [(rows >> np.uint8(8 - bits * (i + 1))) & mask for i in range(per)]
            grid = np.stack(parts, axis=2).reshape(h, stride * per)[:, :w]
        index = grid.reshape(-1)
    elif form == Form.CELLS:
        index = read_cells(body, w, h, n, what).reshape(-1)
    else:
        if not body or len(body) % 2:
            raise ProtocolError(f"{what}: run data of {len(body)} bytes is not whole (index, length) pairs")
        k = len(body) // 2
        values = np.frombuffer(body, np.uint8, k)
        lengths = np.frombuffer(body, np.uint8, k, k).astype(np.int64) + 1
        total = int(lengths.sum())
        if total != pixels:
            raise ProtocolError(f"{what}: runs cover {total} pixels, the rectangle has {pixels}")
        index = np.repeat(values, lengths)
    if int(index.max()) >= n:
        raise ProtocolError(f"{what}: index {int(index.max())} is past the {n}-colour palette")
    return palette[index].reshape(h, w, 3)

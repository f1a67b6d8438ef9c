"""Character cells: PALETTE's CELLS form for text on a fixed grid.

Why: a terminal, a pager or a code editor draws every character of a
monospaced font in a cell of the same size, so a page of text is a few
dozen distinct cell pictures repeated thousands of times. A 1080p ``less``
page (DejaVu Sans Mono 11: 9 x 19 px cells, 213 x 56 of them) holds 11 928
cells but only about 60 distinct ones. Sent as those pictures plus one cell
number per cell, and deflated through the session's stream (which still
holds the previous page's pictures), a page costs about 2 KB instead of the
~50 KB of packed indices, and takes less time to code (deflate sees 22 KB,
not 2 MB). ZRLE and Tight know nothing of glyphs; RDP has a glyph cache
filled by the drawing calls, which a screen scraper does not see. This is
the scraper's version: the grid is found in the pixels.

*Finding the grid* (:func:`find_grid`): on the picture's palette indices,
"ink" is every pixel not of the commonest colour (the background). A
monospaced font leaves the same column of every cell (and the same rows of
every line) nearly empty, so the ink summed per column, folded modulo the
cell width, has one clearly emptier phase; the same holds for rows and the
line height. The smallest period, seen at least :data:`MIN_PERIODS` times,
whose emptiest phase holds at most :data:`GAP_SHARE` of the average ink is
the cell size; the emptiest phase is where cells start. Two sums over the
picture and a few hundred additions: about 3 ms at 1080p. A rectangle too
small to show three periods (one
uncovered line of a scroll) uses the grid last found on the session's
screen (:class:`Grid`, kept by the encoder's stream), by its screen phase.

*Deciding* (:func:`cell_body`): the rectangle is cut into cells (padded
with the background to whole cells at its edges), the distinct cells are
found exactly (``np.unique`` on the cells' bytes), and the form is used only
when the distinct cells are at most :data:`MAX_DISTINCT_SHARE` of all cells
(text: 0.5 %; a photo or a UI that only looks gridded: far more).

Wire form (the body of a PALETTE payload with form 2, after the palette;
see :mod:`desklink.agent.encode.palette`)::

    body := u8 cw | u8 ch | u8 ox | u8 oy | u16 k | cell[k] | map[nx * ny]
    cw, ch : the cell's width and height, 1..MAX_CELL
    ox, oy : pixels of the first cell column (row) left of (above) the
             rectangle, 0 <= ox < cw, 0 <= oy < ch; the grid is padded to
             nx = ceil((ox + w) / cw) by ny = ceil((oy + h) / ch) cells and
             the decoder crops the padding away
    cell   : ch rows of cw 8-bit palette indices each
    map    : the cell number of each grid cell in reading order, u8 when
             k <= 256, else u16 big-endian; each below k
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from desklink.errors import ProtocolError

__all__ = [
    "GAP_SHARE",
    "GAP_SLACK",
    "MAX_CELL",
    "MAX_DISTINCT_SHARE",
    "MIN_CELLS",
    "MIN_PERIODS",
    "MIN_CELL",
    "Grid",
    "cell_body",
    "cells_cap",
    "find_grid",
    "read_cells",
]

#: Largest cell side on the wire (a 64-pixel cell is a 40-point font at
#: 120 dpi); it bounds what a CELLS body may inflate to.
MAX_CELL = 64
#: Smallest cell side :func:`find_grid` looks for (smaller "cells" are
#: dither or stripes, not characters).
MIN_CELL = 5
#: A period is a cell side when its emptiest phase has at most this share
#: of the average ink per phase (DejaVu Sans Mono 11 in an xterm: 0.36 for
#: columns, 0.14 for rows; a wrong period: 0.7 and up).
GAP_SHARE = 0.55
#: Fewest periods a profile must hold for its period to count (two are
#: matched by chance: 19 rows of text "repeat" every 8).
MIN_PERIODS = 3
#: A period within this share of the emptiest one found counts as empty
#: (for 9-pixel cells, 18 and 27 fold 2 and 3 gaps: 0.32 and 0.29 against 0.37).
GAP_SLACK = 0.15
#: A rectangle takes the CELLS form only when its distinct cells are at
#: most this share of its cells.
MAX_DISTINCT_SHARE = 0.25
#: Fewest whole cells worth looking at (a few characters of typing are
#: cheaper as plain indices).
MIN_CELLS = 16

_HEAD = struct.Struct(">BBBBH")


@dataclass(frozen=True, slots=True)
class Grid:
    """A cell grid on the screen: cells of ``cw x ch`` pixels, with cell
    borders at screen columns ``x ≡ px (mod cw)`` and rows ``y ≡ py (mod ch)``."""

    cw: int
    ch: int
    px: int
    py: int

    def padding(self, x: int, y: int) -> tuple[int, int]:
        """``(ox, oy)`` of a rectangle at screen ``(x, y)`` on this grid."""
        return (x - self.px) % self.cw, (y - self.py) % self.ch


def _period(profile: npt.NDArray[np.int64], lo: int, hi: int) -> tuple[int, int] | None:
    """``(period, emptiest phase)`` of an ink profile, or ``None``."""
    found: list[tuple[float, int, int]] = []
    for p in range(lo, min(hi, len(profile) // MIN_PERIODS) + 1):
        folded = profile[: len(profile) // p * p].reshape(-1, p).sum(axis=0)
        mean = folded.mean()
        if mean <= 0:
            return None
        phase = int(folded.argmin())
        found.append((float(folded[phase]) / mean, p, phase))
    if not found:
        return None
    best = min(share for share, _, _ in found)
    if best > GAP_SHARE:
        return None
    # The smallest period nearly as empty as the best: the cell's multiples
    # fold several gaps together, and their emptiest phase is emptier still.
    share, p, phase = next(f for f in found if f[0] <= min(GAP_SHARE, best + GAP_SLACK))
    return p, phase


def find_grid(index: npt.NDArray[np.uint8], background: int, x: int = 0, y: int = 0) -> Grid | None:
    """The cell grid of the text in ``index`` (a rectangle's palette indices
    at screen ``(x, y)``), or ``None`` when no grid shows."""
    ink = index != background
    h, w = ink.shape
    cols = _period(ink.sum(axis=0, dtype=np.int64), MIN_CELL, MAX_CELL)
    rows = _period(ink.sum(axis=1, dtype=np.int64), MIN_CELL, MAX_CELL)
    if cols is None or rows is None:
        return None
    (cw, fx), (ch, fy) = cols, rows
    return Grid(cw, ch, (x + fx) % cw, (y + fy) % ch)


def cell_body(index: npt.NDArray[np.uint8], background: int, grid: Grid, x: int, y: int,
              max_share: float = MAX_DISTINCT_SHARE) -> bytes | None:
    """The CELLS body of ``index`` (a rectangle's palette indices at screen
    ``(x, y)``) on ``grid``, or ``None`` when the grid does not pay (too few
    cells, or too many distinct ones)."""
    h, w = index.shape
    cw, ch = grid.cw, grid.ch
    ox, oy = grid.padding(x, y)
    nx, ny = -(-(ox + w) // cw), -(-(oy + h) // ch)
    if (w // cw) * (h // ch) < MIN_CELLS:
        return None
    if ox or oy or nx * cw != w or ny * ch != h:
        padded = np.full((ny * ch, nx * cw), background, np.uint8)
        padded[oy : oy + h, ox : ox + w] = index
    else:
        padded = index
    cells = np.ascontiguousarray(padded.reshape(ny, ch, nx, cw).transpose(0, 2, 1, 3)).reshape(nx * ny, cw * ch)
    _, first, inverse = np.unique(cells.view(f"V{cw * ch}").reshape(-1), return_index=True, return_inverse=True)
    k = len(first)
    if k > max_share * nx * ny or k > 0xFFFF:
        return None
    # Number the distinct cells by first appearance: the map then reads like
    # the text it shows, which deflate takes well.
    order = np.argsort(first, kind="stable")
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    numbers = rank[inverse.reshape(-1)]
    cell_map = numbers.astype(np.uint8) if k <= 256 else numbers.astype(">u2")
    return _HEAD.pack(cw, ch, ox, oy, k) + cells[first[order]].tobytes() + cell_map.tobytes()


def cells_cap(w: int, h: int) -> int:
    """The most bytes a CELLS body of a ``w x h`` rectangle may hold."""
    nx, ny = w + MAX_CELL - 1, h + MAX_CELL - 1
    return _HEAD.size + 3 * nx * ny


def read_cells(body: bytes, w: int, h: int, ncolours: int, what: str) -> npt.NDArray[np.uint8]:
    """The ``h x w`` palette indices of a CELLS body; ``ProtocolError`` for
    anything malformed."""
    if len(body) < _HEAD.size:
        raise ProtocolError(f"{what}: the cell grid's header is cut short")
    cw, ch, ox, oy, k = _HEAD.unpack_from(body, 0)
    if not (1 <= cw <= MAX_CELL and 1 <= ch <= MAX_CELL):
        raise ProtocolError(f"{what}: cells of {cw}x{ch} are outside 1..{MAX_CELL}")
    if ox >= cw or oy >= ch:
        raise ProtocolError(f"{what}: padding {ox},{oy} is not inside a {cw}x{ch} cell")
    nx, ny = -(-(ox + w) // cw), -(-(oy + h) // ch)
    if not 1 <= k <= nx * ny:
        raise ProtocolError(f"{what}: {k} distinct cells for a grid of {nx * ny}")
    wide = 1 if k <= 256 else 2
    need = _HEAD.size + k * cw * ch + nx * ny * wide
    if len(body) != need:
        raise ProtocolError(f"{what}: the cell grid is {len(body)} bytes, expected {need}")
    cells = np.frombuffer(body, np.uint8, k * cw * ch, _HEAD.size)
    if int(cells.max()) >= ncolours:
        raise ProtocolError(f"{what}: index {int(cells.max())} is past the {ncolours}-colour palette")
    at = _HEAD.size + k * cw * ch
    numbers = np.frombuffer(body, np.uint8 if wide == 1 else ">u2", nx * ny, at)
    if int(numbers.max()) >= k:
        raise ProtocolError(f"{what}: cell number {int(numbers.max())} is past its {k} cells")
    grid: npt.NDArray[np.uint8] = cells.reshape(k, ch, cw)[numbers].reshape(ny, nx, ch, cw).transpose(0, 2, 1, 3)
    return grid.reshape(ny * ch, nx * cw)[oy : oy + h, ox : ox + w]

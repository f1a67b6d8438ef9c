"""Change detection and encoding of screen captures into protocol frames.

:class:`ScreenEncoder` is the entry point; :class:`Canvas` is the reference
viewer that applies frames back onto a picture. The helper modules (tile
diff, rectangle merging, scroll detection, JPEG/FILL/PALETTE coding) are public so
the benchmark and tests can measure each step on its own.
"""

from __future__ import annotations

from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.choose import PaletteOptions
from desklink.agent.encode.encoder import EncoderStats, ScreenEncoder
from desklink.agent.encode.rects import merge_rects, merge_tiles
from desklink.agent.encode.scroll import CopyRect, Scroll, detect_scroll, find_scroll
from desklink.agent.encode.tiles import changed_tiles

__all__ = [
    "Canvas",
    "CopyRect",
    "EncoderStats",
    "PaletteOptions",
    "Scroll",
    "ScreenEncoder",
    "changed_tiles",
    "detect_scroll",
    "find_scroll",
    "merge_rects",
    "merge_tiles",
]

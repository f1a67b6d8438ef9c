#!/usr/bin/env python
"""DeskLink benchmark: the lossless PALETTE coding against PNG and JPEG on text.

Run from the repository root::

    .venv/bin/python bench/palette_coding.py            # a real xterm on Xvfb, plus synthetic text
    .venv/bin/python bench/palette_coding.py --runs 21

The xterm screen is a 1920x1080 Xvfb with one xterm (DejaVu Sans Mono 11,
anti-aliased, as in the Xvfb tests) full of directory listings and source
code; the synthetic one is tests/agent/_screens.py's ``text_page`` (two
colours). For each area: payload bytes and encode time (median of
``--runs``) of PALETTE (zlib level 1 and 6), palette PNG (what the agent
sent for typing before), JPEG q90 4:4:4 (refine and key quality) and q60
4:2:0 (motion quality). Every PALETTE payload is decoded back with the
reference decoder and compared, so a wrong coder cannot look good.

Then the question of a compression context kept across rectangles (as
ZRLE keeps one zlib stream per connection): the same sequences of
rectangles deflated one by one and through one stream with a sync flush
after each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import machine_line

from desklink.agent.encode.jpeg import encode_jpeg
from desklink.agent.encode.palette import decode_palette, encode_palette
from desklink.agent.encode.png import encode_png
from tests.agent._screens import text_page

XTERM_TEXT = "ls -la /usr/lib | head -70; cat src/desklink/agent/encode/encoder.py | head -60; sleep 60"


def xterm_screen() -> np.ndarray | None:
    """A BGRA screenshot of an xterm full of text on a 1920x1080 Xvfb, or
    ``None`` when Xvfb or xterm are missing."""
    from desklink.testing_x import XDisplay

    try:
        with XDisplay(1920, 1080) as d:
            d.spawn("xterm", "-T", "bench-xterm", "-geometry", "200x55+0+0", "-fa", "DejaVu Sans Mono", "-fs", "11",
                    "-e", "sh", "-c", XTERM_TEXT)
            d.wait_window("bench-xterm")
            previous = None
            for _ in range(100):  # until the text stops changing
                time.sleep(0.1)
                shot = d.screenshot()
                if previous is not None and np.array_equal(shot, previous):
                    break
                previous = shot
    except (OSError, TimeoutError) as exc:
        print(f"  (no xterm screen: {exc})")
        return None
    img = np.empty(shot.shape[:2] + (4,), np.uint8)
    img[:, :, :3] = shot[:, :, ::-1]
    img[:, :, 3] = 255
    return img


def timed(fn: Callable[[], bytes | None], runs: int) -> tuple[bytes | None, float]:
    times = []
    out = None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times) * 1000


def compare(img: np.ndarray, box: tuple[int, int, int, int], runs: int) -> list[str]:
    x, y, w, h = box
    cells = [f"{w}x{h}", str(len(np.unique(img[y : y + h, x : x + w].reshape(-1, 4), axis=0)))]
    for level in (1, 6):
        payload, ms = timed(lambda level=level: encode_palette(img, x, y, w, h, level=level), runs)  # type: ignore[misc]
        if payload is None:
            cells.append("-")
            continue
        assert np.array_equal(decode_palette(payload, w, h), img[y : y + h, x : x + w, 2::-1]), "palette round trip"
        cells.append(f"{len(payload)} B, {ms:.2f} ms")
    png, ms = timed(lambda: encode_png(img, x, y, w, h), max(1, runs // 4))
    cells.append(f"{len(png or b'')} B, {ms:.2f} ms")
    for q, sub in ((90, "444"), (60, "420")):
        jpeg, ms = timed(lambda q=q, sub=sub: encode_jpeg(img, x, y, w, h, quality=q, subsampling=sub), runs)  # type: ignore[misc]
        cells.append(f"{len(jpeg or b'')} B, {ms:.2f} ms")
    return cells


def context(img: np.ndarray, name: str, boxes: list[tuple[int, int, int, int]]) -> str:
    bodies = []
    for x, y, w, h in boxes:
        payload = encode_palette(img, x, y, w, h)
        assert payload is not None
        bodies.append(zlib.decompress(payload[2:], -15))
    alone = 0
    for b in bodies:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        alone += len(c.compress(b) + c.flush())
    stream = zlib.compressobj(6, zlib.DEFLATED, -15)
    shared = sum(len(stream.compress(b) + stream.flush(zlib.Z_SYNC_FLUSH)) for b in bodies)
    return f"| {name} | {len(boxes)} | {alone} | {shared} | {100 * (1 - shared / alone):.0f} % |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed repetitions per coding (median)")
    args = parser.parse_args()
    print("DeskLink PALETTE coding vs PNG and JPEG")
    print(f"  {machine_line()}")
    screens = {"synthetic text": text_page(1920, 1080)}
    xterm = xterm_screen()
    if xterm is not None:
        screens = {"xterm": xterm, **screens}
    boxes = [(0, 0, 1920, 1080), (0, 512, 1920, 64), (64, 64, 640, 64), (64, 64, 64, 64), (100, 100, 90, 17), (100, 100, 9, 17)]
    print()
    print("| screen | area | colours | PALETTE level 1 | PALETTE level 6 | PNG | JPEG q90 4:4:4 | JPEG q60 4:2:0 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, img in screens.items():
        for box in boxes:
            print("| " + " | ".join([name, *compare(img, box, args.runs)]) + " |")
    if xterm is not None:
        print()
        print("| xterm rectangles | count | one by one, B | one stream, B | saved |")
        print("|---|---|---|---|---|")
        print(context(xterm, "typing: 9x17 glyph cells", [(2 + 9 * i, 2 + 17 * r, 9, 17) for r in range(3, 8) for i in range(40)]))
        print(context(xterm, "64x64 tiles", [(64 * i, 64 * j, 64, 64) for j in range(4) for i in range(10)]))
        print(context(xterm, "pager: 1920x64 bands", [(0, 64 * i, 1920, 64) for i in range(16)]))


if __name__ == "__main__":
    main()

"""Moves in the browser: the frames the agent's move detection makes (two
COPYs in one frame, the second reading what the first left, sources offset
in x and y) drawn by the viewer's real decoders in Chromium give exactly the
pixels of the Python reference Canvas, and the new picture."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser
from test_viewer_modules import b64, run_in_worker

from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.moves import detect_moves
from desklink.agent.encode.png import encode_png
from desklink.agent.encode.rects import merge_rects
from desklink.agent.encode.tiles import changed_tiles
from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

W, H, TILE = 320, 240, 32

DRAW_FRAMES = """
import { decoderFor } from '/static/viewer/decoders/index.js';

const canvas = new OffscreenCanvas(DATA.W, DATA.H);
const ctx = canvas.getContext('2d', { alpha: false });
for (const frame of DATA.frames) {
  for (const raw of frame) {
    const r = { ...raw, payload: b64(raw.payload) };
    const d = decoderFor(r.enc);
    d.check(r, { width: DATA.W, height: DATA.H });
    const decoded = d.decode ? await d.decode(r, undefined, { key: false }) : null;
    d.draw(ctx, r, decoded, canvas);
  }
}
return Array.from(ctx.getImageData(0, 0, DATA.W, DATA.H).data);
"""


def noise(w: int, h: int, seed: int) -> np.ndarray:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    img[:, :, 3] = 255
    return img


def test_two_moves_in_one_frame_draw_the_same_in_chromium(browser: Browser, server: ServerProcess) -> None:
    prev = np.zeros((H, W, 4), np.uint8)
    prev[:, :, 3] = 255
    a, b = noise(100, 80, 1), noise(90, 70, 2)
    prev[40:120, 20:120] = a
    prev[40:110, 150:240] = b
    cur = prev.copy()
    cur[40:120, 20:120, :3] = 0
    cur[40:110, 150:240, :3] = 0
    cur[40:120, 70:170] = a  # A right by 50, over B's old place
    cur[130:200, 170:260] = b  # B right by 20 and down by 90
    found = detect_moves(prev, cur, changed_tiles(prev, cur, TILE), TILE)
    assert found is not None and len(found.copies) == 2
    offsets = {(c.x - c.src_x, c.y - c.src_y) for c in found.copies}
    assert offsets == {(50, 0), (20, 90)}
    rects = [Rect.copy(c.x, c.y, c.w, c.h, c.src_x, c.src_y) for c in found.copies]
    for x, y, w, h in merge_rects(found.remaining, TILE, W, H):
        rects.append(Rect(x, y, w, h, Enc.PNG, encode_png(cur, x, y, w, h)))
    frames = [Frame(1, 0, W, H, (Rect(0, 0, W, H, Enc.PNG, encode_png(prev, 0, 0, W, H)),), FLAG_KEY),
              Frame(2, 0, W, H, tuple(rects))]
    ref = Canvas()
    for f in frames:
        ref.apply(f)
    np.testing.assert_array_equal(ref.image, cur)

    def js(r: Rect) -> dict[str, Any]:
        return {"x": r.x, "y": r.y, "w": r.w, "h": r.h, "enc": int(r.enc), "payload": b64(r.payload)}

    got = run_in_worker(browser, server, DRAW_FRAMES, {"W": W, "H": H, "frames": [[js(r) for r in f.rects] for f in frames]})
    rgba = np.array(got, dtype=np.uint8).reshape(H, W, 4)
    np.testing.assert_array_equal(rgba[:, :, :3], ref.rgb)

"""The agent's video regions (encoding 5) in Debian's Chromium: units made by
the agent's encoder (PyAV's libx264) decoded by the viewer's painter with
``decoders/h264.js`` (WebCodecs' VideoDecoder) inside a module Worker, and
compared with the Python reference viewer (PyAV's decoder) on the same
frames.

Stated error between the two decoders (per RGB channel, 0..255): mean below
1.5 and maximum below 8 (measured 1.05 and 3: two YUV to RGB conversions that
round differently; the stream says BT.601 limited range, so both convert
alike); outside the region, where only FILL draws, exactly equal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser
from test_viewer_modules import b64, run_in_worker

from desklink.agent.encode import Canvas
from desklink.agent.encode.h264 import H264Encoder
from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect, decode
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

SW, SH = 320, 240
X, Y, W, H = 16, 8, 201, 121  # odd sides: coded at 202 x 122, drawn cropped
MAX_MEAN, MAX_ERROR = 1.5, 8


def picture(t: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.empty((H, W, 4), dtype=np.uint8)
    img[:, :, 0] = (128 + 100 * np.sin((xx + 6 * t) / 23.0)).astype(np.uint8)
    img[:, :, 1] = (128 + 100 * np.cos((yy + 4 * t) / 17.0)).astype(np.uint8)
    img[:, :, 2] = ((xx * 2 + 5 * t) % 200).astype(np.uint8)
    img[:, :, 3] = 255
    img[40:60, 50:120, :3] = 255  # a sharp white box
    return img


def wire(frame: Frame) -> bytes:
    return b"\x02" + frame.encode()


def messages() -> tuple[list[bytes], list[bytes]]:
    enc = H264Encoder(W, H)
    units = [enc.encode(picture(t)) for t in range(5)]
    frames = [Frame(1, 1, SW, SH, (Rect.fill(0, 0, SW, SH, (40, 80, 120)),), FLAG_KEY)]
    frames += [Frame(2 + t, 2 + t, SW, SH, (Rect(X, Y, W, H, Enc.H264, u),)) for t, u in enumerate(units)]
    return [wire(f) for f in frames], units


BODY = """
import { FramePainter } from '/static/viewer/painter.js';

const painter = new FramePainter(new OffscreenCanvas(1, 1));
const drawn = [];
for (const m of DATA.frames) drawn.push(await painter.paint(b64(m).buffer));
const shot = await painter.snapshot('rgba');
const out = { drawn: drawn.map((d) => [d.seq, d.incomplete]), width: shot.width, height: shot.height, rgba: Array.from(shot.data) };

// A fresh canvas: a delta with no key unit fails, naming why; so does a
// payload that is not H.264; the key unit then decodes.
const fresh = new FramePainter(new OffscreenCanvas(1, 1));
await fresh.paint(b64(DATA.frames[0]).buffer);
const failures = [];
for (const m of [DATA.delta, DATA.garbage]) {
  try {
    await fresh.paint(b64(m).buffer);
    failures.push(null);
  } catch (err) {
    failures.push(String(err.message));
  }
}
const again = await fresh.paint(b64(DATA.frames[1]).buffer);
out.failures = failures;
out.again = [again.seq, again.incomplete];
return out;
"""


def test_the_browser_decodes_the_agents_units_as_the_reference_viewer_does(browser: Browser, server: ServerProcess) -> None:
    frames, units = messages()
    delta = wire(Frame(50, 50, SW, SH, (Rect(X, Y, W, H, Enc.H264, units[2]),)))
    not_annexb = wire(Frame(52, 52, SW, SH, (Rect(X, Y, W, H, Enc.H264, b"hello, not video"),)))
    result: dict[str, Any] = run_in_worker(browser, server, BODY, {
        "frames": [b64(m) for m in frames], "delta": b64(delta), "garbage": b64(not_annexb),
    })
    assert result["drawn"] == [[i + 1, False] for i in range(len(frames))]
    shown = np.array(result["rgba"], dtype=np.uint8).reshape(result["height"], result["width"], 4)[:, :, :3]

    canvas = Canvas()
    for m in frames:
        f = decode(m[1:], 1 << 24)
        assert isinstance(f, Frame)
        canvas.apply(f)
    reference = canvas.rgb
    assert shown.shape == reference.shape == (SH, SW, 3)
    diff = np.abs(shown.astype(int) - reference.astype(int))
    region = diff[Y : Y + H, X : X + W]
    assert region.mean() < MAX_MEAN and region.max() < MAX_ERROR, (region.mean(), region.max())
    outside = diff.copy()
    outside[Y : Y + H, X : X + W] = 0
    assert outside.max() == 0  # nothing drawn past the rectangle (the coded size's extra column and row cropped)
    # Both are close to the source too (the stated H.264 error of tests/agent/test_video.py).
    source = picture(4)[:, :, 2::-1].astype(int)
    assert np.abs(shown[Y : Y + H, X : X + W].astype(int) - source).mean() < 5

    failed_delta, failed_garbage = result["failures"]
    assert failed_delta is not None and "is a delta with no key unit before it" in failed_delta
    assert failed_garbage is not None and "is not H.264 in Annex B form" in failed_garbage
    assert result["again"] == [2, False]


BROKEN = """
import { FramePainter } from '/static/viewer/painter.js';

const painter = new FramePainter(new OffscreenCanvas(1, 1));
await painter.paint(b64(DATA.frames[0]).buffer);
await painter.paint(b64(DATA.frames[1]).buffer);
let broken = null;
try {
  await painter.paint(b64(DATA.garbage).buffer);
} catch (err) {
  broken = String(err.message);
}
// After the decoder failed, a delta cannot continue the stream; a key unit can.
let delta = null;
try {
  await painter.paint(b64(DATA.frames[2]).buffer);
} catch (err) {
  delta = String(err.message);
}
const again = await painter.paint(b64(DATA.frames[1]).buffer);
return { broken, delta, again: [again.seq, again.incomplete] };
"""


def test_a_unit_the_decoder_rejects_fails_clearly_and_a_key_unit_recovers(browser: Browser, server: ServerProcess) -> None:
    frames, _ = messages()
    garbage = wire(Frame(51, 51, SW, SH, (Rect(X, Y, W, H, Enc.H264, b"\x00\x00\x00\x01\x65" + bytes(range(256)) * 4),)))
    result = run_in_worker(browser, server, BROKEN, {"frames": [b64(m) for m in frames[:3]], "garbage": b64(garbage)})
    assert result["broken"] is not None and "h264 rectangle 201x121+16+8" in result["broken"], result
    assert result["delta"] is not None and "needs a key frame" in result["delta"], result
    assert result["again"] == [2, False]

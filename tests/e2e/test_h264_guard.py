"""The browser's SPS check for video regions (``viewer/decoders/sps.js``, used
by ``decoders/h264.js``) in Debian's Chromium, inside a module Worker as the
viewer runs it: the JS reader gives the same sizes as the Python one
(agent/encode/sps.py) on libx264's units and on hand-made SPS, and the same
words on malformed ones; the H.264 decoder refuses a key unit whose SPS
claims 16384x16384 (or another region's size) with a FrameError naming the
size before the VideoDecoder sees it, and still decodes a real key unit,
and the deltas after it, afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from agent.test_h264_sps import SIZES, annexb, nals_of, noise, sps_nal, swap_sps, x264_unit
from playwright.sync_api import Browser
from test_viewer_modules import b64, run_in_worker

from desklink.agent.encode.h264 import H264Encoder
from desklink.agent.encode.sps import read_sps, sps_units
from desklink.errors import ProtocolError
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

READER = """
import { spsUnits, readSps } from '/static/viewer/decoders/sps.js';
import { FrameError } from '/static/viewer/frame-error.js';

const out = {};
for (const [name, unit] of Object.entries(DATA)) {
  try {
    out[name] = { sizes: spsUnits(b64(unit)).map(readSps).map((s) => [s.codedWidth, s.codedHeight, s.width, s.height]) };
  } catch (err) {
    out[name] = { isFrameError: err instanceof FrameError, error: err.message };
  }
}
return out;
"""


def reader_cases() -> dict[str, bytes]:
    cases: dict[str, bytes] = {}
    for preset in ("ultrafast", "medium"):
        for w, h in SIZES:
            cases[f"x264 {preset} {w}x{h}"] = H264Encoder(w, h, preset=preset).encode(noise(w, h))
    cases["x264 interlaced"] = x264_unit(320, 240, "interlaced=1", preset="medium")
    hand = {
        "scaling lists": sps_nal(5, 3, profile=100, scaling=True),
        "poc cycle of 255": sps_nal(4, 4, poc_cycle=[1, -2, 3] * 85),
        "field pairs cropped": sps_nal(5, 3, profile=100, frame_mbs_only=False, crop=(1, 0, 0, 1)),
        "escaped 2**16 macroblocks": sps_nal(1 << 16, 1 << 16),
        "16384x16384": sps_nal(1024, 1024),
        "two SPS": sps_nal(4, 4) + b"\x00\x00\x01" + sps_nal(8, 2, sps_id=1),
        "cut": sps_nal(4, 4)[:6],
        "poc cycle of 256": sps_nal(4, 4, poc_cycle=[0] * 256),
        "id 32": sps_nal(4, 4, sps_id=32),
        "cropped to nothing": sps_nal(2, 2, crop=(0, 16, 0, 0)),
        "32 zeros": b"\x67\x42\xc0\x1f\x00\x00\x03\x00\x00\x03\x00\x00\x03\x00\x80",
        "forbidden bytes": b"\x67\x42\xc0\x1f\x00\x00\x02\x01",
        "33 SPS": b"\x00\x00\x01".join([sps_nal(4, 4)] * 33),
    }
    cases.update({name: annexb(nal) for name, nal in hand.items()})
    return cases


def test_the_js_reader_agrees_with_the_python_reader(browser: Browser, server: ServerProcess) -> None:
    cases = reader_cases()
    out = run_in_worker(browser, server, READER, {name: b64(unit) for name, unit in cases.items()})
    refused = 0
    for name, unit in cases.items():
        try:
            want: dict[str, Any] = {"sizes": [[s.coded_width, s.coded_height, s.width, s.height] for s in map(read_sps, sps_units(unit))]}
        except ProtocolError as exc:
            want = {"isFrameError": True, "error": str(exc)}
            refused += 1
        assert out[name] == want, name
    assert refused == 7  # every malformed case, in the same words
    assert out["x264 ultrafast 201x121"]["sizes"] == [[208, 128, 202, 122]]
    assert out["16384x16384"]["sizes"] == [[16384, 16384, 16384, 16384]]


DECODER = """
import { decoderFor } from '/static/viewer/decoders/index.js';
import { FrameError } from '/static/viewer/frame-error.js';

const d = decoderFor(5);
const streams = d.createState();
let seq = 0;
const attempt = async (name, w, h, unit) => {
  const rect = { x: 8, y: 4, w, h, enc: 5, payload: b64(unit) };
  seq += 1;
  try {
    d.check(rect, { width: 1024, height: 768 });
    const picture = await d.decode(rect, streams, { seq });
    const size = [picture.displayWidth, picture.displayHeight];
    d.release(picture);
    return { name, ok: true, size };
  } catch (err) {
    return { name, ok: false, isFrameError: err instanceof FrameError, error: err.message };
  }
};
const out = [];
for (const [name, w, h, unit] of DATA) out.push(await attempt(name, w, h, unit));
return { out, streams: streams.size };
"""


def test_the_browser_decoder_refuses_a_16384_sps_and_still_decodes_after(browser: Browser, server: ServerProcess) -> None:
    enc = H264Encoder(64, 64)
    key = enc.encode(noise(64, 64))
    deltas = [enc.encode(noise(64, 64, seed)) for seed in (2, 3)]
    hostile = swap_sps(key, sps_nal(1024, 1024))
    other = H264Encoder(128, 64).encode(noise(128, 64))
    odd = H264Encoder(33, 17).encode(noise(33, 17))
    steps = [
        ("hostile key", 64, 64, hostile),
        ("real key", 64, 64, key),
        ("hostile delta", 64, 64, annexb(sps_nal(1024, 1024), *nals_of(deltas[0]))),
        ("delta", 64, 64, deltas[0]),  # the refused unit never reached the decoder: the stream goes on
        ("delta with its own SPS", 64, 64, annexb(sps_units(key)[0], *nals_of(deltas[1]))),
        ("another region's key", 64, 64, other),
        ("cut SPS", 64, 64, annexb(sps_nal(4, 4)[:6], *nals_of(key)[1:])),
        ("odd key", 33, 17, odd),
        ("odd key in a 35x17 rectangle", 35, 17, odd),
    ]
    result = run_in_worker(browser, server, DECODER, [[name, w, h, b64(unit)] for name, w, h, unit in steps])
    by_name = {r["name"]: r for r in result["out"]}
    what = "h264 rectangle 64x64+8+4"
    assert by_name["hostile key"] == {
        "name": "hostile key", "ok": False, "isFrameError": True,
        "error": f"{what}: its SPS claims a 16384x16384 picture (16384x16384 coded); the stream is 64x64 (64x64 coded)",
    }
    assert by_name["real key"] == {"name": "real key", "ok": True, "size": [64, 64]}
    assert by_name["hostile delta"]["isFrameError"] and "claims a 16384x16384 picture" in by_name["hostile delta"]["error"]
    assert by_name["delta"] == {"name": "delta", "ok": True, "size": [64, 64]}
    assert by_name["delta with its own SPS"] == {"name": "delta with its own SPS", "ok": True, "size": [64, 64]}
    assert by_name["another region's key"]["error"] == (
        f"{what}: its SPS claims a 128x64 picture (128x64 coded); the stream is 64x64 (64x64 coded)")
    assert by_name["cut SPS"]["error"] == f"{what}: H.264 SPS ends inside pic_height_in_map_units_minus1"
    assert by_name["odd key"]["ok"] is True  # 33x17 is coded at 34x18 in 48x32 of macroblocks
    assert by_name["odd key in a 35x17 rectangle"]["error"] == (
        "h264 rectangle 35x17+8+4: its SPS claims a 34x18 picture (48x32 coded); the stream is 36x18 (48x32 coded)")
    assert result["streams"] == 2  # only the real key units made streams

"""The browser share's DOM-free parts in Debian's Chromium, inside a module
Worker (no DOM) loaded from the real server's ``/static/``: the help box's
message builders (``widget/screen-share.js``) feeding the viewer's painter
(``viewer/painter.js`` with ``viewer/decoders/video.js``), through real
WebCodecs encoders and decoders for every codec the sender may choose, a
size change, a codec change, and chunks that cannot be decoded."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser
from test_viewer_modules import run_in_worker

from desklink.protocol import screen
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

CODECS = {
    "avc1.640028": int(screen.Codec.H264),
    "vp8": int(screen.Codec.VP8),
    "vp09.00.10.08": int(screen.Codec.VP9),
    "av01.0.04M.08": int(screen.Codec.AV1),
}

BODY = """
import { videoMessage, parts } from '/static/widget/screen-share.js';
import { FramePainter } from '/static/viewer/painter.js';
import { parseChannelMessage } from '/static/viewer/frames.js';

const painter = new FramePainter(new OffscreenCanvas(1, 1));
let seq = 0;

/** Encode `colours` (one frame each) at w x h with `codec`; the messages as the help box sends them. */
async function encode(codec, byte, w, h, colours) {
  const chunks = [];
  const enc = new VideoEncoder({ output: (c) => chunks.push(c), error: (e) => { throw e; } });
  const config = { codec, width: w, height: h, bitrate: 2e6, framerate: 30, latencyMode: 'realtime' };
  if (byte === 1) config.avc = { format: 'annexb' };
  enc.configure(config);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  colours.forEach((c, i) => {
    ctx.fillStyle = c;
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(8, 8, 32, 16);
    const frame = new VideoFrame(canvas, { timestamp: i * 33333 });
    enc.encode(frame, { keyFrame: i === 0 });
    frame.close();
  });
  await enc.flush();
  enc.close();
  return chunks.map((c) => {
    const data = new Uint8Array(c.byteLength);
    c.copyTo(data);
    seq += 1;
    const msg = videoMessage({ key: c.type === 'key', seq, captureUs: 1000 * seq, width: w, height: h, codec: byte, data });
    // The parts a small max_message_bytes makes, joined again as the server does.
    const split = [...parts(msg, 256)];
    const heads = split.map((p) => p[0]);
    const joined = split.map((p) => p.subarray(1));
    const whole = new Uint8Array(1 + msg.byteLength);
    whole[0] = 2;
    let off = 1;
    for (const j of joined) { whole.set(j, off); off += j.length; }
    return { whole, key: c.type === 'key', count: joined.length, heads, longest: Math.max(...split.map((p) => p.length)) };
  });
}

function pixel(x, y) {
  return Array.from(painter.ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
}

const out = {};
for (const [codec, byte] of Object.entries(DATA.codecs)) {
  const [w, h] = codec === 'vp8' ? [320, 180] : [256, 144];
  const msgs = await encode(codec, byte, w, h, ['#c02828', '#1eaa46', '#1eaa46']);
  const drawn = [];
  for (const m of msgs) drawn.push(await painter.paint(m.whole.buffer.slice(0)));
  out[codec] = {
    keys: msgs.map((m) => m.key), parts: msgs.map((m) => m.count), heads: msgs.map((m) => m.heads),
    longest: Math.max(...msgs.map((m) => m.longest)),
    drawn: drawn.map((d) => [d.seq, d.key, d.width, d.height, d.video, d.incomplete]),
    size: [painter.canvas.width, painter.canvas.height], last: pixel(100, 100), box: pixel(20, 12),
  };
}

// A delta chunk with nothing to build on (a new size, no key frame) fails at once, naming why.
const fresh = await encode('vp8', 2, 64, 48, ['#000000', '#ffffff']);
let failed = null;
try {
  await painter.paint(fresh[1].whole.buffer.slice(0));
} catch (err) {
  failed = String(err.message);
}
// Garbage marked as a key chunk: the decoder's error fails that chunk; the next key chunk decodes again.
const bad = videoMessage({ key: true, seq: 999, captureUs: 1, width: 64, height: 48, codec: 2, data: new Uint8Array([1, 2, 3, 4, 5]) });
const badWhole = new Uint8Array(1 + bad.length); badWhole[0] = 2; badWhole.set(bad, 1);
let garbage = null;
try {
  await painter.paint(badWhole.buffer);
} catch (err) {
  garbage = String(err.message);
}
const again = await painter.paint(fresh[0].whole.buffer.slice(0));
let unknownCodec = null;
const odd = videoMessage({ key: true, seq: 1, captureUs: 1, width: 64, height: 48, codec: 9, data: new Uint8Array([1]) });
const oddWhole = new Uint8Array(1 + odd.length); oddWhole[0] = 2; oddWhole.set(odd, 1);
try { parseChannelMessage(oddWhole); } catch (err) { unknownCodec = String(err.message); }
out.errors = { failed, garbage, again: [again.seq, again.key], unknownCodec };
return out;
"""


def test_every_codec_draws_through_the_viewer_painter(browser: Browser, server: ServerProcess) -> None:
    result: dict[str, Any] = run_in_worker(browser, server, BODY, {"codecs": CODECS})
    for codec in CODECS:
        r = result[codec]
        w, h = (320, 180) if codec == "vp8" else (256, 144)
        assert r["keys"][0] is True and r["keys"][1:] == [False, False], (codec, r)
        assert [d[0] for d in r["drawn"]] == sorted(d[0] for d in r["drawn"]), codec
        assert all(d[2:] == [w, h, True, False] for d in r["drawn"]), (codec, r["drawn"])
        assert r["size"] == [w, h], codec
        green, white = (30, 170, 70), (255, 255, 255)
        assert max(abs(a - b) for a, b in zip(r["last"], green, strict=True)) < 30, (codec, r["last"])
        assert min(r["box"]) > 200, (codec, r["box"], white)
    assert any(max(r["parts"]) > 1 for r in (result[c] for c in CODECS))  # key frames went in parts
    for codec in CODECS:  # every part but the last has the MORE bit; none is over the bound
        r = result[codec]
        assert all(heads == [0x82] * (len(heads) - 1) + [0x02] for heads in r["heads"]), (codec, r["heads"])
        assert r["longest"] <= 256
    errors = result["errors"]
    assert "needs a key frame" in errors["failed"]
    assert errors["garbage"] is not None and "video" in errors["garbage"]
    assert errors["again"][1] is True
    assert errors["unknownCodec"] == "unknown video codec 9"

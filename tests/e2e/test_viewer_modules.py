"""The viewer's DOM-free modules in Debian's Chromium, each run inside a
dedicated Worker (which has no ``document`` and no ``window``, so a module
that touched the DOM would fail there), loaded from the real server's
``/static/`` path:

* ``viewer/protocol.js`` fed a recorded session (the stream a recording
  player would feed it): what it asks to draw, what it acknowledges, when
  it asks for a key frame, the generation counter, cursor, clipboard and the
  lost-agent countdown, with a stub ``send`` and a test clock;
* ``viewer/decoders/``: each decoder draws its encoding and rejects malformed
  payloads with a FrameError that names the problem;
* ``viewer/strokes.js``: the whiteboard's stroke model without any DOM.

The worker script itself is served by Playwright's router on the server's
origin (so the CSP's ``'self'`` allows it); everything it imports is the
real file the server serves.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser

from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.h264 import H264Encoder
from desklink.agent.encode.jpeg import encode_jpeg
from desklink.agent.encode.png import encode_png
from desklink.protocol import limits, screen
from desklink.protocol.screen import FLAG_KEY, Cursor, Enc, Frame, Pointer, Rect
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

WEB = Path(__file__).resolve().parents[2] / "src" / "desklink" / "web"


def run_in_worker(browser: Browser, server: ServerProcess, body: str, data: Any = None) -> Any:
    """Run ``body`` (module code that may ``await`` and ends with ``return
    value``) in a module Worker on the server's origin; ``DATA`` holds
    ``data``. Returns the value, or raises with the worker's error."""
    script = (
        "const DATA = JSON.parse(" + json.dumps(json.dumps(data)) + ");\n"
        "const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));\n"
        "async function main() {\n" + body + "\n}\n"
        "main().then((value) => self.postMessage({ value, hasDocument: typeof document !== 'undefined' }),\n"
        "  (err) => self.postMessage({ error: String(err && err.stack || err) }));\n"
    )
    imports = "\n".join(line for line in body.splitlines() if line.startswith("import "))
    script = imports + "\n" + "\n".join(line for line in script.splitlines() if not line.startswith("import "))
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/__harness__/test.worker.js", lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=script))
        page.goto(server.url + "/console")
        result = page.evaluate(
            """() => new Promise((resolve) => {
                const w = new Worker('/__harness__/test.worker.js', { type: 'module' });
                w.onmessage = (e) => resolve(e.data);
                w.onerror = (e) => resolve({ error: `worker: ${e.message}` });
            })"""
        )
        assert errors == []
    finally:
        context.close()
    assert "error" not in result, result["error"]
    assert result["hasDocument"] is False
    return result["value"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def photo(w: int, h: int) -> np.ndarray:
    """A BGRA test picture with gradients (JPEG-friendly, all distinct)."""
    img = np.zeros((h, w, 4), dtype=np.uint8)
    img[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    img[:, :, 1] = np.linspace(255, 0, h, dtype=np.uint8)[:, None]
    img[:, :, 2] = 90
    img[:, :, 3] = 255
    return img


# --------------------------------------------------------------------------- the protocol half


PROTOCOL_PLAYER = """
import { MAX_CLIPBOARD_CHARS, STOP_CODES, ViewerProtocol } from '/static/viewer/protocol.js';
import { InlineRenderer } from '/static/viewer/renderer.js';
import { peekSeq } from '/static/viewer/painter.js';

let t = 0;
const WALL = 1_700_000_000_000;
const sent = [];
const events = [];
const probes = [];
const proto = new ViewerProtocol({ send: (m) => { sent.push({ at: t, ...m }); return true; }, now: () => t, clock: () => WALL + t });
const renderer = new InlineRenderer(new OffscreenCanvas(1, 1), (r) => proto.rendered(r));
const record = (type, fn) => proto.addEventListener(type, (e) => events.push({ type, at: t, ...fn(e.detail) }));
record('link', (d) => d);
record('state', (d) => ({ status: d.state.status, agent: d.state.agent, clipboard: d.state.clipboard, grace: d.state.grace_left_s }));
record('frame', (d) => ({ seq: peekSeq(d.data), gen: d.gen, bytes: d.bytes }));
record('drawn', (d) => ({ seq: d.seq, current: d.current, sizeChanged: d.sizeChanged, incomplete: d.incomplete, width: d.width }));
record('failed', (d) => ({ seq: d.seq, current: d.current, message: d.message }));
record('cursor', (d) => ({ kind: d.message.kind, x: d.message.x, y: d.message.y, w: d.message.w }));
record('malformed', (d) => ({ message: `${d.error.name}: ${d.error.message}` }));
record('annotate', (d) => ({ op: d.op, id: d.id }));
record('clipboard', (d) => ({ text: d.text, arrived: d.at - WALL }));
record('latency', (d) => d);
record('problem', (d) => ({ code: d.error.code }));
proto.addEventListener('frame', (e) => renderer.frame(e.detail.data, e.detail.gen));

for (const step of DATA) {
  t = step.at;
  if (step.connected) proto.connected();
  if (step.disconnected !== undefined) proto.disconnected(step.disconnected, step.retry);
  if (step.text !== undefined) proto.feed(step.text);
  if (step.binary !== undefined) proto.feed(b64(step.binary));
  if (step.draw) await renderer.painter.idle();
  if (step.clipboard !== undefined) probes.push({ at: t, clipboard: proto.sendClipboard(step.clipboard.repeat(step.times || 1)) });
  if (step.probe) probes.push({ at: t, status: proto.status, agentLost: proto.agentLost, graceLeftS: proto.graceLeftS(),
    underWay: proto.underWay, link: proto.link, closeCode: proto.closeCode, gen: proto.gen });
}
const shot = await renderer.snapshot('rgba');
return { sent, events, probes, stopCodes: STOP_CODES, maxClipboard: MAX_CLIPBOARD_CHARS, width: shot.width, height: shot.height };
"""


def test_protocol_half_plays_a_recorded_session(browser: Browser, server: ServerProcess) -> None:
    w, h = 64, 48
    pic = photo(w, h)
    head = struct.Struct(">BBIQHHH")
    rect = struct.Struct(">HHHHBI")
    broken_jpeg = b"\xff\xd8\xff\xe0" + bytes(40)
    frames = {
        1: Frame(1, 100, w, h, (Rect(0, 0, w, h, Enc.JPEG, encode_jpeg(pic, 0, 0, w, h, quality=90)), Rect.fill(0, 0, w, 4, (9, 9, 9))), FLAG_KEY).encode(),
        2: Frame(2, 200, w, h, (Rect.copy(0, 4, w, 20, 0, 0), Rect.fill(10, 10, 5, 5, (255, 0, 0)))).encode(),
        # outside the screen: the renderer refuses it whole
        3: head.pack(1, 0, 3, 300, w, h, 1) + rect.pack(60, 0, 10, 4, 2, 3) + b"abc",
        4: Frame(4, 400, w, h, (Rect(0, 0, 8, 8, Enc.PNG, encode_png(pic, 0, 0, 8, 8)),)).encode(),
        # a picture that does not decode beside a fill that does: drawn incomplete
        5: Frame(5, 500, w, h, (Rect(0, 0, 8, 8, Enc.JPEG, broken_jpeg), Rect.fill(20, 20, 4, 4, (0, 255, 0)))).encode(),
        6: Frame(6, 600, w, h, (Rect(8, 8, 8, 8, Enc.JPEG, broken_jpeg),)).encode(),
        7: Frame(7, 700, w, h, (Rect.fill(0, 40, w, 8, (1, 2, 3)),)).encode(),
    }
    def screen(message: bytes) -> bytes:
        return b"\x02" + message

    state = {"t": "screen.state", "session_id": "s", "status": "sharing", "agent": True, "monitors": [], "selected": 0,
             "watchers": [], "by": None, "control": "view", "control_by": None,
             "clipboard": {"from_visitor": True, "to_visitor": True}, "grace_left_s": None}
    stroke = {"t": "annotate", "op": "stroke", "id": "v-1", "tool": "pen", "color": "#9333ea", "width": 4, "points": [[1, 2], [3, 4]]}
    recording: list[dict[str, Any]] = [
        {"at": 0, "probe": True},
        {"at": 0, "connected": True},
        {"at": 0, "text": state},
        {"at": 0, "binary": b64(screen(frames[1]))},
        {"at": 0, "binary": b64(screen(frames[2]))},
        {"at": 0, "binary": b64(screen(Cursor(5, 6, 2, 1, 1, 0, bytes(range(8))).encode()))},
        {"at": 0, "binary": b64(screen(Pointer(30, 20).encode()))},
        {"at": 0, "draw": True},
        {"at": 10, "binary": b64(screen(frames[3]))},
        {"at": 10, "draw": True},
        {"at": 20, "binary": b64(screen(frames[4]))},
        {"at": 20, "draw": True},
        {"at": 500, "binary": b64(screen(frames[5]))},  # under REFRESH_GAP_MS after the last refresh
        {"at": 500, "draw": True},
        {"at": 1100, "binary": b64(screen(frames[6]))},  # past it
        {"at": 1100, "draw": True},
        # frame 7 arrives, then the connection drops before it is drawn
        {"at": 1200, "binary": b64(screen(frames[7]))},
        {"at": 1200, "disconnected": 1006, "retry": True},
        {"at": 1200, "probe": True},
        {"at": 1200, "connected": True},
        {"at": 1200, "draw": True},
        {"at": 1200, "probe": True},
        {"at": 1250, "text": state},
        {"at": 1300, "binary": b64(screen(struct.pack(">BHHHHHHI", 2, 0, 0, 2, 2, 0, 0, 15) + bytes(15)))},
        {"at": 1300, "binary": b64(b"\x09hello")},  # another channel: not the viewer's business
        {"at": 1300, "text": stroke},
        {"at": 1300, "text": json.dumps({"t": "clipboard", "text": "<b>not markup</b> ñ"})},
        {"at": 1300, "text": {"t": "clipboard"}},  # no text: ignored
        {"at": 1300, "text": {"t": "screen.stats", "rtt_ms": 42}},
        {"at": 1300, "text": {"t": "error", "code": "forbidden", "ref": "input", "message": "no"}},
        {"at": 1300, "text": "not json"},
        {"at": 1400, "clipboard": "hello"},
        {"at": 1400, "clipboard": "x", "times": limits.MAX_CLIPBOARD_CHARS + 1},
        {"at": 1400, "clipboard": "\U0001f600", "times": limits.MAX_CLIPBOARD_CHARS},  # 16000 characters, 32000 UTF-16 units
        {"at": 1400, "clipboard": ""},
        {"at": 1500, "text": {**state, "clipboard": {"from_visitor": True, "to_visitor": False}}},
        {"at": 1500, "clipboard": "hello"},
        {"at": 1500, "text": {**state, "clipboard": None}},
        {"at": 1500, "clipboard": "hello"},
        # the visitor's agent loses its link; the relay waits 57 s more
        {"at": 2000, "text": {**state, "agent": False, "grace_left_s": 57}},
        {"at": 2000, "probe": True},
        {"at": 3500, "probe": True},
        {"at": 2000 + 57_000 + 10, "probe": True},
        # Asking, no agent: lost only when the relay says it waits for one.
        {"at": 59_500, "text": {**state, "status": "asking", "agent": False}},
        {"at": 59_500, "probe": True},
        {"at": 59_500, "text": {**state, "status": "asking", "agent": False, "grace_left_s": 30}},
        {"at": 59_500, "probe": True},
        {"at": 60_000, "text": {**state, "status": "stopped", "by": "agent_lost", "agent": False, "grace_left_s": None}},
        {"at": 60_000, "probe": True},
        {"at": 60_001, "disconnected": 4010, "retry": False},
        {"at": 60_001, "probe": True},
    ]
    out = run_in_worker(browser, server, PROTOCOL_PLAYER, recording)
    ev = out["events"]

    def of(kind: str) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in ("type",)} for e in ev if e["type"] == kind]

    # What it asks to draw: every frame, in order, tagged with the connection it came on.
    assert [(f["seq"], f["gen"]) for f in of("frame")] == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (7, 1)]
    drawn = of("drawn")
    assert [(d["seq"], d["current"], d["sizeChanged"]) for d in drawn] == [
        (1, True, True), (2, True, False), (4, True, False), (7, False, False)]
    failed = of("failed")
    assert [(f["seq"], f["current"]) for f in failed] == [(3, True), (5, True), (6, True)]
    assert "outside the 64x48 screen" in failed[0]["message"]
    assert "1 of 2 rectangles of frame 5 not drawn: jpeg rectangle 8x8+0+0 would not decode" in failed[1]["message"]
    assert (out["width"], out["height"]) == (w, h)

    # What it sends: an ack per drawn or failed frame of the live connection, in order;
    # a key frame request after failures, at most one per REFRESH_GAP_MS; nothing for
    # frame 7, drawn after its connection was gone; the clipboard texts it allowed.
    assert [(m["t"], m.get("seq"), m["at"]) for m in out["sent"] if m["t"] != "clipboard"] == [
        ("screen.ack", 1, 0), ("screen.ack", 2, 0),
        ("screen.ack", 3, 10), ("screen.refresh", None, 10),
        ("screen.ack", 4, 20),
        ("screen.ack", 5, 500),
        ("screen.ack", 6, 1100), ("screen.refresh", None, 1100),
    ]
    clips = [m["text"] for m in out["sent"] if m["t"] == "clipboard"]
    assert clips == ["hello", "\U0001f600" * limits.MAX_CLIPBOARD_CHARS]
    assert [p["clipboard"] for p in out["probes"] if "clipboard" in p] == [
        "sent", "too_long", "sent", "empty", "not_allowed", "not_allowed"]

    # The pointer, the board, the clipboard, the readout, refusals; a bad cursor is dropped with a reason.
    assert of("cursor") == [{"at": 0, "kind": "cursor", "x": 5, "y": 6, "w": 2}, {"at": 0, "kind": "pointer", "x": 30, "y": 20, "w": None}]
    assert [m["message"] for m in of("malformed")] == ["FrameError: cursor image length does not match its size"]
    assert of("annotate") == [{"at": 1300, "op": "stroke", "id": "v-1"}]
    assert of("clipboard") == [{"at": 1300, "text": "<b>not markup</b> ñ", "arrived": 1300}]
    assert of("latency") == [{"at": 1300, "rttMs": 42}]
    assert of("problem") == [{"at": 1300, "code": "forbidden"}]

    # Links and states; the lost agent's countdown runs on the protocol's clock.
    assert [(e["link"], e["code"]) for e in of("link")] == [("open", None), ("reconnecting", 1006), ("open", None), ("closed", 4010)]
    states = of("state")
    assert [st["clipboard"] for st in states[1:4]] == [
        {"from_visitor": True, "to_visitor": True},
        {"from_visitor": True, "to_visitor": False},
        {"from_visitor": False, "to_visitor": False},  # clipboard: null -> nothing allowed
    ]
    assert [(st["status"], st["agent"], st["grace"]) for st in states[4:]] == [
        ("sharing", False, 57), ("asking", False, None), ("asking", False, 30), ("stopped", False, None)]
    probes = [p for p in out["probes"] if "status" in p]
    assert probes[0] == {"at": 0, "status": "connecting", "agentLost": False, "graceLeftS": None, "underWay": False,
                         "link": "connecting", "closeCode": None, "gen": 0}
    assert (probes[1]["link"], probes[1]["gen"], probes[2]["gen"]) == ("reconnecting", 2, 3)
    assert [(p["agentLost"], p["graceLeftS"], p["underWay"]) for p in probes[3:6]] == [(True, 57, False), (True, 56, False), (True, 0, False)]
    assert [(p["status"], p["agentLost"], p["graceLeftS"]) for p in probes[6:9]] == [
        ("asking", False, None), ("asking", True, 30), ("stopped", False, None)]
    assert (probes[9]["link"], probes[9]["closeCode"]) == ("closed", 4010)
    assert out["stopCodes"] == [1008, 4001, 4003, 4004, 4010]
    assert out["maxClipboard"] == limits.MAX_CLIPBOARD_CHARS


# --------------------------------------------------------------------------- decoders


DECODER_CHECKS = """
import { DECODERS, decoderFor } from '/static/viewer/decoders/index.js';
import { FrameError } from '/static/viewer/frame-error.js';

const out = { table: [...DECODERS].map(([enc, d]) => [enc, d.name]), cases: {} };
const rect = (r) => ({ ...r, payload: b64(r.payload) });
async function attempt(name, fn) {
  try {
    out.cases[name] = { ok: await fn() };
  } catch (err) {
    out.cases[name] = { error: `${err.name}: ${err.message}`, isFrameError: err instanceof FrameError };
  }
}
// Draws one rectangle with its decoder on a W x H canvas filled grey; returns the canvas's RGBA.
async function paint(r) {
  const canvas = new OffscreenCanvas(DATA.W, DATA.H);
  const ctx = canvas.getContext('2d', { alpha: false });
  ctx.fillStyle = 'rgb(128, 128, 128)';
  ctx.fillRect(0, 0, DATA.W, DATA.H);
  ctx.fillStyle = 'rgb(0, 0, 255)';
  ctx.fillRect(0, 0, 4, 4);  // something for COPY to copy
  const d = decoderFor(r.enc);
  d.check(r, { width: DATA.W, height: DATA.H });
  const decoded = d.decode ? await d.decode(r, d.createState ? d.createState() : undefined, { key: false, seq: 1 }) : null;
  d.draw(ctx, r, decoded, canvas);
  return Array.from(ctx.getImageData(0, 0, DATA.W, DATA.H).data);
}
for (const [name, r] of Object.entries(DATA.good)) await attempt(`good ${name}`, () => paint(rect(r)));
for (const [name, r] of Object.entries(DATA.bad)) await attempt(`bad ${name}`, () => paint(rect(r)));
await attempt('unknown encoding', () => decoderFor(9));
return out;
"""


def test_each_decoder_draws_its_encoding_and_rejects_malformed_payloads(browser: Browser, server: ServerProcess) -> None:
    W, H = 32, 16
    pic = photo(W, H)
    jpeg = encode_jpeg(pic, 0, 0, 16, 8, quality=95, subsampling="444")
    png = encode_png(pic, 0, 0, 16, 8)
    h264_encoder = H264Encoder(16, 8)
    h264_key, h264_delta = h264_encoder.encode(pic[0:8, 0:16]), h264_encoder.encode(pic[8:16, 0:16])

    def r(x: int, y: int, w: int, h: int, enc: int, payload: bytes) -> dict[str, Any]:
        return {"x": x, "y": y, "w": w, "h": h, "enc": enc, "payload": b64(payload)}

    good = {
        "jpeg": r(8, 4, 16, 8, Enc.JPEG, jpeg),
        "png": r(8, 4, 16, 8, Enc.PNG, png),
        "copy": r(20, 10, 4, 4, Enc.COPY, struct.pack(">HH", 0, 0)),
        "fill": r(2, 2, 5, 3, Enc.FILL, bytes((200, 10, 20))),
        "h264": r(8, 4, 16, 8, Enc.H264, h264_key),
    }
    bad = {
        "jpeg short": r(0, 0, 16, 8, Enc.JPEG, jpeg[:3]),
        "jpeg not a jpeg": r(0, 0, 16, 8, Enc.JPEG, png),
        "jpeg cut short": r(0, 0, 16, 8, Enc.JPEG, jpeg[:60]),
        "jpeg wrong size": r(0, 0, 8, 8, Enc.JPEG, jpeg),
        "png short": r(0, 0, 16, 8, Enc.PNG, png[:3]),
        "png not a png": r(0, 0, 16, 8, Enc.PNG, jpeg),
        "png cut short": r(0, 0, 16, 8, Enc.PNG, png[:40]),
        "png wrong size": r(0, 0, 16, 4, Enc.PNG, png),
        "copy length": r(0, 0, 4, 4, Enc.COPY, b"\x00\x00\x00"),
        "copy source": r(0, 0, 4, 4, Enc.COPY, struct.pack(">HH", 30, 0)),
        "fill length": r(0, 0, 4, 4, Enc.FILL, b"\x01\x02"),
        "h264 short": r(0, 0, 16, 8, Enc.H264, h264_key[:3]),
        "h264 not annex b": r(0, 0, 16, 8, Enc.H264, png),
        "h264 delta": r(0, 0, 16, 8, Enc.H264, h264_delta),
    }
    out = run_in_worker(browser, server, DECODER_CHECKS, {"W": W, "H": H, "good": good, "bad": bad})
    # The table covers every encoding the Python reference knows, with the same numbers.
    assert out["table"] == [[0, "jpeg"], [1, "copy"], [2, "fill"], [3, "png"], [4, "palette"], [5, "h264"]]
    assert sorted(e for e, _ in out["table"]) == sorted(int(e) for e in Enc)

    # Each decoder draws like the Python reference viewer (grey picture, blue corner).
    def expected(frame_rects: tuple[Rect, ...]) -> np.ndarray:
        ref = Canvas()
        ref.apply(Frame(1, 0, W, H, (Rect.fill(0, 0, W, H, (128, 128, 128)), Rect.fill(0, 0, 4, 4, (0, 0, 255)), *frame_rects), FLAG_KEY))
        return ref.rgb.astype(int)

    def got(name: str) -> np.ndarray:
        case = out["cases"][f"good {name}"]
        assert "ok" in case, case
        return np.array(case["ok"], dtype=np.uint8).reshape(H, W, 4)[:, :, :3].astype(int)

    assert np.abs(got("jpeg") - expected((Rect(8, 4, 16, 8, Enc.JPEG, jpeg),))).max() <= 6
    assert np.array_equal(got("png"), expected((Rect(8, 4, 16, 8, Enc.PNG, png),)))
    assert np.array_equal(got("copy"), expected((Rect.copy(20, 10, 4, 4, 0, 0),)))
    assert np.array_equal(got("fill"), expected((Rect.fill(2, 2, 5, 3, (200, 10, 20)),)))
    h264 = np.abs(got("h264") - expected((Rect(8, 4, 16, 8, Enc.H264, h264_key),)))
    assert h264.mean() < 1.5 and h264.max() < 8  # as tests/e2e/test_video_regions.py states

    messages = {
        "jpeg short": "jpeg rectangle payload is too short",
        "jpeg not a jpeg": "jpeg rectangle 16x8+0+0 is not a JPEG picture (it does not start with FF D8 FF)",
        "jpeg cut short": "jpeg rectangle 16x8+0+0 would not decode (",
        "jpeg wrong size": "jpeg rectangle 8x8+0+0 holds a 16x8 picture",
        "png short": "png rectangle payload is too short",
        "png not a png": "png rectangle 16x8+0+0 is not a PNG picture (it does not start with 89 50 4E 47 0D 0A 1A 0A)",
        "png cut short": "png rectangle 16x8+0+0 would not decode (",
        "png wrong size": "png rectangle 16x4+0+0 holds a 16x8 picture",
        "copy length": "copy rectangle payload must be 4 bytes",
        "copy source": "copy source is outside the screen",
        "fill length": "fill rectangle payload must be 3 bytes",
        "h264 short": "h264 rectangle payload is too short",
        "h264 not annex b": "h264 rectangle 16x8+0+0 is not H.264 in Annex B form (no start code)",
        "h264 delta": "h264 rectangle 16x8+0+0 is a delta with no key unit before it",
    }
    for name, text in messages.items():
        case = out["cases"][f"bad {name}"]
        assert case.get("isFrameError") is True, (name, case)
        assert case["error"].startswith(f"FrameError: {text}"), (name, case)
    assert out["cases"]["unknown encoding"]["error"] == "FrameError: unknown rectangle encoding 9"


# --------------------------------------------------------------------------- the stroke model


STROKE_CHECKS = """
import { MAX_STROKES, StrokeBoard, cleanStroke } from '/static/viewer/strokes.js';

let t = 0;
let online = true;
const sent = [];
const changes = [];
const board = new StrokeBoard({ send: (m) => { if (!online) return false; sent.push(m); return true; }, now: () => t });
board.addEventListener('change', (e) => changes.push(e.detail.size));
const ids = () => [...board.strokes.keys()];
const stroke = (id, extra = {}) => ({ t: 'annotate', op: 'stroke', id, tool: 'pen', color: '#FF0000', width: 4, points: [[1, 1], [5, 5]], ...extra });
const steps = {};

board.apply(stroke('v-1'));
board.apply(stroke('other-1'));
board.apply(stroke('v-1', { color: '#00ff00' }));  // a replay or an edit: replaces, moves to the top
steps.replay = { ids: ids(), color: board.strokes.get('v-1').stroke.color, origins: ids().map((id) => board.origin(id)) };

for (const bad of [{ tool: 'spray' }, { color: 'red' }, { points: [] }, { points: [[1, -1]] }, { points: [[1.5, 2]] }, { points: 'x' }]) {
  board.apply(stroke('bad', bad));
}
board.apply({ t: 'annotate', op: 'nonsense' });
board.apply({ t: 'chat', op: 'clear' });
steps.ignored = ids();

steps.draw = board.draw(stroke('mine-1', { fade_s: 0 }));
board.draw(stroke('mine-2'));
steps.mine = { ids: ids(), origin: board.origin('mine-2'), canUndo: board.canUndo };
board.apply({ t: 'annotate', op: 'undo', id: 'mine-2' });  // taken back elsewhere (another of the rep's viewers)
steps.undo = board.undo();  // takes back mine-1, the last of the rep's still there
steps.afterUndo = { ids: ids(), canUndo: board.canUndo, last: sent[sent.length - 1] };
steps.undoNothing = board.undo();

online = false;
steps.offlineDraw = board.draw(stroke('mine-3'));
steps.offlineClear = board.clear();
steps.offline = ids();
online = true;

board.apply(stroke('f', { fade_s: 2 }));
t = 1999;
steps.fadingBefore = { fading: board.expire(), ids: ids() };
t = 2000;
steps.fadingAfter = { fading: board.expire(), ids: ids() };

steps.clear = board.clear();
steps.afterClear = { size: board.size, last: sent[sent.length - 1] };

for (let i = 0; i < MAX_STROKES + 5; i += 1) board.apply(stroke(`s${i}`));
steps.capped = { size: board.size, first: ids()[0] };
board.forget();
steps.forgot = board.size;
steps.long = cleanStroke(stroke('long', { points: Array.from({ length: 2500 }, (_, i) => [i, i]), width: 900, fade_s: 1e9 }));
steps.long = { points: steps.long.points.length, width: steps.long.width, fade: steps.long.fade_s };
return { steps, sent: sent.map((m) => [m.op, m.id || null]), changes: changes.length };
"""


def test_stroke_model_works_without_any_dom(browser: Browser, server: ServerProcess) -> None:
    out = run_in_worker(browser, server, STROKE_CHECKS)
    s = out["steps"]
    assert s["replay"] == {"ids": ["other-1", "v-1"], "color": "#00ff00", "origins": ["other", "visitor"]}
    assert s["ignored"] == ["other-1", "v-1"]
    assert s["draw"] is True
    assert s["mine"] == {"ids": ["other-1", "v-1", "mine-1", "mine-2"], "origin": "mine", "canUndo": True}
    assert s["undo"] is True
    assert s["afterUndo"] == {"ids": ["other-1", "v-1"], "canUndo": False, "last": {"t": "annotate", "op": "undo", "id": "mine-1"}}
    assert s["undoNothing"] is False
    # Not sent: nothing changes (the rep is told by the page).
    assert (s["offlineDraw"], s["offlineClear"], s["offline"]) == (False, False, ["other-1", "v-1"])
    assert s["fadingBefore"] == {"fading": True, "ids": ["other-1", "v-1", "f"]}
    assert s["fadingAfter"] == {"fading": False, "ids": ["other-1", "v-1"]}
    assert s["clear"] is True and s["afterClear"] == {"size": 0, "last": {"t": "annotate", "op": "clear"}}
    assert s["capped"] == {"size": limits.MAX_STROKES, "first": "s5"}
    assert s["forgot"] == 0
    assert s["long"] == {"points": limits.MAX_STROKE_POINTS, "width": 64, "fade": 3600}
    assert out["sent"] == [["stroke", "mine-1"], ["stroke", "mine-2"], ["undo", "mine-1"], ["clear", None]]
    assert out["changes"] > 0


# --------------------------------------------------------------------------- limits shared with Python


def test_viewer_limits_match_python(browser: Browser, server: ServerProcess) -> None:
    """The modules' limits, as the browser sees them, are Python's (they come
    from web/shared/wire.js, generated from protocol/limits.py)."""
    got = run_in_worker(browser, server, """
import { MAX_CLIPBOARD_CHARS } from '/static/viewer/protocol.js';
import { MAX_POINTS, MAX_STROKES } from '/static/viewer/strokes.js';
import { MAX_EVENTS } from '/static/viewer/input.js';
import { MAX_SIDE, MAX_RECTS } from '/static/viewer/frames.js';
return { MAX_CLIPBOARD_CHARS, MAX_POINTS, MAX_STROKES, MAX_EVENTS, MAX_SIDE, MAX_RECTS };
""")
    assert got == {
        "MAX_CLIPBOARD_CHARS": limits.MAX_CLIPBOARD_CHARS,
        "MAX_POINTS": limits.MAX_STROKE_POINTS,
        "MAX_STROKES": limits.MAX_STROKES,
        "MAX_EVENTS": limits.MAX_INPUT_EVENTS_PER_MESSAGE,
        "MAX_SIDE": limits.MAX_SCREEN_SIDE,
        "MAX_RECTS": screen.MAX_RECTS,
    }


# --------------------------------------------------------------------------- zoom steps

ZOOM_CHECKS = """
import { ZOOM_STEPS, nextStep, parseMode } from '/static/viewer/zoom.js';
return {
  steps: ZOOM_STEPS,
  parsed: ['fit', '100', '150', '33', '', null, 'x', '1e9', '400'].map(parseMode),
  up: [40, 50, 62, 100, 399.7, 400].map((p) => nextStep(p, 1)),
  down: [40, 50, 62, 100, 100.3, 500].map((p) => nextStep(p, -1)),
};
"""


def test_zoom_steps_and_a_stored_mode_without_any_dom(browser: Browser, server: ServerProcess) -> None:
    out = run_in_worker(browser, server, ZOOM_CHECKS)
    assert out["steps"] == [50, 75, 100, 125, 150, 200, 300, 400]
    # Only a known step comes back from storage; anything else is fit.
    assert out["parsed"] == ["fit", 100, 150, "fit", "fit", "fit", "fit", "fit", 400]
    # From fit's odd scales the next step up or down; the ends hold.
    assert out["up"] == [50, 75, 75, 125, 400, 400]
    assert out["down"] == [50, 50, 50, 75, 75, 400]

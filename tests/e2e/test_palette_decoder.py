"""The browser's PALETTE decoder (``viewer/decoders/palette.js``) in Debian's
Chromium, inside a module Worker as the viewer runs it: on the same
payloads it gives exactly the pixels of the Python reference decoder (both
forms, every index width, 1x1 and odd sizes, a 1080p text key frame,
character cells), and malformed payloads (cut, corrupt, a deflate bomb,
indices past the palette, runs past the rectangle, bad cell grids) reject with a FrameError naming the problem, as
the Python decoder raises a ProtocolError."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser
from test_viewer_modules import b64, run_in_worker

from desklink.agent.encode.palette import decode_palette, encode_palette
from desklink.errors import ProtocolError
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

BODY = """
import { decoderFor } from '/static/viewer/decoders/index.js';
import { FrameError } from '/static/viewer/frame-error.js';

const d = decoderFor(4);
const out = { name: d.name, good: {}, bad: {} };
const toB64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
for (const [name, c] of Object.entries(DATA.good)) {
  const rect = { x: 0, y: 0, w: c.w, h: c.h, enc: 4, payload: b64(c.payload) };
  d.check(rect, { width: c.w, height: c.h });
  const canvas = new OffscreenCanvas(c.w, c.h);
  const ctx = canvas.getContext('2d', { alpha: false });
  const image = await d.decode(rect);
  d.draw(ctx, rect, image, canvas);
  out.good[name] = toB64(new Uint8Array(ctx.getImageData(0, 0, c.w, c.h).data.buffer));
}
for (const [name, c] of Object.entries(DATA.bad)) {
  const rect = { x: 0, y: 0, w: c.w, h: c.h, enc: 4, payload: b64(c.payload) };
  try {
    d.check(rect, { width: c.w, height: c.h });
    await d.decode(rect);
    out.bad[name] = { ok: true };
  } catch (err) {
    out.bad[name] = { isFrameError: err instanceof FrameError, error: `${err.name}: ${err.message}` };
  }
}
return out;
"""


def picture(w: int, h: int, colours: int, seed: int, run: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
    index = np.repeat(rng.integers(0, colours, (h, -(-w // run))), run, axis=1)[:, :w]
    return palette[index]


def text_screen(w: int, h: int) -> np.ndarray:
    """A terminal-like picture: anti-aliased glyph shades on a dark background."""
    rng = np.random.default_rng(5)
    img = np.zeros((h, w, 4), np.uint8)
    img[:, :, :3] = (40, 30, 20)
    shades = rng.integers(0, 256, (24, 3), dtype=np.uint8)
    for row in range(0, h - 14, 17):
        for col in range(0, w - 8, 9):
            if rng.random() < 0.6:
                img[row : row + 14, col : col + 8, :3] = shades[rng.integers(0, 24, (14, 8))] * (rng.random((14, 8, 1)) < 0.4)
    img[:, :, 3] = 255
    return img


def raw(body: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush()


def head(form: int, colours: int) -> bytes:
    return struct.pack(">BB", form, colours - 1)


def pal(colours: int) -> bytes:
    return bytes(range(3 * colours))


def test_browser_decoder_matches_the_python_decoder(browser: Browser, server: ServerProcess) -> None:
    pictures: dict[str, tuple[np.ndarray, int, int]] = {"one pixel": (picture(1, 1, 1, 1, 1), 1, 1)}
    for colours in (2, 3, 4, 9, 16, 17, 100, 256):
        for run, form in ((1, "packed"), (40, "runs")):
            w, h = 37 + colours % 11, 5 + colours % 7  # odd sizes: spare bits in packed rows
            pictures[f"{colours} colours {form}"] = (picture(w, h, colours, colours, run), w, h)
    pictures["a run past 256"] = (picture(1001, 3, 2, 7, 700), 1001, 3)
    pictures["text 1920x1080"] = (text_screen(1920, 1080), 1920, 1080)
    pictures["cells 1920x1080"] = (grid_text(1920, 1080, 9, 19, 1), 1920, 1080)
    pictures["cells odd 301x97"] = (grid_text(301, 97, 7, 13, 2), 301, 97)
    pictures["cells 600 glyphs"] = (grid_text(1920, 1080, 9, 19, 6, glyphs=600), 1920, 1080)  # two-byte cell numbers
    good: dict[str, dict[str, Any]] = {}
    expected: dict[str, np.ndarray] = {}
    for name, (img, w, h) in pictures.items():
        payload = encode_palette(img, 0, 0, w, h, max_colours=256)
        assert payload is not None, name
        good[name] = {"w": w, "h": h, "payload": b64(payload)}
        expected[name] = decode_palette(payload, w, h)
        assert np.array_equal(expected[name], img[:, :, 2::-1]), name
    forms = {name: base64.b64decode(c["payload"])[0] for name, c in good.items()}
    assert {0, 1, 2} <= set(forms.values())  # every form is exercised
    assert forms["cells 1920x1080"] == forms["cells odd 301x97"] == forms["cells 600 glyphs"] == 2

    bad_cases = _bad()
    out = run_in_worker(browser, server, BODY, {"good": good, "bad": {k: {"w": w, "h": h, "payload": b64(p)} for k, (p, w, h, _) in bad_cases.items()}})
    assert out["name"] == "palette"
    for name, want in expected.items():
        w, h = want.shape[1], want.shape[0]
        got = np.frombuffer(base64.b64decode(out["good"][name]), np.uint8).reshape(h, w, 4)
        assert np.array_equal(got[:, :, :3], want), name
        assert (got[:, :, 3] == 255).all(), name

    for name, (payload, w, h, message) in bad_cases.items():
        with pytest.raises(ProtocolError) as info:
            decode_palette(payload, w, h)
        case = out["bad"][name]
        assert case.get("isFrameError") is True, (name, case)
        # Same problem in the same words after the rectangle's name (the browser's names its position too).
        assert str(info.value).startswith(f"palette rectangle {w}x{h}{message}"), (name, str(info.value))
        assert case["error"].startswith(f"FrameError: palette rectangle {w}x{h}+0+0{message}"), (name, case)


def _bad() -> dict[str, tuple[bytes, int, int, str]]:
    good = encode_palette(picture(16, 8, 3, 1, 1), 0, 0, 16, 8) or b""
    return {
        "palette cut": (head(0, 4) + raw(bytes(9)), 16, 8, ": the data ends inside its 4-colour palette"),
        "unknown form": (head(7, 2) + raw(b"\x00" * 32), 16, 8, ": unknown form 7"),
        # Deflate errors: the wording after "the deflate data" is the inflater's own.
        "corrupt deflate": (head(0, 2) + b"\xff\xff\xff\xff", 16, 8, ": the deflate data"),
        "cut short": (good[:-3], 16, 8, ": the deflate data"),
        "stray bytes": (good + b"\x00\x01", 16, 8, ": the deflate data"),
        "bomb": (head(1, 2) + raw(b"\x00" * (4 << 20)), 16, 8, ": the deflate data inflates past 262 bytes"),
        "packed too short": (head(0, 2) + raw(pal(2) + b"\x00" * 15), 16, 8, ": packed indices are 15 bytes, expected 16"),
        "packed index past palette": (head(0, 3) + raw(pal(3) + b"\xff" * 32), 16, 8, ": index 3 is past the 3-colour palette"),
        "runs index past palette": (head(1, 2) + raw(pal(2) + bytes([0, 2, 63, 63])), 16, 8, ": index 2 is past the 2-colour palette"),
        "runs past the rectangle": (head(1, 2) + raw(pal(2) + bytes([0, 1, 255, 0])), 16, 8, ": runs cover 257 pixels, the rectangle has 128"),
        "runs short": (head(1, 2) + raw(pal(2) + bytes([0, 1, 10, 10])), 16, 8, ": runs cover 22 pixels, the rectangle has 128"),
        "runs odd": (head(1, 2) + raw(pal(2) + bytes([0, 1, 10])), 16, 8, ": run data of 3 bytes is not whole (index, length) pairs"),
        # CELLS (form 2): u8 cw | u8 ch | u8 ox | u8 oy | u16 k | cells | map
        "cells header cut": (head(2, 2) + raw(pal(2) + b"\x08\x08\x00"), 16, 8, ": the cell grid's header is cut short"),
        "cells too large": (head(2, 2) + raw(pal(2) + grid_head(65, 8, 0, 0, 1)), 16, 8, ": cells of 65x8 are outside 1..64"),
        "cells empty": (head(2, 2) + raw(pal(2) + grid_head(0, 8, 0, 0, 1)), 16, 8, ": cells of 0x8 are outside 1..64"),
        "cells padding": (head(2, 2) + raw(pal(2) + grid_head(8, 8, 8, 0, 1)), 16, 8, ": padding 8,0 is not inside a 8x8 cell"),
        "cells none": (head(2, 2) + raw(pal(2) + grid_head(8, 8, 0, 0, 0)), 16, 8, ": 0 distinct cells for a grid of 2"),
        "cells too many": (head(2, 2) + raw(pal(2) + grid_head(8, 8, 0, 0, 3)), 16, 8, ": 3 distinct cells for a grid of 2"),
        "cells length": (head(2, 2) + raw(pal(2) + grid_head(8, 8, 0, 0, 1) + bytes(65)), 16, 8, ": the cell grid is 71 bytes, expected 72"),
        "cells index past palette": (head(2, 2) + raw(pal(2) + grid_head(8, 8, 0, 0, 1) + bytes(63) + b"\x02\x00\x00"), 16, 8,
                                     ": index 2 is past the 2-colour palette"),
        "cells number past": (head(2, 2) + raw(pal(2) + grid_head(8, 8, 0, 0, 1) + bytes(64) + b"\x00\x01"), 16, 8,
                              ": cell number 1 is past its 1 cells"),
        "cells bomb": (head(2, 2) + raw(b"\x00" * (4 << 20)), 16, 8, ": the deflate data inflates past 16839 bytes"),
    }


def grid_head(cw: int, ch: int, ox: int, oy: int, k: int) -> bytes:
    return struct.pack(">BBBBH", cw, ch, ox, oy, k)


def grid_text(w: int, h: int, cw: int, ch: int, seed: int, glyphs: int = 30) -> np.ndarray:
    """Text on a character grid (cells of cw x ch from the top left, a blank
    first row and column in each), ``glyphs`` glyphs, a few in another colour."""
    rng = np.random.default_rng(seed)
    shapes = rng.random((glyphs, ch, cw)) < 0.35
    shapes[:, 0, :] = False
    shapes[:, :, 0] = False
    shapes[0] = False
    nx, ny = -(-w // cw), -(-h // ch)
    codes = rng.integers(0, glyphs, (ny, nx))
    ink = shapes[codes].transpose(0, 2, 1, 3).reshape(ny * ch, nx * cw)[:h, :w]
    tint = np.repeat(np.repeat(1 + (codes % 5 == 0), ch, axis=0), cw, axis=1)[:h, :w]
    colours = np.array([[30, 20, 10, 255], [220, 220, 220, 255], [60, 200, 240, 255]], np.uint8)
    return colours[np.where(ink, tint, 0)]


PAINTER = """
import { FramePainter } from '/static/viewer/painter.js';

const painter = new FramePainter(new OffscreenCanvas(1, 1));
const results = [];
for (const message of DATA.messages) results.push(await painter.paint(b64(message)));
const shot = await painter.snapshot('rgba');
let s = '';
const bytes = new Uint8Array(shot.data.buffer);
for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
return { results: results.map((r) => [r.seq, r.key, r.incomplete]), width: shot.width, height: shot.height, rgba: btoa(s) };
"""


def test_the_viewer_paints_encoder_frames_exactly(browser: Browser, server: ServerProcess) -> None:
    """Frames from the real ScreenEncoder on text (a PALETTE key frame, a
    scroll: COPY plus PALETTE, typing: a tight PALETTE box) through the
    viewer's FramePainter, as the decoder worker runs it: the picture is the
    Python reference viewer's, pixel for pixel."""
    from desklink.agent.encode import Canvas, ScreenEncoder
    from desklink.protocol.screen import Enc, Frame

    w, h = 640, 360
    first = text_screen(w, h)
    scrolled = np.concatenate((first[34:], text_screen(w, 34 + 17)[:34]), axis=0)
    typed = scrolled.copy()
    typed[300:314, 100:108, :3] = (250, 250, 250)
    typed[303:310, 102:105, :3] = (10, 200, 10)  # a two-colour glyph
    encoder = ScreenEncoder(w, h)
    canvas = Canvas()
    frames: list[Frame] = []
    for seq, (picture, now) in enumerate(((first, 0.0), (scrolled, 0.05), (typed, 0.1)), start=1):
        encoder.update(picture, now)
        frame = encoder.next_frame(seq, now, seq)
        assert frame is not None
        frames.append(frame)
        canvas.apply(frame)
        assert np.array_equal(canvas.image[:, :, :3], picture[:, :, :3]), seq
    encs = [{r.enc for r in f.rects} for f in frames]
    assert encs[0] == {Enc.PALETTE} and Enc.COPY in encs[1] and encs[2] == {Enc.PALETTE}, encs
    out = run_in_worker(browser, server, PAINTER, {"messages": [b64(b"\x02" + f.encode()) for f in frames]})
    assert out["results"] == [[1, True, False], [2, False, False], [3, False, False]]
    got = np.frombuffer(base64.b64decode(out["rgba"]), np.uint8).reshape(h, w, 4)
    assert np.array_equal(got[:, :, :3], canvas.rgb)


STREAM = """
import { decoderFor } from '/static/viewer/decoders/index.js';
import { FrameError } from '/static/viewer/frame-error.js';
import { FramePainter } from '/static/viewer/painter.js';

const toB64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
async function play(messages) {
  const painter = new FramePainter(new OffscreenCanvas(1, 1));
  const results = [];
  for (const message of messages) {
    try {
      const r = await painter.paint(b64(message));
      results.push([r.seq, r.key, r.incomplete]);
    } catch (err) {
      results.push([err.seq, null, String(err.message)]);
    }
  }
  const shot = await painter.snapshot('rgba');
  return { results, rgba: toB64(new Uint8Array(shot.data.buffer)) };
}
const d = decoderFor(4);
const bad = {};
for (const [name, c] of Object.entries(DATA.bad)) {
  const state = d.createState();
  const rect = { x: 0, y: 0, w: c.w, h: c.h, enc: 4, payload: b64(c.payload) };
  const good = { x: 0, y: 0, w: 16, h: 8, enc: 4, payload: b64(DATA.good) };
  const entry = {};
  try {
    d.check(rect, { width: c.w, height: c.h });
    await d.decode(rect, state, { key: true });
    entry.ok = true;
  } catch (err) {
    entry.isFrameError = err instanceof FrameError;
    entry.error = `${err.name}: ${err.message}`;
  }
  try {  // the stream is broken until the next KEY frame
    await d.decode(good, state, { key: false });
    entry.after = 'decoded';
  } catch (err) {
    entry.after = `${err.name}: ${err.message}`;
  }
  const image = await d.decode(good, state, { key: true });
  entry.recovered = toB64(new Uint8Array(image.data.buffer));
  bad[name] = entry;
}
return { all: await play(DATA.all), late: await play(DATA.late), broken: await play(DATA.broken), plain: await play(DATA.plain), bad };
"""


def test_streamed_frames_decode_as_in_python(browser: Browser, server: ServerProcess) -> None:
    """A sequence of the real encoder's frames with STREAMED PALETTE
    rectangles and KEY frames among them, through the viewer's FramePainter:
    the same pixels as the Python Canvas, from the start and for a viewer
    that joins at a later KEY frame; a corrupted piece fails its frame and
    the stream stays broken (frames incomplete) until the next KEY frame;
    malformed pieces fail as in Python."""
    from desklink.agent.encode import Canvas, ScreenEncoder
    from desklink.agent.encode.palette import STREAMED, PaletteInflater, PaletteStream
    from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect

    w, h = 480, 270
    base = text_screen(w, h)
    pictures = [base]
    for i in range(9):
        img = pictures[-1].copy()
        img[200:214, 20 + 9 * i : 28 + 9 * i, :3] = (250, 250, 250)
        img[203:210, 22 + 9 * i : 25 + 9 * i, :3] = (10, 200 - 10 * i, 10)
        img[206:208, 20 + 9 * i : 24 + 9 * i, :3] = (90, 90, 200)
        pictures.append(img)
    keys = {0, 4, 7}
    encoder = ScreenEncoder(w, h)
    frames: list[Frame] = []
    for seq, img in enumerate(pictures, start=1):
        if seq - 1 in keys:
            encoder.request_key()
        encoder.update(img, seq * 0.05)
        frame = encoder.next_frame(seq, seq * 0.05, seq)
        assert frame is not None and frame.key == (seq - 1 in keys)
        frames.append(frame)
    assert all(any(r.enc is Enc.PALETTE and r.payload[0] & STREAMED for r in f.rects) for f in frames)
    canvas, late = Canvas(), Canvas()
    for i, frame in enumerate(frames):
        canvas.apply(frame)
        if i >= 4:
            late.apply(frame)
    assert np.array_equal(canvas.image, late.image) and np.array_equal(canvas.image[:, :, :3], pictures[-1][:, :, :3])
    # Frame 6 (index 5) with its piece corrupted: it and frame 7 fail, frame 8 (KEY) recovers.
    r0 = frames[5].rects[0]
    corrupt = Rect(r0.x, r0.y, r0.w, r0.h, r0.enc, r0.payload[:2] + b"\xff\xff\xff\xff" + r0.payload[6:])
    broken = [*frames[:5], Frame(6, 6, w, h, (corrupt, *frames[5].rects[1:]), frames[5].flags), *frames[6:]]
    wire = lambda fs: [b64(b"\x02" + f.encode()) for f in fs]  # noqa: E731
    # A KEY frame with no PALETTE rectangle (a FILL) after a broken piece still restarts the stream.
    stream = PaletteStream()
    glyphs = [picture(16, 8, 3, s, 1) for s in (3, 4, 5)]
    pieces = [encode_palette(g, 0, 0, 16, 8, stream=stream) or b"" for g in glyphs[:2]]
    stream.reset()
    pieces.append(encode_palette(glyphs[2], 0, 0, 16, 8, stream=stream) or b"")
    fill = Rect.fill(0, 0, 32, 8, (1, 2, 3))
    plain = [
        Frame(1, 1, 32, 8, (fill, Rect(0, 0, 16, 8, Enc.PALETTE, pieces[0])), FLAG_KEY),
        Frame(2, 2, 32, 8, (Rect(16, 0, 16, 8, Enc.PALETTE, pieces[1][:2] + b"\xff\xff\xff\xff" + pieces[1][6:]),), 0),
        Frame(3, 3, 32, 8, (fill,), FLAG_KEY),
        Frame(4, 4, 32, 8, (Rect(16, 0, 16, 8, Enc.PALETTE, pieces[2]),), 0),
    ]
    plain_canvas = Canvas()
    for i, f in enumerate(plain):
        if i == 1:
            with pytest.raises(ProtocolError, match="corrupt"):
                plain_canvas.apply(f)
        else:
            plain_canvas.apply(f)
    assert np.array_equal(plain_canvas.image[:, 16:, :3], glyphs[2][:, :, :3])
    good_img = picture(16, 8, 3, 2, 1)
    good = encode_palette(good_img, 0, 0, 16, 8, stream=PaletteStream()) or b""
    bad_cases = streamed_bad()
    out = run_in_worker(browser, server, STREAM, {
        "all": wire(frames), "late": wire(frames[4:]), "broken": wire(broken), "plain": wire(plain), "good": b64(good),
        "bad": {k: {"w": bw, "h": bh, "payload": b64(p)} for k, (p, bw, bh, _) in bad_cases.items()},
    })
    want = canvas.rgb
    for name in ("all", "late"):
        got = np.frombuffer(base64.b64decode(out[name]["rgba"]), np.uint8).reshape(h, w, 4)
        assert np.array_equal(got[:, :, :3], want), name
        assert all(r[2] is False for r in out[name]["results"]), out[name]["results"]
    results = out["broken"]["results"]
    assert [r[0] for r in results] == list(range(1, 11))
    assert all(r[2] is False for r in results[:5] + results[7:]), results
    assert "the deflate data is corrupt" in results[5][2], results[5]
    assert "no key frame (or after an error) before it" in results[6][2], results[6]
    got = np.frombuffer(base64.b64decode(out["broken"]["rgba"]), np.uint8).reshape(h, w, 4)
    assert np.array_equal(got[:, :, :3], want)  # the KEY frame 8 and what follows put it right
    results = out["plain"]["results"]
    assert [r[2] for r in results[:1] + results[2:]] == [False, False, False], results
    assert "corrupt" in results[1][2], results
    got = np.frombuffer(base64.b64decode(out["plain"]["rgba"]), np.uint8).reshape(8, 32, 4)
    assert np.array_equal(got[:, :, :3], plain_canvas.rgb)
    for name, (payload, bw, bh, message) in bad_cases.items():
        inflater = PaletteInflater()
        inflater.reset()
        with pytest.raises(ProtocolError) as info:
            decode_palette(payload, bw, bh, inflater)
        assert str(info.value).startswith(f"palette rectangle {bw}x{bh}{message}"), (name, str(info.value))
        case = out["bad"][name]
        assert case.get("isFrameError") is True, (name, case)
        assert case["error"].startswith(f"FrameError: palette rectangle {bw}x{bh}+0+0{message}"), (name, case)
        if name != "unknown form":
            assert "no key frame (or after an error) before it" in case["after"], (name, case)
        rec = np.frombuffer(base64.b64decode(case["recovered"]), np.uint8).reshape(8, 16, 4)
        assert np.array_equal(rec[:, :, :3], good_img[:, :, 2::-1]), name


def streamed_bad() -> dict[str, tuple[bytes, int, int, str]]:
    """Malformed streamed payloads, each the first piece after a KEY frame
    (as tests/agent/test_palette_stream.py): (payload, w, h, message after
    the rectangle's name)."""
    from desklink.agent.encode.palette import STREAMED, PaletteStream

    def piece(data: bytes) -> bytes:
        z = zlib.compressobj(6, zlib.DEFLATED, -15)
        return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)

    good = encode_palette(picture(16, 8, 3, 1, 1), 0, 0, 16, 8, stream=PaletteStream()) or b""
    return {
        "no flush point": (good[:-3], 16, 8, ": the streamed deflate data does not end at a flush point"),
        "corrupt": (bytes([STREAMED, 1]) + b"\xff\xff\xff\xff\x00\x00\xff\xff", 16, 8, ": the deflate data"),
        "short": (bytes([STREAMED, 1]) + piece(pal(2) + b"\x00" * 15), 16, 8, ": packed indices are 15 bytes, expected 16"),
        "too long": (bytes([STREAMED | 1, 1]) + piece(pal(2) + bytes(300)), 16, 8, ": the deflate data inflates past 262 bytes"),
        "bomb": (bytes([STREAMED | 1, 1]) + piece(bytes(4 << 20)), 16, 8, ": the deflate data inflates past 262 bytes"),
        "cut mid-stream": (bytes([STREAMED, 1]) + piece(pal(2) + b"\x00" * 16)[:5] + b"\x00\x00\xff\xff", 16, 8, ": "),
        "unknown form": (bytes([STREAMED | 7, 1]) + piece(pal(2) + bytes(16)), 16, 8, ": unknown form 7"),
        "final block": (bytes([STREAMED, 1]) + piece(pal(2) + bytes(16)) + b"\x01\x00\x00\xff\xff", 16, 8,
                        ": the streamed deflate data ends its stream"),
    }


def test_cells_frames_from_the_encoder_paint_exactly(browser: Browser, server: ServerProcess) -> None:
    """The real ScreenEncoder on text on a character grid: a key frame of
    cells, the text scrolled by three lines (a COPY and the uncovered lines,
    as cells on the grid kept from the key frame), a new page (cells again,
    through the same deflate stream), then a page shifted off the grid by a
    pixel (the grid found afresh). The viewer's FramePainter paints what
    the Python Canvas does, pixel for pixel."""
    from desklink.agent.encode import Canvas, ScreenEncoder
    from desklink.agent.encode.palette import STREAMED
    from desklink.protocol.screen import Enc, Frame

    w, h = 640, 360
    first = grid_text(w, h + 57, 9, 19, 3)
    pages = [first[:h], first[57 : 57 + h], grid_text(w, h, 9, 19, 4)]
    shifted = np.empty_like(pages[2])
    shifted[:, :, :] = pages[2][0, 0]
    shifted[1:, 2:] = grid_text(w, h, 9, 19, 5)[:-1, :-2]
    pages.append(shifted)
    encoder = ScreenEncoder(w, h)
    canvas = Canvas()
    frames: list[Frame] = []
    for seq, picture in enumerate(pages, start=1):
        encoder.update(picture, seq * 0.05)
        frame = encoder.next_frame(seq, seq * 0.05, seq)
        assert frame is not None
        frames.append(frame)
        canvas.apply(frame)
        assert np.array_equal(canvas.image[:, :, :3], picture[:, :, :3]), seq
    cells = [[r for r in f.rects if r.enc is Enc.PALETTE and r.payload[0] == 2 | STREAMED] for f in frames]
    assert all(cells[i] for i in (0, 2, 3)), [[(r.enc, r.payload[:1]) for r in f.rects] for f in frames]
    assert any(r.enc is Enc.COPY for r in frames[1].rects)
    out = run_in_worker(browser, server, PAINTER, {"messages": [b64(b"\x02" + f.encode()) for f in frames]})
    assert [r[2] for r in out["results"]] == [False] * 4, out["results"]
    got = np.frombuffer(base64.b64decode(out["rgba"]), np.uint8).reshape(h, w, 4)
    assert np.array_equal(got[:, :, :3], canvas.rgb)

// Encoding 4, PALETTE: lossless text and UI (src/desklink/agent/encode/palette.py
// is the reference and says why). The payload is
//
//   u8 form | u8 ncolours-1 | deflate_raw(rgb[ncolours * 3] | body)
//   form 0 PACKED: h rows of ceil(w * bits / 8) bytes, indices most
//                  significant bits first; bits = 1, 2, 4, 8 for
//                  ncolours <= 2, 4, 16, 256
//   form 1 RUNS:   idx[k] | len_minus_1[k]: runs of 1..256 pixels in reading
//                  order, adding up to exactly w * h
//   form 2 CELLS:  character cells (src/desklink/agent/encode/cells.py):
//                  u8 cw | u8 ch | u8 ox | u8 oy | u16 k | cell[k] | map[nx * ny]
//                  cells of cw x ch (1..MAX_CELL) 8-bit indices; the grid is
//                  padded by ox, oy (< cw, ch) at the left and top and to
//                  whole cells at the right and bottom: nx = ceil((ox + w) / cw),
//                  ny = ceil((oy + h) / ch); map holds each grid cell's number
//                  (u8 when k <= 256, else u16 big-endian), each below k
//   form | 0x80    STREAMED: the deflate data is the next piece of the agent
//                  session's one raw-deflate stream, ending at a sync flush
//                  (00 00 ff ff); the stream restarts at every KEY frame
//
// A rectangle deflated alone is inflated by the browser's own
// DecompressionStream('deflate-raw'), off the main thread, so decode() is
// asynchronous like the picture decoders. A STREAMED piece is inflated by the
// vendored fflate Inflate (web/vendor/README.md says why), kept per canvas in
// createState() and restarted at every KEY frame (keyFrame(), called by the
// painter even for a KEY frame without PALETTE rectangles); it is
// fed synchronously inside decode(), so pieces go in in the order the frame
// holds them, in slices of SLICE bytes so that output past the rectangle's
// cap stops the inflation early. The piece must give exactly what the
// rectangle needs (its output is complete at a sync flush); anything else is
// a FrameError, and the stream stays broken until the next KEY frame (the
// viewer asks for one on a failed frame, protocol.js). Nothing
// is allocated from what the payload claims: the inflated body is collected
// chunk by chunk and abandoned past the most a w x h rectangle can need (a
// deflate bomb stops there), and the picture is w x h, which the parser has
// already checked against the screen. Every index is checked against the
// palette. Drawn with putImageData, so the pixels land exactly.

import { Inflate } from '../../vendor/fflate/browser.js';
import { FrameError, describeRect } from '../frame-error.js';

const PACKED = 0;
const RUNS = 1;
const CELLS = 2;
/** Largest cell side of the CELLS form (as cells.py's MAX_CELL). */
const MAX_CELL = 64;
const CELLS_HEAD = 6;
/** Form bit: the deflate data is the next piece of the session's stream. */
export const STREAMED = 0x80;
/**
 * Streamed pieces are fed this many bytes at a time: at most ~4 MB of output
 * each past the cap (deflate gives at most 1032:1). A 1080p text key frame
 * inflates in 2 ms in 4 KB slices, 5.5 ms in 1 KB ones (node, fflate 0.8.3).
 */
const SLICE = 4096;
const SYNC_MARK = [0x00, 0x00, 0xff, 0xff];
/** u8 form | u8 ncolours-1 | at least one byte of deflate data. */
const MIN_HEAD = 3;
/** The shortest payload accepted by the parser (as src/desklink/protocol/screen.py). */
const MIN_PAYLOAD = 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bitsFor(n) {
  if (n <= 2) return 1;
  if (n <= 4) return 2;
  return n <= 16 ? 4 : 8;
}

/** Raw-inflate `data` into at most `cap` bytes; a FrameError for anything else. */
async function inflate(data, cap, what) {
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const chunks = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > cap) {
        reader.cancel().catch(() => {});
        throw new FrameError(`${what}: the deflate data inflates past ${cap} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError(`${what}: the deflate data would not inflate (${err?.message || err})`);
  }
  return concat(chunks, length);
}

/** The session's deflate stream on one canvas; broken (no inflater) until a KEY frame and after an error. */
class PaletteStream {
  constructor() {
    this.inflater = null;
    this.frame = null; // the last frame seen, to restart at the first rectangle of a KEY frame
    this.chunks = [];
    this.length = 0;
    this.cap = 0;
  }

  /**
   * Called for every rectangle (and by the painter at every KEY frame, which
   * may hold no PALETTE rectangle): the first call for a KEY frame restarts
   * the stream.
   */
  enter(frame) {
    if (frame && frame !== this.frame) {
      this.frame = frame;
      if (frame.key) {
        this.inflater = new Inflate((chunk) => {
          this.length += chunk.length;
          if (this.length <= this.cap) this.chunks.push(chunk); // fflate hands out a fresh copy
        });
      }
    }
  }

  /** The output of the next piece: all of it, at most `cap` bytes. */
  inflate(piece, cap, what) {
    const inflater = this.inflater;
    this.inflater = null; // broken unless this piece is good
    if (!inflater) throw new FrameError(`${what}: a streamed rectangle with no key frame (or after an error) before it`);
    const n = piece.length;
    if (n < 4 || SYNC_MARK.some((b, i) => piece[n - 4 + i] !== b)) {
      throw new FrameError(`${what}: the streamed deflate data does not end at a flush point`);
    }
    this.chunks = [];
    this.length = 0;
    this.cap = cap;
    try {
      for (let at = 0; at < n && this.length <= cap; at += SLICE) inflater.push(piece.subarray(at, at + SLICE), false);
    } catch (err) {
      throw new FrameError(`${what}: the deflate data is corrupt (${err?.message || err})`);
    }
    if (this.length > cap) throw new FrameError(`${what}: the deflate data inflates past ${cap} bytes`);
    // fflate's state (pinned 0.8.3): s.f is the last block's BFINAL bit, s.l set while inside a block.
    if (inflater.s.f && !inflater.s.l) throw new FrameError(`${what}: the streamed deflate data ends its stream`);
    const out = concat(this.chunks, this.length);
    this.chunks = [];
    this.inflater = inflater;
    return out;
  }
}

function concat(chunks, length) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The palette as one 32-bit RGBA word per colour, in the platform's byte order. */
function paletteWords(data, n) {
  const words = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) {
    const r = data[3 * i];
    const g = data[3 * i + 1];
    const b = data[3 * i + 2];
    words[i] = LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
  }
  return words;
}

function unpack(body, w, h, n, words, out, what) {
  const bits = bitsFor(n);
  const stride = Math.ceil((w * bits) / 8);
  if (body.length !== h * stride) throw new FrameError(`${what}: packed indices are ${body.length} bytes, expected ${h * stride}`);
  const mask = (1 << bits) - 1;
  let max = 0;
  let o = 0;
  for (let y = 0; y < h; y += 1) {
    const row = y * stride;
    for (let x = 0; x < w; x += 1) {
      const bit = x * bits;
      const idx = (body[row + (bit >> 3)] >> (8 - bits - (bit & 7))) & mask;
      if (idx > max) max = idx;
      out[o] = words[idx] ?? 0;
      o += 1;
    }
  }
  if (max >= n) throw new FrameError(`${what}: index ${max} is past the ${n}-colour palette`);
}

function runs(body, w, h, n, words, out, what) {
  if (body.length === 0 || body.length % 2) throw new FrameError(`${what}: run data of ${body.length} bytes is not whole (index, length) pairs`);
  const k = body.length / 2;
  let total = 0;
  let max = 0;
  for (let i = 0; i < k; i += 1) {
    total += body[k + i] + 1;
    if (body[i] > max) max = body[i];
  }
  if (total !== w * h) throw new FrameError(`${what}: runs cover ${total} pixels, the rectangle has ${w * h}`);
  if (max >= n) throw new FrameError(`${what}: index ${max} is past the ${n}-colour palette`);
  let o = 0;
  for (let i = 0; i < k; i += 1) {
    const end = o + body[k + i] + 1;
    out.fill(words[body[i]], o, end);
    o = end;
  }
}

export default {
  enc: 4,
  name: 'palette',

  check(rect) {
    if (rect.payload.length < MIN_PAYLOAD) throw new FrameError('palette rectangle payload is too short');
  },

  createState() {
    return new PaletteStream();
  },

  keyFrame(state, frame) {
    state.enter(frame);
  },

  decode(rect, state, frame) {
    state?.enter(frame); // before any check: a KEY frame restarts the stream whatever its rectangles hold
    if (rect.payload.length >= 1 && rect.payload[0] & STREAMED) {
      try {
        return Promise.resolve(pixelsOf(rect, state));
      } catch (err) {
        if (state) state.inflater = null;
        return Promise.reject(err);
      }
    }
    try {
      return pixelsOf(rect, null);
    } catch (err) {
      return Promise.reject(err);
    }
  },

  draw(ctx, rect, image) {
    ctx.putImageData(image, rect.x, rect.y);
  },
};

/** The ImageData of a rectangle: synchronous for a streamed piece (`stream` given), else a Promise. */
function pixelsOf(rect, stream) {
  const { payload, w, h } = rect;
  const what = describeRect('palette', rect);
  if (payload.length < MIN_HEAD) throw new FrameError(`${what}: payload of ${payload.length} bytes is too short`);
  const streamed = (payload[0] & STREAMED) !== 0;
  const form = payload[0] & ~STREAMED;
  const n = payload[1] + 1;
  if (form !== PACKED && form !== RUNS && form !== CELLS) throw new FrameError(`${what}: unknown form ${form}`);
  const cap = 3 * n + bodyCap(form, w, h, n);
  if (!streamed) return inflate(payload.subarray(2), cap, what).then((data) => picture(data, form, w, h, n, what));
  if (!stream) throw new FrameError(`${what}: a streamed rectangle, and no stream to read it from`);
  return picture(stream.inflate(payload.subarray(2), cap, what), form, w, h, n, what);
}

/** The most bytes the body of a form may inflate to (as palette.py's caps). */
function bodyCap(form, w, h, n) {
  if (form === PACKED) return h * Math.ceil((w * bitsFor(n)) / 8);
  if (form === RUNS) return 2 * w * h;
  return CELLS_HEAD + 3 * (w + MAX_CELL - 1) * (h + MAX_CELL - 1);
}

/** A CELLS body drawn into `out` (the rectangle's pixels), every field checked first. */
function cells(body, w, h, n, words, out, what) {
  if (body.length < CELLS_HEAD) throw new FrameError(`${what}: the cell grid's header is cut short`);
  const cw = body[0];
  const ch = body[1];
  const ox = body[2];
  const oy = body[3];
  const k = (body[4] << 8) | body[5];
  if (cw < 1 || ch < 1 || cw > MAX_CELL || ch > MAX_CELL) throw new FrameError(`${what}: cells of ${cw}x${ch} are outside 1..${MAX_CELL}`);
  if (ox >= cw || oy >= ch) throw new FrameError(`${what}: padding ${ox},${oy} is not inside a ${cw}x${ch} cell`);
  const nx = Math.ceil((ox + w) / cw);
  const ny = Math.ceil((oy + h) / ch);
  if (k < 1 || k > nx * ny) throw new FrameError(`${what}: ${k} distinct cells for a grid of ${nx * ny}`);
  const wide = k <= 256 ? 1 : 2;
  const size = cw * ch;
  const need = CELLS_HEAD + k * size + nx * ny * wide;
  if (body.length !== need) throw new FrameError(`${what}: the cell grid is ${body.length} bytes, expected ${need}`);
  const pics = body.subarray(CELLS_HEAD, CELLS_HEAD + k * size);
  let max = 0;
  for (let i = 0; i < pics.length; i += 1) if (pics[i] > max) max = pics[i];
  if (max >= n) throw new FrameError(`${what}: index ${max} is past the ${n}-colour palette`);
  const map = body.subarray(CELLS_HEAD + k * size);
  for (let cy = 0; cy < ny; cy += 1) {
    const top = cy * ch - oy; // the cell's first row in the rectangle (may be negative)
    const r0 = Math.max(0, -top);
    const r1 = Math.min(ch, h - top);
    for (let cx = 0; cx < nx; cx += 1) {
      const i = cy * nx + cx;
      const number = wide === 1 ? map[i] : (map[2 * i] << 8) | map[2 * i + 1];
      if (number >= k) throw new FrameError(`${what}: cell number ${number} is past its ${k} cells`);
      const left = cx * cw - ox;
      const c0 = Math.max(0, -left);
      const c1 = Math.min(cw, w - left);
      const base = number * size;
      for (let r = r0; r < r1; r += 1) {
        let o = (top + r) * w + left + c0;
        const src = base + r * cw;
        for (let c = c0; c < c1; c += 1) {
          out[o] = words[pics[src + c]];
          o += 1;
        }
      }
    }
  }
}

function picture(data, form, w, h, n, what) {
  if (data.length < 3 * n) throw new FrameError(`${what}: the data ends inside its ${n}-colour palette`);
  const body = data.subarray(3 * n);
  const pixels = new Uint8ClampedArray(w * h * 4);
  const out = new Uint32Array(pixels.buffer);
  const words = paletteWords(data, n);
  if (form === PACKED) unpack(body, w, h, n, words, out, what);
  else if (form === RUNS) runs(body, w, h, n, words, out, what);
  else cells(body, w, h, n, words, out, what);
  return new ImageData(pixels, w, h);
}

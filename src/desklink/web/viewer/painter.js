// Applies screen frames to a canvas: the same code runs in the decoder worker
// (on an OffscreenCanvas transferred from the page) and, where workers or
// OffscreenCanvas are missing, on the page itself.
//
// For each frame every JPEG rectangle starts decoding at once
// (createImageBitmap, off the main thread in the browser's decoder pool);
// the rectangles are then drawn strictly in order, after the previous frame:
//
//   JPEG, PNG  drawImage(bitmap, x, y, w, h)
//   COPY  drawImage(canvas, sx, sy, w, h, x, y, w, h): the canvas drawn onto
//         itself, which the canvas spec defines as reading the source as it
//         was before the draw (overlapping scrolls work)
//   FILL  fillRect
//
// A frame of another size (a key frame after a monitor switch or a screen
// resize) resizes the canvas first. No DOM use: safe in a worker.

import { ENC_COPY, ENC_FILL, ENC_JPEG, ENC_PNG, parseChannelMessage } from './frames.js';

const BITMAP_OPTIONS = { colorSpaceConversion: 'none', premultiplyAlpha: 'none' };

function now() {
  return performance.now();
}

/** The seq of a frame message whose body may be malformed (0 when unreadable). */
export function peekSeq(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 7 || bytes[1] !== 1) return 0;
  return new DataView(buffer).getUint32(3);
}

export class FramePainter {
  /** @param {HTMLCanvasElement|OffscreenCanvas} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = null;
    this.chain = Promise.resolve();
    this.drawnSize = null;
    this._context();
  }

  _context() {
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.ctx.imageSmoothingEnabled = false;
  }

  /**
   * Parse and paint one binary WebSocket message holding a frame. Resolves
   * once it is on the canvas with {seq, key, width, height, bytes, decodeMs,
   * resized}; rejects (with .seq when known) on a malformed frame or a
   * picture that would not decode, after drawing whatever could be drawn.
   */
  paint(buffer, receivedAt = now()) {
    let frame;
    try {
      frame = parseChannelMessage(buffer);
    } catch (err) {
      err.seq = peekSeq(buffer);
      return Promise.reject(err);
    }
    if (!frame || frame.kind !== 'frame') return Promise.reject(new Error('not a screen frame'));
    const bytes = buffer.byteLength;
    // Start every decode now; they run in parallel with the previous frame's drawing.
    const decodes = frame.rects.map((r) => (r.enc === ENC_JPEG || r.enc === ENC_PNG
      ? createImageBitmap(new Blob([r.payload], { type: r.enc === ENC_PNG ? 'image/png' : 'image/jpeg' }), BITMAP_OPTIONS)
      : null));
    const done = this.chain.then(() => this._draw(frame, decodes)).then((result) => ({
      ...result, seq: frame.seq, key: frame.key, width: frame.width, height: frame.height, bytes,
      decodeMs: now() - receivedAt,
    }));
    this.chain = done.catch(() => {});
    return done;
  }

  async _draw(frame, decodes) {
    const settled = await Promise.allSettled(decodes);
    const canvas = this.canvas;
    let resized = false;
    if (canvas.width !== frame.width || canvas.height !== frame.height) {
      canvas.width = frame.width;
      canvas.height = frame.height;
      this._context(); // resizing resets the context state
      resized = true;
    }
    const ctx = this.ctx;
    let failed = 0;
    for (let i = 0; i < frame.rects.length; i++) {
      const r = frame.rects[i];
      if (r.enc === ENC_JPEG || r.enc === ENC_PNG) {
        const s = settled[i];
        if (s.status === 'fulfilled') {
          ctx.drawImage(s.value, r.x, r.y, r.w, r.h);
          s.value.close();
        } else {
          failed += 1;
        }
      } else if (r.enc === ENC_COPY) {
        ctx.drawImage(canvas, r.srcX, r.srcY, r.w, r.h, r.x, r.y, r.w, r.h);
      } else if (r.enc === ENC_FILL) {
        const p = r.payload;
        ctx.fillStyle = `rgb(${p[0]}, ${p[1]}, ${p[2]})`;
        ctx.fillRect(r.x, r.y, r.w, r.h);
      }
    }
    this.drawnSize = { width: canvas.width, height: canvas.height };
    // A non-key frame on a canvas that was just resized has nothing under it.
    const incomplete = failed > 0 || (resized && !frame.key);
    if (failed) {
      const err = new Error(`${failed} picture(s) of frame ${frame.seq} would not decode`);
      err.seq = frame.seq;
      err.incomplete = true;
      throw err;
    }
    return { resized, incomplete };
  }

  /** Wait for every frame handed in so far to be drawn (or to fail). */
  idle() {
    return this.chain;
  }

  /**
   * The picture as it is now: 'rgba' gives {width, height, data: Uint8ClampedArray},
   * 'png' gives {width, height, blob}.
   */
  async snapshot(format = 'rgba') {
    await this.chain;
    const { width, height } = this.canvas;
    if (format === 'png') {
      const blob = this.canvas.convertToBlob
        ? await this.canvas.convertToBlob({ type: 'image/png' })
        : await new Promise((resolve) => this.canvas.toBlob(resolve, 'image/png'));
      return { width, height, blob };
    }
    const data = width && height ? this.ctx.getImageData(0, 0, width, height).data : new Uint8ClampedArray(0);
    return { width, height, data };
  }
}

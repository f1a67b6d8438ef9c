// Applies screen frames to a canvas: the same code runs in the decoder worker
// (on an OffscreenCanvas transferred from the page) and, where workers or
// OffscreenCanvas are missing, on the page itself.
//
// For each frame every rectangle's decoder starts its work at once (picture
// decoding runs off the main thread in the browser's decoder pool); the
// rectangles are then drawn strictly in order, after the previous frame, each
// by its own decoder (decoders/, one module per encoding: this file knows
// none of them).
//
// A frame of another size (a key frame after a monitor switch or a screen
// resize) resizes the canvas first. No DOM use: safe in a worker.

import { DECODERS, decoderFor } from './decoders/index.js';
import { VideoStream } from './decoders/video.js';
import { parseChannelMessage } from './frames.js';

function now() {
  return performance.now();
}

/** Wall-clock microseconds (a browser share stamps captures with the same clock: latency on one computer). */
function wallUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** The seq of a frame message whose body may be malformed (0 when unreadable). */
export function peekSeq(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.length < 7 || (bytes[1] !== 1 && bytes[1] !== 4)) return 0;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(3);
}

export class FramePainter {
  /** @param {HTMLCanvasElement|OffscreenCanvas} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = null;
    this.chain = Promise.resolve();
    this.drawnSize = null;
    this.states = new Map(); // decoder -> its state on this canvas (decoders with createState())
    this.video = null; // a VideoStream, once a browser share's chunk came
    this._context();
  }

  _context() {
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.ctx.imageSmoothingEnabled = false;
  }

  _state(decoder) {
    if (!decoder.createState) return undefined;
    if (!this.states.has(decoder)) this.states.set(decoder, decoder.createState());
    return this.states.get(decoder);
  }

  /**
   * Parse and paint one binary WebSocket message holding a frame. Resolves
   * once it is on the canvas with {seq, key, width, height, bytes, decodeMs,
   * resized, incomplete}; rejects (with .seq when known) on a malformed frame
   * or a rectangle that would not decode, after drawing whatever could be
   * drawn (then .incomplete is true and the message names the first failure).
   */
  paint(buffer, receivedAt = now()) {
    let frame;
    try {
      frame = parseChannelMessage(buffer);
    } catch (err) {
      err.seq = peekSeq(buffer);
      return Promise.reject(err);
    }
    if (frame && frame.kind === 'video') return this._paintVideo(frame, buffer.byteLength, receivedAt);
    if (!frame || frame.kind !== 'frame') return Promise.reject(new Error('not a screen frame'));
    const bytes = buffer.byteLength;
    // A KEY frame restarts every decoder's stream, whether or not it has a rectangle in this frame.
    if (frame.key) for (const d of DECODERS.values()) d.keyFrame?.(this._state(d), frame);
    // Start every decode now; they run in parallel with the previous frame's drawing.
    const decoders = frame.rects.map((r) => decoderFor(r.enc));
    const decodes = frame.rects.map((r, i) => {
      const d = decoders[i];
      try {
        return d.decode ? d.decode(r, this._state(d), frame) : null;
      } catch (err) {
        return Promise.reject(err);
      }
    });
    const done = this.chain.then(() => this._draw(frame, decoders, decodes)).then((result) => ({
      ...result, seq: frame.seq, key: frame.key, width: frame.width, height: frame.height, bytes,
      decodeMs: now() - receivedAt, captureUs: frame.captureUs, drawnUs: wallUs(),
    }));
    this.chain = done.catch(() => {});
    return done;
  }

  /** A browser share's video chunk: decoded by the canvas's VideoStream, drawn over the whole picture. */
  _paintVideo(chunk, bytes, receivedAt) {
    if (!this.video) this.video = new VideoStream();
    const decoded = this.video.decode(chunk);
    const done = this.chain.then(() => decoded).then((picture) => {
      let resized = false;
      const canvas = this.canvas;
      if (canvas.width !== chunk.width || canvas.height !== chunk.height) {
        canvas.width = chunk.width;
        canvas.height = chunk.height;
        this._context();
        resized = true;
      }
      try {
        this.ctx.drawImage(picture, 0, 0, chunk.width, chunk.height);
      } finally {
        picture.close();
      }
      this.drawnSize = { width: canvas.width, height: canvas.height };
      return {
        resized, incomplete: false, seq: chunk.seq, key: chunk.key, width: chunk.width, height: chunk.height, bytes,
        decodeMs: now() - receivedAt, captureUs: chunk.captureUs, drawnUs: wallUs(), video: true,
      };
    }, (err) => {
      err.seq = chunk.seq;
      throw err;
    });
    this.chain = done.catch(() => {});
    return done;
  }

  async _draw(frame, decoders, decodes) {
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
    const failures = [];
    for (let i = 0; i < frame.rects.length; i++) {
      const s = settled[i];
      if (s.status === 'rejected') {
        failures.push(s.reason);
        continue;
      }
      try {
        decoders[i].draw(ctx, frame.rects[i], s.value, canvas);
      } catch (err) {
        decoders[i].release?.(s.value);
        failures.push(err);
      }
    }
    this.drawnSize = { width: canvas.width, height: canvas.height };
    // A non-key frame on a canvas that was just resized has nothing under it.
    const incomplete = failures.length > 0 || (resized && !frame.key);
    if (failures.length) {
      const first = failures[0];
      const err = new Error(`${failures.length} of ${frame.rects.length} rectangles of frame ${frame.seq} not drawn: ${first?.message || first}`);
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

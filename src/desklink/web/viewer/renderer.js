// Where frames are decoded and drawn. The usual case is a worker owning the
// canvas (OffscreenCanvas): the console's main thread only forwards the
// received ArrayBuffers (transferred, never copied). Without Worker or
// OffscreenCanvas, or when the worker script cannot start, the same painter
// runs on the page.
//
// Both renderers report through one callback with the worker's messages:
//   {type: 'drawn', gen, seq, key, width, height, bytes, decodeMs, resized, incomplete}
//   {type: 'failed', gen, seq, message}

import { FramePainter } from './painter.js';

export function workersAvailable(canvas) {
  return typeof Worker === 'function' && typeof OffscreenCanvas === 'function'
    && typeof canvas.transferControlToOffscreen === 'function';
}

export class WorkerRenderer {
  /**
   * @param {HTMLCanvasElement} canvas  its control moves to the worker for good
   * @param {function} onResult  drawn/failed reports
   * @param {function} onBroken  the worker could not start (before any frame was drawn)
   */
  constructor(canvas, onResult, onBroken) {
    this.kind = 'worker';
    this.onResult = onResult;
    this.snapshots = new Map();
    this.nextId = 1;
    this.started = false;
    const offscreen = canvas.transferControlToOffscreen();
    this.worker = new Worker(new URL('./decoder.worker.js', import.meta.url), { type: 'module', name: 'desklink-screen-decoder' });
    this.worker.onmessage = (event) => this._onMessage(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      if (!this.started) onBroken(event.message || 'the decoder worker did not start');
    };
    this.worker.postMessage({ type: 'init', canvas: offscreen }, [offscreen]);
  }

  _onMessage(msg) {
    if (msg.type === 'snapshot') {
      const waiter = this.snapshots.get(msg.id);
      this.snapshots.delete(msg.id);
      if (!waiter) return;
      if (msg.error) waiter.reject(new Error(msg.error));
      else waiter.resolve(msg);
      return;
    }
    this.started = true;
    if (msg.type !== 'ready') this.onResult(msg);
  }

  /** Hand a whole binary WebSocket message (an ArrayBuffer) to the worker. */
  frame(buffer, gen) {
    this.worker.postMessage({ type: 'frame', gen, buffer }, [buffer]);
  }

  snapshot(format = 'rgba') {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.snapshots.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'snapshot', id, format });
    });
  }

  destroy() {
    this.worker.terminate();
    for (const waiter of this.snapshots.values()) waiter.reject(new Error('the viewer closed'));
    this.snapshots.clear();
  }
}

export class InlineRenderer {
  constructor(canvas, onResult) {
    this.kind = 'inline';
    this.onResult = onResult;
    this.painter = new FramePainter(canvas);
    this.destroyed = false;
  }

  frame(buffer, gen) {
    this.painter.paint(buffer, performance.now()).then(
      (info) => { if (!this.destroyed) this.onResult({ type: 'drawn', gen, ...info }); },
      (err) => { if (!this.destroyed) this.onResult({ type: 'failed', gen, seq: err.seq || 0, message: String(err.message || err) }); },
    );
  }

  snapshot(format = 'rgba') {
    return this.painter.snapshot(format);
  }

  destroy() {
    this.destroyed = true;
  }
}

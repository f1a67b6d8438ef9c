// The Session View's player: a recording's records applied to the same
// painter and pointer overlay the live viewer uses (viewer/painter.js,
// viewer/cursor.js), on a clock that runs at 1x to 16x, skips idle
// stretches, and seeks by painting from the newest key frame at or before
// the target (every segment that changes the screen starts from one, so a
// seek paints at most one segment's worth of frames).
//
// Segments come from `load(no)` (verified by segments.js against the
// index's hashes); a few stay cached. No DOM use beyond the canvases given.

import { parseChannelMessage } from '../viewer/frames.js';
import { KIND, NO_KEY, RecordingDamaged, isKey, readSegment } from './segments.js';

/** A stretch with nothing recorded longer than this is skipped when asked. */
export const IDLE_MS = 2000;
/** What is left of a skipped stretch, so the viewer sees the pause happened. */
const IDLE_KEEP_MS = 300;
export const SPEEDS = [1, 2, 4, 8, 16];
const CACHED_SEGMENTS = 6;

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export class ReplayPlayer {
  /**
   * @param {object} o
   * @param {FramePainter} o.painter
   * @param {CursorOverlay} o.cursor
   * @param {{segments: Array<{no, start_t_ms, end_t_ms, first_key_t_ms, sha256}>, duration_ms}} o.index
   * @param {(no: number) => Promise<ArrayBuffer>} o.fetchSegment
   * @param {(t: number) => void} o.onTime  position changed (ms)
   * @param {(s: {playing, speed, error}) => void} o.onState
   * @param {(msg: object, t: number) => void} o.onEvent  a recorded control message passed by
   */
  constructor(o) {
    this.painter = o.painter;
    this.cursor = o.cursor;
    this.segments = o.index.segments;
    this.duration = o.index.duration_ms;
    this.fetchSegment = o.fetchSegment;
    this.onTime = o.onTime || (() => {});
    this.onState = o.onState || (() => {});
    this.onEvent = o.onEvent || (() => {});
    this.cache = new Map();
    this.position = 0;
    this.playing = false;
    this.speed = 1;
    this.skipIdle = false;
    this.error = null;
    this.at = { seg: 0, rec: 0 }; // the next record to apply
    this.timer = null;
    this.lastTick = 0;
    this.busy = Promise.resolve();
  }

  _prevHash(i) {
    return i === 0 ? new Uint8Array(32) : hexBytes(this.segments[i - 1].sha256);
  }

  async segment(i) {
    if (this.cache.has(i)) return this.cache.get(i);
    const meta = this.segments[i];
    const seg = await readSegment(await this.fetchSegment(meta.no), meta.no, this._prevHash(i));
    if (meta.sha256 && [...seg.hash].map((b) => b.toString(16).padStart(2, '0')).join('') !== meta.sha256) {
      throw new RecordingDamaged(meta.no, 'is not the segment the server verified');
    }
    this.cache.set(i, seg);
    if (this.cache.size > CACHED_SEGMENTS) this.cache.delete(this.cache.keys().next().value);
    return seg;
  }

  _apply(rec) {
    if (rec.kind === KIND.SCREEN) {
      this.lastPaint = this.painter.paint(rec.payload).then((info) => {
        if (info && info.width) this.cursor.resize(info.width, info.height);
        return info;
      }, () => null);
    } else if (rec.kind === KIND.CURSOR || rec.kind === KIND.POINTER) {
      try {
        this.cursor.apply(parseChannelMessage(rec.payload));
      } catch {
        // a pointer message that does not parse moves nothing
      }
    } else if (rec.kind === KIND.EVENT) {
      try {
        this.onEvent(JSON.parse(new TextDecoder().decode(rec.payload)), rec.t);
      } catch {
        // not JSON: nothing to show
      }
    }
  }

  /** Apply every record up to `t` from the current place; false at the end. */
  async _runTo(t) {
    while (this.at.seg < this.segments.length) {
      const seg = await this.segment(this.at.seg);
      while (this.at.rec < seg.records.length) {
        const rec = seg.records[this.at.rec];
        if (rec.t > t) return true;
        this._apply(rec);
        this.at.rec += 1;
      }
      this.at = { seg: this.at.seg + 1, rec: 0 };
    }
    return false;
  }

  /** When the next record comes (ms), or null at the end. */
  async _nextT() {
    let { seg: i, rec: r } = this.at;
    while (i < this.segments.length) {
      const seg = await this.segment(i);
      if (r < seg.records.length) return seg.records[r].t;
      i += 1;
      r = 0;
    }
    return null;
  }

  _fail(err) {
    this.error = err;
    this.pause();
    this.onState(this.state());
  }

  state() {
    return { playing: this.playing, speed: this.speed, error: this.error ? String(this.error.message || this.error) : null };
  }

  /** Paint the picture at `t` (ms): from the newest key frame at or before it. Resolves once drawn. */
  seek(t) {
    const target = Math.max(0, Math.min(t, this.duration));
    this.busy = this.busy.then(async () => {
      try {
        let from = 0;
        for (let i = 0; i < this.segments.length; i += 1) {
          const k = this.segments[i].first_key_t_ms;
          if (k !== NO_KEY && k !== null && k <= target) from = i;
        }
        const seg = await this.segment(from);
        let rec = seg.records.findIndex((r) => r.kind === KIND.SCREEN && isKey(r.payload));
        if (rec < 0) rec = 0;
        // Pointer shape and position come from before the key frame too.
        for (const r of seg.records.slice(0, rec)) if (r.kind !== KIND.SCREEN && r.kind !== KIND.EVENT) this._apply(r);
        this.at = { seg: from, rec };
        await this._runTo(target);
        await this.lastPaint;
        this.position = target;
        this.onTime(this.position);
      } catch (err) {
        this._fail(err);
      }
    });
    return this.busy;
  }

  play() {
    if (this.playing || this.error) return;
    if (this.position >= this.duration) this.seek(0);
    this.playing = true;
    this.lastTick = performance.now();
    this.onState(this.state());
    this._schedule();
  }

  pause() {
    this.playing = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.onState(this.state());
  }

  setSpeed(x) {
    this.speed = SPEEDS.includes(x) ? x : 1;
    this.onState(this.state());
  }

  _schedule() {
    this.timer = setTimeout(() => { this.busy = this.busy.then(() => this._tick()); }, 40);
  }

  async _tick() {
    if (!this.playing) return;
    const now = performance.now();
    let next = this.position + (now - this.lastTick) * this.speed;
    this.lastTick = now;
    try {
      if (this.skipIdle) {
        const upcoming = await this._nextT();
        if (upcoming !== null && upcoming - next > IDLE_MS) next = upcoming - IDLE_KEEP_MS;
      }
      next = Math.min(next, this.duration);
      const more = await this._runTo(next);
      // Keep the clock honest when painting falls behind: wait for the picture.
      await this.lastPaint;
      this.position = next;
      this.onTime(this.position);
      if (!more && this.position >= this.duration) {
        this.pause();
        return;
      }
    } catch (err) {
      this._fail(err);
      return;
    }
    if (this.playing) this._schedule();
  }
}

// The viewer's readout: frames drawn per second and bandwidth over the last
// two seconds, how long a frame takes from arrival to pixels (decode + draw:
// the ack round trip is measured by the agent, not visible here), and the
// interval between frame arrivals.

export const WINDOW_MS = 2000;

export class ViewerStats {
  constructor(windowMs = WINDOW_MS) {
    this.windowMs = windowMs;
    this.reset();
  }

  reset() {
    this.received = []; // [time, bytes] of every binary message
    this.arrivals = []; // time of every frame message
    this.draws = []; // [time, decodeMs]
    this.frames = 0; // frames drawn since the viewer opened
    this.bytes = 0;
    this.latencyMs = null; // capture -> drawn -> acked, as the agent measured it
  }

  /** The agent's median capture-to-acknowledged time (screen.stats). */
  onLatency(ms) {
    this.latencyMs = Number.isFinite(ms) ? ms : null;
  }

  /** A binary message arrived (frames, cursor, pointer). */
  onBytes(n, at = performance.now()) {
    this.received.push([at, n]);
    this.bytes += n;
  }

  /** A frame message arrived. */
  onArrival(at = performance.now()) {
    this.arrivals.push(at);
  }

  /** A frame is on the canvas. */
  onDrawn(decodeMs, at = performance.now()) {
    this.frames += 1;
    this.draws.push([at, decodeMs]);
  }

  _trim(at) {
    const since = at - this.windowMs;
    while (this.received.length && this.received[0][0] < since) this.received.shift();
    while (this.arrivals.length && this.arrivals[0] < since) this.arrivals.shift();
    while (this.draws.length && this.draws[0][0] < since) this.draws.shift();
  }

  /** {fps, kbps, drawMs, intervalMs, frames, bytes}; drawMs/intervalMs are null without data. */
  snapshot(at = performance.now()) {
    this._trim(at);
    const seconds = this.windowMs / 1000;
    const bytes = this.received.reduce((sum, [, n]) => sum + n, 0);
    const drawMs = this.draws.length ? this.draws.reduce((sum, [, ms]) => sum + ms, 0) / this.draws.length : null;
    let intervalMs = null;
    if (this.arrivals.length > 1) {
      intervalMs = (this.arrivals[this.arrivals.length - 1] - this.arrivals[0]) / (this.arrivals.length - 1);
    }
    return {
      fps: this.draws.length / seconds,
      kbps: (bytes * 8) / 1000 / seconds,
      drawMs,
      intervalMs,
      frames: this.frames,
      bytes: this.bytes,
      latencyMs: this.latencyMs,
    };
  }
}

/** "12 fps · 840 kbit/s · latency 24 ms · draw 9 ms · every 80 ms" */
export function formatStats(s) {
  const fps = s.fps >= 10 || s.fps === 0 ? Math.round(s.fps) : s.fps.toFixed(1);
  const rate = s.kbps >= 1000 ? `${(s.kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(s.kbps)} kbit/s`;
  const parts = [`${fps} fps`, rate];
  if (s.latencyMs !== null && s.latencyMs !== undefined) parts.push(`latency ${Math.round(s.latencyMs)} ms`);
  if (s.drawMs !== null) parts.push(`draw ${Math.round(s.drawMs)} ms`);
  if (s.intervalMs !== null) parts.push(`every ${Math.round(s.intervalMs)} ms`);
  return parts.join(' · ');
}

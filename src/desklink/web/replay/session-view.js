// The Session View: a session's screen recording replayed beside its
// transcript, with play and pause, 1x to 16x, skipping idle stretches, a
// seek bar with the session's moments as markers, and the transcript
// following the picture. Opening it is logged by the server.
//
// The picture is painted by the live viewer's own painter on a page canvas
// (not a worker: the replay reads back nothing, but tests and the "copy
// picture" of a manager may).

import { h, clear, formatDuration, parseTime } from '../shared/dom.js';
import { FramePainter } from '../viewer/painter.js';
import { CursorOverlay } from '../viewer/cursor.js';
import { ReplayPlayer, SPEEDS } from './player.js';

/** The timeline's markers (desklink/timeline.py) shown on the seek bar. */
const MARKED = new Set(['chat', 'control', 'files', 'watcher', 'screen', 'annotation', 'clipboard']);

export class SessionView {
  /**
   * @param {object} o
   * @param {string} o.sessionId
   * @param {object} o.index       GET /api/sessions/{id}/recording
   * @param {Array}  o.items       the session's moments: chat lines [{at, kind: 'chat', who, text}] and
   *                               timeline items [{at, kind, marker, text}]
   * @param {(url: string) => Promise<ArrayBuffer>} o.fetchBuffer
   * @param {number} [o.startAt]   where to open (ms into the recording)
   */
  constructor(o) {
    this.index = o.index;
    this.started = parseTime(o.index.started_at);
    this.duration = o.index.duration_ms;
    const screen = h('canvas', { class: 'replay-screen', testid: 'replay-screen', width: 1, height: 1 });
    const pointer = h('canvas', { class: 'replay-cursor', width: 1, height: 1 });
    this.time = h('span', { class: 'replay-time', testid: 'replay-time' }, '0:00');
    this.seekBar = h('input', { type: 'range', class: 'replay-seek', testid: 'replay-seek', min: 0, max: Math.max(1, this.duration), step: 1, value: 0 });
    this.playButton = h('button', { type: 'button', class: 'btn btn-primary btn-small', testid: 'replay-play' }, 'Play');
    this.speed = h('select', { testid: 'replay-speed', 'aria-label': 'Speed' }, SPEEDS.map((s) => h('option', { value: s }, `${s}x`)));
    this.skipIdle = h('input', { type: 'checkbox', testid: 'replay-skip-idle' });
    this.status = h('p', { class: 'replay-status', testid: 'replay-status' }, this._verifiedText());
    this.markers = h('div', { class: 'replay-markers', testid: 'replay-markers' });
    this.transcript = h('ol', { class: 'replay-transcript', testid: 'replay-transcript' });
    this.element = h('div', { class: 'session-view', testid: 'session-view' },
      this.status,
      h('div', { class: 'replay-body' },
        h('div', { class: 'replay-stage' }, screen, pointer),
        this.transcript),
      h('div', { class: 'replay-controls' },
        this.playButton, this.speed, h('label', { class: 'check' }, this.skipIdle, ' Skip idle'),
        h('div', { class: 'replay-track' }, this.seekBar, this.markers), this.time));
    this.player = new ReplayPlayer({
      painter: new FramePainter(screen),
      cursor: new CursorOverlay(pointer),
      index: o.index,
      fetchSegment: (no) => o.fetchBuffer(`/api/sessions/${encodeURIComponent(o.sessionId)}/recording/segments/${no}`),
      onTime: (t) => this._time(t),
      onState: (s) => this._state(s),
    });
    this._moments(o.items || []);
    this.playButton.addEventListener('click', () => (this.player.playing ? this.player.pause() : this.player.play()));
    this.speed.addEventListener('change', () => this.player.setSpeed(Number(this.speed.value)));
    this.skipIdle.addEventListener('change', () => { this.player.skipIdle = this.skipIdle.checked; });
    this.seekBar.addEventListener('input', () => this.seek(Number(this.seekBar.value)));
    this.player.seek(o.startAt || 0);
  }

  _verifiedText() {
    const v = this.index.verified || {};
    return v.text || (v.ok === false ? 'This recording is damaged.' : `Recording of ${formatDuration(this.duration / 1000)}, verified.`);
  }

  /** ms into the recording of a wall-clock ISO time, or null outside it. */
  tOf(iso) {
    const at = parseTime(iso);
    if (!at || !this.started) return null;
    const t = at - this.started;
    return t >= 0 && t <= this.duration ? t : null;
  }

  _moments(items) {
    clear(this.markers);
    clear(this.transcript);
    this.lines = [];
    for (const item of items) {
      const t = this.tOf(item.at);
      if (item.kind === 'chat') {
        const li = h('li', { class: 'replay-line', data: { t: t ?? '' } },
          h('span', { class: 'replay-who' }, `${item.who || ''}: `), item.text || '');
        if (t !== null) li.addEventListener('click', () => this.seek(t));
        this.transcript.append(li);
        this.lines.push({ t: t ?? -1, li });
      }
      const cls = item.kind === 'chat' ? 'chat' : item.marker;
      if (MARKED.has(cls) && t !== null && this.duration > 0) {
        const mark = h('button', { type: 'button', class: ['replay-marker', `rm-${cls}`], testid: 'replay-marker',
          data: { t, kind: item.kind }, title: item.text || item.kind, 'aria-label': item.text || item.kind });
        mark.style.left = `${(100 * t) / this.duration}%`; // CSSOM, allowed by the page's CSP
        mark.addEventListener('click', () => this.seek(t));
        this.markers.append(mark);
      }
    }
  }

  seek(t) {
    return this.player.seek(t);
  }

  _time(t) {
    this.seekBar.value = String(Math.round(t));
    this.time.textContent = `${formatDuration(t / 1000)} / ${formatDuration(this.duration / 1000)}`;
    this.element.dataset.position = String(Math.round(t));
    let last = null;
    for (const line of this.lines) {
      const past = line.t >= 0 && line.t <= t;
      line.li.classList.toggle('past', past);
      if (past) last = line.li;
    }
    if (last && last !== this.lastLine) {
      this.lastLine = last;
      last.scrollIntoView({ block: 'nearest' });
    }
  }

  _state(s) {
    this.playButton.textContent = s.playing ? 'Pause' : 'Play';
    this.element.dataset.playing = String(s.playing);
    if (s.error) {
      this.status.textContent = `The replay stopped: ${s.error}. What came before it was shown; nothing after it is trusted.`;
      this.status.classList.add('error');
    }
  }

  destroy() {
    this.player.pause();
  }
}

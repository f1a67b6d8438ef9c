// The live board: per queue its length, each waiting visitor and their wait,
// the reps online or away with their load, and the active sessions with their
// modes. The server sends a whole `board` snapshot over /ws/board on connect
// and whenever something changes (docs/protocol.md, "Live board"); this view
// only draws the newest one. Waits and durations tick here, every second,
// from the snapshot's timestamps (corrected by the server's clock, `at`).
// Names are visitor and rep input: they are only ever text.

import { h, clear, formatDuration, parseTime, wsUrl } from '../shared/dom.js';
import { CLOSE } from '../shared/wire.js';

/** How long to wait before reconnecting after the socket closed, ms (doubles to the max). */
const RETRY_MS = 1000;
const RETRY_MAX_MS = 15000;
/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSES = {
  [CLOSE.AUTH]: 'Your login has expired; log in again.',
  [CLOSE.FORBIDDEN]: 'You may no longer see the live board.',
  [CLOSE.LIMITED]: '',
};

const MODE_WORDS = { chat: 'Chat', screen: 'Screen', control: 'Control', files: 'Files' };

export class BoardView {
  constructor(section) {
    this.section = section;
    this.board = null;
    this.skewMs = 0; // the server's clock minus ours
    this.ws = null;
    this.retryMs = RETRY_MS;
    this.retryTimer = null;
    this.ticker = null;
    this.visible = false;
    this.status = h('span', { class: 'board-status muted', testid: 'board-status' }, 'Connecting…');
    this.queues = h('div', { class: 'board-queues', testid: 'board-queues' });
    this.waiting = h('tbody');
    this.reps = h('tbody');
    this.sessions = h('tbody');
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Live board'), this.status),
      this.queues,
      h('div', { class: 'board-grid' },
        h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Waiting'),
          h('table', { class: 'table table-compact', testid: 'board-waiting' },
            h('thead', {}, h('tr', {}, ['Visitor', 'Queue', 'Waiting'].map((t) => h('th', {}, t)))), this.waiting)),
        h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Reps'),
          h('table', { class: 'table table-compact', testid: 'board-reps' },
            h('thead', {}, h('tr', {}, ['Rep', 'Status', 'Sessions'].map((t) => h('th', {}, t)))), this.reps))),
      h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Active sessions'),
        h('table', { class: 'table table-compact', testid: 'board-sessions' },
          h('thead', {}, h('tr', {}, ['Visitor', 'Rep', 'Queue', 'Duration', 'Mode', ''].map((t) => h('th', {}, t)))), this.sessions)));
  }

  /** Shown: connect (once) and tick. */
  load() {
    this.visible = true;
    if (!this.ws) this.connect();
    if (!this.ticker) this.ticker = setInterval(() => this.tick(), 1000);
  }

  /** Hidden: no socket, no ticking. */
  hide() {
    this.visible = false;
    clearInterval(this.ticker);
    this.ticker = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
  }

  connect() {
    const ws = new WebSocket(wsUrl(location.origin, '/ws/board'));
    this.ws = ws;
    ws.addEventListener('message', (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.t === 'board') {
        this.retryMs = RETRY_MS;
        this.draw(msg);
      }
    });
    ws.addEventListener('close', (e) => {
      if (this.ws !== ws) return; // closed on purpose
      this.ws = null;
      if (e.code in FINAL_CLOSES) {
        this.setStatus(FINAL_CLOSES[e.code] || e.reason || 'Closed by the server.', true);
        return;
      }
      this.setStatus('Connection lost; reconnecting…', true);
      if (this.visible) {
        this.retryTimer = setTimeout(() => { this.retryTimer = null; if (this.visible) this.connect(); }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      }
    });
  }

  setStatus(text, problem = false) {
    this.status.textContent = text;
    this.status.classList.toggle('board-problem', problem);
  }

  /** Seconds since an ISO time, by the server's clock. */
  since(iso) {
    const t = parseTime(iso);
    return t ? (Date.now() + this.skewMs - t.getTime()) / 1000 : 0;
  }

  draw(board) {
    this.board = board;
    const at = parseTime(board.at);
    if (at) this.skewMs = at.getTime() - Date.now();
    const queueName = new Map(board.queues.map((q) => [q.id, q.name]));
    this.setStatus(board.presence_known ? 'Live' : 'Live (reps unknown: the message broker is unreachable)', !board.presence_known);

    clear(this.queues);
    for (const q of board.queues) {
      this.queues.append(h('div', { class: 'card board-queue', testid: 'board-queue', data: { queueId: q.id } },
        h('div', { class: 'board-queue-name' }, q.name),
        h('div', { class: 'board-queue-figure', testid: 'board-queue-waiting' }, String(q.waiting)),
        h('div', { class: 'muted' }, `waiting · ${q.online} online · ${q.away} away`)));
    }
    if (!board.queues.length) this.queues.append(h('p', { class: 'muted' }, 'You belong to no queue.'));

    clear(this.waiting);
    for (const w of board.waiting) {
      this.waiting.append(h('tr', { testid: 'board-waiting-row', data: { requestId: w.request_id } },
        h('td', { testid: 'board-waiting-name' }, w.name),
        h('td', {}, queueName.get(w.queue_id) || ''),
        h('td', { class: 'nowrap', data: { since: w.since } }, formatDuration(this.since(w.since)))));
    }
    if (board.truncated.waiting) this.waiting.append(more(3, board.totals.waiting - board.waiting.length, 'waiting'));
    if (!board.waiting.length) this.waiting.append(empty(3, 'Nobody is waiting.'));

    clear(this.reps);
    for (const r of board.reps) {
      this.reps.append(h('tr', { testid: 'board-rep', data: { userId: r.id, status: r.status } },
        h('td', { testid: 'board-rep-name' }, r.name),
        h('td', {}, h('span', { class: ['status', r.status === 'online' ? 'status-on' : 'status-away'], testid: 'board-rep-status' }, r.status)),
        h('td', { testid: 'board-rep-load' }, String(r.load))));
    }
    if (!board.reps.length) this.reps.append(empty(3, board.presence_known ? 'No rep is connected.' : 'Unknown for now.'));

    clear(this.sessions);
    for (const s of board.sessions) {
      this.sessions.append(h('tr', { testid: 'board-session', data: { sessionId: s.id } },
        h('td', { testid: 'board-session-visitor' }, s.visitor),
        h('td', { testid: 'board-session-rep' }, s.rep.name),
        h('td', {}, queueName.get(s.queue_id) || ''),
        h('td', { class: 'nowrap', data: { since: s.since } }, formatDuration(this.since(s.since))),
        h('td', { testid: 'board-session-modes' }, s.modes.map((m) => h('span', { class: ['mode', `mode-${m}`] }, MODE_WORDS[m] || m))),
        h('td', {}, h('a', { href: `/console/?watch=${encodeURIComponent(s.id)}`, target: '_blank', rel: 'noopener', testid: 'board-watch' }, 'Watch'))));
    }
    if (board.truncated.sessions) this.sessions.append(more(6, board.totals.sessions - board.sessions.length, 'sessions'));
    if (!board.sessions.length) this.sessions.append(empty(6, 'No session is open.'));
  }

  /** Every second: the waits and durations, from their timestamps. */
  tick() {
    for (const cell of this.section.querySelectorAll('td[data-since]')) {
      cell.textContent = formatDuration(this.since(cell.dataset.since));
    }
  }
}

function empty(cols, text) {
  return h('tr', {}, h('td', { colspan: cols, class: 'empty' }, text));
}

function more(cols, count, what) {
  return h('tr', {}, h('td', { colspan: cols, class: 'muted', testid: 'board-more' }, `and ${count} more ${what} (the oldest are listed)`));
}

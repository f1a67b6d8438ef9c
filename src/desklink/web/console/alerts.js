// Incoming requests ("alerts") on the rep console.
//
// Each `alert` becomes a card with the queue, the visitor's name, the
// question, a live "waiting 0:42" timer and an Accept button; it beeps
// (Web Audio, no files) and raises a desktop notification when the rep has
// allowed them. `alert.withdrawn` removes the card at once; when another rep
// took the request a short "Taken by <name>" line stays for a few seconds.

import { h, setText, formatDuration, parseTime } from '../shared/dom.js';

const TAKEN_NOTE_MS = 5000;

// ------------------------------------------------------------------ sound

let audioCtx = null;

/** Create or resume the AudioContext; call from a user gesture (autoplay rules). */
export function unlockAudio() {
  try {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    if (!audioCtx) audioCtx = new AC();
    if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  } catch {
    audioCtx = null;
  }
}

/** A short two-tone chime; silently does nothing if audio is not allowed yet. */
export function beep() {
  try {
    if (!audioCtx || audioCtx.state !== 'running') return;
    const now = audioCtx.currentTime;
    [[880, 0], [1320, 0.16]].forEach(([freq, at]) => {
      const osc = audioCtx.createOscillator();
      const gain = audioCtx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.25, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.14);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.15);
    });
  } catch { /* audio refused: the card and the notification still show */ }
}

// ---------------------------------------------------------- notifications

export function notificationsSupported() {
  return 'Notification' in window;
}

export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

export async function requestNotifications() {
  if (!notificationsSupported()) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

function notify(req, onClick) {
  if (notificationPermission() !== 'granted') return;
  try {
    const queue = req.queue?.name || req.queue?.slug || 'Support';
    const n = new Notification(`New request in ${queue}`, {
      body: `${req.name || 'A visitor'}: ${req.question || ''}`.slice(0, 240),
      tag: `desklink-${req.id}`,
    });
    n.addEventListener('click', () => {
      window.focus();
      onClick();
      n.close();
    });
  } catch { /* some platforms refuse notifications from pages */ }
}

// ------------------------------------------------------------------ board

export class AlertBoard {
  /**
   * @param {HTMLElement} container  where the cards go
   * @param {object} options  onAccept(requestId), me() -> user, countEl, emptyEl
   */
  constructor(container, { onAccept, me, countEl, emptyEl }) {
    this.container = container;
    this.onAccept = onAccept;
    this.me = me;
    this.countEl = countEl;
    this.emptyEl = emptyEl;
    this.cards = new Map();
    this.ticker = setInterval(() => this._tick(), 1000);
    this._render();
  }

  get count() {
    return this.cards.size;
  }

  /** Replace every card with the alerts of a `welcome` (no sound for known ones). */
  reset(alerts) {
    const list = (alerts || []).map((a) => a.request ?? a).filter((r) => r && r.id);
    const ids = new Set(list.map((r) => r.id));
    for (const id of [...this.cards.keys()]) if (!ids.has(id)) this.remove(id);
    for (const req of list) this.add(req);
  }

  add(req) {
    if (!req || !req.id) return;
    const known = this.cards.get(req.id);
    if (known) {
      known.stale = false;
      return;
    }
    const created = parseTime(req.created_at) || new Date();
    const wait = h('span', { class: 'alert-wait', testid: 'alert-wait' });
    const accept = h('button', { type: 'button', class: 'btn btn-primary', testid: 'alert-accept' }, 'Accept');
    const queue = req.queue?.name || req.queue?.slug || (typeof req.queue === 'string' ? req.queue : 'Support');
    const card = h('article', { class: 'alert-card', testid: 'alert', data: { requestId: req.id } },
      h('div', { class: 'alert-top' }, h('span', { class: 'pill', testid: 'alert-queue' }, queue), wait),
      h('div', { class: 'alert-who' },
        h('strong', { class: 'alert-name', testid: 'alert-name' }, req.name || 'Visitor'),
        req.email ? h('span', { class: 'alert-email', testid: 'alert-email' }, req.email) : null,
        req.client ? h('span', { class: 'alert-client', testid: 'alert-client', title: 'The visitor’s system and browser' }, req.client) : null,
        req.context?.languages?.length ? h('span', { class: 'alert-client', testid: 'alert-language', title: 'The visitor’s language' }, req.context.languages[0]) : null),
      h('p', { class: 'alert-question', testid: 'alert-question' }, req.question || ''),
      h('div', { class: 'alert-actions' }, accept));
    accept.addEventListener('click', () => {
      accept.disabled = true;
      setText(accept, 'Accepting…');
      entry.accepting = true;
      if (!this.onAccept(req.id)) {
        accept.disabled = false;
        setText(accept, 'Accept');
        entry.accepting = false;
      }
    });
    const entry = { card, wait, accept, created, req, accepting: false, conflict: false };
    this.cards.set(req.id, entry);
    this.container.prepend(card);
    this._tickOne(entry);
    this._render();
    beep();
    notify(req, () => card.scrollIntoView({ block: 'nearest' }));
  }

  /** Before a reconnect re-announces the waiting requests: keep the cards
   * (no second beep) but remember which ones the server has not confirmed. */
  markStale() {
    for (const entry of this.cards.values()) entry.stale = true;
  }

  /** Drop the cards the server did not announce again. */
  sweepStale() {
    for (const [id, entry] of [...this.cards]) if (entry.stale) this.remove(id);
  }

  /** The request was accepted by us: drop the card quietly. */
  remove(requestId) {
    const entry = this.cards.get(requestId);
    if (!entry) return;
    entry.card.remove();
    this.cards.delete(requestId);
    this._render();
  }

  /** Our accept lost the race; the withdrawn message with the winner follows. */
  conflict(requestId) {
    const entry = this.cards.get(requestId);
    if (entry) entry.conflict = true;
    this._conflicted = this._conflicted || new Set();
    this._conflicted.add(requestId);
  }

  /** Our accept was refused for another reason: let the rep try again. */
  release(requestId) {
    const entry = this.cards.get(requestId);
    if (!entry) return;
    entry.accepting = false;
    entry.accept.disabled = false;
    setText(entry.accept, 'Accept');
  }

  withdraw({ request_id: id, reason, taken_by: takenBy }) {
    const entry = this.cards.get(id);
    const lost = entry?.conflict || this._conflicted?.has(id);
    this._conflicted?.delete(id);
    this.remove(id);
    const me = this.me();
    if (reason === 'taken' && takenBy && (!me || String(takenBy.id) !== String(me.id))) {
      const who = takenBy.name || 'another rep';
      const note = h('div', { class: 'alert-taken', testid: 'alert-taken-by', data: { requestId: id, reason } },
        lost ? `Already taken by ${who}` : `Taken by ${who}`,
        entry ? h('span', { class: 'alert-taken-name' }, ` · ${entry.req.name || 'Visitor'}`) : null);
      this.container.prepend(note);
      setTimeout(() => note.remove(), TAKEN_NOTE_MS);
    }
  }

  /** Drop the cards of queues we no longer serve (an admin removed us). */
  keepQueues(queueIds) {
    const keep = new Set(queueIds.map(String));
    for (const [id, entry] of [...this.cards.entries()]) {
      const queueId = entry.req?.queue?.id;
      if (queueId !== undefined && queueId !== null && !keep.has(String(queueId))) this.remove(id);
    }
  }

  clear() {
    for (const id of [...this.cards.keys()]) this.remove(id);
    for (const note of this.container.querySelectorAll('.alert-taken')) note.remove();
  }

  _tick() {
    for (const entry of this.cards.values()) this._tickOne(entry);
  }

  _tickOne(entry) {
    const seconds = (Date.now() - entry.created.getTime()) / 1000;
    setText(entry.wait, `waiting ${formatDuration(seconds)}`);
    entry.card.classList.toggle('alert-old', seconds > 120);
  }

  _render() {
    setText(this.countEl, this.cards.size);
    this.countEl.dataset.count = String(this.cards.size);
    this.emptyEl.hidden = this.cards.size > 0;
    const base = document.title.replace(/^\(\d+\)\s*/, '');
    document.title = this.cards.size ? `(${this.cards.size}) ${base}` : base;
  }
}

// File cards: one card per transfer in a conversation, for the help box and
// the console alike, drawn from the server's `file.state` (the one message
// every card is drawn from; protocol/server_messages.py FileState).
//
// A card shows the name (as the server sanitized it, always as text), size,
// type, who sent it, the status in words, a progress bar with rate and time
// left, Pause/Resume and Cancel while the transfer is unfinished (either
// party may), a Download link once the file is `ready` (an ordinary
// navigation to the server's attachment, so the browser's own download
// manager fetches it) and the SHA-256 under "Details" once verified.
//
// Cards sit among the chat messages by time (`created`, see ChatLog.addItem)
// and come back after a reload: the server sends every transfer's state after
// the socket's hello. Until the server answers an offer, a card is keyed by
// the offer's cid; the state carrying that cid gives it its id.

import { h, setText } from './dom.js';
import { FILE } from './wire.js';
import { english } from './words.js';

/** The cards' words (English); the help box passes its catalogue's `t` (shared/words.js). */
export const FILE_CARD_WORDS = {
  'file.error.too_large': 'That file is too large to send here.',
  'file.error.too_many_files': 'No more files can be sent in this conversation.',
  'file.error.forbidden': 'Sending files is not allowed here.',
  'file.error.storage_full': 'The server has no room for this file right now. Nothing of it was kept.',
  'file.error.storage_failed': 'The server could not store this file. Nothing of it was kept.',
  'file.error.bad_state': 'That is not possible for this file now.',
  'file.error.not_found': 'That file is no longer there.',
  'file.error.rate_limited': 'Too much at once. Wait a moment, then try again.',
  'file.error.other': 'The file could not be sent.',
  'file.left.s': '{s} s left',
  'file.left.min': '{min} min {s} s left',
  'file.left.h': '{h} h {min} min left',
  'file.to_your_computer': 'Sent to your computer: accept or refuse it in the DeskLink window',
  'file.waiting_accept': 'Waiting for {other} to accept',
  'file.the_visitor': 'the visitor',
  'file.starting': 'Starting…',
  'file.about_to_send': '{other} is about to send this file',
  'file.on_its_way': 'A file is on its way',
  'file.uploading': 'Uploading…',
  'file.sending': '{other} is sending this file…',
  'file.on_its_way_now': 'The file is on its way…',
  'file.paused': 'Paused',
  'file.paused_by': 'Paused by {who}',
  'file.sent': 'Sent. {other} can download it.',
  'file.the_other_side': 'The other side',
  'file.ready': 'Ready to download',
  'file.delivering_theirs': 'Delivering to {other}’s computer…',
  'file.delivering_yours': 'Delivering to your computer…',
  'file.saved_theirs': 'Saved on {other}’s computer',
  'file.saved_yours': 'Saved on your computer',
  'file.refused': 'Refused',
  'file.refused_why': 'Refused: {reason}',
  'file.cancelled': 'Cancelled',
  'file.cancelled_why': 'Cancelled: {reason}',
  'file.failed': 'Failed: something went wrong',
  'file.failed_why': 'Failed: {reason}',
  'file.expired': 'No longer available (removed from the server after the retention period)',
  'file.pause': 'Pause',
  'file.resume': 'Resume',
  'file.cancel': 'Cancel',
  'file.download': 'Download',
  'file.repick': 'Pick the file again',
  'file.repick_to_resume': 'Pick the file again to resume',
  'file.details': 'Details',
  'file.sha256': 'SHA-256 (verified) ',
  'file.meta': '{size} · from {who}',
  'file.you': 'You',
  'file.support': 'Support',
  'file.visitor': 'Visitor',
  'file.type': 'Type {mime}',
  'file.percent': '{pct}% of {size}',
  'file.not_connected': 'Not connected. Try again in a moment.',
};
const ENGLISH = english(FILE_CARD_WORDS);

const FINAL = new Set(FILE.FINAL);
/** A rate older than this (no file.state, no ack since) is not shown: the transfer is stalled. */
export const STALE_RATE_MS = 3000;
const UNFINISHED = new Set(['offered', 'uploading', 'paused', 'delivering']);

/** An `error` about a file, in words (the server's own text added when it says more). */
export function fileErrorText(code, message = '', t = ENGLISH) {
  const known = Object.hasOwn(FILE_CARD_WORDS, `file.error.${code}`);
  const text = t(known ? `file.error.${code}` : 'file.error.other');
  const extra = message && !text.toLowerCase().includes(String(message).toLowerCase()) ? ` (${message})` : '';
  return `${text}${extra}`;
}

/** "0 B", "980 B", "1.5 KB", "20.0 MB", "1.2 GB" (powers of 1024, as file managers do). */
export function formatBytes(n) {
  const v = Number(n) || 0;
  if (v < 1024) return `${v} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i += 1; }
  return `${x >= 100 ? Math.round(x) : x.toFixed(1)} ${units[i]}`;
}

/** "1.2 MB/s · 0:14 left" (empty when nothing is known). */
export function formatRate(rate, etaS, t = ENGLISH) {
  const parts = [];
  if (Number(rate) > 0) parts.push(`${formatBytes(rate)}/s`);
  if (Number.isFinite(etaS) && etaS !== null && etaS >= 0) {
    const s = Math.ceil(etaS);
    parts.push(s < 60 ? t('file.left.s', { s }) : s < 3600 ? t('file.left.min', { min: Math.floor(s / 60), s: s % 60 })
      : t('file.left.h', { h: Math.floor(s / 3600), min: Math.floor((s % 3600) / 60) }));
  }
  return parts.join(' · ');
}

/** The last part of a (sanitized) name: what the file is called. */
export function baseName(name) {
  return String(name || '').split(/[\\/]/).pop() || String(name || '');
}

/** A short type label: the extension in capitals, else the MIME's subtype. */
export function typeLabel(name, mime) {
  const base = baseName(name);
  const dot = base.lastIndexOf('.');
  if (dot > 0 && base.length - dot <= 8) return base.slice(dot + 1).toUpperCase();
  const sub = String(mime || '').split('/')[1];
  return sub ? sub.toUpperCase().slice(0, 8) : 'FILE';
}

/**
 * The status in words, for whoever looks at the card. `mine`: this side sent
 * the file; `other`: the other party's name (who sent it, or who receives it).
 */
export function statusText(state, mine, other, t = ENGLISH) {
  const s = state.status;
  const computer = state.to === 'computer';
  const reason = state.reason ? String(state.reason) : '';
  const them = other || t('file.the_visitor');
  const waiting = () => (mine ? t('file.waiting_accept', { other: them }) : t('file.to_your_computer'));
  // "cancelled by Riley" says it whole: not "Cancelled: cancelled by Riley"
  const said = String(state.reason || '');
  if (['cancelled', 'refused', 'failed'].includes(s) && said.toLowerCase().startsWith(s)) return said.charAt(0).toUpperCase() + said.slice(1);
  switch (s) {
    case 'offered':
      if (computer) return waiting();
      return mine ? t('file.starting') : other ? t('file.about_to_send', { other }) : t('file.on_its_way');
    case 'uploading':
      return mine ? t('file.uploading') : other ? t('file.sending', { other }) : t('file.on_its_way_now');
    case 'paused':
      return state.paused_by ? t('file.paused_by', { who: state.paused_by }) : t('file.paused');
    case 'ready':
      if (computer) return waiting();
      return mine ? t('file.sent', { other: other || t('file.the_other_side') }) : t('file.ready');
    case 'delivering':
      return mine ? t('file.delivering_theirs', { other: them }) : t('file.delivering_yours');
    case 'delivered':
      return mine ? t('file.saved_theirs', { other: them }) : t('file.saved_yours');
    case 'refused':
      return reason ? t('file.refused_why', { reason }) : t('file.refused');
    case 'cancelled':
      return reason ? t('file.cancelled_why', { reason }) : t('file.cancelled');
    case 'failed':
      return reason ? t('file.failed_why', { reason }) : t('file.failed');
    case 'expired':
      return t('file.expired');
    default:
      return s;
  }
}

/** Bytes done and of how many, for the bar: the upload leg, then the delivery leg. */
export function progressOf(state) {
  const size = Number(state.size) || 0;
  if (state.status === 'delivering' || state.status === 'delivered') return [state.status === 'delivered' ? size : Number(state.delivered) || 0, size];
  if (state.status === 'ready') return [size, size];
  return [Math.min(size, Number(state.received) || 0), size];
}

export class FileCards {
  /**
   * @param {object} o
   *   log        the conversation's ChatLog (cards go among its messages)
   *   self       'visitor' | 'rep': which side this page is
   *   origin     the DeskLink server's origin (download paths are relative to it)
   *   otherName()  the other party's name, for the wording
   *   pause(id, on), cancel(id)   send file.pause / file.cancel; false when not connected
   *   repick(state, file)  the file picked again for a lost upload: '' or why not
   *   onChange(card, state)  after a card was drawn (unread counts, toasts)
   *   t(key, vars)  the words (default: English, FILE_CARD_WORDS)
   */
  constructor(o) {
    this.o = o;
    this.t = o.t || ENGLISH;
    this.cards = new Map(); // id -> card
    this.byCid = new Map(); // cid -> card, until the id is known
    this.timer = null; // redraws live cards' rates, so a stalled transfer stops showing one
  }

  _tick() {
    let live = 0;
    for (const card of this.cards.values()) {
      if (['uploading', 'delivering'].includes(card.state.status)) {
        live += 1;
        this._drawProgress(card, card.state);
      }
    }
    if (!live) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get(id) {
    return this.cards.get(id) || null;
  }

  /** A card for a file this side offered, before the server has answered. */
  offered(cid, file, name, to = 'chat') {
    const state = { id: null, cid, name, size: file.size, mime: file.type || '', sender: this.o.self, by: '', to, via: 'browser',
      status: 'offered', received: 0, delivered: 0, sha256: '', reason: '', download: '', created: Date.now() / 1000, rate: 0, eta_s: null };
    const card = this._make(state);
    this.byCid.set(cid, card);
    this._draw(card, state);
    return card;
  }

  /** The server refused an offer before it became a transfer. */
  refusedOffer(cid, text) {
    const card = this.byCid.get(cid);
    if (!card) return false;
    this.byCid.delete(cid);
    this._draw(card, { ...card.state, status: 'failed', reason: text });
    return true;
  }

  /** Draw a `file.state`. Returns the card. */
  onState(state) {
    let card = this.cards.get(state.id);
    if (!card && state.cid && this.byCid.has(state.cid)) {
      card = this.byCid.get(state.cid);
      this.byCid.delete(state.cid);
    }
    if (!card) card = this._make(state);
    this.cards.set(state.id, card);
    card.el.dataset.id = String(state.id);
    this._draw(card, state);
    return card;
  }

  /** An error about one transfer (its id is known): show it on the card. */
  problem(id, text) {
    const card = this.cards.get(id);
    if (!card) return false;
    setText(card.note, text);
    card.note.hidden = !text;
    return true;
  }

  /** The uploader's own progress (acks come more often than file.state). */
  progress(id, acked) {
    const card = this.cards.get(id);
    if (!card || !UNFINISHED.has(card.state.status) || card.state.status === 'delivering') return;
    card.updatedAt = Date.now();
    if (acked > (Number(card.state.received) || 0)) this._drawProgress(card, { ...card.state, received: acked });
  }

  /** Our unfinished upload whose File is gone (a reload in another browser, storage cleared). */
  missing(state) {
    const card = this.onState(state);
    card.missing = true;
    this._draw(card, card.state);
  }

  clear() {
    for (const card of this.cards.values()) card.el.remove();
    for (const card of this.byCid.values()) card.el.remove();
    clearInterval(this.timer);
    this.timer = null;
    this.cards.clear();
    this.byCid.clear();
  }

  // ------------------------------------------------------------- drawing

  _make(state) {
    const card = { state, missing: false };
    card.type = h('span', { class: 'file-type', testid: 'file-type', 'aria-hidden': 'true' });
    card.name = h('span', { class: 'file-name', testid: 'file-name' });
    card.meta = h('span', { class: 'file-meta', testid: 'file-meta' });
    card.status = h('span', { class: 'file-status', testid: 'file-status', role: 'status' });
    card.bar = h('progress', { class: 'file-bar', testid: 'file-progress', max: 1, value: 0 });
    card.rate = h('span', { class: 'file-rate', testid: 'file-rate' });
    card.note = h('p', { class: 'file-note', testid: 'file-note', role: 'alert', props: { hidden: true } });
    card.pause = h('button', { type: 'button', class: 'file-btn', testid: 'file-pause', on: { click: () => this._pause(card) } }, this.t('file.pause'));
    card.cancel = h('button', { type: 'button', class: 'file-btn file-btn-danger', testid: 'file-cancel', on: { click: () => this._cancel(card) } }, this.t('file.cancel'));
    card.download = h('a', { class: 'file-btn file-btn-primary', testid: 'file-download', download: '', rel: 'noopener', props: { hidden: true } }, this.t('file.download'));
    card.picker = h('input', { type: 'file', class: 'file-picker', testid: 'file-repick-input', tabindex: '-1', props: { hidden: true },
      on: { change: () => this._repicked(card) } });
    card.repick = h('button', { type: 'button', class: 'file-btn file-btn-primary', testid: 'file-repick', props: { hidden: true },
      on: { click: () => card.picker.click() } }, this.t('file.repick'));
    card.hash = h('code', { class: 'file-hash', testid: 'file-sha256' });
    card.mime = h('span', { class: 'file-mime', testid: 'file-mime' });
    card.details = h('details', { class: 'file-details', props: { hidden: true } }, h('summary', {}, this.t('file.details')),
      card.mime, h('span', { class: 'file-hash-label' }, this.t('file.sha256')), card.hash);
    card.el = h('li', { class: 'file-card', testid: 'file-card' },
      h('div', { class: 'file-head' }, card.type,
        h('div', { class: 'file-title' }, card.name, card.meta)),
      h('div', { class: 'file-progress' }, card.bar, h('div', { class: 'file-line' }, card.status, card.rate)),
      card.note,
      card.actions = h('div', { class: 'file-actions' }, card.pause, card.cancel, card.download, card.repick, card.picker),
      card.details);
    this.o.log.addItem(card.el, (Number(state.created) || Date.now() / 1000) * 1000);
    return card;
  }

  _draw(card, state) {
    const old = card.state;
    card.state = state;
    card.updatedAt = Date.now();
    const mine = state.sender === this.o.self;
    const el = card.el;
    el.dataset.status = state.status;
    el.dataset.from = state.sender;
    el.dataset.to = state.to;
    el.classList.toggle('file-mine', mine);
    if (state.cid) el.dataset.cid = state.cid;
    if (old.created !== state.created && state.created) this.o.log.addItem(el, Number(state.created) * 1000);
    setText(card.type, typeLabel(state.name, state.mime));
    setText(card.name, state.name);
    card.name.title = state.name;
    const who = mine ? this.t('file.you') : state.by || this.t(state.sender === 'rep' ? 'file.support' : 'file.visitor');
    setText(card.meta, this.t('file.meta', { size: formatBytes(state.size), who }));
    card.type.title = state.mime || '';
    const other = this.o.otherName?.() || '';
    const missing = card.missing && mine && UNFINISHED.has(state.status);
    setText(card.status, missing ? this.t('file.repick_to_resume') : statusText(state, mine, other, this.t));
    this._drawProgress(card, state);
    const unfinished = UNFINISHED.has(state.status) && state.id !== null && state.id !== undefined;
    card.pause.hidden = !unfinished || missing;
    setText(card.pause, this.t(state.status === 'paused' ? 'file.resume' : 'file.pause'));
    card.pause.dataset.on = String(state.status === 'paused');
    card.cancel.hidden = !unfinished && !(state.status === 'ready' && state.to === 'computer');
    // The receiver downloads; the sender has the file already.
    const ready = state.status === 'ready' && state.to === 'chat' && !!state.download && !mine;
    card.download.hidden = !ready;
    if (ready) {
      card.download.href = new URL(state.download, this.o.origin).href;
      card.download.title = state.sha256 ? `SHA-256 ${state.sha256}` : '';
    } else {
      card.download.removeAttribute('href');
    }
    card.repick.hidden = !missing;
    card.actions.hidden = [card.pause, card.cancel, card.download, card.repick].every((b) => b.hidden);
    setText(card.hash, state.sha256 || '');
    setText(card.mime, state.mime ? this.t('file.type', { mime: state.mime }) : '');
    card.details.hidden = !state.sha256;
    if (FINAL.has(state.status) || ready) { card.note.hidden = true; }
    this.o.onChange?.(card, state, old);
  }

  _drawProgress(card, state) {
    const [done, size] = progressOf(state);
    card.bar.max = Math.max(1, size);
    card.bar.value = size ? done : (FINAL.has(state.status) || state.status === 'ready' ? 1 : 0);
    card.el.dataset.received = String(state.received ?? 0);
    const live = ['uploading', 'delivering'].includes(state.status);
    const pct = size ? Math.floor((done / size) * 100) : 0;
    const fresh = !card.missing && Date.now() - (card.updatedAt || 0) < STALE_RATE_MS;
    const rate = live && fresh ? formatRate(state.rate, state.eta_s, this.t) : '';
    if (live && !this.timer) this.timer = setInterval(() => this._tick(), 1000);
    setText(card.rate, live || state.status === 'paused' ? [this.t('file.percent', { pct, size: formatBytes(size) }), rate].filter(Boolean).join(' · ') : '');
    card.bar.hidden = !(live || state.status === 'paused' || state.status === 'offered');
  }

  _pause(card) {
    const on = card.state.status !== 'paused';
    if (!this.o.pause(card.state.id, on)) this._note(card, this.t('file.not_connected'));
  }

  _cancel(card) {
    if (!this.o.cancel(card.state.id)) this._note(card, this.t('file.not_connected'));
  }

  _repicked(card) {
    const file = card.picker.files?.[0];
    card.picker.value = '';
    if (!file) return;
    const why = this.o.repick(card.state, file);
    if (why) {
      this._note(card, why);
      return;
    }
    card.missing = false;
    this._note(card, '');
    this._draw(card, card.state);
  }

  _note(card, text) {
    setText(card.note, text);
    card.note.hidden = !text;
  }
}

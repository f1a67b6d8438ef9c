// The list of chat messages in one conversation, for the help box and the
// console alike.
//
// Messages are kept in `seq` order and de-duplicated by `seq` (a resume may
// replay what the list already shows). Messages this side sent but the
// server has not echoed yet are shown as "pending" at the end, keyed by their
// `cid`; the echo with the same `cid` replaces them. All text is rendered as
// text nodes.
//
// Other items (file cards) take their place among the messages by time:
// `addItem(el, atMs)`; each message carries its time as `data-at` (ms since
// the epoch, from `ts`), so a message and a card land in the order they
// happened, and a card stays above later messages.

import { h, formatClock } from './dom.js';
import { english } from './words.js';

/** The log's own words (English); the help box passes its catalogue's `t` (shared/words.js). */
export const CHATLOG_WORDS = {
  'chat.sending': 'Sending…',
  'chat.not_sent': 'Not sent.',
  'chat.retry': 'Retry',
  'chat.you': 'You',
  'chat.support': 'Support',
  'chat.visitor': 'Visitor',
};

export class ChatLog {
  /**
   * @param {HTMLElement} list  an <ol>
   * @param {object} options  self: "visitor" | "rep" (which side is "me");
   *   ownName: show the sender's name on own messages instead of "You"
   *   scroller: the element that scrolls (default: the list itself)
   *   mine: (msg) => bool, which of this side's lines are really mine (a
   *     console where a supervisor also speaks for support); default: all
   *   t: (key, vars) => text, the words (default: English, CHATLOG_WORDS)
   *   systemText: (msg) => text of a system line (default: its `text`)
   */
  constructor(list, { self, ownName = false, scroller = null, mine = null, t = english(CHATLOG_WORDS), systemText = null }) {
    this.list = list;
    this.t = t;
    this.systemText = systemText || ((msg) => msg.text ?? '');
    this.mine = mine;
    this.scroller = scroller || list;
    this.self = self;
    this.ownName = ownName;
    this.bySeq = new Map();
    this.pending = new Map();
  }

  /** Highest seq shown (0 when none). */
  get lastSeq() {
    let max = 0;
    for (const seq of this.bySeq.keys()) if (seq > max) max = seq;
    return max;
  }

  get size() {
    return this.bySeq.size;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  /** Add a stored `chat` message; returns false if its seq is already shown. */
  add(msg) {
    const seq = Number(msg.seq);
    if (!Number.isFinite(seq) || this.bySeq.has(seq)) {
      if (msg.cid) this.dropPending(msg.cid);
      return false;
    }
    const stick = this._nearBottom();
    if (msg.cid) this.dropPending(msg.cid);
    const el = this._render(msg, seq);
    this.bySeq.set(seq, el);
    const at = el.dataset.at ? Number(el.dataset.at) : Infinity;
    let before = null;
    for (const child of this.list.children) {
      const later = child.dataset.seq ? Number(child.dataset.seq) > seq
        : child.dataset.at ? Number(child.dataset.at) > at
        : true; // a pending line: always last
      if (later) { before = child; break; }
    }
    this.list.insertBefore(el, before);
    if (stick || msg.from === this.self) this.scrollToEnd();
    return true;
  }

  /**
   * Put another item (a file card) among the messages at its time `at` (ms
   * since the epoch); it goes before every later message and before the
   * pending lines. Returns the element.
   */
  addItem(el, at) {
    const stick = this._nearBottom();
    el.dataset.at = String(at);
    let before = null;
    for (const child of this.list.children) {
      if (child === el) continue;
      const childAt = child.dataset.at ? Number(child.dataset.at) : child.dataset.seq ? -Infinity : Infinity;
      if (childAt > at) { before = child; break; }
    }
    this.list.insertBefore(el, before);
    if (stick) this.scrollToEnd();
    return el;
  }

  /** Show a message this side sent and the server has not echoed yet. */
  addPending(cid, text, name) {
    if (this.pending.has(cid)) return this.pending.get(cid);
    const el = this._render({ from: this.self, name, text, cid }, null);
    el.dataset.pending = 'true';
    el.classList.add('msg-pending');
    el.append(h('div', { class: 'msg-status', testid: 'message-status' }, this.t('chat.sending')));
    this.pending.set(cid, el);
    this.list.append(el);
    this.scrollToEnd();
    return el;
  }

  /** Mark a pending message as not sent, with a Retry button. */
  markFailed(cid, reason, onRetry) {
    const el = this.pending.get(cid);
    if (!el) return;
    el.dataset.failed = 'true';
    el.classList.add('msg-failed');
    const status = el.querySelector('.msg-status');
    status.textContent = reason || this.t('chat.not_sent');
    if (onRetry) {
      const retry = h('button', { type: 'button', class: 'msg-retry', testid: 'message-retry' }, this.t('chat.retry'));
      retry.addEventListener('click', () => {
        retry.remove();
        delete el.dataset.failed;
        el.classList.remove('msg-failed');
        status.textContent = this.t('chat.sending');
        onRetry(cid);
      });
      status.append(' ', retry);
    }
  }

  dropPending(cid) {
    const el = this.pending.get(cid);
    if (el) {
      el.remove();
      this.pending.delete(cid);
    }
  }

  clear() {
    this.bySeq.clear();
    this.pending.clear();
    while (this.list.firstChild) this.list.firstChild.remove();
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  _nearBottom() {
    const l = this.scroller;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 48;
  }

  _render(msg, seq) {
    const from = ['visitor', 'rep', 'system'].includes(msg.from) ? msg.from : 'system';
    const self = from === this.self && (seq === null || !this.mine || this.mine(msg));
    const side = from === 'system' ? 'msg-system' : self ? 'msg-self' : 'msg-other';
    const time = msg.ts ? Date.parse(msg.ts) : NaN;
    const data = { from, seq: seq ?? undefined, cid: msg.cid || undefined, at: Number.isFinite(time) && seq !== null ? time : undefined };
    if (from === 'system') {
      return h('li', { class: ['msg', side], testid: 'message', data },
        h('div', { class: 'msg-text', testid: 'message-text' }, this.systemText(msg)));
    }
    const fallback = this.t(from === 'rep' ? 'chat.support' : 'chat.visitor');
    const name = self && !this.ownName ? this.t('chat.you') : (msg.name || fallback);
    return h('li', { class: ['msg', side], testid: 'message', data },
      h('div', { class: 'msg-meta' },
        h('span', { class: 'msg-name', testid: 'message-name' }, name),
        msg.ts ? h('time', { class: 'msg-time', datetime: msg.ts }, formatClock(msg.ts)) : null),
      h('div', { class: 'msg-text', testid: 'message-text' }, msg.text ?? ''));
  }
}

/**
 * A stored message from the HTTP API (GET /api/sessions/{id}) in the shape
 * of a `chat` wire message, whatever the field names of the record.
 */
export function normalizeMessage(m) {
  return {
    t: 'chat',
    seq: Number(m.seq),
    cid: m.cid ?? m.client_id ?? '',
    from: m.from ?? m.sender ?? 'system',
    name: m.name ?? m.sender_name ?? '',
    text: m.text ?? m.body ?? '',
    ts: m.ts ?? m.created_at ?? '',
    session_id: m.session_id,
    request_id: m.request_id,
  };
}

// The visitor's side of one conversation, without any DOM: submit, the
// /ws/visitor connection, resume, pending messages and the transcript.
//
// What survives a reload lives in localStorage under a key made of the
// DeskLink server's origin and the queue slug:
//   {request_id, token, ws_path, last_seq, pending: [{cid, text}]}
// A chat message stays in `pending` until its echo (a `chat` with the same
// cid) arrives; after a reconnect every pending message is sent again with
// the SAME cid, and the server stores each cid once, so nothing is lost or
// doubled (docs/protocol.md, "Visitor flow").
//
// A freshly loaded page has no messages on screen, so its first hello asks
// for everything (last_seq 0, bounded by the server's max_resume_backlog);
// later reconnects in the same page ask only for what is missing.
//
// Events (CustomEvent, detail = the server message unless noted):
// welcome, queue, joined, chat, typing, screen.offer, file (file.state,
// file.ack, file.nak: widget/files.js handles them), ended, closed, error,
// failed {cid, code}, lost {code}, gone, denied, connection {state}.

import { CLOSE } from '../shared/wire.js';
import { ReconnectingSocket } from '../shared/socket.js';
import { api, fetchBlob } from '../shared/http.js';
import { newCid, wsUrl } from '../shared/dom.js';
import { clientSummary } from './client-info.js';

/** Close codes after which reconnecting cannot help (docs/protocol.md). */
const STOP_CODES = [CLOSE.POLICY, CLOSE.AUTH, CLOSE.NOT_FOUND, CLOSE.ENDED];
const FINAL = new Set(['closed', 'abandoned', 'expired']);
/** After a rate_limited error, send the unechoed lines again this much later. */
const RATE_RETRY_MS = 5000;

export class Conversation extends EventTarget {
  constructor(server, queue) {
    super();
    this.server = server;
    this.queue = queue;
    this.key = `desklink-help:${server}:${queue}`;
    this.saved = this._load();
    this.token = this.saved?.token ?? null;
    this.requestId = this.saved?.request_id ?? null;
    this.socket = null;
    this.welcomed = false;
    this.seen = new Set();
    this.lastSeq = 0;
    this.status = null;
    this.sentHere = [];
  }

  /** True when a conversation from an earlier page load can be resumed. */
  get resumable() {
    return !!this.saved;
  }

  /** True while the conversation can still change (not ended or closed). */
  get live() {
    return !!this.saved;
  }

  get pending() {
    return this.saved ? this.saved.pending.slice() : [];
  }

  emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---------------------------------------------------------------- HTTP

  async loadConfig() {
    return api('GET', `${this.server}/api/widget/config?queue=${encodeURIComponent(this.queue)}`, { credentials: 'omit' });
  }

  async submit({ name, email, question, context, answers }) {
    const body = { queue: this.queue, name, question };
    if (answers && Object.keys(answers).length) body.answers = answers; // the queue's pre-chat fields (branding.js)
    if (context) body.context = context; // page, languages, time zone, the provider's fields (client-info.js)
    if (email) body.email = email;
    const client = await clientSummary().catch(() => '');
    if (client) body.client = client; // "Windows 11 · Chrome 131": the rep sees which way of sharing fits
    const result = await api('POST', `${this.server}/api/visitor/requests`, { body, credentials: 'omit' });
    this.saved = {
      request_id: result.request_id,
      token: result.token,
      ws_path: result.ws_path || '/ws/visitor',
      last_seq: 0,
      pending: [],
    };
    this.token = result.token;
    this.requestId = result.request_id;
    this.status = 'waiting';
    this._save();
    this.connect();
    return result;
  }

  /**
   * A fresh screen-sharing code for the rep's outstanding screen request
   * (the old one stops working). Resolves to the new screen.offer, which
   * also arrives on the socket; rejects with an ApiError.
   */
  /** Where to share the screen from this browser: the relay ticket {url, token} (asked before every connect). */
  async screenRelay() {
    return api('POST', `${this.server}/api/visitor/screen-relay`, { token: this.token, credentials: 'omit' });
  }

  async renewScreenCode() {
    const url = `${this.server}/api/visitor/screen-code`;
    const result = await api('POST', url, { token: this.token, credentials: 'omit' });
    return result?.offer ?? null;
  }

  /**
   * Rate the ended conversation: 1 to 5 and an optional comment, once.
   * Resolves to {session_id, rating, comment, rated_at}; rejects with an
   * ApiError (conflict_exists when it was rated before).
   */
  async rate(rating, comment) {
    const body = { rating };
    if (comment) body.comment = comment;
    return api('POST', `${this.server}/api/visitor/rating`, { body, token: this.token, credentials: 'omit' });
  }

  /** The transcript as {blob, filename}; works after the end too. */
  async transcript(format) {
    const url = `${this.server}/api/visitor/transcript?format=${encodeURIComponent(format)}`;
    return fetchBlob(url, { token: this.token });
  }

  // ----------------------------------------------------------- WebSocket

  connect() {
    if (!this.saved) return;
    if (this.socket) this.socket.stop();
    this.socket = new ReconnectingSocket(wsUrl(this.server, this.saved.ws_path || '/ws/visitor'), {
      onopen: () => this._onOpen(),
      onmessage: (msg) => this._onMessage(msg),
      onclose: (event, willRetry) => this._onClose(event, willRetry),
      onstate: (state) => this.emit('connection', { state }),
    }, { stopCodes: STOP_CODES });
    this.socket.start();
  }

  /** Send a chat line; returns its cid (the message stays pending until echoed). */
  send(text) {
    if (!this.saved) return null;
    const cid = newCid();
    this.saved.pending.push({ cid, text });
    this._save();
    this._sendPending({ cid, text });
    return cid;
  }

  /** Send a message that failed (rate limited) again, with the same cid. */
  retry(cid, text) {
    if (!this.saved) return;
    if (!this.saved.pending.some((p) => p.cid === cid)) this.saved.pending.push({ cid, text });
    this._save();
    this._sendPending({ cid, text });
  }

  typing(on) {
    if (this.welcomed) this.socket?.send({ t: 'typing', on: !!on });
  }

  /** Give up while waiting (sent as soon as the server has welcomed us). */
  cancel() {
    return this._sendOrDefer({ t: 'cancel' });
  }

  /** End the conversation (sent as soon as the server has welcomed us). */
  leave() {
    return this._sendOrDefer({ t: 'leave' });
  }

  _sendOrDefer(msg) {
    if (!this.saved) return false;
    if (this.welcomed && this.socket.send(msg)) return true;
    this.deferred = msg;
    return true;
  }

  /** Stop and forget the stored state (the token stays for the transcript). */
  finish() {
    this.socket?.stop();
    this.welcomed = false;
    this._forget();
  }

  _forget() {
    clearTimeout(this.resendTimer);
    this.saved = null;
    try { localStorage.removeItem(this.key); } catch { /* storage disabled */ }
  }

  /** Close the connection without forgetting anything (page going away). */
  disconnect() {
    this.socket?.stop();
  }

  _sendPending(item) {
    if (this.welcomed && this.socket?.send({ t: 'chat.send', cid: item.cid, text: item.text })) {
      this.sentHere.push(item.cid);
    }
  }

  _onOpen() {
    this.welcomed = false;
    this.sentHere = [];
    this.socket.send({ t: 'hello', token: this.saved.token, last_seq: this.lastSeq });
  }

  _onMessage(msg) {
    switch (msg.t) {
      case 'welcome': {
        this.welcomed = true;
        this.socket.resetBackoff();
        this.status = msg.request?.status ?? this.status;
        this.emit('welcome', msg);
        if (FINAL.has(this.status)) {
          // Over while we were away: show the backlog that follows, then
          // the server closes with 4010. Nothing is left to resume.
          this._forget();
          return;
        }
        for (const item of this.saved?.pending ?? []) this._sendPending(item);
        if (this.deferred) {
          this.socket.send(this.deferred);
          this.deferred = null;
        }
        break;
      }
      case 'chat': this._onChat(msg); break;
      case 'joined': this.status = 'accepted'; this.emit('joined', msg); break;
      case 'ended': this.status = 'closed'; this.finish(); this.emit('ended', msg); break;
      case 'closed': this.status = msg.status || 'abandoned'; this.finish(); this.emit('closed', msg); break;
      case 'error': this._onError(msg); break;
      case 'queue':
      case 'typing':
      case 'screen.offer':
      case 'watchers':
      case 'taken_over':
        this.emit(msg.t, msg);
        break;
      case 'file.state':
      case 'file.ack':
      case 'file.nak':
        this.emit('file', msg);
        break;
      default:
        break;
    }
  }

  _onChat(msg) {
    const seq = Number(msg.seq);
    if (msg.from === 'visitor' && msg.cid && this.saved) {
      const before = this.saved.pending.length;
      this.saved.pending = this.saved.pending.filter((p) => p.cid !== msg.cid);
      if (this.saved.pending.length !== before) this._save();
    }
    if (this.seen.has(seq)) return;
    this.seen.add(seq);
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      if (this.saved) {
        this.saved.last_seq = seq;
        this._save();
      }
    }
    this.emit('chat', msg);
  }

  _onError(msg) {
    if (msg.code === 'rate_limited') {
      // The refused message is not named (the limit applies before parsing).
      // Sending every unechoed line again is safe: the server keeps a cid once.
      clearTimeout(this.resendTimer);
      this.resendTimer = setTimeout(() => {
        for (const item of this.saved?.pending ?? []) this._sendPending(item);
      }, RATE_RETRY_MS);
    }
    if (msg.ref === 'chat.send' && ['too_large', 'bad_message'].includes(msg.code) && this.saved) {
      // The server handles one connection's messages in order, so the
      // refused one is the oldest message sent here that has no echo yet.
      const waiting = new Set(this.saved.pending.map((p) => p.cid));
      const cid = this.sentHere.find((c) => waiting.has(c));
      if (cid) {
        this.sentHere = this.sentHere.filter((c) => c !== cid);
        const item = this.saved.pending.find((p) => p.cid === cid);
        this.saved.pending = this.saved.pending.filter((p) => p.cid !== cid);
        this._save();
        this.emit('failed', { cid, text: item?.text ?? '', code: msg.code });
      }
    }
    this.emit('error', msg);
  }

  _onClose(event) {
    this.welcomed = false;
    switch (event.code) {
      case CLOSE.AUTH:
      case CLOSE.NOT_FOUND:
        this.finish();
        this.emit('lost', { code: event.code });
        break;
      case CLOSE.ENDED:
        if (this.saved) {
          this.finish();
          this.emit('gone', { code: event.code });
        }
        break;
      case CLOSE.POLICY:
        this.emit('denied', { code: event.code });
        break;
      default:
        break;
    }
  }

  _load() {
    try {
      const raw = localStorage.getItem(this.key);
      if (!raw) return null;
      const value = JSON.parse(raw);
      if (!value || typeof value.token !== 'string' || typeof value.request_id !== 'string') return null;
      value.pending = Array.isArray(value.pending)
        ? value.pending.filter((p) => p && typeof p.cid === 'string' && typeof p.text === 'string')
        : [];
      value.last_seq = Number(value.last_seq) || 0;
      return value;
    } catch {
      return null;
    }
  }

  _save() {
    if (!this.saved) return;
    try {
      localStorage.setItem(this.key, JSON.stringify(this.saved));
    } catch { /* storage full or disabled: resume will not work, chat still does */ }
  }
}

// A WebSocket that reconnects by itself, used by the help box, the console
// and the screen viewer.
//
// It speaks the DeskLink framing (docs/protocol.md): one JSON object per text
// frame, tagged by `t`; binary frames (`[u8 channel][payload]`, the screen)
// go whole, as ArrayBuffers, to the `onbinary` handler, and are dropped when
// there is none; `sendBinary` sends one (file chunks). It knows nothing about hello or resume:
// the owner sends its hello from `onopen` and calls `resetBackoff()` once the
// server has welcomed it, so a server that accepts and then drops the
// connection at once does not get hammered.
//
// Backoff: the first retry waits about 0.5 s, each failure doubles it up to
// 10 s, and every wait is jittered by +-25 % so that a server restart does
// not bring every client back in the same instant.
//
// Close code 4503 (CLOSE.RECONNECT: the node is draining) means "reconnect
// now, elsewhere": whatever backoff had built up is dropped and the next try
// goes out after the shortest wait, so the balancer moves the client to
// another node within about half a second. It is never a stop code.
//
// The URL may be a function returning one (or a promise of one): it is
// called before every (re)connect, so a client that must ask where to go
// (the screen viewer asks for its relay ticket) follows a session that moved.
// A resolver that throws { closeCode } ends the socket as that close would
// (a stop code, e.g. the session ended); any other failure is retried with
// the usual backoff.

import { CLOSE } from './wire.js';

export const MIN_DELAY_MS = 500;
export const MAX_DELAY_MS = 10_000;
export const PING_INTERVAL_MS = 25_000;

export class ReconnectingSocket {
  /**
   * @param {string|function(): (string|Promise<string>)} url  ws:// or wss:// URL, or what gives one before each connect
   * @param {object} handlers  onopen(), onmessage(msg), onbinary(ArrayBuffer), onclose(event, willRetry), onstate(state)
   * @param {object} options  stopCodes: close codes after which it does not reconnect
   */
  constructor(url, handlers = {}, options = {}) {
    this.url = url;
    this.handlers = handlers;
    this.stopCodes = new Set(options.stopCodes || []);
    this.minDelay = options.minDelay ?? MIN_DELAY_MS;
    this.maxDelay = options.maxDelay ?? MAX_DELAY_MS;
    this.pingInterval = options.pingInterval ?? PING_INTERVAL_MS;
    this.ws = null;
    this.delay = this.minDelay;
    this.stopped = true;
    this.retryTimer = null;
    this.pingTimer = null;
    this.state = 'idle';
    this._onOnline = () => { if (!this.stopped && this.retryTimer) this._retryNow(); };
  }

  /** Connect (again); does nothing if already running. */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this._onOnline);
    this._connect();
  }

  /** Close for good (until start() is called again). */
  stop(code = 1000, reason = '') {
    this.stopped = true;
    window.removeEventListener('online', this._onOnline);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= 1) {
      try { ws.close(code, reason); } catch { /* already closing */ }
    }
    this._setState('stopped');
  }

  /** True when a message sent now goes out on an open connection. */
  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send one control message; returns false when not connected. */
  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send one binary message (an ArrayBuffer or typed array); false when not connected. */
  sendBinary(data) {
    if (!this.isOpen) return false;
    this.ws.send(data);
    return true;
  }

  /** Bytes handed to send() and not yet on the network (0 when not connected). */
  get bufferedAmount() {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  /** Call once the server has accepted the session (its welcome). */
  resetBackoff() {
    this.delay = this.minDelay;
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.handlers.onstate?.(state);
  }

  _connect() {
    this.retryTimer = null;
    if (typeof this.url !== 'function') {
      this._open(this.url);
      return;
    }
    const attempt = this._attempt = (this._attempt || 0) + 1;
    this._setState('connecting');
    Promise.resolve().then(() => this.url()).then((url) => {
      if (!this.stopped && attempt === this._attempt) this._open(url);
    }, (err) => {
      if (this.stopped || attempt !== this._attempt) return;
      const event = { code: err?.closeCode || 1006, reason: err?.message || '' };
      const willRetry = !this.stopCodes.has(event.code);
      if (!willRetry) {
        this.stopped = true;
        window.removeEventListener('online', this._onOnline);
      }
      this._setState(willRetry ? 'closed' : 'stopped');
      this.handlers.onclose?.(event, willRetry);
      if (willRetry && !this.stopped && !this.ws && !this.retryTimer) this._scheduleRetry();
    });
  }

  _open(url) {
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this._setState('closed');
      this._scheduleRetry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this._setState('connecting');
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this._setState('open');
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ t: 'ping' }), this.pingInterval);
      this.handlers.onopen?.();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      if (typeof event.data !== 'string') {
        this.handlers.onbinary?.(event.data);
        return;
      }
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!msg || typeof msg !== 'object' || msg.t === 'pong') return;
      this.handlers.onmessage?.(msg);
    };
    ws.onerror = () => { /* the close event follows and carries the code */ };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (event.code === CLOSE.RECONNECT) this.delay = this.minDelay;
      const willRetry = !this.stopped && !this.stopCodes.has(event.code);
      if (!willRetry) {
        this.stopped = true;
        window.removeEventListener('online', this._onOnline);
      }
      this._setState(willRetry ? 'closed' : 'stopped');
      this.handlers.onclose?.(event, willRetry);
      // the handler may have called stop() or start()
      if (willRetry && !this.stopped && !this.ws && !this.retryTimer) this._scheduleRetry();
    };
  }

  _scheduleRetry() {
    clearTimeout(this.retryTimer);
    const wait = this.delay * (0.75 + Math.random() * 0.5);
    this.delay = Math.min(this.delay * 2, this.maxDelay);
    this.retryTimer = setTimeout(() => this._connect(), wait);
  }

  _retryNow() {
    clearTimeout(this.retryTimer);
    this._connect();
  }
}

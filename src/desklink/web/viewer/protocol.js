// ViewerProtocol: the viewer's half of docs/protocol.md "Screen sharing",
// with no DOM, no socket and no canvas. The page (viewer.js) feeds it what
// the /ws/viewer socket receives and draws what it emits; a recording player
// feeds it the same messages from a file and ignores what it asks to send.
//
// In:
//   feed(message)      a text message as a parsed object (a JSON string is
//                      parsed too), or a binary message (ArrayBuffer or
//                      Uint8Array: the channel byte, then a screen message)
//   connected()        a new connection is open
//   disconnected(code, willRetry)   it closed; willRetry: another one is coming
//   rendered(result)   the renderer finished a frame it got from a `frame`
//                      event: {type: 'drawn' | 'failed', gen, seq, width,
//                      height, incomplete, ...} (renderer.js reports this shape)
// Out, through the injected send(message) (returns false when not connected):
//   screen.ack {seq}   once a frame of the current connection is drawn, or
//                      failed (so the agent's window of two frames never stalls)
//   screen.refresh     after a frame that could not be drawn completely, at
//                      most one per REFRESH_GAP_MS; refresh() asks at once
//   and the rep's requests: stop(), select(monitor), sendClipboard(text), send(msg)
// Events (CustomEvent; detail as noted):
//   link      {link, code}  'connecting' / 'open' / 'reconnecting' / 'closed' (code: the close code)
//   state     {state, previous}  a screen.state, normalised (see normaliseState)
//   frame     {data: ArrayBuffer, gen, bytes}  a frame (or a browser share's video chunk) to draw;
//             hand `gen` back with the result
//   drawn     the renderer's result plus {current, sizeChanged}
//   failed    the renderer's result plus {current}
//   cursor    {message}  a parsed cursor (shape and position) or pointer (position) message
//   annotate  the annotate message
//   clipboard {text, at}  the visitor's clipboard text and when it arrived (ms since the epoch)
//   latency   {rttMs}  the agent's capture-to-acknowledged time (screen.stats)
//   problem   {message}  the relay refused something (its `error` message is the `error` field)
//   malformed {error}  a binary message that could not be parsed (it is dropped)
//
// The generation counter: every new or lost connection starts a new
// generation. A frame still in the renderer when its connection went away
// is drawn, but its ack would be for the old connection's stream, so none is
// sent (the relay sends the new connection a key frame anyway).

import { CLOSE, LIMITS } from '../shared/wire.js';
import { KIND_CURSOR, KIND_FRAME, KIND_POINTER, KIND_VIDEO, parseChannelMessage, screenKind } from './frames.js';

/** Ask for at most one key frame per this long after frames that could not be drawn. */
export const REFRESH_GAP_MS = 1000;
/** Close codes of /ws/viewer after which reconnecting cannot help (docs/protocol.md). */
export const STOP_CODES = Object.freeze([CLOSE.POLICY, CLOSE.AUTH, CLOSE.FORBIDDEN, CLOSE.NOT_FOUND, CLOSE.ENDED]);
/** The longest clipboard text, in characters (code points): protocol/limits.py MAX_CLIPBOARD_CHARS. */
export const MAX_CLIPBOARD_CHARS = LIMITS.MAX_CLIPBOARD_CHARS;

const LIVE = new Set(['asking', 'sharing']);

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** Characters (code points, as Python's len() counts them) in a string. */
export function countChars(text) {
  return text.length - (text.match(SURROGATE_PAIR)?.length ?? 0);
}

/**
 * A screen.state with the fields this side relies on made explicit:
 * clipboard {from_visitor, to_visitor} (false unless the relay says true),
 * grace_left_s (a number of seconds >= 0, or null), agent (boolean).
 */
export function normaliseState(msg) {
  const clip = msg.clipboard && typeof msg.clipboard === 'object' ? msg.clipboard : {};
  const grace = Number.isFinite(msg.grace_left_s) ? Math.max(0, msg.grace_left_s) : null;
  return {
    ...msg,
    agent: msg.agent === true,
    clipboard: { from_visitor: clip.from_visitor === true, to_visitor: clip.to_visitor === true },
    grace_left_s: grace,
  };
}

function asArrayBuffer(data) {
  if (data instanceof ArrayBuffer) return data;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data.buffer;
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
}

export class ViewerProtocol extends EventTarget {
  /**
   * @param {object} o
   *   send(message)  sends one control message; returns false when it could not
   *   now()          a monotonic clock in ms (default performance.now): refresh gap, grace countdown
   *   clock()        wall-clock ms since the epoch (default Date.now): when clipboard text arrived
   */
  constructor({ send, now = () => performance.now(), clock = () => Date.now() }) {
    super();
    this._send = send;
    this.now = now;
    this.clock = clock;
    this.gen = 0;
    this.link = 'connecting';
    this.closeCode = null;
    this.state = null; // the last screen.state, normalised
    this.synced = false; // a screen.state has arrived on the current connection
    this.graceEndsAt = null; // now() when the relay stops waiting for a lost agent
    this.lastRefresh = -Infinity;
    this.size = null; // {width, height} of the last frame drawn
    this.visitorClipboard = null; // {text, at}
  }

  emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ------------------------------------------------------------- state

  /** The relay's status ('waiting_agent', 'asking', 'sharing', 'denied', 'stopped'), or 'connecting' before any. */
  get status() {
    return this.state?.status || 'connecting';
  }

  /** An agent is in and asking or sharing: asking again would be pointless. */
  get underWay() {
    return LIVE.has(this.status) && this.state.agent;
  }

  /**
   * The visitor's agent lost its link and the relay waits for it (while
   * graceLeftS() runs): no agent while sharing, or while asking with a
   * grace_left_s (a relay that sends no grace_left_s is still waiting while sharing).
   */
  get agentLost() {
    const s = this.state;
    return !!s && LIVE.has(s.status) && !s.agent && (s.status === 'sharing' || s.grace_left_s !== null);
  }

  /** Whole seconds the relay still waits for a lost agent, counted down locally; null when it does not say. */
  graceLeftS() {
    if (this.graceEndsAt === null || !this.agentLost) return null;
    return Math.max(0, Math.ceil((this.graceEndsAt - this.now()) / 1000));
  }

  /** Which ways clipboard text may cross now (policy and the visitor's own switch). */
  get clipboard() {
    return this.state?.clipboard || { from_visitor: false, to_visitor: false };
  }

  // ------------------------------------------------------------- in

  /** One received message: an object (or JSON text) for control, ArrayBuffer/Uint8Array for binary. */
  feed(message) {
    if (message instanceof ArrayBuffer || ArrayBuffer.isView(message)) {
      this._binary(message);
      return;
    }
    if (typeof message === 'string') {
      try {
        message = JSON.parse(message);
      } catch {
        return;
      }
    }
    if (message && typeof message === 'object') this._control(message);
  }

  connected() {
    this.gen += 1;
    this.synced = false;
    this._setLink('open', null);
  }

  disconnected(code, willRetry) {
    this.gen += 1; // frames still in the renderer belong to the old connection: no acks for them
    this.synced = false;
    this._setLink(willRetry ? 'reconnecting' : 'closed', code ?? null);
  }

  /** Forget the session (the viewer was closed or is opened afresh). */
  reset() {
    this.gen += 1;
    this.state = null;
    this.synced = false;
    this.graceEndsAt = null;
    this.closeCode = null;
    this.link = 'connecting';
  }

  /** The renderer's report on a frame from a `frame` event. */
  rendered(result) {
    const current = result.gen === this.gen;
    if (result.type === 'drawn') {
      if (current) this.send({ t: 'screen.ack', seq: result.seq });
      const sizeChanged = !this.size || this.size.width !== result.width || this.size.height !== result.height;
      if (sizeChanged) this.size = { width: result.width, height: result.height };
      if (result.incomplete && current) this._refreshSoon();
      this.emit('drawn', { ...result, current, sizeChanged });
    } else if (result.type === 'failed') {
      if (current && result.seq) this.send({ t: 'screen.ack', seq: result.seq });
      if (current) this._refreshSoon();
      this.emit('failed', { ...result, current });
    }
  }

  _setLink(link, code) {
    this.link = link;
    this.closeCode = code;
    this.emit('link', { link, code });
  }

  _control(msg) {
    switch (msg.t) {
      case 'screen.state': {
        const previous = this.state;
        this.state = normaliseState(msg);
        this.synced = true;
        const s = this.state;
        this.graceEndsAt = this.agentLost && s.grace_left_s !== null ? this.now() + s.grace_left_s * 1000 : null;
        this.emit('state', { state: s, previous });
        break;
      }
      case 'annotate': this.emit('annotate', msg); break;
      case 'clipboard':
        if (typeof msg.text !== 'string') return;
        this.visitorClipboard = { text: msg.text, at: this.clock() };
        this.emit('clipboard', this.visitorClipboard);
        break;
      case 'screen.stats': this.emit('latency', { rttMs: Number.isFinite(msg.rtt_ms) ? msg.rtt_ms : null }); break;
      case 'error': this.emit('problem', { error: msg }); break;
      default: break;
    }
  }

  _binary(data) {
    const kind = screenKind(data);
    if (kind === KIND_FRAME || kind === KIND_VIDEO) {
      this.emit('frame', { data: asArrayBuffer(data), gen: this.gen, bytes: data.byteLength });
    } else if (kind === KIND_CURSOR || kind === KIND_POINTER) {
      let message;
      try {
        message = parseChannelMessage(data);
      } catch (error) {
        this.emit('malformed', { error });
        return;
      }
      this.emit('cursor', { message });
    }
  }

  // ------------------------------------------------------------- out

  /** Send a control message as it is; false when not connected. */
  send(message) {
    return this._send(message) !== false;
  }

  /** Ask for a key frame now. */
  refresh() {
    this.lastRefresh = this.now();
    return this.send({ t: 'screen.refresh' });
  }

  stop() {
    return this.send({ t: 'screen.stop' });
  }

  select(monitor) {
    return this.send({ t: 'screen.select', monitor });
  }

  /**
   * Put text on the visitor's clipboard. Returns 'sent', or why not:
   * 'empty', 'too_long' (over MAX_CLIPBOARD_CHARS), 'not_allowed' (the state
   * does not allow this direction now) or 'not_connected'.
   */
  sendClipboard(text) {
    if (typeof text !== 'string' || !text) return 'empty';
    if (countChars(text) > MAX_CLIPBOARD_CHARS) return 'too_long';
    if (!this.clipboard.to_visitor || this.status !== 'sharing') return 'not_allowed';
    return this.send({ t: 'clipboard', text }) ? 'sent' : 'not_connected';
  }

  _refreshSoon() {
    if (this.now() - this.lastRefresh < REFRESH_GAP_MS) return;
    this.refresh();
  }
}

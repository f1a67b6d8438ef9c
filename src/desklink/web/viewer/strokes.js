// StrokeBoard: the whiteboard's strokes without any DOM or canvas (docs/
// protocol.md "Remote control, annotation, clipboard"). whiteboard.js is its
// toolbar, pointer handling and drawing; a recording player can keep a board
// from the recorded annotate messages alone.
//
// Rules:
// - A stroke is kept in monitor pixels as the protocol carries it, cleaned
//   (cleanStroke): a message that cannot be drawn is ignored, never half kept.
// - Strokes come from apply(annotate) (the visitor drew, another viewer drew,
//   or the relay replays the board to a viewer that joins) and from draw()
//   (the rep's own, sent first and kept only once sent).
// - A stroke whose id is already on the board replaces it and moves to the
//   top, as on the agent, so a replay never doubles anything.
// - At most MAX_STROKES are kept; the oldest go first (the relay keeps the same).
// - undo() takes back the rep's own last stroke that is still there; clear()
//   removes every stroke, the visitor's too; both are sent first and change
//   the board only once sent.
// - A stroke with fade_s goes fade_s seconds after it arrived (expire()).
// - Origins: 'mine' (drawn here), 'visitor' (ids the agent makes, "v-...",
//   src/desklink/agent/overlay/pen.py), 'other' (other viewers).
//
// Events (CustomEvent): change {size} after every change to the strokes.

import { LIMITS } from '../shared/wire.js';
/** The tools and their widths in monitor pixels (the agent draws the same: agent/overlay). */
export const TOOL_WIDTHS = Object.freeze({ pen: 4, arrow: 4, rect: 3, highlighter: 18 });
/** The protocol's limits (protocol/limits.py, protocol/messages.py). */
export const MAX_POINTS = LIMITS.MAX_STROKE_POINTS;
export const MAX_STROKES = LIMITS.MAX_STROKES;
const MAX_COORD = LIMITS.MAX_COORD;
const MAX_ID = LIMITS.MAX_ID_CHARS;
const MAX_WIDTH = LIMITS.MAX_STROKE_WIDTH;
/** A stroke fades for at most an hour; longer is surely a mistake. */
const MAX_FADE_S = LIMITS.MAX_FADE_S;
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
/** Stroke ids the visitor's agent makes. */
export const VISITOR_ID_PREFIX = 'v-';

/** True for a colour the protocol carries ("#rrggbb"). */
export function isColor(color) {
  return typeof color === 'string' && COLOR_RE.test(color);
}

/** A clean copy of a stroke message, or null when it cannot be drawn. */
export function cleanStroke(msg) {
  if (!msg || !Object.hasOwn(TOOL_WIDTHS, msg.tool) || !isColor(msg.color)) return null;
  if (!Array.isArray(msg.points) || !msg.points.length) return null;
  const points = [];
  for (const p of msg.points.slice(0, MAX_POINTS)) {
    if (!Array.isArray(p) || p.length !== 2) return null;
    const [x, y] = p;
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x > MAX_COORD || y > MAX_COORD) return null;
    points.push([x, y]);
  }
  const width = Math.min(MAX_WIDTH, Math.max(1, Math.round(Number(msg.width) || TOOL_WIDTHS.pen)));
  const fade = Number(msg.fade_s) || 0;
  return {
    id: typeof msg.id === 'string' ? msg.id.slice(0, MAX_ID) : '',
    tool: msg.tool,
    color: msg.color.toLowerCase(),
    width,
    points,
    fade_s: fade > 0 && Number.isFinite(fade) ? Math.min(fade, MAX_FADE_S) : 0,
  };
}

/** A new stroke id for the rep's strokes. */
export function newStrokeId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `v${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export class StrokeBoard extends EventTarget {
  /**
   * @param {object} o
   *   send(message)  sends an annotate message; false when it could not (then nothing changes)
   *   now()          ms clock for fading (default performance.now)
   */
  constructor({ send, now = () => performance.now() }) {
    super();
    this._send = send;
    this.now = now;
    this.strokes = new Map(); // id -> {stroke, born}, oldest first
    this.mine = []; // ids of the rep's own strokes, oldest first
  }

  get size() {
    return this.strokes.size;
  }

  has(id) {
    return this.strokes.has(id);
  }

  /** 'mine', 'visitor' or 'other' for a stroke on the board. */
  origin(id) {
    if (this.mine.includes(id)) return 'mine';
    return id.startsWith(VISITOR_ID_PREFIX) ? 'visitor' : 'other';
  }

  /** True when undo() has a stroke of the rep's to take back. */
  get canUndo() {
    return this.mine.some((id) => this.strokes.has(id));
  }

  /** An annotate message from the relay (the visitor drew, another viewer drew, or a replay). */
  apply(msg) {
    if (!msg || msg.t !== 'annotate') return;
    if (msg.op === 'clear') {
      this.forget();
    } else if (msg.op === 'undo') {
      if (typeof msg.id === 'string' && this.strokes.delete(msg.id)) this._changed();
    } else if (msg.op === 'stroke') {
      const s = cleanStroke(msg);
      if (!s) return;
      if (!s.id) s.id = newStrokeId();
      this._add(s);
    }
  }

  /** The rep finished a stroke: send it, then keep it as the rep's own. False when it could not be sent or drawn. */
  draw(msg) {
    const s = cleanStroke(msg);
    if (!s || !s.id) return false;
    if (!this._sendAnnotate({ ...msg, t: 'annotate', op: 'stroke' })) return false;
    this.mine.push(s.id);
    if (this.mine.length > MAX_STROKES) this.mine.shift();
    this._add(s);
    return true;
  }

  /** Take back the rep's own last stroke that is still on the board. */
  undo() {
    for (let i = this.mine.length - 1; i >= 0; i -= 1) {
      const id = this.mine[i];
      if (!this.strokes.has(id)) continue;
      if (!this._sendAnnotate({ t: 'annotate', op: 'undo', id })) return false;
      this.mine.splice(i);
      this.strokes.delete(id);
      this._changed();
      return true;
    }
    return false;
  }

  /** Remove every stroke, the visitor's and other viewers' too. */
  clear() {
    if (!this._sendAnnotate({ t: 'annotate', op: 'clear' })) return false;
    this.forget();
    return true;
  }

  /** Drop every stroke here only (sharing ended: the relay replays the board on the next join). */
  forget() {
    const had = this.strokes.size > 0;
    this.strokes.clear();
    if (had) this._changed();
  }

  /** Ms left before a fading stroke goes (Infinity for a lasting one). */
  leftMs(entry, at = this.now()) {
    return entry.stroke.fade_s ? entry.born + entry.stroke.fade_s * 1000 - at : Infinity;
  }

  /** Remove the strokes whose time is up; true while some are still fading. */
  expire(at = this.now()) {
    let fading = false;
    let gone = false;
    for (const [id, entry] of this.strokes) {
      const left = this.leftMs(entry, at);
      if (left <= 0) {
        this.strokes.delete(id);
        gone = true;
      } else if (left !== Infinity) {
        fading = true;
      }
    }
    if (gone) this._changed();
    return fading;
  }

  _add(s) {
    this.strokes.delete(s.id);
    this.strokes.set(s.id, { stroke: s, born: this.now() });
    while (this.strokes.size > MAX_STROKES) this.strokes.delete(this.strokes.keys().next().value);
    this._changed();
  }

  _sendAnnotate(msg) {
    return this._send(msg) !== false;
  }

  _changed() {
    this.dispatchEvent(new CustomEvent('change', { detail: { size: this.strokes.size } }));
  }
}

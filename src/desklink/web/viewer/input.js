// Remote control (docs/protocol.md, "Remote control, annotation, clipboard").
//
// RemoteControl: the viewer's control group (who is in control; Request
// control / Give back control), driven by screen.state `control`/`control_by`.
// RemoteInput: the rep's mouse and keyboard on the screen area as `input`
// events in pixels of the shared monitor, mapped through the canvas box and
// its object-fit (fit or 1:1, letterbox, scrolled). Events keep their order
// and leave once per animation frame as one message (split past MAX_EVENTS),
// moves coalesced; nothing is queued or sent unless control is granted.
// Keys go as `key` (DOM key + code; the agent maps them) with the browser's
// own action prevented (Tab, Backspace, F5, Ctrl+letters...). The screen area
// hands its focus to a hidden textarea (the key sink) so that text with no
// key (IME, emoji pickers, virtual keyboards, characters missing from the
// rep's layout) arrives through compositionend/input and goes as `text`.
// Whenever keys or buttons could stay down (focus lost, tab hidden, control
// handed back) a `release` goes out.

import { LIMITS } from '../shared/wire.js';
import { h, setText } from '../shared/dom.js';

export const MAX_EVENTS = LIMITS.MAX_INPUT_EVENTS_PER_MESSAGE;
/** Keep one message well under the server's max_message_bytes (64 KiB). */
const MAX_BATCH_CHARS = 16_000; // UTF-16 units: at most 48 KB of UTF-8
/** The protocol's limits on one event (protocol/messages.py). */
const MAX_TEXT = 256;
const MAX_KEY = 32;
const MAX_NOTCHES = 100;
const MAX_COORD = LIMITS.MAX_COORD;
/** Queued events beyond this are dropped (a frame that never comes). */
const MAX_QUEUE = 2048;

/** Wheel: pixels and lines per notch; a lone small tick still gives one notch. */
export const PIXELS_PER_NOTCH = 100;
export const LINES_PER_NOTCH = 3;
export const PAGES_TO_NOTCHES = 5;
const WHEEL_GESTURE_GAP_MS = 250;

/** DOM MouseEvent.button -> protocol button (1 left, 2 middle, 3 right), and -> its bit in MouseEvent.buttons. */
const BUTTONS = { 0: 1, 1: 2, 2: 3 };
const BUTTON_BITS = { 0: 1, 1: 4, 2: 2 };
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock', 'Fn']);

/**
 * A client position -> screen pixels {x, y, inside}: rect is the canvas's bounding client rect, size the
 * picture's {width, height}, fit the canvas's CSS object-fit ('contain' letterboxes, 'fill' stretches).
 * x and y are clamped to the picture; inside says whether the point is on it.
 */
export function toScreen(clientX, clientY, rect, size, fit = 'contain') {
  let sx = rect.width / size.width;
  let sy = rect.height / size.height;
  let left = rect.left;
  let top = rect.top;
  if (fit === 'contain') {
    const s = Math.min(sx, sy);
    sx = s;
    sy = s;
    left += (rect.width - size.width * s) / 2;
    top += (rect.height - size.height * s) / 2;
  }
  const fx = (clientX - left) / sx;
  const fy = (clientY - top) / sy;
  const inside = fx >= 0 && fy >= 0 && fx < size.width && fy < size.height;
  const x = Math.min(size.width - 1, Math.max(0, Math.floor(fx)));
  const y = Math.min(size.height - 1, Math.max(0, Math.floor(fy)));
  return { x: Math.min(x, MAX_COORD), y: Math.min(y, MAX_COORD), inside };
}

/** A wheel delta in notches (fractional). */
export function notchesOf(delta, mode) {
  if (mode === 1) return delta / LINES_PER_NOTCH; // DOM_DELTA_LINE
  if (mode === 2) return delta * PAGES_TO_NOTCHES; // DOM_DELTA_PAGE
  return delta / PIXELS_PER_NOTCH; // DOM_DELTA_PIXEL
}

/** Split text into pieces of at most `max` UTF-16 units without cutting a surrogate pair. */
export function splitText(text, max = MAX_TEXT) {
  const out = [];
  let piece = '';
  for (const ch of text) {
    if (piece.length + ch.length > max) {
      out.push(piece);
      piece = '';
    }
    piece += ch;
  }
  if (piece) out.push(piece);
  return out;
}

/** Wheel notches accumulated per axis; whole notches come out, the rest waits. */
export class WheelAccumulator {
  constructor() {
    this.x = 0;
    this.y = 0;
    this.last = -Infinity;
  }

  /** @returns {{dx, dy}} whole notches to send now */
  add(dx, dy, now) {
    const lone = now - this.last > WHEEL_GESTURE_GAP_MS;
    this.last = now;
    if (lone) {
      this.x = 0;
      this.y = 0;
    }
    const [ox, ax] = WheelAccumulator._axis(this.x, dx, lone);
    const [oy, ay] = WheelAccumulator._axis(this.y, dy, lone);
    [this.x, this.y] = [ax, ay];
    return { dx: ox, dy: oy };
  }

  /** [whole notches out, what stays] for one axis. */
  static _axis(acc, d, lone) {
    if (!d) return [0, acc];
    if (acc && Math.sign(acc) !== Math.sign(d)) acc = 0; // a turn answers at once
    acc += d;
    const whole = Math.trunc(acc);
    if (!whole) return lone ? [Math.sign(d), 0] : [0, acc]; // one small tick is still a notch
    return [Math.max(-MAX_NOTCHES, Math.min(MAX_NOTCHES, whole)), acc - whole];
  }
}

export class RemoteInput {
  /** o: surface (the screen area: gets tabindex=0 and the key sink), canvas() (the picture's canvas now),
   *  size() ({width, height} or null), send(msg) (false when not connected), onFocus() (the sink's focus changed) */
  constructor(o) {
    this.o = o;
    this.surface = o.surface;
    this.granted = false;
    this.queue = [];
    this.pendingMove = null; // {clientX, clientY}
    this.frame = 0;
    this.keys = new Map(); // code (or key) -> [key, code] sent with the down
    this.buttons = new Set(); // protocol buttons down
    this.wheel = new WheelAccumulator();
    this.composing = false;
    this.justComposed = null;

    this.surface.tabIndex = 0;
    this.sink = h('textarea', { class: 'screen-keys', testid: 'screen-keys', tabindex: '-1', rows: '1', cols: '1', autocomplete: 'off',
      autocorrect: 'off', autocapitalize: 'off', spellcheck: 'false', 'aria-label': 'Keyboard input for the visitor’s computer' });
    this.surface.append(this.sink);

    this.listeners = [];
    const on = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      this.listeners.push([target, type, fn, opts]);
    };
    const s = this.surface;
    on(s, 'pointerdown', (e) => this._pointerDown(e));
    on(s, 'pointermove', (e) => this._pointerMove(e));
    on(s, 'pointerup', (e) => this._pointerUp(e));
    on(s, 'pointercancel', () => this._releaseButtons());
    on(s, 'lostpointercapture', () => this._releaseButtons());
    on(s, 'wheel', (e) => this._wheel(e), { passive: false });
    on(s, 'contextmenu', (e) => { if (this.granted) e.preventDefault(); });
    on(s, 'auxclick', (e) => { if (this.granted) e.preventDefault(); });
    on(s, 'dragstart', (e) => e.preventDefault());
    on(s, 'focus', (e) => { if (e.target === s && this.granted) this.focus(); });
    on(s, 'keydown', (e) => this._keyDown(e));
    on(s, 'keyup', (e) => this._keyUp(e));
    on(this.sink, 'compositionstart', () => { this.composing = true; });
    on(this.sink, 'compositionend', (e) => this._compositionEnd(e));
    on(this.sink, 'input', (e) => this._input(e));
    on(this.sink, 'focus', () => o.onFocus?.(true));
    on(this.sink, 'blur', (e) => {
      // A press of a second mouse button moves focus to the surface, which hands it straight back: no release.
      if (this.granted && e.relatedTarget === s) return;
      this.releaseAll();
      o.onFocus?.(false);
    });
    on(document, 'visibilitychange', () => { if (document.hidden) this.releaseAll(); });
    on(window, 'blur', () => this.releaseAll());
  }

  get focused() {
    return document.activeElement === this.sink;
  }

  /** Control was granted (true) or ended (false). Ending forgets everything queued: the agent releases on its side. */
  setGranted(granted) {
    granted = Boolean(granted);
    if (granted === this.granted) return;
    this.granted = granted;
    this.surface.dataset.control = granted ? 'granted' : 'view';
    if (granted) {
      if (document.activeElement === this.surface) this.focus(); // typing goes through the key sink
    } else {
      this._forget();
      if (this.focused) this.surface.focus({ preventScroll: true });
    }
  }

  /** Move keyboard focus to the screen area. */
  focus() {
    if (this.granted) this.sink.focus({ preventScroll: true });
    else this.surface.focus({ preventScroll: true });
  }

  /** Release every key and button on the visitor's side, now (before giving control back, on blur). */
  releaseAll() {
    if (!this.granted) return;
    this.keys.clear();
    this.buttons.clear();
    if (this.queue[this.queue.length - 1]?.k !== 'release') this._push({ k: 'release' });
    this.flush();
  }

  destroy() {
    this._forget();
    for (const [target, type, fn, opts] of this.listeners) target.removeEventListener(type, fn, opts);
    this.listeners = [];
    this.sink.remove();
  }

  // ---------------------------------------------------------------- queue

  _forget() {
    this.queue = [];
    this.pendingMove = null;
    this.keys.clear();
    this.buttons.clear();
    this.composing = false;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  _push(event) {
    if (!this.granted) return;
    this._takeMove();
    if (this.queue.length >= MAX_QUEUE) return;
    this.queue.push(event);
    this._schedule();
  }

  /** The pending move goes in before whatever comes next, so order holds. */
  _takeMove() {
    const m = this.pendingMove;
    if (!m) return;
    this.pendingMove = null;
    const p = this._map(m.clientX, m.clientY);
    if (p && (p.inside || this.buttons.size) && this.queue.length < MAX_QUEUE) this.queue.push({ k: 'move', x: p.x, y: p.y });
  }

  _schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.flush(); });
  }

  /** Send everything queued now, in order, as few `input` messages as the limits allow. */
  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!this.granted) {
      this._forget();
      return;
    }
    this._takeMove();
    const events = this.queue;
    this.queue = [];
    let batch = [];
    let chars = 0;
    for (const ev of events) {
      const n = JSON.stringify(ev).length + 1;
      if (batch.length && (batch.length >= MAX_EVENTS || chars + n > MAX_BATCH_CHARS)) {
        this.o.send({ t: 'input', events: batch });
        batch = [];
        chars = 0;
      }
      batch.push(ev);
      chars += n;
    }
    if (batch.length) this.o.send({ t: 'input', events: batch });
  }

  // ---------------------------------------------------------------- pointer

  _map(clientX, clientY) {
    const size = this.o.size();
    const canvas = this.o.canvas();
    if (!size || !size.width || !size.height || !canvas) return null;
    const rect = canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    return toScreen(clientX, clientY, rect, size, getComputedStyle(canvas).objectFit);
  }

  _pointerDown(e) {
    if (!this.granted || !e.isPrimary) return;
    e.preventDefault(); // no text selection, no middle-click autoscroll; focus is ours to set
    this.focus();
    const b = BUTTONS[e.button];
    if (!b) return;
    const p = this._map(e.clientX, e.clientY);
    if (!p || !p.inside) return; // a press in the letterbox is not on the visitor's screen
    try { this.surface.setPointerCapture(e.pointerId); } catch { /* the pointer is gone already */ }
    this._button(b, true, p);
  }

  _pointerMove(e) {
    if (!this.granted || !e.isPrimary) return;
    // A second button pressed or released while another is down comes as a move (chorded buttons).
    if (e.button >= 0 && BUTTONS[e.button]) {
      const down = (e.buttons & BUTTON_BITS[e.button]) !== 0;
      const p = this._map(e.clientX, e.clientY);
      if (p && (p.inside || !down)) this._button(BUTTONS[e.button], down, p);
      return;
    }
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    const last = events.length ? events[events.length - 1] : e;
    this.pendingMove = { clientX: last.clientX, clientY: last.clientY };
    this._schedule();
  }

  _pointerUp(e) {
    if (!this.granted || !e.isPrimary) return;
    const b = BUTTONS[e.button];
    if (!b || !this.buttons.has(b)) return;
    this._button(b, false, this._map(e.clientX, e.clientY) || { x: 0, y: 0 });
  }

  _button(b, down, p) {
    if (down) this.buttons.add(b);
    else if (!this.buttons.delete(b)) return; // never sent down: nothing to lift
    this._push({ k: 'button', b, down, x: p.x, y: p.y });
  }

  /** Pointer capture lost (the element went away, the window lost it): lift what is down. */
  _releaseButtons() {
    if (!this.granted || !this.buttons.size) return;
    this.buttons.clear();
    this._push({ k: 'release' });
  }

  _wheel(e) {
    if (!this.granted) return;
    e.preventDefault(); // no page or stage scrolling, no Ctrl+wheel zoom
    const p = this._map(e.clientX, e.clientY);
    if (!p || !p.inside) return;
    const { dx, dy } = this.wheel.add(notchesOf(e.deltaX, e.deltaMode), notchesOf(e.deltaY, e.deltaMode), e.timeStamp || performance.now());
    if (dx || dy) this._push({ k: 'wheel', dx, dy, x: p.x, y: p.y });
  }

  // ---------------------------------------------------------------- keyboard

  _keyDown(e) {
    if (!this.granted || e.target !== this.sink && e.target !== this.surface) return;
    // IME at work, or a dead key waiting for its letter: the text arrives by compositionend / input.
    if (e.isComposing || this.composing || e.keyCode === 229 || e.key === 'Process' || e.key === 'Dead') return;
    if (!e.key || e.key === 'Unidentified' || e.key.length > MAX_KEY) return; // virtual keyboards: input carries the text
    e.preventDefault();
    const code = (e.code || '').slice(0, MAX_KEY);
    this.keys.set(code || e.key, [e.key, code]);
    this._push({ k: 'key', key: e.key, code, down: true });
  }

  _keyUp(e) {
    if (!this.granted) return;
    const code = (e.code || '').slice(0, MAX_KEY);
    if (!this.keys.has(code || e.key)) return; // its down was never sent (IME, before control)
    e.preventDefault();
    this._up(code || e.key);
    // macOS sends no keyup for keys let go while Cmd is down: they go up with Cmd.
    if (e.key === 'Meta') for (const [id, [key]] of [...this.keys]) if (!MODIFIERS.has(key)) this._up(id);
  }

  /** The key that went down goes up, even if Shift changed in between ("!" down, "1" up). */
  _up(id) {
    const [key, code] = this.keys.get(id);
    this.keys.delete(id);
    this._push({ k: 'key', key, code, down: false });
  }

  _compositionEnd(e) {
    this.composing = false;
    const text = e.data || '';
    this.justComposed = text;
    setTimeout(() => { this.justComposed = null; }, 0);
    this._text(text);
    this.sink.value = '';
  }

  _input(e) {
    const data = e.data || '';
    const type = e.inputType || '';
    const composing = e.isComposing || this.composing;
    if (!composing) this.sink.value = '';
    if (composing || !this.granted) return;
    if (!['insertText', 'insertReplacementText', 'insertFromComposition'].includes(type)) return;
    if (this.justComposed !== null && data === this.justComposed) return; // compositionend sent it already
    this._text(data);
  }

  _text(text) {
    if (!this.granted || !text) return;
    for (const piece of splitText(text.replace(/\r\n?/g, '\n'))) this._push({ k: 'text', text: piece });
  }
}

/** The badge's wording per control state. */
const CONTROL_TEXT = {
  view: 'View only',
  asking: 'Waiting for the visitor to allow control',
  granted: 'You are in control',
};

export class RemoteControl {
  /** o: as for RemoteInput, plus root() (the viewer's element: gets data-control, data-input-focus), visitor
   *  (name), button(testid, text, title, onClick, extra) (the viewer's builder), toast(text, kind) */
  constructor(o) {
    this.o = o;
    this.control = 'view'; // as the relay last said, while sharing
    this.note = null; // [by, wording] how control last ended or was refused
    this.releasing = false; // the rep gave it back; the relay has not confirmed yet
    this.resync = false; // the socket dropped while in control
    this.shown = false;
    this.agent = true;
    this.input = new RemoteInput({ ...o, onFocus: () => this.render(this.shown, this.agent) });
    const v = o.visitor;
    this.statusEl = h('span', { class: 'control-status', testid: 'control-status', role: 'status', data: { control: 'view', by: '' } },
      CONTROL_TEXT.view);
    // Over the picture, not in the bar: appearing on blur must not move the bar's buttons under the pointer.
    this.hint = h('span', { class: 'control-hint', testid: 'control-hint', props: { hidden: true } },
      `Click the screen to use ${v}’s mouse and keyboard`);
    o.surface.append(this.hint);
    this.requestButton = o.button('control-request', 'Request control', `Ask ${v} to let you use their mouse and keyboard`,
      () => this.request(), { class: 'btn btn-small btn-primary screen-btn control-request' });
    this.releaseButton = o.button('control-release', 'Give back control', `Stop using ${v}’s mouse and keyboard`,
      () => this.release(), { class: 'btn btn-small screen-btn control-release' });
    this.element = h('div', { class: 'screen-control', testid: 'screen-control', props: { hidden: true }, data: { control: 'view' } },
      this.statusEl, this.requestButton, this.releaseButton);
  }

  /** Ask the visitor for mouse and keyboard control (they get a consent window). */
  request() {
    if (!this.o.send({ t: 'control.request' })) this.o.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
  }

  /** Hand control back (or withdraw the request): keys and buttons are released first, input stops at once. */
  release() {
    this.input.releaseAll();
    this.input.setGranted(false);
    this.releasing = true; // a "granted" sent before the relay saw this must not turn input back on
    if (!this.o.send({ t: 'control.release' })) {
      this.releasing = false; // the next screen.state says where control is
      this.o.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
    }
    this.render(this.shown, this.agent);
  }

  /** A screen.state: `control` (view / asking / granted) and `control_by` (who ended or refused it). */
  onState(msg) {
    const sharing = msg.status === 'sharing';
    if (!sharing) this.note = null; // a new share starts with a clean slate
    const control = sharing && ['asking', 'granted'].includes(msg.control) ? msg.control : 'view';
    if (control !== 'granted') this.releasing = false;
    if (control !== this.control) {
      this.note = control === 'view' && sharing ? this._ended(this.control, msg.control_by) : null;
      this.control = control;
    }
    this.input.setGranted(control === 'granted' && !this.releasing);
    // Back after a dropped socket and still in control: whatever was down when it dropped goes up first.
    if (this.resync && this.input.granted) this.input.releaseAll();
    this.resync = false;
  }

  _ended(before, by) {
    if (by === 'unavailable') return [by, 'Remote control is not available on this computer'];
    if (by === 'visitor') {
      const text = before === 'asking' ? 'The visitor declined control' : 'The visitor took back control';
      this.o.toast?.(text, 'info');
      return [by, text];
    }
    if (by === 'rep') return [by, before === 'asking' ? 'You withdrew the request' : 'You gave back control'];
    if (by === 'system') return [by, 'Control ended: the visitor’s agent disconnected'];
    return [by || '', 'Control ended'];
  }

  /** The viewer socket closed: no input until a screen.state says control is still granted. */
  disconnected() {
    if (this.input.granted) this.resync = true;
    this.input.setGranted(false);
  }

  /** The viewer was hidden: forget everything. */
  reset() {
    this.input.setGranted(false);
    this.control = 'view';
    this.note = null;
    this.releasing = false;
  }

  /** Input that crossed the end of control is refused; the screen.state that ended it says enough. */
  swallowError(msg) {
    return msg.ref === 'input' && ['forbidden', 'bad_state'].includes(msg.code);
  }

  /** @param {boolean} shown  the screen is being shared and the viewer is connected; agent: the agent is there */
  render(shown, agent = true) {
    this.shown = shown;
    this.agent = agent;
    const c = shown && !this.releasing ? this.control : 'view';
    const focused = c === 'granted' && this.input.focused;
    const root = this.o.root?.();
    if (root) {
      root.dataset.control = c;
      root.dataset.inputFocus = String(focused);
    }
    this.element.hidden = !shown;
    this.element.dataset.control = c;
    this.statusEl.dataset.control = c;
    const note = c === 'view' && !this.releasing ? this.note : null;
    this.statusEl.dataset.by = note ? note[0] : '';
    setText(this.statusEl, note ? note[1] : CONTROL_TEXT[c]);
    const v = this.o.visitor;
    this.statusEl.title = c === 'granted' ? `Your mouse and keyboard act on ${v}’s computer`
      : c === 'asking' ? `${v} is being asked in a DeskLink window on their computer` : `Only ${v} controls their computer`;
    this.requestButton.hidden = c !== 'view';
    this.requestButton.disabled = this.releasing || !agent;
    this.releaseButton.hidden = c === 'view';
    setText(this.releaseButton, c === 'asking' ? 'Withdraw request' : 'Give back control');
    this.hint.hidden = c !== 'granted' || focused;
  }

  destroy() {
    this.input.destroy();
  }
}

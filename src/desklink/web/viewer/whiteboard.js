// Whiteboard: the rep draws on the visitor's real screen (docs/protocol.md,
// "Remote control, annotation, clipboard").
//
// A transparent canvas lies exactly over the picture (same intrinsic size as
// the shared monitor, same CSS box and object-fit), so strokes are kept and
// drawn in monitor pixels and scale with the picture. Pointer positions go
// through input.js's toScreen, like remote input does.
//
// "Draw" is a mode: while it is on, the whiteboard canvas takes the pointer
// (and stops the events there, so remote input never sees them); while it is
// off the canvas lets every event through to the screen area.
//
// A stroke goes out once, complete, when the pointer is lifted:
//   annotate {op: "stroke", id, tool, color, width, points: [[x, y], ...], fade_s}
// Undo takes back the rep's own last stroke that is still there
// (annotate {op: "undo", id}); Clear removes every stroke (annotate {op:
// "clear"}). Strokes from the agent (the visitor drew) and from the relay's
// replay for late viewers arrive through apply(msg). Which strokes are on the
// board, and these rules, are the StrokeBoard's (strokes.js, no DOM); this
// file is the toolbar, the pointer and the drawing. Strokes with fade_s fade
// out over their last second and go.
//
// The agent draws the same shapes (src/desklink/agent/overlay.py): round
// pen lines `width` wide, arrows with a filled head arrowHead(width), box
// outlines, and highlighters in a light colour (highlightColor).

import { h } from '../shared/dom.js';
import { toScreen } from './input.js';
import { MAX_POINTS, StrokeBoard, TOOL_WIDTHS, isColor, newStrokeId } from './strokes.js';

export const TOOLS = {
  pen: { label: 'Pen', title: 'Draw freehand', width: TOOL_WIDTHS.pen },
  arrow: { label: 'Arrow', title: 'Draw an arrow', width: TOOL_WIDTHS.arrow },
  rect: { label: 'Box', title: 'Draw a box', width: TOOL_WIDTHS.rect },
  highlighter: { label: 'Highlight', title: 'Highlight an area', width: TOOL_WIDTHS.highlighter },
};
export const COLORS = [
  { name: 'red', color: '#e11d48' },
  { name: 'orange', color: '#f97316' },
  { name: 'yellow', color: '#facc15' },
  { name: 'green', color: '#16a34a' },
  { name: 'blue', color: '#2563eb' },
  { name: 'black', color: '#111827' },
];
/** Strokes drawn while Fade is on go after this many seconds. */
export const FADE_S = 8;
/** A fading stroke fades out over (at most) its last this many ms. */
const FADE_OUT_MS = 1000;
/** The agent's highlighter: this share of white mixed in (overlay.HIGHLIGHT_WHITE). */
const HIGHLIGHT_WHITE = 0.55;
/** ...drawn a little see-through here so the rep can still read what is under it. */
const HIGHLIGHT_ALPHA = 0.7;

/** The arrow head's [length along the line, half width] for a stroke `width` wide (overlay.arrow_head). */
export function arrowHead(width) {
  return [10 + 3 * width, 5 + 1.5 * width];
}

/** The light colour a highlighter is painted in (overlay.highlight_color). */
export function highlightColor(color) {
  const parts = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  return `#${parts.map((c) => Math.round(c + (255 - c) * HIGHLIGHT_WHITE).toString(16).padStart(2, '0')).join('')}`;
}

/** Draw one stroke on a 2D context whose units are monitor pixels. */
export function drawStroke(ctx, s, alpha = 1) {
  const pts = s.points;
  if (!pts.length || alpha <= 0) return;
  const highlight = s.tool === 'highlighter';
  const color = highlight ? highlightColor(s.color) : s.color;
  ctx.save();
  ctx.globalAlpha = alpha * (highlight ? HIGHLIGHT_ALPHA : 1);
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = s.width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  // A monitor pixel (x, y) is the square [x, x+1) x [y, y+1): strokes run through pixel centres.
  const X = (p) => p[0] + 0.5;
  const Y = (p) => p[1] + 0.5;
  if (s.tool === 'rect') {
    const a = pts[0];
    const b = pts[pts.length - 1];
    ctx.beginPath();
    ctx.moveTo(X(a), Y(a));
    ctx.lineTo(X(b), Y(a));
    ctx.lineTo(X(b), Y(b));
    ctx.lineTo(X(a), Y(b));
    ctx.closePath();
    ctx.stroke();
  } else if (pts.length === 1 || pts.every((p) => p[0] === pts[0][0] && p[1] === pts[0][1])) {
    ctx.beginPath();
    ctx.arc(X(pts[0]), Y(pts[0]), s.width / 2, 0, Math.PI * 2);
    ctx.fill();
  } else {
    let line = pts;
    let head = null;
    if (s.tool === 'arrow') {
      const tip = pts[pts.length - 1];
      const back = pts.slice(0, -1).filter((p) => Math.hypot(p[0] - tip[0], p[1] - tip[1]) > 0.5);
      const from = back[back.length - 1];
      const len = Math.hypot(tip[0] - from[0], tip[1] - from[1]);
      const dx = (tip[0] - from[0]) / len;
      const dy = (tip[1] - from[1]) / len;
      const [hl, hw] = arrowHead(s.width);
      const neck = [tip[0] - dx * hl, tip[1] - dy * hl];
      head = [tip, [neck[0] - dy * hw, neck[1] + dx * hw], [neck[0] + dy * hw, neck[1] - dx * hw]];
      line = [...back, neck];
    }
    ctx.beginPath();
    ctx.moveTo(X(line[0]), Y(line[0]));
    for (let i = 1; i < line.length; i += 1) ctx.lineTo(X(line[i]), Y(line[i]));
    ctx.stroke();
    if (head) {
      ctx.beginPath();
      ctx.moveTo(X(head[0]), Y(head[0]));
      ctx.lineTo(X(head[1]), Y(head[1]));
      ctx.lineTo(X(head[2]), Y(head[2]));
      ctx.closePath();
      ctx.fill();
    }
  }
  ctx.restore();
}

let stylesheetAdded = false;
/** whiteboard.css, once per document (the console page links viewer.css only). */
function addStylesheet() {
  if (stylesheetAdded || typeof document === 'undefined') return;
  stylesheetAdded = true;
  const href = new URL('./whiteboard.css', import.meta.url).href;
  if ([...document.querySelectorAll('link[rel="stylesheet"]')].some((l) => l.href === href)) return;
  document.head.append(h('link', { rel: 'stylesheet', href }));
}

export class Whiteboard {
  /**
   * @param {object} o
   *   surface     the screen area; the whiteboard canvas goes in it, above the picture
   *   before      (optional) the element of `surface` to insert the canvas before (the cursor canvas, which stays on top)
   *   size()      the picture size {width, height} in monitor pixels, or null before the first frame
   *   send(msg)   sends a JSON message on the viewer socket; false when not connected
   *   button(testid, text, title, onClick, extra)  the viewer's button builder (optional)
   *   toast(text, kind)  (optional)
   */
  constructor(o) {
    addStylesheet();
    this.o = o;
    this.board = new StrokeBoard({ send: (msg) => this._send(msg) });
    this.board.addEventListener('change', () => this._changed());
    this.tool = 'pen';
    this.color = COLORS[0].color;
    this.fade = false;
    this.drawing = false;
    this.enabled = false;
    this.current = null; // the stroke under the pointer: {msg, pointerId}
    this.frame = 0;
    this.cache = null; // the lasting strokes, drawn once
    this.cacheValid = false;

    this.canvas = h('canvas', { class: 'wb-canvas', testid: 'whiteboard-canvas', 'aria-hidden': 'true', width: 1, height: 1,
      data: { drawing: 'false', strokes: '0' } });
    this.ctx = this.canvas.getContext('2d');
    if (o.before && o.before.parentNode === o.surface) o.surface.insertBefore(this.canvas, o.before);
    else o.surface.append(this.canvas);

    const btn = o.button || ((testid, text, title, onClick, extra = {}) => h('button', {
      type: 'button', class: 'btn btn-small screen-btn', testid, title, on: { click: onClick }, ...extra,
    }, text));
    this.toggleButton = btn('whiteboard-toggle', 'Draw', 'Draw on the visitor’s screen (your clicks draw instead of reaching their computer)',
      () => this.setDrawing(!this.drawing), { 'aria-pressed': 'false' });
    this.toolButtons = {};
    for (const [tool, t] of Object.entries(TOOLS)) {
      this.toolButtons[tool] = btn(`whiteboard-tool-${tool}`, t.label, t.title, () => this.setTool(tool),
        { class: 'btn btn-small screen-btn wb-tool', 'aria-pressed': String(tool === this.tool), data: { tool } });
    }
    this.swatches = COLORS.map(({ name, color }) => h('button', {
      type: 'button', class: 'wb-swatch', testid: `whiteboard-color-${name}`, role: 'radio', title: name,
      'aria-label': name, 'aria-checked': String(color === this.color), data: { color },
      on: { click: () => this.setColor(color) },
    }));
    this.palette = h('div', { class: 'wb-palette', testid: 'whiteboard-color', role: 'radiogroup', 'aria-label': 'Colour',
      data: { color: this.color } }, this.swatches);
    this.fadeButton = btn('whiteboard-fade', 'Fade', `New strokes disappear after ${FADE_S} s`, () => this.setFade(!this.fade),
      { 'aria-pressed': 'false' });
    this.undoButton = btn('whiteboard-undo', 'Undo', 'Take back your last stroke', () => this.undo());
    this.clearButton = btn('whiteboard-clear', 'Clear', 'Remove every drawing from the visitor’s screen', () => this.clear());
    this.toolsEl = h('div', { class: 'wb-tools', props: { hidden: true } },
      Object.values(this.toolButtons), this.palette, this.fadeButton);
    this.element = h('div', { class: 'wb-bar', testid: 'whiteboard', role: 'group', 'aria-label': 'Draw on the screen',
      props: { hidden: true }, data: { drawing: 'false', tool: this.tool } },
    this.toggleButton, this.toolsEl, this.undoButton, this.clearButton);

    this.listeners = [];
    const on = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      this.listeners.push([target, type, fn, opts]);
    };
    const c = this.canvas;
    on(c, 'pointerdown', (e) => this._down(e));
    on(c, 'pointermove', (e) => this._move(e));
    on(c, 'pointerup', (e) => this._up(e, true));
    on(c, 'pointercancel', (e) => this._up(e, false));
    on(c, 'lostpointercapture', (e) => { if (this.current && e.pointerId === this.current.pointerId) this._up(e, true); });
    for (const type of ['click', 'dblclick', 'auxclick', 'contextmenu', 'mousedown', 'mouseup']) {
      on(c, type, (e) => { if (this.drawing) { e.preventDefault(); e.stopPropagation(); } });
    }
    on(window, 'keydown', (e) => { if (e.key === 'Escape' && this.current) this._cancel(); });
    this._renderBar();
  }

  // ------------------------------------------------------------- public

  /** The strokes on the board: id -> {stroke, born} (StrokeBoard.strokes). */
  get strokes() {
    return this.board.strokes;
  }

  /** The picture is being shared (true) or not: the bar shows, and everything clears when sharing ends. */
  setEnabled(enabled) {
    enabled = Boolean(enabled);
    if (enabled === this.enabled) return;
    this.enabled = enabled;
    if (!enabled) {
      this.setDrawing(false);
      this._forget();
    }
    this.element.hidden = !enabled;
    this._renderBar();
  }

  /** The picture's size in monitor pixels (the first frame, or another monitor). */
  resize(width, height) {
    if (!width || !height || (this.canvas.width === width && this.canvas.height === height)) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.cacheValid = false;
    this._schedule();
  }

  setDrawing(on) {
    on = Boolean(on) && this.enabled;
    if (on === this.drawing) return;
    this.drawing = on;
    if (!on && this.current) this._cancel();
    this._renderBar();
  }

  setTool(tool) {
    if (!TOOLS[tool]) return;
    this.tool = tool;
    this._renderBar();
  }

  setColor(color) {
    if (!isColor(color)) return;
    this.color = color.toLowerCase();
    this._renderBar();
  }

  setFade(on) {
    this.fade = Boolean(on);
    this._renderBar();
  }

  /** An `annotate` message from the relay (the visitor drew, another viewer drew, or a replay). */
  apply(msg) {
    this.board.apply(msg);
    if (msg?.t === 'annotate' && msg.op === 'clear' && this.current) this._cancel();
  }

  /** Take back the rep's own last stroke that is still on the board. */
  undo() {
    const done = this.board.undo();
    if (!done) this._renderBar();
    return done;
  }

  /** Remove every stroke, the visitor's and other viewers' too. */
  clear() {
    if (!this.board.clear()) return false;
    if (this.current) this._cancel();
    return true;
  }

  destroy() {
    for (const [target, type, fn, opts] of this.listeners) target.removeEventListener(type, fn, opts);
    this.listeners = [];
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.canvas.remove();
    this.element.remove();
  }

  // ------------------------------------------------------------- board

  _forget() {
    if (this.current) this._cancel();
    if (this.board.size) this.board.forget();
    else this._renderBar();
  }

  _changed() {
    this.cacheValid = false;
    this._schedule();
    this._renderBar();
  }

  _send(msg) {
    if (this.o.send(msg)) return true;
    this.o.toast?.('Not connected to the screen relay: the drawing did not reach the visitor.', 'error');
    return false;
  }

  // ------------------------------------------------------------- pointer

  _point(e) {
    const size = this.o.size?.() || (this.canvas.width > 1 ? { width: this.canvas.width, height: this.canvas.height } : null);
    if (!size || !size.width || !size.height) return null;
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    return toScreen(e.clientX, e.clientY, rect, size, getComputedStyle(this.canvas).objectFit);
  }

  _down(e) {
    if (!this.drawing) return;
    e.preventDefault();
    e.stopPropagation();
    if (!e.isPrimary || e.button !== 0 || this.current) return;
    const p = this._point(e);
    if (!p || !p.inside) return; // the letterbox is not the visitor's screen
    try { this.canvas.setPointerCapture(e.pointerId); } catch { /* gone already */ }
    const width = TOOLS[this.tool].width;
    const msg = { t: 'annotate', op: 'stroke', id: newStrokeId(), tool: this.tool, color: this.color, width, points: [[p.x, p.y]],
      fade_s: this.fade ? FADE_S : 0 };
    this.current = { msg, pointerId: e.pointerId };
    this.canvas.dataset.active = 'true';
    this._schedule();
  }

  _move(e) {
    if (!this.drawing) return;
    e.stopPropagation();
    const cur = this.current;
    if (!cur || e.pointerId !== cur.pointerId) return;
    e.preventDefault();
    const msg = cur.msg;
    if (msg.tool === 'arrow' || msg.tool === 'rect') {
      const p = this._point(e);
      if (p) msg.points = [msg.points[0], [p.x, p.y]];
    } else {
      const events = typeof e.getCoalescedEvents === 'function' && e.getCoalescedEvents().length ? e.getCoalescedEvents() : [e];
      for (const ev of events) {
        const p = this._point(ev);
        if (!p) continue;
        const last = msg.points[msg.points.length - 1];
        if (last[0] === p.x && last[1] === p.y) continue;
        if (msg.points.length >= MAX_POINTS) {
          // The protocol's limit: this stroke goes out, and a new one carries on from its end.
          this._finish();
          const next = { ...msg, id: newStrokeId(), points: [last, [p.x, p.y]] };
          this.current = { msg: next, pointerId: cur.pointerId };
          break;
        }
        msg.points.push([p.x, p.y]);
      }
    }
    this._schedule();
  }

  _up(e, keep) {
    if (!this.drawing && !this.current) return;
    e.stopPropagation?.();
    const cur = this.current;
    if (!cur || e.pointerId !== cur.pointerId) return;
    e.preventDefault?.();
    if (!keep) {
      this._cancel();
      return;
    }
    if (e.type === 'pointerup') {
      const p = this._point(e);
      const msg = cur.msg;
      if (p && (msg.tool === 'arrow' || msg.tool === 'rect')) msg.points = [msg.points[0], [p.x, p.y]];
    }
    this._finish();
    this.current = null;
    this.canvas.dataset.active = 'false';
    try { this.canvas.releasePointerCapture(e.pointerId); } catch { /* released already */ }
    this._schedule();
  }

  /** Send the stroke under the pointer and put it on the board. */
  _finish() {
    const msg = this.current?.msg;
    if (!msg) return;
    const [a, b] = [msg.points[0], msg.points[msg.points.length - 1]];
    if ((msg.tool === 'arrow' || msg.tool === 'rect') && (msg.points.length < 2 || (a[0] === b[0] && a[1] === b[1]))) return;
    this.board.draw(msg);
  }

  _cancel() {
    this.current = null;
    this.canvas.dataset.active = 'false';
    this._schedule();
  }

  // ------------------------------------------------------------- drawing

  _schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this._draw(); });
  }

  _draw() {
    const { width, height } = this.canvas;
    const ctx = this.ctx;
    if (!this.cacheValid) {
      if (!this.cache || this.cache.width !== width || this.cache.height !== height) {
        this.cache = document.createElement('canvas');
        this.cache.width = width;
        this.cache.height = height;
      }
      const cc = this.cache.getContext('2d');
      cc.clearRect(0, 0, width, height);
      for (const { stroke } of this.board.strokes.values()) if (!stroke.fade_s) drawStroke(cc, stroke);
      this.cacheValid = true;
    }
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(this.cache, 0, 0);
    // Fading strokes are drawn every frame, on top of the lasting ones, until they go.
    const now = performance.now();
    const fading = this.board.expire(now);
    for (const entry of this.board.strokes.values()) {
      const { stroke } = entry;
      if (!stroke.fade_s) continue;
      const span = Math.min(FADE_OUT_MS, (stroke.fade_s * 1000) / 2);
      drawStroke(ctx, stroke, Math.min(1, this.board.leftMs(entry, now) / span));
    }
    if (this.current) drawStroke(ctx, this.current.msg);
    this.canvas.dataset.strokes = String(this.board.size); // what is on the canvas now
    if (fading) this._schedule();
    else this._renderBar();
  }

  _renderBar() {
    const drawing = this.drawing;
    this.canvas.dataset.drawing = String(drawing);
    this.element.dataset.drawing = String(drawing);
    this.element.dataset.tool = this.tool;
    if (this.o.surface) this.o.surface.dataset.whiteboard = drawing ? 'draw' : 'off';
    this.toggleButton.setAttribute('aria-pressed', String(drawing));
    this.toolsEl.hidden = !drawing;
    for (const [tool, b] of Object.entries(this.toolButtons)) b.setAttribute('aria-pressed', String(tool === this.tool));
    for (const s of this.swatches) s.setAttribute('aria-checked', String(s.dataset.color === this.color));
    this.palette.dataset.color = this.color;
    this.fadeButton.setAttribute('aria-pressed', String(this.fade));
    this.undoButton.disabled = !this.board.canUndo;
    this.clearButton.disabled = this.board.size === 0;
  }
}

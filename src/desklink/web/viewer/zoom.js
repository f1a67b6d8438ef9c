// How big the picture is: the viewer's view modes (docs/architecture.md, "The viewer").
//
//   fit    the picture scales to the stage keeping its aspect (letterboxed)
//   zoom   a fixed scale from ZOOM_STEPS (100 % is 1:1, actual pixels); the
//          picture scrolls inside the stage, which shows scrollbars
//
// Zoom with the bar's − / + buttons or Ctrl+wheel over the picture (the
// point under the pointer stays put). Pan with the scrollbars, the wheel,
// or by dragging the picture with the left or middle button while the rep
// is neither in control nor drawing; in control every button and the wheel
// go to the visitor's computer, so only the scrollbars (and Ctrl+wheel zoom)
// stay the viewer's.
//
// In zoom the surface gets an exact CSS size (width x scale) through the
// CSSOM (allowed by the CSP; no style attribute), and its canvases fill it
// (object-fit: fill): input.js and whiteboard.js map pointer positions
// through the canvas's box, so coordinates stay exact in every mode.
//
// The chosen mode is kept in localStorage (one console, one choice).

import { h, setText } from '../shared/dom.js';

/** Zoom steps in percent; 100 is 1:1. */
export const ZOOM_STEPS = [50, 75, 100, 125, 150, 200, 300, 400];
export const STORAGE_KEY = 'desklink.viewer.zoom';

/** 'fit' or a step from ZOOM_STEPS, from what was stored (anything else: 'fit'). */
export function parseMode(raw) {
  const n = Number(raw);
  return ZOOM_STEPS.includes(n) ? n : 'fit';
}

/** The next step from `percent` in `direction` (+1 / -1); the same value at either end. */
export function nextStep(percent, direction) {
  if (direction > 0) return ZOOM_STEPS.find((s) => s > percent + 0.5) ?? ZOOM_STEPS[ZOOM_STEPS.length - 1];
  return [...ZOOM_STEPS].reverse().find((s) => s < percent - 0.5) ?? ZOOM_STEPS[0];
}

function loadMode() {
  try { return parseMode(localStorage.getItem(STORAGE_KEY)); } catch { return 'fit'; }
}

function saveMode(mode) {
  try { localStorage.setItem(STORAGE_KEY, String(mode)); } catch { /* storage disabled: the choice lasts this page */ }
}

export class ViewZoom {
  /**
   * o: root (the viewer section: data-scale, data-zoom), stage (scrolls), surface (the picture's box),
   *    size() ({width, height} or null), button(testid, text, title, onClick, extra) (the bar's button maker)
   */
  constructor(o) {
    this.o = o;
    this.mode = loadMode();
    this.pan = null; // {pointerId, x, y, left, top} while the rep drags the picture
    this.outButton = o.button('screen-zoom-out', '−', 'Zoom out (Ctrl+wheel)', () => this.step(-1));
    this.inButton = o.button('screen-zoom-in', '+', 'Zoom in (Ctrl+wheel)', () => this.step(1));
    this.levelEl = h('span', { class: 'screen-zoom-level', testid: 'screen-zoom-level', role: 'status', 'aria-live': 'off' });
    this.fitButton = o.button('screen-fit', '', '', () => this.set(this.mode === 'fit' ? 100 : 'fit'),
      { class: 'btn btn-small screen-btn screen-fit' });
    this.element = h('div', { class: 'screen-zoom', role: 'group', 'aria-label': 'Picture size' },
      this.outButton, this.levelEl, this.inButton, this.fitButton);

    const stage = o.stage;
    stage.addEventListener('wheel', (e) => this._wheel(e), { passive: false, capture: true });
    const s = o.surface;
    s.addEventListener('pointerdown', (e) => this._panStart(e));
    s.addEventListener('pointermove', (e) => this._panMove(e));
    s.addEventListener('pointerup', (e) => this._panEnd(e));
    s.addEventListener('pointercancel', (e) => this._panEnd(e));
    s.addEventListener('auxclick', (e) => { if (e.button === 1 && this._pannable()) e.preventDefault(); });
    this._apply();
  }

  /** The scale on screen now (a fraction; in fit, what fitting gives), or null before a picture. */
  get scale() {
    if (this.mode !== 'fit') return this.mode / 100;
    const size = this.o.size();
    const box = this.o.surface.getBoundingClientRect();
    if (!size?.width || !size?.height || !box.width || !box.height) return null;
    return Math.min(box.width / size.width, box.height / size.height);
  }

  /** Show the picture as 'fit' or at a zoom step (percent; 100 is 1:1). `anchor`: the client point that stays put. */
  set(mode, anchor = null) {
    mode = mode === 'fit' ? 'fit' : parseMode(mode);
    const before = anchor || this._centre();
    const at = this._pictureFraction(before);
    this.mode = mode;
    saveMode(mode);
    this._apply();
    if (at) this._keep(at, before);
  }

  /** One step in or out (+1 / -1) from the scale on screen now. */
  step(direction, anchor = null) {
    const now = this.scale;
    const from = now === null ? 100 : now * 100;
    const to = nextStep(from, direction);
    if (direction < 0 ? to >= from : to <= from) return; // fit is already smaller (or larger) than any step that way
    this.set(to, anchor);
  }

  /** The picture's size changed (another monitor, a new resolution): resize the box. */
  resized() {
    this._apply();
  }

  // ------------------------------------------------------------- drawing

  _apply() {
    const fit = this.mode === 'fit';
    const root = this.o.root();
    if (root) {
      root.dataset.scale = fit ? 'fit' : this.mode === 100 ? '1:1' : 'zoom';
      root.dataset.zoom = String(this.mode);
    }
    const size = this.o.size();
    const style = this.o.surface.style; // CSSOM: allowed by the CSP, unlike a style attribute
    if (fit || !size?.width || !size?.height) {
      style.removeProperty('width');
      style.removeProperty('height');
    } else {
      style.width = `${(size.width * this.mode) / 100}px`;
      style.height = `${(size.height * this.mode) / 100}px`;
    }
    setText(this.levelEl, fit ? 'Fit' : `${this.mode}%`);
    setText(this.fitButton, fit ? '1:1' : 'Fit');
    this.fitButton.title = fit ? 'Show the screen pixel for pixel (1:1); it scrolls' : 'Scale the screen to fit';
    this.outButton.disabled = !fit && this.mode === ZOOM_STEPS[0];
    this.inButton.disabled = !fit && this.mode === ZOOM_STEPS[ZOOM_STEPS.length - 1];
  }

  _centre() {
    const r = this.o.stage.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }

  /** The picture's box on the page: the surface in zoom, the letterboxed part of it in fit. */
  _pictureRect() {
    const box = this.o.surface.getBoundingClientRect();
    const size = this.o.size();
    if (!size?.width || !size?.height || !box.width || !box.height) return null;
    if (this.mode !== 'fit') return box;
    const s = Math.min(box.width / size.width, box.height / size.height);
    const width = size.width * s;
    const height = size.height * s;
    return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height };
  }

  /** Where a client point is on the picture, as fractions of its size (clamped). */
  _pictureFraction(point) {
    const r = this._pictureRect();
    if (!r) return null;
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return { fx: clamp((point.x - r.left) / r.width), fy: clamp((point.y - r.top) / r.height) };
  }

  /** Scroll so that the picture's point `at` is under the client point `point` again. */
  _keep(at, point) {
    if (this.mode === 'fit') return;
    const r = this._pictureRect();
    if (!r) return;
    const stage = this.o.stage;
    stage.scrollLeft += r.left + at.fx * r.width - point.x;
    stage.scrollTop += r.top + at.fy * r.height - point.y;
  }

  // ------------------------------------------------------------- wheel and pan

  _wheel(e) {
    if (!e.ctrlKey || !this.o.size()) return;
    // Ctrl+wheel is the viewer's zoom in every mode, control included (the browser's own page zoom is kept out).
    e.preventDefault();
    e.stopPropagation();
    if (!e.deltaY) return;
    this.step(e.deltaY < 0 ? 1 : -1, { x: e.clientX, y: e.clientY });
  }

  /** Dragging pans the picture when nothing else owns the pointer: not in control, not drawing, something to scroll. */
  _pannable() {
    const s = this.o.surface;
    const stage = this.o.stage;
    return this.mode !== 'fit' && s.dataset.control !== 'granted' && s.dataset.whiteboard !== 'draw'
      && (stage.scrollWidth > stage.clientWidth || stage.scrollHeight > stage.clientHeight);
  }

  _panStart(e) {
    if ((e.button !== 0 && e.button !== 1) || !e.isPrimary || !this._pannable()) return;
    e.preventDefault(); // no middle-click autoscroll, no text selection
    const stage = this.o.stage;
    this.pan = { pointerId: e.pointerId, x: e.clientX, y: e.clientY, left: stage.scrollLeft, top: stage.scrollTop };
    try { this.o.surface.setPointerCapture(e.pointerId); } catch { /* the pointer is gone already */ }
    this.o.surface.dataset.panning = 'true';
  }

  _panMove(e) {
    const p = this.pan;
    if (!p || e.pointerId !== p.pointerId) return;
    this.o.stage.scrollLeft = p.left - (e.clientX - p.x);
    this.o.stage.scrollTop = p.top - (e.clientY - p.y);
  }

  _panEnd(e) {
    if (!this.pan || e.pointerId !== this.pan.pointerId) return;
    this.pan = null;
    this.o.surface.dataset.panning = 'false';
  }
}

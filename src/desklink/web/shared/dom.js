// Small DOM helpers shared by the widget, the console and the admin center.
//
// Everything here builds elements with properties and text nodes only: no
// innerHTML, no insertAdjacentHTML, no `style=` attributes (the server's CSP
// forbids inline styles). Any string passed as a child becomes a text node,
// so visitor and rep text can never turn into markup.

/**
 * Build an element.
 *
 *   h('button', {class: 'primary', testid: 'send', on: {click: fn}}, 'Send')
 *
 * attrs: class, testid (-> data-testid), data {k: v} (-> data-k), on {event: fn},
 * props {name: value} set as DOM properties (value, disabled, hidden...);
 * any other key is set with setAttribute (never `style`, never `on*`).
 * children: strings/numbers become text nodes; null/false are skipped; arrays flatten.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'data') for (const [k, v] of Object.entries(value)) { if (v !== undefined && v !== null) el.dataset[k] = String(v); }
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === 'props') Object.assign(el, value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'style' || key.startsWith('on')) throw new Error(`h(): refusing attribute ${key}`);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (strings as text nodes) to a node. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Remove every child of a node. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** Replace a node's children. */
export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}

/** Set textContent (never markup). */
export function setText(node, text) {
  node.textContent = text === undefined || text === null ? '' : String(text);
  return node;
}

/** "0:42", "12:05", "1:02:03" for a number of seconds. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** Parse an ISO 8601 timestamp; returns a Date or null. */
export function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local "14:05" for an ISO timestamp ('' when missing). */
export function formatClock(iso) {
  const d = parseTime(iso);
  return d ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

/** Local date and time for tables ("2024-05-01 14:05"). */
export function formatDateTime(iso) {
  const d = parseTime(iso);
  if (!d) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A client message id for chat.send (1-64 chars). */
export function newCid() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The ws:// or wss:// URL for a path on an http(s) origin. */
export function wsUrl(origin, path) {
  const url = new URL(path, origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

// Non-blocking notices ("toasts") for the console and the admin center.
// Each toast is an element with data-testid="toast" and data-kind; the text is
// always set with textContent.

import { h } from './dom.js';

let container = null;

function ensureContainer() {
  if (container && container.isConnected) return container;
  container = document.getElementById('toasts');
  if (!container) {
    container = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' });
    document.body.append(container);
  }
  return container;
}

/**
 * Show a toast. kind: "info" | "success" | "error". timeout in ms (0 = sticky).
 * Returns the element; clicking its close button removes it.
 */
export function toast(message, { kind = 'info', timeout = 6000, code = null } = {}) {
  const box = ensureContainer();
  const close = h('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss', testid: 'toast-close' }, '×');
  const el = h('div', { class: ['toast', `toast-${kind}`], testid: 'toast', role: kind === 'error' ? 'alert' : 'status', data: { kind, code } },
    h('span', { class: 'toast-text' }, message), close);
  close.addEventListener('click', () => el.remove());
  box.append(el);
  while (box.children.length > 5) box.firstElementChild.remove();
  if (timeout) setTimeout(() => el.remove(), timeout);
  return el;
}

/** A readable sentence for a protocol error code (fallback: the server's text). */
export function describeError(code, fallback) {
  const text = {
    bad_message: 'The server could not understand that message.',
    bad_type: 'The server does not know that kind of message.',
    too_large: 'That is too long.',
    bad_state: 'That is not possible right now.',
    rate_limited: 'You are sending messages too fast; the last one was not sent.',
    too_many_requests: 'Too many open requests from your network. Please wait for an answer to your earlier question.',
    login_limited: 'Too many login attempts.',
    auth_required: 'Please log in.',
    auth_failed: 'Wrong username or password.',
    forbidden: 'You are not allowed to do that.',
    not_found: 'Not found.',
    origin_denied: 'This site is not allowed to use this help desk.',
    csrf_failed: 'Your session token is stale; reload the page.',
    conflict_taken: 'Someone else already took that request.',
    conflict_closed: 'That request or session is already closed.',
    internal: 'The server ran into a problem. Please try again.',
    unavailable: 'The service is briefly unavailable. Please try again in a moment.',
    network: 'Cannot reach the server.',
  }[code];
  return text || fallback || 'Something went wrong.';
}

// Helpers shared by the admin center's views.

import { api, ApiError } from '../shared/http.js';
import { toast } from '../shared/toast.js';

export const ctx = { csrf: null, user: null, queues: [], onForbidden: () => {}, onLoggedOut: () => {} };

/** Call the API with the CSRF token on state-changing methods; 401/403 handled. */
export async function call(method, url, body) {
  try {
    return await api(method, url, { body, csrf: method === 'GET' ? undefined : ctx.csrf });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) ctx.onLoggedOut();
    else if (err instanceof ApiError && err.status === 403 && err.code !== 'csrf_failed') ctx.onForbidden();
    throw err;
  }
}

/** The list in a response that may be a bare array or {key: [...]}. */
export function listOf(response, key) {
  if (Array.isArray(response)) return response;
  if (response && Array.isArray(response[key])) return response[key];
  if (response && Array.isArray(response.items)) return response.items;
  return [];
}

export function fail(err, what) {
  toast(`${what}: ${err?.message || 'failed'}`, { kind: 'error', code: err?.code });
}

export function ok(text) {
  toast(text, { kind: 'success', timeout: 3500 });
}

export const ROLES = [['rep', 'Rep'], ['supervisor', 'Supervisor'], ['admin', 'Admin']];

// JSON over HTTP for the widget, console and admin (docs/protocol.md, "HTTP API").
//
// Errors come back from the server as {"error": {"code", "message"}} with the
// matching status; `api()` turns them (and network failures) into ApiError
// so callers can switch on `err.code` and show `err.message`.

export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null, body = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.body = body;
  }
}

const STATUS_CODES = {
  400: 'bad_message', 401: 'auth_required', 403: 'forbidden', 404: 'not_found',
  409: 'conflict_closed', 413: 'too_large', 429: 'too_many_requests', 500: 'internal',
  503: 'unavailable',
};

/**
 * Call the API. options: body (JSON-encoded), csrf (X-CSRF-Token), token
 * (Authorization: Bearer), credentials ('same-origin' by default, 'omit' for
 * the cross-origin visitor calls). Returns the parsed JSON body (or null).
 */
export async function api(method, url, options = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: options.credentials || 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.csrf) headers['X-CSRF-Token'] = options.csrf;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  const text = await response.text();
  let body = null;
  if (text) {
    try { body = JSON.parse(text); } catch { body = null; }
  }
  if (!response.ok) throw errorFrom(response, body);
  return body;
}

/** Fetch a file (transcript) as a Blob, with the same error handling. */
export async function fetchBlob(url, options = {}) {
  const headers = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response;
  try {
    response = await fetch(url, { headers, credentials: options.credentials || 'omit' });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw errorFrom(response, body);
  }
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return { blob: await response.blob(), filename: match ? decodeURIComponent(match[1]) : null };
}

function errorFrom(response, body) {
  const err = body && typeof body === 'object' ? (body.error ?? body) : {};
  const code = (err && typeof err.code === 'string' && err.code) || STATUS_CODES[response.status] || 'internal';
  const message = (err && typeof err.message === 'string' && err.message) || `${response.status} ${response.statusText || 'error'}`;
  let retryAfter = err?.retry_after ?? body?.retry_after ?? null;
  if (retryAfter === null) {
    const header = response.headers.get('Retry-After');
    if (header && /^\d+(\.\d+)?$/.test(header)) retryAfter = Number(header);
  }
  return new ApiError(response.status, code, message, { retryAfter: retryAfter === null ? null : Number(retryAfter), body });
}

/** Offer a Blob as a file download (object URL + <a download>). */
export function downloadBlob(blob, filename, parent = document.body) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.hidden = true;
  parent.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

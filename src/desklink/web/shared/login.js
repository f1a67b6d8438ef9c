// Log in and out of the console and the admin center.
//
// The server keeps the login in an HttpOnly cookie; the page keeps only the
// CSRF token, in memory, and sends it as X-CSRF-Token on every call that
// changes state (docs/protocol.md, "HTTP API").

import { api, ApiError } from './http.js';
import { h, clear } from './dom.js';

/** The logged-in user ({user, csrf, queues}) or null when not logged in. */
export async function fetchMe() {
  try {
    return await api('GET', '/api/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/**
 * A page's start: carry on with the existing login (`start(me)`), or ask for
 * one (`askLogin()`) when there is none or the server cannot be reached.
 */
export async function resumeOrLogin(start, askLogin, toast) {
  let me = null;
  try {
    me = await fetchMe();
  } catch (err) {
    toast(err.message || 'Cannot reach the server.', { kind: 'error' });
  }
  if (me) start(me);
  else askLogin();
}

export async function logout(csrf) {
  try {
    await api('POST', '/api/auth/logout', { csrf, body: {} });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
}

/**
 * Render the login form into `container` and call onSuccess({user, csrf})
 * after a successful login. Returns a function that removes the form.
 */
export function showLogin(container, { title, subtitle = '', onSuccess }) {
  clear(container);
  const username = h('input', { id: 'dl-username', name: 'username', testid: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'dl-password', name: 'password', type: 'password', testid: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'login-error', testid: 'login-error', role: 'alert', props: { hidden: true } });
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'login' }, 'Log in');
  const form = h('form', { class: 'login-form', testid: 'login-form', novalidate: true },
    h('label', { for: 'dl-username' }, 'Username'), username,
    h('label', { for: 'dl-password' }, 'Password'), password,
    error, button);
  const card = h('div', { class: 'login-card' },
    h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'D'), 'DeskLink'),
    h('h1', {}, title), subtitle ? h('p', { class: 'login-sub' }, subtitle) : null, form);
  container.append(card);
  container.hidden = false;
  username.focus();

  let countdown = null;
  const showError = (text) => { error.textContent = text; error.hidden = !text; };
  const lockFor = (seconds) => {
    clearInterval(countdown);
    let left = Math.ceil(seconds);
    const tick = () => {
      if (left <= 0) {
        clearInterval(countdown);
        button.disabled = false;
        button.textContent = 'Log in';
        return;
      }
      button.disabled = true;
      button.textContent = `Try again in ${left} s`;
      left -= 1;
    };
    tick();
    countdown = setInterval(tick, 1000);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    const body = { username: username.value.trim(), password: password.value };
    if (!body.username || !body.password) {
      showError('Enter your username and password.');
      return;
    }
    showError('');
    button.disabled = true;
    button.textContent = 'Logging in…';
    try {
      const result = await api('POST', '/api/auth/login', { body });
      clearInterval(countdown);
      password.value = '';
      await onSuccess(result);
    } catch (err) {
      button.disabled = false;
      button.textContent = 'Log in';
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 429 || err.code === 'login_limited') {
        const wait = err.retryAfter ? Math.ceil(err.retryAfter) : null;
        showError(wait ? `Too many login attempts. Try again in ${wait} seconds.` : 'Too many login attempts. Try again later.');
        if (wait) lockFor(wait);
      } else if (err.status === 401 || err.code === 'auth_failed') {
        showError('Wrong username or password.');
        password.select();
      } else if (err.status === 403) {
        showError(err.message || 'This account may not log in.');
      } else {
        showError(err.message || 'Login failed.');
      }
    }
  });

  return () => {
    clearInterval(countdown);
    clear(container);
    container.hidden = true;
  };
}

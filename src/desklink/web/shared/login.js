// Log in and out of the console and the admin center.
//
// The server keeps the login in an HttpOnly cookie; the page keeps only the
// CSRF token, in memory, and sends it as X-CSRF-Token on every call that
// changes state (docs/protocol.md, "HTTP API").

import { api, ApiError } from './http.js';
import { h, clear } from './dom.js';
import { codeField, enrolmentPanel, recoveryCodesPanel } from './second-factor.js';

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
 *
 * Two steps for accounts with a second factor: the password answers a ticket,
 * and a code form finishes the login with the ticket and a current code (or a
 * recovery code). When an admin requires a second factor the account does
 * not have yet, the password answers an enrolment instead: QR code and secret,
 * a code to confirm it, then the recovery codes with a "save these now" step.
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
  const heading = h('h1', {}, title);
  const sub = h('p', { class: 'login-sub', props: { hidden: !subtitle } }, subtitle);
  const body = h('div', { class: 'login-body' }, form);
  const card = h('div', { class: 'login-card' },
    h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'D'), 'DeskLink'),
    heading, sub, body);
  container.append(card);
  container.hidden = false;
  username.focus();

  let countdown = null;
  let showError = (text) => { error.textContent = text; error.hidden = !text; };
  // The submit button of the step on screen, its idle label, and the wait.
  let active = { button, label: 'Log in' };
  const lockFor = (seconds) => {
    clearInterval(countdown);
    let left = Math.ceil(seconds);
    const { button: btn, label } = active;
    const tick = () => {
      if (left <= 0) {
        clearInterval(countdown);
        btn.disabled = false;
        btn.textContent = label;
        return;
      }
      btn.disabled = true;
      btn.textContent = `Try again in ${left} s`;
      left -= 1;
    };
    tick();
    countdown = setInterval(tick, 1000);
  };
  const tooMany = (err) => {
    const wait = err.retryAfter ? Math.ceil(err.retryAfter) : null;
    const what = err.code === 'too_many_requests' ? 'The server is busy.' : 'Too many login attempts.';
    showError(wait ? `${what} Try again in ${wait} seconds.` : `${what} Try again later.`);
    if (wait) lockFor(wait);
  };
  const backToPassword = (message) => {
    clearInterval(countdown);
    heading.textContent = title;
    sub.textContent = subtitle;
    sub.hidden = !subtitle;
    body.replaceChildren(form);
    active = { button, label: 'Log in' };
    showError = (text) => { error.textContent = text; error.hidden = !text; };
    button.disabled = false;
    button.textContent = 'Log in';
    showError(message);
    password.value = '';
    password.focus();
  };
  const finished = async (result) => {
    clearInterval(countdown);
    password.value = '';
    await onSuccess(result);
  };

  // The second step: a code (and, when enrolling, the QR code first).
  const showCodeStep = (answer) => {
    const enrolling = Boolean(answer.enroll);
    const { input, label } = codeField('dl-code', { recovery: !enrolling });
    const stepError = h('p', { class: 'login-error', testid: 'login-error', role: 'alert', props: { hidden: true } });
    const verify = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'verify' }, enrolling ? 'Confirm and log in' : 'Verify');
    const back = h('button', { type: 'button', class: 'btn btn-ghost btn-block', testid: 'back' }, 'Start over');
    const codeForm = h('form', { class: 'login-form', testid: 'code-form', novalidate: true },
      enrolling ? enrolmentPanel(answer.enroll) : null, label, input, stepError, verify, back);
    heading.textContent = enrolling ? 'Set up two-step sign-in' : 'Two-step sign-in';
    sub.textContent = enrolling
      ? 'Your administrator requires a second factor for your account. Add DeskLink to an authenticator app, then enter the code it shows.'
      : 'Enter the code from your authenticator app, or one of your recovery codes.';
    sub.hidden = false;
    body.replaceChildren(codeForm);
    active = { button: verify, label: verify.textContent };
    showError = (text) => { stepError.textContent = text; stepError.hidden = !text; };
    back.addEventListener('click', () => backToPassword(''));
    input.focus();
    codeForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (verify.disabled) return;
      const code = input.value.trim();
      if (!code) {
        showError('Enter the code.');
        return;
      }
      showError('');
      verify.disabled = true;
      verify.textContent = 'Checking…';
      try {
        const result = await api('POST', '/api/auth/second-factor', { body: { ticket: answer.ticket, code } });
        clearInterval(countdown);
        if (result.recovery_codes?.length) showRecoveryCodes(result);
        else await finished(result);
      } catch (err) {
        verify.disabled = false;
        verify.textContent = active.label;
        if (!(err instanceof ApiError)) throw err;
        if (err.status === 429) tooMany(err);
        else if (err.code === 'auth_required') backToPassword('This sign-in has expired. Log in again.');
        else if (err.status === 401) {
          showError('Wrong code. Check the time on your phone and try the newest code.');
          input.select();
        } else showError(err.message || 'Login failed.');
      }
    });
  };

  const showRecoveryCodes = (result) => {
    heading.textContent = 'Save your recovery codes';
    sub.hidden = true;
    body.replaceChildren(recoveryCodesPanel(result.recovery_codes, () => finished(result)));
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    const creds = { username: username.value.trim(), password: password.value };
    if (!creds.username || !creds.password) {
      showError('Enter your username and password.');
      return;
    }
    showError('');
    button.disabled = true;
    button.textContent = 'Logging in…';
    try {
      const result = await api('POST', '/api/auth/login', { body: creds });
      clearInterval(countdown);
      if (result.ticket) {
        password.value = '';
        showCodeStep(result);
      } else {
        await finished(result);
      }
    } catch (err) {
      button.disabled = false;
      button.textContent = 'Log in';
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 429 || err.code === 'login_limited') {
        tooMany(err);
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

// The "Security" dialog of the console and the admin center: a logged-in user
// turns two-step sign-in on (QR code, confirm with a code, save the recovery
// codes), gets new recovery codes, or turns it off unless an admin requires it
// for their role. Every change needs a current code from the authenticator.
// docs/protocol.md, "HTTP API" (/api/me/second-factor).

import { api, ApiError } from './http.js';
import { h, setText } from './dom.js';
import { codeField, enrolmentPanel, recoveryCodesPanel } from './second-factor.js';

/**
 * Open the dialog. `getCsrf()` returns the page's current CSRF token;
 * `onLoggedOut()` runs when the server says the login is gone (401).
 */
export function openSecurity({ getCsrf, onLoggedOut = () => {} }) {
  const content = h('div', { class: 'sf-content' });
  const close = h('button', { type: 'button', class: 'btn btn-small', testid: 'security-close' }, 'Close');
  const dialog = h('dialog', { class: 'sf-dialog', testid: 'security-dialog', 'aria-labelledby': 'sf-title' },
    h('div', { class: 'sf-head' }, h('h2', { id: 'sf-title' }, 'Two-step sign-in'), close),
    content);
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();

  const error = h('p', { class: 'login-error', testid: 'security-error', role: 'alert', props: { hidden: true } });
  const showError = (text) => { setText(error, text); error.hidden = !text; };
  const call = async (method, url, body) => {
    try {
      return await api(method, url, { body, csrf: method === 'GET' ? undefined : getCsrf() });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        dialog.close();
        onLoggedOut();
      }
      throw err;
    }
  };
  const explain = (err) => {
    if (!(err instanceof ApiError)) return 'Something went wrong.';
    if (err.code === 'auth_failed') return 'Wrong code. Try the newest code from your app.';
    if (err.status === 429) return `Too many attempts. Try again in ${Math.ceil(err.retryAfter || 1)} seconds.`;
    return err.message || 'That did not work.';
  };

  /** A code field with buttons [label, handler(code)] under it. */
  const codeActions = (actions) => {
    const { input, label } = codeField('sf-code');
    const buttons = actions.map(([text, testid, handler, danger]) => {
      const b = h('button', { type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], testid }, text);
      b.addEventListener('click', async () => {
        const code = input.value.trim();
        if (!code) { showError('Enter the code from your authenticator app.'); input.focus(); return; }
        showError('');
        for (const other of buttons) other.disabled = true;
        try {
          await handler(code);
        } catch (err) {
          showError(explain(err));
          input.select();
        } finally {
          for (const other of buttons) other.disabled = false;
        }
      });
      return b;
    });
    return h('div', { class: 'sf-form' }, label, input, error, h('div', { class: 'sf-actions' }, buttons));
  };

  const showCodes = (codes) => {
    content.replaceChildren(recoveryCodesPanel(codes, render, { doneLabel: 'Done' }));
  };

  const render = async () => {
    showError('');
    let status;
    try {
      status = await call('GET', '/api/me/second-factor');
    } catch (err) {
      content.replaceChildren(h('p', {}, explain(err)));
      return;
    }
    if (status.enabled) {
      content.replaceChildren(
        h('p', { testid: 'security-status', data: { state: 'on' } }, 'Two-step sign-in is on. ',
          `${status.recovery_codes_left} recovery code${status.recovery_codes_left === 1 ? '' : 's'} left.`),
        status.required ? h('p', { class: 'sf-note' }, 'Your administrator requires it for your role, so it cannot be turned off.') : null,
        codeActions([
          ['New recovery codes', 'security-new-codes', async (code) => {
            showCodes((await call('POST', '/api/me/second-factor/recovery-codes', { code })).recovery_codes);
          }],
          ...(status.required ? [] : [['Turn off', 'security-disable', async (code) => {
            await call('POST', '/api/me/second-factor/disable', { code });
            await render();
          }, true]]),
        ]));
      return;
    }
    const start = h('button', { type: 'button', class: 'btn btn-primary', testid: 'security-enable' }, 'Set up two-step sign-in');
    start.addEventListener('click', async () => {
      let enroll;
      try {
        enroll = await call('POST', '/api/me/second-factor', {});
      } catch (err) {
        showError(explain(err));
        return;
      }
      content.replaceChildren(enrolmentPanel(enroll), codeActions([
        ['Confirm', 'security-confirm', async (code) => {
          showCodes((await call('POST', '/api/me/second-factor/confirm', { code })).recovery_codes);
        }],
      ]));
    });
    content.replaceChildren(
      h('p', { testid: 'security-status', data: { state: 'off' } },
        'Two-step sign-in is off. With it on, logging in also needs a code from an authenticator app on your phone.'),
      error, start);
  };

  render();
  return dialog;
}

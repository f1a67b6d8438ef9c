// Pieces of the two-step sign-in UI shared by the login form (login.js) and
// the "Security" dialog (security.js): the code field, the enrolment panel
// (QR code plus the secret as text for manual entry) and the one-time list of
// recovery codes with its "save these now" step. docs/protocol.md, "HTTP API".
//
// The QR code arrives as a PNG data: URI (the pages' CSP allows data: images);
// everything else is text nodes, never markup.

import { h } from './dom.js';

/** A field for a 6-digit code (or, with `recovery`, a recovery code). */
export function codeField(id, { recovery = false } = {}) {
  const input = h('input', {
    id, name: 'code', testid: 'code', autocomplete: 'one-time-code', required: true,
    inputmode: recovery ? 'text' : 'numeric', spellcheck: 'false', autocapitalize: 'none',
    maxlength: recovery ? 32 : 6, placeholder: recovery ? '123456 or xxxxx-xxxxx' : '123456',
  });
  const label = h('label', { for: id }, recovery ? 'Code from your authenticator app, or a recovery code' : 'Code from your authenticator app');
  return { input, label };
}

/** The secret in groups of four, easier to type into an app by hand. */
export function groupedSecret(secret) {
  return String(secret).replace(/(.{4})(?=.)/g, '$1 ');
}

/** QR code and the secret as text for an enrolment {secret, uri, qr}. */
export function enrolmentPanel(enroll) {
  return h('div', { class: 'sf-enrol', testid: 'enroll' },
    h('p', {}, 'Scan this QR code with an authenticator app (for example FreeOTP, Aegis, Google Authenticator or 1Password).'),
    h('img', { class: 'sf-qr', src: enroll.qr, alt: 'QR code for your authenticator app', testid: 'enroll-qr', width: 200, height: 200 }),
    h('p', { class: 'sf-manual' }, 'Cannot scan? Enter this key in the app instead (time-based, 6 digits):'),
    h('code', { class: 'sf-secret', testid: 'enroll-secret', data: { secret: enroll.secret } }, groupedSecret(enroll.secret)));
}

/**
 * The recovery codes, shown once, with a "save these now" step: `onDone` runs
 * when the user confirms they saved them. Returns the panel element.
 */
export function recoveryCodesPanel(codes, onDone, { doneLabel = 'Continue' } = {}) {
  const saved = h('input', { type: 'checkbox', id: 'sf-saved', testid: 'codes-saved' });
  const done = h('button', { type: 'button', class: 'btn btn-primary btn-block', testid: 'codes-done', props: { disabled: true } }, doneLabel);
  saved.addEventListener('change', () => { done.disabled = !saved.checked; });
  done.addEventListener('click', () => { if (saved.checked) onDone(); });
  const copy = h('button', { type: 'button', class: 'btn btn-small', testid: 'codes-copy' }, 'Copy codes');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      copy.textContent = 'Copied';
    } catch {
      copy.textContent = 'Select and copy them by hand';
    }
  });
  return h('div', { class: 'sf-codes', testid: 'recovery' },
    h('p', { class: 'sf-warning' }, 'Save these recovery codes now. Each one signs you in once if you lose your authenticator. They are not shown again.'),
    h('ol', { class: 'sf-code-list', testid: 'recovery-codes' }, codes.map((c) => h('li', { testid: 'recovery-code' }, c))),
    h('div', { class: 'sf-code-actions' }, copy),
    h('label', { class: 'sf-check', for: 'sf-saved' }, saved, ' I have saved these codes somewhere safe'),
    done);
}

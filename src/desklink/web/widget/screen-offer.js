// The screen-sharing offer card in the help box: after a rep's
// screen.request the visitor sees who asks and why, and two ways to answer:
// first "Share from this browser" (view only, nothing to install, any
// computer: screen-share.js), then the agent for remote control, with the
// join code and the exact lines to run (each with a Copy button), plus the
// promise that nothing is shared before they choose. Text only, never markup.

import { copyText } from '../shared/copy.js';
import { h, setText, formatClock } from '../shared/dom.js';
import { ApiError } from '../shared/http.js';
import { t } from './i18n.js';

const COPIED_MS = 2000;

/** Why a fresh join code could not be had, in the visitor's words. */
export function renewFailureText(err) {
  if (err instanceof ApiError && (err.status === 429 || err.code === 'too_many_requests')) {
    return t('offer.renew_too_many');
  }
  if (err instanceof ApiError && err.status === 409) return t('offer.renew_over');
  if (err instanceof ApiError && err.code === 'network') return t('error.network');
  return t('offer.renew_failed');
}

/**
 * What the visitor is told before sharing, per the queue's recording policy
 * (offer.recording; absent means "never": nothing said, nothing recorded).
 * The same words as the agent's consent question (protocol RECORDING_NOTICE):
 * catalogue keys offer.recording.always / offer.recording.on_request.
 */
export const RECORDING_NOTICE = {
  always: 'offer.recording.always',
  on_request: 'offer.recording.on_request',
};

function copyRow(text, codeTestid, buttonTestid, label) {
  const code = h('code', { class: 'offer-line', testid: codeTestid }, text);
  const button = h('button', { type: 'button', class: 'btn btn-quiet offer-copy', testid: buttonTestid, 'aria-label': t('offer.copy_label', { what: label }) }, t('offer.copy'));
  button.addEventListener('click', async () => {
    const ok = await copyText(text, code);
    setText(button, t(ok ? 'offer.copied' : 'offer.select_copy'));
    button.dataset.copied = String(ok);
    clearTimeout(button._timer);
    button._timer = setTimeout(() => {
      setText(button, t('offer.copy'));
      delete button.dataset.copied;
    }, COPIED_MS);
  });
  return h('div', { class: 'offer-row' }, code, button);
}

/**
 * The "New code" row: a code that was mistyped too often somewhere, lost or
 * expired is replaced without asking the rep (POST /api/visitor/screen-code;
 * the new offer replaces this card). `onRenew` returns a promise; on failure
 * it rejects with the text to show.
 */
function renewRow(onRenew) {
  const status = h('span', { class: 'offer-renew-status', testid: 'screen-offer-renew-status', role: 'status' });
  const button = h('button', { type: 'button', class: 'btn btn-quiet offer-renew', testid: 'screen-offer-renew' }, t('offer.renew'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    setText(status, t('offer.renewing'));
    try {
      await onRenew();
    } catch (err) {
      setText(status, err?.message || t('offer.renew_failed'));
      button.disabled = false;
    }
  });
  return h('p', { class: 'offer-renew-row' },
    h('span', { class: 'offer-renew-hint' }, t('offer.renew_hint'), ' '), button, status);
}

/**
 * The first option: share from this browser. `share` is null where the
 * browser cannot (no getDisplayMedia, or not a secure page), else
 * {sharing: boolean, start()}.
 */
function browserOption(who, share) {
  const what = t('offer.browser_what', { name: who });
  if (!share) {
    return h('div', { class: 'offer-option', testid: 'screen-offer-browser' },
      h('strong', { class: 'offer-option-title' }, t('offer.browser_share')),
      h('p', { class: 'offer-option-text', testid: 'screen-offer-browser-unavailable' },
        t('offer.browser_cannot')));
  }
  const button = h('button', { type: 'button', class: 'btn btn-primary offer-share', testid: 'screen-share-browser' },
    t(share.sharing ? 'offer.browser_sharing' : 'offer.browser_share'));
  button.disabled = !!share.sharing;
  button.addEventListener('click', () => share.start());
  return h('div', { class: 'offer-option offer-option-first', testid: 'screen-offer-browser' },
    button,
    h('p', { class: 'offer-option-text' }, h('strong', {}, t('offer.browser_view_only'), ' '), what));
}

/**
 * Build the card for one screen.offer.
 * @param {object} offer  {session_id, code, expires_at, install, command, download}
 * @param {string} repName
 * @param {function} onDismiss
 * @param {function} [onRenew]  get a fresh code for the same request
 * @param {object|null} [share]  the browser option: {sharing, start()}; null where the browser cannot share
 */
export function offerCard(offer, repName, onDismiss, onRenew = null, share = null) {
  const who = repName || t('who.your_support_rep');
  const until = formatClock(offer.expires_at);
  return h('section', { class: 'offer', testid: 'screen-offer', role: 'region', 'aria-label': t('offer.region'), data: { sessionId: offer.session_id } },
    h('div', { class: 'offer-head' },
      h('span', { class: 'offer-icon', 'aria-hidden': 'true' }),
      h('strong', { class: 'offer-title', testid: 'screen-offer-title' }, t('offer.title', { name: who })),
      h('button', { type: 'button', class: 'offer-dismiss', testid: 'screen-offer-dismiss', 'aria-label': t('offer.hide'), on: { click: onDismiss } }, '×')),
    h('p', { class: 'offer-why' }, t('offer.why', { name: who })),
    RECORDING_NOTICE[offer.recording] ? h('p', { class: 'offer-recording', testid: 'screen-offer-recording', data: { policy: offer.recording } },
      t(RECORDING_NOTICE[offer.recording])) : null,
    browserOption(who, share),
    h('div', { class: 'offer-option', testid: 'screen-offer-agent' },
      h('strong', { class: 'offer-option-title' }, t('offer.agent_title', { name: who })),
      h('p', { class: 'offer-code-row' }, t('offer.your_code'), ' ',
        h('strong', { class: 'offer-code', testid: 'screen-offer-code' }, offer.code || ''),
        until ? h('span', { class: 'offer-expires', testid: 'screen-offer-expires' }, ` ${t('offer.valid_until', { time: until })}`) : null),
      /^https?:\/\//.test(offer.download || '') ? h('p', { class: 'offer-download' },
        h('a', { href: offer.download, target: '_blank', rel: 'noopener', testid: 'screen-offer-download' },
          t('offer.download')), ` ${t('offer.download_or')}`) : null,
      h('ol', { class: 'offer-steps' },
        offer.install ? h('li', {}, h('span', {}, t('offer.install')),
          copyRow(offer.install, 'screen-offer-install', 'screen-offer-copy-install', t('offer.install_what'))) : null,
        h('li', {}, h('span', {}, t('offer.run')),
          copyRow(offer.command || '', 'screen-offer-command', 'screen-offer-copy', t('offer.run_what')))),
      onRenew ? renewRow(onRenew) : null,
      h('p', { class: 'offer-note', testid: 'screen-offer-note' },
        t('offer.note'))));
}

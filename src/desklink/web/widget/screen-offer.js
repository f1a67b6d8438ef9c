// The screen-sharing offer card in the help box: after a rep's
// screen.request the visitor sees who asks and why, and two ways to answer:
// first "Share from this browser" (view only, nothing to install, any
// computer: screen-share.js), then the agent for remote control, with the
// join code and the exact lines to run (each with a Copy button), plus the
// promise that nothing is shared before they choose. Text only, never markup.

import { copyText } from '../shared/copy.js';
import { h, setText, formatClock } from '../shared/dom.js';
import { ApiError } from '../shared/http.js';

const COPIED_MS = 2000;

/** Why a fresh join code could not be had, in the visitor's words. */
export function renewFailureText(err) {
  if (err instanceof ApiError && (err.status === 429 || err.code === 'too_many_requests')) {
    return 'You have had several new codes already. Please ask the rep to request your screen again.';
  }
  if (err instanceof ApiError && err.status === 409) {
    return 'This screen request is over. Please ask the rep to request your screen again.';
  }
  if (err instanceof ApiError && err.code === 'network') return err.message;
  return 'Could not get a new code. Please ask the rep.';
}

/**
 * What the visitor is told before sharing, per the queue's recording policy
 * (offer.recording; absent means "never": nothing said, nothing recorded).
 * The same words as the agent's consent question (protocol RECORDING_NOTICE).
 */
export const RECORDING_NOTICE = {
  always: 'This session\u2019s screen will be recorded.',
  on_request: 'The support rep may record the screen; you will see when.',
};

function copyRow(text, codeTestid, buttonTestid, label) {
  const code = h('code', { class: 'offer-line', testid: codeTestid }, text);
  const button = h('button', { type: 'button', class: 'btn btn-quiet offer-copy', testid: buttonTestid, 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', async () => {
    const ok = await copyText(text, code);
    setText(button, ok ? 'Copied' : 'Select and copy');
    button.dataset.copied = String(ok);
    clearTimeout(button._timer);
    button._timer = setTimeout(() => {
      setText(button, 'Copy');
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
  const button = h('button', { type: 'button', class: 'btn btn-quiet offer-renew', testid: 'screen-offer-renew' }, 'New code');
  button.addEventListener('click', async () => {
    button.disabled = true;
    setText(status, 'Getting a new code…');
    try {
      await onRenew();
    } catch (err) {
      setText(status, err?.message || 'Could not get a new code.');
      button.disabled = false;
    }
  });
  return h('p', { class: 'offer-renew-row' },
    h('span', { class: 'offer-renew-hint' }, 'Code not accepted or expired? '), button, status);
}

/**
 * The first option: share from this browser. `share` is null where the
 * browser cannot (no getDisplayMedia, or not a secure page), else
 * {sharing: boolean, start()}.
 */
function browserOption(who, share) {
  const what = `Your browser asks what to show: your whole screen, one window or one tab. ${who} sees only that, and only while you share. You can stop at any moment with Stop here or in your browser’s sharing bar.`;
  if (!share) {
    return h('div', { class: 'offer-option', testid: 'screen-offer-browser' },
      h('strong', { class: 'offer-option-title' }, 'Share from this browser'),
      h('p', { class: 'offer-option-text', testid: 'screen-offer-browser-unavailable' },
        'This browser cannot share its screen. Use a current Chrome, Edge, Firefox or Safari, or the program below.'));
  }
  const button = h('button', { type: 'button', class: 'btn btn-primary offer-share', testid: 'screen-share-browser' },
    share.sharing ? 'Sharing from this browser' : 'Share from this browser');
  button.disabled = !!share.sharing;
  button.addEventListener('click', () => share.start());
  return h('div', { class: 'offer-option offer-option-first', testid: 'screen-offer-browser' },
    button,
    h('p', { class: 'offer-option-text' }, h('strong', {}, 'View only, nothing to install, works on any computer. '), what));
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
  const who = repName || 'Your support rep';
  const until = formatClock(offer.expires_at);
  return h('section', { class: 'offer', testid: 'screen-offer', role: 'region', 'aria-label': 'Screen sharing request', data: { sessionId: offer.session_id } },
    h('div', { class: 'offer-head' },
      h('span', { class: 'offer-icon', 'aria-hidden': 'true' }),
      h('strong', { class: 'offer-title', testid: 'screen-offer-title' }, `${who} asked to see your screen`),
      h('button', { type: 'button', class: 'offer-dismiss', testid: 'screen-offer-dismiss', 'aria-label': 'Hide', on: { click: onDismiss } }, '×')),
    h('p', { class: 'offer-why' }, `Seeing what you see helps ${who} solve the problem faster. Nothing is shared until you choose one of these.`),
    RECORDING_NOTICE[offer.recording] ? h('p', { class: 'offer-recording', testid: 'screen-offer-recording', data: { policy: offer.recording } },
      RECORDING_NOTICE[offer.recording]) : null,
    browserOption(who, share),
    h('div', { class: 'offer-option', testid: 'screen-offer-agent' },
      h('strong', { class: 'offer-option-title' }, `Or run the DeskLink agent, to let ${who} control your computer`),
      h('p', { class: 'offer-code-row' }, 'Your code ',
        h('strong', { class: 'offer-code', testid: 'screen-offer-code' }, offer.code || ''),
        until ? h('span', { class: 'offer-expires', testid: 'screen-offer-expires' }, ` valid until ${until}`) : null),
      /^https?:\/\//.test(offer.download || '') ? h('p', { class: 'offer-download' },
        h('a', { href: offer.download, target: '_blank', rel: 'noopener', testid: 'screen-offer-download' },
          'Get the DeskLink agent for this computer'), ' (your code goes with it), or:') : null,
      h('ol', { class: 'offer-steps' },
        offer.install ? h('li', {}, h('span', {}, 'Install the DeskLink agent (once):'),
          copyRow(offer.install, 'screen-offer-install', 'screen-offer-copy-install', 'the install command')) : null,
        h('li', {}, h('span', {}, 'Run this command:'),
          copyRow(offer.command || '', 'screen-offer-command', 'screen-offer-copy', 'the command'))),
      onRenew ? renewRow(onRenew) : null,
      h('p', { class: 'offer-note', testid: 'screen-offer-note' },
        'Nothing is shared until you click Allow in the DeskLink window. You can stop at any time with its Stop button.')));
}

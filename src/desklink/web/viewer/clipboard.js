// ClipboardPanel: the viewer's clipboard, both ways (docs/protocol.md
// "Remote control, annotation, clipboard"). UI only: the text arrives from
// ViewerProtocol's `clipboard` event and leaves through its sendClipboard().
//
// Left: the visitor's latest clipboard text, shown as text (never markup) in
// a scrollable box, with when it arrived and a Copy button. Right: a text box
// and "Send to the visitor’s clipboard", enabled only while screen.state
// says clipboard.to_visitor; otherwise a plain hint says why not. The bar's
// "Clipboard" button opens and closes the panel and is marked while text
// from the visitor has not been looked at.
//
// All text with textContent; looks in viewer.css (data- attributes, hidden).

import { copyText } from '../shared/copy.js';
import { h, setText } from '../shared/dom.js';
import { MAX_CLIPBOARD_CHARS, countChars } from './protocol.js';

const COPIED_MS = 2000;

function timeOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export class ClipboardPanel {
  /**
   * @param {object} o
   *   visitor        the visitor's name, for the wording
   *   send(text)     ViewerProtocol.sendClipboard: 'sent' or why not
   *   button(testid, text, title, onClick, extra)  the viewer's button builder
   *   toast(text, kind)
   */
  constructor(o) {
    this.o = o;
    this.allowed = { from_visitor: false, to_visitor: false };
    this.live = false;
    this.received = null; // {text, at}
    this.unseen = false;
    const v = o.visitor;

    this.toggleButton = o.button('screen-clipboard', 'Clipboard', `Text copied on ${v}’s computer, and text to put on their clipboard`,
      () => this.setOpen(this.element.hidden), { 'aria-expanded': 'false', data: { new: 'false' } });

    this.timeEl = h('span', { class: 'clip-time', testid: 'clipboard-time' });
    this.copyButton = h('button', { type: 'button', class: 'btn btn-small screen-btn clip-copy', testid: 'clipboard-copy',
      title: 'Copy this text to your own clipboard', props: { disabled: true }, on: { click: () => this._copy() } }, 'Copy');
    this.textEl = h('pre', { class: 'clip-text', testid: 'clipboard-text', tabindex: '0', 'aria-label': `${v}’s clipboard`, props: { hidden: true } });
    this.fromHint = h('p', { class: 'clip-hint', testid: 'clipboard-from-hint' });
    const from = h('div', { class: 'clip-side clip-from', testid: 'clipboard-from' },
      h('div', { class: 'clip-head' }, h('h4', { class: 'clip-title' }, `From ${v}’s clipboard`), this.timeEl, this.copyButton),
      this.textEl, this.fromHint);

    this.input = h('textarea', { class: 'clip-input', testid: 'clipboard-input', rows: 3,
      placeholder: 'Text to put on the visitor’s clipboard', 'aria-label': `Text for ${v}’s clipboard`,
      on: { input: () => this._renderCount() } });
    this.countEl = h('span', { class: 'clip-count', testid: 'clipboard-count', data: { over: 'false' } });
    this.sendButton = h('button', { type: 'submit', class: 'btn btn-small btn-primary screen-btn clip-send', testid: 'clipboard-send' },
      'Send to the visitor’s clipboard');
    this.toHint = h('p', { class: 'clip-hint', testid: 'clipboard-to-hint' });
    const to = h('form', { class: 'clip-side clip-to', testid: 'clipboard-to', on: { submit: (e) => { e.preventDefault(); this._send(); } } },
      h('div', { class: 'clip-head' }, h('h4', { class: 'clip-title' }, `To ${v}’s clipboard`)),
      this.input, h('div', { class: 'clip-actions' }, this.countEl, this.sendButton), this.toHint);

    this.element = h('section', { class: 'screen-clipboard', testid: 'clipboard-panel', 'aria-label': 'Clipboard', props: { hidden: true } },
      from, to);
    this.render();
  }

  /** Open or close the panel (opening marks the visitor's text as seen). */
  setOpen(open) {
    this.element.hidden = !open;
    if (open) this.unseen = false;
    this.render();
  }

  /** Sharing is live (or not) and which ways text may cross now. */
  setState(live, allowed) {
    this.live = live;
    this.allowed = allowed;
    this.render();
  }

  /** The visitor's clipboard text arrived ({text, at}). */
  show(clip) {
    this.received = clip;
    if (this.element.hidden) this.unseen = true;
    this._renderReceived();
    this.render();
  }

  /** The viewer was closed: forget everything. */
  reset() {
    this.received = null;
    this.unseen = false;
    this.input.value = '';
    this.element.hidden = true;
    this.live = false;
    this._renderReceived();
    this.render();
  }

  async _copy() {
    if (!this.received) return;
    const ok = await copyText(this.received.text, this.textEl);
    setText(this.copyButton, ok ? 'Copied' : 'Press Ctrl+C');
    this.copyButton.dataset.copied = String(ok);
    clearTimeout(this.copiedTimer);
    this.copiedTimer = setTimeout(() => {
      setText(this.copyButton, 'Copy');
      delete this.copyButton.dataset.copied;
    }, COPIED_MS);
  }

  _send() {
    const text = this.input.value;
    const result = this.o.send(text);
    const v = this.o.visitor;
    if (result === 'sent') {
      this.input.value = '';
      this._renderCount();
      this.o.toast?.(`Sent to ${v}’s clipboard.`, 'success');
    } else if (result === 'too_long') {
      this.o.toast?.(`That text is too long (${countChars(text)} of at most ${MAX_CLIPBOARD_CHARS} characters).`, 'error');
    } else if (result === 'not_allowed') {
      this.o.toast?.(`${v} has not turned clipboard sharing on.`, 'error');
    } else if (result === 'not_connected') {
      this.o.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
    }
  }

  _renderCount() {
    const n = countChars(this.input.value);
    setText(this.countEl, `${n} / ${MAX_CLIPBOARD_CHARS}`);
    this.countEl.dataset.over = String(n > MAX_CLIPBOARD_CHARS);
    this.sendButton.disabled = !this.live || !this.allowed.to_visitor || n === 0 || n > MAX_CLIPBOARD_CHARS;
  }

  /** The received text changes only here: redrawing the rest must not lose the rep's selection in it. */
  _renderReceived() {
    const clip = this.received;
    this.textEl.hidden = !clip;
    setText(this.textEl, clip ? clip.text : '');
    setText(this.timeEl, clip ? `copied at ${timeOf(clip.at)}` : '');
    this.timeEl.dataset.at = clip ? String(clip.at) : '';
    this.copyButton.disabled = !clip;
  }

  render() {
    const v = this.o.visitor;
    const open = !this.element.hidden;
    this.toggleButton.hidden = !this.live && !this.received;
    this.toggleButton.setAttribute('aria-expanded', String(open));
    this.toggleButton.setAttribute('aria-pressed', String(open));
    this.toggleButton.dataset.new = String(this.unseen);

    const clip = this.received;
    let fromHint = '';
    if (!clip) {
      fromHint = this.allowed.from_visitor ? `Nothing yet. Text ${v} copies shows here.`
        : `${v} has not turned on sharing their clipboard with you.`;
    }
    setText(this.fromHint, fromHint);
    this.fromHint.hidden = !fromHint;

    const canSend = this.live && this.allowed.to_visitor;
    this.input.disabled = !canSend;
    let toHint = '';
    if (!this.live) toHint = 'Text can go to the visitor’s clipboard while the screen is shared.';
    else if (!this.allowed.to_visitor) toHint = `${v} has not turned clipboard sharing on.`;
    setText(this.toHint, toHint);
    this.toHint.hidden = !toHint;
    this.element.dataset.toVisitor = String(canSend);
    this.element.dataset.fromVisitor = String(this.allowed.from_visitor);
    this._renderCount();
  }
}

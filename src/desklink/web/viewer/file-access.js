// FileAccess: the viewer bar's file group while the visitor's agent shares
// the screen (docs/protocol.md "Privileges"): ask for the files privilege
// (`files.request` on the viewer socket; the visitor answers in the agent's
// window), give it back (`files.release`), and once granted send files
// straight to the visitor's computer and ask the visitor for a file (both
// over the console's socket: console/files.js).
//
// Drawn from screen.state `privileges.files` (off / asking / granted /
// suspended). The group keeps its buttons in place: Send and Ask are
// disabled, not hidden, until access is granted, so nothing in the bar moves
// under the pointer when the visitor answers.

import { h, setText } from '../shared/dom.js';
import { LIMITS } from '../shared/wire.js';

const STATUS_TEXT = {
  off: 'Files: off',
  asking: 'Files: asking…',
  granted: 'Files: allowed',
  suspended: 'Files: paused',
};
const STATUS_TITLE = {
  off: 'You cannot send files to the visitor’s computer or ask for their files',
  asking: 'The visitor is being asked in the agent’s window',
  granted: 'You may send files to the visitor’s computer and ask for their files; they accept each one',
  suspended: 'The visitor’s agent is reconnecting; file access comes back with it',
};

export class FileAccess {
  /**
   * @param {object} o
   *   visitor     the visitor's name
   *   button(testid, text, title, onClick, extra)  the viewer's button builder
   *   send(msg)   a message on the viewer socket; false when not connected
   *   files       {send(files [{file, name}]), ask(note) -> bool}: the console's side (may be absent)
   *   toast(text, kind)
   */
  constructor(o) {
    this.o = o;
    this.state = 'off';
    this.shown = false;
    const v = o.visitor;
    this.statusEl = h('span', { class: 'files-status', testid: 'files-status', role: 'status', data: { files: 'off' } }, STATUS_TEXT.off);
    this.requestButton = o.button('files-request', 'File access', `Ask ${v} to let you send files to their computer and ask for files`,
      () => this._toggle(), { class: 'btn btn-small screen-btn files-request' });
    this.input = h('input', { type: 'file', multiple: true, class: 'file-picker', testid: 'files-send-input', tabindex: '-1', props: { hidden: true } });
    this.input.addEventListener('change', () => {
      const files = Array.from(this.input.files || []).map((file) => ({ file, name: file.name }));
      this.input.value = '';
      if (files.length) this.o.files?.send(files);
    });
    this.sendButton = o.button('files-send', 'Send to computer', `Send files straight to ${v}’s computer (they accept each one)`,
      () => this.input.click(), { class: 'btn btn-small screen-btn files-send' });
    this.askButton = o.button('files-ask', 'Ask for a file', `Ask ${v} to pick a file on their computer and send it`,
      () => this._openAsk(), { class: 'btn btn-small screen-btn files-ask' });
    this.note = h('input', { type: 'text', class: 'files-ask-note', testid: 'files-ask-note', maxlength: LIMITS.MAX_FILE_REASON_CHARS,
      placeholder: 'Which file? (optional, e.g. the log in Documents)', 'aria-label': 'Note for the visitor' });
    this.askForm = h('form', { class: 'files-ask-form', testid: 'files-ask-form', props: { hidden: true },
      on: { submit: (e) => { e.preventDefault(); this._ask(); } } },
      this.note,
      h('button', { type: 'submit', class: 'btn btn-small btn-primary', testid: 'files-ask-send' }, 'Ask'),
      h('button', { type: 'button', class: 'btn btn-small', on: { click: () => { this.askForm.hidden = true; } } }, 'Cancel'));
    this.element = h('div', { class: 'screen-files', testid: 'screen-files', props: { hidden: true }, data: { files: 'off' } },
      this.statusEl, this.requestButton, this.sendButton, this.askButton, this.input);
    this._render();
  }

  /** A screen.state (normalised): `privileges.files`, the source, the status. */
  onState(state) {
    const files = state.privileges?.files;
    this.state = STATUS_TEXT[files] ? files : 'off';
    this.shown = state.status === 'sharing' && (state.source ?? 'agent') === 'agent';
    this._render();
  }

  hide() {
    this.shown = false;
    this._render();
  }

  _toggle() {
    const msg = this.state === 'off' ? { t: 'files.request' } : { t: 'files.release' };
    if (!this.o.send(msg)) this.o.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
  }

  _openAsk() {
    this.askForm.hidden = !this.askForm.hidden;
    if (!this.askForm.hidden) this.note.focus();
  }

  _ask() {
    const note = Array.from(this.note.value.trim()).slice(0, LIMITS.MAX_FILE_REASON_CHARS).join('');
    if (this.o.files?.ask(note)) {
      this.askForm.hidden = true;
      this.note.value = '';
      this.o.toast?.(`Asked ${this.o.visitor} to pick a file.`, 'info');
    } else {
      this.o.toast?.('Not connected. Try again in a moment.', 'error');
    }
  }

  _render() {
    const s = this.state;
    this.element.hidden = !this.shown;
    this.element.dataset.files = s;
    this.statusEl.dataset.files = s;
    setText(this.statusEl, STATUS_TEXT[s]);
    this.statusEl.title = STATUS_TITLE[s];
    setText(this.requestButton, s === 'off' ? 'File access' : s === 'asking' ? 'Withdraw' : 'Give back');
    this.requestButton.dataset.files = s;
    const granted = s === 'granted' && !!this.o.files;
    this.sendButton.disabled = !granted;
    this.askButton.disabled = !granted;
    if (!granted) this.askForm.hidden = true;
  }
}

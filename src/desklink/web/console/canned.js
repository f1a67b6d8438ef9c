// Canned replies and internal notes in the console (docs/protocol.md,
// "Canned replies and notes").
//
// CannedBook loads the rep's replies once (their own and their queues') and
// again after the rep changes their own. SlashPicker watches a chat's input:
// "/" and letters at the start of a word open a small list of matching
// replies (the session's queue's and the rep's own); arrows move, Enter or
// Tab inserts the body with {visitor_name} and {rep_name} filled in, Esc
// closes. Everything goes into the textarea as text, never as HTML; the rep
// can edit it before sending. NotesPanel shows a session's internal notes
// beside the chat: the server never sends them to the visitor.

import { api } from '../shared/http.js';
import { h, clear, setText, formatClock } from '../shared/dom.js';

/** Most replies the picker lists at once. */
const PICKER_ROWS = 8;
/** "/" and a shortcut's letters, at the start of the input or after a space, up to the cursor. */
const SLASH = /(^|\s)\/([a-z0-9_-]*)$/i;

/** A reply's body with the placeholders filled in (plain string replacement: the result is text). */
export function fillReply(body, { visitorName = '', repName = '' } = {}) {
  return body.split('{visitor_name}').join(visitorName).split('{rep_name}').join(repName);
}

export class CannedBook {
  constructor({ csrf, toast }) {
    this.csrf = csrf;
    this.toast = toast;
    this.replies = [];
    this.limits = { name_chars: 32, title_chars: 120, body_chars: 2000, note_chars: 4000 };
    this.listeners = new Set();
  }

  async load() {
    try {
      const data = await api('GET', '/api/canned');
      this.replies = data.replies || [];
      if (data.limits) this.limits = data.limits;
    } catch (err) {
      this.toast(`Could not load canned replies: ${err.message}`, 'error');
    }
    for (const fn of this.listeners) fn();
  }

  /** The replies a chat of queue `queueId` offers: the queue's, then the rep's own. */
  forQueue(queueId) {
    return this.replies.filter((r) => (r.scope === 'queue' && r.queue_id === queueId) || r.scope === 'mine');
  }

  mine() {
    return this.replies.filter((r) => r.scope === 'mine');
  }

  async save(reply, id = null) {
    if (id) await api('PATCH', `/api/canned/${id}`, { body: reply, csrf: this.csrf() });
    else await api('POST', '/api/canned', { body: reply, csrf: this.csrf() });
    await this.load();
  }

  async remove(id) {
    await api('DELETE', `/api/canned/${id}`, { csrf: this.csrf() });
    await this.load();
  }
}

/** The "/" list under one chat input. */
export class SlashPicker {
  constructor(input, { book, queueId, visitorName, repName }) {
    this.input = input;
    this.book = book;
    this.queueId = queueId;
    this.visitorName = visitorName;
    this.repName = repName;
    this.matches = [];
    this.index = 0;
    this.element = h('ul', { class: 'slash-picker', testid: 'canned-picker', role: 'listbox', 'aria-label': 'Canned replies', props: { hidden: true } });
    input.addEventListener('input', () => this.update());
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
  }

  get open() {
    return !this.element.hidden;
  }

  update() {
    const before = this.input.value.slice(0, this.input.selectionStart ?? this.input.value.length);
    const m = SLASH.exec(before);
    if (!m) {
      this.close();
      return;
    }
    const word = m[2].toLowerCase();
    const all = this.book.forQueue(this.queueId);
    const starts = all.filter((r) => r.name.startsWith(word));
    const inside = all.filter((r) => !r.name.startsWith(word) && (r.name.includes(word) || r.title.toLowerCase().includes(word)));
    this.matches = [...starts, ...inside].slice(0, PICKER_ROWS);
    this.index = 0;
    this.render(word);
  }

  render(word) {
    clear(this.element);
    if (!this.matches.length) {
      this.element.append(h('li', { class: 'slash-empty', testid: 'canned-none' },
        this.book.forQueue(this.queueId).length ? `No canned reply matches “/${word}”.` : 'No canned replies yet.'));
    }
    this.matches.forEach((r, i) => {
      const item = h('li', {
        class: ['slash-item', i === this.index && 'active'], role: 'option', testid: 'canned-option',
        data: { name: r.name }, 'aria-selected': i === this.index ? 'true' : 'false',
        on: { mousedown: (e) => { e.preventDefault(); this.index = i; this.pick(); } },
      },
      h('span', { class: 'slash-name' }, `/${r.name}`),
      h('span', { class: 'slash-title' }, r.title),
      r.scope === 'mine' ? h('span', { class: 'slash-scope' }, 'mine') : null,
      h('span', { class: 'slash-body' }, fillReply(r.body, this)));
      this.element.append(item);
    });
    this.element.hidden = false;
  }

  close() {
    this.element.hidden = true;
    this.matches = [];
  }

  /** Handle a key in the input; true when the picker used it. */
  handleKey(e) {
    if (!this.open) return false;
    if (e.key === 'Escape') {
      this.close();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!this.matches.length) return false;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.index = (this.index + step + this.matches.length) % this.matches.length;
      this.render('');
    } else if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && this.matches.length) {
      this.pick();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  /** Replace "/word" before the cursor with the chosen reply's body. */
  pick() {
    const reply = this.matches[this.index];
    if (!reply) return;
    const value = this.input.value;
    const cursor = this.input.selectionStart ?? value.length;
    const before = value.slice(0, cursor);
    const m = SLASH.exec(before);
    const start = m ? cursor - m[0].length + m[1].length : cursor;
    const text = fillReply(reply.body, this);
    this.input.value = value.slice(0, start) + text + value.slice(cursor);
    const at = start + text.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.focus();
    this.input.dispatchEvent(new Event('input'));
  }
}

/** A session's internal notes, beside the chat. */
export class NotesPanel {
  constructor(sessionId, { csrf, toast, maxChars = 4000 }) {
    this.sessionId = sessionId;
    this.csrf = csrf;
    this.toast = toast;
    this.list = h('ol', { class: 'notes-list', testid: 'notes-list' });
    this.empty = h('p', { class: 'empty notes-empty' }, 'No notes yet.');
    this.input = h('textarea', { class: 'note-input', testid: 'note-input', rows: 2, maxlength: maxChars,
      placeholder: 'Internal note (never shown to the visitor)', 'aria-label': 'Internal note' });
    this.button = h('button', { type: 'submit', class: 'btn btn-small', testid: 'note-add' }, 'Add note');
    this.element = h('aside', { class: 'notes', testid: 'notes', 'aria-label': 'Internal notes' },
      h('h4', { class: 'notes-title' }, 'Internal notes ', h('small', {}, 'reps and supervisors only')),
      this.list, this.empty,
      h('form', { class: 'note-form', on: { submit: (e) => { e.preventDefault(); this.add(); } } }, this.input, this.button));
  }

  async load() {
    try {
      const data = await api('GET', `/api/sessions/${encodeURIComponent(this.sessionId)}/notes`);
      this.render(data.notes || []);
    } catch (err) {
      this.toast(`Could not load the notes: ${err.message}`, 'error');
    }
  }

  render(notes) {
    clear(this.list);
    for (const n of notes) {
      this.list.append(h('li', { class: 'note', testid: 'note' },
        h('div', { class: 'note-meta' }, h('strong', {}, n.author || 'someone'), ` · ${formatClock(n.at)}`),
        h('div', { class: 'note-body', testid: 'note-body' }, n.body)));
    }
    this.empty.hidden = notes.length > 0;
  }

  async add() {
    const body = this.input.value.trim();
    if (!body) return;
    this.button.disabled = true;
    try {
      await api('POST', `/api/sessions/${encodeURIComponent(this.sessionId)}/notes`, { body: { body }, csrf: this.csrf() });
      this.input.value = '';
      await this.load();
    } catch (err) {
      this.toast(`Note not saved: ${err.message}`, 'error');
    } finally {
      this.button.disabled = false;
    }
  }
}

/** The "Replies" dialog: the rep's own canned replies (add, change, delete). */
export function openRepliesManager(book) {
  let editing = null;
  const list = h('ul', { class: 'replies-list', testid: 'my-replies' });
  const name = h('input', { testid: 'reply-name', maxlength: book.limits.name_chars, placeholder: 'shortcut, e.g. thanks', 'aria-label': 'Shortcut' });
  const title = h('input', { testid: 'reply-title', maxlength: book.limits.title_chars, placeholder: 'Title', 'aria-label': 'Title' });
  const body = h('textarea', { testid: 'reply-body', rows: 4, maxlength: book.limits.body_chars,
    placeholder: 'Text. {visitor_name} and {rep_name} are filled in.', 'aria-label': 'Text' });
  const saveButton = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'reply-save' }, 'Add reply');
  const error = h('p', { class: 'form-error', testid: 'reply-error', props: { hidden: true } });
  const reset = () => {
    editing = null;
    name.value = title.value = body.value = '';
    setText(saveButton, 'Add reply');
  };
  const render = () => {
    clear(list);
    const mine = book.mine();
    if (!mine.length) list.append(h('li', { class: 'empty' }, 'You have no replies of your own yet.'));
    for (const r of mine) {
      list.append(h('li', { class: 'reply-row', testid: 'my-reply', data: { name: r.name } },
        h('span', { class: 'slash-name' }, `/${r.name}`), h('span', { class: 'slash-title' }, r.title),
        h('button', { type: 'button', class: 'btn btn-small', on: { click: () => {
          editing = r.id; name.value = r.name; title.value = r.title; body.value = r.body; setText(saveButton, 'Save changes');
        } } }, 'Edit'),
        h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: 'reply-delete', on: { click: async () => {
          try { await book.remove(r.id); } catch (err) { book.toast(err.message, 'error'); }
        } } }, 'Delete')));
    }
  };
  const form = h('form', { class: 'reply-form', on: { submit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    try {
      await book.save({ name: name.value, title: title.value, body: body.value }, editing);
      reset();
    } catch (err) {
      setText(error, err.message);
      error.hidden = false;
    }
  } } }, name, title, body, error, h('div', { class: 'reply-buttons' }, saveButton));
  const close = h('button', { type: 'button', class: 'btn btn-small', testid: 'replies-close' }, 'Close');
  const dialog = h('dialog', { class: 'replies-dialog', testid: 'replies-dialog', 'aria-labelledby': 'replies-title' },
    h('header', { class: 'replies-head' }, h('h2', { id: 'replies-title' }, 'My canned replies'), close),
    h('p', { class: 'hint' }, 'Type / and a shortcut in a chat to insert one. Your queues’ replies are managed in the admin center.'),
    list, form);
  close.addEventListener('click', () => dialog.close());
  const onChange = () => render();
  book.listeners.add(onChange);
  dialog.addEventListener('close', () => { book.listeners.delete(onChange); dialog.remove(); });
  document.body.append(dialog);
  render();
  dialog.showModal();
  return dialog;
}

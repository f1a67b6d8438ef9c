// Offline messages in the rep console: the messages visitors left while the
// desk was closed or nobody was online, for the rep's queues (GET /api/offline),
// with a count badge of the unanswered ones. Opening one shows it in a dialog
// where the rep answers by e-mail (POST /api/offline/{id}/answer): the server
// sends it through its SMTP server and marks the message answered; a second
// rep answering gets a conflict naming the first; an SMTP failure is shown
// and the message stays unanswered. Without an SMTP server the dialog says
// why answering is unavailable.
//
// Visitor text is only ever set as text.

import { h, clear, setText, formatDateTime } from '../shared/dom.js';
import { api } from '../shared/http.js';

/** How often the list is fetched again while the console is open. */
const REFRESH_MS = 30_000;

export class OfflineInbox {
  /**
   * `section` is the sidebar's <section>; options: csrf() and toast(text, kind).
   */
  constructor(section, { csrf, toast }) {
    this.csrf = csrf;
    this.toast = toast;
    this.messages = [];
    this.mail = { configured: true, why_not: null };
    this.limit = 10_000;
    this.timer = null;
    this.count = h('span', { class: 'count', testid: 'offline-count', data: { count: '0' } }, '0');
    this.list = h('ul', { class: 'offline-list', testid: 'offline-list' });
    this.empty = h('p', { class: 'empty', testid: 'offline-empty' }, 'No messages waiting for an answer.');
    this.refresh = h('button', { type: 'button', class: 'btn btn-small', testid: 'offline-refresh', on: { click: () => this.load() } }, 'Refresh');
    clear(section);
    section.append(
      h('h2', { id: 'offline-title' }, 'Messages ', this.count, h('span', { class: 'spacer' }), this.refresh),
      this.list, this.empty);
  }

  start() {
    this.load();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.messages = [];
    this.render(0);
  }

  async load() {
    let answer;
    try {
      answer = await api('GET', '/api/offline');
    } catch (err) {
      this.toast(`Could not load offline messages: ${err.message}`, 'error');
      return;
    }
    this.messages = answer?.messages || [];
    this.mail = answer?.mail || this.mail;
    this.limit = answer?.limits?.answer || this.limit;
    this.render(Number(answer?.unanswered) || 0);
  }

  render(unanswered) {
    setText(this.count, String(unanswered));
    this.count.dataset.count = String(unanswered);
    clear(this.list);
    for (const m of this.messages) {
      this.list.append(h('li', {}, h('button', {
        type: 'button', class: 'offline-item', testid: 'offline-item', data: { id: m.id },
        on: { click: () => this.open(m) },
      },
      h('span', { class: 'offline-who' }, m.name),
      h('span', { class: 'offline-when muted' }, formatDateTime(m.at)),
      h('span', { class: 'offline-snippet' }, m.body))));
    }
    this.empty.hidden = this.messages.length > 0;
  }

  /** The message in a dialog, with the answer form (or why there is none). */
  open(m) {
    const close = h('button', { type: 'button', class: 'btn btn-small', testid: 'offline-close' }, 'Close');
    const error = h('p', { class: 'form-error', testid: 'offline-answer-error', role: 'alert', props: { hidden: true } });
    const body = h('textarea', { testid: 'offline-answer', rows: 6, maxlength: this.limit, 'aria-label': 'Your answer' });
    const send = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'offline-send' }, 'Send answer by e-mail');
    const copy = m.copy_sent ? 'The visitor got a copy of this message.' : 'The visitor’s copy could not be sent.';
    let answerPart;
    if (!this.mail.configured) {
      answerPart = h('p', { class: 'offline-no-mail', testid: 'offline-no-mail' }, this.mail.why_not || 'Answering by e-mail is unavailable.');
    } else {
      answerPart = h('form', { class: 'offline-answer-form', on: { submit: async (e) => {
        e.preventDefault();
        const text = body.value.trim();
        if (!text) {
          setText(error, 'Type your answer first.');
          error.hidden = false;
          return;
        }
        error.hidden = true;
        send.disabled = true;
        setText(send, 'Sending…');
        try {
          await api('POST', `/api/offline/${encodeURIComponent(m.id)}/answer`, { body: { body: text }, csrf: this.csrf() });
        } catch (err) {
          setText(error, err.message || 'The answer could not be sent.');
          error.hidden = false;
          error.dataset.code = err.code || '';
          send.disabled = false;
          setText(send, 'Send answer by e-mail');
          if (err.code === 'conflict_answered') this.load();
          return;
        }
        this.toast(`Answer sent to ${m.email}`, 'success');
        dialog.close();
        this.load();
      } } },
      h('label', { class: 'label' }, `Answer to ${m.email}`), body, error,
      h('div', { class: 'reply-buttons' }, send));
    }
    const dialog = h('dialog', { class: 'replies-dialog offline-dialog', testid: 'offline-dialog', data: { id: m.id }, 'aria-labelledby': 'offline-dialog-title' },
      h('header', { class: 'replies-head' }, h('h2', { id: 'offline-dialog-title' }, `Message from ${m.name}`), close),
      h('p', { class: 'muted' }, `${m.email} · ${m.queue?.name || ''} · ${formatDateTime(m.at)} · ${copy}`),
      h('p', { class: 'offline-body', testid: 'offline-body' }, m.body),
      answerPart);
    close.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    if (this.mail.configured) body.focus();
    return dialog;
  }
}

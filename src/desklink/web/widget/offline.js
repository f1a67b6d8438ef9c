// The help box when nobody can chat: outside the queue's business hours, or
// while nobody is online. It says so truthfully and, when the server can send
// e-mail (config.desk.offline.email), offers to leave a message that a person
// answers by e-mail; the visitor gets a copy. Without e-mail it promises
// nothing: closed means "come back when we open", nobody online means "try
// again later" (the chat form stays, in case someone comes online meanwhile).
//
// desklink-help.js keeps only the hooks: build (node), apply(config) after the
// config loads or a chat ends, hide() when a conversation starts, and
// submitRefused(err) for a chat submit the server refused as closed.

import { h, setText, clear } from '../shared/dom.js';
import { api, ApiError } from '../shared/http.js';
import { t, language } from './i18n.js';

const EMAIL_RE = /^[^@\s<>,;:"'()[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const DEFAULT_MESSAGE_CHARS = 4000;

/**
 * What the help box shows for a config (pure): 'chat' (someone can chat),
 * 'message' (leave a message; `closed` says why), 'closed' (closed, no
 * e-mail: come back later) or 'nobody' (open, nobody online, no e-mail).
 */
export function deskMode(config) {
  const desk = config?.desk;
  if (!desk) return { mode: 'chat', closed: false };
  const email = Boolean(desk.offline?.email);
  const closed = desk.open === false;
  const online = Number(desk.online_reps ?? config.online_reps) || 0;
  if (closed) return { mode: email ? 'message' : 'closed', closed: true, next: desk.next_opening || null };
  if (online > 0) return { mode: 'chat', closed: false };
  return { mode: email ? 'message' : 'nobody', closed: false };
}

/** "Monday 09:00" in the visitor's language and time zone; with the date when it is a week or more away. */
export function openingText(iso, now = new Date()) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const far = at - now > 6 * 24 * 3600 * 1000;
  const options = { weekday: 'long', hour: '2-digit', minute: '2-digit', ...(far ? { day: 'numeric', month: 'long' } : {}) };
  try {
    return at.toLocaleString(language(), options);
  } catch {
    return at.toISOString();
  }
}

export class OfflineDesk {
  /** `box` is the <desklink-help> element (server, queue, config, $). */
  constructor(box) {
    this.box = box;
    this.chatAnyway = false;
    this.state = deskMode(null);
    const $ = this.$ = {};
    $.intro = h('p', { class: 'intro', testid: 'offline-intro' });
    $.name = h('input', { id: 'dl-off-name', testid: 'offline-name', autocomplete: 'name', maxlength: 400 });
    $.email = h('input', { id: 'dl-off-email', testid: 'offline-email', type: 'email', autocomplete: 'email', maxlength: 400 });
    $.message = h('textarea', { id: 'dl-off-message', testid: 'offline-message', rows: 5 });
    $.count = h('span', { class: 'counter', testid: 'offline-count' });
    $.message.addEventListener('input', () => this._count());
    $.error = h('p', { class: 'form-error', testid: 'offline-error', role: 'alert', props: { hidden: true } });
    $.submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'offline-submit' }, t('offline.send'));
    $.wait = h('button', { type: 'button', class: 'link-btn offline-chat-anyway', testid: 'offline-chat-anyway', props: { hidden: true },
      on: { click: () => { this.chatAnyway = true; this.apply(this.box.config); } } }, t('offline.chatAnyway'));
    $.form = h('form', { class: 'offline-form', testid: 'offline-form', novalidate: true, on: { submit: (e) => { e.preventDefault(); this._send(); } } },
      h('div', { class: 'field' }, h('label', { for: 'dl-off-name' }, t('offline.name')), $.name),
      h('div', { class: 'field' }, h('label', { for: 'dl-off-email' }, t('offline.email')), $.email),
      h('div', { class: 'field' }, h('div', { class: 'label-row' }, h('label', { for: 'dl-off-message' }, t('offline.message')), $.count), $.message),
      $.error, $.submit, $.wait);
    $.sent = h('div', { class: 'offline-sent', testid: 'offline-sent', role: 'status', props: { hidden: true } });
    this.node = h('div', { class: 'view form-view offline-view', testid: 'offline', props: { hidden: true } }, $.intro, $.form, $.sent);
  }

  get limit() {
    const n = Number(this.box.config?.limits?.offline_message);
    return Number.isFinite(n) && n > 0 ? n : DEFAULT_MESSAGE_CHARS;
  }

  /** Show the chat form or this view for `config`; nothing changes while a conversation is on screen. */
  apply(config) {
    const box = this.box;
    this.state = deskMode(config);
    if (box.denied || !box.$.conv.hidden) {
      this.node.hidden = true;
      return;
    }
    const { mode, closed, next } = this.state;
    const when = next ? openingText(next) : '';
    const availability = box.$.availability;
    if (closed) {
      availability.dataset.online = 'closed';
      setText(availability, t('offline.headerClosed'));
    } else if (mode !== 'chat') {
      setText(availability, mode === 'nobody' ? t('offline.nobodyTryLater') : t('offline.headerNobody'));
    }
    const useChat = mode === 'chat' || mode === 'nobody' || (mode === 'message' && !closed && this.chatAnyway);
    box.$.form.hidden = useChat ? box.denied : true;
    this.node.hidden = useChat;
    this.node.dataset.mode = mode;
    if (useChat) return;
    if (mode === 'closed') {
      setText(this.$.intro, when ? t('offline.closedComeBack', { when }) : t('offline.closedComeBackLater'));
      this.$.form.hidden = true;
      return;
    }
    setText(this.$.intro, closed
      ? (when ? t('offline.closedLeaveMessage', { when }) : t('offline.closedLeaveMessageNoDate'))
      : t('offline.nobodyLeaveMessage'));
    this.$.wait.hidden = closed;
    this.$.form.hidden = !this.$.sent.hidden;
    this._count();
  }

  hide() {
    this.node.hidden = true;
  }

  /** A chat submit refused because the desk closed meanwhile: load the config again (which shows this view). */
  submitRefused(err) {
    if (!(err instanceof ApiError) || err.code !== 'conflict_desk_closed') return false;
    this.box._loadConfig();
    return true;
  }

  _count() {
    const n = this.$.message.value.length;
    setText(this.$.count, `${n} / ${this.limit}`);
    this.$.count.dataset.over = String(n > this.limit);
    this.$.count.classList.toggle('over', n > this.limit);
  }

  _error(text) {
    setText(this.$.error, text);
    this.$.error.hidden = !text;
  }

  async _send() {
    const $ = this.$;
    const name = $.name.value.trim();
    const email = $.email.value.trim();
    const message = $.message.value.trim();
    const problem = !name ? ['offline.needName', $.name]
      : !email ? ['offline.needEmail', $.email]
      : !EMAIL_RE.test(email) ? ['offline.badEmail', $.email]
      : !message ? ['offline.needMessage', $.message]
      : message.length > this.limit ? ['offline.tooLong', $.message]
      : null;
    if (problem) {
      this._error(t(problem[0], { limit: this.limit }));
      problem[1].focus();
      return;
    }
    this._error('');
    $.submit.disabled = true;
    setText($.submit, t('offline.sending'));
    let answer;
    try {
      answer = await api('POST', `${this.box.server}/api/visitor/offline`, {
        body: { queue: this.box.queue, name, email, message }, credentials: 'omit',
      });
    } catch (err) {
      this._error(this._errorText(err));
      return;
    } finally {
      $.submit.disabled = false;
      setText($.submit, t('offline.send'));
    }
    clear($.sent);
    $.sent.append(
      h('p', { class: 'offline-sent-title' }, t('offline.sentTitle')),
      h('p', {}, t('offline.sentBody', { email })),
      h('p', { class: 'muted', testid: 'offline-copy', data: { sent: String(Boolean(answer?.copy_sent)) } },
        answer?.copy_sent ? t('offline.copySent') : t('offline.copyNotSent')));
    $.message.value = '';
    $.form.hidden = true;
    $.sent.hidden = false;
  }

  _errorText(err) {
    if (!(err instanceof ApiError)) return t('offline.error.generic');
    if (err.code === 'network') return t('offline.error.network');
    if (err.code === 'rate_limited' || err.status === 429) return t('offline.error.tooMany');
    if (err.code === 'conflict_full') return t('offline.error.full');
    if (err.code === 'mail_unavailable') return t('offline.error.noMail');
    if (err.code === 'too_large' || err.status === 413) return t('offline.tooLong', { limit: this.limit });
    if (err.status === 400) return t('offline.badEmail');
    return t('offline.error.generic');
  }
}

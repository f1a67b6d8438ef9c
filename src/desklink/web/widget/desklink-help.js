// <desklink-help>: the help box a support provider embeds on its own site.
//
//   <script type="module" src="https://help.example.com/static/widget/desklink-help.js"
//           data-queue="support"></script>
//
// The script appends one <desklink-help queue="support"> to the page (unless
// one is already there). Optional data-server (default: the origin this
// module was loaded from) points at the DeskLink server. Attributes
// data-field-NAME="value" (on the script tag or the element) and
// element.setFields({NAME: 'value'}) pass fields to the rep (a customer id);
// docs/deploy.md, "Passing fields to the help box".
//
// Everything lives in an open shadow root with its own stylesheet, so the
// host page's CSS cannot break the box and the box cannot touch the page.
// Visitor and rep text is only ever set as text, never as markup.

import { FIELD_PREFIX, autoMount } from './mount.js';
import { h, setText, clear } from '../shared/dom.js';
import { ChatLog } from '../shared/chatlog.js';
import { TypingSignal } from '../shared/typing.js';
import { downloadBlob, ApiError } from '../shared/http.js';
import { Conversation } from './conversation.js';
import { visitorContext } from './client-info.js';
import { offerCard, renewFailureText } from './screen-offer.js';
import { ScreenShare, canShare } from './screen-share.js';
import { VisitorFiles } from './files.js';
import { showRating } from './rating.js';
import { PrechatFields, applyBranding, prechatErrorText } from './branding.js';
import { OfflineDesk } from './offline.js';
import { DEFAULT_LIMITS, availabilityText, deniedReason, errorText, limitsFrom, nameOf, submitErrorText, waitText, watchingWords } from './format.js';
import { chooseLanguage, setLanguage, t } from './i18n.js';
import { systemText } from './system-lines.js';

const MODULE_URL = import.meta.url;
const DEFAULT_SERVER = new URL(MODULE_URL).origin;
/** Send typing {on:false} after this long without a keystroke. */
/** Hide the other side's typing indicator if no update comes for this long. */
const TYPING_STALE_MS = 15000;
const NOTICE_MS = 8000;
/** data-field-customer-id="C-1234" passes the field customer-id to the rep. */
export class DeskLinkHelp extends HTMLElement {
  /**
   * Fields for the rep (a customer id, a plan), besides any data-field-*
   * attributes on this element or the script tag: an object of text values,
   * merged over what was set before (null removes one). Sent with the next
   * request; the rep sees them as text.
   */
  setFields(fields) {
    this._fields = { ...(this._fields || {}), ...(fields || {}) };
    for (const [key, value] of Object.entries(this._fields)) if (value == null) delete this._fields[key];
  }

  /** The fields to send: data-field-* attributes, then setFields() on top. */
  fields() {
    const out = {};
    for (const attr of this.attributes) if (attr.name.startsWith(FIELD_PREFIX)) out[attr.name.slice(FIELD_PREFIX.length)] = attr.value;
    return { ...out, ...(this._fields || {}) };
  }

  connectedCallback() {
    if (this._built) {
      // Moved or re-inserted by the page: pick the conversation up again.
      if (this.conv?.live) this.conv.connect();
      this._listen();
      return;
    }
    this._built = true;
    this.lang = setLanguage(chooseLanguage(this.getAttribute('lang')));
    this.server = (this.getAttribute('server') || DEFAULT_SERVER).replace(/\/+$/, '');
    this.queue = this.getAttribute('queue') || 'support';
    this.limits = { ...DEFAULT_LIMITS };
    this.config = null;
    this.repName = '';
    this.conv = null;
    this.denied = false;
    this.cancelling = false;
    this.unread = 0;
    this.typing = new TypingSignal((on) => this.conv?.typing(on));
    this.remoteTypingTimer = null;
    this.noticeTimer = null;
    this._build();
    const saved = new Conversation(this.server, this.queue);
    if (saved.resumable) {
      this._attach(saved);
      this._enterConversation();
      this._setStatus('connecting', t('status.reconnecting'));
      this._renderPending();
      this.open();
      saved.connect();
    } else {
      this._showForm();
    }
    this._loadConfig();
    // Close the socket when the page goes away (so the page can enter the
    // back/forward cache) and reconnect if it comes back from there.
    this._onPageHide = () => {
      this.share?.stop('page_closed');
      this.conv?.disconnect();
    };
    this._onPageShow = (e) => { if (e.persisted && this.conv?.live) this.conv.connect(); };
    this._listen();
  }

  _listen() {
    window.addEventListener('pagehide', this._onPageHide);
    window.addEventListener('pageshow', this._onPageShow);
  }

  disconnectedCallback() {
    window.removeEventListener('pagehide', this._onPageHide);
    window.removeEventListener('pageshow', this._onPageShow);
    this.conv?.disconnect();
  }

  // ------------------------------------------------------------ building

  _build() {
    const shadow = this.shadowRoot || this.attachShadow({ mode: 'open' });
    const link = h('link', { rel: 'stylesheet', href: new URL('desklink-help.css', MODULE_URL).href });
    const cardsCss = h('link', { rel: 'stylesheet', href: new URL('../shared/file-cards.css', MODULE_URL).href });
    // The box's language on its root, so screen readers read it right (the page may speak another).
    const root = h('div', { class: 'dl-root', lang: this.lang, props: { hidden: true } });
    const show = () => { root.hidden = false; };
    link.addEventListener('load', show);
    link.addEventListener('error', show);
    setTimeout(show, 3000);
    shadow.append(link, cardsCss, root);
    const $ = this.$ = { root };

    $.badge = h('span', { class: 'launcher-badge', testid: 'launcher-badge', props: { hidden: true } });
    // While the screen is shared, the minimised box still says so.
    $.launcherSharing = h('span', { class: 'launcher-sharing', testid: 'launcher-sharing', props: { hidden: true } }, t('launcher.sharing'));
    $.launcher = h('button', { type: 'button', class: 'launcher', testid: 'launcher', 'aria-expanded': 'false', on: { click: () => this.toggle() } },
      h('span', { class: 'launcher-icon', 'aria-hidden': 'true' }, '?'), h('span', { class: 'launcher-text' }, t('launcher.text')), $.launcherSharing, $.badge);

    $.provider = h('strong', { class: 'provider', testid: 'provider' }, t('head.help'));
    $.availability = h('span', { class: 'availability', testid: 'availability', data: { online: 'unknown' } }, t('head.checking'));
    // While chatting the header names the rep instead of who is online (that was about before).
    $.headRep = h('span', { class: 'head-rep', testid: 'header-rep', props: { hidden: true } });
    $.minimize = h('button', { type: 'button', class: 'icon-btn', testid: 'minimize', 'aria-label': t('head.minimise'), on: { click: () => this.close() } }, '–');
    const header = $.head = h('header', { class: 'panel-head' },
      h('div', { class: 'panel-title' }, $.provider, $.availability, $.headRep), $.minimize);

    $.noticeText = h('span', { class: 'notice-text' });
    $.notice = h('div', { class: 'notice', testid: 'notice', role: 'status', props: { hidden: true } }, $.noticeText,
      h('button', { type: 'button', class: 'notice-close', 'aria-label': t('common.dismiss'), on: { click: () => this._hideNotice() } }, '×'));

    // the question form
    $.name = h('input', { id: 'dl-name', testid: 'name', autocomplete: 'name', maxlength: 400 });
    $.email = h('input', { id: 'dl-email', testid: 'email', type: 'email', autocomplete: 'email', maxlength: 400 });
    $.question = h('textarea', { id: 'dl-question', testid: 'question', rows: 4 });
    $.nameCount = h('span', { class: 'counter', testid: 'name-count' });
    $.questionCount = h('span', { class: 'counter', testid: 'question-count' });
    $.formError = h('p', { class: 'form-error', testid: 'form-error', role: 'alert', props: { hidden: true } });
    $.submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'submit' }, t('form.submit'));
    for (const [input, counter, key] of [[$.name, $.nameCount, 'name'], [$.question, $.questionCount, 'question']]) {
      input.addEventListener('input', () => this._count(input, counter, this.limits[key]));
    }
    $.form = h('form', { class: 'view form-view', testid: 'form', novalidate: true, on: { submit: (e) => { e.preventDefault(); this._submit(); } } },
      $.intro = h('p', { class: 'intro', testid: 'intro' }, t('form.intro')),
      h('div', { class: 'field' }, h('div', { class: 'label-row' }, h('label', { for: 'dl-name' }, t('form.name')), $.nameCount), $.name),
      h('div', { class: 'field' }, h('label', { for: 'dl-email' }, t('form.email'), ' ', h('span', { class: 'optional' }, t('form.optional'))), $.email),
      (this.prechat = new PrechatFields()).node,
      h('div', { class: 'field' }, h('div', { class: 'label-row' }, h('label', { for: 'dl-question' }, t('form.question')), $.questionCount), $.question),
      $.formError, $.submit);

    // the conversation
    $.status = h('p', { class: 'status', testid: 'status', role: 'status' });
    $.connection = h('p', { class: 'connection', testid: 'connection', props: { hidden: true } }, t('status.connection_lost'));
    $.position = h('p', { class: 'position', testid: 'position' });
    $.wait = h('p', { class: 'wait', testid: 'wait' });
    $.cancel = h('button', { type: 'button', class: 'btn btn-quiet', testid: 'cancel', on: { click: () => this._cancel() } }, t('queue.cancel'));
    $.queueBox = h('div', { class: 'queue-box', testid: 'queue-box', props: { hidden: true } },
      h('div', { class: 'queue-info' }, $.position, $.wait), $.cancel);
    // Who watches the chat (a supervisor or admin): no silent watching.
    $.chatWatchers = h('p', { class: 'chat-watchers', testid: 'chat-watchers', role: 'status', props: { hidden: true } });
    $.askedText = h('span', { class: 'asked-text', testid: 'asked-text' });
    $.asked = h('p', { class: 'asked', testid: 'asked', props: { hidden: true } }, h('span', { class: 'asked-label' }, t('form.question')), $.askedText);
    $.messages = h('ol', { class: 'messages', testid: 'messages', 'aria-live': 'polite' });
    $.offer = h('div', { class: 'offer-slot' });
    $.scroll = h('div', { class: 'scroll', testid: 'scroll' }, $.asked, $.messages, $.offer);
    // While the screen is shared from this browser: who sees it, and Stop (screen-share.js).
    $.sharingText = h('span', { class: 'sharing-text', testid: 'share-indicator-text' });
    $.sharingStop = h('button', { type: 'button', class: 'btn btn-quiet sharing-stop', testid: 'share-stop', on: { click: () => this.share?.stop('stop_button') } }, t('share.stop'));
    $.sharingRecording = h('span', { class: 'sharing-recording', testid: 'share-recording', props: { hidden: true } }, t('share.recording'));
    // Who else watches (a supervisor or admin): no silent watching.
    $.sharingWatchers = h('span', { class: 'sharing-watchers', testid: 'share-watchers', props: { hidden: true } });
    $.sharing = h('div', { class: 'sharing', testid: 'share-indicator', role: 'status', props: { hidden: true } },
      h('span', { class: 'sharing-dot', 'aria-hidden': 'true' }), $.sharingText, $.sharingWatchers, $.sharingRecording, $.sharingStop);
    this.log = new ChatLog($.messages, { self: 'visitor', scroller: $.scroll, t, systemText });
    $.typing = h('p', { class: 'typing', testid: 'typing', props: { hidden: true } });
    $.chatInput = h('textarea', { class: 'chat-input', testid: 'chat-input', rows: 1, placeholder: t('chat.placeholder'), 'aria-label': t('chat.message') });
    $.chatCount = h('span', { class: 'counter chat-count', testid: 'chat-count', props: { hidden: true } });
    $.send = h('button', { type: 'submit', class: 'btn btn-primary send', testid: 'send' }, t('chat.send'));
    // Files: the attach button, drops on the conversation, cards among the messages (files.js).
    this.files = new VisitorFiles({
      server: this.server, log: this.log, zone: root,
      notice: (text, kind, code) => this._notice(text, kind, code),
      otherName: () => this.repName,
      canSend: () => !!this.conv?.live && this.$.status.dataset.state === 'chatting' && !this.$.composer.hidden,
      arrived: () => this._notifyUnread(),
    });
    $.composer = h('form', { class: 'composer', testid: 'composer', on: { submit: (e) => { e.preventDefault(); this._sendChat(); } } },
      this.files.button, $.chatInput, $.send, $.chatCount, this.files.input);
    $.chatInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this._sendChat();
      }
    });
    $.chatInput.addEventListener('input', () => this._onChatInput());
    $.saveText = h('button', { type: 'button', class: 'link-btn', testid: 'save-text', on: { click: () => this._saveTranscript('text') } }, t('save.text'));
    $.saveHtml = h('button', { type: 'button', class: 'link-btn', testid: 'save-html', on: { click: () => this._saveTranscript('html') } }, t('save.html'));
    $.leave = h('button', { type: 'button', class: 'btn btn-quiet leave', testid: 'leave', on: { click: () => this._askLeave(true) } }, t('leave.end_chat'));
    // "End chat" asks first; Cancel changes nothing.
    $.leaveCancel = h('button', { type: 'button', class: 'btn btn-quiet', testid: 'leave-cancel', on: { click: () => this._askLeave(false) } }, t('common.cancel'));
    $.leaveEnd = h('button', { type: 'button', class: 'btn btn-primary', testid: 'leave-end', on: { click: () => this._leave() } }, t('leave.end'));
    $.leaveConfirm = h('div', { class: 'leave-confirm', testid: 'leave-confirm', role: 'group', 'aria-label': t('leave.confirm'), props: { hidden: true } },
      h('span', { class: 'leave-confirm-text', testid: 'leave-confirm-text' }, t('leave.confirm')),
      h('span', { class: 'leave-confirm-actions' }, $.leaveCancel, $.leaveEnd));
    $.leaveConfirm.addEventListener('keydown', (e) => { if (e.key === 'Escape') this._askLeave(false); });
    $.save = h('div', { class: 'save', testid: 'save-transcript' }, h('span', {}, t('save.label')), $.saveText, $.saveHtml);
    $.actions = h('div', { class: 'conv-actions' }, $.save, $.leave);
    $.endTitle = h('strong', { class: 'end-title', testid: 'end-title' });
    $.endDetail = h('span', { class: 'end-detail', testid: 'end-detail' });
    $.endActions = h('div', { class: 'end-actions' });
    $.rating = h('div', { class: 'rating-slot', testid: 'rating-slot' }); // "How did we do?" (rating.js)
    $.endBanner = h('div', { class: 'end-banner', testid: 'end-banner', props: { hidden: true } }, $.endTitle, $.endDetail, $.rating, $.endActions);
    $.conv = h('div', { class: 'view conv-view', testid: 'conversation', props: { hidden: true } },
      $.status, $.chatWatchers, $.connection, $.queueBox, $.scroll, $.typing, $.sharing, $.endBanner, $.composer, $.actions, $.leaveConfirm);
    // The page's origin is not allowed for the queue: say so, nothing to fill in.
    $.unavailable = h('div', { class: 'view unavailable-view', testid: 'unavailable', role: 'status', props: { hidden: true } },
      h('p', { class: 'unavailable-text' }, t('box.not_available_here')));

    $.panel = h('section', { class: 'panel', testid: 'panel', role: 'dialog', 'aria-label': t('head.help'), props: { hidden: true } },
      header, $.notice, $.form, (this.offline = new OfflineDesk(this)).node, $.conv, $.unavailable,
      h('footer', { class: 'panel-foot' }, t('box.powered_by')));
    root.append($.launcher, $.panel);
  }

  // ----------------------------------------------------------- open/close

  open() {
    this.$.panel.hidden = false;
    this.$.launcher.hidden = true;
    this.$.launcher.setAttribute('aria-expanded', 'true');
    this.unread = 0;
    this._renderBadge();
    this.log.scrollToEnd();
    if (!this.conv) this._loadConfig();
    const focus = this.$.form.hidden ? this.$.chatInput : this.$.name;
    if (!focus.disabled) setTimeout(() => focus.focus(), 0);
  }

  close() {
    this.$.panel.hidden = true;
    this.$.launcher.hidden = false;
    this.$.launcher.setAttribute('aria-expanded', 'false');
  }

  toggle() {
    if (this.$.panel.hidden) this.open(); else this.close();
  }

  _renderBadge() {
    this.$.badge.hidden = this.unread === 0;
    setText(this.$.badge, this.unread > 9 ? '9+' : this.unread);
  }

  // --------------------------------------------------------------- config

  async _loadConfig() {
    const c = new Conversation(this.server, this.queue);
    try {
      this.config = await c.loadConfig();
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'origin_denied' || err.status === 403)) {
        this._notAvailableHere(err.message);
        return;
      }
      this.$.availability.dataset.online = 'unknown';
      setText(this.$.availability, t(err.status === 404 ? 'box.not_set_up' : 'box.not_reachable'));
      return;
    }
    this.limits = limitsFrom(this.config);
    this.files.setLimits(this.config.limits);
    setText(this.$.provider, nameOf(this.config.provider) || nameOf(this.config.queue) || t('head.help'));
    applyBranding(this.$, this.config, this.server, this.prechat);
    const online = Number(this.config.online_reps) || 0;
    this.$.availability.dataset.online = online > 0 ? 'yes' : 'no';
    setText(this.$.availability, availabilityText(online));
    this._renderHeader();
    this.offline.apply(this.config); // closed or nobody online: offline.js
    this._count(this.$.name, this.$.nameCount, this.limits.name);
    this._count(this.$.question, this.$.questionCount, this.limits.question);
  }

  /**
   * The server refused this page's origin for the queue: the visitor reads
   * that help is not available here (not a connection problem), the site
   * owner finds the reason in the browser console (once).
   */
  _notAvailableHere(reason) {
    if (!this.denied) console.warn(deniedReason(reason, window.location.origin, this.queue));
    this.denied = true;
    this.$.availability.dataset.online = 'denied';
    setText(this.$.availability, t('head.unavailable')); // the sentence is in the box itself
    if (this.conv) {
      this.conv.disconnect(); // kept: a reload resumes once the owner allows the site
      this._showEnd(t('end.unavailable'), t('box.not_available_here'), false);
      return;
    }
    this.$.form.hidden = true;
    this.$.conv.hidden = true;
    this.$.unavailable.hidden = false;
    this._renderHeader();
  }

  /** The header's second line: who is online before a chat, the rep's name during one. */
  _renderHeader() {
    const inChat = !this.$.conv.hidden;
    const chatting = inChat && this.$.status.dataset.state === 'chatting';
    const where = this._queueName || nameOf(this.config?.queue);
    setText(this.$.headRep, !chatting ? '' : where ? t('head.chatting_from', { name: this.repName, queue: where }) : t('status.chatting', { name: this.repName }));
    this.$.headRep.hidden = !chatting;
    this.$.availability.hidden = inChat && !this.denied;
  }

  _count(input, counter, limit) {
    const n = input.value.length;
    setText(counter, t('form.count', { n, limit }));
    counter.classList.toggle('over', n > limit);
    counter.dataset.over = String(n > limit);
  }

  // ----------------------------------------------------------------- form

  _showForm(message = '') {
    this.$.form.hidden = this.denied;
    this.$.unavailable.hidden = !this.denied;
    this.$.conv.hidden = true;
    this._renderHeader();
    this.$.submit.disabled = false;
    this.$.question.value = '';
    this._count(this.$.name, this.$.nameCount, this.limits.name);
    this._count(this.$.question, this.$.questionCount, this.limits.question);
    this._formError(message);
    if (this.config) this.offline.apply(this.config);
  }

  _formError(text) {
    setText(this.$.formError, text);
    this.$.formError.hidden = !text;
  }

  async _submit() {
    const name = this.$.name.value.trim();
    const email = this.$.email.value.trim();
    const question = this.$.question.value.trim();
    const problem = !name ? [t('form.need_name'), this.$.name]
      : !question ? [t('form.need_question'), this.$.question]
      : email && !/^[^@\s]+@[^@\s]+$/.test(email) ? [t('form.bad_email'), this.$.email]
      : this.prechat.problem();
    if (problem) {
      this._formError(problem[0]);
      problem[1].focus();
      return;
    }
    this._formError('');
    this.$.submit.disabled = true;
    setText(this.$.submit, t('form.sending'));
    const conv = new Conversation(this.server, this.queue);
    this._attach(conv);
    try {
      await conv.submit({ name, email, question, context: visitorContext(this.fields(), globalThis, this.lang), answers: this.prechat.answers() });
    } catch (err) {
      this._detach();
      this.$.submit.disabled = false;
      setText(this.$.submit, t('form.submit'));
      this._formError(prechatErrorText(err, () => this._loadConfig()) || submitErrorText(err, this.limits));
      this.offline.submitRefused(err);
      return;
    }
    setText(this.$.submit, t('form.submit'));
    this._enterConversation();
    this._setStatus('connecting', t('status.connecting'));
    this.$.queueBox.hidden = false;
    setText(this.$.position, t('queue.sent'));
    setText(this.$.wait, '');
    this._showAsked(question);
  }

  // --------------------------------------------------------- conversation

  _attach(conv) {
    this._detach();
    this.conv = conv;
    this.files.attach(conv);
    const on = (type, fn) => conv.addEventListener(type, (e) => { if (this.conv === conv) fn(e.detail); });
    on('welcome', (m) => {
      this._onWelcome(m);
      this.files.welcomed();
    });
    on('file', (m) => this.files.onMessage(m));
    on('queue', (m) => this._onQueue(m));
    on('joined', (m) => this._onJoined(m.rep));
    on('watchers', (m) => this._onChatWatchers(m.watchers));
    on('taken_over', (m) => this._onTakenOver(m.rep));
    on('chat', (m) => this._onChat(m));
    on('typing', (m) => this._onTyping(m));
    on('screen.offer', (m) => this._onScreenOffer(m));
    on('ended', (m) => this._onEnded(m));
    on('closed', (m) => this._onClosed(m));
    on('error', (m) => {
      if (!this.files.onError(m)) this._notice(errorText(m.code, m.message), 'error', m.code);
    });
    on('failed', (d) => this.log.markFailed(d.cid, t(d.code === 'too_large' ? 'chat.not_sent_long' : 'chat.not_sent'),
      (cid) => this.conv?.retry(cid, d.text)));
    on('lost', () => this._showEnd(t('end.not_found'), t('end.not_found_detail'), false));
    on('gone', () => this._showEnd(t('end.ended'), t('end.ended_detail'), true));
    on('denied', () => {
      if (!this.denied) console.warn(deniedReason('the server closed the conversation (1008): this origin is not allowed for the queue', window.location.origin, this.queue));
      this.denied = true;
      this._showEnd(t('end.unavailable'), t('box.not_available_here'), false);
    });
    on('connection', ({ state }) => { this.$.connection.hidden = state !== 'closed'; });
  }

  _detach() {
    if (this.conv) this.conv.disconnect();
    this.conv = null;
  }

  _enterConversation() {
    this.$.form.hidden = true;
    this.offline.hide();
    this.$.conv.hidden = false;
    this.$.endBanner.hidden = true;
    clear(this.$.rating);
    this.$.queueBox.hidden = true;
    this.$.save.hidden = false;
    this.$.composer.hidden = false;
    this.$.leave.hidden = true;
    this.$.typing.hidden = true;
    this.$.chatInput.disabled = false;
    this.$.send.disabled = false;
    this.cancelling = false;
  }

  _setStatus(state, text) {
    this.$.status.dataset.state = state;
    setText(this.$.status, text);
    this._renderHeader();
    this.files.enable(state === 'chatting'); // files need a support session: someone joined
  }

  _onWelcome(msg) {
    const status = msg.request?.status;
    if (msg.provider && !this.config) setText(this.$.provider, nameOf(msg.provider));
    if (msg.request?.question) this._showAsked(msg.request.question);
    if (msg.request?.name && !this.$.name.value) this.$.name.value = msg.request.name;
    this._queueName = nameOf(this.config?.queue) || nameOf(msg.request?.queue);
    if (status === 'accepted' && msg.rep) {
      this._onJoined(msg.rep);
    } else if (status === 'waiting') {
      this._setStatus('waiting', t('status.waiting'));
      this.$.queueBox.hidden = false;
      this._onQueue(msg.queue || {});
    } else if (status === 'expired' || status === 'abandoned') {
      this._onClosed({ status });
    } else if (status === 'closed') {
      this._showEnd(t('end.ended'), t('end.ended_detail'), true, 'ended', true);
    }
    this.$.connection.hidden = true;
  }

  _onQueue(msg) {
    if (!Number.isFinite(Number(msg.position)) || msg.position === null) {
      setText(this.$.position, t('queue.next'));
    } else {
      setText(this.$.position, t('queue.position', { position: msg.position }));
    }
    this.$.position.dataset.position = msg.position ?? '';
    setText(this.$.wait, waitText(msg.expected_wait_s));
    if (this.$.status.dataset.state === 'connecting') this._setStatus('waiting', t('status.waiting'));
  }

  /** Who watches the chat now ("Sue (supervisor) is watching"); hidden when nobody does. */
  _onChatWatchers(watchers) {
    const words = watchingWords(watchers || [], { chat: true });
    setText(this.$.chatWatchers, words);
    this.$.chatWatchers.hidden = !words;
  }

  /** A supervisor took the conversation over: they are the one chatting now. */
  _onTakenOver(rep) {
    // Announced once, by the server's system line in the chat; the header names them.
    this.repName = nameOf(rep) || t('who.a_supervisor');
    this.$.headRep.dataset.takenOver = 'true';
    this._setStatus('chatting', t('status.chatting', { name: this.repName }));
  }

  /**
   * A rep answered. The join is announced once: by the server's system line
   * in the chat ("Alex joined the conversation."), which also counts as
   * unread; the header names the rep from now on.
   */
  _onJoined(rep) {
    this.repName = nameOf(rep) || t('who.a_support_rep');
    this.$.queueBox.hidden = true;
    this.$.leave.hidden = false;
    this._setStatus('chatting', t('status.chatting', { name: this.repName }));
  }

  _onChat(msg) {
    if (this.log.add(msg) && msg.from !== 'visitor') {
      if (msg.from === 'rep') this._showTyping(false);
      this._notifyUnread();
    }
  }

  _notifyUnread() {
    if (this.$.panel.hidden) {
      this.unread += 1;
      this._renderBadge();
    }
  }

  _onTyping(msg) {
    if (msg.from === 'visitor') return;
    this._showTyping(!!msg.on);
  }

  _showTyping(on) {
    clearTimeout(this.remoteTypingTimer);
    setText(this.$.typing, t('chat.typing', { name: this.repName || t('chat.support') }));
    this.$.typing.hidden = !on;
    if (on) this.remoteTypingTimer = setTimeout(() => { this.$.typing.hidden = true; }, TYPING_STALE_MS);
  }

  /** The rep asked to see the screen: one card with the code and the command (a new offer replaces it). */
  _onScreenOffer(offer) {
    if (this.$.offer.firstChild?.dataset.code === offer.code) return; // the same offer from the socket and the reply
    const share = canShare() ? { sharing: !!this.share && ['picking', 'connecting', 'sharing'].includes(this.share.state), start: () => this._shareFromBrowser(offer) } : null;
    const card = offerCard(offer, this.repName, () => clear(this.$.offer), () => this._renewScreenCode(), share);
    card.dataset.code = offer.code || '';
    clear(this.$.offer).append(card);
    this._notifyUnread();
    // Bring the card's top into view (without scrollIntoView, which could scroll the host page).
    const scroll = this.$.scroll;
    scroll.scrollTop += card.getBoundingClientRect().top - scroll.getBoundingClientRect().top - 8;
  }

  /**
   * "Share from this browser": the browser's picker first (it needs this
   * click), then the share's own socket, at the relay node its ticket names,
   * with the offer's join code (a fresh one if that was spent or expired).
   * The chat stays as it is.
   */
  _shareFromBrowser(offer) {
    if (this.share && ['picking', 'connecting', 'sharing'].includes(this.share.state)) return;
    let first = true;
    const share = this.share = new ScreenShare({
      server: this.server,
      getCode: async () => {
        if (first && offer.code) {
          first = false;
          return offer.code;
        }
        const fresh = await this.conv?.renewScreenCode();
        if (!fresh?.code) throw new Error(t('offer.renew_failed'));
        return fresh.code;
      },
      // The relay node that holds the screen (asked again after a relay loss).
      getTicket: async () => {
        if (!this.conv) throw new Error(t('box.conversation_over'));
        return this.conv.screenRelay();
      },
    });
    share.addEventListener('state', (e) => { if (this.share === share) this._onShareState(e.detail); });
    share.addEventListener('recording', (e) => { if (this.share === share) this._onShareRecording(e.detail); });
    share.addEventListener('watchers', (e) => { if (this.share === share) this._onShareWatchers(e.detail); });
    share.start();
  }

  _onShareState({ state, reason }) {
    const who = this.repName || t('who.the_rep');
    this.$.sharing.hidden = !['connecting', 'sharing'].includes(state);
    this.$.launcherSharing.hidden = state !== 'sharing';
    this.$.sharing.dataset.state = state;
    setText(this.$.sharingText, state === 'sharing' ? t('share.sharing_with', { name: who }) : (reason || t('share.starting')));
    if (state === 'stopped' || state === 'failed') {
      this.$.sharingRecording.hidden = true;
      this._onShareWatchers({ watchers: [] });
    }
    if (state === 'sharing') {
      clear(this.$.offer); // answered; a new request from the rep brings a new card
    } else if (state === 'stopped' || state === 'failed') {
      // A card still shown (the rep asked for the agent meanwhile) may offer the browser again.
      const again = this.$.offer.querySelector('[data-testid=screen-share-browser]');
      if (again) {
        again.disabled = false;
        setText(again, t('offer.browser_share'));
      }
      this._notice(reason || t('share.stopped'), state === 'failed' ? 'error' : 'info', `share_${state}`);
    }
  }

  /** The server records the shared screen now, or no longer: the "Recording" badge says so while it lasts. */
  _onShareRecording({ on, error }) {
    this.$.sharingRecording.hidden = !on;
    if (error) this._notice(t('share.recording_failed', { error }), 'error', 'recording_failed');
  }

  /** Someone besides the rep starts or stops watching: the sharing bar names them, with their role, while they watch. */
  _onShareWatchers({ watchers }) {
    const words = watchingWords(watchers);
    setText(this.$.sharingWatchers, words);
    this.$.sharingWatchers.hidden = !words;
  }

  /** Ask for a fresh join code; the new offer replaces the card. Rejects with the text to show. */
  async _renewScreenCode() {
    const conv = this.conv;
    if (!conv) throw new Error(t('box.conversation_over'));
    let offer;
    try {
      offer = await conv.renewScreenCode();
    } catch (err) {
      throw new Error(renewFailureText(err));
    }
    if (offer && this.conv === conv) this._onScreenOffer(offer);
  }

  _onEnded(msg) {
    const who = msg.by === 'visitor' ? t('end.by_you')
      : msg.by === 'rep' ? t('end.by_rep', { name: this.repName || t('chat.support') })
      : t('end.closed');
    this._showEnd(t('end.ended'), t('end.thanks', { who }), true, 'ended', true);
  }

  _onClosed(msg) {
    if (msg.status === 'expired') {
      this._showEnd(t('end.expired'), t('end.expired_detail'), true, 'expired');
    } else if (this.cancelling) {
      this._showEnd(t('end.cancelled'), t('end.cancelled_detail'), true, 'cancelled');
    } else {
      this._showEnd(t('end.abandoned'), t('end.abandoned_detail'), true, 'abandoned');
    }
  }

  /** The end of a conversation; `rateable`: it was a conversation with a rep, so offer the rating. */
  _showEnd(title, detail, canSave, state = 'ended', rateable = false) {
    clear(this.$.offer);
    this.files.stop();
    this.share?.stop('');
    this.typing.stop();
    this._showTyping(false);
    this._setStatus(state, title);
    this.$.conv.hidden = false;
    this.$.form.hidden = true;
    this.$.queueBox.hidden = true;
    this.$.composer.hidden = true;
    this.$.leave.hidden = true;
    this._askLeave(false);
    this.$.connection.hidden = true;
    this.$.save.hidden = !canSave || !this.conv?.token;
    setText(this.$.endTitle, title);
    setText(this.$.endDetail, detail);
    clear(this.$.endActions).append(h('button', { type: 'button', class: 'btn btn-primary', testid: 'new-conversation', on: { click: () => this._startOver() } }, t('end.new_conversation')));
    const conv = this.conv;
    if (rateable && conv?.token) {
      if (!this.$.rating.firstChild) {
        showRating(this.$.rating, { send: (rating, comment) => conv.rate(rating, comment), maxComment: this.limits.ratingComment });
      }
    } else {
      clear(this.$.rating);
    }
    this.$.endBanner.hidden = false;
    this.$.endBanner.dataset.state = state;
    this.log.scrollToEnd();
  }

  _startOver() {
    this._detach();
    this.files.reset();
    clear(this.$.offer);
    this.log.clear();
    this._showAsked('');
    this.repName = '';
    this.$.save.hidden = false;
    this._showForm();
    this._loadConfig();
    this.$.question.focus();
  }

  _showAsked(question) {
    setText(this.$.askedText, question || '');
    this.$.asked.hidden = !question;
  }

  _renderPending() {
    for (const p of this.conv?.pending ?? []) this.log.addPending(p.cid, p.text, t('chat.you'));
  }

  // ----------------------------------------------------------------- chat

  _sendChat() {
    const text = this.$.chatInput.value.trim();
    if (!text || !this.conv?.live) return;
    if (text.length > this.limits.chat) {
      this._notice(t('chat.too_long', { n: text.length, limit: this.limits.chat }), 'error', 'too_large');
      return;
    }
    const cid = this.conv.send(text);
    if (!cid) return;
    this.log.addPending(cid, text, t('chat.you'));
    this.$.chatInput.value = '';
    this._onChatInput();
    this.typing.stop();
  }

  _onChatInput() {
    const n = this.$.chatInput.value.length;
    this.$.chatCount.hidden = n < this.limits.chat * 0.8;
    this._count(this.$.chatInput, this.$.chatCount, this.limits.chat);
    if (n) this.typing.keystroke();
  }

  _cancel() {
    if (!this.conv?.cancel()) return;
    this.cancelling = true;
    this.$.cancel.disabled = true;
    setTimeout(() => { this.$.cancel.disabled = false; }, 3000);
  }

  /** Show (true) or take back (false) the "End this chat?" question. */
  _askLeave(show) {
    const wasShown = !this.$.leaveConfirm.hidden;
    this.$.leaveConfirm.hidden = !show;
    this.$.actions.hidden = show;
    if (show) this.$.leaveCancel.focus();
    else if (wasShown && !this.$.leave.hidden) this.$.leave.focus();
  }

  _leave() {
    this._askLeave(false);
    if (!this.conv?.leave()) return;
    this.$.leave.disabled = true;
    setTimeout(() => { this.$.leave.disabled = false; }, 3000);
  }

  async _saveTranscript(format) {
    if (!this.conv?.token) return;
    const button = format === 'html' ? this.$.saveHtml : this.$.saveText;
    button.disabled = true;
    try {
      const { blob, filename } = await this.conv.transcript(format);
      const ext = format === 'html' ? 'html' : 'txt';
      downloadBlob(blob, filename || `transcript-${this.conv.requestId || 'desklink'}.${ext}`, this.shadowRoot);
    } catch (err) {
      this._notice(t('save.failed', { error: err.message || 'error' }), 'error');
    } finally {
      button.disabled = false;
    }
  }

  // --------------------------------------------------------------- notice

  _notice(text, kind = 'info', code = '') {
    clearTimeout(this.noticeTimer);
    setText(this.$.noticeText, text);
    this.$.notice.dataset.kind = kind;
    this.$.notice.dataset.code = code || '';
    this.$.notice.hidden = false;
    this.noticeTimer = setTimeout(() => this._hideNotice(), NOTICE_MS);
  }

  _hideNotice() {
    clearTimeout(this.noticeTimer);
    this.$.notice.hidden = true;
  }
}

if (!customElements.get('desklink-help')) customElements.define('desklink-help', DeskLinkHelp);

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => autoMount(MODULE_URL));
else autoMount(MODULE_URL);

// The rep's open chats: one tab and one panel per session.
//
// Messages are ordered and de-duplicated by seq (shared/chatlog.js). A line
// the rep sends stays pending (kept in sessionStorage, so it survives a
// reload) until its echo with the same cid arrives; after a reconnect every
// pending line is sent again with the same cid, which the server stores once.
// On (re)connect the server replays each held session's messages after the
// seq in our hello resume map (all of them for a session new to this page,
// and for a freshly accepted one, the lines written while it waited).
// Files (attach, drops, cards among the messages, sending to the visitor's
// computer) live in files.js; a chat only gives them its pane.

import { h, setText, newCid, formatClock } from '../shared/dom.js';
import { ChatLog } from '../shared/chatlog.js';
import { TypingSignal } from '../shared/typing.js';
import { ScreenViewer } from '../viewer/viewer.js';
import { RepFiles } from './files.js';
import { WatchBar, whisperItem, watchersText } from './supervise.js';
import { SlashPicker, NotesPanel } from './canned.js';
import { visitorPanel } from './visitor.js';
import { handoffButtons } from './handoff.js';

const TYPING_STALE_MS = 15000;
const PENDING_KEY = 'desklink.console.pending';
/** The sessions whose screen viewer is open in this tab, re-attached after a reload. */
const SCREENS_KEY = 'desklink.console.screens';
const DISPOSITIONS = [['resolved', 'Resolved'], ['not_resolved', 'Not resolved'], ['escalated', 'Escalated']];

function loadScreens() {
  try {
    const ids = JSON.parse(sessionStorage.getItem(SCREENS_KEY) || '[]');
    return new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : []);
  } catch {
    return new Set();
  }
}

function loadPending() {
  try {
    return JSON.parse(sessionStorage.getItem(PENDING_KEY) || '{}') || {};
  } catch {
    return {};
  }
}

class Chat {
  constructor(desk, session, { watching = false } = {}) {
    this.desk = desk;
    this.id = session.id;
    this.session = session;
    /** A session this console watches (a supervisor's), not holds. */
    this.watching = watching;
    this.whispers = new Set();
    this.ended = false;
    this.unread = 0;
    this.pending = new Map((desk.storedPending[session.id] || []).map((p) => [p.cid, p.text]));
    this.typing = new TypingSignal((on) => this.desk.send({ t: 'typing', session_id: this.id, on }));
    this.remoteTypingTimer = null;
    this._build();
    this.fileParts = desk.files.forChat(this, this.column);
    this.composer.prepend(this.fileParts.button);
    this.composer.append(this.fileParts.input);
    for (const [cid, text] of this.pending) this.log.addPending(cid, text, 'You');
    if (watching) this._watchMode(session);
  }

  _watchMode(session) {
    this.bar = new WatchBar(this, session);
    this.panel.insertBefore(this.bar.element, this.banner);
    this.panel.dataset.watching = 'true';
    this.tab.classList.add('tab-watching');
    this.composer.hidden = true;
    this.endButton.hidden = true;
    this.screenButton.hidden = true;
    for (const b of this.handoffButtons) b.hidden = true;
  }

  /** The supervisor joined the chat: the composer opens. */
  chatJoined() {
    if (!this.bar || this.ended) return;
    this.bar.joined();
    this.composer.hidden = false;
  }

  /** This console's rep took the watched session over: it is held now. */
  becomeHeld() {
    if (!this.watching) return;
    this.watching = false;
    this.bar?.element.remove();
    this.bar = null;
    delete this.panel.dataset.watching;
    this.tab.classList.remove('tab-watching');
    this.composer.hidden = false;
    this.endButton.hidden = false;
    this.screenButton.hidden = false;
    for (const b of this.handoffButtons) b.hidden = false;
    // The viewer opened as a watcher reconnects as the primary one (the rep's tools).
    const viewing = !!this.screen;
    this.closeScreen();
    if (viewing) this.openScreen();
  }

  /** A whisper about this session (from a watcher; never the visitor's). */
  onWhisper(msg) {
    const key = `${msg.from?.id}:${msg.cid}`;
    if (this.whispers.has(key)) return;
    this.whispers.add(key);
    const at = msg.ts ? Date.parse(msg.ts) : Date.now();
    this.log.addItem(whisperItem(msg), Number.isFinite(at) ? at : Date.now());
    if (this.desk.active !== this.id) this.setUnread(this.unread + 1);
  }

  /** Who watches this chat besides me. */
  onWatchers(watchers) {
    const text = watchersText(watchers, this.desk.me()?.id);
    setText(this.watchersEl, text);
    this.watchersEl.hidden = !text;
  }

  /** A file from the visitor is ready to download. */
  onFileArrived(state) {
    setText(this.previewEl, `File: ${state.name}`);
    if (this.desk.active !== this.id) this.setUnread(this.unread + 1);
  }

  get visitorName() {
    return this.session.visitor?.name || this.session.name || 'Visitor';
  }

  _build() {
    const s = this.session;
    const queue = s.queue?.name || s.queue?.slug || (typeof s.queue === 'string' ? s.queue : '');
    this.unreadEl = h('span', { class: 'unread', testid: 'unread', props: { hidden: true } });
    this.previewEl = h('span', { class: 'tab-preview', testid: 'tab-preview' }, s.question || '');
    this.tabButton = h('button', { type: 'button', class: 'tab-button', on: { click: () => this.desk.select(this.id) } },
      h('span', { class: 'tab-top' }, h('strong', { class: 'tab-name' }, this.visitorName), this.unreadEl),
      this.previewEl);
    this.tab = h('li', { class: 'session-tab', testid: 'session-tab', data: { sessionId: this.id } }, this.tabButton);

    this.list = h('ol', { class: 'messages', testid: 'messages', 'aria-live': 'polite' });
    this.log = new ChatLog(this.list, { self: 'rep', mine: (msg) => !msg.name || msg.name === this.desk.me()?.display_name });
    this.watchersEl = h('p', { class: 'chat-watchers', testid: 'chat-watchers', props: { hidden: true } });
    this.typingEl = h('p', { class: 'typing', testid: 'typing', props: { hidden: true } }, `${this.visitorName} is typing…`);
    this.banner = h('p', { class: 'chat-banner', testid: 'chat-status', props: { hidden: true } });
    this.input = h('textarea', { class: 'chat-input', testid: 'chat-input', rows: 2, placeholder: `Message ${this.visitorName}… (Enter to send, Shift+Enter for a new line)`, 'aria-label': 'Message' });
    this.sendButton = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'send' }, 'Send');
    this.composer = h('form', { class: 'composer', testid: 'composer', on: { submit: (e) => { e.preventDefault(); this.sendInput(); } } },
      this.input, this.sendButton);
    this.input.addEventListener('keydown', (e) => {
      if (this.picker?.handleKey(e)) return;
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendInput();
      }
    });
    this.input.addEventListener('input', () => this._onInput());

    this.disposition = h('select', { testid: 'end-disposition', 'aria-label': 'Disposition' },
      DISPOSITIONS.map(([value, label]) => h('option', { value }, label)));
    this.note = h('textarea', { testid: 'end-note', rows: 2, placeholder: 'Note for the record (optional)', 'aria-label': 'Note' });
    this.endForm = h('form', { class: 'end-form', testid: 'end-form', props: { hidden: true }, on: { submit: (e) => { e.preventDefault(); this._confirmEnd(); } } },
      h('label', {}, 'Outcome ', this.disposition), this.note,
      h('div', { class: 'end-buttons' },
        h('button', { type: 'button', class: 'btn', testid: 'end-cancel', on: { click: () => { this.endForm.hidden = true; } } }, 'Keep chatting'),
        h('button', { type: 'submit', class: 'btn btn-danger', testid: 'end-confirm' }, 'End session')));
    this.endButton = h('button', { type: 'button', class: 'btn btn-danger btn-small', testid: 'end', on: { click: () => this._openEnd() } }, 'End session');
    this.closeButton = h('button', { type: 'button', class: 'btn btn-small', testid: 'chat-close', props: { hidden: true }, on: { click: () => this.desk.remove(this.id) } }, 'Close');
    this.screenButton = h('button', { type: 'button', class: 'btn btn-small screen-request', testid: 'screen-request',
      title: `Ask ${this.visitorName} to share their screen (they get a code and must click Allow)`,
      on: { click: () => this.openScreen({ request: true }) } }, 'Request screen sharing');
    this.screenSlot = h('div', { class: 'chat-screen', props: { hidden: true } });
    this.handoffButtons = this.desk.handoff ? handoffButtons(this, this.desk.handoff) : [];

    this.panel = h('section', { class: 'chat', testid: 'chat', data: { sessionId: this.id }, props: { hidden: true } },
      h('header', { class: 'chat-head' },
        h('div', { class: 'chat-who' },
          h('div', { class: 'chat-title' },
            h('h3', { class: 'chat-visitor', testid: 'chat-visitor' }, this.visitorName),
            s.visitor?.email ? h('span', { class: 'chat-email', testid: 'chat-email' }, s.visitor.email) : null,
            s.visitor?.client ? h('span', { class: 'chat-client', testid: 'chat-client', title: 'The visitor’s system and browser' }, s.visitor.client) : null,
            queue ? h('span', { class: 'pill' }, queue) : null,
            s.started_at ? h('span', { class: 'chat-started' }, `since ${formatClock(s.started_at)}`) : null),
          h('p', { class: 'chat-question', testid: 'chat-question' }, s.question || '')),
        h('div', { class: 'chat-tools' }, this.screenButton, ...this.handoffButtons, this.endButton, this.closeButton)),
      this.endForm, this.banner, this.watchersEl,
      h('div', { class: 'chat-body' }, this.screenSlot,
        this.column = h('div', { class: 'chat-column' }, this.list, this.typingEl, this.composer),
        visitorPanel(s.visitor)));
    const me = this.desk.me();
    if (this.desk.canned) {
      this.picker = new SlashPicker(this.input, {
        book: this.desk.canned, queueId: s.queue?.id ?? null, visitorName: this.visitorName,
        repName: me?.display_name || me?.username || '',
      });
      this.composer.classList.add('has-picker');
      this.composer.prepend(this.picker.element);
    }
    if (this.desk.csrf) {
      this.notes = new NotesPanel(this.id, { csrf: this.desk.csrf, toast: (t, k) => this.desk.toast(t, k) });
      this.panel.querySelector('.chat-body').append(this.notes.element);
    }
  }

  /** Show the screen viewer in this panel; with `request`, ask the visitor to share;
   * with `resume` (after a reload), only if the relay says a share is still live. */
  openScreen({ request = false, resume = false } = {}) {
    if (this.ended) return;
    if (!this.screen) {
      this.screen = new ScreenViewer({
        sessionId: this.id,
        visitorName: this.visitorName,
        watcher: this.watching, // a supervisor only looks (no Record button; the tools are hidden by console.css)
        requestShare: () => this.desk.send({ t: 'screen.request', session_id: this.id }),
        toast: (text, kind) => this.desk.toast(text, kind),
        files: {
          send: (files) => this.desk.files.send(this.id, files, 'computer'),
          ask: (note) => this.desk.files.ask(this.id, note),
        },
        onShow: (visible) => {
          this.screenSlot.hidden = !visible;
          this.panel.classList.toggle('has-screen', visible);
          if (!this.watching) this.desk.rememberScreen(this.id, visible);
        },
      });
      this.screenSlot.append(this.screen.element);
    }
    this.screen.open({ request, resume });
  }

  /** A screen.offer for this session (the code the rep reads out). */
  onScreenOffer(offer) {
    if (this.ended) return;
    this.openScreen();
    this.screen.showOffer(offer);
  }

  closeScreen() {
    if (this.screen) this.desk.rememberScreen(this.id, false);
    this.screen?.destroy();
    this.screen = null;
    this.screenSlot.hidden = true;
    this.panel.classList.remove('has-screen');
  }

  add(msg) {
    if (msg.cid && msg.from === 'rep') this._settle(msg.cid);
    if (!this.log.add(msg)) return false;
    const mine = msg.from === 'rep' && (!msg.name || msg.name === this.desk.me()?.display_name);
    if (msg.text) setText(this.previewEl, `${mine ? 'You: ' : msg.from === 'rep' && msg.name ? `${msg.name}: ` : ''}${msg.text}`);
    if (msg.from === 'visitor') this.showTyping(false);
    return true;
  }

  sendInput() {
    const text = this.input.value.trim();
    if (!text || this.ended) return;
    if (text.length > this.desk.limits.chat) {
      this.desk.toast(`That message is too long (${text.length} of at most ${this.desk.limits.chat} characters).`, 'error');
      return;
    }
    const cid = newCid();
    this.pending.set(cid, text);
    this.desk.savePending();
    this.log.addPending(cid, text, 'You');
    this.input.value = '';
    this.typing.stop();
    this.trySend(cid);
  }

  trySend(cid) {
    const text = this.pending.get(cid);
    if (text === undefined) return;
    if (this.desk.send({ t: 'chat.send', session_id: this.id, cid, text })) this.desk.sentHere.push([this.id, cid]);
  }

  resend() {
    for (const cid of this.pending.keys()) this.trySend(cid);
  }

  fail(cid, code) {
    const text = this.pending.get(cid);
    this._settle(cid);
    this.log.markFailed(cid, code === 'too_large' ? 'Not sent: too long.' : 'Not sent.', () => {
      this.pending.set(cid, text);
      this.desk.savePending();
      this.trySend(cid);
    });
  }

  _settle(cid) {
    if (this.pending.delete(cid)) this.desk.savePending();
  }

  _onInput() {
    if (this.input.value) this.typing.keystroke();
  }

  showTyping(on) {
    clearTimeout(this.remoteTypingTimer);
    this.typingEl.hidden = !on || this.ended;
    if (on) this.remoteTypingTimer = setTimeout(() => { this.typingEl.hidden = true; }, TYPING_STALE_MS);
  }

  _openEnd() {
    this.endForm.hidden = !this.endForm.hidden;
    if (!this.endForm.hidden) this.disposition.focus();
  }

  _confirmEnd() {
    const note = this.note.value.trim();
    if (note.length > this.desk.limits.note) {
      this.desk.toast(`The note is too long (${note.length} of at most ${this.desk.limits.note} characters).`, 'error');
      return;
    }
    if (!this.desk.send({ t: 'end', session_id: this.id, disposition: this.disposition.value, note })) {
      this.desk.toast('Not connected. Try again in a moment.', 'error');
    }
  }

  /** The conversation is over. With `wrapUp` the visitor left first and the
   * rep can still record the outcome (the server takes it once). */
  markEnded(text, wrapUp = false) {
    this.ended = true;
    this.typing.stop();
    this.showTyping(false);
    this.endForm.hidden = true;
    this.composer.hidden = true;
    this.endButton.hidden = !wrapUp;
    this.screenButton.hidden = true;
    for (const b of this.handoffButtons) b.hidden = true;
    this.closeScreen();
    if (wrapUp) setText(this.endButton, 'Record outcome');
    this.closeButton.hidden = false;
    this.watchersEl.hidden = true; // no longer told who watches
    setText(this.banner, text);
    this.banner.hidden = false;
    this.tab.classList.add('tab-ended');
    this.panel.dataset.ended = 'true';
  }

  /** How our transfer or invitation of this session stands (handoff.js). */
  showHandoff(text, outcome) {
    if (this.ended) return;
    setText(this.banner, text);
    this.banner.hidden = false;
    this.banner.dataset.handoff = outcome;
  }

  setUnread(n) {
    this.unread = n;
    setText(this.unreadEl, n > 9 ? '9+' : n);
    this.unreadEl.hidden = n === 0;
    this.tab.classList.toggle('tab-unread', n > 0);
  }
}

export class ChatDesk {
  /**
   * @param {object} els  tabs (<ul>), panels (container), empty, tabsEmpty
   * @param {object} hooks  send(msg) -> bool, sendBinary(data) -> bool, toast(text, kind), limits,
   *   canned (CannedBook), csrf() -> token
   */
  constructor(els, hooks) {
    this.els = els;
    this.send = hooks.send;
    this.files = new RepFiles({ sendJson: hooks.send, sendBinary: hooks.sendBinary, toast: hooks.toast });
    this.toast = hooks.toast;
    this.me = hooks.me || (() => null);
    this.limits = hooks.limits || { chat: 4000, note: 4000 };
    /** Canned replies (canned.js CannedBook) and the CSRF token getter for notes. */
    this.canned = hooks.canned || null;
    this.csrf = hooks.csrf || null;
    this.chats = new Map();
    this.active = null;
    this.sentHere = [];
    this.storedPending = loadPending();
    /** Session ids with an open screen viewer (sessionStorage); re-attached by the first sync. */
    this.screens = loadScreens();
    this.screensResumed = false;
    this._render();
  }

  /** {session_id: last seq seen} for the hello resume map. */
  resumeMap() {
    const out = {};
    for (const chat of this.chats.values()) if (!chat.ended) out[chat.id] = chat.log.lastSeq;
    return out;
  }

  /** After a welcome: open what the server says is ours, send what is pending. */
  sync(sessions) {
    this.sentHere = [];
    const ids = new Set();
    for (const s of sessions || []) {
      ids.add(s.id);
      this.open(s, { focus: false });
    }
    for (const chat of this.chats.values()) {
      if (!ids.has(chat.id) && !chat.ended && !chat.watching) chat.markEnded('This session is no longer open.');
    }
    if (!this.active && this.chats.size) this.select(this.chats.keys().next().value);
    for (const chat of this.chats.values()) {
      if (chat.watching && !chat.ended) this.send({ t: 'watch', session_id: chat.id });
      else if (!chat.ended) chat.resend();
    }
    this.files.welcomed();
    this._resumeScreens();
  }

  /** Once per page: the viewers open before a reload connect again, and
   * show themselves if the share is still live (viewer.js, resume). */
  _resumeScreens() {
    if (this.screensResumed) return;
    this.screensResumed = true;
    for (const id of [...this.screens]) {
      const chat = this.chats.get(id);
      if (chat && !chat.ended && !chat.watching) {
        if (!chat.screen) chat.openScreen({ resume: true });
      } else {
        this.rememberScreen(id, false);
      }
    }
  }

  /** Note in sessionStorage whether this session's viewer is open. */
  rememberScreen(id, open) {
    if (open === this.screens.has(id)) return;
    if (open) this.screens.add(id);
    else this.screens.delete(id);
    try { sessionStorage.setItem(SCREENS_KEY, JSON.stringify([...this.screens])); } catch { /* storage disabled */ }
  }

  /** file.state, file.ack, file.nak, file.asked. */
  onFile(msg) {
    this.files.onMessage(msg);
  }

  open(session, { focus = true, watching = false } = {}) {
    let chat = this.chats.get(session.id);
    if (chat && !watching) chat.becomeHeld();
    if (!chat) {
      chat = new Chat(this, session, { watching });
      this.chats.set(session.id, chat);
      this.els.tabs.append(chat.tab);
      this.els.panels.append(chat.panel);
    }
    if (focus || !this.active) this.select(session.id);
    this._render();
    return chat;
  }

  select(id) {
    const chat = this.chats.get(id);
    if (!chat) return;
    this.active = id;
    for (const c of this.chats.values()) {
      const on = c === chat;
      c.panel.hidden = !on;
      c.tab.classList.toggle('tab-active', on);
      c.tabButton.setAttribute('aria-current', on ? 'true' : 'false');
    }
    chat.setUnread(0);
    chat.log.scrollToEnd();
    chat.notes?.load(); // read on every selection: notes others added meanwhile show up
    if (!chat.ended) setTimeout(() => chat.input.focus(), 0);
    this._render();
  }

  remove(id) {
    const chat = this.chats.get(id);
    if (!chat) return;
    chat.closeScreen();
    this.files.forget(id);
    chat.tab.remove();
    chat.panel.remove();
    this.chats.delete(id);
    if (this.active === id) {
      this.active = null;
      const next = this.chats.keys().next();
      if (!next.done) this.select(next.value);
    }
    this.savePending();
    this._render();
  }

  onChat(msg) {
    const chat = this.chats.get(msg.session_id);
    if (!chat) return;
    if (chat.add(msg) && msg.from !== 'rep' && this.active !== chat.id) chat.setUnread(chat.unread + 1);
  }

  onWhisper(msg) {
    this.chats.get(msg.session_id)?.onWhisper(msg);
  }

  onWatchers(msg) {
    this.chats.get(msg.session_id)?.onWatchers(msg.watchers);
  }

  onChatJoined(msg) {
    this.chats.get(msg.session_id)?.chatJoined();
  }

  /** Someone took a session over: ours (we lose it) or one we watch. */
  onTakenOver(msg) {
    const chat = this.chats.get(msg.session_id);
    if (!chat || msg.by?.id === this.me()?.id) return;
    if (chat.watching) {
      this.toast(`${msg.by?.name || 'A supervisor'} took over the session with ${chat.visitorName}.`, 'info');
      return;
    }
    const who = msg.by?.name || (msg.how === 'transfer' ? 'A colleague' : 'A supervisor');
    chat.markEnded(msg.how === 'transfer'
      ? `You transferred this session to ${who}. You no longer hold it.`
      : `${who} took this session over. You no longer hold it.`);
    chat.panel.dataset.takenOver = 'true';
    if (msg.how !== 'transfer') this.toast(`${who} took over your session with ${chat.visitorName}.`, 'info');
  }

  onUnwatched(msg) {
    const chat = this.chats.get(msg.session_id);
    if (chat?.watching) this.remove(chat.id);
  }

  onScreenOffer(msg) {
    this.chats.get(msg.session_id)?.onScreenOffer(msg);
  }

  onTyping(msg) {
    const chat = this.chats.get(msg.session_id);
    if (chat && msg.from !== 'rep') chat.showTyping(!!msg.on);
  }

  onEnded(msg) {
    const chat = this.chats.get(msg.session_id);
    if (!chat) return;
    if (msg.by === 'rep' || (msg.by === 'visitor' && msg.disposition)) {
      const how = msg.disposition ? ` (${msg.disposition.replace('_', ' ')})` : '';
      this.toast(`Chat with ${chat.visitorName} ended${how}.`, 'success');
      this.remove(chat.id);
    } else {
      if (msg.by === 'visitor') chat.markEnded('Visitor left. Record the outcome to finish.', true);
      else chat.markEnded('The session was closed by the system.');
    }
  }

  /** Send every unechoed line again (after rate_limited; the server keeps a cid once). */
  resendAll() {
    for (const chat of this.chats.values()) if (!chat.ended) chat.resend();
  }

  /** An `error` for a chat.send: mark the oldest unechoed line sent here. */
  onSendError(code) {
    while (this.sentHere.length) {
      const [sid, cid] = this.sentHere.shift();
      const chat = this.chats.get(sid);
      if (chat && chat.pending.has(cid)) {
        chat.fail(cid, code);
        return;
      }
    }
  }

  savePending() {
    const out = {};
    for (const chat of this.chats.values()) {
      if (chat.pending.size) out[chat.id] = [...chat.pending].map(([cid, text]) => ({ cid, text }));
    }
    try { sessionStorage.setItem(PENDING_KEY, JSON.stringify(out)); } catch { /* storage disabled */ }
  }

  clear() {
    for (const id of [...this.chats.keys()]) this.remove(id);
    try { sessionStorage.removeItem(PENDING_KEY); } catch { /* ignore */ }
    this.storedPending = {};
  }

  _render() {
    const n = this.chats.size;
    this.els.tabsEmpty.hidden = n > 0;
    this.els.empty.hidden = n > 0;
  }
}

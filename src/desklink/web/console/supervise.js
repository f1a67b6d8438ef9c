// Supervisors in the console: the bar of a watched session (a "watching"
// banner, a whisper box, Join chat, Take over, View screen, Stop watching)
// and, on every chat panel, whispers and who watches.
//
// Opened as /console/?watch=<session_id> (the live board links there), the
// console sends `watch` once welcomed and again after every reconnect
// (docs/protocol.md, "Supervisors"). Whispers take their place among the
// messages by time, marked as whispers; the visitor never gets them.

import { h, setText, newCid, formatClock } from '../shared/dom.js';
import { watchingWords } from '../widget/format.js';

/** The session id asked for in the address (?watch=<id>), or ''. */
export function watchedFromAddress() {
  try {
    return new URLSearchParams(location.search).get('watch') || '';
  } catch {
    return '';
  }
}

/** A whisper as an item among the messages: clearly not a chat line. */
export function whisperItem(msg) {
  const who = msg.from?.name || 'A supervisor';
  return h('li', { class: ['msg', 'msg-whisper'], testid: 'whisper', data: { cid: msg.cid || undefined } },
    h('div', { class: 'msg-meta' },
      h('span', { class: 'msg-name', testid: 'whisper-from' }, `Whisper from ${who}`),
      msg.ts ? h('time', { class: 'msg-time', datetime: msg.ts }, formatClock(msg.ts)) : null,
      h('span', { class: 'whisper-note' }, 'the visitor does not see this')),
    h('div', { class: 'msg-text', testid: 'whisper-text' }, msg.text ?? ''));
}

/** "Sue (supervisor) is watching" for everyone watching but `meId`. */
export function watchersText(watchers, meId) {
  return watchingWords((watchers || []).filter((w) => w.id !== meId));
}

/** The bar of a watched session. `chat` is the console's Chat for it. */
export class WatchBar {
  constructor(chat, session) {
    this.chat = chat;
    const rep = session.rep?.name || 'the rep';
    this.text = h('span', { class: 'watch-text', testid: 'watch-banner-text' },
      `Watching ${chat.visitorName}'s session with ${rep}. ${chat.visitorName} is told you are watching.`);
    this.whisperInput = h('input', { type: 'text', class: 'whisper-input', testid: 'whisper-input', maxlength: 4000,
      placeholder: `Whisper to ${rep} (the visitor never sees it)`, 'aria-label': 'Whisper to the rep' });
    this.whisperForm = h('form', { class: 'whisper-form', testid: 'whisper-form', on: { submit: (e) => { e.preventDefault(); this.whisper(); } } },
      this.whisperInput, h('button', { type: 'submit', class: 'btn btn-small', testid: 'whisper-send' }, 'Whisper'));
    this.joinButton = h('button', { type: 'button', class: 'btn btn-small', testid: 'join-chat',
      on: { click: () => chat.desk.send({ t: 'join_chat', session_id: chat.id }) } }, 'Join chat');
    this.takeButton = h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: 'take-over',
      on: { click: () => chat.desk.send({ t: 'take_over', session_id: chat.id }) } }, 'Take over');
    this.screenButton = h('button', { type: 'button', class: 'btn btn-small', testid: 'view-screen',
      title: 'Watch the visitor’s screen (view only), if they share it',
      on: { click: () => chat.openScreen() } }, 'View screen');
    this.stopButton = h('button', { type: 'button', class: 'btn btn-small', testid: 'stop-watching',
      on: { click: () => { chat.desk.send({ t: 'unwatch', session_id: chat.id }); chat.desk.remove(chat.id); } } }, 'Stop watching');
    this.element = h('div', { class: 'watch-bar', testid: 'watch-bar' },
      h('p', { class: 'watch-banner', testid: 'watch-banner' }, this.text),
      h('div', { class: 'watch-tools' }, this.whisperForm, this.joinButton, this.takeButton, this.screenButton, this.stopButton));
  }

  whisper() {
    const text = this.whisperInput.value.trim();
    if (!text) return;
    if (text.length > this.chat.desk.limits.chat) {
      this.chat.desk.toast(`That whisper is too long (${text.length} of at most ${this.chat.desk.limits.chat} characters).`, 'error');
      return;
    }
    if (this.chat.desk.send({ t: 'whisper', session_id: this.chat.id, cid: newCid(), text })) this.whisperInput.value = '';
    else this.chat.desk.toast('Not connected. Try again in a moment.', 'error');
  }

  /** The supervisor joined the chat: their lines now reach the visitor. */
  joined() {
    this.joinButton.hidden = true;
    setText(this.text, `You joined the chat: ${this.chat.visitorName} reads what you send.`);
  }
}

// Transfer and invite in the console (docs/protocol.md, "Transfer and invite").
//
// On a held session: "Transfer" and "Invite" buttons open a small dialog that
// lists the reps online now (and, for a transfer, the queues) with a note the
// visitor never sees. A colleague's offer arrives as a card among the alerts
// ("Transfer from Ann: <note>", "Ann invites you into a chat with Vera"),
// with the chat so far; Accept opens the session (held, or joined as a guest),
// Decline says no. How our own offer ended comes back as `handoff.result`.
// Everything a person typed (notes, chat lines, names) is set as text.

import { h, setText, clear, formatClock } from '../shared/dom.js';

const WITHDRAWN_NOTE_MS = 5000;

/** The Transfer and Invite buttons of a held chat's header. */
export function handoffButtons(chat, handoff) {
  const transfer = h('button', { type: 'button', class: 'btn btn-small', testid: 'transfer',
    title: 'Hand this session to a colleague or a queue', on: { click: () => handoff.openDialog(chat, 'transfer') } }, 'Transfer');
  const invite = h('button', { type: 'button', class: 'btn btn-small', testid: 'invite',
    title: 'Ask a colleague into this chat', on: { click: () => handoff.openDialog(chat, 'invite') } }, 'Invite');
  return [transfer, invite];
}

export class Handoff {
  /**
   * @param {object} hooks  send(msg) -> bool, toast(text, kind), me() -> user,
   *   container (where the cards go), section (shown while there are cards), desk (ChatDesk)
   */
  constructor({ send, toast, me, container, section, desk }) {
    this.section = section;
    this.send = send;
    this.toast = toast;
    this.me = me;
    this.container = container;
    this.desk = desk;
    this.cards = new Map();
    this.dialog = null;
    /** Sessions whose transfer we accepted and whose `accepted` has not come yet. */
    this.accepting = new Set();
  }

  /** Is this `accepted` a transfer we took (then the live share is opened too)? Asked once. */
  taking(sessionId) {
    return this.accepting.delete(sessionId);
  }

  onMessage(msg) {
    switch (msg.t) {
      case 'handoff.targets': this._fillDialog(msg); break;
      case 'handoff.alert': this._addCard(msg); break;
      case 'handoff.withdrawn': this._withdraw(msg); break;
      case 'handoff.result': this._result(msg); break;
      default: break;
    }
  }

  // ---------------------------------------------------------- the dialog

  openDialog(chat, kind) {
    this.dialog?.close();
    const transfer = kind === 'transfer';
    const list = h('ul', { class: 'handoff-targets', testid: 'handoff-targets' },
      h('li', { class: 'empty' }, 'Looking for colleagues online…'));
    const note = h('textarea', { testid: 'handoff-note', rows: 3, maxlength: this.desk.limits.note,
      placeholder: transfer ? 'Note for your colleague (the visitor never sees it)' : 'Why you ask them in (the visitor never sees it)',
      'aria-label': 'Note for your colleague' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'handoff-send', props: { disabled: true } },
      transfer ? 'Transfer' : 'Invite');
    const cancel = h('button', { type: 'button', class: 'btn', testid: 'handoff-cancel' }, 'Cancel');
    const form = h('form', { class: 'handoff-form', on: { submit: (e) => { e.preventDefault(); this._submit(); } } },
      list, note, h('div', { class: 'reply-buttons' }, cancel, submit));
    const title = transfer ? `Transfer the session with ${chat.visitorName}` : `Invite a colleague into the chat with ${chat.visitorName}`;
    const dialog = h('dialog', { class: 'replies-dialog handoff-dialog', testid: 'handoff-dialog', data: { kind } },
      h('header', { class: 'replies-head' }, h('h2', {}, title)),
      h('p', { class: 'hint' }, transfer
        ? `It stays yours until someone accepts. ${chat.visitorName} is told who took over; the screen share, if any, moves with it.`
        : `They join as a second rep: ${chat.visitorName} reads their lines. You keep the session and the control of the screen.`),
      form);
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); if (this.dialog?.element === dialog) this.dialog = null; });
    this.dialog = { element: dialog, chat, kind, list, note, submit, close: () => dialog.close() };
    document.body.append(dialog);
    dialog.showModal();
    if (!this.send({ t: 'handoff.list' })) {
      clear(list);
      list.append(h('li', { class: 'empty' }, 'Not connected. Try again in a moment.'));
    }
  }

  _fillDialog(msg) {
    const d = this.dialog;
    if (!d) return;
    clear(d.list);
    const options = (msg.reps || []).map((r) => ({ value: `rep:${r.id}`, label: r.name, detail: r.role === 'rep' ? 'online' : `${r.role}, online`, testid: 'handoff-rep' }));
    if (d.kind === 'transfer') {
      for (const q of msg.queues || []) {
        if (q.online > 0) options.push({ value: `queue:${q.id}`, label: `Queue: ${q.name}`, detail: `${q.online} online`, testid: 'handoff-queue' });
      }
    }
    if (!options.length) {
      d.list.append(h('li', { class: 'empty', testid: 'handoff-nobody' }, 'Nobody else is online right now.'));
      return;
    }
    for (const o of options) {
      const radio = h('input', { type: 'radio', name: 'handoff-target', value: o.value,
        on: { change: () => { d.submit.disabled = false; } } });
      d.list.append(h('li', { class: 'handoff-target', testid: o.testid, data: { value: o.value } },
        h('label', {}, radio, h('span', { class: 'handoff-name' }, o.label), h('span', { class: 'handoff-detail' }, o.detail))));
    }
  }

  _submit() {
    const d = this.dialog;
    if (!d) return;
    const picked = d.element.querySelector('input[name="handoff-target"]:checked');
    if (!picked) return;
    const [what, id] = picked.value.split(':');
    const msg = { t: d.kind, session_id: d.chat.id, note: d.note.value.trim() };
    if (what === 'queue') msg.to_queue_id = Number(id);
    else msg.to_rep_id = Number(id);
    if (this.send(msg)) d.close();
    else this.toast('Not connected. Try again in a moment.', 'error');
  }

  // ---------------------------------------------------------- offers to us

  _addCard(msg) {
    if (!msg.id || this.cards.has(msg.id) || String(msg.from?.id) === String(this.me()?.id)) return;
    const visitor = msg.session?.visitor?.name || 'a visitor';
    const from = msg.from?.name || 'A colleague';
    const invite = msg.kind === 'invite';
    const headline = invite ? `${from} invites you into a chat with ${visitor}` : `Transfer from ${from}${msg.note ? `: ${msg.note}` : ''}`;
    const history = h('ol', { class: 'handoff-history', testid: 'handoff-history' },
      (msg.history || []).map((m) => h('li', { class: `handoff-line from-${m.from}` },
        h('span', { class: 'handoff-when' }, m.ts ? formatClock(m.ts) : ''),
        h('strong', {}, m.from === 'visitor' ? visitor : m.from === 'system' ? '' : (m.name || 'Rep')),
        h('span', {}, ` ${m.text ?? ''}`))));
    const accept = h('button', { type: 'button', class: 'btn btn-primary', testid: 'handoff-accept' }, 'Accept');
    const decline = h('button', { type: 'button', class: 'btn', testid: 'handoff-decline' }, 'Decline');
    const queue = msg.to_queue_id != null ? h('span', { class: 'pill' }, msg.to_name || 'Queue') : null;
    const card = h('article', { class: 'alert-card handoff-card', testid: 'handoff-alert', data: { kind: msg.kind, offerId: msg.id } },
      h('div', { class: 'alert-top' }, h('span', { class: 'pill pill-handoff' }, invite ? 'Invitation' : 'Transfer'), queue),
      h('p', { class: 'handoff-headline', testid: 'handoff-headline' }, headline),
      invite && msg.note ? h('p', { class: 'handoff-note', testid: 'handoff-note-text' }, msg.note) : null,
      h('div', { class: 'alert-who' }, h('strong', { class: 'alert-name' }, visitor),
        h('span', { class: 'alert-question' }, msg.session?.question || '')),
      h('details', { class: 'handoff-details', props: { open: true } }, h('summary', {}, 'Chat so far'), history),
      h('div', { class: 'alert-actions' }, decline, accept));
    accept.addEventListener('click', () => {
      accept.disabled = decline.disabled = true;
      setText(accept, 'Accepting…');
      if (msg.kind === 'transfer') this.accepting.add(msg.session?.id);
      if (!this.send({ t: 'handoff.accept', session_id: msg.session?.id, id: msg.id })) {
        accept.disabled = decline.disabled = false;
        setText(accept, 'Accept');
      }
    });
    decline.addEventListener('click', () => {
      accept.disabled = decline.disabled = true;
      if (!this.send({ t: 'handoff.decline', session_id: msg.session?.id, id: msg.id })) accept.disabled = decline.disabled = false;
    });
    this.cards.set(msg.id, { card, accept, decline, msg });
    this.container.prepend(card);
    this._render();
  }

  _render() {
    if (this.section) this.section.hidden = this.cards.size === 0 && !this.container.children.length;
  }

  _withdraw(msg) {
    const entry = this.cards.get(msg.id);
    if (!entry) return;
    entry.card.remove();
    this.cards.delete(msg.id);
    this._render();
    const me = this.me();
    const by = msg.taken_by;
    if (msg.reason === 'taken' && by && String(by.id) !== String(me?.id)) {
      const note = h('div', { class: 'alert-taken', testid: 'handoff-taken-by' }, `Transfer taken by ${by.name || 'a colleague'}`);
      this.container.prepend(note);
      this._render();
      setTimeout(() => { note.remove(); this._render(); }, WITHDRAWN_NOTE_MS);
    } else if (msg.reason === 'expired') {
      this.toast(`The ${entry.msg.kind === 'invite' ? 'invitation' : 'transfer'} from ${entry.msg.from?.name || 'a colleague'} lapsed.`, 'info');
    }
  }

  /** An `error` about one of our accepts: let the rep try again or see it is gone. */
  onError(msg) {
    if (msg.ref !== 'handoff.accept' && msg.ref !== 'handoff.decline') return false;
    for (const [id, entry] of this.cards) {
      if (!entry.accept.disabled) continue;
      if (msg.code === 'conflict_closed' || msg.code === 'conflict_taken') {
        entry.card.remove();
        this.cards.delete(id);
        this._render();
      } else {
        entry.accept.disabled = entry.decline.disabled = false;
        setText(entry.accept, 'Accept');
      }
    }
    return false; // the toast still says why
  }

  // ---------------------------------------------------------- our own offers

  _result(msg) {
    const chat = this.desk.chats.get(msg.session_id);
    const visitor = chat?.visitorName || 'the visitor';
    const what = msg.kind === 'invite' ? 'invitation' : 'transfer';
    const who = msg.by?.name || msg.to_name || 'your colleague';
    const words = {
      offered: msg.kind === 'invite'
        ? `Invited ${msg.to_name || 'your colleague'} into the chat with ${visitor}; waiting for an answer.`
        : `Offered the session with ${visitor} to ${msg.to_name || 'a colleague'}; it stays yours until someone accepts.`,
      accepted: msg.kind === 'invite' ? `${who} joined the chat with ${visitor}.` : `${who} took over the session with ${visitor}.`,
      declined: `${who} declined the ${what}. The session with ${visitor} stays with you.`,
      expired: `Nobody accepted the ${what} in time. The session with ${visitor} stays with you.`,
    }[msg.outcome];
    if (!words) return;
    chat?.showHandoff(words, msg.outcome);
    this.toast(words, msg.outcome === 'declined' || msg.outcome === 'expired' ? 'error' : 'info');
  }

  clear() {
    for (const entry of this.cards.values()) entry.card.remove();
    this.cards.clear();
    this._render();
    this.dialog?.close();
  }
}

/** An invited rep's bar: no take-over, no join (already in), "Leave chat". */
export function invitedMode(chat) {
  const bar = chat.bar;
  if (!bar || bar.invited) return;
  bar.invited = true;
  bar.takeButton.hidden = true;
  bar.joinButton.hidden = true;
  const leave = h('button', { type: 'button', class: 'btn btn-small', testid: 'leave-chat',
    on: { click: () => { chat.desk.send({ t: 'leave_chat', session_id: chat.id }); } } }, 'Leave chat');
  bar.stopButton.replaceWith(leave);
  bar.stopButton = leave;
  chat.panel.dataset.invited = 'true';
  chat.tab.classList.add('tab-invited');
  setText(bar.text, `You were invited into this chat: ${chat.visitorName} reads what you send. ${chat.session.rep?.name || 'The rep'} keeps the session.`);
}

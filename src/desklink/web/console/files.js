// Files in the console: the rep's uploads over /ws/rep (shared/uploads.js),
// one set of file cards per open chat (shared/file-cards.js), the attach
// button and drops in each chat pane, and, with the agent's file access,
// sending straight to the visitor's computer and asking for a file.
//
// Every `file.state` names its session; the chat of that session draws it.
// The rep's own unfinished uploads survive a reload of the console like the
// visitor's do in the help box (IndexedDB, then `file.resume`).

import { LIMITS } from '../shared/wire.js';
import { FileCards, fileErrorText, formatBytes } from '../shared/file-cards.js';
import { attachFiles, offerName } from '../shared/file-picking.js';
import { Uploads } from '../shared/uploads.js';

const FILE_ERRORS = new Set(['too_large', 'too_many_files', 'storage_full', 'storage_failed']);

export class RepFiles {
  /**
   * @param {object} o
   *   sendJson(msg) -> bool, sendBinary(data) -> bool   the rep socket (false when not connected)
   *   toast(text, kind)
   */
  constructor(o) {
    this.o = o;
    this.views = new Map(); // session id -> {chat, cards}
    this.uploads = new Uploads({ sendJson: o.sendJson, sendBinary: o.sendBinary, scope: `${location.origin} rep`, side: 'rep' });
    this.uploads.addEventListener('progress', (e) => {
      const u = e.detail.upload;
      if (u.id !== null) this.views.get(u.sessionId)?.cards.progress(u.id, u.sender.acked);
    });
    this.uploads.addEventListener('missing', (e) => this.views.get(e.detail.state.session_id)?.cards.missing(e.detail.state));
    this.uploads.addEventListener('problem', (e) => {
      const u = e.detail.upload;
      if (u.id === null || !this.views.get(u.sessionId)?.cards.problem(u.id, e.detail.message)) o.toast(e.detail.message, 'error');
    });
  }

  /** The file parts of one chat: {button, input, cards}; drops go on `zone`. */
  forChat(chat, zone) {
    const cards = new FileCards({
      log: chat.log,
      self: 'rep',
      origin: location.origin,
      otherName: () => chat.visitorName,
      pause: (id, on) => this.o.sendJson({ t: 'file.pause', id, on }),
      cancel: (id) => this.o.sendJson({ t: 'file.cancel', id }),
      repick: (state, file) => this.uploads.repick(state, file),
      onChange: (card, state, old) => {
        if (state.sender === 'visitor' && state.status === 'ready' && old.status !== 'ready') chat.onFileArrived?.(state);
      },
    });
    const { button, input } = attachFiles({ zone, enabled: () => !chat.ended, onFiles: (files) => this.send(chat.id, files),
      label: 'Attach', title: `Send files to ${chat.visitorName} (or drop them here)` });
    this.views.set(chat.id, { chat, cards });
    return { button, input, cards };
  }

  forget(sessionId) {
    this.views.get(sessionId)?.cards.clear();
    this.views.delete(sessionId);
  }

  /** Offer files ([{file, name}]) in a session: `to` 'chat' (a card) or 'computer' (the visitor's agent). */
  send(sessionId, files, to = 'chat') {
    const view = this.views.get(sessionId);
    if (!view) return;
    for (const { file, name } of files) {
      if (file.size > LIMITS.MAX_FILE_BYTES) {
        this.o.toast(`“${file.name}” is too large (${formatBytes(file.size)}; at most ${formatBytes(LIMITS.MAX_FILE_BYTES)}).`, 'error');
        continue;
      }
      const upload = this.uploads.add(file, { name: offerName(name), to, sessionId });
      view.cards.offered(upload.cid, file, upload.name, to);
    }
  }

  /** Ask the visitor to pick a file on their computer (agent); false when not connected. */
  ask(sessionId, note = '') {
    return this.o.sendJson({ t: 'file.ask', session_id: sessionId, note });
  }

  /** After each welcome (and the chats' sync): resume our uploads. */
  welcomed() {
    this.uploads.reconnected();
  }

  /** file.state, file.ack, file.nak, file.asked from the rep socket. */
  onMessage(msg) {
    if (msg.t === 'file.asked') {
      const view = this.views.get(msg.session_id);
      const who = view?.chat.visitorName || 'The visitor';
      if (msg.answer === 'none') this.o.toast(`${who} did not pick a file to send.`, 'info');
      return;
    }
    this.uploads.onMessage(msg);
    if (msg.t === 'file.state') this.views.get(msg.session_id)?.cards.onState(msg);
  }

  /** An `error`; true when it was about a file. */
  onError(msg) {
    const ref = String(msg.ref || '');
    if (!ref.startsWith('file.') && !FILE_ERRORS.has(msg.code)) return false;
    if (ref === 'file.ask') {
      const why = msg.message ? `: ${msg.message}` : '';
      this.o.toast(`Could not ask for a file${why}. The visitor’s agent must be connected with file access allowed.`, 'error');
      return true;
    }
    const text = fileErrorText(msg.code, msg.message);
    if (ref === 'file.offer' || (!ref && FILE_ERRORS.has(msg.code))) {
      const upload = this.uploads.refused(msg.cid || '');
      if (upload && this.views.get(upload.sessionId)?.cards.refusedOffer(upload.cid, text)) return true;
    }
    if (msg.id !== undefined) {
      for (const view of this.views.values()) if (view.cards.problem(msg.id, text)) return true;
    }
    this.o.toast(text, 'error');
    return true;
  }
}

// Files in the help box: the attach button and drag-and-drop, the visitor's
// uploads over /ws/visitor (shared/uploads.js) and the file cards among the
// chat messages (shared/file-cards.js).
//
// The rep's files arrive as cards with a Download link to the DeskLink
// server (another origin than the page: the path in `file.state` is made
// absolute with the server's origin) that the browser downloads as an
// attachment. The visitor's own unfinished uploads survive a reload: the
// File objects wait in IndexedDB under the conversation and resume from the
// server's offset once the socket is back.

import { LIMITS } from '../shared/wire.js';
import { FileCards, fileErrorText, formatBytes } from '../shared/file-cards.js';
import { attachFiles, offerName } from '../shared/file-picking.js';
import { Uploads } from '../shared/uploads.js';
import { t } from './i18n.js';

const FILE_ERRORS = new Set(['too_large', 'too_many_files', 'forbidden', 'storage_full', 'storage_failed']);

export class VisitorFiles {
  /**
   * @param {object} o
   *   server      the DeskLink server's origin
   *   log         the conversation's ChatLog
   *   zone        the element files may be dropped on
   *   notice(text, kind, code)  the help box's notice line
   *   otherName() the rep's name
   *   canSend()   true while the conversation is live
   */
  constructor(o) {
    this.o = o;
    this.conv = null;
    this.uploads = null;
    this.limits = null; // the server's file bounds, once the config says them
    this.cards = new FileCards({
      log: o.log,
      self: 'visitor',
      origin: o.server,
      otherName: () => o.otherName() || t('chat.support'),
      t,
      pause: (id, on) => this._send({ t: 'file.pause', id, on }),
      cancel: (id) => this._send({ t: 'file.cancel', id }),
      repick: (state, file) => this.uploads?.repick(state, file) ?? t('box.conversation_over'),
      onChange: (card, state, old) => this._changed(card, state, old),
    });
    const { button, input } = attachFiles({ zone: o.zone, enabled: () => !!this.conv && o.canSend(), onFiles: (files) => this.send(files),
      label: t('files.attach'), title: t('files.title') });
    this.button = button;
    this.input = input;
  }

  /** Follow a conversation (a new one, or the one resumed after a reload). */
  attach(conv) {
    this.uploads?.clear();
    this.conv = conv;
    this.uploads = new Uploads({
      sendJson: (msg) => this._send(msg),
      sendBinary: (data) => !!conv.welcomed && !!conv.socket?.sendBinary(data),
      scope: () => `${this.o.server} ${conv.requestId}`, // known once the request is made
      side: 'visitor',
      t,
    });
    if (this.limits) this.uploads.setLimits(this.limits);
    this.uploads.addEventListener('progress', (e) => {
      const u = e.detail.upload;
      if (u.id !== null) this.cards.progress(u.id, u.sender.acked);
    });
    this.uploads.addEventListener('missing', (e) => this.cards.missing(e.detail.state));
    this.uploads.addEventListener('problem', (e) => {
      const u = e.detail.upload;
      if (u.id !== null) this.cards.problem(u.id, e.detail.message);
      else this.o.notice(e.detail.message, 'error', 'file');
    });
  }

  /** Files can be sent (someone from support joined) or not yet / no more. */
  enable(on) {
    this.button.disabled = !on;
    this.button.title = t(on ? 'files.title_drop' : 'files.title_later');
  }

  /** The server's file bounds from the help box's config (`limits`), when it says them. */
  setLimits(limits) {
    this.limits = limits || null;
    if (limits) this.uploads?.setLimits(limits);
  }

  /** The conversation is over or was started afresh: no more sending, cards go. */
  reset() {
    this.uploads?.clear();
    this.uploads = null;
    this.conv = null;
    this.cards.clear();
  }

  /** Stop uploading (the conversation ended) but keep the cards: downloads still work for a while. */
  stop() {
    this.uploads?.clear();
  }

  _send(msg) {
    return !!this.conv?.welcomed && !!this.conv.socket?.send(msg);
  }

  /** Offer these files ([{file, name}]). */
  send(files) {
    if (!this.uploads || !this.conv?.welcomed) {
      this.o.notice(t('file.not_connected'), 'error', 'not_connected');
      return;
    }
    for (const { file, name } of files) {
      if (file.size > LIMITS.MAX_FILE_BYTES) {
        this.o.notice(t('files.too_large', { name: file.name, size: formatBytes(file.size), limit: formatBytes(LIMITS.MAX_FILE_BYTES) }), 'error', 'too_large');
        continue;
      }
      const upload = this.uploads.add(file, { name: offerName(name) });
      this.cards.offered(upload.cid, file, upload.name);
    }
  }

  /** After the welcome: resume our uploads and offer again what had no answer. */
  welcomed() {
    this.uploads?.reconnected();
  }

  /** A `file.*` message from the socket. */
  onMessage(msg) {
    if (!this.uploads) return;
    this.uploads.onMessage(msg);
    if (msg.t === 'file.state') this.cards.onState(msg);
  }

  /** An `error`; true when it was about a file (shown on its card or as a notice). */
  onError(msg) {
    const ref = String(msg.ref || '');
    if (!ref.startsWith('file.') && !(FILE_ERRORS.has(msg.code) && msg.code !== 'forbidden')) return false;
    const text = fileErrorText(msg.code, msg.message, t);
    if (ref === 'file.offer' || (!ref && FILE_ERRORS.has(msg.code))) {
      const upload = this.uploads?.refused(msg.cid || '');
      if (upload && this.cards.refusedOffer(upload.cid, text)) return true;
    }
    if (msg.id !== undefined && this.cards.problem(msg.id, text)) return true;
    this.o.notice(text, 'error', msg.code);
    return true;
  }

  _changed(card, state, old) {
    if (state.sender !== 'visitor' && state.status === 'ready' && old.status !== 'ready') this.o.arrived?.(state);
  }
}

// Uploads: files this browser sends over its own socket (the help box's
// /ws/visitor, the console's /ws/rep), the I/O around shared/transfer.js.
//
// Theory of operation
// -------------------
// `Uploads.add(file)` sends `file.offer {cid, name, size, mime}`; the answer
// is a `file.state` carrying that cid (it gives the transfer's id) and then
// `file.ack {id, acked, until}`. Each ack feeds the Sender and `pump()` reads
// the File in chunk-size slices (Blob.slice().arrayBuffer()) and sends what
// the credit allows; a `file.nak` rewinds it. The whole file's SHA-256 is
// computed in its own pass, started with the upload; `file.end {sha256}`
// goes once every byte was sent and the hash is known.
//
// Pause: while the transfer's status is `paused` (either side pressed it)
// nothing is sent; the server grants no credit either.
//
// Resume:
// * socket reconnect: `reconnected()` sends `file.resume {id}` for every
//   unfinished upload (and the offer again, same cid, for one still without
//   an id); the ack that answers restarts the Sender from the server's offset.
// * page reload: the File objects of unfinished uploads are kept in
//   IndexedDB (a structured clone keeps a File) under `<scope> <id>`; when
//   the server's `file.state` for an unfinished upload of ours arrives after
//   the hello, `adopt(state)` takes the File back and resumes. If the File is
//   gone (another browser, storage cleared), `adopt` says so and the card
//   offers "Pick the file again", checked by name and size (`repick`).
//
// Events (CustomEvent on the Uploads): `progress` {upload} after each ack,
// `missing` {state} for an unfinished upload whose File is gone,
// `problem` {upload, message} for a protocol error on one upload.

import { FILE, LIMITS } from './wire.js';
import { Sender, chunkParts, encodeChunk, hashBlob } from './transfer.js';
import { newCid } from './dom.js';
import { english } from './words.js';

/** The uploads' words (English); the help box passes its catalogue's `t` (shared/words.js). */
export const UPLOAD_WORDS = {
  'upload.unreadable': 'Could not read the file: {error}',
  'upload.other_size': 'That file has {size} bytes; the one to resume has {expected}.',
  'upload.other_name': 'That is “{name}”; the one to resume is “{expected}”.',
};

const FINAL = new Set(FILE.FINAL);
/** Statuses after which the upload leg is over (the server holds the verified file). */
const UPLOADED = new Set(['ready', 'delivering', 'delivered', ...FILE.FINAL]);
const DB_NAME = 'desklink-files';
const DB_STORE = 'uploads';

// ------------------------------------------------------------------ keeping Files across reloads

/** A small IndexedDB map from a key to {file, name, to}; every call is best-effort.
 *  `scope` (a string, or a function giving it) starts every key. */
export class FileKeeper {
  constructor(scope) {
    this.scope = scope;
    this.db = null;
  }

  _open() {
    if (!this.db) {
      this.db = new Promise((resolve, reject) => {
        if (!globalThis.indexedDB) { reject(new Error('no IndexedDB')); return; }
        const req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return this.db;
  }

  async _run(mode, fn) {
    const db = await this._open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(DB_STORE, mode);
      const req = fn(tx.objectStore(DB_STORE));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  key(id) {
    return `${typeof this.scope === 'function' ? this.scope() : this.scope} ${id}`;
  }

  async put(id, record) {
    try { await this._run('readwrite', (s) => s.put(record, this.key(id))); } catch { /* private mode, quota: no resume after reload */ }
  }

  async get(id) {
    try { return (await this._run('readonly', (s) => s.get(this.key(id)))) || null; } catch { return null; }
  }

  async delete(id) {
    try { await this._run('readwrite', (s) => s.delete(this.key(id))); } catch { /* ignore */ }
  }
}

// ------------------------------------------------------------------ one upload

export class Upload {
  constructor(owner, file, { name, to = 'chat', sessionId = '', cid = newCid(), id = null }) {
    this.owner = owner;
    this.file = file;
    this.name = name || file.name;
    this.to = to;
    this.sessionId = sessionId;
    this.cid = cid;
    this.id = id;
    this.status = 'offered';
    this.sender = new Sender(file.size, owner.chunkBytes);
    this.resuming = false;
    this.pumping = false;
    this.endSent = false;
    this.done = false;
    this.sha256 = null;
    this.hashing = hashBlob(file).then((hex) => { this.sha256 = hex; this.pump(); return hex; });
    this.hashing.catch((err) => this.owner._problem(this, this.owner.t('upload.unreadable', { error: err.message || err })));
  }

  offerMessage() {
    const msg = { t: 'file.offer', cid: this.cid, name: this.name, size: this.file.size, mime: (this.file.type || '').slice(0, LIMITS.MAX_FILE_MIME_CHARS) };
    if (this.to !== 'chat') msg.to = this.to;
    if (this.sessionId) msg.session_id = this.sessionId;
    return msg;
  }

  /** Ask the server where to go on from (its answer is a file.ack). */
  resume() {
    if (this.id === null || this.done) return;
    this.resuming = true;
    this.owner.sendJson({ t: 'file.resume', id: this.id });
  }

  onState(state) {
    this.status = state.status;
    this.sender.paused = state.status === 'paused';
    if (UPLOADED.has(state.status)) {
      this.done = true;
      this.owner._finished(this);
      return;
    }
    this.pump();
  }

  onAck(acked, until) {
    if (this.resuming) {
      this.resuming = false;
      this.sender.resumeFrom(acked, until);
      this.endSent = false;
    } else {
      this.sender.ack(acked, until);
    }
    if (!this.sender.finished) this.endSent = false;
    this.owner._emit('progress', { upload: this });
    this.pump();
  }

  onNak(offset) {
    this.sender.nak(offset);
    this.endSent = false;
    this.pump();
  }

  /** Send what the credit allows; then file.end once everything went out and the hash is known. */
  async pump() {
    if (this.pumping || this.done || this.id === null || this.resuming) return;
    this.pumping = true;
    try {
      let span;
      while (!this.done && !this.resuming && (span = this.sender.nextSpan()) !== null) {
        const [offset, length] = span;
        const data = new Uint8Array(await this.file.slice(offset, offset + length).arrayBuffer());
        // A nak, a resume or a pause may have come in while reading.
        if (this.done || this.resuming || this.sender.paused || this.sender.position !== offset) continue;
        if (!this.owner.sendChunk(encodeChunk(this.id, offset, data))) return; // disconnected: resume() follows
        this.sender.sent(offset + length);
      }
      if (!this.done && !this.resuming && this.sender.finished && !this.endSent && this.sha256) {
        if (this.owner.sendJson({ t: 'file.end', id: this.id, sha256: this.sha256 })) this.endSent = true;
      }
    } catch (err) {
      this.owner._problem(this, this.owner.t('upload.unreadable', { error: err.message || err }));
    } finally {
      this.pumping = false;
    }
  }
}

// ------------------------------------------------------------------ every upload of one socket

export class Uploads extends EventTarget {
  /**
   * @param {object} o
   *   sendJson(msg) -> bool, sendBinary(ArrayBuffer) -> bool  the socket
   *   scope        what the IndexedDB keys start with (server and conversation), or a function giving it
   *   side         'visitor' | 'rep': file.state.sender of our own uploads
   *   chunkBytes   the chunk size (default LIMITS.FILE_CHUNK_BYTES)
   *   maxMessageBytes  the server's bound on one WebSocket message (chunks go in parts)
   */
  constructor({ sendJson, sendBinary, scope, side, chunkBytes = LIMITS.FILE_CHUNK_BYTES, maxMessageBytes = LIMITS.MAX_MESSAGE_BYTES, t = english(UPLOAD_WORDS) }) {
    super();
    this.t = t;
    this.maxMessageBytes = maxMessageBytes;
    this.sendJson = sendJson;
    this.sendBinary = sendBinary;
    this.side = side;
    this.chunkBytes = chunkBytes;
    this.keeper = new FileKeeper(scope);
    this.byCid = new Map();
    this.byId = new Map();
    this.adopting = new Set();
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * The server's own bounds, when it says them (`file_chunk_bytes`,
   * `max_message_bytes`): an operator may set them below the protocol's
   * defaults. Uploads offered from now on use them.
   */
  setLimits(limits) {
    const n = (v) => (Number.isInteger(v) && v > 0 ? v : null);
    this.chunkBytes = n(limits?.file_chunk_bytes) ?? this.chunkBytes;
    this.maxMessageBytes = n(limits?.max_message_bytes) ?? this.maxMessageBytes;
  }

  /** Send one chunk message in parts; false when the socket is down. */
  sendChunk(message) {
    for (const part of chunkParts(message, this.maxMessageBytes)) if (!this.sendBinary(part)) return false;
    return true;
  }

  /** Offer a file; returns the Upload (its id comes with the answer). */
  add(file, options = {}) {
    const upload = new Upload(this, file, options);
    this.byCid.set(upload.cid, upload);
    this.sendJson(upload.offerMessage());
    return upload;
  }

  get(id) {
    return this.byId.get(id) || null;
  }

  /** True for a file.state that is an unfinished upload from this side (ours to send). */
  isOurs(state) {
    return state.sender === this.side && state.via === 'browser' && !UPLOADED.has(state.status);
  }

  /** A server message; returns true if it was an upload's. */
  onMessage(msg) {
    switch (msg.t) {
      case 'file.state': this._onState(msg); return false; // the cards want it too
      case 'file.ack': this.byId.get(msg.id)?.onAck(msg.acked, msg.until); return true;
      case 'file.nak': this.byId.get(msg.id)?.onNak(msg.offset); return true;
      default: return false;
    }
  }

  _onState(state) {
    let upload = this.byId.get(state.id);
    if (!upload && state.cid && this.byCid.has(state.cid)) {
      upload = this.byCid.get(state.cid);
      upload.id = state.id;
      this.byId.set(state.id, upload);
      if (!UPLOADED.has(state.status)) this.keeper.put(state.id, { file: upload.file, name: upload.name, to: upload.to, size: upload.file.size });
    }
    if (upload) {
      upload.onState(state);
    } else if (this.isOurs(state)) {
      this.adopt(state);
    }
  }

  /** An unfinished upload of ours from before a reload: take the File back from IndexedDB and resume. */
  async adopt(state) {
    if (this.byId.has(state.id) || this.adopting.has(state.id)) return;
    this.adopting.add(state.id);
    try {
      const kept = await this.keeper.get(state.id);
      if (this.byId.has(state.id)) return;
      if (!kept || !(kept.file instanceof Blob) || kept.file.size !== state.size) {
        this._emit('missing', { state });
        return;
      }
      this._resumeWith(state, kept.file, kept.name || state.name);
    } finally {
      this.adopting.delete(state.id);
    }
  }

  /**
   * The visitor picked the file again for an upload whose File was lost.
   * Returns '' when it resumes, or why not (in words).
   */
  repick(state, file) {
    if (file.size !== state.size) return this.t('upload.other_size', { size: file.size, expected: state.size });
    const base = (n) => String(n).split(/[\\/]/).pop();
    if (base(file.name) !== base(state.name)) return this.t('upload.other_name', { name: file.name, expected: base(state.name) });
    this._resumeWith(state, file, state.name);
    this.keeper.put(state.id, { file, name: state.name, to: state.to, size: file.size });
    return '';
  }

  _resumeWith(state, file, name) {
    const upload = new Upload(this, file, { name, to: state.to, sessionId: state.session_id, cid: state.cid || newCid(), id: state.id });
    upload.status = state.status;
    upload.sender.paused = state.status === 'paused';
    this.byId.set(state.id, upload);
    upload.resume();
  }

  /** The socket is back (after its hello was welcomed): resume or offer again. */
  reconnected() {
    for (const upload of this.byCid.values()) {
      if (upload.done) continue;
      if (upload.id === null) this.sendJson(upload.offerMessage());
      else upload.resume();
    }
    for (const upload of this.byId.values()) if (!this.byCid.has(upload.cid) && !upload.done) upload.resume();
  }

  /** An offer the server refused (its error names the cid, or it is the oldest without an answer). */
  refused(cid) {
    const upload = cid ? this.byCid.get(cid) : [...this.byCid.values()].find((u) => u.id === null);
    if (!upload) return null;
    upload.done = true;
    this.byCid.delete(upload.cid);
    return upload;
  }

  _finished(upload) {
    if (upload.id !== null) this.keeper.delete(upload.id);
  }

  _problem(upload, message) {
    this._emit('problem', { upload, message });
  }

  /** Stop everything (the conversation is over); the kept Files are dropped. */
  clear() {
    for (const upload of this.byId.values()) {
      upload.done = true;
      this.keeper.delete(upload.id);
    }
    for (const upload of this.byCid.values()) upload.done = true;
    this.byCid.clear();
    this.byId.clear();
  }
}

export { FINAL, UPLOADED };

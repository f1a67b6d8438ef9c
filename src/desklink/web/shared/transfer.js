// Files, the browser's half of protocol/files.py, without any I/O: the chunk
// codec, CRC-32, the incremental SHA-256 and the Sender.
//
// Theory of operation (protocol/files.py has the whole design)
// ------------------------------------------------------------
// A file goes to the server as binary WebSocket frames on the FILE channel:
//
//   [u8 channel=3][u8 kind=1][u64 id][u64 offset][u32 crc32][data]   (big-endian)
//
// (split into parts of at most the server's message size, `chunkParts`)
// under the credit window the server grants with `file.ack {acked, until}`:
// the Sender never sends at or past `until`, a `file.nak {offset}` rewinds it
// to that offset, and after a reconnect or reload `file.resume {id}` is
// answered with an ack it resumes from (`resumeFrom`). When every byte went
// out the uploader sends `file.end {sha256}` of the whole file.
//
// The Sender is a line-for-line mirror of the Python one (same names in
// camelCase), so tests/protocol and tests/e2e/test_file_modules.py check the
// same rules. It counts the bytes it sends again (`resentBytes`): after a
// nak or a resume that is what the network had to carry twice.
//
// Hashing: `Sha256` wraps the vendored @noble/hashes (web/vendor/README.md
// says why: crypto.subtle.digest cannot stream); `hashBlob` reads a Blob in
// pieces with Blob.slice().arrayBuffer() and feeds it.

import { FILE, SCREEN } from './wire.js';
import { sha256 } from '../vendor/noble-hashes/sha2.js';

export const CHANNEL_FILE = FILE.CHANNEL_FILE;
export const KIND_DATA = FILE.KIND_DATA;
export const CHUNK_HEAD_BYTES = FILE.CHUNK_HEAD_BYTES;
const MORE = SCREEN.CHANNEL_MORE;
/** Bytes read at a time while hashing a Blob. */
export const HASH_PIECE_BYTES = 4 * 1024 * 1024;

/** A protocol rule broken by what the server sent (a bad ack or nak). */
export class TransferError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TransferError';
  }
}

// ------------------------------------------------------------------ CRC-32

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib's CRC-32 of `bytes` (a Uint8Array), continuing from `crc` (default 0). */
export function crc32(bytes, crc = 0) {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i += 1) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ------------------------------------------------------------------ chunks

/**
 * One data chunk as a whole WebSocket binary message (channel byte
 * included): an ArrayBuffer ready for ws.send().
 */
export function encodeChunk(id, offset, data) {
  if (!(data instanceof Uint8Array)) data = new Uint8Array(data);
  if (!data.length) throw new TransferError('a zero-length chunk is never sent');
  const out = new Uint8Array(1 + CHUNK_HEAD_BYTES + data.length);
  const view = new DataView(out.buffer);
  out[0] = CHANNEL_FILE;
  out[1] = KIND_DATA;
  view.setBigUint64(2, BigInt(id));
  view.setBigUint64(10, BigInt(offset));
  view.setUint32(18, crc32(data));
  out.set(data, 1 + CHUNK_HEAD_BYTES);
  return out.buffer;
}

/**
 * A chunk message (from encodeChunk) as WebSocket messages of at most
 * `maxBytes` each (protocol/framing.py "Large messages travel in parts"):
 * every part but the last has MORE set in its channel byte.
 */
export function chunkParts(message, maxBytes) {
  const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
  if (bytes.length <= maxBytes) return [bytes];
  const payload = bytes.subarray(1);
  const room = Math.max(1, maxBytes - 1);
  const out = [];
  for (let start = 0; start < payload.length; start += room) {
    const end = Math.min(payload.length, start + room);
    const part = new Uint8Array(1 + end - start);
    part[0] = end < payload.length ? (bytes[0] | MORE) : bytes[0];
    part.set(payload.subarray(start, end), 1);
    out.push(part);
  }
  return out;
}

/** Parse a chunk message (channel byte included): {id, offset, crc32, data}. */
export function decodeChunk(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.length <= 1 + CHUNK_HEAD_BYTES) throw new TransferError('file chunk too short');
  if (bytes[0] !== CHANNEL_FILE) throw new TransferError(`not the file channel: ${bytes[0]}`);
  if (bytes[1] !== KIND_DATA) throw new TransferError(`unknown file chunk kind ${bytes[1]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    id: Number(view.getBigUint64(2)),
    offset: Number(view.getBigUint64(10)),
    crc32: view.getUint32(18),
    data: bytes.subarray(1 + CHUNK_HEAD_BYTES),
  };
}

// ------------------------------------------------------------------ SHA-256

/** Incremental SHA-256: update(Uint8Array) any number of times, then hex(). */
export class Sha256 {
  constructor() {
    this.hash = sha256.create();
    this.bytes = 0;
  }

  update(bytes) {
    this.hash.update(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    this.bytes += bytes.byteLength;
    return this;
  }

  /** The digest as lowercase hex (the hash cannot be updated afterwards). */
  hex() {
    return Array.from(this.hash.digest(), (b) => b.toString(16).padStart(2, '0')).join('');
  }
}

/**
 * SHA-256 of a Blob (or File), read in `piece`-byte slices. `onProgress(bytes)`
 * after each; `signal` (an AbortSignal) stops it with an AbortError.
 */
export async function hashBlob(blob, { piece = HASH_PIECE_BYTES, onProgress = null, signal = null } = {}) {
  const hash = new Sha256();
  for (let offset = 0; offset < blob.size; offset += piece) {
    if (signal?.aborted) throw new DOMException('hashing stopped', 'AbortError');
    const part = new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + piece)).arrayBuffer());
    hash.update(part);
    onProgress?.(offset + part.length);
  }
  return hash.hex();
}

// ------------------------------------------------------------------ Sender

/**
 * The sending side of one leg. The uploader loops:
 *
 *   let span;
 *   while ((span = sender.nextSpan()) !== null) {
 *     const [offset, length] = span;
 *     send(encodeChunk(id, offset, await read(offset, length)));
 *     sender.sent(offset + length);
 *   }
 *
 * and calls ack() / nak() as the server answers. When `finished` it sends
 * file.end; the upload is `complete` once the server acknowledged every byte.
 */
export class Sender {
  constructor(size, chunkBytes) {
    if (!(size >= 0) || !(chunkBytes > 0)) throw new RangeError('size must be >= 0 and chunkBytes > 0');
    this.size = size;
    this.chunkBytes = chunkBytes;
    this.position = 0; // next offset to send
    this.acked = 0; // the receiver holds every byte below this
    this.until = 0; // the receiver's credit: send nothing at or past this
    this.paused = false;
    this.resentBytes = 0; // bytes sent again after a nak or a resume
    this._high = 0; // highest offset ever sent, to count resends
  }

  /** The receiver holds everything below `acked` and lets us send up to `until`. */
  ack(acked, until) {
    if (!(acked >= 0 && acked <= this.size) || !(until >= acked)) {
      throw new TransferError(`bad file.ack ${acked}..${until} for a file of ${this.size} bytes`);
    }
    if (acked < this.acked) this.position = acked; // the receiver lost bytes
    this.acked = acked;
    this.until = until;
    if (this.position < acked) this.position = acked;
  }

  /** Start again from the receiver's durable offset (after a reconnect or reload). */
  resumeFrom(acked, until) {
    if (!(acked >= 0 && acked <= this.size) || !(until >= acked)) {
      throw new TransferError(`bad resume offset ${acked} for a file of ${this.size} bytes`);
    }
    this.acked = acked;
    this.until = until;
    this.position = acked;
  }

  /** The chunk at `offset` was bad (or out of order): go back to it. */
  nak(offset) {
    if (!(offset >= this.acked && offset <= this.size)) throw new TransferError(`bad file.nak offset ${offset}`);
    this.position = Math.min(this.position, offset);
  }

  /** The next [offset, length] to send, or null (window closed, paused, or all sent). */
  nextSpan(available = null) {
    if (this.paused) return null;
    const limit = Math.min(this.until, available === null ? this.size : Math.min(available, this.size));
    const length = Math.min(this.chunkBytes, limit - this.position);
    if (length <= 0) return null;
    return [this.position, length];
  }

  /** The chunk ending at `end` went out. */
  sent(end) {
    if (this.position < this._high) this.resentBytes += Math.min(end, this._high) - this.position;
    this._high = Math.max(this._high, end);
    this.position = end;
  }

  /** Every byte has been sent at least up to the end (file.end may go). */
  get finished() {
    return this.position >= this.size;
  }

  get complete() {
    return this.acked >= this.size;
  }
}

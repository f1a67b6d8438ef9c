// A recording's segments, read in the browser (src/desklink/protocol/recording.py
// is the reference; docs/protocol.md "Recordings" has the format):
//
//   segment := header | record* | trailer
//   header  := "DLRECSEG" | u16 version=1 | u8 id_len | session_id[id_len]
//              | u32 segment_no | u32 start_t_ms | u32 end_t_ms
//              | u32 first_key_t_ms (0xFFFFFFFF: none) | u32 records | prev_sha256[32]
//   record  := u32 t_ms | u8 kind | u32 length | payload[length]
//   trailer := "DLRECEND" | sha256[32] (of header and records)
//
// The server verifies the chain before it serves a replay; the player checks
// again (its own copy could be damaged on the way, or by a proxy) and stops
// at the first segment that does not hold, saying where, instead of showing
// a picture that never was. No DOM use.

export const KIND = { SCREEN: 1, CURSOR: 2, POINTER: 3, EVENT: 4 };
export const NO_KEY = 0xffffffff;

const MAGIC = 'DLRECSEG';
const TRAILER_MAGIC = 'DLRECEND';
const TRAILER_BYTES = 8 + 32;
const RECORD_HEAD = 9;

export class RecordingDamaged extends Error {
  constructor(segment, what) {
    super(`segment ${segment} ${what}`);
    this.name = 'RecordingDamaged';
    this.segment = segment;
  }
}

function ascii(bytes, start, len) {
  let s = '';
  for (let i = 0; i < len; i += 1) s += String.fromCharCode(bytes[start + i]);
  return s;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/**
 * Read and check one segment. `prevHash` is the SHA-256 of the previous
 * segment's bytes (32 zero bytes before the first). Resolves to
 * {no, startMs, endMs, firstKeyMs, records: [{t, kind, payload}], hash};
 * rejects with RecordingDamaged.
 */
export async function readSegment(buffer, expectedNo, prevHash) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 11 + TRAILER_BYTES || ascii(bytes, 0, 8) !== MAGIC) throw new RecordingDamaged(expectedNo, 'is not a recording segment');
  const idLen = bytes[10];
  let at = 11 + idLen;
  if (bytes.length < at + 52 + TRAILER_BYTES) throw new RecordingDamaged(expectedNo, 'is truncated');
  const no = view.getUint32(at);
  const startMs = view.getUint32(at + 4);
  const endMs = view.getUint32(at + 8);
  const firstKeyMs = view.getUint32(at + 12);
  const count = view.getUint32(at + 16);
  const prev = bytes.subarray(at + 20, at + 52);
  at += 52;
  const body = bytes.length - TRAILER_BYTES;
  if (ascii(bytes, body, 8) !== TRAILER_MAGIC) throw new RecordingDamaged(expectedNo, 'is truncated (no trailer)');
  if (!equal(await sha256(bytes.subarray(0, body)), bytes.subarray(body + 8))) throw new RecordingDamaged(expectedNo, 'does not match its checksum');
  if (no !== expectedNo) throw new RecordingDamaged(expectedNo, `is out of order (it says ${no})`);
  if (!equal(prev, prevHash)) throw new RecordingDamaged(expectedNo, 'does not follow the segment before it');
  const records = [];
  while (at < body) {
    if (body - at < RECORD_HEAD) throw new RecordingDamaged(expectedNo, 'has a cut record');
    const t = view.getUint32(at);
    const kind = bytes[at + 4];
    const len = view.getUint32(at + 5);
    if (len > body - at - RECORD_HEAD) throw new RecordingDamaged(expectedNo, 'has a record longer than the segment');
    records.push({ t, kind, payload: bytes.subarray(at + RECORD_HEAD, at + RECORD_HEAD + len) });
    at += RECORD_HEAD + len;
  }
  if (records.length !== count) throw new RecordingDamaged(expectedNo, `holds ${records.length} records, its header says ${count}`);
  return { no, startMs, endMs, firstKeyMs, records, hash: await sha256(bytes) };
}

/** Whether a SCREEN record is a key frame (a whole picture to paint from). */
export function isKey(payload) {
  // channel byte, then kind (1 frame, 4 video) and flags (bit 0: key)
  return payload.length > 2 && (payload[1] === 1 || payload[1] === 4) && (payload[2] & 1) === 1;
}

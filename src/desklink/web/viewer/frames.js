// The screen channel's binary format, parsed (docs/protocol.md "Screen
// frames"; src/desklink/protocol/screen.py is the reference).
//
// A binary WebSocket message is one channel byte (2 = screen) followed by one
// screen message, all integers big-endian:
//
//   frame   := u8 kind=1 | u8 flags | u32 seq | u64 capture_us
//              | u16 screen_w | u16 screen_h | u16 nrects | rect*
//   rect    := u16 x | u16 y | u16 w | u16 h | u8 enc | u32 len | payload[len]
//   cursor  := u8 kind=2 | u16 x | u16 y | u16 w | u16 h | u16 hot_x | u16 hot_y | u32 len | rgba[len]
//   pointer := u8 kind=3 | u16 x | u16 y
//   video   := u8 kind=4 | u8 flags | u32 seq | u64 capture_us | u16 screen_w | u16 screen_h
//              | u8 codec | u32 len | data[len]      (a browser share's encoded frame)
//
// Every bound is checked as the server does: a rectangle and a copy source
// lie inside the screen, payload lengths add up exactly. Anything else throws
// a FrameError. What a rectangle's payload must look like is its decoder's
// business (decoders/, one module per encoding): the parser asks it. Payloads
// are views (subarrays) into the received buffer, never copies.
//
// This module has no DOM dependency: the decoder worker imports it too.

import { LIMITS, SCREEN } from '../shared/wire.js';
import { decoderFor } from './decoders/index.js';
import { FrameError } from './frame-error.js';

export { FrameError };

export const CHANNEL_SCREEN = SCREEN.CHANNEL_SCREEN;

export const KIND_FRAME = SCREEN.KIND_FRAME;
export const KIND_CURSOR = SCREEN.KIND_CURSOR;
export const KIND_POINTER = SCREEN.KIND_POINTER;
export const KIND_VIDEO = SCREEN.KIND_VIDEO;
/** Codec byte -> name, for the video kind. */
export const CODEC_NAMES = new Map(Object.entries(SCREEN.CODEC).map(([name, byte]) => [byte, name]));

export const FLAG_KEY = SCREEN.FLAG_KEY;
export const FLAG_REFINE = SCREEN.FLAG_REFINE;

export const MAX_SIDE = LIMITS.MAX_SCREEN_SIDE;
export const MAX_RECTS = SCREEN.MAX_RECTS;
export const MAX_CURSOR_SIDE = SCREEN.MAX_CURSOR_SIDE;

const FRAME_HEAD = 20; // 1 + 1 + 4 + 8 + 2 + 2 + 2
const RECT_HEAD = 13; // 2 * 4 + 1 + 4
const CURSOR_HEAD = 17; // 1 + 2 * 6 + 4
const POINTER_LEN = 5;
const VIDEO_HEAD = 23; // 1 + 1 + 4 + 8 + 2 + 2 + 1 + 4

function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new FrameError('a screen message must be binary');
}

/**
 * Parse one screen message (without the channel byte).
 * Returns {kind: 'frame', seq, flags, key, captureUs, width, height, rects:[{x, y, w, h, enc, payload}]},
 * {kind: 'cursor', x, y, w, h, hotX, hotY, rgba}, {kind: 'pointer', x, y} or
 * {kind: 'video', seq, flags, key, captureUs, width, height, codec, data}.
 */
export function parseScreenMessage(data) {
  const bytes = asBytes(data);
  if (bytes.length === 0) throw new FrameError('empty screen message');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bytes[0]) {
    case KIND_FRAME: return parseFrame(bytes, view);
    case KIND_CURSOR: return parseCursor(bytes, view);
    case KIND_POINTER:
      if (bytes.length !== POINTER_LEN) throw new FrameError('pointer message has the wrong length');
      return { kind: 'pointer', x: view.getUint16(1), y: view.getUint16(3) };
    case KIND_VIDEO: return parseVideo(bytes, view);
    default:
      throw new FrameError(`unknown screen message kind ${bytes[0]}`);
  }
}

/**
 * Parse a whole binary WebSocket message: the channel byte, then a screen
 * message. Returns null for channels other than the screen.
 */
export function parseChannelMessage(data) {
  const bytes = asBytes(data);
  if (bytes.length === 0) throw new FrameError('empty binary message');
  if (bytes[0] !== CHANNEL_SCREEN) return null;
  return parseScreenMessage(bytes.subarray(1));
}

/** The kind byte of a whole binary WebSocket message (0 when not a screen message). */
export function screenKind(data) {
  const bytes = asBytes(data);
  return bytes.length > 1 && bytes[0] === CHANNEL_SCREEN ? bytes[1] : 0;
}

function parseFrame(bytes, view) {
  if (bytes.length < FRAME_HEAD) throw new FrameError('truncated frame header');
  const flags = view.getUint8(1);
  const seq = view.getUint32(2);
  const captureUs = Number(view.getBigUint64(6));
  const width = view.getUint16(14);
  const height = view.getUint16(16);
  const n = view.getUint16(18);
  if (!(width > 0 && width <= MAX_SIDE && height > 0 && height <= MAX_SIDE)) {
    throw new FrameError(`screen size ${width}x${height} out of range`);
  }
  if (n > MAX_RECTS) throw new FrameError(`${n} rectangles in one frame; the limit is ${MAX_RECTS}`);
  const rects = new Array(n);
  let off = FRAME_HEAD;
  for (let i = 0; i < n; i++) {
    if (off + RECT_HEAD > bytes.length) throw new FrameError('truncated rectangle header');
    const x = view.getUint16(off);
    const y = view.getUint16(off + 2);
    const w = view.getUint16(off + 4);
    const h = view.getUint16(off + 6);
    const enc = view.getUint8(off + 8);
    const len = view.getUint32(off + 9);
    off += RECT_HEAD;
    if (len > bytes.length - off) throw new FrameError('rectangle payload runs past the end of the message');
    const payload = bytes.subarray(off, off + len);
    off += len;
    if (w === 0 || h === 0 || x + w > width || y + h > height) {
      throw new FrameError(`rectangle ${w}x${h}+${x}+${y} is outside the ${width}x${height} screen`);
    }
    const rect = { x, y, w, h, enc, payload };
    decoderFor(enc).check(rect, { width, height });
    rects[i] = rect;
  }
  if (off !== bytes.length) throw new FrameError(`${bytes.length - off} stray bytes after the last rectangle`);
  return { kind: 'frame', seq, flags, key: (flags & FLAG_KEY) !== 0, captureUs, width, height, rects };
}

function parseVideo(bytes, view) {
  if (bytes.length < VIDEO_HEAD) throw new FrameError('truncated video chunk header');
  const flags = view.getUint8(1);
  const width = view.getUint16(14);
  const height = view.getUint16(16);
  const codec = view.getUint8(18);
  const len = view.getUint32(19);
  if (!(width > 0 && width <= MAX_SIDE && height > 0 && height <= MAX_SIDE)) {
    throw new FrameError(`screen size ${width}x${height} out of range`);
  }
  if (!CODEC_NAMES.has(codec)) throw new FrameError(`unknown video codec ${codec}`);
  if (len === 0) throw new FrameError('empty video chunk');
  if (bytes.length !== VIDEO_HEAD + len) throw new FrameError('video chunk length does not match its data');
  return {
    kind: 'video', seq: view.getUint32(2), flags, key: (flags & FLAG_KEY) !== 0, captureUs: Number(view.getBigUint64(6)),
    width, height, codec, data: bytes.subarray(VIDEO_HEAD),
  };
}

function parseCursor(bytes, view) {
  if (bytes.length < CURSOR_HEAD) throw new FrameError('truncated cursor message');
  const x = view.getUint16(1);
  const y = view.getUint16(3);
  const w = view.getUint16(5);
  const h = view.getUint16(7);
  const hotX = view.getUint16(9);
  const hotY = view.getUint16(11);
  const len = view.getUint32(13);
  if (w > MAX_CURSOR_SIDE || h > MAX_CURSOR_SIDE) throw new FrameError(`cursor ${w}x${h} is larger than ${MAX_CURSOR_SIDE}`);
  if (len !== w * h * 4 || bytes.length !== CURSOR_HEAD + len) throw new FrameError('cursor image length does not match its size');
  if ((w || h) && (hotX >= w || hotY >= h)) throw new FrameError('cursor hot spot outside the image');
  return { kind: 'cursor', x, y, w, h, hotX, hotY, rgba: bytes.subarray(CURSOR_HEAD) };
}

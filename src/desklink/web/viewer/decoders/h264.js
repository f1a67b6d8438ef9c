// Encoding 5, H264: a video region (src/desklink/agent/encode/video.py). The
// payload is one H.264 access unit (Annex B) of the stream of the region at
// exactly (x, y, w, h); a key unit (SPS, PPS, IDR) starts the stream. The
// stream is coded at the even size at or above w x h (4:2:0) and drawn
// cropped to w x h.
//
// Before any of it reaches the VideoDecoder, every SPS in a unit (key or
// delta) must give the stream's coded size in whole macroblocks, cropped to
// exactly it (decoders/sps.js, as agent/encode/sps.py for the Python
// viewer): the decoder sizes its buffers from the SPS, so a unit claiming
// 16384x16384 in a 64x64 rectangle fails with a FrameError naming both
// sizes instead of being allocated for.
//
// State per canvas (createState): region -> VideoStream (decoders/video.js,
// WebCodecs' VideoDecoder, the same stream handling a browser share uses),
// at most MAX_STREAMS of them (the agent plays one region at a time; a new
// region's key unit evicts the oldest). A delta with no stream before it,
// or bytes that are not H.264, fail the rectangle with a FrameError; the
// viewer then asks for a key frame (protocol.js), and the agent restarts
// the region's stream with a key unit.
//
// No DOM: runs in the decoder worker.

import { SCREEN } from '../../shared/wire.js';
import { FrameError, describeRect } from '../frame-error.js';
import { checkUnit } from './sps.js';
import { VideoStream } from './video.js';

/** Region streams one canvas keeps at once (as MAX_STREAMS in agent/encode/canvas.py). */
export const MAX_STREAMS = 4;
const MIN_PAYLOAD = 4;
const NAL_IDR = 5;
const NAL_SPS = 7;

/** The NAL unit types of an Annex B access unit, in order. */
export function nalTypes(p) {
  const types = [];
  for (let i = 0; i + 3 < p.length; i++) {
    if (p[i] === 0 && p[i + 1] === 0 && p[i + 2] === 1) {
      types.push(p[i + 3] & 0x1f);
      i += 2;
    }
  }
  return types;
}

/** A unit that starts a stream: it carries an SPS and an IDR picture. */
export function isKeyUnit(p) {
  const types = nalTypes(p);
  return types.includes(NAL_SPS) && types.includes(NAL_IDR);
}

function startsWithStartCode(p) {
  return p[0] === 0 && p[1] === 0 && (p[2] === 1 || (p[2] === 0 && p[3] === 1));
}

export default {
  enc: SCREEN.ENC.H264,
  name: 'h264',

  check(rect) {
    if (rect.payload.length < MIN_PAYLOAD) throw new FrameError('h264 rectangle payload is too short');
  },

  createState() {
    return new Map(); // "x,y,w,h" -> VideoStream
  },

  decode(rect, streams, frame) {
    const what = describeRect('h264', rect);
    const p = rect.payload;
    if (!startsWithStartCode(p)) return Promise.reject(new FrameError(`${what} is not H.264 in Annex B form (no start code)`));
    const width = rect.w + (rect.w & 1);
    const height = rect.h + (rect.h & 1);
    try {
      checkUnit(p, width, height, what);
    } catch (err) {
      return Promise.reject(err);
    }
    const key = isKeyUnit(p);
    const id = `${rect.x},${rect.y},${rect.w},${rect.h}`;
    let stream = streams.get(id);
    if (!stream) {
      if (!key) return Promise.reject(new FrameError(`${what} is a delta with no key unit before it`));
      while (streams.size >= MAX_STREAMS) {
        const [oldest, old] = streams.entries().next().value;
        old.close();
        streams.delete(oldest);
      }
      stream = new VideoStream();
      streams.set(id, stream);
    }
    const chunk = {
      codec: SCREEN.CODEC.H264, width, height, key, seq: frame.seq, data: p,
    };
    return stream.decode(chunk).catch((err) => {
      throw new FrameError(`${what}: ${err?.message || err}`);
    });
  },

  draw(ctx, r, picture) {
    try {
      ctx.drawImage(picture, 0, 0, r.w, r.h, r.x, r.y, r.w, r.h);
    } finally {
      picture.close();
    }
  },

  release(picture) {
    picture?.close?.();
  },
};

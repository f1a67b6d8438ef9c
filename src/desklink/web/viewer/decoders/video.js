// Video chunks (screen message kind 4: a visitor's browser sharing its
// screen, docs/protocol.md "Sharing from the browser"), decoded with
// WebCodecs' VideoDecoder and drawn onto the same canvas as frames, so the
// rep's annotations and everything else overlay them as they do the agent's
// pictures.
//
// One VideoStream per canvas. It configures its decoder for the chunk's
// codec (and size) and configures it afresh when either changes; decoding
// starts at a key chunk (a delta chunk with nothing to build on fails at
// once, so the viewer acknowledges it and asks for a key frame). Each chunk
// resolves when its picture comes out of the decoder (optimizeForLatency:
// the screen encoder makes no reordered frames, so every chunk gives one
// picture at once); a decoder error fails every chunk waiting and the next
// key chunk starts a new decoder.
//
// No DOM: runs in the decoder worker.

import { SCREEN } from '../../shared/wire.js';
import { FrameError } from '../frame-error.js';

/** Codec byte -> name (as frames.js; built here so the decoders never import the parser). */
const CODEC_NAMES = new Map(Object.entries(SCREEN.CODEC).map(([name, byte]) => [byte, name]));

/** The configuration string for each codec byte (the decoder reads the real profile from the stream). */
const CODEC_STRINGS = { H264: 'avc1.640033', VP8: 'vp8', VP9: 'vp09.00.50.08', AV1: 'av01.0.12M.08' };

export function videoAvailable() {
  return typeof VideoDecoder === 'function';
}

export class VideoStream {
  constructor() {
    this.decoder = null;
    this.key = ''; // codec and size the decoder is configured for
    this.needsKey = true;
    this.waiting = []; // [{timestamp, resolve, reject}] in decode order
    this.nextTimestamp = 0;
  }

  /** Decode one parsed video chunk; resolves with a VideoFrame (the caller draws and closes it). */
  decode(chunk) {
    if (!videoAvailable()) return Promise.reject(new FrameError('this browser cannot decode video (no VideoDecoder); ask the visitor to share with the agent'));
    const name = CODEC_NAMES.get(chunk.codec);
    const wanted = `${name}:${chunk.width}x${chunk.height}`;
    if (wanted !== this.key || !this.decoder || this.decoder.state === 'closed') {
      if (!chunk.key) return Promise.reject(new FrameError(`video chunk ${chunk.seq} needs a key frame before it`));
      this._open(name, chunk, wanted);
    }
    if (this.needsKey && !chunk.key) return Promise.reject(new FrameError(`video chunk ${chunk.seq} needs a key frame before it`));
    this.needsKey = false;
    const timestamp = this.nextTimestamp;
    this.nextTimestamp += 1;
    return new Promise((resolve, reject) => {
      this.waiting.push({ timestamp, resolve, reject });
      try {
        this.decoder.decode(new EncodedVideoChunk({ type: chunk.key ? 'key' : 'delta', timestamp, data: chunk.data }));
      } catch (err) {
        this._fail(`video chunk ${chunk.seq} would not decode (${err?.message || err})`);
      }
    });
  }

  _open(name, chunk, wanted) {
    this.close();
    this.key = wanted;
    this.decoder = new VideoDecoder({
      output: (frame) => this._output(frame),
      error: (err) => this._fail(`the video decoder failed (${err?.message || err})`),
    });
    this.decoder.configure({ codec: CODEC_STRINGS[name], codedWidth: chunk.width, codedHeight: chunk.height, optimizeForLatency: true });
    this.needsKey = true;
  }

  _output(frame) {
    // Pictures come out in decode order; one that skipped a chunk settles the earlier ones as failed.
    while (this.waiting.length && this.waiting[0].timestamp < frame.timestamp) {
      this.waiting.shift().reject(new FrameError('the video decoder gave no picture for a chunk'));
    }
    const w = this.waiting[0];
    if (!w || w.timestamp !== frame.timestamp) {
      frame.close();
      return;
    }
    this.waiting.shift();
    w.resolve(frame);
  }

  _fail(message) {
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w.reject(new FrameError(message));
    if (this.decoder && this.decoder.state !== 'closed') {
      try { this.decoder.close(); } catch { /* already closed */ }
    }
    this.decoder = null;
    this.key = '';
    this.needsKey = true;
  }

  close() {
    if (this.decoder && this.decoder.state !== 'closed') {
      try { this.decoder.close(); } catch { /* already closed */ }
    }
    this.decoder = null;
    for (const w of this.waiting.splice(0)) w.reject(new FrameError('the video decoder was closed'));
  }
}

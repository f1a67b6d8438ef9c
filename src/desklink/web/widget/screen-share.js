// Sharing the visitor's screen from the help box: nothing to install, view
// only (docs/protocol.md "Sharing from the browser").
//
//   getDisplayMedia (the browser's own picker is the visitor's consent)
//     -> frames: MediaStreamTrackProcessor, or a <video> element where that is missing
//     -> VideoEncoder (H.264, else VP9, VP8, AV1: the first isConfigSupported
//        accepts), latencyMode "realtime"; or, where VideoEncoder is missing,
//        a canvas -> JPEG still frame at FALLBACK_FPS
//     -> /ws/share: hello with the join code, consent, then binary chunks
//        (protocol/screen.py: video kind 4, or frame kind 1 of one JPEG rectangle)
//
// Flow control is the agent's: at most `screen_window` chunks unacknowledged
// (screen.ack from the rep's viewer, through the relay); when the window is
// full a captured frame is dropped, never queued, so a slow link lowers the
// frame rate and adds no lag. The bitrate follows the acks' round trips.
// screen.refresh (a viewer joined, or lost a frame) asks for a key frame.
//
// Nothing is sent before the visitor picked a screen: the picker comes
// first, the socket is opened only once there is a track.
//
// Events (CustomEvent): state {state, reason}: 'picking', 'connecting',
// 'sharing', 'stopped' (reason: words for the visitor), 'failed' (reason);
// recording {on, error}: the server records the shared screen now, or no
// longer (error: why recording failed, in words); watchers {watchers}: who
// watches besides the rep ([{name, role}], from the welcome, then
// screen.watchers on each change).

import { CLOSE, LIMITS, SCREEN } from '../shared/wire.js';
import { wsUrl } from '../shared/dom.js';
import { t as say } from './i18n.js'; // `say`: this file's `t` is a time

/**
 * A still screen: Chromium delivers frames of an unchanged screen all the
 * same, and each would cost the rep a decode and a full draw. "Nothing
 * changed" encodes to the smallest delta chunk there is, the same size every
 * time (35 bytes for 1080p H.264; a typed character is 40 and up): after
 * STILL_RUN such chunks in a row (within STILL_SLACK bytes of the smallest
 * delta since the encoder opened) the help box takes at most STILL_FPS frames
 * a second, and goes back to MAX_FPS with the first larger chunk. Nothing is
 * lost either way: every frame taken shows the screen as it is; the first
 * change after a still spell waits up to 1/STILL_FPS s to be taken.
 */
export const STILL_FPS = 10;
const STILL_RUN = 15;
const STILL_SLACK = 3;
/** Still frames a second where VideoEncoder is missing. */
export const FALLBACK_FPS = 4;
/** JPEG quality of those still frames. */
const FALLBACK_QUALITY = 0.75;
/** Frames a second captured at most (the server allows LIMITS.BROWSER_SHARE_CHUNKS_PER_S). */
export const MAX_FPS = 30;
/** Codecs tried in order (the codec byte on the wire, and the strings WebCodecs knows). */
const CODECS = [
  { codec: SCREEN.CODEC.H264, strings: ['avc1.42E01F', 'avc1.640028', 'avc1.640033', 'avc1.640034'] },
  { codec: SCREEN.CODEC.VP9, strings: ['vp09.00.10.08', 'vp09.00.40.08', 'vp09.00.50.08'] },
  { codec: SCREEN.CODEC.VP8, strings: ['vp8'] },
  { codec: SCREEN.CODEC.AV1, strings: ['av01.0.04M.08', 'av01.0.08M.08', 'av01.0.12M.08'] },
];
/** Bitrate bounds, bits per second per pixel-frame (scaled by the screen size). */
const MIN_BITRATE = 300_000;
const BITS_PER_PIXEL = 1.2; // times width x height: 1080p starts at ~2.5 Mbit/s
const MAX_BITS_PER_PIXEL = 3.0;
/** Bitrate changes at most this often, ms. */
const ADAPT_MS = 2000;
/** Round trips (median, ms) below which the bitrate may grow, above which it shrinks. */
const RTT_GOOD_MS = 150;
const RTT_BAD_MS = 400;
/** screen.stats (the rep's latency readout) at most this often: text messages spend the socket's per-minute budget. */
const STATS_MS = 2000;
/** Chunks unacknowledged this long are given up (their viewer went away): a key frame follows. */
const ACK_TIMEOUT_MS = 3000;
/** The share's socket sends a ping this often when the server says nothing else. */
const DEFAULT_PING_MS = 2000;
const VIDEO_HEAD = 23; // 1 + 1 + 4 + 8 + 2 + 2 + 1 + 4
const FRAME_HEAD = 20;
const RECT_HEAD = 13;

/** The catalogue key of what the visitor reads when the share closes with a code (docs/protocol.md). */
const CLOSE_TEXT = {
  [CLOSE.AUTH]: 'share.close.auth',
  [CLOSE.POLICY]: 'share.close.policy',
  [CLOSE.ENDED]: 'share.close.ended',
  [CLOSE.LIMITED]: 'share.close.limited',
  [CLOSE.BAD_DATA]: 'share.close.bad_data',
  [CLOSE.TOO_BIG]: 'share.close.too_big',
};

/** A share whose relay node went away (lost, restarting, draining, moved, or its token ran out) asks
 * for a new relay ticket and goes on; the browser's picker is not shown again while the track lives. */
export function relayLost(code, reason = '') {
  return [1006, CLOSE.GOING_AWAY, 1011, 1012, CLOSE.RECONNECT, CLOSE.OTHER_RELAY].includes(code)
    || (code === CLOSE.RELAY_TOKEN && reason === 'relay token expired');
}
/** Reconnects after a relay loss before the share gives up, and the first wait (doubling), ms. */
const RELAY_RETRIES = 8;
const RELAY_RETRY_MS = 500;

/** Can this browser share its screen at all? */
export function canShare() {
  return !!(globalThis.isSecureContext && navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function');
}

/** The first configuration this browser's VideoEncoder accepts for width x height, or null. */
export async function chooseCodec(width, height, bitrate) {
  if (typeof VideoEncoder !== 'function') return null;
  for (const { codec, strings } of CODECS) {
    for (const s of strings) {
      const config = {
        codec: s, width, height, bitrate, framerate: MAX_FPS, latencyMode: 'realtime',
        bitrateMode: 'variable', hardwareAcceleration: 'no-preference',
      };
      if (codec === SCREEN.CODEC.H264) config.avc = { format: 'annexb' };
      try {
        const r = await VideoEncoder.isConfigSupported(config);
        if (r.supported) return { codec, config };
      } catch {
        // an invalid string for this browser: try the next
      }
    }
  }
  return null;
}

function median(values) {
  if (!values.length) return null;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall-clock microseconds (comparable between pages on one computer: the benchmark uses it). */
function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function even(n) {
  return Math.max(2, n - (n % 2));
}

/** One kind-4 video chunk message (without the channel byte). */
export function videoMessage({ key, seq, captureUs, width, height, codec, data }) {
  const out = new Uint8Array(VIDEO_HEAD + data.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, SCREEN.KIND_VIDEO);
  v.setUint8(1, key ? SCREEN.FLAG_KEY : 0);
  v.setUint32(2, seq);
  v.setBigUint64(6, BigInt(captureUs));
  v.setUint16(14, width);
  v.setUint16(16, height);
  v.setUint8(18, codec);
  v.setUint32(19, data.byteLength);
  out.set(data, VIDEO_HEAD);
  return out;
}

/** One kind-1 key frame of a single JPEG rectangle covering the screen. */
export function jpegFrameMessage({ seq, captureUs, width, height, jpeg }) {
  const out = new Uint8Array(FRAME_HEAD + RECT_HEAD + jpeg.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, SCREEN.KIND_FRAME);
  v.setUint8(1, SCREEN.FLAG_KEY);
  v.setUint32(2, seq);
  v.setBigUint64(6, BigInt(captureUs));
  v.setUint16(14, width);
  v.setUint16(16, height);
  v.setUint16(18, 1);
  v.setUint16(20, 0);
  v.setUint16(22, 0);
  v.setUint16(24, width);
  v.setUint16(26, height);
  v.setUint8(28, SCREEN.ENC.JPEG);
  v.setUint32(29, jpeg.byteLength);
  out.set(jpeg, FRAME_HEAD + RECT_HEAD);
  return out;
}

/** A screen message as binary WebSocket messages of at most maxBytes (protocol/framing.py parts). */
export function* parts(message, maxBytes) {
  const room = Math.max(1, maxBytes - 1);
  for (let start = 0; start < message.byteLength || start === 0; start += room) {
    const end = Math.min(message.byteLength, start + room);
    const part = new Uint8Array(1 + end - start);
    part[0] = end < message.byteLength ? (SCREEN.CHANNEL_SCREEN | SCREEN.CHANNEL_MORE) : SCREEN.CHANNEL_SCREEN;
    part.set(message.subarray(start, end), 1);
    yield part;
    if (end >= message.byteLength) return;
  }
}

export class ScreenShare extends EventTarget {
  /**
   * @param {object} o
   *   server         the DeskLink server's origin
   *   getCode()      a promise of a join code (the rep's offer), or of a fresh one with {fresh: true}
   *   getTicket()    a promise of the relay ticket {url, token} (POST /api/visitor/screen-relay),
   *                  asked before every connect; without it the share connects to `server`
   */
  constructor({ server, getCode, getTicket = null }) {
    super();
    this.server = server;
    this.getCode = getCode;
    this.getTicket = getTicket;
    this.relayRetries = 0;
    this.moving = false; // between relays after a relay loss
    this.relayToken = ''; // the last ticket's (empty from a single node: no relay to move to)
    this.state = 'idle';
    this.reason = '';
    this.stream = null;
    this.track = null;
    this.ws = null;
    this.recording = false; // the server records this share now (screen.recording)
    this.watchers = []; // who watches besides the rep ([{name, role}])
    this.limits = { max_message_bytes: LIMITS.MAX_MESSAGE_BYTES, screen_window: LIMITS.SCREEN_WINDOW, ping_interval_s: DEFAULT_PING_MS / 1000,
      browser_max_chunk_bytes: LIMITS.BROWSER_SHARE_MAX_CHUNK_BYTES };
    this.inFlight = new Map(); // seq -> sent at (performance.now())
    this.rtts = [];
    this.nextSeq = 1;
    this.wantKey = true;
    this.encoder = null;
    this.encoding = null; // {codec, config}
    this.mode = null; // 'video' | 'still'
    this.bitrate = 0;
    this.lastAdapt = 0;
    this.skipped = 0;
    this.sent = 0;
    this.bytes = 0;
    this.pending = new Map(); // frame timestamp -> capture time (us), between encode() and its output
    this.pingTimer = null;
    this.stillTimer = null;
    this.lastFrameAt = 0;
    this.lastStats = 0;
    this.oversized = 0; // chunks not sent: over browser_max_chunk_bytes
    this.stillRun = 0; // chunks in a row that said "nothing changed"
    this.stillQuality = FALLBACK_QUALITY;
    this.stillScale = 1;
  }

  emit(state, reason = '') {
    this.state = state;
    this.reason = reason;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, reason } }));
  }

  get sharing() {
    return this.state === 'sharing';
  }

  /** Ask the visitor to pick a screen, then share it. Call from a click (the picker needs the gesture). */
  async start() {
    if (this.state !== 'idle') return;
    this.emit('picking');
    try {
      this.stream = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: MAX_FPS, max: MAX_FPS }, width: { max: 3840 }, height: { max: 2160 } },
        audio: false,
      });
    } catch (err) {
      this._finish('failed', err?.name === 'NotAllowedError' ? say('share.not_picked') : say('share.cannot_share', { error: err?.message || err }));
      return;
    }
    if (this.state !== 'picking') { // stopped while the picker was open
      for (const t of this.stream.getTracks()) t.stop();
      return;
    }
    this.track = this.stream.getVideoTracks()[0];
    this.track.addEventListener('ended', () => this.stop('browser_bar'));
    this.emit('connecting');
    let code;
    try {
      code = await this.getCode();
    } catch (err) {
      this._finish('failed', err?.message || say('share.no_code'));
      return;
    }
    if (this.state !== 'connecting') return; // stopped meanwhile
    this._connect(code);
  }

  /** Stop sharing: 'stop_button' (the help box's Stop), 'browser_bar' (the browser's own), '' otherwise. */
  stop(why = 'stop_button') {
    if (this.state === 'stopped' || this.state === 'failed' || this.state === 'idle') return;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ t: 'screen.stop', why }));
    this._finish('stopped', say(why === 'browser_bar' ? 'share.stopped_browser' : 'share.stopped_you'));
  }

  /** Everything off: track, encoder, timers, socket. */
  _finish(state, reason) {
    const wasLive = !['stopped', 'failed'].includes(this.state);
    clearInterval(this.pingTimer);
    clearInterval(this.stillTimer);
    this.reader?.cancel().catch(() => {});
    this.reader = null;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close(1000, 'sharing stopped');
    }
    if (wasLive) this.emit(state, reason);
  }

  // ---------------------------------------------------------------- socket

  /** Open the share's socket at the relay the ticket names; `code` is the join code (empty when the
   * share comes back after a relay loss: the ticket's token names the session). */
  async _connect(code) {
    let url = wsUrl(this.server, '/ws/share');
    if (this.getTicket) {
      try {
        const ticket = await this.getTicket();
        // A single node (role all) is its own relay and gives no token: the join code admits.
        this.relayToken = ticket.token || '';
        url = wsUrl(ticket.url, this.relayToken ? `/ws/share?token=${encodeURIComponent(this.relayToken)}` : '/ws/share');
      } catch (err) {
        if (this.state !== 'connecting') return;
        if (!code && this._retryRelay()) return;
        this._finish('failed', err?.message || say('share.lost'));
        return;
      }
      if (this.state !== 'connecting') return; // stopped meanwhile
    }
    const ws = this.ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => ws.send(JSON.stringify(code ? { t: 'hello', code, platform: 'browser', version: '' }
      : { t: 'hello', platform: 'browser', version: '' }));
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      this._onMessage(msg);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.welcomed && event.code === CLOSE.AUTH && !this.retried && this.state === 'connecting') {
        // The offer's code was spent or expired: once more with a fresh one.
        this.retried = true;
        this.getCode({ fresh: true }).then((fresh) => {
          if (this.state === 'connecting') this._connect(fresh);
        }, (err) => this._finish('failed', err?.message || say(CLOSE_TEXT[CLOSE.AUTH])));
        return;
      }
      const live = this.track?.readyState === 'live';
      if (this.getTicket && this.relayToken && live && relayLost(event.code, event.reason)
          && ((this.welcomed && this.state === 'sharing') || (this.moving && this.state === 'connecting'))) {
        // The relay node went away: the same stream, a new ticket, a new relay (a key frame first).
        if (this.state === 'sharing') {
          this._suspend();
          this.emit('connecting', say('share.relay_lost'));
        }
        this.moving = true;
        if (this._retryRelay()) return;
      }
      const known = CLOSE_TEXT[event.code] ? say(CLOSE_TEXT[event.code]) : '';
      const text = event.reason ? `${known || say('share.stopped')} (${event.reason})` : (known || say('share.lost'));
      this._finish(this.state === 'sharing' ? 'stopped' : 'failed', text);
    };
  }

  /** Try the relay again after a backoff; false when the retries are used up. */
  _retryRelay() {
    if (this.relayRetries >= RELAY_RETRIES) return false;
    const wait = RELAY_RETRY_MS * 2 ** this.relayRetries * (0.75 + Math.random() * 0.5);
    this.relayRetries += 1;
    setTimeout(() => { if (this.state === 'connecting') this._connect(''); }, wait);
    return true;
  }

  /** Between relays: capture paused (the track stays live), the encoder and the window reset. */
  _suspend() {
    clearInterval(this.pingTimer);
    clearInterval(this.stillTimer); // the track reader goes on, dropping frames until sharing again
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = null;
    this.inFlight.clear();
    this.wantKey = true;
    this.welcomed = false;
  }

  /** Who watches besides the rep, as the server said (no silent watching). */
  _watchers(watchers) {
    this.watchers = Array.isArray(watchers) ? watchers : [];
    this.dispatchEvent(new CustomEvent('watchers', { detail: { watchers: this.watchers } }));
  }

  _send(msg) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  _onMessage(msg) {
    switch (msg.t) {
      case 'welcome':
        this.welcomed = true;
        this.moving = false;
        this.relayRetries = 0;
        this.limits = { ...this.limits, ...(msg.limits || {}) };
        this.rep = msg.rep?.name || '';
        this._watchers(msg.watchers);
        this._send({ t: 'consent', view: true }); // the visitor already chose in the browser's picker
        this.pingTimer = setInterval(() => this._send({ t: 'ping' }), Math.max(500, (this.limits.ping_interval_s || 2) * 1000));
        this._startPipeline();
        break;
      case 'screen.ack': this._acked(msg.seq); break;
      case 'screen.recording':
        this.recording = !!msg.on;
        this.dispatchEvent(new CustomEvent('recording', { detail: { on: this.recording, error: msg.error || '' } }));
        break;
      case 'screen.watchers': this._watchers(msg.watchers); break;
      case 'screen.refresh':
        // A viewer (re)joined or lost a chunk: what is in flight will not be
        // acknowledged by anyone now (the agent's FlowControl.reset), and the
        // next chunk must decode on its own.
        this.inFlight.clear();
        this.wantKey = true;
        break;
      case 'ended':
        // by 'visitor' reaches a sharing page only when the visitor's agent took over (relay/session.py).
        this._finish('stopped', msg.by === 'rep' ? say('share.rep_stopped', { name: this.rep || say('who.the_rep_capital') })
          : msg.by === 'session_ended' ? say('share.close.ended')
          : msg.by === 'visitor' ? say('share.agent_took_over') : say('share.stopped'));
        break;
      default: break;
    }
  }

  _acked(seq) {
    const sentAt = this.inFlight.get(seq);
    if (sentAt === undefined) return;
    for (const [s] of this.inFlight) {
      this.inFlight.delete(s);
      if (s === seq) break;
    }
    this.rtts.push(performance.now() - sentAt);
    if (this.rtts.length > 30) this.rtts.shift();
    const t = performance.now();
    if (t - this.lastStats >= STATS_MS) {
      this.lastStats = t;
      this._send({ t: 'screen.stats', rtt_ms: Math.min(600000, median(this.rtts)) });
    }
  }

  get _windowFull() {
    const [oldest] = this.inFlight.values();
    if (oldest !== undefined && performance.now() - oldest > ACK_TIMEOUT_MS) {
      // Acks that never came (a viewer gone mid-frame): start again from a key frame rather than stall.
      this.inFlight.clear();
      this.wantKey = true;
    }
    return this.inFlight.size >= Math.max(1, this.limits.screen_window || 2);
  }

  _takeSeq() {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0 || 1;
    return seq;
  }

  /** Send one chunk in parts; false (nothing sent) when it is over the server's bound. */
  _sendChunk(seq, message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return true;
    if (message.byteLength > this.limits.browser_max_chunk_bytes) {
      // Never send what the server refuses: lower the bitrate and ask for a new key frame.
      this.bitrate = Math.max(MIN_BITRATE, Math.round(this.bitrate / 2));
      this._reconfigure();
      this.wantKey = true;
      this.oversized += 1;
      return false;
    }
    this.inFlight.set(seq, performance.now());
    for (const part of parts(message, this.limits.max_message_bytes)) this.ws.send(part);
    this.sent += 1;
    this.bytes += message.byteLength;
    return true;
  }

  // --------------------------------------------------------------- capture

  async _startPipeline() {
    this.emit('sharing');
    // The track's settings may not be the size of its frames (Chromium reports the
    // constraint's maximum): the codec and bitrate are chosen at the first frame.
    // After a relay loss the pipeline goes on as it was: the same mode, the
    // same track reader (frames read meanwhile were dropped), a new encoder.
    this.mode = this.mode || (typeof VideoEncoder === 'function' ? 'video' : 'still');
    if (this.mode === 'video' && typeof MediaStreamTrackProcessor === 'function') {
      if (!this.reader) this._readTrack();
    } else {
      this._pollVideoElement();
    }
  }

  /** The codec for frames of width x height; false (and still frames from now on) where none fits. */
  async _choose(width, height) {
    this.choosing = true;
    this.bitrate = Math.max(MIN_BITRATE, Math.round(width * height * BITS_PER_PIXEL));
    const encoding = await chooseCodec(width, height, this.bitrate);
    this.choosing = false;
    if (!this.sharing) return;
    if (encoding) {
      this.encoding = encoding;
      return;
    }
    this.mode = 'still';
    this.reader?.cancel().catch(() => {});
    this.reader = null;
    this._pollVideoElement();
  }

  /** Frames as the browser captures them (Chromium). */
  async _readTrack() {
    const processor = new MediaStreamTrackProcessor({ track: this.track });
    this.reader = processor.readable.getReader();
    while (this.reader && ['sharing', 'connecting'].includes(this.state)) {
      let result;
      try {
        result = await this.reader.read();
      } catch {
        return;
      }
      if (result.done) return;
      this._onFrame(result.value);
    }
  }

  /** Frames from a <video> element where MediaStreamTrackProcessor is missing (and for still frames). */
  _pollVideoElement() {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = this.stream;
    video.play().catch(() => {});
    this.video = video;
    const fps = this.mode === 'video' ? MAX_FPS : FALLBACK_FPS;
    this.stillTimer = setInterval(() => {
      if (!this.sharing || video.readyState < 2 || !video.videoWidth) return;
      if (this.mode === 'video') {
        this._onFrame(new VideoFrame(video, { timestamp: Math.round(performance.now() * 1000) }));
      } else {
        this._still(video);
      }
    }, 1000 / fps);
  }

  _onFrame(frame) {
    const captureUs = nowUs();
    const interval = 1000 / (this.stillRun >= STILL_RUN ? STILL_FPS : MAX_FPS);
    const t = performance.now();
    if (!this.sharing || this._windowFull || (this.encoder && this.encoder.encodeQueueSize > 0) || t - this.lastFrameAt < interval * 0.8) {
      if (this.sharing && this._windowFull) this.skipped += 1;
      frame.close();
      return;
    }
    this.lastFrameAt = t;
    if (this.mode !== 'video') {
      frame.close();
      return;
    }
    const width = even(frame.displayWidth);
    const height = even(frame.displayHeight);
    if (!this.encoding || this.choosing) {
      if (!this.choosing) this._choose(width, height);
      frame.close();
      return;
    }
    if (!this.encoder || this.size?.width !== width || this.size?.height !== height) {
      if (!this._openEncoder(width, height)) {
        frame.close();
        return;
      }
    }
    this._adapt(t);
    const key = this.wantKey;
    this.wantKey = false;
    this.pending.set(frame.timestamp, captureUs);
    try {
      this.encoder.encode(frame, { keyFrame: key });
    } catch {
      this.pending.delete(frame.timestamp);
      this.wantKey = true;
    }
    frame.close();
  }

  _openEncoder(width, height) {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    const resized = this.size && (this.size.width !== width || this.size.height !== height);
    this.size = { width, height };
    this.pending.clear();
    this.minDelta = Infinity;
    this.stillRun = 0;
    if (resized) this.bitrate = Math.max(MIN_BITRATE, Math.round(width * height * BITS_PER_PIXEL));
    const config = { ...this.encoding.config, width, height, bitrate: this.bitrate };
    this.encoder = new VideoEncoder({
      output: (chunk) => this._onChunk(chunk),
      error: (err) => {
        this.encoder = null; // opened again, with a key frame, on the next frame
        this.wantKey = true;
        console.warn('DeskLink share: encoder error', err);
      },
    });
    try {
      this.encoder.configure(config);
    } catch (err) {
      this._finish('failed', say('share.cannot_encode', { error: err?.message || err }));
      return false;
    }
    this.wantKey = true;
    return true;
  }

  _reconfigure() {
    if (!this.encoder || this.encoder.state !== 'configured') return;
    try {
      this.encoder.configure({ ...this.encoding.config, width: this.size.width, height: this.size.height, bitrate: this.bitrate });
    } catch {
      // keep the old rate
    }
  }

  _onChunk(chunk) {
    // One chunk per frame handed in, in order; a frame the encoder dropped has none.
    const captureUs = this.pending.get(chunk.timestamp) ?? nowUs();
    for (const ts of this.pending.keys()) {
      if (ts > chunk.timestamp) break;
      this.pending.delete(ts);
    }
    const seq = this._takeSeq();
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    if (chunk.type === 'delta') this.minDelta = Math.min(this.minDelta, data.byteLength);
    this.stillRun = chunk.type === 'delta' && data.byteLength <= this.minDelta + STILL_SLACK ? this.stillRun + 1 : 0;
    const message = videoMessage({
      key: chunk.type === 'key', seq, captureUs, width: this.size.width, height: this.size.height, codec: this.encoding.codec, data,
    });
    this._sendChunk(seq, message);
  }

  /** Follow the rep's link: slower round trips lower the bitrate, quick ones raise it. */
  _adapt(t) {
    if (t - this.lastAdapt < ADAPT_MS || this.rtts.length < 5) return;
    this.lastAdapt = t;
    const rtt = median(this.rtts);
    const max = Math.round(this.size.width * this.size.height * MAX_BITS_PER_PIXEL);
    let next = this.bitrate;
    if (rtt > RTT_BAD_MS) next = Math.max(MIN_BITRATE, Math.round(this.bitrate * 0.7));
    else if (rtt < RTT_GOOD_MS) next = Math.min(max, Math.round(this.bitrate * 1.15));
    if (next !== this.bitrate) {
      this.bitrate = next;
      this._reconfigure();
    }
  }

  /** The fallback: one JPEG of the whole picture as a key frame. */
  async _still(video) {
    if (this._windowFull || this.encodingStill) {
      if (this._windowFull) this.skipped += 1;
      return;
    }
    this.encodingStill = true;
    try {
      const captureUs = nowUs();
      // Scaled down (and the quality lowered) while a still would be over the server's bound.
      const width = even(Math.round(video.videoWidth * this.stillScale));
      const height = even(Math.round(video.videoHeight * this.stillScale));
      const canvas = this.stillCanvas || (this.stillCanvas = document.createElement('canvas'));
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      canvas.getContext('2d', { alpha: false }).drawImage(video, 0, 0, width, height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', this.stillQuality));
      if (!blob || !this.sharing) return;
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      const seq = this._takeSeq();
      if (!this._sendChunk(seq, jpegFrameMessage({ seq, captureUs, width, height, jpeg }))) {
        if (this.stillQuality > 0.45) this.stillQuality -= 0.15;
        else this.stillScale *= 0.75;
      }
    } finally {
      this.encodingStill = false;
    }
  }

  statistics() {
    return {
      mode: this.mode, codec: this.encoding?.config.codec ?? null, bitrate: this.bitrate, sent: this.sent,
      bytes: this.bytes, skipped: this.skipped, oversized: this.oversized, rttMs: median(this.rtts),
      still: this.stillRun >= STILL_RUN,
    };
  }
}

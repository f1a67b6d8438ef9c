// ScreenViewer: the rep's view of the visitor's screen (docs/protocol.md,
// "Screen sharing").
//
// It opens /ws/viewer?session=<id> (same origin; the login cookie
// authenticates), shows the relay's screen.state as a status line, and hands
// every binary frame to the renderer (a worker owning the canvas, or the page
// as a fallback). Each frame is acknowledged with screen.ack once it is on
// the canvas: the agent keeps at most two frames unacknowledged, so a slow
// decoder lowers the frame rate instead of building a queue.
//
// A dropped socket reconnects with backoff (0.5 s doubling to 10 s, jittered);
// the relay then sends a key frame. Close codes that reconnecting cannot fix
// (login gone, session ended, not allowed) stop it.
//
// All text is set with textContent; no inline styles (the CSP forbids them):
// the look is viewer/viewer.css, driven by data- attributes and `hidden`.

import { h, setText, formatClock, wsUrl } from '../shared/dom.js';
import { downloadBlob } from '../shared/http.js';
import { KIND_CURSOR, KIND_FRAME, KIND_POINTER, parseChannelMessage, screenKind } from './frames.js';
import { CursorOverlay } from './cursor.js';
import { RemoteControl } from './input.js';
import { InlineRenderer, WorkerRenderer, workersAvailable } from './renderer.js';
import { ViewerStats, formatStats } from './stats.js';
import { Whiteboard } from './whiteboard.js';

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const PING_MS = 25_000;
const STATS_MS = 500;
/** Ask for at most one key frame per this long after bad frames. */
const REFRESH_GAP_MS = 1000;
/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSES = {
  1008: 'This console is not allowed to connect from this address.',
  4001: 'Your login has expired. Log in again to view the screen.',
  4003: 'You are not allowed to view this screen.',
  4004: 'This support session is no longer open.',
  4010: 'The support session ended.',
};
const STOPPED_BY = {
  visitor: 'by the visitor',
  rep: 'by you',
  session_ended: 'the session ended',
  agent_lost: 'the visitor’s agent disconnected',
};
export class ScreenViewer {
  /**
   * @param {object} options
   *   sessionId      the support session
   *   visitorName    for the wording
   *   requestShare() sends screen.request on the console socket; returns false when not connected
   *   toast(text, kind)
   *   onShow(visible) the viewer area was shown or hidden
   *   origin         server origin (default: this page's)
   */
  constructor(options) {
    this.options = options;
    this.sessionId = options.sessionId;
    this.visitor = options.visitorName || 'The visitor';
    this.origin = options.origin || location.origin;
    this.ws = null;
    this.gen = 0;
    this.delay = MIN_DELAY_MS;
    this.retryTimer = null;
    this.pingTimer = null;
    this.statsTimer = null;
    this.final = null; // text once closed for good
    this.reconnecting = false;
    this.state = null; // the last screen.state
    this.wantRequest = false;
    this.offer = null;
    this.offerFresh = false;
    this.lastRefresh = 0;
    this.size = null;
    this.scale = 'fit';
    this.stats = new ViewerStats();
    this._build();
    this._startRenderer();
  }

  // ------------------------------------------------------------- building

  _build() {
    const btn = (testid, text, title, onClick, extra = {}) => h('button', {
      type: 'button', class: 'btn btn-small screen-btn', testid, title, on: { click: onClick }, ...extra,
    }, text);
    this.statusEl = h('span', { class: 'screen-status', testid: 'screen-status', role: 'status', data: { status: 'connecting' } }, 'Connecting…');
    this.sizeEl = h('span', { class: 'screen-size', testid: 'screen-size' });
    this.statsEl = h('span', { class: 'screen-stats', testid: 'screen-stats', title: 'Frames drawn per second and bandwidth over the last 2 s; time from arrival to pixels (decode + draw); time between frames',
      data: { fps: '0', kbps: '0', frames: '0' } }, '');
    this.monitorSelect = h('select', { class: 'screen-monitor', testid: 'screen-monitor', 'aria-label': 'Monitor', props: { hidden: true },
      on: { change: () => this._send({ t: 'screen.select', monitor: Number(this.monitorSelect.value) }) } });
    this.fitButton = btn('screen-fit', 'Actual size', 'Show the screen pixel for pixel (1:1)', () => this.setScale(this.scale === 'fit' ? '1:1' : 'fit'), { 'aria-pressed': 'false' });
    this.refreshButton = btn('screen-refresh', 'Refresh', 'Ask for a complete new picture', () => this.refresh());
    this.snapshotButton = btn('screen-snapshot', 'Save image', 'Download the current picture as PNG', () => this._saveImage());
    this.fullButton = btn('screen-fullscreen', 'Full screen', 'Show the screen on the whole display', () => this._fullscreen());
    this.stopButton = btn('screen-stop', 'Stop sharing', 'End screen sharing for the visitor too', () => this.stop(), { class: 'btn btn-small btn-danger screen-btn' });
    this.closeButton = btn('screen-close', 'Close', 'Close the viewer', () => this.hide());

    this.canvas = h('canvas', { class: 'screen-canvas', testid: 'screen-canvas', 'aria-label': `${this.visitor}’s screen` });
    this.cursorCanvas = h('canvas', { class: 'screen-cursor', 'aria-hidden': 'true', width: 1, height: 1 });
    this.cursor = new CursorOverlay(this.cursorCanvas);
    this.surface = h('div', { class: 'screen-surface', testid: 'screen-surface', 'aria-label': `${this.visitor}’s screen`,
      props: { hidden: true }, data: { control: 'view' } }, this.cursorCanvas, this.canvas);
    // Remote control: the bar's control group, and the rep's mouse and keyboard on the surface.
    this.control = new RemoteControl({
      root: () => this.element, surface: this.surface, visitor: this.visitor, button: btn,
      canvas: () => this.canvas, size: () => this.size, send: (msg) => this._send(msg), toast: this.options.toast,
    });
    // Whiteboard: a canvas over the picture (under the remote pointer) and its group in the bar.
    this.whiteboard = new Whiteboard({
      surface: this.surface, before: this.cursorCanvas, size: () => this.size, button: btn,
      send: (msg) => this._send(msg), toast: this.options.toast,
    });

    this.noticeTitle = h('h4', { class: 'screen-notice-title' });
    this.noticeText = h('p', { class: 'screen-notice-text' });
    this.codeEl = h('strong', { class: 'screen-code', testid: 'screen-code' });
    this.commandEl = h('code', { class: 'screen-command', testid: 'screen-command' });
    this.expiresEl = h('span', { class: 'screen-expires', testid: 'screen-code-expires' });
    this.offerEl = h('div', { class: 'screen-offer', props: { hidden: true } },
      h('span', { class: 'screen-offer-label' }, 'Join code to read out'), this.codeEl, this.expiresEl,
      h('span', { class: 'screen-offer-label' }, 'The visitor runs'), this.commandEl);
    this.notice = h('div', { class: 'screen-notice', testid: 'screen-notice' },
      h('div', { class: 'screen-notice-mark', 'aria-hidden': 'true' }), this.noticeTitle, this.noticeText, this.offerEl);
    this.stage = h('div', { class: 'screen-stage', testid: 'screen-stage' }, this.surface, this.notice);

    this.element = h('section', { class: 'screen', testid: 'screen', 'aria-label': 'Visitor’s screen', props: { hidden: true },
      data: { status: 'connecting', scale: this.scale, sessionId: this.sessionId, frames: 0 } },
      h('div', { class: 'screen-bar' },
        h('div', { class: 'screen-state' }, h('span', { class: 'screen-dot', 'aria-hidden': 'true' }), this.statusEl, this.sizeEl),
        this.control.element,
        this.whiteboard.element,
        this.statsEl,
        h('div', { class: 'screen-tools' }, this.monitorSelect, this.fitButton, this.refreshButton, this.snapshotButton,
          this.fullButton, this.stopButton, this.closeButton)),
      this.stage);
    // For tests and tools: the canvas belongs to the worker, so pixels are read through here.
    this.element.snapshot = (format) => this.snapshot(format);
    this._render();
  }

  _startRenderer() {
    const onResult = (msg) => this._onResult(msg);
    if (workersAvailable(this.canvas)) {
      try {
        this.renderer = new WorkerRenderer(this.canvas, onResult, (why) => this._fallBack(why));
        this.element.dataset.renderer = 'worker';
        return;
      } catch (err) {
        this._fallBack(String(err.message || err));
        return;
      }
    }
    this.renderer = new InlineRenderer(this.canvas, onResult);
    this.element.dataset.renderer = 'page';
  }

  /** The worker could not start: draw on the page instead, on a fresh canvas. */
  _fallBack(why) {
    console.warn(`DeskLink viewer: decoding on the page (${why})`);
    this.renderer?.destroy();
    const fresh = h('canvas', { class: 'screen-canvas', testid: 'screen-canvas', 'aria-label': this.canvas.getAttribute('aria-label') });
    this.canvas.replaceWith(fresh);
    this.canvas = fresh;
    this.renderer = new InlineRenderer(fresh, (msg) => this._onResult(msg));
    this.element.dataset.renderer = 'page';
    this.refresh();
  }

  // ------------------------------------------------------------- public

  get visible() {
    return !this.element.hidden;
  }

  get status() {
    return this.state?.status || 'connecting';
  }

  /** Show the viewer and connect; with `request`, ask the visitor to share unless they already are. */
  open({ request = false } = {}) {
    if (this.element.hidden) {
      this.element.hidden = false;
      this.options.onShow?.(true);
    }
    if (this.final) {
      this.final = null;
      this.state = null;
    }
    if (request) this.wantRequest = true;
    if (!this.ws && !this.retryTimer) this._connect();
    else if (this.state) this._maybeRequest();
    clearInterval(this.statsTimer);
    this.statsTimer = setInterval(() => this._renderStats(), STATS_MS);
    this._render();
  }

  /** Close the socket and hide the viewer (sharing, if any, is stopped first). */
  hide() {
    if (['asking', 'sharing'].includes(this.status)) this._send({ t: 'screen.stop' });
    this.control.reset();
    this.whiteboard.setEnabled(false);
    this._disconnect();
    clearInterval(this.statsTimer);
    this.element.hidden = true;
    this.state = null;
    this.surface.hidden = true;
    this.cursor.clear();
    this.options.onShow?.(false);
  }

  /** A screen.offer for this session: show the code the rep reads out. */
  showOffer(offer) {
    setText(this.codeEl, offer.code || '');
    setText(this.commandEl, offer.command || '');
    const until = formatClock(offer.expires_at);
    setText(this.expiresEl, until ? `valid until ${until} · single use` : 'single use');
    this.offer = offer;
    this.offerFresh = true;
    this.open();
  }

  refresh() {
    this._send({ t: 'screen.refresh' });
  }

  stop() {
    if (!this._send({ t: 'screen.stop' })) this.options.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
  }

  setScale(scale) {
    this.scale = scale === '1:1' ? '1:1' : 'fit';
    this.element.dataset.scale = this.scale;
    setText(this.fitButton, this.scale === 'fit' ? 'Actual size' : 'Fit');
    this.fitButton.title = this.scale === 'fit' ? 'Show the screen pixel for pixel (1:1)' : 'Scale the screen to fit';
    this.fitButton.setAttribute('aria-pressed', String(this.scale === '1:1'));
  }

  /** The picture now: 'rgba' -> {width, height, data}, 'png' -> {width, height, blob}. */
  snapshot(format = 'rgba') {
    return this.renderer.snapshot(format);
  }

  /** The session is over: close everything for good. */
  destroy() {
    this.control.destroy();
    this.whiteboard.destroy();
    this._disconnect();
    clearInterval(this.statsTimer);
    this.renderer?.destroy();
    this.element.remove();
  }

  // ------------------------------------------------------------- socket

  _connect() {
    this.retryTimer = null;
    this.gen += 1;
    const gen = this.gen;
    const url = wsUrl(this.origin, `/ws/viewer?session=${encodeURIComponent(this.sessionId)}`);
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this._scheduleRetry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this._send({ t: 'ping' }), PING_MS);
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      if (typeof event.data === 'string') {
        let msg;
        try { msg = JSON.parse(event.data); } catch { return; }
        if (msg && typeof msg === 'object') this._onControl(msg);
      } else {
        this._onBinary(event.data, gen);
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      this.control.disconnected();
      const final = FINAL_CLOSES[event.code];
      if (final) {
        this.final = final;
        this.reconnecting = false;
      } else {
        this.reconnecting = true;
        this._scheduleRetry();
      }
      this._render();
    };
  }

  _scheduleRetry() {
    clearTimeout(this.retryTimer);
    const wait = this.delay * (0.75 + Math.random() * 0.5);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.retryTimer = setTimeout(() => this._connect(), wait);
  }

  _disconnect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    this.gen += 1; // frames still in the renderer belong to the old socket: no acks for them
    this.reconnecting = false;
    if (ws && ws.readyState <= 1) {
      try { ws.close(1000, 'viewer closed'); } catch { /* closing already */ }
    }
  }

  _send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // ------------------------------------------------------------- messages

  _onControl(msg) {
    if (msg.t === 'screen.state') {
      this.delay = MIN_DELAY_MS; // the relay took us: a later drop starts the backoff afresh
      this.reconnecting = false;
      this.state = msg;
      // A join code is single use: once an agent is in, the code shown is spent.
      if (['asking', 'sharing'].includes(msg.status) && msg.agent) this.offerFresh = false;
      if (msg.status !== 'sharing') {
        this.cursor.clear();
        this.surface.dataset.remoteCursor = 'none';
      }
      this.control.onState(msg);
      this._renderMonitors();
      this._maybeRequest();
      this._render();
    } else if (msg.t === 'annotate') {
      this.whiteboard.apply(msg);
    } else if (msg.t === 'screen.stats') {
      this.stats.onLatency(msg.rtt_ms);
    } else if (msg.t === 'error') {
      if (this.control.swallowError(msg)) return;
      this.options.toast?.(msg.message ? `Screen: ${msg.message}` : 'The screen relay refused that.', 'error');
    }
  }

  _maybeRequest() {
    if (!this.wantRequest || !this.state) return;
    this.wantRequest = false;
    if (['asking', 'sharing'].includes(this.status) && this.state.agent) return; // already under way
    if (!this.options.requestShare()) this.options.toast?.('Not connected. Try again in a moment.', 'error');
  }

  _onBinary(buffer, gen) {
    this.stats.onBytes(buffer.byteLength);
    const kind = screenKind(buffer);
    if (kind === KIND_FRAME) {
      this.stats.onArrival();
      this.renderer.frame(buffer, gen);
    } else if (kind === KIND_CURSOR || kind === KIND_POINTER) {
      try {
        this.cursor.apply(parseChannelMessage(buffer));
        this.surface.dataset.remoteCursor = this.cursor.shape ? 'shape' : 'none';
      } catch (err) {
        console.warn('DeskLink viewer: bad cursor message', err);
      }
    }
  }

  _onResult(msg) {
    const current = msg.gen === this.gen;
    if (msg.type === 'drawn') {
      this.stats.onDrawn(msg.decodeMs);
      if (current) this._send({ t: 'screen.ack', seq: msg.seq });
      if (!this.size || this.size.width !== msg.width || this.size.height !== msg.height) {
        this.size = { width: msg.width, height: msg.height };
        this.cursor.resize(msg.width, msg.height);
        this.whiteboard.resize(msg.width, msg.height);
      }
      if (msg.incomplete && current) this._refreshSoon();
      if (this.surface.hidden) {
        this.surface.hidden = false;
        this._render();
      }
      this.element.dataset.frames = String(this.stats.frames);
    } else if (msg.type === 'failed') {
      console.warn(`DeskLink viewer: frame ${msg.seq} not drawn: ${msg.message}`);
      if (current && msg.seq) this._send({ t: 'screen.ack', seq: msg.seq });
      if (current) this._refreshSoon();
    }
  }

  _refreshSoon() {
    const now = performance.now();
    if (now - this.lastRefresh < REFRESH_GAP_MS) return;
    this.lastRefresh = now;
    this.refresh();
  }

  // ------------------------------------------------------------- rendering

  _statusText() {
    if (this.final) return ['closed', this.final];
    if (this.reconnecting) return ['reconnecting', 'Connection lost. Reconnecting…'];
    const s = this.state;
    // A new code is out: whatever happened before, we now wait for its agent.
    if (this.offerFresh && ['waiting_agent', 'stopped', 'denied'].includes(s?.status)) return ['waiting_agent', 'Waiting for the visitor to run the agent'];
    switch (s?.status) {
      case 'waiting_agent': return ['waiting_agent', 'Waiting for the visitor to run the agent'];
      case 'asking': return ['asking', 'Waiting for the visitor to allow'];
      case 'sharing': return ['sharing', s.agent === false ? 'Sharing (the visitor’s agent is reconnecting…)' : 'Sharing'];
      case 'denied': return ['denied', 'The visitor declined'];
      case 'stopped': return ['stopped', `Sharing stopped (${STOPPED_BY[s.by] || (s.by ? `by ${s.by}` : 'by the visitor')})`];
      default: return ['connecting', 'Connecting…'];
    }
  }

  _noticeText(status) {
    const v = this.visitor;
    switch (status) {
      case 'waiting_agent': return ['Waiting for the agent',
        `Read the code to ${v}, or ask them to copy the command from their help box. Nothing is shared until they click Allow.`];
      case 'asking': return [`Asking ${v}`, `${v} is being asked to allow screen sharing in the DeskLink window on their computer.`];
      case 'sharing': return ['Loading the picture…', 'The first picture is on its way.'];
      case 'denied': return ['The visitor declined', `${v} did not allow screen sharing. You can ask again with Request screen sharing.`];
      case 'stopped': return ['Sharing stopped', 'You can ask again with Request screen sharing.'];
      case 'reconnecting': return ['Connection lost', 'Reconnecting to the screen relay…'];
      case 'closed': return ['Viewer closed', this.final || ''];
      default: return ['Connecting…', 'Opening the screen relay.'];
    }
  }

  _render() {
    const [status, text] = this._statusText();
    this.element.dataset.status = status;
    this.statusEl.dataset.status = status;
    setText(this.statusEl, text);
    const sharing = status === 'sharing';
    const picture = !this.surface.hidden;
    setText(this.sizeEl, this.size && sharing ? `${this.size.width} × ${this.size.height}` : '');
    // The notice covers the stage until there is a live picture; over an old picture it is a banner.
    this.notice.hidden = sharing && picture;
    this.notice.dataset.over = String(picture && !sharing);
    const [title, detail] = this._noticeText(status);
    setText(this.noticeTitle, title);
    setText(this.noticeText, detail);
    this.offerEl.hidden = !this.offerFresh || !['waiting_agent', 'connecting', 'reconnecting'].includes(status);
    const live = ['asking', 'sharing'].includes(status) || (status === 'reconnecting' && ['asking', 'sharing'].includes(this.state?.status));
    this.stopButton.hidden = !live;
    this.closeButton.hidden = live;
    this.refreshButton.disabled = !sharing;
    this.snapshotButton.disabled = !picture;
    this.fullButton.hidden = !document.fullscreenEnabled;
    this.control.render(sharing, this.state?.agent !== false);
    this.whiteboard.setEnabled(sharing);
  }


  _renderMonitors() {
    const monitors = Array.isArray(this.state?.monitors) ? this.state.monitors : [];
    const select = this.monitorSelect;
    select.hidden = monitors.length < 2;
    while (select.firstChild) select.firstChild.remove();
    monitors.forEach((m, i) => {
      const label = `Screen ${i + 1} (${m.width} × ${m.height}${m.primary ? ', main' : ''})`;
      select.append(h('option', { value: String(m.index) }, label));
    });
    if (monitors.length) select.value = String(this.state.selected ?? monitors[0].index);
  }

  _renderStats() {
    const s = this.stats.snapshot();
    const el = this.statsEl;
    el.dataset.fps = s.fps.toFixed(1);
    el.dataset.kbps = String(Math.round(s.kbps));
    el.dataset.frames = String(s.frames);
    el.dataset.drawMs = s.drawMs === null ? '' : s.drawMs.toFixed(1);
    el.dataset.intervalMs = s.intervalMs === null ? '' : String(Math.round(s.intervalMs));
    el.dataset.latencyMs = s.latencyMs === null ? '' : String(Math.round(s.latencyMs));
    setText(el, s.frames ? formatStats(s) : '');
  }

  async _saveImage() {
    try {
      const { blob } = await this.snapshot('png');
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      downloadBlob(blob, `screen-${stamp}.png`);
    } catch (err) {
      this.options.toast?.(`Could not save the picture: ${err.message || err}`, 'error');
    }
  }

  _fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen?.();
    else this.stage.requestFullscreen?.().catch(() => {});
  }
}

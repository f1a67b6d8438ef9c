// ScreenViewer: the rep's view of the visitor's screen (docs/protocol.md,
// "Screen sharing"), the page half. It puts together
//
//   ReconnectingSocket (shared/socket.js)  before every (re)connect, GET
//        /api/sessions/<id>/relay (the relay ticket: the node holding the
//        screen and a viewer's token), then <url>/ws/viewer?session=<id>&token=<token>,
//        so the viewer follows a session whose relay node died to the next
//        one; reconnects with backoff (0.5 s doubling to 10 s, jittered) and
//        pings; STOP_CODES end it for good
//   ViewerProtocol (protocol.js)  everything the protocol says: state, acks
//        after drawing, refresh requests, the generation counter, cursor
//        messages, clipboard; no DOM
//   a renderer (renderer.js)  the decoder worker owning the canvas, or the
//        page as a fallback
//   the UI: status line and notice, tools, readout (stats.js), the pointer
//        (cursor.js), remote control (input.js), whiteboard (whiteboard.js),
//        clipboard panel (clipboard.js), file access with the agent (file-access.js)
//
// and holds no protocol rule itself. All text is set with textContent; no
// inline styles (the CSP forbids them): the look is viewer/viewer.css,
// driven by data- attributes and `hidden`.

import { CLOSE } from '../shared/wire.js';
import { h, setText, formatClock, wsUrl } from '../shared/dom.js';
import { api, downloadBlob } from '../shared/http.js';
import { ReconnectingSocket } from '../shared/socket.js';
import { ClipboardPanel } from './clipboard.js';
import { CursorOverlay } from './cursor.js';
import { FileAccess } from './file-access.js';
import { RemoteControl } from './input.js';
import { STOP_CODES, ViewerProtocol } from './protocol.js';
import { InlineRenderer, WorkerRenderer, workersAvailable } from './renderer.js';
import { RecordingControl } from './recording.js';
import { ViewerStats, formatStats } from './stats.js';
import { Whiteboard } from './whiteboard.js';
import { ViewZoom } from './zoom.js';

const STATS_MS = 500;
/** How often the lost-agent countdown is redrawn (it shows whole seconds). */
const COUNTDOWN_MS = 250;
/** What the viewer says after each of the close codes that end it (STOP_CODES). */
const FINAL_CLOSES = {
  [CLOSE.POLICY]: 'This console is not allowed to connect from this address.',
  [CLOSE.AUTH]: 'Your login has expired. Log in again to view the screen.',
  [CLOSE.FORBIDDEN]: 'You are not allowed to view this screen.',
  [CLOSE.NOT_FOUND]: 'This support session is no longer open.',
  [CLOSE.ENDED]: 'The support session ended.',
};
/** The ticket answers that end the viewer, as the close codes that would. */
const TICKET_REFUSALS = {
  401: CLOSE.AUTH,
  403: CLOSE.FORBIDDEN,
  404: CLOSE.NOT_FOUND,
  409: CLOSE.ENDED,
};
const STOPPED_BY = {
  visitor: 'by the visitor',
  rep: 'by you',
  session_ended: 'the session ended',
};
const LIVE = ['asking', 'sharing'];

export class ScreenViewer {
  /**
   * @param {object} options
   *   sessionId      the support session
   *   visitorName    for the wording
   *   requestShare() sends screen.request on the console socket; returns false when not connected
   *   toast(text, kind)
   *   onShow(visible) the viewer area was shown or hidden
   *   origin         server origin (default: this page's)
   *   watcher        true for a supervisor who only watches (no Record button)
   */
  constructor(options) {
    this.options = options;
    this.sessionId = options.sessionId;
    this.visitor = options.visitorName || 'The visitor';
    this.origin = options.origin || location.origin;
    this.statsTimer = null;
    this.countdownTimer = null;
    this.wantRequest = false;
    /** Connected after a reload but not shown until the relay says a share is live. */
    this.resuming = false;
    this.offer = null;
    this.offerFresh = false;
    this.stats = new ViewerStats();
    this.protocol = new ViewerProtocol({ send: (msg) => this.socket.send(msg) });
    this.socket = new ReconnectingSocket(() => this._relayUrl(), {
      onopen: () => this.protocol.connected(),
      onmessage: (msg) => this.protocol.feed(msg),
      onbinary: (data) => {
        this.stats.onBytes(data.byteLength);
        this.protocol.feed(data);
      },
      onclose: (event, willRetry) => this.protocol.disconnected(event.code, willRetry),
    }, { stopCodes: STOP_CODES });
    this._build();
    this._listen();
    this._startRenderer();
  }

  /** Where the screen is now: the relay ticket's URL and token (docs/protocol.md,
   * "Relay nodes and relay tokens"). A refusal that will not change ends the
   * viewer as the socket's close code would. */
  async _relayUrl() {
    const id = encodeURIComponent(this.sessionId);
    let ticket;
    try {
      ticket = await api('GET', new URL(`/api/sessions/${id}/relay`, this.origin).href);
    } catch (err) {
      const closeCode = TICKET_REFUSALS[err.status];
      throw Object.assign(new Error(err.message), closeCode ? { closeCode } : {});
    }
    return wsUrl(ticket.url, `/ws/viewer?session=${id}&token=${encodeURIComponent(ticket.token)}`);
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
      on: { change: () => this.protocol.select(Number(this.monitorSelect.value)) } });
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
    const send = (msg) => this.protocol.send(msg);
    // Remote control: the bar's control group, and the rep's mouse and keyboard on the surface.
    this.control = new RemoteControl({
      root: () => this.element, surface: this.surface, visitor: this.visitor, button: btn,
      canvas: () => this.canvas, size: () => this.protocol.size, send, toast: this.options.toast,
    });
    // Whiteboard: a canvas over the picture (under the remote pointer) and its group in the bar.
    this.whiteboard = new Whiteboard({
      surface: this.surface, before: this.cursorCanvas, size: () => this.protocol.size, button: btn,
      send, toast: this.options.toast,
    });
    // Files with the agent: ask for access, send to the computer, ask for a file (file-access.js).
    this.fileAccess = new FileAccess({
      visitor: this.visitor, button: btn, send, files: this.options.files, toast: this.options.toast,
    });
    // Recording: the REC badge and, under on_request, Record / Stop recording (recording.js).
    this.recording = new RecordingControl({ watcher: !!this.options.watcher, button: btn, send, toast: this.options.toast });
    this.clipboard = new ClipboardPanel({
      visitor: this.visitor, button: btn, send: (text) => this.protocol.sendClipboard(text), toast: this.options.toast,
    });

    this.noticeTitle = h('h4', { class: 'screen-notice-title' });
    this.noticeText = h('p', { class: 'screen-notice-text', testid: 'screen-notice-text' });
    this.codeEl = h('strong', { class: 'screen-code', testid: 'screen-code' });
    this.commandEl = h('code', { class: 'screen-command', testid: 'screen-command' });
    this.expiresEl = h('span', { class: 'screen-expires', testid: 'screen-code-expires' });
    this.offerEl = h('div', { class: 'screen-offer', props: { hidden: true } },
      h('span', { class: 'screen-offer-label' }, 'Join code to read out'), this.codeEl, this.expiresEl,
      h('span', { class: 'screen-offer-label' }, 'The visitor runs'), this.commandEl);
    this.stopWaitingButton = btn('screen-stop-waiting', 'Stop waiting', 'End screen sharing now instead of waiting for the visitor’s computer',
      () => this.stop(), { class: 'btn btn-small btn-danger screen-btn', props: { hidden: true } });
    this.notice = h('div', { class: 'screen-notice', testid: 'screen-notice' },
      h('div', { class: 'screen-notice-mark', 'aria-hidden': 'true' }), this.noticeTitle, this.noticeText, this.offerEl,
      this.stopWaitingButton);
    this.stage = h('div', { class: 'screen-stage', testid: 'screen-stage' }, this.surface, this.notice);
    // Fit, 1:1 and zoom with pan (zoom.js); the mode is kept per console.
    this.zoom = new ViewZoom({ root: () => this.element, stage: this.stage, surface: this.surface, size: () => this.protocol.size, button: btn });
    // A browser share is view only: say so, why, and offer the agent.
    this.askAgentButton = btn('screen-ask-agent', 'Ask the visitor to run the agent',
      `Send ${this.visitor} a join code and the agent, which lets you control their computer`, () => this._askAgent(),
      { class: 'btn btn-small btn-primary screen-btn' });
    this.browserNote = h('div', { class: 'screen-browser-note', testid: 'screen-browser-note', role: 'note', props: { hidden: true } },
      h('strong', { class: 'screen-mode', testid: 'screen-mode' }, 'Browser share, view only'),
      h('span', { class: 'screen-mode-why', testid: 'screen-mode-why' },
        ` ${this.visitor} shares from the browser, which can only show the screen. Control and drawing on their screen need the DeskLink agent.`),
      this.askAgentButton);

    this.element = h('section', { class: 'screen', testid: 'screen', 'aria-label': 'Visitor’s screen', props: { hidden: true },
      data: { status: 'connecting', sessionId: this.sessionId, frames: 0 } },
      h('div', { class: 'screen-bar' },
        h('div', { class: 'screen-state' }, h('span', { class: 'screen-dot', 'aria-hidden': 'true' }), this.statusEl, this.sizeEl),
        this.recording.element,
        this.control.element,
        this.whiteboard.element,
        this.fileAccess.element,
        this.statsEl,
        h('div', { class: 'screen-tools' }, this.monitorSelect, this.clipboard.toggleButton, this.zoom.element, this.refreshButton,
          this.snapshotButton, this.fullButton, this.stopButton, this.closeButton)),
      this.clipboard.element,
      this.fileAccess.askForm,
      this.browserNote,
      this.stage);
    // For tests and tools: the canvas belongs to the worker, so pixels are read through here.
    this.element.snapshot = (format) => this.snapshot(format);
    this.zoom.resized(); // the stored mode, now that the element exists
    this._render();
  }

  /** What the protocol half says, drawn. */
  _listen() {
    const on = (type, fn) => this.protocol.addEventListener(type, (event) => fn(event.detail));
    on('link', ({ link }) => {
      if (link !== 'open') this.control.disconnected();
      if (link === 'closed') this._settleResume();
      this._render();
    });
    on('state', ({ state }) => this._onState(state));
    on('frame', ({ data, gen }) => {
      this.stats.onArrival();
      this.renderer.frame(data, gen);
    });
    on('drawn', (r) => this._onDrawn(r));
    on('failed', (r) => console.warn(`DeskLink viewer: frame ${r.seq} not drawn: ${r.message}`));
    on('cursor', ({ message }) => {
      this.cursor.apply(message);
      this.surface.dataset.remoteCursor = this.cursor.shape ? 'shape' : 'none';
    });
    on('malformed', ({ error }) => console.warn('DeskLink viewer: bad screen message', error));
    on('annotate', (msg) => this.whiteboard.apply(msg));
    on('clipboard', (clip) => this.clipboard.show(clip));
    on('latency', ({ rttMs }) => this.stats.onLatency(rttMs));
    on('problem', ({ error }) => {
      if (this.control.swallowError(error)) return;
      this.options.toast?.(error.message ? `Screen: ${error.message}` : 'The screen relay refused that.', 'error');
    });
  }

  _startRenderer() {
    const onResult = (msg) => this.protocol.rendered(msg);
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
    this.renderer = new InlineRenderer(fresh, (msg) => this.protocol.rendered(msg));
    this.element.dataset.renderer = 'page';
    this.refresh();
  }

  // ------------------------------------------------------------- public

  get visible() {
    return !this.element.hidden;
  }

  get status() {
    return this.protocol.status;
  }

  /** Show the viewer and connect; with `request`, ask the visitor to share unless they already are.
   * With `resume` (the console after a reload), connect without showing anything: the viewer
   * appears once the relay says a share is live and closes itself otherwise (see _settleResume). */
  open({ request = false, resume = false } = {}) {
    if (resume && this.element.hidden) {
      this.resuming = true;
    } else if (this.element.hidden) {
      this.resuming = false;
      this.element.hidden = false;
      this.options.onShow?.(true);
    }
    if (this.protocol.link === 'closed') this.protocol.reset();
    if (request) this.wantRequest = true;
    if (this.socket.stopped) this.socket.start();
    else if (this.protocol.state) this._maybeRequest();
    clearInterval(this.statsTimer);
    this.statsTimer = setInterval(() => this._renderStats(), STATS_MS);
    this._render();
  }

  /** Close the socket and hide the viewer (sharing, if any, is stopped first). */
  hide() {
    if (LIVE.includes(this.status)) this.protocol.stop();
    this.control.reset();
    this.whiteboard.setEnabled(false);
    this.clipboard.reset();
    this.fileAccess.hide();
    this.socket.stop(1000, 'viewer closed');
    this.protocol.reset();
    clearInterval(this.statsTimer);
    this._tickCountdown(false);
    this.element.hidden = true;
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
    this.protocol.refresh();
  }

  /** The one-click upgrade from a browser share: a new screen request gives the visitor the agent's code. */
  _askAgent() {
    if (!this.options.requestShare()) {
      this.options.toast?.('Not connected. Try again in a moment.', 'error');
      return;
    }
    this.askAgentButton.disabled = true;
    setTimeout(() => { this.askAgentButton.disabled = false; }, 3000);
    this.options.toast?.(`${this.visitor} got a join code and the agent in the help box.`, 'info');
  }

  /** Is the visitor sharing from the browser (view only)? */
  get browserShare() {
    return this.protocol.state?.source === 'browser';
  }

  stop() {
    if (!this.protocol.stop()) this.options.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
  }

  /** 'fit', '1:1' or a zoom step in percent (zoom.js ZOOM_STEPS). */
  setScale(scale) {
    this.zoom.set(scale === '1:1' ? 100 : scale);
  }

  /** The picture now: 'rgba' -> {width, height, data}, 'png' -> {width, height, blob}. */
  snapshot(format = 'rgba') {
    return this.renderer.snapshot(format);
  }

  /** The session is over: close everything for good. */
  destroy() {
    this.control.destroy();
    this.whiteboard.destroy();
    this.socket.stop(1000, 'viewer closed');
    this.protocol.reset();
    clearInterval(this.statsTimer);
    this._tickCountdown(false);
    this.renderer?.destroy();
    this.element.remove();
  }

  // ------------------------------------------------------------- protocol events

  _onState(state) {
    this.socket.resetBackoff(); // the relay took us: a later drop starts the backoff afresh
    if (this._settleResume() === 'closed') return;
    // A join code is single use: once an agent is in, the code shown is spent.
    if (LIVE.includes(state.status) && state.agent) this.offerFresh = false;
    if (state.status !== 'sharing') {
      this.cursor.clear();
      this.surface.dataset.remoteCursor = 'none';
    }
    this.control.onState(state);
    this.fileAccess.onState(state);
    this.recording.onState(state);
    this._renderMonitors();
    this._maybeRequest();
    this._tickCountdown(this.protocol.graceLeftS() !== null);
    this._render();
  }

  /** Resuming after a reload: the first word from the relay decides. A share
   * under way (asking, sharing, or its agent briefly away) is shown again;
   * anything else (none, stopped, denied, the session gone) closes quietly. */
  _settleResume() {
    if (!this.resuming) return null;
    this.resuming = false;
    if (this.protocol.link !== 'closed' && LIVE.includes(this.protocol.status)) {
      this.element.hidden = false;
      this.options.onShow?.(true);
      return 'shown';
    }
    this.hide();
    return 'closed';
  }

  _maybeRequest() {
    if (!this.wantRequest || !this.protocol.state) return;
    this.wantRequest = false;
    if (this.protocol.underWay) return; // already under way
    if (!this.options.requestShare()) this.options.toast?.('Not connected. Try again in a moment.', 'error');
  }

  _onDrawn(r) {
    this.stats.onDrawn(r.decodeMs);
    // A browser share stamps captures with the wall clock: capture-to-drawn on one computer (bench/browser_share.py).
    if (r.video && r.captureUs && r.drawnUs) {
      const lat = this.element.captureLatencies || (this.element.captureLatencies = []);
      lat.push((r.drawnUs - r.captureUs) / 1000);
      if (lat.length > 5000) lat.splice(0, 1000);
    }
    if (r.sizeChanged) {
      this.cursor.resize(r.width, r.height);
      this.whiteboard.resize(r.width, r.height);
      this.zoom.resized();
    }
    const first = this.surface.hidden;
    this.surface.hidden = false;
    if (first || r.sizeChanged) this._render(); // the size readout follows another monitor
    this.element.dataset.frames = String(this.stats.frames);
  }

  /** Redraw the lost-agent countdown every COUNTDOWN_MS while it runs. */
  _tickCountdown(on) {
    if (!on) {
      clearInterval(this.countdownTimer);
      this.countdownTimer = null;
      return;
    }
    if (!this.countdownTimer) this.countdownTimer = setInterval(() => this._render(), COUNTDOWN_MS);
  }

  // ------------------------------------------------------------- rendering

  /** [data-status, status line] for what the viewer shows now. */
  _statusText() {
    const p = this.protocol;
    if (p.link === 'closed') return ['closed', FINAL_CLOSES[p.closeCode] || 'The screen relay closed the connection.'];
    if (p.link === 'reconnecting' || (p.link === 'open' && !p.synced && p.state)) return ['reconnecting', 'Connection lost. Reconnecting…'];
    const s = p.state;
    if (p.agentLost) return ['agent_lost', 'The visitor’s computer lost its connection'];
    // A new code is out: whatever happened before, we now wait for its agent.
    if (this.offerFresh && ['waiting_agent', 'stopped', 'denied'].includes(s?.status)) return ['waiting_agent', 'Waiting for the visitor to run the agent'];
    switch (s?.status) {
      case 'waiting_agent': return ['waiting_agent', 'Waiting for the visitor to run the agent'];
      case 'asking': return ['asking', 'Waiting for the visitor to allow'];
      case 'sharing': return ['sharing', s.source === 'browser' ? 'Sharing from the browser (view only)' : 'Sharing'];
      case 'denied': return ['denied', 'The visitor declined'];
      case 'stopped':
        if (s.by === 'agent_lost') return ['stopped', 'Disconnected: the visitor’s agent did not come back.'];
        if (s.reason) return ['stopped', `Sharing stopped: ${s.reason}`];
        return ['stopped', `Sharing stopped (${STOPPED_BY[s.by] || (s.by ? `by ${s.by}` : 'by the visitor')})`];
      default: return ['connecting', 'Connecting…'];
    }
  }

  _noticeText(status) {
    const v = this.visitor;
    switch (status) {
      case 'waiting_agent': return ['Waiting for the agent',
        `${v} can click Share from this browser in their help box (view only, nothing to install), or run the agent with this code so you can also control their computer. Nothing is shared until they choose.`];
      case 'asking': return [`Asking ${v}`, `${v} is being asked to allow screen sharing in the DeskLink window on their computer.`];
      case 'sharing': return ['Loading the picture…', 'The first picture is on its way.'];
      case 'agent_lost': {
        const left = this.protocol.graceLeftS();
        return ['Connection lost', left === null
          ? 'The visitor’s computer lost its connection. Waiting for it to come back…'
          : `The visitor’s computer lost its connection. Waiting for it to come back: ${left} s`];
      }
      case 'denied': return ['The visitor declined', `${v} did not allow screen sharing. You can ask again with Request screen sharing.`];
      case 'stopped':
        if (this.protocol.state?.by === 'agent_lost') {
          return ['Disconnected', 'The visitor’s agent did not come back. You can ask again with Request screen sharing.'];
        }
        return ['Sharing stopped', 'You can ask again with Request screen sharing.'];
      case 'reconnecting': return ['Connection lost', 'The screen’s relay went away; reconnecting…'];
      case 'closed': return ['Viewer closed', FINAL_CLOSES[this.protocol.closeCode] || ''];
      default: return ['Connecting…', 'Opening the screen relay.'];
    }
  }

  _render() {
    const p = this.protocol;
    const [status, text] = this._statusText();
    this.element.dataset.status = status;
    this.statusEl.dataset.status = status;
    setText(this.statusEl, text);
    this.statusEl.title = text; // the whole words when the fixed width cuts them
    const sharing = status === 'sharing';
    const live = sharing || (status === 'agent_lost' && p.status === 'sharing'); // the relay still shares; the agent may be away
    const picture = !this.surface.hidden;
    setText(this.sizeEl, p.size && live ? `${p.size.width} × ${p.size.height}` : '');
    // The notice covers the stage until there is a live picture; over an old picture it is a banner.
    this.notice.hidden = sharing && picture;
    this.notice.dataset.over = String(picture && !sharing);
    const [title, detail] = this._noticeText(status);
    setText(this.noticeTitle, title);
    setText(this.noticeText, detail);
    const left = status === 'agent_lost' ? p.graceLeftS() : null;
    this.element.dataset.graceLeft = left === null ? '' : String(left);
    if (status !== 'agent_lost') this._tickCountdown(false);
    this.stopWaitingButton.hidden = status !== 'agent_lost';
    this.offerEl.hidden = !this.offerFresh || !['waiting_agent', 'connecting', 'reconnecting'].includes(status);
    const stoppable = LIVE.includes(status) || status === 'agent_lost' || (status === 'reconnecting' && LIVE.includes(p.state?.status));
    this.stopButton.hidden = !stoppable;
    this.closeButton.hidden = stoppable;
    this.refreshButton.disabled = !sharing;
    this.snapshotButton.disabled = !picture;
    this.fullButton.hidden = !document.fullscreenEnabled;
    const browser = this.browserShare;
    this.browserNote.hidden = !(browser && live);
    this.element.dataset.source = p.state?.source || 'agent';
    this.control.render(live && !browser, p.state ? p.state.agent : true);
    this.whiteboard.setEnabled(live && !browser);
    this.clipboard.setState(live && !browser, p.clipboard);
  }

  _renderMonitors() {
    const monitors = Array.isArray(this.protocol.state?.monitors) ? this.protocol.state.monitors : [];
    const select = this.monitorSelect;
    select.hidden = monitors.length < 2;
    select.disabled = !!this.options.watcher; // only the rep holding the session switches (the relay says so too)
    while (select.firstChild) select.firstChild.remove();
    monitors.forEach((m, i) => {
      const label = m.index === 0 ? `All screens (${m.width} × ${m.height})`
        : `Screen ${i + 1} (${m.width} × ${m.height}${m.primary ? ', main' : ''})`;
      select.append(h('option', { value: String(m.index) }, label));
    });
    if (monitors.length) select.value = String(this.protocol.state.selected ?? monitors[0].index);
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

// Screen recording in the rep's viewer (docs/protocol.md "Recording"): a REC
// badge while the relay records, and, where the queue's policy is
// on_request, a Record / Stop recording button for the rep holding the
// session (screen.record {on}); never shown to watchers, nor under "never"
// or "always" (there the rep has no say). Why recording failed is shown in
// words until the next recording starts.
//
// screen.state carries recording, recording_policy and recording_error,
// each left out at its default: missing means false, "never", none.

import { h, setText } from '../shared/dom.js';

export class RecordingControl {
  /**
   * @param {object} o
   *   watcher   true when this viewer only watches (a supervisor): no button
   *   button(testid, text, title, onClick, extra)  the bar's button maker
   *   send(msg) a control message to the relay; false when not connected
   *   toast(text, kind)
   */
  constructor(o) {
    this.o = o;
    this.on = false;
    this.policy = 'never';
    this.error = '';
    this.sharing = false;
    this.waiting = false; // asked to start or stop; the next screen.state settles it
    this.badge = h('span', { class: 'screen-rec', testid: 'screen-rec', role: 'status', title: 'This screen is being recorded',
      props: { hidden: true } }, 'REC');
    this.button = o.button('screen-record', 'Record', 'Record the visitor’s screen (the visitor is told)', () => this._toggle(),
      { props: { hidden: true }, 'aria-pressed': 'false' });
    this.errorEl = h('span', { class: 'screen-rec-error', testid: 'screen-rec-error', role: 'alert', props: { hidden: true } });
    this.element = h('div', { class: 'screen-recording', testid: 'screen-recording', data: { recording: 'false', policy: 'never' } },
      this.badge, this.button, this.errorEl);
  }

  /** A screen.state (normalised); the recording fields may be missing (defaults). */
  onState(state) {
    this.on = state.recording === true;
    this.policy = ['always', 'on_request'].includes(state.recording_policy) ? state.recording_policy : 'never';
    this.error = typeof state.recording_error === 'string' ? state.recording_error : '';
    this.sharing = state.status === 'sharing';
    this.waiting = false;
    this._render();
  }

  _toggle() {
    const on = !this.on;
    if (!this.o.send({ t: 'screen.record', on })) {
      this.o.toast?.('Not connected to the screen relay. Try again in a moment.', 'error');
      return;
    }
    this.waiting = true;
    this._render();
  }

  _render() {
    this.element.dataset.recording = String(this.on);
    this.element.dataset.policy = this.policy;
    this.badge.hidden = !this.on;
    this.button.hidden = this.o.watcher || this.policy !== 'on_request' || !this.sharing;
    this.button.disabled = this.waiting;
    setText(this.button, this.on ? 'Stop recording' : 'Record');
    this.button.setAttribute('aria-pressed', String(this.on));
    this.errorEl.hidden = !this.error || this.on;
    setText(this.errorEl, this.error ? `Recording failed: ${this.error}` : '');
  }
}

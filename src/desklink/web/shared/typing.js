// "I am typing" for one conversation, for the help box and the console alike:
// `on` goes out with the first keystroke, `off` after TYPING_IDLE_MS without
// one (or at once on `stop()`: the message was sent, the chat ended).

export const TYPING_IDLE_MS = 3000;

export class TypingSignal {
  /** `send(on)` tells the other side; called only when the state changes. */
  constructor(send) {
    this.send = send;
    this.on = false;
    this.timer = null;
  }

  /** A keystroke that left text in the box. */
  keystroke() {
    if (!this.on) {
      this.on = true;
      this.send(true);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.on) {
      this.on = false;
      this.send(false);
    }
  }
}

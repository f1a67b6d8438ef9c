// The one error a malformed screen message or rectangle raises, in the
// parser (frames.js) and in the decoders (decoders/). Its own module so the
// decoders can import it without importing the parser that imports them.

export class FrameError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FrameError';
  }
}

/** "jpeg rectangle 64x32+10+20": how messages name a rectangle. */
export function describeRect(name, rect) {
  return `${name} rectangle ${rect.w}x${rect.h}+${rect.x}+${rect.y}`;
}

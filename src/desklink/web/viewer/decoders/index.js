// The rectangle decoders, one module per encoding (docs/protocol.md "Screen
// frames"), as noVNC keeps core/decoders/<name>.js. Adding an encoding is a
// new file here and one line in DECODERS; nothing else switches on the
// encoding byte.
//
// A decoder is a plain object:
//
//   enc     the encoding byte on the wire
//   name    for messages ("jpeg")
//   check(rect, screen)
//           called by the parser (frames.js) for each rectangle of this
//           encoding, before anything is drawn, with screen = {width, height}:
//           checks the payload's shape and may add parsed fields to rect
//           (COPY adds srcX, srcY). Throws FrameError; cheap and synchronous.
//   decode(rect, state, frame)
//           called for every rectangle of a frame as soon as it arrives, so
//           slow work (picture decoding) runs in parallel with drawing the
//           previous frame. Returns its result, or a Promise of it, and never
//           blocks: the asynchronous form of noVNC's "need more bytes" (here a
//           WebSocket message always holds whole frames, so bytes are never
//           missing, but decoded pixels may not be ready). A payload that
//           cannot be decoded rejects with a FrameError naming the rectangle.
//           May be absent when there is nothing to do before drawing.
//   draw(ctx, rect, decoded, canvas)
//           puts the rectangle on the canvas (a 2D context whose canvas holds
//           the picture so far); called strictly in order.
//   release(decoded)      optional: frees a decoded result that will not be drawn.
//   createState()         optional: state kept per canvas across frames (a
//                         video decoder's context), handed to decode().
//   keyFrame(state, frame) optional: called once per KEY frame before its
//                         rectangles are decoded, whatever encodings the frame
//                         holds: a stream kept across frames restarts here
//                         (PALETTE's deflate stream).
//
// The same decoders run in the decoder worker and on the page (painter.js),
// and need no DOM.

import { FrameError } from '../frame-error.js';
import copy from './copy.js';
import fill from './fill.js';
import h264 from './h264.js';
import jpeg from './jpeg.js';
import palette from './palette.js';
import png from './png.js';

/** Encoding byte -> decoder. */
export const DECODERS = new Map([jpeg, copy, fill, png, palette, h264].map((d) => [d.enc, d]));

/** The decoder of encoding `enc`; a FrameError for an encoding nobody decodes. */
export function decoderFor(enc) {
  const decoder = DECODERS.get(enc);
  if (!decoder) throw new FrameError(`unknown rectangle encoding ${enc}`);
  return decoder;
}

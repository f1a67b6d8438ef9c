// Encoding 2, FILL: the payload is u8 r | u8 g | u8 b; the rectangle is one
// solid colour (backgrounds, cleared areas).

import { FrameError } from '../frame-error.js';

const PAYLOAD = 3;

export default {
  enc: 2,
  name: 'fill',

  check(rect) {
    if (rect.payload.length !== PAYLOAD) throw new FrameError('fill rectangle payload must be 3 bytes');
  },

  draw(ctx, r) {
    const p = r.payload;
    ctx.fillStyle = `rgb(${p[0]}, ${p[1]}, ${p[2]})`;
    ctx.fillRect(r.x, r.y, r.w, r.h);
  },
};

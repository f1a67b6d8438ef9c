// Encoding 1, COPY: the payload is u16 src_x | u16 src_y; w x h pixels are
// copied from there (scrolls and moved windows). The source is read from the
// picture as it was before this rectangle: drawImage of a canvas onto itself
// is defined by the canvas spec to read the source first, so overlapping
// copies work.

import { FrameError } from '../frame-error.js';

const PAYLOAD = 4;

export default {
  enc: 1,
  name: 'copy',

  check(rect, screen) {
    const p = rect.payload;
    if (p.length !== PAYLOAD) throw new FrameError('copy rectangle payload must be 4 bytes');
    rect.srcX = (p[0] << 8) | p[1];
    rect.srcY = (p[2] << 8) | p[3];
    if (rect.srcX + rect.w > screen.width || rect.srcY + rect.h > screen.height) throw new FrameError('copy source is outside the screen');
  },

  draw(ctx, r, _decoded, canvas) {
    ctx.drawImage(canvas, r.srcX, r.srcY, r.w, r.h, r.x, r.y, r.w, r.h);
  },
};

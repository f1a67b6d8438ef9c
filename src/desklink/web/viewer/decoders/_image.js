// What the picture encodings (JPEG, PNG) share: the payload is a compressed
// picture of exactly w x h, decoded by the browser (createImageBitmap, off
// the main thread in its decoder pool) and drawn with drawImage.

import { FrameError, describeRect } from '../frame-error.js';

/** No colour management or premultiplying: the pixels stay what the agent encoded. */
const BITMAP_OPTIONS = { colorSpaceConversion: 'none', premultiplyAlpha: 'none' };
/** The shortest payload accepted by the parser (as src/desklink/protocol/screen.py). */
const MIN_PAYLOAD = 4;

function startsWith(payload, magic) {
  if (payload.length < magic.length) return false;
  for (let i = 0; i < magic.length; i += 1) if (payload[i] !== magic[i]) return false;
  return true;
}

/**
 * A decoder for a picture format.
 * @param {object} o  enc, name, mime, magic (the bytes every such file starts with), magicText (for the message)
 */
export function imageDecoder({ enc, name, mime, magic, magicText }) {
  return {
    enc,
    name,

    check(rect) {
      if (rect.payload.length < MIN_PAYLOAD) throw new FrameError(`${name} rectangle payload is too short`);
    },

    async decode(rect) {
      const what = describeRect(name, rect);
      if (!startsWith(rect.payload, magic)) throw new FrameError(`${what} is not a ${name.toUpperCase()} picture (it does not start with ${magicText})`);
      let bitmap;
      try {
        bitmap = await createImageBitmap(new Blob([rect.payload], { type: mime }), BITMAP_OPTIONS);
      } catch (err) {
        throw new FrameError(`${what} would not decode (${err?.message || err})`);
      }
      if (bitmap.width !== rect.w || bitmap.height !== rect.h) {
        const got = `${bitmap.width}x${bitmap.height}`;
        bitmap.close();
        throw new FrameError(`${what} holds a ${got} picture`);
      }
      return bitmap;
    },

    draw(ctx, rect, bitmap) {
      ctx.drawImage(bitmap, rect.x, rect.y);
      bitmap.close();
    },

    release(bitmap) {
      bitmap?.close?.();
    },
  };
}

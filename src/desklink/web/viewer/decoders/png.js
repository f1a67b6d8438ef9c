// Encoding 3, PNG: the payload is a PNG of w x h (lossless: small changes
// such as typed text, where JPEG would blur the glyphs).

import { imageDecoder } from './_image.js';

export default imageDecoder({
  enc: 3, name: 'png', mime: 'image/png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], magicText: '89 50 4E 47 0D 0A 1A 0A',
});

// Encoding 0, JPEG: the payload is a baseline JPEG of w x h (photos, video,
// anything with many colours; the agent's default).

import { imageDecoder } from './_image.js';

export default imageDecoder({ enc: 0, name: 'jpeg', mime: 'image/jpeg', magic: [0xff, 0xd8, 0xff], magicText: 'FF D8 FF' });

// The screen decoder worker. It owns the viewer's canvas (an OffscreenCanvas
// the page transferred with transferControlToOffscreen), so decoding and
// drawing never block the console's main thread.
//
// page -> worker
//   {type: 'init', canvas}                       once, the canvas transferred
//   {type: 'frame', gen, buffer}                 a whole binary WebSocket message (buffer transferred)
//   {type: 'snapshot', id, format}               'rgba' or 'png'
// worker -> page
//   {type: 'ready'}                              the canvas is ours
//   {type: 'drawn', gen, seq, key, width, height, bytes, decodeMs, resized, incomplete}
//   {type: 'failed', gen, seq, message}          malformed frame or undecodable picture
//   {type: 'snapshot', id, width, height, data | blob}   (data's buffer transferred)
//
// The page acknowledges a frame (screen.ack) when it hears 'drawn' or 'failed'.

import { FramePainter } from './painter.js';

let painter = null;
const early = [];

function paint(msg) {
  painter.paint(msg.buffer, msg.receivedAt).then(
    (info) => self.postMessage({ type: 'drawn', gen: msg.gen, ...info }),
    (err) => self.postMessage({ type: 'failed', gen: msg.gen, seq: err.seq || 0, message: String(err.message || err) }),
  );
}

async function snapshot(msg) {
  try {
    const shot = await painter.snapshot(msg.format);
    if (shot.data) self.postMessage({ type: 'snapshot', id: msg.id, ...shot }, [shot.data.buffer]);
    else self.postMessage({ type: 'snapshot', id: msg.id, ...shot });
  } catch (err) {
    self.postMessage({ type: 'snapshot', id: msg.id, error: String(err.message || err) });
  }
}

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'init') {
    painter = new FramePainter(msg.canvas);
    self.postMessage({ type: 'ready' });
    for (const m of early.splice(0)) self.onmessage({ data: m });
    return;
  }
  if (!painter) {
    early.push(msg);
    return;
  }
  if (msg.type === 'frame') {
    msg.receivedAt = performance.now();
    paint(msg);
  } else if (msg.type === 'snapshot') {
    snapshot(msg);
  }
};

// The visitor's mouse pointer, drawn on a transparent canvas laid exactly
// over the screen canvas (same intrinsic size, same CSS box), so it scales
// with the picture and never touches the frame buffer that COPY rectangles
// read from.
//
// cursor messages carry the shape (RGBA, with a hot spot) and the position;
// pointer messages only the position. A shape of 0 x 0 hides the pointer.

export class CursorOverlay {
  /** @param {HTMLCanvasElement} canvas  a plain (not transferred) canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.shape = null; // {image: HTMLCanvasElement, hotX, hotY}
    this.x = -1;
    this.y = -1;
    this.drawn = null; // [x, y, w, h] last drawn box
  }

  /** The screen size changed (a key frame of another size). */
  resize(width, height) {
    if (this.canvas.width === width && this.canvas.height === height) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.drawn = null;
    this._render();
  }

  apply(msg) {
    if (msg.kind === 'cursor') {
      if (msg.w && msg.h) {
        const image = document.createElement('canvas');
        image.width = msg.w;
        image.height = msg.h;
        const data = new ImageData(new Uint8ClampedArray(msg.rgba), msg.w, msg.h);
        image.getContext('2d').putImageData(data, 0, 0);
        this.shape = { image, hotX: msg.hotX, hotY: msg.hotY };
      } else {
        this.shape = null;
      }
    }
    this.x = msg.x;
    this.y = msg.y;
    this._render();
  }

  clear() {
    this.shape = null;
    this._render();
  }

  _render() {
    const ctx = this.ctx;
    if (this.drawn) ctx.clearRect(...this.drawn);
    this.drawn = null;
    if (!this.shape || this.x < 0) return;
    const { image, hotX, hotY } = this.shape;
    const left = this.x - hotX;
    const top = this.y - hotY;
    ctx.drawImage(image, left, top);
    this.drawn = [left, top, image.width, image.height];
  }
}

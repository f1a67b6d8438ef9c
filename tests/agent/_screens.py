"""Synthetic screens for the encoder tests, rendered with numpy.

Text is drawn from a made-up font of stroke glyphs (crisp one-pixel lines,
the hard case for JPEG), photos are smooth random fields plus grain, and a
"desktop" mixes a gradient wallpaper, flat window chrome, text and a photo.
All pictures are ``H x W x 4`` BGRA ``uint8`` with alpha 255, deterministic
for a seed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

GLYPH_W, GLYPH_H, LINE_H = 8, 12, 18


def _font(seed: int = 7, count: int = 64) -> npt.NDArray[np.bool_]:
    """``count`` glyphs of ``GLYPH_H x GLYPH_W``, each two to four strokes."""
    rng = np.random.default_rng(seed)
    glyphs = np.zeros((count, GLYPH_H, GLYPH_W), dtype=np.bool_)
    for g in glyphs:
        for _ in range(int(rng.integers(2, 5))):
            kind = rng.integers(0, 3)
            if kind == 0:
                x = int(rng.integers(1, GLYPH_W - 1))
                g[int(rng.integers(1, 4)) : int(rng.integers(7, GLYPH_H - 1)), x] = True
            elif kind == 1:
                y = int(rng.integers(2, GLYPH_H - 2))
                g[y, int(rng.integers(1, 3)) : int(rng.integers(4, GLYPH_W - 1))] = True
            else:
                for i in range(min(GLYPH_W - 2, GLYPH_H - 4)):
                    g[2 + i, 1 + i] = True
    return glyphs


FONT = _font()


def blank(width: int, height: int, bgr: tuple[int, int, int] = (250, 250, 250)) -> Image:
    img = np.empty((height, width, 4), dtype=np.uint8)
    img[:, :, :3] = bgr
    img[:, :, 3] = 255
    return img


def draw_text(img: Image, x: int, y: int, text: str | list[int], fg: tuple[int, int, int] = (30, 30, 30)) -> None:
    """Draw glyph indices (or characters, by code point) at ``(x, y)``, clipped."""
    codes = [ord(c) for c in text] if isinstance(text, str) else text
    h, w = img.shape[:2]
    for i, code in enumerate(codes):
        if code == 32:
            continue
        gx = x + i * GLYPH_W
        if gx + GLYPH_W > w or y + GLYPH_H > h or gx < 0 or y < 0:
            continue
        glyph = FONT[code % len(FONT)]
        img[y : y + GLYPH_H, gx : gx + GLYPH_W, :3][glyph] = fg


def text_page(width: int, height: int, *, seed: int = 1, lines: int | None = None, margin: int = 16,
              bg: tuple[int, int, int] = (250, 250, 250)) -> Image:
    """A page of ragged lines of text: every line distinct (what scrolling needs)."""
    rng = np.random.default_rng(seed)
    img = blank(width, height, bg)
    n = lines if lines is not None else (height - margin) // LINE_H
    max_chars = (width - 2 * margin) // GLYPH_W
    for i in range(n):
        count = int(rng.integers(max_chars // 3, max_chars + 1))
        codes = rng.integers(33, 33 + len(FONT), count).tolist()
        for j in rng.integers(0, count, count // 6):  # words
            codes[int(j)] = 32
        draw_text(img, margin, margin + i * LINE_H, codes)
    return img


def long_page(width: int, page_height: int, *, seed: int = 1) -> Image:
    """A tall document to take scrolled views from with :func:`view`."""
    return text_page(width, page_height, seed=seed)


def view(page: Image, top: int, height: int) -> Image:
    """The ``height`` rows of ``page`` from ``top``: what a scrolled window shows."""
    return page[top : top + height].copy()


def gradient(width: int, height: int) -> Image:
    img = np.empty((height, width, 4), dtype=np.uint8)
    xs = np.linspace(0, 1, width)[None, :]
    ys = np.linspace(0, 1, height)[:, None]
    img[:, :, 0] = (255 * (0.3 + 0.7 * xs) * (1 - 0.5 * ys)).astype(np.uint8)
    img[:, :, 1] = (255 * 0.5 * (xs + ys) / 1.0 * 0.9).astype(np.uint8)
    img[:, :, 2] = (255 * (1 - xs) * 0.8 + 30 * ys).clip(0, 255).astype(np.uint8)
    img[:, :, 3] = 255
    return img


def photo(width: int, height: int, *, seed: int = 3, grain: int = 3) -> Image:
    """Photo-like: a smooth random field (bilinear upscale of coarse noise) plus grain."""
    rng = np.random.default_rng(seed)
    cw, ch = max(2, width // 24 + 2), max(2, height // 24 + 2)
    coarse = rng.random((ch, cw, 3)) * 255
    yi = np.linspace(0, ch - 1.001, height)
    xi = np.linspace(0, cw - 1.001, width)
    y0, x0 = yi.astype(int), xi.astype(int)
    fy, fx = (yi - y0)[:, None, None], (xi - x0)[None, :, None]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    smooth = top * (1 - fy) + bottom * fy
    smooth += rng.normal(0, grain, smooth.shape)
    img = np.empty((height, width, 4), dtype=np.uint8)
    img[:, :, :3] = smooth.clip(0, 255).astype(np.uint8)
    img[:, :, 3] = 255
    return img


def noise(width: int, height: int, *, seed: int = 5) -> Image:
    """Every pixel random: the worst case (full-screen video of static)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    img[:, :, 3] = 255
    return img


def desktop(width: int, height: int, *, seed: int = 11) -> Image:
    """Wallpaper gradient, a text window with a flat title bar, a photo window."""
    img = gradient(width, height)
    wx, wy, ww, wh = width // 16, height // 12, width // 2, height * 2 // 3
    img[wy : wy + 24, wx : wx + ww, :3] = (120, 80, 40)  # title bar
    img[wy + 24 : wy + wh, wx : wx + ww] = text_page(ww, wh - 24, seed=seed)
    px, py = width // 2 + width // 10, height // 5
    pw, ph = width // 3, height // 2
    img[py : py + ph, px : px + pw] = photo(pw, ph, seed=seed + 1)
    return img


def errors(a: Image, b: Image) -> tuple[float, float]:
    """``(mean, p99)`` absolute error per channel over B, G, R."""
    d = np.abs(a[:, :, :3].astype(np.int16) - b[:, :, :3].astype(np.int16))
    return float(d.mean()), float(np.percentile(d, 99))

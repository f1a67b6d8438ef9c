#!/usr/bin/env python
"""DeskLink benchmark: the agent's screen encoder at 1920x1080.

Run from the repository root::

    .venv/bin/python bench/screen_encode.py                 # encoder only, synthetic screens
    .venv/bin/python bench/screen_encode.py --frames 200
    .venv/bin/python bench/screen_encode.py --display :57   # also time capture on that X display

Each scenario feeds :class:`~desklink.agent.encode.ScreenEncoder` one
synthetic capture per frame (rendered beforehand, so rendering is not
timed) and times ``update()`` + ``next_frame()``; every frame is applied to
a :class:`~desklink.agent.encode.Canvas` (not timed) and the last picture
is compared with the source, so a fast but wrong encoder cannot look good.
Times are milliseconds (p50 / p99 / max); bytes are payload bytes per frame
(the frame header adds 21 bytes, each rectangle 13).

Scenarios:

* ``unchanged``: the same pixels in a new array every frame (the diff runs
  and finds nothing); ``unchanged-same`` passes the same array (no diff).
* ``typing``: one more character per frame on a text page (sent at refine
  quality at once, no second pass).
* ``scroll``: a full-screen text page scrolled by 3 lines (54 px) per frame;
  ``scroll-nodetect`` is the same with scroll detection off.
* ``drag``: a 900x620 text window dragged over the desktop along an
  ellipse, about 20 px per frame in both x and y (a window moved at
  600 px/s, 30 fps); ``drag-nodetect`` is the same with move and scroll
  detection off.
* ``video-noise``: every pixel random every frame (the JPEG worst case);
  ``video-photo``: a different smooth photo-like picture every frame; both
  as tiles (video mode off). ``video-photo-h264``: the same with video mode,
  which codes the whole screen as one H.264 region after a second of it
  (the worst case for x264 too: every picture a scene cut). Video mode on a
  640x360 region against tiles: bench/video_mode.py.
* ``key``: a key frame of a desktop (viewer join: its text window goes as
  PALETTE, the rest as JPEG); ``refine``: the refine frame after a
  full-screen photo sent at motion quality settles (at most
  ``max_refine_tiles``, 160 of the 510 tiles, per frame). Text is never
  refined: it goes lossless (PALETTE) at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import machine_line, percentile, summary

from desklink.agent.encode import Canvas, ScreenEncoder
from desklink.protocol.screen import Enc, Frame
from tests.agent._screens import (
    desktop,
    draw_text,
    errors,
    long_page,
    noise,
    photo,
    text_page,
    view,
)

W, H = 1920, 1080
pc = time.perf_counter


def row(name: str, times: list[float], sizes: list[int], frames: int, note: str = "") -> None:
    """One scenario: ``times`` in seconds, ``sizes`` payload bytes (-1: no frame)."""
    sent = [b for b in sizes if b >= 0]
    mean_b = statistics.fmean(sent) if sent else 0.0
    t = summary(times).scaled(1000)
    print(f"{name:17} {t.p50:7.2f} {t.p99:7.2f} {t.max:7.2f}   "
          f"{len(sent):4d}/{frames:<4d} {mean_b / 1024:9.1f} KB  {note}")


def run(name: str, pictures: Callable[[int], np.ndarray], frames: int, *, warmup: int = 3,
        settle: bool = False, **options: object) -> None:
    enc = ScreenEncoder(W, H, **options)  # type: ignore[arg-type]
    canvas = Canvas()
    now = 0.0
    first = pictures(0)
    enc.update(first, now)
    key = enc.next_frame(0, now, 0)
    assert key is not None
    canvas.apply(key)
    if settle:  # start from a crisp screen
        now += 1.0
        f = enc.next_frame(0, now, 0)
        if f is not None:
            canvas.apply(f)
    times: list[float] = []
    sizes: list[int] = []
    copies = rects = 0
    last = first
    for k in range(frames + warmup):
        pic = pictures(k + 1)  # rendered outside the timed part
        now += 1 / 30
        t0 = pc()
        enc.update(pic, now)
        frame = enc.next_frame(k + 1, now, int(now * 1e6))
        dt = pc() - t0
        if frame is not None:
            canvas.apply(frame)
        last = pic
        if k < warmup:
            continue
        times.append(dt)
        sizes.append(frame.payload_bytes if frame is not None else -1)
        if frame is not None:
            copies += sum(r.enc is Enc.COPY for r in frame.rects)
            rects += len(frame.rects)
    mean, p99 = errors(canvas.image, last)
    sent = sum(s >= 0 for s in sizes)
    note = f"rects/frame {rects / max(1, sent):.1f}, copies {copies}, viewer error mean {mean:.2f} p99 {p99:.0f}"
    row(name, times, sizes, frames, note)


def one_shot(name: str, prepare: Callable[[ScreenEncoder], float], act: Callable[[ScreenEncoder, float], Frame | None],
             repeat: int) -> None:
    """Time ``act`` alone, on a fresh encoder made ready by ``prepare``."""
    times, sizes = [], []
    for _ in range(repeat):
        enc = ScreenEncoder(W, H)
        now = prepare(enc)
        t0 = pc()
        frame = act(enc, now)
        times.append(pc() - t0)
        sizes.append(frame.payload_bytes if frame is not None else -1)
    row(name, times, sizes, repeat)


def nothing(enc: ScreenEncoder) -> float:
    return 0.0


def key_frame(enc: ScreenEncoder, now: float) -> Frame | None:
    enc.update(DESK, now)
    return enc.next_frame(1, now, 0)


def page_sent(enc: ScreenEncoder) -> float:
    """A desktop, then a full-screen photo sent at motion quality."""
    enc.update(DESK, 0.0)
    enc.next_frame(1, 0.0, 0)
    enc.update(PAGE_VIEW, 0.0)
    enc.next_frame(2, 0.0, 0)
    return 1.0


def refine_frame(enc: ScreenEncoder, now: float) -> Frame | None:
    return enc.next_frame(3, now, 0)


def capture(display: str, frames: int) -> None:
    from desklink.agent.capture import X11Capture

    with X11Capture(display) as cap:
        grabs, polls = [], []
        for _ in range(frames):
            t0 = pc()
            cap.grab()
            grabs.append(pc() - t0)
            t0 = pc()
            cap.changed()
            polls.append(pc() - t0)
        m = cap.selected
        print(f"\ncapture on {display} ({m.width}x{m.height}), XDamage: {cap.has_damage}")
        print(f"  grab          p50 {percentile(grabs, 50) * 1000:.2f}  p99 {percentile(grabs, 99) * 1000:.2f} ms")
        print(f"  changed()     p50 {percentile(polls, 50) * 1000:.3f}  p99 {percentile(polls, 99) * 1000:.3f} ms")


def main() -> None:
    global DESK, PAGE_VIEW
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--display", help="also time X11 capture on this display")
    args = ap.parse_args()
    n = args.frames

    print("The agent's screen encoder (bench/screen_encode.py)")
    print(f"  {machine_line()}")
    print("rendering synthetic screens...", flush=True)
    DESK = desktop(W, H)
    page = long_page(W, H + (n + 10) * 54, seed=3)
    PAGE_VIEW = photo(W, H, seed=99)
    class Typist:
        """One more character than the frame before, in a new array."""

        def __init__(self) -> None:
            self.k, self.img = 0, text_page(W, H, seed=4)

        def __call__(self, k: int) -> np.ndarray:
            while self.k < k:
                self.k += 1
                img = self.img.copy()
                draw_text(img, 16 + 8 * (self.k % 200), 16 + 18 * (20 + self.k // 200), [33 + self.k % 60])
                self.img = img
            return self.img

    typing = Typist()

    desk_copies = [DESK.copy() for _ in range(4)]
    window = text_page(900, 620, seed=8)

    def dragged(k: int) -> np.ndarray:
        """The desktop with the text window at its k-th place on the ellipse."""
        img = DESK.copy()
        x = int(510 + 450 * np.cos(k * 0.045))
        y = int(230 + 200 * np.sin(k * 0.045))
        img[y : y + 620, x : x + 900] = window
        return img

    print(f"\n{W}x{H}, {n} frames each (after 3 warm-up), update()+next_frame() in ms; bytes per sent frame")
    print(f"{'scenario':17} {'p50':>7} {'p99':>7} {'max':>7}   {'sent':>9} {'bytes':>12}")
    run("unchanged", lambda k: desk_copies[k % 4], n)
    run("unchanged-same", lambda k: DESK, n)
    run("typing", typing, n, settle=True)
    run("scroll", lambda k: view(page, 54 * k, H), n, settle=True)
    run("scroll-nodetect", lambda k: view(page, 54 * k, H), n, settle=True, scroll=False, moves=False, video=None)
    run("drag", dragged, n, settle=True)
    run("drag-nodetect", dragged, n, settle=True, scroll=False, moves=False)
    run("video-noise", lambda k: noise(W, H, seed=k), n, video=None)
    run("video-photo", lambda k: photo(W, H, seed=k), n, video=None)
    run("video-photo-h264", lambda k: photo(W, H, seed=k), n)
    one_shot("key (desktop)", nothing, key_frame, max(5, n // 10))
    one_shot("refine (photo)", page_sent, refine_frame, max(5, n // 10))
    if args.display:
        capture(args.display, n)


DESK: np.ndarray
PAGE_VIEW: np.ndarray

if __name__ == "__main__":
    main()

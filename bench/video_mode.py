#!/usr/bin/env python
"""DeskLink benchmark: the agent's video mode against tiles, encoder only.

Run from the repository root::

    .venv/bin/python bench/video_mode.py                  # 10 s of content per mode
    .venv/bin/python bench/video_mode.py --seconds 20 --no-noise

A 1920x1080 desktop with a 640x360 region playing bench/screen.py's video
picture (moving colour gradients, plus +-24 noise unless ``--no-noise``) at
30 fps, rendered beforehand. Each mode feeds :class:`ScreenEncoder` one
capture per 1/30 s of a fake clock, applies every frame to the reference
:class:`Canvas` (PyAV decodes the H.264), and reports:

* bytes a second of content (payload), and per frame;
* agent CPU: the process's CPU time (every thread, x264's included) per
  second of content, in % of one core: what encoding costs the visitor's
  computer at 30 fps (capture is the same for both modes and not counted);
* encode time per frame (update + next_frame), p50 / p99;
* the picture while playing: PSNR of the viewer's region against the
  source over the last 5 s, and after the region stops, whether the
  settled picture is exact.

Modes: ``tiles`` (``video=None``: JPEG q60 4:2:0 tiles) and ``video``
(the defaults: H.264 after a second of motion).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import machine_line, summary

from desklink.agent.encode import Canvas, ScreenEncoder
from desklink.agent.encode.motion import DEFAULT_VIDEO
from desklink.protocol.screen import Frame, decode
from tests.agent._screens import desktop

W, H = 1920, 1080
VW, VH, FPS = 640, 360, 30
X, Y = (W - VW) // 2, (H - VH) // 2


def video_pictures(n: int, noise: bool) -> list[np.ndarray]:
    """The picture of bench/_screen_drivers.py's VIDEO driver, as BGRA."""
    yy, xx = np.mgrid[0:VH, 0:VW].astype(np.float32)
    rng = np.random.default_rng(3)
    grain = [rng.integers(-24, 24, (VH, VW, 1), dtype=np.int16) for _ in range(8)]
    out = []
    for i in range(n):
        t = i / FPS
        r = 128 + 100 * np.sin(xx / 37 + t * 2.1) * np.cos(yy / 53 - t * 1.3)
        g = 128 + 100 * np.sin((xx + yy) / 61 - t * 1.7)
        b = 128 + 100 * np.cos(np.hypot(xx - VW / 2 - VW / 4 * np.sin(t), yy - VH / 2) / 23 - t * 3)
        img = np.stack([r, g, b], axis=2).astype(np.int16) + (grain[i % len(grain)] if noise else 0)
        bgra = np.empty((VH, VW, 4), dtype=np.uint8)
        bgra[:, :, :3] = np.clip(img, 0, 255).astype(np.uint8)[:, :, ::-1]
        bgra[:, :, 3] = 255
        out.append(bgra)
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def run(mode: str, desk: np.ndarray, pictures: list[np.ndarray]) -> None:
    enc = ScreenEncoder(W, H, video=DEFAULT_VIDEO if mode == "video" else None)
    canvas = Canvas()
    now, seq = 0.0, 0
    encode_s: list[float] = []
    sizes: list[int] = []
    kinds: dict[str, int] = {}
    psnrs: list[float] = []

    def step(screen: np.ndarray, measure: bool) -> Frame | None:
        nonlocal now, seq
        now += 1 / FPS
        seq += 1
        t0 = time.perf_counter()
        enc.update(screen, now)
        f = enc.next_frame(seq, now, int(now * 1e6))
        dt = time.perf_counter() - t0
        if f is not None:
            wire = decode(f.encode(), 1 << 26)
            assert isinstance(wire, Frame)
            canvas.apply(wire)
        if measure:
            encode_s.append(dt)
            sizes.append(f.payload_bytes if f is not None else 0)
            for r in f.rects if f is not None else ():
                kinds[r.enc.name] = kinds.get(r.enc.name, 0) + 1
        return f

    cpu_encode = 0.0
    for i, pic in enumerate(pictures):
        screen = desk.copy()
        screen[Y : Y + VH, X : X + VW] = pic
        c0 = time.process_time()
        step(screen, True)
        cpu_encode += time.process_time() - c0
        if i >= len(pictures) - 5 * FPS:
            psnrs.append(psnr(canvas.image[Y : Y + VH, X : X + VW, :3], pic[:, :, :3]))
    played = len(pictures) / FPS
    # It stops: the last picture stays; let it settle.
    for _ in range(2 * FPS):
        step(screen, False)
    exact = bool(np.array_equal(canvas.image[Y : Y + VH, X : X + VW], screen[Y : Y + VH, X : X + VW]))
    settled_err = float(np.abs(canvas.image[:, :, :3].astype(int) - screen[:, :, :3].astype(int)).mean())
    t = summary(encode_s).scaled(1000)
    sent = [s for s in sizes if s]
    print(f"{mode:6} {sum(sizes) / played / 1000:9.1f} kB/s  {np.mean(sent) / 1000 if sent else 0:6.1f} kB/frame  "
          f"CPU {cpu_encode / played * 100:5.1f} % of a core  encode p50 {t.p50:5.1f} p99 {t.p99:5.1f} ms  "
          f"PSNR playing {np.mean(psnrs):5.1f} dB  settled region exact: {exact} (screen error {settled_err:.2f})  {kinds}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--no-noise", action="store_true", help="the gradients without the +-24 noise")
    args = ap.parse_args()
    n = int(args.seconds * FPS)
    print("The agent's video mode against tiles (bench/video_mode.py)")
    print(f"  {machine_line()}")
    print(f"  {W}x{H} desktop, a {VW}x{VH} region at 30 fps for {args.seconds:g} s, noise {'off' if args.no_noise else '+-24'}")
    desk = desktop(W, H)
    pictures = video_pictures(n, not args.no_noise)
    for mode in ("tiles", "video"):
        run(mode, desk, pictures)


if __name__ == "__main__":
    main()

"""Annotation costs at 1080p: rasterizing the longest strokes, masking the
overlay out of a capture, and the visitor's ink (draw mode) on a real Xvfb.

Run: .venv/bin/python bench/overlay.py

* rasterize: ``rasterize_box`` for 2000-point strokes (the protocol's limit).
* mask: ``Board.mask`` on a 1080p capture with 1 and 50 strokes up, the
  price every captured frame pays while strokes are shown.
* ink: the visitor drags (xdotool, through XTest like a mouse) while draw
  mode pumps on its Tk timer; each pump that moved the stroke is timed from
  reading the pointer events to the overlay's new shape on the X server
  (board update, beneath, canvas, SHAPE, round trip), by the stroke's length.
  What the visitor feels is this plus up to one poll interval (DRAW_POLL_MS).
"""

from __future__ import annotations

import subprocess
import time
import tkinter as tk

import numpy as np
from _measure import Table, machine_line

from desklink.agent.overlay import Board, OverlayWindow
from desklink.agent.overlay.draw import DRAW_POLL_MS, DrawMode
from desklink.agent.overlay.raster import rasterize_box
from desklink.protocol import limits
from desklink.testing_x import XDisplay

W, H = 1920, 1080
pc = time.perf_counter
#: Every figure, in seconds; printed in ms at the end.
TABLE = Table()


def stroke(points: list[list[int]], width: int, sid: str = "s") -> dict[str, object]:
    return {"op": "stroke", "id": sid, "tool": "pen", "color": "#ff0000", "width": width, "points": points, "fade_s": 0}


def walk(n: int, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    p = np.cumsum(rng.normal(0, 6, (n, 2)), 0) + [960, 540]
    return np.clip(p, 0, [W - 1, H - 1]).astype(int).tolist()  # type: ignore[no-any-return]


def bench_rasterize() -> None:
    n = limits.MAX_STROKE_POINTS
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([960 + 500 * np.cos(t), 540 + 500 * np.sin(t)], 1).astype(int).tolist()
    zigzag = [[int(x), 100 if i % 2 else 1000] for i, x in enumerate(np.linspace(0, W - 1, n))]
    for name, pts, width in [("walk, 8 px", walk(n), 8), ("circle r=500, 32 px", circle, 32), ("zigzag full height, 4 px", zigzag, 4)]:
        took = []
        for _ in range(30):
            t0 = pc()
            rasterize_box(stroke(pts, width), W, H)
            took.append(pc() - t0)
        TABLE.dist(f"rasterize 2000 points, {name}", took, digits=2)


def bench_mask() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (H, W, 4), dtype=np.uint8)
    for n in (1, 50):
        board = Board(W, H)
        for i in range(n):
            board.apply(stroke(walk(400, i + 1), 8, f"s{i}"))
        board.mask(frame.copy())
        took = []
        for _ in range(50):
            img = frame.copy()
            t0 = pc()
            board.mask(img)
            took.append(pc() - t0)
        TABLE.dist(f"mask 1080p capture, {n} strokes ({int(board.covered().sum())} px)", took, digits=2)


def bench_ink() -> None:
    with XDisplay(W, H) as xd:
        root = tk.Tk(screenName=xd.name)
        root.withdraw()
        board = Board(W, H)
        capture = np.zeros((H, W, 4), np.uint8)
        board.mask(capture.copy())  # the agent's newest capture
        holder: dict[str, OverlayWindow] = {}

        def overlay() -> OverlayWindow:
            if "o" not in holder:
                holder["o"] = OverlayWindow(root, board)
            return holder["o"]

        sent: list[dict[str, object]] = []
        mode = DrawMode(root, board, 0, 0, overlay=overlay, send=sent.append)
        overlay()
        root.update()
        # One xdotool process: press, 1500 small moves 5 ms apart (a spiral), release.
        t = np.linspace(0, 12 * np.pi, 1500)
        xs = np.clip(960 + (50 + 20 * t) * np.cos(t), 0, W - 1).astype(int)
        ys = np.clip(540 + (50 + 12 * t) * np.sin(t), 0, H - 1).astype(int)
        args = ["mousemove", str(xs[0]), str(ys[0]), "mousedown", "1"]
        for x, y in zip(xs[1:], ys[1:], strict=True):
            args += ["mousemove", str(x), str(y), "sleep", "0.005"]
        args += ["mouseup", "1"]
        proc = subprocess.Popen(["xdotool", *args], env=xd.env)
        by_len: dict[str, list[float]] = {"< 200 points": [], "200-999 points": [], ">= 1000 points": []}
        every: list[float] = []
        mode.closed = True  # the bench pumps by hand, timing each pump
        started = pc()
        while proc.poll() is None or mode.pen.current is not None:
            root.update()
            t0 = pc()
            changed = mode.pump()
            dt = pc() - t0
            if changed:
                every.append(dt)
                pts = len(mode.pen.current["points"]) if mode.pen.current else 0
                key = "< 200 points" if pts < 200 else "200-999 points" if pts < 1000 else ">= 1000 points"
                by_len[key].append(dt)
            board.mask(capture.copy())  # the agent's capture worker, which lets removed pixels go
            time.sleep(DRAW_POLL_MS / 1000)
            if pc() - started > 60:
                break
        proc.wait(10)
        TABLE.dist("ink: one draw-mode pump (all)", every, digits=2)
        for key, took in by_len.items():
            if took:
                TABLE.dist(f"ink: pump, stroke {key}", took, digits=2)
        points = sum(len(m["points"]) for m in sent)  # type: ignore[arg-type, misc]
        TABLE.value("ink: strokes sent / points in all", f"{len(sent)} / {points}")
        holder["o"].destroy()
        root.destroy()


if __name__ == "__main__":
    print("Annotation costs at 1920x1080 (bench/overlay.py)")
    print(f"  {machine_line()}", flush=True)
    TABLE.section("rasterize")
    bench_rasterize()
    TABLE.section("mask")
    bench_mask()
    TABLE.section("the visitor's ink on Xvfb")
    bench_ink()
    TABLE.print()

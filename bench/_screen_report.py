"""bench/screen.py's report: the environment header, the table with one row
per workload, the aims (``ok`` / ``MISS``) and the details per workload
(README "The screen figures").
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
from _screen_desklink import DLResult
from _screen_workloads import H, W, Workload
from _screen_x11vnc import X11VNC_FLAGS, VNCResult

#: The repository (for the commit the figures were taken at).
ROOT = Path(__file__).resolve().parent.parent

#: (workload, DeskLink's figures, x11vnc's or None when it was not run)
Results = list[tuple[Workload, DLResult, VNCResult | None]]


def dpkg_version(pkg: str) -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def print_environment(args: argparse.Namespace) -> None:
    import mss
    import simplejpeg  # type: ignore[import-untyped]
    import websockets

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "src"], capture_output=True, text=True).stdout.strip()
    mem = "?"
    try:
        mem = f"{int(open('/proc/meminfo').readline().split()[1]) // 1024} MiB"
    except (OSError, ValueError, IndexError):
        pass
    print("DeskLink screen-sharing benchmark")
    print(f"  machine    {cpu}, {os.cpu_count()} CPUs, {mem}, Linux {platform.release()}")
    print(f"  python     {platform.python_version()}; numpy {np.__version__}, simplejpeg {simplejpeg.__version__}, mss {mss.__version__}, websockets {websockets.__version__}")
    print(f"  desklink   {rev}{' + uncommitted changes in src/' if dirty else ''}")
    print(f"  X          Xvfb {dpkg_version('xvfb')} at {W}x{H}x24, no window manager; xterm {dpkg_version('xterm')}, "
          f"xdotool {dpkg_version('xdotool')}, chromium {dpkg_version('chromium')}")
    print(f"  x11vnc     {dpkg_version('x11vnc')}: x11vnc -display :N -rfbport P {' '.join(X11VNC_FLAGS)}")
    print("             (defaults otherwise: XDamage hints on, -wait/-defer auto; client asks ZRLE+CopyRect, 32 bpp, one request outstanding)")
    print("  agent      python -m desklink agent --terminal (defaults: --fps 30); viewer: ViewerClient in this process (decodes + acks)")
    print(f"  timing     {args.warmup:g} s warm-up, {args.seconds:g} s measured per workload and product")
    print(flush=True)


def fmt(v: float, spec: str = ".1f", width: int = 6) -> str:
    if v != v:  # NaN
        return f"{'-':>{width}}"
    return f"{v:{width}{spec}}"


def ratio(a: float, b: float) -> str:
    if b <= 0:
        return f"{'-' if a <= 0 else 'inf':>6}"
    return f"{a / b:6.2f}"


def print_table(results: Results) -> None:
    print()
    print("                 |------------------------ DeskLink ------------------------|----------- x11vnc ----------|-- DeskLink/x11vnc --")
    print("workload         |    fps    kB/s  agent CPU%  lat p50  lat p99   error    |  upd/s    kB/s  x11vnc CPU% |  bytes    fps")
    for w, d, v in results:
        vv = v or VNCResult(float("nan"), float("nan"), float("nan"))
        print(f"{w.name:16} | {fmt(d.fps)}  {fmt(d.kbps, '.1f', 6)}  {fmt(d.agent_cpu, '.1f', 9)}  {fmt(d.lat_p50, '.1f', 7)}  "
              f"{fmt(d.lat_p99, '.1f', 7)}  {fmt(d.error, '.2f', 6)}    | {fmt(vv.ups)}  {fmt(vv.kbps, '.1f', 6)}  {fmt(vv.cpu, '.1f', 11)} | "
              f"{ratio(d.kbps, vv.kbps) if v else '     -'} {ratio(d.fps, vv.ups) if v else '     -'}")
    print("(latency in ms, capture -> frame read by the viewer; error = mean |viewer - screen| per channel, 0-255, after settling)")
    busy = [(w.name, max(d.cpu.get("unrelated", 0), v.others.get("unrelated", 0) if v else 0)) for w, d, v in results]
    busy = [(n, c) for n, c in busy if c > 20]
    if busy:
        print("WARNING: processes outside this bench used CPU during the measurement ("
              + ", ".join(f"{n} {c:.0f}%" for n, c in busy) + " of one core); figures on a 2-core machine suffer.")


def print_details(results: Results) -> None:
    print("\nDetails (CPU in % of one core over the measured window; the machine has "
          f"{os.cpu_count()} cores = {100 * (os.cpu_count() or 1)}%)")
    for w, d, v in results:
        print(f"\n[{w.name}] {w.title}: {w.note}")
        c = d.cpu
        print(f"  DeskLink: {d.frames} frames ({d.key} key, {d.refine} refine), rects {dict(sorted(d.rects.items()))}, "
              f"payload kB {({k: round(b / 1000, 1) for k, b in sorted(d.rect_bytes.items())})}")
        if d.other_msgs:
            print(f"            besides frames: {d.other_msgs} messages, {d.other_bytes / 1000:.1f} kB (included in kB/s)")
        per_frame = d.frame_kbps / d.fps if d.fps else float("nan")
        print(f"            {fmt(per_frame, '.1f', 0)} kB per frame on average, largest {d.max_frame_kb:.1f} kB")
        print(f"            capture -> drawn (decoded, painted, acked by the viewer) p50/p99 {fmt(d.drawn_p50, '.1f', 0)}/{fmt(d.drawn_p99, '.1f', 0)} ms; "
              f"error 99.9th pct {fmt(d.error_p999, '.0f', 0)}")
        print(f"            CPU: agent {c.get('agent', 0):.0f}, server {c.get('server', 0):.0f}, Xvfb {c.get('xvfb', 0):.0f}, "
              f"workload apps {c.get('apps', 0):.0f}, viewer+bench {c.get('viewer', 0):.0f}, "
              f"other processes {c.get('unrelated', 0):.0f}, machine {c.get('machine', 0):.0f}")
        if v is not None:
            o = v.others
            names = {16: "ZRLE", 1: "CopyRect", 0: "Raw"}
            per_update = v.kbps / v.ups if v.ups else float("nan")
            print(f"  x11vnc:   {v.updates} updates, rects {({names.get(k, k): n for k, n in sorted(v.rects.items())})}, "
                  f"{fmt(per_update, '.1f', 0)} kB per update on average, largest {v.max_update_kb:.1f} kB")
            print(f"            CPU: x11vnc {v.cpu:.0f}, Xvfb {o.get('xvfb', 0):.0f}, workload apps {o.get('apps', 0):.0f}, "
                  f"RFB client+bench {o.get('viewer', 0):.0f}, "
                  f"other processes {o.get('unrelated', 0):.0f}, machine {o.get('machine', 0):.0f}")
            if d.fps and v.ups:
                print(f"  bytes per frame, DeskLink / x11vnc: {per_frame / per_update:.2f}")
        if d.profile:
            print("  agent profile (py-spy, measured window):")
            print(d.profile)


def print_aims(results: Results) -> None:
    by = {w.name: (d, v) for w, d, v in results}
    print("\nAims")

    def line(ok: bool | None, text: str) -> None:
        print(f"  [{'n/a ' if ok is None else ' ok ' if ok else 'MISS'}] {text}")

    for name in ("scroll", "browser"):
        if name in by:
            d = by[name][0]
            # 29.5: a window of N seconds counts 30*N +- 1 frames at the agent's 30 fps cap.
            line(d.fps >= 29.5 and d.agent_cpu < 100, f"{name}: >= 30 fps with the agent under one core: {d.fps:.1f} fps, agent {d.agent_cpu:.0f}%")
    if "typing" in by:
        d = by["typing"][0]
        line(d.kbps * 8 < 300, f"typing: under 300 kbit/s: {d.kbps * 8:.0f} kbit/s")
    if "idle" in by:
        d = by["idle"][0]
        line(d.kbps < 1.0 and d.fps < 1.0, f"idle: near zero (< 1 kB/s, < 1 fps): {d.kbps:.2f} kB/s, {d.fps:.1f} fps, agent {d.agent_cpu:.1f}%")
    for w, d, _v in results:
        if d.frames:
            line(d.lat_p50 < 30, f"{w.name}: capture-to-viewer latency p50 under 30 ms: {d.lat_p50:.1f} ms (p99 {d.lat_p99:.1f})")
    for w, d, v in results:
        if v is not None:
            extra = f" (of which {d.other_bytes / 1000 / d.seconds:.2f} kB/s not frames: {d.other_msgs})" if d.other_bytes else ""
            line(d.kbps < v.kbps if v.kbps > 0 else d.kbps == 0,
                 f"{w.name}: fewer bytes than x11vnc: {d.kbps:.2f} vs {v.kbps:.2f} kB/s{extra}")


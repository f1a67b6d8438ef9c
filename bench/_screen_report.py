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

#: (workload, DeskLink's figures, x11vnc's per RFB encoding read: {} when not run)
Results = list[tuple[Workload, DLResult, dict[str, VNCResult]]]


def best_vnc(vnc: dict[str, VNCResult]) -> tuple[str, VNCResult] | None:
    """x11vnc's best setting on a workload: the encoding with the fewest bytes."""
    if not vnc:
        return None
    name = min(vnc, key=lambda k: vnc[k].kbps)
    return name, vnc[name]


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
    print(f"             (defaults otherwise: XDamage hints on, -wait/-defer auto; client asks {args.vnc.replace(',', ' or ').upper()} + CopyRect,"
          " 32 bpp, one request outstanding)")
    print("  agent      python -m desklink agent --terminal (defaults: --fps 30); viewer: ViewerClient in this process (decodes + acks),"
          " control granted")
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
    encs = sorted({e for _, _, vnc in results for e in vnc}, key=lambda e: ("zrle", "tight").index(e) if e in ("zrle", "tight") else 9)
    print()
    head = "workload            input  |  DeskLink: kbit/s  content fps  refine fps  KB/content  agent CPU%  error"
    for e in encs:
        head += f" | x11vnc {e.upper():5}: kbit/s  upd/s  KB/upd  CPU%"
    head += " | DL/best bytes  content fps"
    print(head)
    for w, d, vnc in results:
        line = (f"{w.name:19} {w.source if w.has_input else '-':>6} | {fmt(d.kbps * 8, '.0f', 16)}  {fmt(d.content_fps, '.1f', 11)}  "
                f"{fmt(d.refine_fps, '.1f', 10)}  {fmt(d.content_frame_kb, '.1f', 10)}  {fmt(d.agent_cpu, '.0f', 10)}  {fmt(d.error, '.2f', 5)}")
        for e in encs:
            v = vnc.get(e)
            if v is None:
                line += " |" + " " * 39
            else:
                per = v.kbps / v.ups if v.ups else float("nan")
                line += f" | {' ' * 13}{fmt(v.kbps * 8, '.0f', 6)}  {fmt(v.ups, '.1f', 5)}  {fmt(per, '.1f', 6)}  {fmt(v.cpu, '.0f', 4)}"
        best = best_vnc(vnc)
        if best is not None:
            line += f" | {ratio(d.kbps, best[1].kbps):>8} ({best[0]})  {ratio(d.content_fps, best[1].ups)}"
        print(line)
    print("(kbit/s: every message to the viewer; content fps: DeskLink frames with a new picture, refine fps: frames that only sharpen it;")
    print(" KB/content: kB per content frame; x11vnc upd/s: updates read with one request outstanding; KB/upd: kB per update;")
    print(" error: mean |viewer - screen| per channel, 0-255, after settling; DL/best: DeskLink / x11vnc's encoding with fewer bytes)")
    busy = [(w.name, max([d.cpu.get("unrelated", 0)] + [v.others.get("unrelated", 0) for v in vnc.values()])) for w, d, vnc in results]
    busy = [(n, c) for n, c in busy if c > 20]
    if busy:
        print("WARNING: processes outside this bench used CPU during the measurement ("
              + ", ".join(f"{n} {c:.0f}%" for n, c in busy) + " of one core); figures on a 2-core machine suffer.")


def print_details(results: Results) -> None:
    print("\nDetails (CPU in % of one core over the measured window; the machine has "
          f"{os.cpu_count()} cores = {100 * (os.cpu_count() or 1)}%)")
    for w, d, vnc in results:
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
        for e, v in vnc.items():
            o = v.others
            names = {16: "ZRLE", 7: "Tight", 1: "CopyRect", 0: "Raw"}
            per_update = v.kbps / v.ups if v.ups else float("nan")
            print(f"  x11vnc {e.upper()}: {v.updates} updates, rects {({names.get(k, k): n for k, n in sorted(v.rects.items())})}, "
                  f"{fmt(per_update, '.1f', 0)} kB per update on average, largest {v.max_update_kb:.1f} kB")
            print(f"            CPU: x11vnc {v.cpu:.0f}, Xvfb {o.get('xvfb', 0):.0f}, workload apps {o.get('apps', 0):.0f}, "
                  f"RFB client+bench {o.get('viewer', 0):.0f}, "
                  f"other processes {o.get('unrelated', 0):.0f}, machine {o.get('machine', 0):.0f}")
            if d.fps and v.ups:
                print(f"  bytes per frame, DeskLink / x11vnc {e.upper()}: {per_frame / per_update:.2f}")
        if d.profile:
            print("  agent profile (py-spy, measured window):")
            print(d.profile)


def print_aims(results: Results) -> None:
    """The aims of issue 16 (measured, not asserted anywhere)."""
    print("\nAims")

    def line(ok: bool | None, text: str) -> None:
        print(f"  [{'n/a ' if ok is None else ' ok ' if ok else 'MISS'}] {text}")

    for w, d, vnc in results:
        best = best_vnc(vnc)
        if best is not None:
            e, v = best
            need = 3.0 if w.name.split("-viewer")[0] in ("scroll", "pager-down", "pager-page", "drag", "browser") else 1.0
            # A window of N seconds holds the same pictures +-1 frame: that much slack on the rate.
            ok = d.kbps * need <= v.kbps and d.content_fps + 1 / max(d.seconds, 1e-9) >= v.ups
            line(ok, f"{w.name}: {'3x ' if need > 1 else ''}fewer bytes than x11vnc {e.upper()} at equal or higher content rate: "
                     f"{d.kbps * 8:.0f} vs {v.kbps * 8:.0f} kbit/s, {d.content_fps:.1f} vs {v.ups:.1f} fps")
    for w, d, _vnc in results:
        if w.name.startswith("typing"):
            line(d.kbps * 8 < 8, f"{w.name}: under 8 kbit/s: {d.kbps * 8:.1f} kbit/s")
        line(d.agent_cpu < 100, f"{w.name}: agent under one core: {d.agent_cpu:.0f}%")
    for w, d, _vnc in results:
        if d.frames:
            line(d.lat_p50 < 30, f"{w.name}: capture-to-viewer latency p50 under 30 ms: {d.lat_p50:.1f} ms (p99 {d.lat_p99:.1f})")

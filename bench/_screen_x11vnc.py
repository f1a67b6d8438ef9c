"""bench/screen.py's x11vnc side: x11vnc on the same display with access
flags only, read by the minimal RFB client of ``_rfb`` (ZRLE + CopyRect,
one incremental request outstanding, no pixels decoded) over the same
warm-up and measured seconds as DeskLink (README "x11vnc and the RFB
client: what is fair").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from _measure import CpuMeter
from _rfb import ENC_COPYRECT, ENC_TIGHT, ENC_ZRLE, RFBClient
from _screen_input import RFBPlayer
from _screen_workloads import Workload

from desklink.testing import free_port
from desklink.testing_x import XDisplay

#: x11vnc: access flags only; polling, XDamage, -wait/-defer, wireframe and
#: scrollcopyrect stay at their defaults (x11vnc(1)).
X11VNC_FLAGS = ["-localhost", "-nopw", "-forever", "-shared", "-norc", "-noipv6", "-quiet"]

#: The RFB encodings the client asks for, by the name the report uses: the
#: lossless ones (ZRLE, and Tight without a JPEG quality level, so Tight
#: stays lossless: zlib with palette/gradient filters), with CopyRect.
VNC_ENCODINGS = {"zrle": (ENC_ZRLE, ENC_COPYRECT), "tight": (ENC_TIGHT, ENC_COPYRECT)}


@dataclass
class VNCResult:
    """x11vnc's figures for one workload (README "The screen figures")."""

    ups: float = 0.0
    kbps: float = 0.0
    cpu: float = 0.0
    others: dict[str, float] = field(default_factory=dict)
    updates: int = 0
    rects: dict[int, int] = field(default_factory=dict)
    max_update_kb: float = 0.0


def run_x11vnc(display: XDisplay, workdir: Path, w: Workload, args: argparse.Namespace, encoding: str = "zrle") -> VNCResult:
    """x11vnc during ``w`` read with ``encoding`` (a key of
    :data:`VNC_ENCODINGS`): start it, connect, warm up, measure, stop it by
    PID. A ``-viewer`` workload's input goes as RFB input on the client's
    socket."""
    res = VNCResult()
    port = free_port()
    logf = workdir / f"x11vnc-{w.name}-{encoding}.log"
    proc = subprocess.Popen(["x11vnc", "-display", display.name, "-rfbport", str(port), *X11VNC_FLAGS, "-o", str(logf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = RFBClient("127.0.0.1", port, encodings=VNC_ENCODINGS[encoding])
    player: RFBPlayer | None = None
    try:
        client.connect(timeout=15)
        client.start()
        if w.viewer_input is not None:
            player = RFBPlayer(w.viewer_input, client.send_input).start()
        time.sleep(args.warmup)
        meter = CpuMeter({"x11vnc": lambda: [proc.pid], "xvfb": lambda: [display.proc.pid], "apps": w.pids,
                          "viewer": lambda: [os.getpid()]})
        i0, b0 = len(client.updates), client.bytes_total
        meter.start()
        t0 = time.monotonic()
        time.sleep(args.seconds)
        t1 = time.monotonic()
        b1 = client.bytes_total
        cpu = meter.stop().percent()
        if player is not None:
            player.stop()
        ups = [u for u in client.updates[i0:] if t0 <= u.done < t1]
        res.updates = len(ups)
        res.ups = len(ups) / (t1 - t0)
        res.kbps = (b1 - b0) / (t1 - t0) / 1000
        res.cpu = cpu.pop("x11vnc")
        res.others = cpu
        for u in ups:
            for k, v in u.rects.items():
                res.rects[k] = res.rects.get(k, 0) + v
        res.max_update_kb = max((u.nbytes for u in ups), default=0) / 1000
    finally:
        if player is not None:
            player.stop()
        try:
            client.stop()
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    return res


def ensure_x11vnc(skip: bool) -> bool:
    """Whether x11vnc can run (``skip``: --no-x11vnc); as root, installs the
    Debian package when it is missing."""
    if skip:
        return False
    if shutil.which("x11vnc"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("x11vnc is not installed: running `apt-get install -y x11vnc` (Debian package) ...", flush=True)
        r = subprocess.run(["apt-get", "install", "-y", "-q", "x11vnc"], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True)
            r = subprocess.run(["apt-get", "install", "-y", "-q", "x11vnc"], capture_output=True, text=True)
        if r.returncode == 0 and shutil.which("x11vnc"):
            return True
        print(r.stdout[-2000:], r.stderr[-2000:])
    print("x11vnc is not available (install it: apt-get install x11vnc); the x11vnc columns stay empty.")
    return False


#!/usr/bin/env python
"""DeskLink benchmark: screen sharing end to end on a real X server, against
x11vnc on the same workloads.

Run from the repository root::

    .venv/bin/python bench/screen.py                       # all six workloads, ~4 min
    .venv/bin/python bench/screen.py --seconds 5 --warmup 2
    .venv/bin/python bench/screen.py --only scroll,browser --profile /tmp/prof

One Xvfb at 1920x1080x24 (no window manager), one ``desklink serve``
(:class:`~desklink.testing.ServerProcess`). Per workload the bench starts
the X programs, then measures

1. DeskLink: a fresh chat session, a viewer socket (:class:`BenchViewer`,
   the reference :class:`~desklink.testing.ViewerClient` that decodes every
   frame onto a Canvas and acks it, plus a time stamp per frame), the
   ``screen.request`` join code, and the real agent process
   (``python -m desklink agent --server URL --code CODE --terminal``,
   answered "y") on the display. After ``--warmup`` s, ``--seconds`` s are
   measured. Then the workload's drivers are paused (SIGSTOP), the viewer
   waits until frames stop, and its picture is compared with a screenshot.
2. x11vnc on the same display, read by the minimal RFB 3.8 client in
   ``bench/_rfb.py`` (ZRLE + CopyRect, one incremental request outstanding),
   same warm-up and measured seconds.

See bench/README.md ("Screen") for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _measure import (
    CpuMeter,
    Pids,
    PySpy,
    descendants,
    machine_busy_seconds,
    percentile,
    read_collapsed,
    share_lines,
)
from _rfb import RFBClient

from desklink.protocol import screen
from desklink.testing import (
    AdminAPI,
    RepClient,
    ServerProcess,
    ViewerClient,
    VisitorClient,
    free_port,
)
from desklink.testing_x import XDisplay

W, H = 1920, 1080
#: Largest message the bench's viewer reads (ViewerClient.connect's
#: websockets ``max_size``); the bench measures, the server enforces.
VIEWER_MAX_MESSAGE = 2**23
XTERM_FONT = ("-fa", "DejaVu Sans Mono", "-fs", "11")
#: An xterm filling the 1920x1080 screen with that font (9 x 19 px cells).
FULL_XTERM = "211x56+0+0"
#: x11vnc: access flags only; polling, XDamage, -wait/-defer, wireframe and
#: scrollcopyrect stay at their defaults (x11vnc(1)).
X11VNC_FLAGS = ["-localhost", "-nopw", "-forever", "-shared", "-norc", "-noipv6", "-quiet"]

WORDS = (
    "the a of to and in is it that for on with as was at by be this from or have an are not but had his they you were "
    "which she all their one there been has when who would will more if no out so said what up its about into than them "
    "can only other new some could time these two may then do first any my now such like our over man me even most made "
    "after also did many before must through back years where much your way well down should because each just those "
    "server client request session screen frame window buffer packet socket thread kernel module config daemon process "
    "error warning debug trace install update compile linking object library package version release build test passed"
).split()


def sentence(rng: random.Random, lo: int = 6, hi: int = 18) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + rng.choice(".....?!")


def log_text(lines: int, seed: int = 1) -> str:
    """Build-log-like lines of varied length (what a terminal scrolls)."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        lvl = rng.choice(["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"])
        msg = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 28)))
        out.append(f"2026-11-21 10:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d} {lvl:5} [worker-{rng.randint(1, 16)}] {msg}")
    return "\n".join(out) + "\n"


def article_html(sections: int, seed: int = 2) -> str:
    """A long article: headings, paragraphs, lists, code, a table, coloured boxes."""
    rng = random.Random(seed)
    parts = ["<!doctype html><html><head><meta charset=utf-8><title>bench article</title><style>"
             "body{font:16px/1.5 'DejaVu Sans',sans-serif;max-width:960px;margin:24px auto;color:#222}"
             "h2{color:#1a4d8f;border-bottom:1px solid #ccd}pre{background:#f4f4f8;padding:8px;font:13px monospace}"
             ".note{background:#fff6d6;border-left:4px solid #e0a800;padding:6px 12px}"
             "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px}th{background:#e8eef8}"
             "</style></head><body><h1>A long page to scroll</h1>"]
    for i in range(sections):
        parts.append(f"<h2>{i + 1}. {sentence(rng, 3, 7)[:-1]}</h2>")
        for _ in range(rng.randint(1, 3)):
            parts.append("<p>" + " ".join(sentence(rng) for _ in range(rng.randint(3, 7))) + "</p>")
        r = rng.random()
        if r < 0.2:
            parts.append("<pre>" + "\n".join(f"$ {rng.choice(WORDS)} --{rng.choice(WORDS)}={rng.randint(0, 999)}" for _ in range(4)) + "</pre>")
        elif r < 0.35:
            parts.append("<ul>" + "".join(f"<li>{sentence(rng, 4, 10)}</li>" for _ in range(4)) + "</ul>")
        elif r < 0.45:
            parts.append(f"<div class=note>{sentence(rng)}</div>")
        elif r < 0.55:
            rows = "".join(f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(0, 99999)}</td><td>{rng.random():.3f}</td></tr>" for _ in range(4))
            parts.append(f"<table><tr><th>name</th><th>count</th><th>ratio</th></tr>{rows}</table>")
    parts.append("</body></html>")
    return "".join(parts)


# ----------------------------------------------------------------- drivers
# Small programs run on the display (sys.executable -c ...), each its own
# process so that it can be paused with SIGSTOP and its CPU counted.

TYPER = r"""
import subprocess, sys, time
text = open(sys.argv[1]).read()
rate = float(sys.argv[2])
t0 = time.monotonic()
for i, ch in enumerate(text):
    if ch == "\n":
        subprocess.run(["xdotool", "key", "Return"])
    else:
        subprocess.run(["xdotool", "type", "--delay", "0", "--", ch])
    time.sleep(max(0.0, t0 + (i + 1) / rate - time.monotonic()))
"""

WHEEL = r"""
import subprocess, sys, time
rate = float(sys.argv[1]); button = sys.argv[2]
t0 = time.monotonic(); i = 0
while True:
    subprocess.run(["xdotool", "click", button])
    i += 1
    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
"""

KEYS = r"""
import subprocess, sys, time
rate = float(sys.argv[1]); key = sys.argv[2]
t0 = time.monotonic(); i = 0
while True:
    subprocess.run(["xdotool", "key", key])
    i += 1
    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
"""

MOVER = r"""
import math, sys, time
import xcffib, xcffib.xproto
conn = xcffib.connect()
wid = int(sys.argv[1]); rate = float(sys.argv[2])
mask = xcffib.xproto.ConfigWindow.X | xcffib.xproto.ConfigWindow.Y
t0 = time.monotonic(); i = 0
while True:
    t = time.monotonic() - t0
    x = int(560 + 520 * math.cos(t * 1.3)); y = int(300 + 220 * math.sin(t * 1.3))
    conn.core.ConfigureWindow(wid, mask, [x, y]); conn.flush()
    i += 1
    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
"""

VIDEO = r"""
import sys, time, tkinter as tk
import numpy as np
VW, VH, FPS = 480, 270, float(sys.argv[1])
root = tk.Tk(); root.title("bench video"); root.geometry(f"{VW}x{VH}+720+405")
photo = tk.PhotoImage(width=VW, height=VH)
tk.Label(root, image=photo, borderwidth=0).pack()
yy, xx = np.mgrid[0:VH, 0:VW].astype(np.float32)
rng = np.random.default_rng(3)
noise = [rng.integers(-24, 24, (VH, VW, 1), dtype=np.int16) for _ in range(8)]
header = f"P6 {VW} {VH} 255 ".encode()
state = {"i": 0, "t0": time.monotonic()}
def tick():
    i = state["i"]; t = i / FPS
    r = 128 + 100 * np.sin(xx / 37 + t * 2.1) * np.cos(yy / 53 - t * 1.3)
    g = 128 + 100 * np.sin((xx + yy) / 61 - t * 1.7)
    b = 128 + 100 * np.cos(np.hypot(xx - 240 - 120 * np.sin(t), yy - 135) / 23 - t * 3)
    img = np.stack([r, g, b], axis=2).astype(np.int16) + noise[i % len(noise)]
    photo.configure(data=header + np.clip(img, 0, 255).astype(np.uint8).tobytes(), format="ppm")
    state["i"] = i + 1
    delay = state["t0"] + (i + 1) / FPS - time.monotonic()
    root.after(max(1, int(delay * 1000)), tick)
root.after(10, tick)
root.mainloop()
"""


# ----------------------------------------------------------------- viewer
@dataclass
class Arrival:
    at: float  # time.monotonic() when the viewer got the message off the socket
    nbytes: int  # WebSocket payload + frame header
    seq: int
    capture_us: int
    flags: int
    rects: dict[str, int]
    rect_bytes: dict[str, int]
    drawn: float = float("nan")  # when the viewer asked for the next message: decoded, painted, acked


def ws_header(n: int) -> int:
    """Server-to-client WebSocket frame header size (unmasked) for ``n`` bytes."""
    return 2 if n < 126 else 4 if n < 65536 else 10


_OTHER_BINARY = {screen.KIND_CURSOR: "cursor", screen.KIND_POINTER: "pointer"}


class _Tap:
    """Wraps the viewer's WebSocket: time-stamps every message as the
    viewer's reading loop takes it, and notes when the loop comes back for
    the next one (the previous one is then decoded, drawn and acked).
    Everything else is the real socket.

    Frames are parsed with the protocol's own :func:`desklink.protocol.screen.decode`
    (every encoding, PNG included, every bound checked), so the counts are
    those of the frames the viewer draws. Parsing copies the rectangles'
    payloads but decodes no pixels: microseconds per frame, next to the
    JPEG/PNG decoding the viewer then does on its Canvas. The server sends
    viewers whole messages (only the agent's socket carries frames in parts),
    so one WebSocket message is one screen message here."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.log: list[Arrival] = []
        self.wire: list[tuple[float, int, str]] = []  # (arrival, bytes incl. WebSocket header, kind)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        async for raw in self._ws:
            at = time.monotonic()
            n = len(raw) if isinstance(raw, bytes) else len(raw.encode())
            n += ws_header(n)
            frame: Arrival | None = None
            if isinstance(raw, bytes):
                msg = screen.decode(raw[1:], VIEWER_MAX_MESSAGE)
                if isinstance(msg, screen.Frame):
                    rects: dict[str, int] = {}
                    rbytes: dict[str, int] = {}
                    for r in msg.rects:
                        rects[r.enc.name] = rects.get(r.enc.name, 0) + 1
                        rbytes[r.enc.name] = rbytes.get(r.enc.name, 0) + len(r.payload)
                    frame = Arrival(at, n, msg.seq, msg.capture_us, msg.flags, rects, rbytes)
                    self.log.append(frame)
                    self.wire.append((at, n, "frame"))
                else:
                    self.wire.append((at, n, _OTHER_BINARY.get(raw[1], "binary")))
            else:
                try:
                    kind = str(json.loads(raw).get("t"))
                except ValueError:
                    kind = "json"
                self.wire.append((at, n, kind))
            yield raw
            if frame is not None:
                frame.drawn = time.monotonic()


class BenchViewer(ViewerClient):
    """The reference :class:`ViewerClient` unchanged (it decodes every frame
    onto a Canvas and acks it, as the browser does), reading through a
    :class:`_Tap` that records each message's arrival, size, the frame
    header's ``capture_us`` and the rectangles."""

    def __init__(self, ws: Any) -> None:
        self.tap = _Tap(ws)
        super().__init__(self.tap)

    @property
    def log(self) -> list[Arrival]:
        return self.tap.log

    @property
    def wire(self) -> list[tuple[float, int, str]]:
        return self.tap.wire


# ----------------------------------------------------------------- workloads
class Workload:
    """A real activity on the display. ``setup`` starts the X programs and
    the drivers; ``pause``/``resume`` freeze the drivers (SIGSTOP/SIGCONT)
    so the picture can settle; ``teardown`` stops everything by PID."""

    name = ""
    title = ""

    def __init__(self, display: XDisplay, workdir: Path) -> None:
        self.d = display
        self.workdir = workdir
        self.procs: list[subprocess.Popen[Any]] = []  # X programs
        self.drivers: list[subprocess.Popen[Any]] = []  # paused while settling
        self.pause_trees: list[int] = []  # roots whose descendants (not the root) are paused
        self.note = ""

    def spawn(self, *cmd: str) -> subprocess.Popen[Any]:
        p = subprocess.Popen(list(cmd), env=self.d.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def driver(self, script: str, *args: str) -> subprocess.Popen[Any]:
        p = subprocess.Popen([sys.executable, "-c", script, *args], env=self.d.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.drivers.append(p)
        return p

    def xterm(self, geometry: str, title: str, *command: str) -> str:
        args = ["xterm", "-geometry", geometry, *XTERM_FONT, "-title", title]
        if command:
            args += ["-e", *command]
        self.spawn(*args)
        return self.d.wait_window(title)

    def pids(self) -> list[int]:
        """Every process of the workload (X programs, their children, drivers)."""
        out: list[int] = []
        for p in self.procs + self.drivers:
            out.extend(descendants(p.pid))
        return out

    def setup(self) -> None:
        raise NotImplementedError

    def _signal(self, sig: int) -> None:
        for p in self.drivers:
            if p.poll() is None:
                os.kill(p.pid, sig)
        for root in self.pause_trees:
            for pid in descendants(root)[1:]:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def teardown(self) -> None:
        self.resume()
        for p in reversed(self.drivers + self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.procs.clear()
        self.drivers.clear()


class Idle(Workload):
    name = "idle"
    title = "idle desktop, one xterm"

    def setup(self) -> None:
        self.xterm("100x30+40+40", "bench-idle", "sh", "-c", "ls -l /usr/bin | head -28; exec sleep 100000")
        self.d.xdotool("mousemove", "1500", "900")


class Typing(Workload):
    name = "typing"
    title = "typing 10 chars/s in an xterm"

    def __init__(self, display: XDisplay, workdir: Path, rate: float = 10.0) -> None:
        super().__init__(display, workdir)
        self.rate = rate

    def setup(self) -> None:
        rng = random.Random(5)
        text = "\n".join(" ".join(sentence(rng) for _ in range(3)) for _ in range(60)) + "\n"
        path = self.workdir / "typing.txt"
        path.write_text(text)
        wid = self.xterm("120x40+40+40", "bench-typing", "sh", "-c", "cat >/dev/null")
        x, y, w, h = self.d.window_geometry(wid)
        self.d.xdotool("mousemove", str(x + w // 2), str(y + h // 2))
        self.d.xdotool("windowfocus", "--sync", wid)
        self.driver(TYPER, str(path), str(self.rate))
        self.note = f"{self.rate:g} chars/s via xdotool into `cat` in a 120x40 xterm"


class TerminalScroll(Workload):
    name = "scroll"
    title = "terminal scrolling fast (cat of a log, full-screen xterm)"

    def setup(self) -> None:
        path = self.workdir / "log.txt"
        path.write_text(log_text(60000))
        wid = self.xterm(FULL_XTERM, "bench-scroll", "sh", "-c", f"while :; do cat {path}; done")
        x, y, w, h = self.d.window_geometry(wid)
        self.pause_trees.append(self.procs[-1].pid)
        self.note = f"xterm {w}x{h}, `while :; do cat log; done` (60k lines of 40-220 chars)"


class BrowserScroll(Workload):
    name = "browser"
    title = "long page scrolled in Chromium (wheel 10 notches/s)"

    def __init__(self, display: XDisplay, workdir: Path, rate: float = 10.0) -> None:
        super().__init__(display, workdir)
        self.rate = rate

    def setup(self) -> None:
        page = self.workdir / "article.html"
        page.write_text(article_html(2500))
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium:
            try:
                self.spawn(chromium, "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--test-type", "--password-store=basic",
                           "--no-default-browser-check", f"--user-data-dir={self.workdir / 'chromium-profile'}",
                           "--window-position=0,0", f"--window-size={W},{H}", page.as_uri())
                self.d.wait_window("bench article", timeout=40)
                time.sleep(2.0)  # first paint, fonts
                self.d.xdotool("mousemove", str(W // 2), str(H // 2 + 100))
                self.driver(WHEEL, str(self.rate), "5")
                self.note = f"Chromium {W}x{H}, {page.name} ({page.stat().st_size // 1024} KB), wheel down {self.rate:g}/s (smooth scrolling on)"
                return
            except (TimeoutError, RuntimeError) as exc:
                print(f"  Chromium did not start ({exc}); falling back to less in an xterm", flush=True)
                self.teardown()
        text = self.workdir / "page.txt"
        rng = random.Random(7)
        text.write_text("\n\n".join("\n".join(sentence(rng, 8, 16) for _ in range(5)) for _ in range(4000)))
        self.title = "long text scrolled in less (Down 15/s)"
        wid = self.xterm(FULL_XTERM, "bench-less", "less", str(text))
        self.d.xdotool("windowfocus", "--sync", wid)
        self.driver(KEYS, "15", "Down")
        self.note = "less in a full-screen xterm, Down 15/s"


class WindowDrag(Workload):
    name = "drag"
    title = "xterm dragged around (60 moves/s)"

    def setup(self) -> None:
        path = self.workdir / "drag.txt"
        path.write_text(log_text(400, seed=9))
        wid = self.xterm("100x35+300+200", "bench-drag", "less", str(path))
        self.driver(MOVER, wid, "60")
        self.note = "100x35 xterm (less on text) moved along an ellipse 1040x440 px, ~600 px/s, black root window"


class Video(Workload):
    name = "video"
    title = "480x270 video-like Tk animation at 30 fps"

    def setup(self) -> None:
        self.xterm("100x30+40+40", "bench-video-term", "sh", "-c", "ls -l /usr/bin | head -28; exec sleep 100000")
        self.driver(VIDEO, "30")
        self.d.wait_window("bench video")
        self.note = "Tk PhotoImage 480x270, moving gradients + noise at 30 fps, beside an idle xterm"


WORKLOADS: dict[str, type[Workload]] = {w.name: w for w in (Idle, Typing, TerminalScroll, BrowserScroll, WindowDrag, Video)}


# ----------------------------------------------------------------- results
@dataclass
class DLResult:
    fps: float = 0.0
    kbps: float = 0.0  # kB/s, every message to the viewer
    frame_kbps: float = 0.0  # kB/s, frames only
    seconds: float = 0.0
    agent_cpu: float = 0.0
    lat_p50: float = float("nan")
    lat_p99: float = float("nan")
    drawn_p50: float = float("nan")
    drawn_p99: float = float("nan")
    error: float = float("nan")
    error_p999: float = float("nan")
    cpu: dict[str, float] = field(default_factory=dict)
    frames: int = 0
    key: int = 0
    refine: int = 0
    rects: dict[str, int] = field(default_factory=dict)
    rect_bytes: dict[str, int] = field(default_factory=dict)
    max_frame_kb: float = 0.0
    other_msgs: dict[str, int] = field(default_factory=dict)  # cursor, pointer, json: count
    other_bytes: int = 0
    agent_output: str = ""
    profile: str = ""


@dataclass
class VNCResult:
    ups: float = 0.0
    kbps: float = 0.0
    cpu: float = 0.0
    others: dict[str, float] = field(default_factory=dict)
    updates: int = 0
    rects: dict[int, int] = field(default_factory=dict)
    max_update_kb: float = 0.0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="desklink-screen-bench-"))
        self.display = XDisplay(W, H, 24)
        self.server = ServerProcess(env={"DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "100000"})
        self.admin: AdminAPI | None = None
        self.rep: tuple[str, str] = ("", "")

    # -- DeskLink -------------------------------------------------------------
    async def chat(self) -> tuple[RepClient, VisitorClient, str]:
        rep = await RepClient.connect(self.server, *self.rep)
        visitor = await VisitorClient.submit(self.server, queue="bench-screen", name="Bench visitor")
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        return rep, visitor, sid

    def start_agent(self, code: str) -> tuple[subprocess.Popen[str], list[str]]:
        cmd = [sys.executable, "-m", "desklink", "agent", "--server", self.server.url, "--code", code.replace(" ", ""), "--terminal"]
        proc = subprocess.Popen(cmd, env={**self.display.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("y\n")
        proc.stdin.flush()
        lines: list[str] = []
        stdout = proc.stdout
        threading.Thread(target=lambda: lines.extend(stdout), daemon=True).start()
        return proc, lines

    async def run_desklink(self, w: Workload) -> DLResult:
        res = DLResult()
        rep, visitor, sid = await self.chat()
        viewer = await BenchViewer.connect(self.server, *self.rep, sid)
        agent: subprocess.Popen[str] | None = None
        try:
            await viewer.wait_status("waiting_agent")
            await rep.send({"t": "screen.request", "session_id": sid})
            code = (await rep.expect("screen.offer"))["code"]
            agent, lines = self.start_agent(code)
            await viewer.wait_status("sharing", timeout=30)
            await asyncio.sleep(self.args.warmup)
            meter = self.meter({"agent": lambda: [agent.pid] if agent else [], "server": lambda: [self.server.proc.pid],
                                "xvfb": lambda: [self.display.proc.pid], "apps": w.pids, "viewer": lambda: [os.getpid()]})
            profiler = self.start_profiler(agent.pid, w.name)
            i0 = len(viewer.log)
            meter.start()
            t0 = time.monotonic()
            await asyncio.sleep(self.args.seconds)
            t1 = time.monotonic()
            res.cpu = meter.stop().percent()
            res.agent_cpu = res.cpu["agent"]
            log = [a for a in viewer.log[i0:] if t0 <= a.at < t1]
            if profiler is not None:
                res.profile = await asyncio.to_thread(self.finish_profiler, profiler)
            secs = res.seconds = t1 - t0
            res.frames = len(log)
            res.fps = len(log) / secs
            res.frame_kbps = sum(a.nbytes for a in log) / secs / 1000
            wire = [(n, kind) for at, n, kind in viewer.wire if t0 <= at < t1]
            res.kbps = sum(n for n, _ in wire) / secs / 1000
            for n, kind in wire:
                if kind != "frame":
                    res.other_msgs[kind] = res.other_msgs.get(kind, 0) + 1
                    res.other_bytes += n
            lat = [(a.at - a.capture_us / 1e6) * 1000 for a in log]
            drawn = [(a.drawn - a.capture_us / 1e6) * 1000 for a in log if a.drawn == a.drawn]
            if lat:
                res.lat_p50, res.lat_p99 = percentile(lat, 50), percentile(lat, 99)
                res.drawn_p50, res.drawn_p99 = percentile(drawn, 50), percentile(drawn, 99)
                res.max_frame_kb = max(a.nbytes for a in log) / 1000
            res.key = sum(1 for a in log if a.flags & screen.FLAG_KEY)
            res.refine = sum(1 for a in log if a.flags & screen.FLAG_REFINE)
            for a in log:
                for k, v in a.rects.items():
                    res.rects[k] = res.rects.get(k, 0) + v
                for k, v in a.rect_bytes.items():
                    res.rect_bytes[k] = res.rect_bytes.get(k, 0) + v
            # Settle: freeze the drivers, wait for the last frames (refinement), compare.
            w.pause()
            try:
                await asyncio.sleep(0.3)
                await viewer.settle(quiet_s=1.0, timeout=20)
                shot = await asyncio.to_thread(self.display.screenshot)
                diff = np.abs(viewer.canvas.rgb.astype(np.int16) - shot.astype(np.int16))
                res.error = float(diff.mean())
                res.error_p999 = float(np.percentile(diff, 99.9))
            except TimeoutError:
                res.error = float("nan")
            finally:
                w.resume()
            await viewer.send({"t": "screen.stop"})
            await viewer.wait_status("stopped")
            try:
                await asyncio.to_thread(agent.wait, 15)
            except subprocess.TimeoutExpired:
                print("   (the agent did not exit within 15 s of screen.stop; terminating it)", flush=True)
            res.agent_output = "".join(lines)
        finally:
            if agent is not None and agent.poll() is None:
                agent.terminate()
                await asyncio.to_thread(agent.wait, 10)
            await viewer.close()
            await rep.close()
            await visitor.close()
        return res

    # -- x11vnc ---------------------------------------------------------------
    def run_x11vnc(self, w: Workload) -> VNCResult:
        res = VNCResult()
        port = free_port()
        logf = self.workdir / f"x11vnc-{w.name}.log"
        proc = subprocess.Popen(["x11vnc", "-display", self.display.name, "-rfbport", str(port), *X11VNC_FLAGS, "-o", str(logf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        client = RFBClient("127.0.0.1", port)
        try:
            client.connect(timeout=15)
            client.start()
            time.sleep(self.args.warmup)
            meter = self.meter({"x11vnc": lambda: [proc.pid], "xvfb": lambda: [self.display.proc.pid], "apps": w.pids,
                                "viewer": lambda: [os.getpid()]})
            i0, b0 = len(client.updates), client.bytes_total
            meter.start()
            t0 = time.monotonic()
            time.sleep(self.args.seconds)
            t1 = time.monotonic()
            b1 = client.bytes_total
            cpu = meter.stop().percent()
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

    # -- helpers ----------------------------------------------------------------
    def meter(self, groups: dict[str, Pids]) -> CpuMeter:
        return CpuMeter(groups)

    def start_profiler(self, pid: int, name: str) -> PySpy | None:
        """py-spy on the agent for the measured window (--profile DIR)."""
        if not self.args.profile:
            return None
        return PySpy(pid, Path(self.args.profile) / f"agent-{name}.txt", rate=100, idle=self.args.profile_mode == "wall")

    def finish_profiler(self, spy: PySpy) -> str:
        out = spy.stop()
        return summarize_profile(out) if out.exists() else "(py-spy wrote nothing)"

    def start(self) -> None:
        self.display.start()
        self.server.start()
        self.admin = AdminAPI(self.server)
        self.admin.queue("bench-screen")
        (self.rep,) = self.admin.reps(1, queue_slug="bench-screen", prefix="screenbench")

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.close()
        self.server.stop()
        self.display.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def summarize_profile(path: Path, top: int = 14) -> str:
    """Busiest functions of the agent's threads from py-spy's collapsed stacks:
    per thread the share of samples, then the leaf ("self") functions and
    the inclusive ones, and the self time inside ``AgentClient._build``."""
    threads: dict[str, int] = {}
    leaf: dict[str, int] = {}
    incl: dict[str, int] = {}
    build_leaf: dict[str, int] = {}
    build_total = 0
    total = 0
    for thread, frames, count in read_collapsed(path):
        total += count
        threads[thread] = threads.get(thread, 0) + count
        # "function (path/to/file.py:line)" -> "function (file.py)"
        fn = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")" if " (" in f else f for f in frames]
        if fn:
            leaf[fn[-1]] = leaf.get(fn[-1], 0) + count
            if any(f.startswith("AgentClient._build ") for f in fn):
                build_total += count
                build_leaf[fn[-1]] = build_leaf.get(fn[-1], 0) + count
        for f in set(fn):
            incl[f] = incl.get(f, 0) + count
    if not total:
        return "(no samples)"
    lines = ["    threads: " + ", ".join(f"{t[:40]} {100 * c / total:.0f}%" for t, c in sorted(threads.items(), key=lambda x: -x[1]))]
    lines.append("    self time (share of samples, all threads):")
    lines += share_lines(leaf, total, top, "      ")
    lines.append("    inclusive:")
    lines += share_lines(incl, total, top, "      ")
    if build_total:
        lines.append(f"    inside AgentClient._build (grab + encode of one frame; {100 * build_total / total:.0f}% of samples), self time:")
        lines += share_lines(build_leaf, build_total, top, "      ")
    return "\n".join(lines)


# ----------------------------------------------------------------- report
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


def print_table(results: list[tuple[Workload, DLResult, VNCResult | None]]) -> None:
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


def print_details(results: list[tuple[Workload, DLResult, VNCResult | None]]) -> None:
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


def print_aims(results: list[tuple[Workload, DLResult, VNCResult | None]]) -> None:
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
    for w, d, v in results:
        if d.frames:
            line(d.lat_p50 < 30, f"{w.name}: capture-to-viewer latency p50 under 30 ms: {d.lat_p50:.1f} ms (p99 {d.lat_p99:.1f})")
    for w, d, v in results:
        if v is not None:
            extra = f" (of which {d.other_bytes / 1000 / d.seconds:.2f} kB/s not frames: {d.other_msgs})" if d.other_bytes else ""
            line(d.kbps < v.kbps if v.kbps > 0 else d.kbps == 0,
                 f"{w.name}: fewer bytes than x11vnc: {d.kbps:.2f} vs {v.kbps:.2f} kB/s{extra}")


# ----------------------------------------------------------------- main
def ensure_x11vnc(skip: bool) -> bool:
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


def wait_quiet(limit_s: float, busy_pct: float = 25.0, need_s: int = 2) -> str:
    """Wait (at most ``limit_s``) until the whole machine is under ``busy_pct``
    (% of one core) for ``need_s`` seconds in a row. Call it when nothing of
    the bench is busy: the CPU it sees is other people's. Returns a note."""
    started = time.monotonic()
    quiet = 0
    seen = 0.0
    while time.monotonic() - started < limit_s:
        b0, t0 = machine_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        seen = 100.0 * (machine_busy_seconds() - b0) / (time.monotonic() - t0)
        quiet = quiet + 1 if seen < busy_pct else 0
        if quiet >= need_s:
            return f"waited {time.monotonic() - started:.0f} s for a quiet machine"
    return f"machine still busy ({seen:.0f}% of one core) after {limit_s:.0f} s; measuring anyway"


async def amain(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
        return 2
    for tool in ("Xvfb", "xterm", "xdotool"):
        if not shutil.which(tool):
            print(f"{tool} is needed (apt-get install xvfb xterm xdotool)")
            return 2
    have_vnc = ensure_x11vnc(args.no_x11vnc)
    print_environment(args)
    bench = Bench(args)
    results: list[tuple[Workload, DLResult, VNCResult | None]] = []
    started = time.monotonic()
    try:
        bench.start()
        for name in names:
            w = WORKLOADS[name](bench.display, bench.workdir)
            print(f"-- {name}: {w.title}", flush=True)
            if args.wait_quiet > 0:
                print(f"   {await asyncio.to_thread(wait_quiet, args.wait_quiet)}", flush=True)
            try:
                w.setup()
                if w.note:
                    print(f"   {w.note}", flush=True)
                time.sleep(1.0)
                d = await bench.run_desklink(w)
                print(f"   DeskLink: {d.fps:.1f} fps, {d.kbps:.1f} kB/s, agent {d.agent_cpu:.0f}%, latency p50 {d.lat_p50:.1f} ms, error {d.error:.2f}", flush=True)
                v = None
                if have_vnc:
                    await asyncio.sleep(0.5)
                    v = await asyncio.to_thread(bench.run_x11vnc, w)
                    print(f"   x11vnc:   {v.ups:.1f} upd/s, {v.kbps:.1f} kB/s, x11vnc {v.cpu:.0f}%", flush=True)
                results.append((w, d, v))
            finally:
                w.teardown()
    finally:
        bench.stop()
    print_table(results)
    print_aims(results)
    print_details(results)
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload and product (default 10)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring (default 3)")
    ap.add_argument("--only", default=",".join(WORKLOADS), help=f"workloads, comma-separated (default all: {','.join(WORKLOADS)})")
    ap.add_argument("--no-x11vnc", action="store_true", help="DeskLink only")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="before each workload wait up to S seconds until the rest of the machine is idle (shared machines)")
    ap.add_argument("--profile-mode", choices=("cpu", "wall"), default="cpu",
                    help="cpu: running samples only; wall: --idle too, so waiting (X replies, the socket) shows")
    ap.add_argument("--profile", metavar="DIR", help="sample the agent with py-spy during each measured window (costs CPU)")
    args = ap.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())

"""bench/screen.py's workloads: real activity on the Xvfb display (X
programs plus the drivers of ``_screen_drivers``), and the text they show.
Each workload starts its programs in :meth:`Workload.setup`, can be frozen
(SIGSTOP) so the picture settles, and stops everything it started by PID.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _measure import descendants
from _screen_drivers import FOLLOW, INPUT, KEYS, VIDEO, WHEEL
from _screen_input import Script

from desklink.testing_x import XDisplay

#: The display every workload runs on (Xvfb, depth 24, no window manager).
W, H = 1920, 1080
XTERM_FONT = ("-fa", "DejaVu Sans Mono", "-fs", "11")
#: An xterm filling the 1920x1080 screen with that font (9 x 19 px cells).
FULL_XTERM = "211x56+0+0"

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


class Workload:
    """A real activity on the display. ``setup`` starts the X programs and
    the drivers; ``pause``/``resume`` freeze the drivers (SIGSTOP/SIGCONT)
    so the picture can settle; ``teardown`` stops everything by PID."""

    name = ""
    title = ""
    #: Workloads with a user at the keyboard or mouse: their input comes from
    #: the visitor's own keyboard (xdotool on the display) or, in the
    #: ``-viewer`` variant, from the rep's viewer through the product measured.
    has_input = False

    def __init__(self, display: XDisplay, workdir: Path, source: str = "xdotool") -> None:
        self.d = display
        self.workdir = workdir
        self.source = source
        if self.has_input and source == "viewer":
            self.name = f"{type(self).name}-viewer"
        self.script: Script | None = None  # the input to play, set by setup()
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

    def play(self, script: Script) -> None:
        """Give the workload its input: from xdotool now (a driver), or from
        the viewer (the DeskLink and x11vnc sides play ``self.script``)."""
        self.script = script
        if self.source == "xdotool":
            self.driver(INPUT, str(script.save(self.workdir / f"input-{self.name}.json")))

    @property
    def viewer_input(self) -> Script | None:
        """The script the viewer plays, or None (input from xdotool or none)."""
        return self.script if self.source == "viewer" else None

    @property
    def from_(self) -> str:
        return ("the viewer" if self.source == "viewer" else "xdotool") if self.has_input else "no input"

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
    title = "typing 8 chars/s in an xterm"
    has_input = True

    def __init__(self, display: XDisplay, workdir: Path, source: str = "xdotool", rate: float = 8.0) -> None:
        super().__init__(display, workdir, source)
        self.rate = rate

    def setup(self) -> None:
        rng = random.Random(5)
        text = "\n".join(" ".join(sentence(rng) for _ in range(3)) for _ in range(60)) + "\n"
        wid = self.xterm("120x40+40+40", "bench-typing", "sh", "-c", "cat >/dev/null")
        x, y, w, h = self.d.window_geometry(wid)
        self.d.xdotool("mousemove", str(x + w // 2), str(y + h // 2))
        self.d.xdotool("windowfocus", "--sync", wid)
        self.play(Script([[("key", "Enter" if ch == "\n" else ch)] for ch in text], self.rate))
        self.note = f"{self.rate:g} chars/s from {self.from_} into `cat` in a 120x40 xterm"


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


def pager_text(path: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    path.write_text("\n\n".join("\n".join(sentence(rng, 8, 16) for _ in range(5)) for _ in range(4000)))
    return path


class PagerDown(Workload):
    name = "pager-down"
    title = "less in a full-screen xterm scrolled with the Down arrow (15/s)"
    has_input = True

    def setup(self) -> None:
        wid = self.xterm(FULL_XTERM, f"bench-{self.name}", "less", str(pager_text(self.workdir / "pager.txt")))
        self.d.xdotool("mousemove", "960", "540")
        self.d.xdotool("windowfocus", "--sync", wid)
        self.play(Script([[("key", "ArrowDown")]], 15.0))
        self.note = f"less on prose in a full-screen xterm, Down 15/s from {self.from_}"


class PagerPage(Workload):
    name = "pager-page"
    title = "less in a full-screen xterm paged down (2 pages/s)"
    has_input = True

    def setup(self) -> None:
        wid = self.xterm(FULL_XTERM, f"bench-{self.name}", "less", str(pager_text(self.workdir / "pager.txt")))
        self.d.xdotool("mousemove", "960", "540")
        self.d.xdotool("windowfocus", "--sync", wid)
        self.play(Script([[("key", "PageDown")]], 2.0))
        self.note = f"less on prose in a full-screen xterm, Page Down 2/s from {self.from_}"


class WindowDrag(Workload):
    name = "drag"
    title = "xterm dragged around (30 moves/s)"
    has_input = True

    def setup(self) -> None:
        path = self.workdir / "drag.txt"
        path.write_text(log_text(400, seed=9))
        wid = self.xterm("100x35+300+200", f"bench-{self.name}", "less", str(path))
        # The pointer drags the window from 30 px above its top-left corner
        # (on the root window, so the xterm sees no pointer), along an
        # ellipse 960x360 px that keeps the whole window on the screen:
        # ~540 px/s, 30 moves/s.
        self.driver(FOLLOW, wid, "-40", "30")
        steps: list[list[tuple[object, ...]]] = []
        for i in range(int(30 * 2 * math.pi / 1.3)):
            t = i / 30
            steps.append([("move", int(545 + 480 * math.cos(t * 1.3)), int(185 + 180 * math.sin(t * 1.3)))])
        self.play(Script(steps, 30.0))
        self.note = (f"100x35 xterm (less on text) dragged by the pointer from {self.from_} along an ellipse "
                     "960x360 px, the window always whole on the screen, 30 moves/s (~540 px/s), black root window")


class Video(Workload):
    name = "video"
    title = "640x360 video-like Tk animation at 30 fps"

    def setup(self) -> None:
        self.xterm("100x30+40+40", "bench-video-term", "sh", "-c", "ls -l /usr/bin | head -28; exec sleep 100000")
        self.driver(VIDEO, "30")
        self.d.wait_window("bench video")
        self.note = "Tk PhotoImage 640x360, moving gradients + noise at 30 fps, beside an idle xterm"


def _variants(cls: type[Workload]) -> dict[str, Any]:
    if not cls.has_input:
        return {cls.name: cls}
    return {cls.name: cls, f"{cls.name}-viewer": lambda d, wd: cls(d, wd, "viewer")}


#: name -> factory(display, workdir); workloads with input come twice: input
#: from xdotool (``name``) and from the viewer (``name-viewer``).
WORKLOADS: dict[str, Any] = {}
for _cls in (Idle, Typing, TerminalScroll, BrowserScroll, PagerDown, PagerPage, WindowDrag, Video):
    WORKLOADS.update(_variants(_cls))

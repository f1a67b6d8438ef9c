"""A real X server for tests and benchmarks: Xvfb on a free display number,
plus helpers to run X programs on it and drive them with xdotool.

Each :class:`XDisplay` starts its own Xvfb and stops it (and every program
it started) by PID.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Stop a child we started, by its PID: SIGTERM, then SIGKILL if it does
    not exit within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


class Presses:
    """The button presses (root x, y) an X program prints as ``press X Y``
    lines, read on a thread (the pipe is closed when the program ends)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        import queue
        import threading

        self.proc = proc
        self.lines: queue.Queue[tuple[int, int]] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "press":
                    self.lines.put((int(parts[1]), int(parts[2])))

    def next(self, timeout: float = 10.0) -> tuple[int, int]:
        """The next press; ``queue.Empty`` after ``timeout`` seconds without one."""
        return self.lines.get(timeout=timeout)

    def close(self) -> None:
        stop_process(self.proc)
        self.thread.join(10)


#: Display numbers tried for a free one.
DISPLAY_RANGE = range(60, 160)


class XDisplay:
    def __init__(
        self, width: int = 1280, height: int = 800, depth: int = 24, *, extra: tuple[str, ...] = (),
        monitors: tuple[tuple[int, int], ...] = (),
    ) -> None:
        """``extra``: more Xvfb arguments (e.g. ``("-extension", "DAMAGE")``
        to switch an extension off).

        ``monitors``: ``(width, height)`` of each monitor, side by side from the
        left (the first is the primary): the screen is then as wide as all of
        them and as high as the highest (``width`` and ``height`` are ignored),
        and each is a RandR 1.5 monitor, as ``xrandr --setmonitor`` would make
        it. Xvfb has one output; the first monitor takes it, the others are
        monitors without an output, which clients (mss, desktops) list all the same."""
        if monitors:
            width, height = sum(w for w, _ in monitors), max(h for _, h in monitors)
        self.width, self.height, self.depth, self.extra = width, height, depth, extra
        self.monitors = monitors
        self.number = -1
        self.proc: subprocess.Popen[bytes] | None = None
        self.children: list[subprocess.Popen[Any]] = []

    @property
    def name(self) -> str:
        return f":{self.number}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.name}

    def start(self, timeout: float = 15.0) -> XDisplay:
        for n in DISPLAY_RANGE:
            if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
                continue
            proc = subprocess.Popen(
                ["Xvfb", f":{n}", "-screen", "0", f"{self.width}x{self.height}x{self.depth}", "-nolisten", "tcp",
                 "-noreset", *self.extra],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if self._owns(n, proc):
                    self.number, self.proc = n, proc
                    self._wait_ready()
                    if self.monitors:
                        self._set_monitors()
                    return self
                time.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        raise RuntimeError("could not start Xvfb on any free display")

    @staticmethod
    def _owns(n: int, proc: subprocess.Popen[bytes]) -> bool:
        """Is the server on ``:n`` ours? Another run may have raced us for the
        number; the lock file holds the winner's PID."""
        try:
            pid = int(Path(f"/tmp/.X{n}-lock").read_text().strip())
        except (OSError, ValueError):
            return False
        return pid == proc.pid and proc.poll() is None and Path(f"/tmp/.X11-unix/X{n}").exists()

    def _wait_ready(self) -> None:
        for _ in range(100):
            if subprocess.run(["xdotool", "getdisplaygeometry"], env=self.env, capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("Xvfb did not answer")

    def _set_monitors(self) -> None:
        """Define the RandR monitors of ``monitors`` (RRSetMonitor, through xcffib)."""
        import xcffib
        import xcffib.randr

        randr_mod: Any = xcffib.randr  # untyped
        connect: Any = xcffib.connect
        conn: Any = connect(display=self.name)
        try:
            randr: Any = conn(xcffib.randr.key)
            randr.QueryVersion(1, 5).reply()
            root = conn.get_setup().roots[0].root
            outputs = list(randr.GetScreenResourcesCurrent(root).reply().outputs)
            left = 0
            for i, (w, h) in enumerate(self.monitors):
                name = f"DESKLINK-{i + 1}".encode()
                atom = conn.core.InternAtom(False, len(name), name).reply().atom
                outs = outputs[:1] if i == 0 else []
                info = randr_mod.MonitorInfo.synthetic(atom, int(i == 0), 0, len(outs), left, 0, w, h, w // 4, h // 4, outs)
                randr.SetMonitorChecked(root, info).check()
                left += w
        finally:
            conn.disconnect()

    def monitor_origin(self, index: int) -> tuple[int, int]:
        """Where monitor ``index`` (1-based, as mss and the agent count) starts on the screen."""
        return sum(w for w, _ in self.monitors[: index - 1]), 0

    def paint_monitors(self, colours: tuple[str, ...]) -> Presses:
        """Cover each monitor with a window of one colour (Tk, e.g. ``"#d02020"``)
        that reports every button press in root coordinates (:class:`Presses`).
        Stopped with the display, or with :meth:`Presses.close`."""
        import sys

        windows = []
        for (w, h), colour, i in zip(self.monitors, colours, range(1, len(colours) + 1), strict=True):
            x, y = self.monitor_origin(i)
            windows.append((f"monitor-{i}", f"{w}x{h}+{x}+{y}", colour))
        script = (
            "import tkinter as tk\n"
            "root = tk.Tk(); root.withdraw()\n"
            f"for title, geometry, colour in {windows!r}:\n"
            "    t = tk.Toplevel(root); t.title(title); t.overrideredirect(True); t.geometry(geometry)\n"
            "    t.configure(background=colour)\n"
            "    t.bind('<ButtonPress>', lambda e: print('press', e.x_root, e.y_root, flush=True))\n"
            "root.mainloop()\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", script], env={**self.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.children.append(proc)
        presses = Presses(proc)
        for title, _, _ in windows:
            self.wait_window(title)
        return presses

    def run(self, *cmd: str) -> subprocess.Popen[Any]:
        return self.spawn(*cmd)

    def spawn(self, *cmd: str, **kwargs: Any) -> subprocess.Popen[Any]:
        """Start an X program on this display; stopped with the display."""
        proc = subprocess.Popen(list(cmd), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
        self.children.append(proc)
        return proc

    def xdotool(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)
        if check and out.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def wait_window(self, name: str, timeout: float = 20.0) -> str:
        """The id of the first visible window whose title matches ``name``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.xdotool("search", "--onlyvisible", "--name", name, check=False)
            if found:
                return found.splitlines()[0]
            time.sleep(0.1)
        raise TimeoutError(f"no window named {name!r} appeared on {self.name}")

    def window_geometry(self, window: str) -> tuple[int, int, int, int]:
        out = self.xdotool("getwindowgeometry", "--shell", window)
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])

    def click(self, x: int, y: int) -> None:
        self.xdotool("mousemove", "--sync", str(x), str(y), "click", "1")

    def screenshot(self) -> Any:
        """The whole screen as an H x W x 3 RGB numpy array (via mss)."""
        import mss
        import numpy as np

        with mss.MSS(display=self.name) as sct:
            shot = sct.grab(sct.monitors[0])  # the whole screen, every monitor
            return np.asarray(shot)[:, :, 2::-1].copy()

    def stop(self) -> None:
        for child in reversed(self.children):
            stop_process(child)
        self.children.clear()
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> XDisplay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

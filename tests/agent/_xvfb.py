"""A private Xvfb for the capture tests: a free display number, stopped by PID.

Each :class:`Xvfb` starts its own server (``-nolisten tcp``, black root
with ``-br``) on the first display number in :data:`DISPLAYS` that has no
lock file and whose server actually comes up (another test run may race us
for a number), runs X programs on it, and stops all of them by PID.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

DISPLAYS = range(50, 100)


class Xvfb:
    def __init__(self, width: int = 1280, height: int = 800, *, extra: tuple[str, ...] = ()) -> None:
        self.width, self.height, self.extra = width, height, extra
        self.number = -1
        self.proc: subprocess.Popen[bytes] | None = None
        self.children: list[subprocess.Popen[bytes]] = []

    @property
    def name(self) -> str:
        return f":{self.number}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.name}

    def start(self, timeout: float = 15.0) -> Xvfb:
        for n in DISPLAYS:
            if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
                continue
            proc = subprocess.Popen(
                ["Xvfb", f":{n}", "-screen", "0", f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-br",
                 "-noreset", *self.extra],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if self._owns(n, proc) and self._answers(n) and self._owns(n, proc):
                    self.number, self.proc = n, proc
                    return self
                time.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        raise RuntimeError("could not start Xvfb on any free display in 50-99")

    @staticmethod
    def _owns(n: int, proc: subprocess.Popen[bytes]) -> bool:
        """Is the server on ``:n`` ours? Another run may have won the race for
        the number; the lock file holds the winner's PID."""
        try:
            pid = int(Path(f"/tmp/.X{n}-lock").read_text().strip())
        except (OSError, ValueError):
            return False
        return pid == proc.pid and proc.poll() is None and Path(f"/tmp/.X11-unix/X{n}").exists()

    @staticmethod
    def _answers(n: int) -> bool:
        env = {**os.environ, "DISPLAY": f":{n}"}
        return subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode == 0

    def run(self, *argv: str) -> subprocess.Popen[bytes]:
        """Start an X program on this display; stopped with the display."""
        proc = subprocess.Popen(list(argv), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.children.append(proc)
        return proc

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout

    def stop(self) -> None:
        for proc in [*self.children, *([self.proc] if self.proc else [])]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.children.clear()
        self.proc = None

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

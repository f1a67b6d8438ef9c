"""Helpers for the Tk/X tests of the overlay: run Tk, wait for the screen."""

from __future__ import annotations

import queue
import threading
import time
import tkinter as tk
from collections.abc import Callable
from typing import Any

import numpy as np

from desklink.testing_x import XDisplay


def pump(root: tk.Tk, seconds: float = 0.05) -> None:
    deadline = time.monotonic() + seconds
    while True:
        root.update()
        if time.monotonic() >= deadline:
            return
        time.sleep(0.01)


def settle(root: tk.Tk, xd: XDisplay, timeout: float = 5.0) -> np.ndarray:
    """Run Tk until the screen stops changing (exposures repainted); the
    last screenshot."""
    pump(root)
    last = xd.screenshot()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pump(root, 0.03)
        shot = xd.screenshot()
        if np.array_equal(shot, last):
            return shot
        last = shot
    return last


def wait_for(root: tk.Tk, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pump(root, 0.02)
        if predicate():
            return True
    return False


def bgra(rgb: np.ndarray) -> np.ndarray:
    """XDisplay.screenshot's RGB -> the capture layout (BGRA, alpha 0)."""
    out = np.zeros((*rgb.shape[:2], 4), np.uint8)
    out[..., :3] = rgb[..., ::-1]
    return out


class Lines:
    """A child's stdout lines, read on a thread so a missing line times out."""

    def __init__(self, stream: Any) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(line)

    def next(self, timeout: float = 10.0) -> list[str]:
        try:
            return self.queue.get(timeout=timeout).split()
        except queue.Empty:
            return ["<nothing>"]

"""The visitor's file windows on a real X server: the offer window's Accept
returns the folder shown, the request window's "Choose files..." returns
what the visitor picked (the dialog answered through the test hook), the
files window lists transfers with working buttons."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desklink.agent.files_ui import (
    FILE_ASK_TITLE,
    FILE_OFFER_TITLE,
    FILES_TITLE,
    PICK_ENV,
    REVOKE_BUTTON,
    ROW_CANCEL_BUTTON,
    ROW_PAUSE_BUTTON,
    ROW_TOP,
    YES_BUTTON,
)
from desklink.testing_x import XDisplay, stop_process


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(1280, 800) as d:
        yield d


def _line(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the app ended before printing {prefix}")


def _click_yes(display: XDisplay, title: str) -> None:
    x, y, _, _ = display.window_geometry(display.wait_window(title))
    bx, by, bw, bh = YES_BUTTON
    display.click(x + bx + bw // 2, y + by + bh // 2)


def test_offer_ask_and_list_windows(display: XDisplay, tmp_path: Path) -> None:
    picked = tmp_path / "app.log"
    picked.write_text("log")
    env = {**display.env, PICK_ENV: str(picked), "PYTHONUNBUFFERED": "1"}
    app = Path(__file__).with_name("_windows_app.py")
    proc = subprocess.Popen([sys.executable, str(app), str(tmp_path / "Downloads")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=os.getcwd())
    display.children.append(proc)
    try:
        _click_yes(display, FILE_OFFER_TITLE)
        assert _line(proc, "OFFER") == f"OFFER {tmp_path / 'Downloads'}"
        _click_yes(display, FILE_ASK_TITLE)
        assert _line(proc, "ASK") == f"ASK {[str(picked)]}"
        _line(proc, "LISTED")
        x, y, _, _ = display.window_geometry(display.wait_window(FILES_TITLE))
        for bx, by, bw, bh in (ROW_PAUSE_BUTTON, ROW_CANCEL_BUTTON):
            display.click(x + bx + bw // 2, y + ROW_TOP + by + bh // 2)
        assert _line(proc, "PAUSE") == "PAUSE 5 True"
        assert _line(proc, "CANCEL") == "CANCEL in:5"
        bx, by, bw, bh = REVOKE_BUTTON
        display.click(x + bx + bw // 2, y + by + bh // 2)
        assert _line(proc, "REVOKE") == "REVOKE"
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()

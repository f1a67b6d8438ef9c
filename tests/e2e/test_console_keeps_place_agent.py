"""A console reload mid-share with the DeskLink agent (on Xvfb) and control granted.

The rep reloads the console while in control of the visitor's computer: the
rep is online again without a click, the viewer re-attaches by itself as the
primary viewer, frames keep coming, and control is still the rep's (the
relay keeps it across a viewer's drop, so no new consent). The agent stays
connected throughout. The reload without an agent is in
test_console_keeps_place.py.
"""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import expect

from desklink.testing import poll_until
from desklink.testing_x import XDisplay

from test_console_keeps_place import SAMPLE_BAR
from test_remote_control import Sent, control, display, grant, rig  # noqa: F401 (fixtures)
from test_screen_viewer import Scene, shot

import pytest

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)


def test_reload_in_control_reattaches_the_viewer_with_control(
    rig: tuple[Scene, Sent, subprocess.Popen[str]], display: XDisplay,  # noqa: F811 (fixtures)
) -> None:
    scene, _sent, agent = rig
    rep = scene.rep
    grant(scene, display)

    rep.reload()
    expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
    expect(scene.screen).to_be_visible()
    expect(scene.status()).to_have_text("Sharing")
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    status, _canvas = control(scene)
    expect(status).to_have_attribute("data-control", "granted")
    expect(scene.screen.get_by_test_id("control-release")).to_be_visible()
    expect(scene.screen.get_by_test_id("screen-size")).to_have_text("1280 × 800")
    # The picture is live: a new window on the X screen brings new frames.
    before = scene.frames()
    display.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
    display.xdotool("type", "--delay", "20", "echo after-the-reload")
    poll_until(lambda: scene.frames() > before, 20, "new frames after the reload", interval=0.2)
    assert agent.poll() is None, "the agent stayed connected"

    # The bar (four rows here: control, drawing, files, tools) keeps its layout
    # while the readout changes under a scrolling terminal.
    display.xdotool("key", "Return")
    display.xdotool("type", "--delay", "10", "for i in $(seq 1 60); do date +%T.%N; sleep 0.1; done")
    display.xdotool("key", "Return")
    samples = rep.evaluate(SAMPLE_BAR, {"samples": 6})
    assert len({s["text"] for s in samples}) >= 2, samples
    for key in ("barHeight", "canvasTop", "canvasLeft", "statsWidth", "statsTop"):
        assert len({round(s[key], 2) for s in samples}) == 1, (key, samples)
    shot(rep, "keepplace-agent-after-reload")

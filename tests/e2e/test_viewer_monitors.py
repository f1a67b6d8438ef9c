"""The monitor picker in the console, in Chromium, with the real agent on an
Xvfb screen with two RandR monitors of different sizes and colours: the
picker appears, switching shows the other monitor's picture and size, and a
click in control lands on the chosen monitor."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from desklink.agent.ui import ALLOW_BUTTON, CONSENT_TITLE
from desklink.testing import AdminAPI, ServerProcess
from desklink.testing_x import XDisplay

from test_remote_control import grant, wait_pointer
from test_screen_viewer import Scene, click_button, shot, start_agent

MONITORS = ((900, 600), (640, 480))
RED, BLUE = (208, 32, 32), (32, 64, 208)


def mostly(rgb: Any, colour: tuple[int, int, int]) -> float:
    """The share of pixels within a few levels of ``colour``."""
    return float((np.abs(np.asarray(rgb).astype(int) - np.array(colour)).max(axis=2) <= 8).mean())

HostSite = Any

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(monitors=MONITORS) as d:
        yield d


def click_at(scene: Scene, x: int, y: int, size: tuple[int, int]) -> None:
    """Click screen pixel (x, y) of the picture shown in fit (letterboxed), worked out from the canvas box."""
    box = scene.screen.get_by_test_id("screen-canvas").bounding_box()
    assert box is not None
    s = min(box["width"] / size[0], box["height"] / size[1])
    left = box["x"] + (box["width"] - size[0] * s) / 2
    top = box["y"] + (box["height"] - size[1] * s) / 2
    scene.rep.mouse.click(left + (x + 0.5) * s, top + (y + 0.5) * s)


def test_the_picker_switches_the_picture_and_control_follows(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, display: XDisplay,
) -> None:
    presses = display.paint_monitors(("#d02020", "#2040d0"))
    scene = Scene(browser, server, admin, host_site, unique)
    agent: subprocess.Popen[str] | None = None
    try:
        code = scene.request_screen()
        picker = scene.screen.get_by_test_id("screen-monitor")
        expect(picker).to_be_hidden()
        agent = start_agent(display, server, code)
        click_button(display, CONSENT_TITLE, ALLOW_BUTTON)
        expect(scene.status()).to_have_text("Sharing")
        size = scene.screen.get_by_test_id("screen-size")
        expect(size).to_have_text("900 × 600")
        expect(picker).to_be_visible()
        expect(picker.locator("option")).to_have_text(["Screen 1 (900 × 600, main)", "Screen 2 (640 × 480)", "All screens (1540 × 600)"])
        expect(picker).to_have_value("1")
        scene.settle()
        assert mostly(scene.pixels(), RED) > 0.8

        picker.select_option("2")
        expect(size).to_have_text("640 × 480")
        scene.settle()
        pixels = scene.pixels()
        assert pixels.shape == (480, 640, 3)
        assert mostly(pixels, BLUE) > 0.8 and mostly(pixels, RED) < 0.01  # (the agent's own bar is red too)
        expect(picker).to_have_value("2")  # the agent's new screen.info agrees
        shot(scene.rep, "viewer-monitor-2")

        # Control on the second monitor: a click at (100, 50) of the picture is (900 + 100, 50) on the X screen.
        grant(scene, display)
        click_at(scene, 100, 50, (640, 480))
        assert presses.next() == (900 + 100, 50)
        wait_pointer(display, 900 + 100, 50, tol=0)

        # All screens at once: the whole desktop, both colours side by side.
        picker.select_option("0")
        expect(size).to_have_text("1540 × 600")
        scene.settle()
        whole = scene.pixels()
        assert mostly(whole[:, :900], RED) > 0.8 and mostly(whole[:480, 900:], BLUE) > 0.8
        shot(scene.rep, "viewer-monitor-all")

        # And back.
        picker.select_option("1")
        expect(size).to_have_text("900 × 600")
        scene.settle()
        assert mostly(scene.pixels(), RED) > 0.8
        assert np.asarray(scene.pixels()).shape == (600, 900, 3)
        assert scene.rep_w.errors == []
    finally:
        scene.close()
        if agent is not None and agent.poll() is None:
            agent.terminate()
        if agent is not None:
            agent.communicate(timeout=15)
        presses.close()

"""Sharing the visitor's screen from the help box, in real browsers.

An Xvfb display (1280x800) shows a desktop colour and a coloured xterm; the
visitor's Chromium runs ON that display, not headless (screen capture needs
a real X screen), with ``--auto-select-desktop-capture-source=Entire
screen`` standing in for the visitor's pick in the browser's own picker.
The rep's console is a headless Chromium. The visitor asks for help, the
rep accepts and requests the screen, the visitor clicks "Share from this
browser": the rep's canvas must show what the X server shows.

Tolerance: the picture travels as H.264 (or VP9/VP8/AV1, whatever the
browser's VideoEncoder takes first) at a bitrate for screens, so it is lossy
and the comparison is of means: over the part of the screen the visitor's
own browser window does not cover, the mean absolute difference per channel
must stay under :data:`TOLERANCE` (flat colours and terminal text land
around 1-4; a wrong or stale picture is far above 20).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from desklink.testing import AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

from _pages import Watched

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

CHROMIUM = "/usr/bin/chromium"
W, H = 1280, 800
#: The visitor's browser window: the left part of the screen.
VISITOR_W = 600
#: Compared: the screen right of the visitor's window.
REGION = (slice(0, H), slice(VISITOR_W + 20, W))
#: Mean absolute difference per channel allowed between the X screen and the viewer (0-255).
TOLERANCE = 12.0
DESKTOP = (47, 102, 144)  # xsetroot -solid "#2f6690"
RED = (200, 40, 40)
GREEN = (30, 170, 70)

#: The visitor's browser: on the X display (capture needs it), the picker answered by the flag.
VISITOR_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--auto-select-desktop-capture-source=Entire screen",
    "--window-position=0,0",
    f"--window-size={VISITOR_W},{H}",
]

#: Where to save screenshots for people to look at (optional).
SHOTS = os.environ.get("DESKLINK_E2E_SHOTS", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


#: Hides VideoEncoder before any page script runs: the still-frame fallback.
NO_VIDEO_ENCODER = "delete window.VideoEncoder; delete window.VideoDecoderConfig;"


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with XDisplay(W, H) as d:
        import subprocess

        subprocess.run(["xsetroot", "-solid", "#2f6690"], env=d.env, check=True)
        yield d


@pytest.fixture(scope="module")
def visitor_browser(browser: Browser, display: XDisplay) -> Iterator[Browser]:
    """A second Chromium from the same Playwright (one per process), on the X display."""
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=VISITOR_ARGS, headless=False, env=display.env)
    yield b
    b.close()


def colour_window(display: XDisplay, title: str, rgb: tuple[int, int, int], geometry: str) -> Any:
    """An xterm of one colour (background and text), as a coloured rectangle on the screen."""
    hexcolour = "#{:02x}{:02x}{:02x}".format(*rgb)
    proc = display.spawn("xterm", "-T", title, "-bg", hexcolour, "-fg", hexcolour, "-geometry", geometry, "-b", "0")
    display.wait_window(title)
    return proc


class ShareScene:
    """A rep console (headless) and a visitor's help box (on the X display) with an accepted chat."""

    def __init__(self, rep_browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, site: HostSite,
                 unique: str, *, init_script: str = "", route_viewer: bool = False) -> None:
        queue = admin.queue(unique, origins=[site.origin])
        username, password = f"{unique}rita", "pw-" + secrets.token_hex(8)
        admin.members(queue["id"], [admin.user(username, password, display_name="Rita")["id"]])
        self.rep_w = Watched(rep_browser, {"width": 1400, "height": 900})
        self.visitor_w = Watched(visitor_browser, {"width": VISITOR_W - 20, "height": H - 140})
        if init_script:
            self.visitor_w.page.add_init_script(init_script)
        #: With route_viewer: the rep's viewer sockets, (page side, server side), to drop them at will.
        self.viewer_sockets: list[tuple[Any, Any]] = []
        if route_viewer:
            self.rep_w.context.route_web_socket(
                re.compile(r".*/ws/viewer.*"), lambda ws: self.viewer_sockets.append((ws, ws.connect_to_server()))
            )
        rep = self.rep = self.rep_w.page
        rep.goto(server.url + "/console")
        rep.get_by_test_id("username").fill(username)
        rep.get_by_test_id("password").fill(password)
        rep.get_by_test_id("login").click()
        expect(rep.get_by_test_id("connection")).to_have_attribute("data-state", "open")
        rep.get_by_test_id("presence-toggle").click()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")

        visitor = self.visitor = self.visitor_w.page
        visitor.goto(site.page(unique))
        self.box = visitor.locator("desklink-help")
        self.box.get_by_test_id("launcher").click()
        self.box.get_by_test_id("name").fill("Vic")
        self.box.get_by_test_id("question").fill("Something on my screen looks wrong.")
        self.box.get_by_test_id("submit").click()
        expect(self.box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")
        rep.get_by_test_id("alert-accept").click()
        tab = rep.get_by_test_id("session-tab")
        expect(tab).to_have_count(1)
        self.session_id = tab.get_attribute("data-session-id")
        self.chat = rep.locator(f'[data-testid=chat][data-session-id="{self.session_id}"]')
        self.screen = self.chat.get_by_test_id("screen")
        expect(self.box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")

    def request_and_share(self) -> None:
        self.chat.get_by_test_id("screen-request").click()
        card = self.box.get_by_test_id("screen-offer")
        expect(card).to_be_visible()
        # The browser option comes first, says what is seen and by whom, and that the visitor can stop.
        first = card.get_by_test_id("screen-offer-browser")
        expect(first).to_contain_text("View only, nothing to install")
        expect(first).to_contain_text("Rita sees only that")
        expect(first).to_contain_text("stop at any moment")
        expect(card.get_by_test_id("screen-offer-agent")).to_contain_text("to let Rita control your computer")
        shot(self.visitor, "share-offer")
        card.get_by_test_id("screen-share-browser").click()
        expect(self.box.get_by_test_id("share-indicator")).to_be_visible()
        expect(self.box.get_by_test_id("share-indicator-text")).to_have_text("Sharing your screen with Rita")
        expect(self.status()).to_have_text("Sharing from the browser (view only)")

    def status(self) -> Locator:
        return self.screen.get_by_test_id("screen-status")

    def frames(self) -> int:
        return int(self.screen.get_attribute("data-frames") or 0)

    def pixels(self) -> np.ndarray:
        shot = self.screen.evaluate(
            """async (el) => {
                const s = await el.snapshot('rgba');
                let bin = '';
                for (let i = 0; i < s.data.length; i += 0x8000) bin += String.fromCharCode.apply(null, s.data.subarray(i, i + 0x8000));
                return { width: s.width, height: s.height, b64: btoa(bin) };
            }"""
        )
        import base64

        rgba = np.frombuffer(base64.b64decode(shot["b64"]), dtype=np.uint8)
        return rgba.reshape(shot["height"], shot["width"], 4)[:, :, :3]

    def close(self) -> None:
        errors = self.rep_w.errors + self.visitor_w.errors
        self.rep_w.close()
        self.visitor_w.close()
        assert errors == []


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def page_sleep(page: Page) -> Any:
    """poll_until's sleep through the page, so Playwright keeps delivering events."""
    return lambda s: page.wait_for_timeout(s * 1000)


def wait_for_picture(scene: ShareScene, display: XDisplay, page: Page, what: str, timeout: float = 30.0) -> float:
    """Wait until the viewer's picture matches the X screen (over REGION)
    within TOLERANCE; returns the difference. The X screen is read again
    each round, so a change on screen is followed."""
    seen: list[float] = []

    def matches() -> float | None:
        if scene.frames() == 0:
            return None
        picture, screen = scene.pixels(), display.screenshot()
        if picture.shape != screen.shape:
            return None
        seen.append(mean_diff(picture[REGION], screen[REGION]))
        return seen[-1] if seen[-1] < TOLERANCE else None

    try:
        return poll_until(matches, timeout, f"{what}: the viewer showing the X screen", interval=0.2, sleep=page_sleep(page))
    except TimeoutError:
        raise AssertionError(f"{what}: the viewer did not show the X screen (last mean differences {seen[-3:]}, limit {TOLERANCE})") from None


@pytest.fixture
def scene(browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite,
          unique: str) -> Iterator[ShareScene]:
    s = ShareScene(browser, visitor_browser, server, admin, host_site, unique)
    yield s
    s.close()


def test_visitor_shares_from_the_help_box_and_the_rep_sees_the_screen(scene: ShareScene, display: XDisplay) -> None:
    red = colour_window(display, "share-red", RED, "40x12+700+80")
    scene.request_and_share()
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    expect(scene.screen.get_by_test_id("screen-size")).to_have_text(f"{W} × {H}")

    # The viewer says it is a browser share, why control is not offered, and offers the agent.
    note = scene.screen.get_by_test_id("screen-browser-note")
    expect(note.get_by_test_id("screen-mode")).to_have_text("Browser share, view only")
    expect(note.get_by_test_id("screen-mode-why")).to_contain_text("can only show the screen")
    expect(scene.screen.get_by_test_id("control-request")).to_be_hidden()
    expect(scene.screen).to_have_attribute("data-source", "browser")

    # The picture is the X screen (right of the visitor's own browser window).
    wait_for_picture(scene, display, scene.rep, "first picture")
    picture = scene.pixels()
    assert np.abs(picture[150, 900].astype(int) - RED).max() < 40, picture[150, 900]
    assert np.abs(picture[700, 1200].astype(int) - DESKTOP).max() < 40, picture[700, 1200]

    # An X window changes: a green one opens over the red one; the viewer follows.
    green = colour_window(display, "share-green", GREEN, "40x12+700+80")
    poll_until(lambda: np.abs(scene.pixels()[150, 900].astype(int) - GREEN).max() < 40, 20, "the green window in the viewer",
               interval=0.2, sleep=page_sleep(scene.rep))
    wait_for_picture(scene, display, scene.rep, "after the change")
    shot(scene.rep, "share-console")
    shot(scene.visitor, "share-indicator")

    # Minimised, the box still says the screen is shared.
    scene.box.get_by_test_id("minimize").click()
    expect(scene.box.get_by_test_id("launcher-sharing")).to_have_text("Sharing your screen")
    shot(scene.visitor, "share-minimised")
    scene.box.get_by_test_id("launcher").click()

    # The chat still works while sharing.
    scene.box.get_by_test_id("chat-input").fill("Can you see it?")
    scene.box.get_by_test_id("send").click()
    expect(scene.chat.get_by_test_id("messages")).to_contain_text("Can you see it?")

    # The visitor stops in the help box: the rep sees it at once, with why.
    scene.box.get_by_test_id("share-stop").click()
    expect(scene.status()).to_have_text("Sharing stopped: the visitor pressed Stop in the help box")
    expect(scene.box.get_by_test_id("share-indicator")).to_be_hidden()
    expect(scene.box.get_by_test_id("launcher-sharing")).to_be_hidden()
    expect(scene.box.get_by_test_id("notice")).to_contain_text("You stopped sharing")
    green.terminate()
    red.terminate()


def test_without_video_encoder_still_frames_deliver_the_picture(
    browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str,
    display: XDisplay,
) -> None:
    scene = ShareScene(browser, visitor_browser, server, admin, host_site, unique, init_script=NO_VIDEO_ENCODER)
    try:
        assert scene.visitor.evaluate("typeof VideoEncoder") == "undefined"
        red = colour_window(display, "still-red", RED, "30x8+800+300")
        scene.request_and_share()
        wait_for_picture(scene, display, scene.rep, "still frames")
        assert np.abs(scene.pixels()[360, 950].astype(int) - RED).max() < 40
        # Closing the visitor's tab ends the share; the rep sees why.
        scene.visitor.close()
        expect(scene.status()).to_have_text("Sharing stopped: the visitor closed or left the page")
        red.terminate()
    finally:
        scene.close()


def test_the_rep_asks_for_the_agent_while_the_browser_shares(
    browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str,
    display: XDisplay,
) -> None:
    scene = ShareScene(browser, visitor_browser, server, admin, host_site, unique, route_viewer=True)
    try:
        rep_asks_for_the_agent(scene)
    finally:
        scene.close()


def rep_asks_for_the_agent(scene: ShareScene) -> None:
    scene.request_and_share()
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    # The rep's viewer socket drops mid-stream, three times: chunks in flight are never acknowledged,
    # the help box starts again from a key frame, and the picture goes on.
    for round_ in range(3):
        before = scene.frames()
        page_side, server_side = scene.viewer_sockets[-1]
        server_side.close()
        page_side.close(code=4000, reason="test: connection lost")
        poll_until(lambda r=round_, b=before: len(scene.viewer_sockets) == r + 2 and scene.frames() > b + 5, 20,
                   f"frames after the viewer's reconnect {round_ + 1}", interval=0.1, sleep=page_sleep(scene.rep))
    scene.screen.get_by_test_id("screen-ask-agent").click()
    # A new offer with the agent's code reaches the help box; the browser share goes on meanwhile.
    card = scene.box.get_by_test_id("screen-offer")
    expect(card.get_by_test_id("screen-offer-code")).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    expect(card.get_by_test_id("screen-share-browser")).to_be_disabled()
    expect(card.get_by_test_id("screen-offer-agent")).to_contain_text("to let Rita control your computer")
    expect(scene.box.get_by_test_id("share-indicator-text")).to_have_text("Sharing your screen with Rita")
    before = scene.frames()
    expect(scene.screen).not_to_have_attribute("data-frames", str(before))
    # The rep stops: the visitor's help box says so and lets go of the screen.
    scene.screen.get_by_test_id("screen-stop").click()
    expect(scene.box.get_by_test_id("share-indicator")).to_be_hidden()
    expect(scene.box.get_by_test_id("notice")).to_contain_text("Rita stopped viewing your screen")
    # The card still shown offers the browser again.
    expect(card.get_by_test_id("screen-share-browser")).to_be_enabled()
    expect(card.get_by_test_id("screen-share-browser")).to_have_text("Share from this browser")


def test_the_browsers_own_stop_button_stops_the_share(scene: ShareScene, display: XDisplay) -> None:
    scene.request_and_share()
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    # Chromium's own bar, "<origin> is sharing your screen. [Stop sharing] [Hide]", is an X window of its own;
    # its Stop sharing button sits about 110 px from the bar's right edge.
    bar = display.wait_window("is sharing your screen")
    x, y, w, h = display.window_geometry(bar)
    display.click(x + w - 110, y + h // 2)
    expect(scene.status()).to_have_text("Sharing stopped: the visitor stopped sharing with the browser's own button")
    expect(scene.box.get_by_test_id("share-indicator")).to_be_hidden()
    expect(scene.box.get_by_test_id("notice")).to_contain_text("You stopped sharing from the browser")


def test_a_browser_that_cannot_capture_is_offered_the_agent_only(
    browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str,
) -> None:
    scene = ShareScene(browser, visitor_browser, server, admin, host_site, unique,
                       init_script="delete MediaDevices.prototype.getDisplayMedia;")
    try:
        scene.chat.get_by_test_id("screen-request").click()
        card = scene.box.get_by_test_id("screen-offer")
        expect(card.get_by_test_id("screen-offer-browser-unavailable")).to_contain_text("This browser cannot share its screen")
        expect(card.get_by_test_id("screen-share-browser")).to_have_count(0)
        expect(card.get_by_test_id("screen-offer-code")).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    finally:
        scene.close()

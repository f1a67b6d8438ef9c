"""The console viewer's clipboard panel and its display of a lost agent, in
Debian's Chromium.

With the real agent on Xvfb (the server and agent as they are): text the
visitor copies shows in the panel as text and Copy puts it on the rep's
clipboard; a killed agent leaves the last picture dimmed with "Waiting for
it to come back" and Stop waiting ends sharing; an agent that does not come
back within ``agent_grace_s`` ends it with "Disconnected".

The relay does not yet send ``screen.state`` ``clipboard`` and
``grace_left_s`` (docs/protocol.md); until it does, one test plays the
relay's side of ``/ws/viewer`` through Playwright's WebSocket routing, with
the states of that specification, to check the countdown and the
"Send to the visitor’s clipboard" path.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import test_screen_viewer
from playwright.sync_api import Browser, Page, expect
from test_screen_viewer import Scene, Watched, click_button, start_agent

from desklink.agent.ui import ALLOW_BUTTON, CONSENT_TITLE
from desklink.protocol import limits
from desklink.protocol.screen import FLAG_KEY, Frame, Rect
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

#: Xvfb (1280 x 800) with an xterm; the agents started on it are ended afterwards.
display = test_screen_viewer.display

expect.set_options(timeout=15_000)

#: Short enough for a test to see the relay give up on a lost agent, long
#: enough for it to click Stop waiting first.
GRACE_S = 12
LOST_TEXT = "The visitor’s computer lost its connection. Waiting for it to come back"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_AGENT_GRACE_S": str(GRACE_S), "DESKLINK_SWEEP_INTERVAL_S": "0.5"}
    with ServerProcess(env=env) as srv:
        yield srv


def wait_until(page: Page, check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll ``check`` until it is true; waiting through the page lets
    Playwright deliver the routed socket's messages meanwhile."""
    return poll_until(check, timeout, what, sleep=lambda s: page.wait_for_timeout(s * 1000))


def copy_on_the_visitors_computer(display: XDisplay, text: str) -> None:
    """xclip -quiet serves the X clipboard until someone else takes it; the display stops it by PID."""
    proc = subprocess.Popen(["xclip", "-selection", "clipboard", "-quiet"], env=display.env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None
    proc.stdin.write(text)
    proc.stdin.close()
    display.children.append(proc)


def x_clipboard(display: XDisplay) -> str:
    out = subprocess.run(["xclip", "-o", "-selection", "clipboard"], env=display.env, capture_output=True, text=True, timeout=10)
    return out.stdout


def click_indicator(display: XDisplay, name: str) -> None:
    from desklink.agent.ui import INDICATOR_TITLE, indicator_button

    bar = display.window_geometry(display.wait_window(INDICATOR_TITLE))
    display.click(*indicator_button(bar, name))


def grant_clipboard(server: ServerProcess) -> Callable[[Watched], None]:
    def prepare(w: Watched) -> None:
        w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    return prepare


def share(scene: Scene, display: XDisplay, server: ServerProcess) -> subprocess.Popen[str]:
    code = scene.request_screen()
    agent = start_agent(display, server, code)
    click_button(display, CONSENT_TITLE, ALLOW_BUTTON)
    expect(scene.status()).to_have_text("Sharing")
    scene.settle()
    return agent


def surface_opacity(scene: Scene) -> float:
    return float(scene.screen.get_by_test_id("screen-surface").evaluate("el => getComputedStyle(el).opacity"))


# --------------------------------------------------------------------------- with the real agent


def test_visitors_clipboard_shows_as_text_and_copy_puts_it_on_the_reps_clipboard(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, display: XDisplay
) -> None:
    scene = Scene(browser, server, admin, host_site, unique, prepare_rep=grant_clipboard(server))
    try:
        share(scene, display, server)
        toggle = scene.screen.get_by_test_id("screen-clipboard")
        panel = scene.screen.get_by_test_id("clipboard-panel")
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("data-new", "false")
        expect(panel).to_be_hidden()

        # Off until the visitor turns it on: a copy stays on the visitor's computer.
        copy_on_the_visitors_computer(display, "private before sharing")
        toggle.click()
        expect(panel).to_be_visible()
        expect(panel.get_by_test_id("clipboard-send")).to_be_disabled()
        expect(panel.get_by_test_id("clipboard-to-hint")).to_have_text("Vic has not turned clipboard sharing on.")
        toggle.click()
        expect(panel).to_be_hidden()

        click_indicator(display, "clip")  # the visitor shares the clipboard
        expect(panel.get_by_test_id("clipboard-to-hint")).to_be_hidden()
        text = '<img src=x data-evil="1"> naïve ✓ 100 € & <b>bold</b>\nsecond line\n\tindented'
        copy_on_the_visitors_computer(display, text)
        expect(toggle).to_have_attribute("data-new", "true")  # arrived while the panel was closed
        toggle.click()
        expect(panel).to_be_visible()
        expect(toggle).to_have_attribute("data-new", "false")
        shown = panel.get_by_test_id("clipboard-text")
        expect(shown).to_be_visible()
        assert shown.text_content() == text  # as text, every character
        assert panel.locator("img, b").count() == 0  # never as markup
        expect(panel.get_by_test_id("clipboard-time")).to_have_text(re.compile(r"^copied at \d"))

        panel.get_by_test_id("clipboard-copy").click()
        expect(panel.get_by_test_id("clipboard-copy")).to_have_text("Copied")
        assert scene.rep.evaluate("navigator.clipboard.readText()") == text

        # A newer copy replaces it.
        copy_on_the_visitors_computer(display, "the second copy")
        expect(shown).to_have_text("the second copy")

        # The rep sends text to the visitor's clipboard: it lands in the X clipboard.
        panel.get_by_test_id("clipboard-input").fill("sent by the rep: ñ €")
        panel.get_by_test_id("clipboard-send").click()
        wait_until(scene.rep, lambda: x_clipboard(display) == "sent by the rep: ñ €", "the rep's text on the visitor's clipboard")
    finally:
        scene.close()


def test_killed_agent_dims_the_picture_and_stop_waiting_ends_sharing(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, display: XDisplay
) -> None:
    scene = Scene(browser, server, admin, host_site, unique)
    try:
        agent = share(scene, display, server)
        frames = scene.frames()
        assert surface_opacity(scene) == 1.0
        agent.kill()  # no goodbye: the relay sees the link drop
        agent.wait(10)

        expect(scene.screen).to_have_attribute("data-status", "agent_lost")
        expect(scene.status()).to_have_text("The visitor’s computer lost its connection")
        expect(scene.screen.get_by_test_id("screen-notice")).to_be_visible()
        expect(scene.screen.get_by_test_id("screen-notice-text")).to_contain_text(LOST_TEXT)
        expect(scene.screen.get_by_test_id("screen-notice-text")).to_have_text(re.compile(r"come back: \d+ s"))
        # The last picture stays, dimmed; it takes no clicks.
        expect(scene.screen.get_by_test_id("screen-surface")).to_be_visible()
        assert surface_opacity(scene) < 0.5
        assert scene.screen.get_by_test_id("screen-surface").evaluate("el => getComputedStyle(el).pointerEvents") == "none"
        assert scene.frames() == frames
        expect(scene.screen.get_by_test_id("screen-refresh")).to_be_disabled()

        scene.screen.get_by_test_id("screen-stop-waiting").click()
        expect(scene.status()).to_have_text("Sharing stopped (by you)")
        expect(scene.screen).to_have_attribute("data-status", "stopped")
        expect(scene.screen.get_by_test_id("screen-stop-waiting")).to_be_hidden()
        expect(scene.screen.get_by_test_id("screen-close")).to_be_visible()
    finally:
        scene.close()


def test_agent_that_does_not_come_back_ends_sharing(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, display: XDisplay
) -> None:
    scene = Scene(browser, server, admin, host_site, unique)
    try:
        agent = share(scene, display, server)
        agent.kill()
        agent.wait(10)
        expect(scene.screen).to_have_attribute("data-status", "agent_lost")
        expect(scene.status()).to_have_text("Disconnected: the visitor’s agent did not come back.", timeout=(GRACE_S + 15) * 1000)
        expect(scene.screen).to_have_attribute("data-status", "stopped")
        expect(scene.screen.get_by_test_id("screen-notice-text")).to_have_text(
            "The visitor’s agent did not come back. You can ask again with Request screen sharing.")
        expect(scene.screen.get_by_test_id("screen-stop-waiting")).to_be_hidden()
    finally:
        scene.close()


# --------------------------------------------------------------------------- the specified states, played


class PlayedRelay:
    """The relay's side of /ws/viewer, played by the test (Playwright routes
    the page's socket here instead of the server)."""

    def __init__(self) -> None:
        self.routes: list[Any] = []
        self.received: list[dict[str, Any]] = []

    def attach(self, w: Watched) -> None:
        w.context.grant_permissions(["clipboard-read", "clipboard-write"])
        w.context.route_web_socket(re.compile(r".*/ws/viewer.*"), self._route)

    def _route(self, ws: Any) -> None:
        self.routes.append(ws)
        ws.on_message(self._message)

    def _message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.received.append(json.loads(message))

    def send(self, message: dict[str, Any]) -> None:
        self.routes[-1].send(json.dumps(message))

    def frame(self, frame: Frame) -> None:
        self.routes[-1].send(b"\x02" + frame.encode())

    def got(self, t: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("t") == t]


def state(**fields: Any) -> dict[str, Any]:
    base = {"t": "screen.state", "session_id": "played", "status": "sharing", "agent": True, "monitors": [], "selected": 0,
            "watchers": [], "by": None, "control": "view", "control_by": None,
            "clipboard": {"from_visitor": True, "to_visitor": True}, "grace_left_s": None}
    return {**base, **fields}


def test_send_to_the_visitors_clipboard_and_the_lost_agent_countdown(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    relay = PlayedRelay()
    scene = Scene(browser, server, admin, host_site, unique, prepare_rep=relay.attach)
    try:
        scene.chat.get_by_test_id("screen-request").click()
        wait_until(scene.rep, lambda: relay.routes, "the viewer's socket")
        relay.send(state())
        relay.frame(Frame(1, 0, 64, 48, (Rect.fill(0, 0, 64, 48, (40, 90, 160)),), FLAG_KEY))
        expect(scene.status()).to_have_text("Sharing")
        wait_until(scene.rep, lambda: relay.got("screen.ack"), "the ack of the first frame")
        assert relay.got("screen.ack") == [{"t": "screen.ack", "seq": 1}]

        panel = scene.screen.get_by_test_id("clipboard-panel")
        scene.screen.get_by_test_id("screen-clipboard").click()
        box, send = panel.get_by_test_id("clipboard-input"), panel.get_by_test_id("clipboard-send")
        expect(panel.get_by_test_id("clipboard-from-hint")).to_have_text("Nothing yet. Text Vic copies shows here.")
        expect(send).to_have_text("Send to the visitor’s clipboard")
        expect(send).to_be_disabled()  # nothing typed yet
        expect(panel.get_by_test_id("clipboard-to-hint")).to_be_hidden()
        box.fill("from the rep: ñ € ok")
        expect(panel.get_by_test_id("clipboard-count")).to_have_text(f"20 / {limits.MAX_CLIPBOARD_CHARS}")
        send.click()
        wait_until(scene.rep, lambda: relay.got("clipboard"), "the clipboard message")
        assert relay.got("clipboard") == [{"t": "clipboard", "text": "from the rep: ñ € ok"}]
        expect(box).to_have_value("")

        # Past the limit (characters, as Python counts them): not sendable.
        box.fill("😀" * (limits.MAX_CLIPBOARD_CHARS + 1))
        expect(panel.get_by_test_id("clipboard-count")).to_have_attribute("data-over", "true")
        expect(send).to_be_disabled()
        box.fill("😀" * limits.MAX_CLIPBOARD_CHARS)
        expect(send).to_be_enabled()
        box.fill("")

        # The visitor turns the direction off: the box and button go off, a plain hint says why.
        relay.send(state(clipboard={"from_visitor": False, "to_visitor": False}))
        expect(box).to_be_disabled()
        expect(send).to_be_disabled()
        expect(panel.get_by_test_id("clipboard-to-hint")).to_have_text("Vic has not turned clipboard sharing on.")
        expect(panel.get_by_test_id("clipboard-from-hint")).to_have_text("Vic has not turned on sharing their clipboard with you.")

        # The visitor's agent loses its link: dimmed picture, a countdown kept locally, Stop waiting.
        relay.send(state(agent=False, grace_left_s=57))
        expect(scene.screen).to_have_attribute("data-status", "agent_lost")
        notice = scene.screen.get_by_test_id("screen-notice-text")
        expect(notice).to_have_text(re.compile("^" + re.escape(LOST_TEXT) + r": 5[5-7] s$"))
        expect(notice).to_have_text(re.compile(r": 5[0-4] s$"))  # counting down without the relay saying more
        assert surface_opacity(scene) < 0.5
        expect(scene.screen.get_by_test_id("control-request")).to_be_disabled()
        scene.screen.get_by_test_id("screen-stop-waiting").click()
        wait_until(scene.rep, lambda: relay.got("screen.stop"), "screen.stop")

        # The relay gave up on the agent.
        relay.send(state(status="stopped", by="agent_lost", agent=False, clipboard={"from_visitor": False, "to_visitor": False}))
        expect(scene.status()).to_have_text("Disconnected: the visitor’s agent did not come back.")
        expect(scene.screen.get_by_test_id("screen-stop-waiting")).to_be_hidden()
        expect(scene.screen).to_have_attribute("data-grace-left", "")
    finally:
        scene.close()

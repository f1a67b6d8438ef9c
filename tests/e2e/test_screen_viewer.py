"""The rep's screen viewer in a real browser, against the real agent.

An Xvfb display (1280x800) runs an xterm; the visitor asks for help in the
help box (Chromium, embedded cross-origin); the rep accepts in the console
(Chromium) and clicks Request screen sharing; the test reads the join code
off the console and starts the real ``desklink agent`` process on the Xvfb
display with its Tk consent window, which it answers with a real xdotool
click. The console's canvas then has to show what the X server shows.

The canvas belongs to the decoder worker (OffscreenCanvas), so its pixels
are read through the viewer's ``snapshot()`` (README: data-testid
``screen``).

The page map these tests drive is src/desklink/web/README.md.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.jpeg import encode_jpeg
from desklink.agent.ui import ALLOW_BUTTON, CONSENT_TITLE, DENY_BUTTON, INDICATOR_TITLE, indicator_button
from desklink.protocol.screen import FLAG_KEY, Cursor, Enc, Frame, Pointer, Rect
from desklink.testing import AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

from _pages import Watched

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

#: Where to save screenshots of the console for people to look at (optional).
SHOTS = os.environ.get("DESKLINK_E2E_SHOTS", "")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def display() -> Iterator[XDisplay]:
    try:
        import tkinter  # noqa: F401 (the agent's consent window is Tk)
    except ImportError:
        pytest.fail("tkinter is missing from this Python: the agent's consent window needs it", pytrace=False)
    with XDisplay(1280, 800) as d:
        d.spawn("xterm", "-geometry", "100x30+40+40", "-fa", "DejaVu Sans Mono", "-fs", "11")
        d.wait_window("xterm")
        if SHOTS and shutil.which("xsetroot"):  # a desktop colour, for the pictures people look at
            subprocess.run(["xsetroot", "-solid", "#2f6690"], env=d.env, check=False)
        try:
            yield d
        finally:
            for child in list(d.children):  # agents (the ones with a pipe): end them and close the pipe
                if child.stdout is not None:
                    if child.poll() is None:
                        child.terminate()
                    try:
                        child.communicate(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        child.communicate(timeout=5)


class Scene:
    """A rep console and a visitor's help box with an accepted chat."""

    def __init__(
        self, browser: Browser, server: ServerProcess, admin: AdminAPI, site: HostSite, unique: str,
        prepare_rep: Callable[[Watched], None] | None = None,
    ) -> None:
        queue = admin.queue(unique, origins=[site.origin])
        self.username, password = f"{unique}rita", "pw-" + secrets.token_hex(8)
        admin.members(queue["id"], [admin.user(self.username, password, display_name="Rita")["id"]])
        self.rep_w = Watched(browser)
        self.visitor_w = Watched(browser)
        self.visitor_w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.origin)
        if prepare_rep is not None:
            prepare_rep(self.rep_w)
        rep = self.rep = self.rep_w.page
        rep.goto(server.url + "/console")
        rep.get_by_test_id("username").fill(self.username)
        rep.get_by_test_id("password").fill(password)
        rep.get_by_test_id("login").click()
        expect(rep.get_by_test_id("connection")).to_have_attribute("data-state", "open")
        rep.get_by_test_id("presence-toggle").click()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")

        visitor = self.visitor_w.page
        visitor.goto(site.page(unique))
        self.box = visitor.locator("desklink-help")
        self.box.get_by_test_id("launcher").click()
        self.box.get_by_test_id("name").fill("Vic")
        self.box.get_by_test_id("question").fill("My screen shows an error I cannot read out.")
        self.box.get_by_test_id("submit").click()
        expect(self.box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")

        rep.get_by_test_id("alert-accept").click()
        tab = rep.get_by_test_id("session-tab")
        expect(tab).to_have_count(1)
        self.session_id = tab.get_attribute("data-session-id")
        self.chat = rep.locator(f'[data-testid=chat][data-session-id="{self.session_id}"]')
        self.screen = self.chat.get_by_test_id("screen")
        expect(self.box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")

    def request_screen(self) -> str:
        """Click Request screen sharing; returns the code the console shows."""
        self.chat.get_by_test_id("screen-request").click()
        expect(self.screen).to_be_visible()
        code = self.screen.get_by_test_id("screen-code")
        expect(code).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
        expect(self.screen.get_by_test_id("screen-status")).to_have_text("Waiting for the visitor to run the agent")
        return code.inner_text()

    def status(self) -> Locator:
        return self.screen.get_by_test_id("screen-status")

    def frames(self) -> int:
        return int(self.screen.get_attribute("data-frames") or 0)

    def settle(self, quiet_s: float = 1.2, timeout: float = 30.0) -> int:
        """Wait until frames stop arriving (refinements done); returns the count."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = self.frames()
            if n != last:
                last, since = n, time.monotonic()
            elif n > 0 and time.monotonic() - since >= quiet_s:
                return n
            time.sleep(0.1)
        raise AssertionError(f"the picture did not settle ({last} frames)")

    def pixels(self) -> np.ndarray:
        """The viewer's picture as H x W x 3 RGB, read through the worker."""
        shot = self.screen.evaluate(
            """async (el) => {
                const s = await el.snapshot('rgba');
                let bin = '';
                for (let i = 0; i < s.data.length; i += 0x8000) bin += String.fromCharCode.apply(null, s.data.subarray(i, i + 0x8000));
                return { width: s.width, height: s.height, b64: btoa(bin) };
            }"""
        )
        rgba = np.frombuffer(base64.b64decode(shot["b64"]), dtype=np.uint8)
        return rgba.reshape(shot["height"], shot["width"], 4)[:, :, :3]

    def stats(self) -> dict[str, float]:
        el = self.screen.get_by_test_id("screen-stats")
        return {k: float(el.get_attribute(f"data-{k}") or 0) for k in ("fps", "kbps", "frames")}

    def close(self) -> None:
        errors = self.rep_w.errors + self.visitor_w.errors
        self.rep_w.close()
        self.visitor_w.close()
        assert errors == []


@pytest.fixture
def scene(browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str) -> Iterator[Scene]:
    s = Scene(browser, server, admin, host_site, unique)
    yield s
    s.close()


def start_agent(display: XDisplay, server: ServerProcess, code: str) -> subprocess.Popen[str]:
    """The real agent, with its Tk consent window on the Xvfb display."""
    cmd = [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code.replace(" ", "")]
    proc = subprocess.Popen(
        cmd, env={**display.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(proc)
    return proc


def finish(proc: subprocess.Popen[str], timeout: float = 15.0) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
        raise AssertionError(f"agent did not exit in time:\n{out}") from None
    return proc.returncode, out


def click_button(display: XDisplay, title: str, button: tuple[int, int, int, int]) -> None:
    """A real click in the middle of a button of the agent's window."""
    window = display.wait_window(title)
    x, y, _, _ = display.window_geometry(window)
    bx, by, bw, bh = button
    display.click(x + bx + bw // 2, y + by + bh // 2)


def diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


# --------------------------------------------------------------------------- format and drawing


def _b64(data: bytes) -> str:
    return base64.b64encode(b"\x02" + data).decode()


def test_frames_parse_and_draw_like_the_reference_viewer(browser: Browser, server: ServerProcess) -> None:
    """frames.js and painter.js (on an OffscreenCanvas, as in the worker)
    against desklink.protocol.screen and the Python reference Canvas: the
    same parse, the same errors for broken frames, the same picture after
    JPEG, FILL and overlapping COPY rectangles."""
    w, h = 96, 64
    rng = np.random.default_rng(7)
    photo = np.zeros((h, w, 4), dtype=np.uint8)
    photo[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    photo[:, :, 1] = np.linspace(255, 0, h, dtype=np.uint8)[:, None]
    photo[:, :, 2] = 128
    photo[:, :, 3] = 255
    jpeg = encode_jpeg(photo, 0, 0, w, h, quality=95, subsampling="444")
    stripes = [Rect.fill(0, y, w, 4, tuple(int(c) for c in rng.integers(0, 256, 3))) for y in range(0, 32, 4)]
    frames = [
        Frame(1, 10, w, h, (Rect(0, 0, w, h, Enc.JPEG, jpeg), *stripes), FLAG_KEY),
        # Overlapping scroll up, then down, then sideways: each reads the picture before it.
        Frame(2, 20, w, h, (Rect.copy(0, 0, w, 28, 0, 4), Rect.copy(0, 6, w, 26, 0, 2), Rect.copy(3, 0, 60, 32, 0, 0))),
        Frame(3, 30, w, h, (Rect.fill(10, 40, 20, 10, (255, 0, 0)), Rect.copy(20, 44, 30, 12, 10, 40))),
    ]
    reference = Canvas()
    for f in frames:
        reference.apply(f)

    ok = [_b64(f.encode()) for f in frames] + [
        _b64(Cursor(5, 6, 2, 1, 1, 0, bytes(range(8))).encode()),
        _b64(Pointer(300, 200).encode()),
    ]
    head = struct.Struct(">BBIQHHH")
    rect = struct.Struct(">HHHHBI")
    bad = {
        "empty": b"",
        "kind": b"\x09",
        "truncated": head.pack(1, 0, 1, 0, w, h, 1)[:15],
        "size": head.pack(1, 0, 1, 0, 0, h, 0),
        "too many": head.pack(1, 0, 1, 0, w, h, 4097),
        "outside": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(90, 0, 10, 4, 2, 3) + b"abc",
        "empty rect": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 0, 4, 2, 3) + b"abc",
        "copy source": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 10, 10, 1, 4) + struct.pack(">HH", 90, 0),
        "fill length": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 10, 10, 2, 2) + b"ab",
        "jpeg length": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 10, 10, 0, 3) + b"abc",
        "encoding": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 10, 10, 7, 3) + b"abc",
        "past end": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 10, 10, 2, 30) + b"abc",
        "stray": head.pack(1, 0, 1, 0, w, h, 1) + rect.pack(0, 0, 10, 10, 2, 3) + b"abcd",
        "cursor length": struct.pack(">BHHHHHHI", 2, 0, 0, 2, 2, 0, 0, 15) + bytes(15),
        "cursor hot spot": struct.pack(">BHHHHHHI", 2, 0, 0, 2, 2, 2, 0, 16) + bytes(16),
        "pointer length": b"\x03\x00\x01\x00",
    }
    w_ = Watched(browser)
    try:
        page = w_.page
        page.goto(server.url + "/console")
        result = page.evaluate(
            """async ([ok, bad]) => {
                const f = await import('/static/viewer/frames.js');
                const { FramePainter } = await import('/static/viewer/painter.js');
                const buf = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
                const parsed = ok.map((b) => {
                    const m = f.parseChannelMessage(buf(b));
                    return m.kind === 'frame'
                        ? { kind: m.kind, seq: m.seq, key: m.key, captureUs: m.captureUs, width: m.width, height: m.height,
                            rects: m.rects.map((r) => [r.x, r.y, r.w, r.h, r.enc, r.payload.length]) }
                        : m.rgba ? { ...m, rgba: Array.from(m.rgba) } : m;
                });
                const errors = {};
                for (const [name, b] of Object.entries(bad)) {
                    try { f.parseScreenMessage(new Uint8Array(buf(b)).subarray(1)); errors[name] = null; }
                    catch (e) { errors[name] = `${e.name}: ${e.message}`; }
                }
                const painter = new FramePainter(new OffscreenCanvas(1, 1));
                const drawn = [];
                for (const b of ok.slice(0, 3)) drawn.push(await painter.paint(buf(b)));
                const s = await painter.snapshot('rgba');
                let bin = '';
                for (let i = 0; i < s.data.length; i += 0x8000) bin += String.fromCharCode.apply(null, s.data.subarray(i, i + 0x8000));
                return { parsed, errors, drawn, width: s.width, height: s.height, pixels: btoa(bin) };
            }""",
            [ok, {k: _b64(v) for k, v in bad.items()}],
        )
    finally:
        w_.close()
    assert w_.errors == []

    first = result["parsed"][0]
    assert (first["kind"], first["seq"], first["key"], first["captureUs"], first["width"], first["height"]) == ("frame", 1, True, 10, w, h)
    assert first["rects"][0] == [0, 0, w, h, 0, len(jpeg)]
    assert first["rects"][1] == [0, 0, w, 4, 2, 3]
    assert result["parsed"][1]["rects"][0] == [0, 0, w, 28, 1, 4] and result["parsed"][1]["key"] is False
    assert result["parsed"][3] == {"kind": "cursor", "x": 5, "y": 6, "w": 2, "h": 1, "hotX": 1, "hotY": 0, "rgba": list(range(8))}
    assert result["parsed"][4] == {"kind": "pointer", "x": 300, "y": 200}
    for name, error in result["errors"].items():
        assert error is not None and error.startswith("FrameError: "), (name, error)

    assert [d["seq"] for d in result["drawn"]] == [1, 2, 3]
    assert result["drawn"][0]["resized"] is True and result["drawn"][1]["resized"] is False
    picture = np.frombuffer(base64.b64decode(result["pixels"]), dtype=np.uint8).reshape(h, w, 4)
    assert (result["width"], result["height"]) == (w, h)
    assert (picture[:, :, 3] == 255).all()
    # The striped top (fills and copies only) is exact; the JPEG part within decoder tolerance.
    assert np.array_equal(picture[:32, :, :3], reference.rgb[:32])
    assert diff(picture[:, :, :3], reference.rgb) < 1.5


# --------------------------------------------------------------------------- real agent


def test_rep_sees_the_visitors_screen_live(scene: Scene, display: XDisplay, server: ServerProcess) -> None:
    code = scene.request_screen()
    shot(scene.rep, "console-waiting")

    # The help box shows the offer: who asks, the same code, the exact command, a Copy button.
    card = scene.box.get_by_test_id("screen-offer")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("screen-offer-title")).to_have_text("Rita asked to see your screen")
    expect(card.get_by_test_id("screen-offer-code")).to_have_text(code)
    command = f"desklink agent --server {server.url} --code {code.replace(' ', '')}"
    expect(card.get_by_test_id("screen-offer-command")).to_have_text(command)
    # This server has no agent builds: no install command that could not work, the download page instead.
    expect(card.get_by_test_id("screen-offer-install")).to_have_count(0)
    expect(card.get_by_test_id("screen-offer-download")).to_have_attribute(
        "href", f"{server.url}/download?code={code.replace(' ', '')}")
    expect(card.get_by_test_id("screen-offer-note")).to_contain_text("Nothing is shared until you click Allow")
    card.get_by_test_id("screen-offer-copy").click()
    expect(card.get_by_test_id("screen-offer-copy")).to_have_text("Copied")
    assert scene.visitor_w.page.evaluate("navigator.clipboard.readText()") == command
    shot(scene.visitor_w.page, "widget-offer")
    expect(scene.screen.get_by_test_id("screen-command")).to_have_text(command)

    agent = start_agent(display, server, code)
    expect(scene.status()).to_have_text("Waiting for the visitor to allow")
    assert scene.frames() == 0
    click_button(display, CONSENT_TITLE, ALLOW_BUTTON)
    expect(scene.status()).to_have_text("Sharing")
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    expect(scene.screen.get_by_test_id("screen-code")).to_be_hidden()
    expect(scene.screen.get_by_test_id("screen-size")).to_have_text("1280 × 800")

    # (a) 1:1, settled: the canvas is the X screen.
    scene.screen.get_by_test_id("screen-fit").click()
    expect(scene.screen).to_have_attribute("data-scale", "1:1")
    scene.settle()
    first = scene.pixels()
    assert first.shape == (800, 1280, 3)
    settled = diff(first, display.screenshot())
    print(f"\nmean abs difference canvas vs X screen, settled: {settled:.3f}")
    assert settled < 3.0

    # (b) typing into the xterm changes the canvas, and it still matches.
    before = scene.frames()
    display.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
    display.xdotool("type", "--delay", "30", "echo hello-desklink")
    display.xdotool("key", "Return")
    scene.settle()
    assert scene.frames() > before
    typed = scene.pixels()
    assert diff(typed, first) > 0.01
    assert diff(typed, display.screenshot()) < 3.0

    # (c) while the screen keeps changing (a scrolling xterm) the readout shows the rate.
    display.xdotool("type", "--delay", "10", "for i in $(seq 1 70); do date +%T.%N; sleep 0.08; done")
    display.xdotool("key", "Return")
    seen = {"fps": 0.0, "kbps": 0.0}
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        s = scene.stats()
        seen = {k: max(seen[k], s[k]) for k in seen}
        time.sleep(0.25)
    readout = scene.screen.get_by_test_id("screen-stats")
    print(f"\nviewer readout while scrolling: peak {seen['fps']:.1f} fps, {seen['kbps']:.0f} kbit/s; text {readout.inner_text()!r}")
    assert seen["fps"] > 0 and seen["kbps"] > 0
    expect(readout).to_contain_text("fps")
    shot(scene.rep, "console-sharing-1to1")
    scene.settle(quiet_s=1.5)
    scrolled = diff(scene.pixels(), display.screenshot())
    print(f"mean abs difference after scrolling: {scrolled:.3f}")
    assert scrolled < 3.0  # scroll copies drew right
    scene.screen.get_by_test_id("screen-fit").click()
    expect(scene.screen).to_have_attribute("data-scale", "fit")
    scene.screen.get_by_test_id("screen-refresh").click()
    scene.settle()
    shot(scene.rep, "console-sharing-fit")

    # The rep stops: both sides end, the agent exits 0.
    scene.screen.get_by_test_id("screen-stop").click()
    expect(scene.status()).to_have_text("Sharing stopped (by you)")
    code_, out = finish(agent)
    assert code_ == 0, out
    assert "the support rep stopped sharing" in out


def test_deny_shows_declined_and_never_a_frame(scene: Scene, display: XDisplay, server: ServerProcess) -> None:
    code = scene.request_screen()
    agent = start_agent(display, server, code)
    expect(scene.status()).to_have_text("Waiting for the visitor to allow")
    click_button(display, CONSENT_TITLE, DENY_BUTTON)
    expect(scene.status()).to_have_text("The visitor declined")
    expect(scene.screen).to_have_attribute("data-status", "denied")
    code_, out = finish(agent)
    assert code_ == 0 and "declined" in out, out
    time.sleep(0.6)  # a stats tick
    assert scene.frames() == 0
    assert scene.stats()["frames"] == 0
    expect(scene.screen.get_by_test_id("screen-stop")).to_be_hidden()
    shot(scene.rep, "console-declined")


def test_page_decoding_reconnect_and_the_visitors_stop(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, display: XDisplay
) -> None:
    """Without OffscreenCanvas the page decodes by itself; a dropped viewer
    socket comes back and gets a key frame; the visitor's Stop button in
    the agent's indicator window ends it on both sides at once."""
    sockets: list[tuple[Any, Any]] = []

    def prepare(w: Watched) -> None:
        w.context.add_init_script("delete globalThis.OffscreenCanvas;")

        def route(ws: Any) -> None:
            sockets.append((ws, ws.connect_to_server()))

        w.context.route_web_socket(re.compile(r".*/ws/viewer.*"), route)

    scene = Scene(browser, server, admin, host_site, unique, prepare_rep=prepare)
    try:
        code = scene.request_screen()
        expect(scene.screen).to_have_attribute("data-renderer", "page")
        agent = start_agent(display, server, code)
        click_button(display, CONSENT_TITLE, ALLOW_BUTTON)
        expect(scene.status()).to_have_text("Sharing")
        scene.screen.get_by_test_id("screen-fit").click()
        scene.settle()
        assert diff(scene.pixels(), display.screenshot()) < 3.0

        # The viewer's socket drops: it reconnects by itself and the relay sends a key frame.
        before = scene.frames()
        page_side, server_side = sockets[-1]
        server_side.close()
        page_side.close(code=4000, reason="test: connection lost")
        expect(scene.status()).to_have_text("Sharing")
        poll_until(lambda: scene.frames() > before, 15, "a frame after the reconnect", interval=0.1)
        assert len(sockets) == 2
        scene.settle()
        assert diff(scene.pixels(), display.screenshot()) < 3.0

        # The indicator is a small window: a label, then the Stop button on its right.
        window = display.wait_window(INDICATOR_TITLE)
        x, y, w, h = display.window_geometry(window)
        display.click(*indicator_button((x, y, w, h), "stop"))
        expect(scene.status()).to_have_text("Sharing stopped (by the visitor)", timeout=1000)
        code_, out = finish(agent)
        assert code_ == 0, out
        expect(scene.screen.get_by_test_id("screen-close")).to_be_visible()
        expect(scene.screen.get_by_test_id("screen-stop")).to_be_hidden()
        shot(scene.rep, "console-stopped")

        # Asking again gives a new code and waits for a new agent.
        scene.chat.get_by_test_id("screen-request").click()
        expect(scene.screen.get_by_test_id("screen-code")).not_to_have_text(code)
        expect(scene.status()).to_have_text("Waiting for the visitor to run the agent")
    finally:
        scene.close()

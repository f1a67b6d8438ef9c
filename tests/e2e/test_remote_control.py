"""Remote control from the rep's viewer, in a real browser, against the real
agent on an Xvfb display.

The scene is test_screen_viewer.py's (a visitor's help box and a rep console
in Chromium, the real ``desklink agent`` with its Tk consent window answered
by a real xdotool click), plus:

* an xterm running bash in a UTF-8 locale (``-u8``), where the rep types
  shell commands through the viewer; the files they create are the proof;
* a small Tk "pad" window that prints every button and motion event it gets
  with root coordinates, for clicks and drags on a *scaled* viewer.

The rep's page records every frame its viewer socket sends, so "nothing was
sent" is checked at the source as well as on the X screen.

The page map is src/desklink/web/README.md (testids ``control-*``).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.agent.ui import ALLOW_BUTTON, CONSENT_TITLE, DENY_BUTTON
from desklink.testing import AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

from test_screen_viewer import Scene, Watched, click_button, finish, shot, start_agent

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

W, H = 1280, 800
#: Where the test pad sits on the X screen (clear of the xterm and of the indicator at the top).
PAD = (860, 420, 380, 340)
PAD_TITLE = "DeskLink test pad"
PAD_SCRIPT = f"""
import sys, tkinter as tk
root = tk.Tk()
root.title({PAD_TITLE!r})
root.geometry("{PAD[2]}x{PAD[3]}+{PAD[0]}+{PAD[1]}")
root.configure(background="#f5d76e")
def say(kind):
    def handler(e):
        print(kind, e.x_root, e.y_root, getattr(e, "num", "?"), flush=True)
    return handler
root.bind("<ButtonPress>", say("press"))
root.bind("<ButtonRelease>", say("release"))
root.bind("<B1-Motion>", say("drag"))
root.mainloop()
"""


# --------------------------------------------------------------------------- fixtures and helpers


class Pad:
    """The Tk window that reports the pointer events it receives."""

    def __init__(self, display: XDisplay) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PAD_SCRIPT], env={**display.env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        display.children.append(self.proc)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        display.wait_window(PAD_TITLE)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def events(self, until: str, timeout: float = 10.0) -> list[tuple[str, int, int]]:
        """Events up to and including the first of kind ``until``."""
        out: list[tuple[str, int, int]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            parts = line.split()
            if len(parts) < 3 or parts[0] not in ("press", "release", "drag"):
                continue
            out.append((parts[0], int(parts[1]), int(parts[2])))
            if parts[0] == until:
                return out
        raise AssertionError(f"the pad got no {until} (got {out})")

    def quiet(self) -> list[str]:
        """Whatever arrived since the last look (without waiting)."""
        got = []
        while True:
            try:
                got.append(self.lines.get_nowait())
            except queue.Empty:
                return got


@pytest.fixture
def display() -> Iterator[XDisplay]:
    try:
        import tkinter  # noqa: F401 (the agent's consent window is Tk)
    except ImportError:
        pytest.fail("tkinter is missing from this Python: the agent's consent window needs it", pytrace=False)
    with XDisplay(W, H) as d:
        # bash without rc files in a UTF-8 locale; xterm in UTF-8 mode.
        d.spawn("env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PS1=$ ", "xterm", "-u8", "-geometry", "90x26+40+40",
                "-fa", "DejaVu Sans Mono", "-fs", "11", "-title", "visitor-xterm", "-e", "bash", "--norc", "--noprofile")
        d.wait_window("visitor-xterm")
        try:
            yield d
        finally:
            for child in list(d.children):  # agents and the pad (the ones with a pipe): end them, close the pipe
                if child.stdout is not None:
                    if child.poll() is None:
                        child.terminate()
                    try:
                        child.communicate(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        child.communicate(timeout=5)


class Sent:
    """Every JSON frame the rep's page sends on /ws/viewer."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def attach(self, w: Watched) -> None:
        def on_socket(ws: Any) -> None:
            if "/ws/viewer" in ws.url:
                ws.on("framesent", self._sent)

        w.page.on("websocket", on_socket)

    def _sent(self, payload: Any) -> None:
        if isinstance(payload, str):
            try:
                self.frames.append(json.loads(payload))
            except ValueError:
                pass

    def inputs(self) -> list[dict[str, Any]]:
        return [e for f in self.frames if f.get("t") == "input" for e in f["events"]]

    def input_messages(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("t") == "input"]


@pytest.fixture
def rig(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, display: XDisplay
) -> Iterator[tuple[Scene, Sent, subprocess.Popen[str]]]:
    """A console sharing the Xvfb screen (fit mode), control not asked yet."""
    sent = Sent()
    scene = Scene(browser, server, admin, host_site, unique, prepare_rep=sent.attach)
    try:
        code = scene.request_screen()
        agent = start_agent(display, server, code)
        expect(scene.status()).to_have_text("Waiting for the visitor to allow")
        click_button(display, CONSENT_TITLE, ALLOW_BUTTON)
        expect(scene.status()).to_have_text("Sharing")
        expect(scene.screen.get_by_test_id("screen-size")).to_have_text("1280 × 800")
        expect(scene.screen).to_have_attribute("data-scale", "fit")
        scene.settle()
        yield scene, sent, agent
    finally:
        scene.close()


def control(scene: Scene) -> tuple[Any, Any]:
    return scene.screen.get_by_test_id("control-status"), scene.screen.get_by_test_id("screen-canvas")


def to_client(scene: Scene, x: int, y: int) -> tuple[float, float]:
    """Where screen pixel (x, y) is on the page: the canvas letterboxes the
    picture (object-fit: contain), so this is worked out here independently
    of input.js."""
    box = scene.screen.get_by_test_id("screen-canvas").bounding_box()
    assert box is not None
    s = min(box["width"] / W, box["height"] / H)
    left = box["x"] + (box["width"] - W * s) / 2
    top = box["y"] + (box["height"] - H * s) / 2
    return left + (x + 0.5) * s, top + (y + 0.5) * s


def scale_of(scene: Scene) -> float:
    box = scene.screen.get_by_test_id("screen-canvas").bounding_box()
    assert box is not None
    return min(box["width"] / W, box["height"] / H)


def pointer(display: XDisplay) -> tuple[int, int]:
    out = display.xdotool("getmouselocation", "--shell")
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(values["X"]), int(values["Y"])


def wait_pointer(display: XDisplay, x: int, y: int, tol: int = 1, timeout: float = 5.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    at = pointer(display)
    while time.monotonic() < deadline:
        at = pointer(display)
        if abs(at[0] - x) <= tol and abs(at[1] - y) <= tol:
            return at
        time.sleep(0.05)
    raise AssertionError(f"the X pointer is at {at}, not at ({x}, {y})")


def wait_file(path: Path, timeout: float = 10.0) -> None:
    poll_until(path.exists, timeout, f"{path} to appear (the typing reaching the visitor's shell)", interval=0.1)


def type_line(page: Page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def click_xterm(scene: Scene, display: XDisplay) -> None:
    """A click into the visitor's xterm through the viewer (the pointer stays there: X focus follows it)."""
    scene.rep.mouse.click(*to_client(scene, 300, 300))
    wait_pointer(display, 300, 300)


def grant(scene: Scene, display: XDisplay) -> None:
    status, _ = control(scene)
    scene.screen.get_by_test_id("control-request").click()
    expect(status).to_have_attribute("data-control", "asking")
    expect(status).to_have_text("Waiting for the visitor to allow control")
    click_button(display, CONSENT_TITLE, ALLOW_BUTTON)  # the second consent window: same layout, same title
    expect(status).to_have_attribute("data-control", "granted")
    expect(status).to_have_text("You are in control")
    expect(scene.screen.get_by_test_id("control-release")).to_have_text("Give back control")
    expect(scene.screen.get_by_test_id("control-request")).to_be_hidden()


# --------------------------------------------------------------------------- tests


def test_rep_types_clicks_and_drags_only_while_in_control(
    rig: tuple[Scene, Sent, subprocess.Popen[str]], display: XDisplay, unique: str
) -> None:
    scene, sent, agent = rig
    rep = scene.rep
    status, canvas = control(scene)
    files = {k: Path(f"/tmp/desklink-e2e-{unique}-{k}") for k in ("before", "typed", "utf8", "after")}
    for f in files.values():
        f.unlink(missing_ok=True)
    pad = Pad(display)
    try:
        # The viewer is scaled: fit mode in a console narrower than the screen.
        s = scale_of(scene)
        print(f"\nviewer scale {s:.3f}")
        assert s < 0.9

        # (e) View only: clicking, moving and typing in the viewer do nothing on the X screen.
        expect(status).to_have_attribute("data-control", "view")
        expect(status).to_have_text("View only")
        expect(scene.screen.get_by_test_id("control-request")).to_be_visible()
        expect(scene.screen.get_by_test_id("control-release")).to_be_hidden()
        start = pointer(display)
        rep.mouse.click(*to_client(scene, 300, 300))
        rep.mouse.move(*to_client(scene, 500, 350), steps=5)
        type_line(rep, f"touch {files['before']}")
        time.sleep(1.5)
        assert not files["before"].exists()
        assert pointer(display) == start
        assert sent.input_messages() == []

        grant(scene, display)
        expect(scene.screen).to_have_attribute("data-control", "granted")
        shot(rep, "control-granted")

        # (c) A click on the scaled viewer lands on the right screen pixel ...
        tx, ty = PAD[0] + 60, PAD[1] + 50
        rep.mouse.move(*to_client(scene, tx, ty))
        wait_pointer(display, tx, ty)
        pad.quiet()
        rep.mouse.click(*to_client(scene, tx, ty))
        got = pad.events(until="release")
        presses = [e for e in got if e[0] == "press"]
        assert presses and abs(presses[0][1] - tx) <= 1 and abs(presses[0][2] - ty) <= 1, got
        assert abs(got[-1][1] - tx) <= 1 and abs(got[-1][2] - ty) <= 1, got
        # ... and so does a drag: press here, motion with the button down, release there.
        ex, ey = PAD[0] + 300, PAD[1] + 260
        rep.mouse.move(*to_client(scene, tx, ty))
        rep.mouse.down()
        rep.mouse.move(*to_client(scene, ex, ey), steps=12)
        rep.mouse.up()
        got = pad.events(until="release")
        print(f"drag on the pad: {got[0]} .. {got[-1]} ({len(got)} events)")
        assert got[0][0] == "press" and abs(got[0][1] - tx) <= 1 and abs(got[0][2] - ty) <= 1, got
        drags = [e for e in got if e[0] == "drag"]
        assert len(drags) >= 3, got
        xs = [e[1] for e in drags]
        assert xs == sorted(xs), got  # in order
        assert abs(got[-1][1] - ex) <= 1 and abs(got[-1][2] - ey) <= 1, got
        wait_pointer(display, ex, ey)
        # Moves were coalesced and batched: never more than 64 events a message.
        assert all(1 <= len(m["events"]) <= 64 for m in sent.input_messages())

        # (a) Typing a shell command into the visitor's xterm.
        click_xterm(scene, display)
        expect(scene.screen).to_have_attribute("data-input-focus", "true")
        assert rep.evaluate("document.activeElement.dataset.testid") == "screen-keys"
        type_line(rep, f"touch {files['typed']}")
        wait_file(files["typed"])

        # (b) Non-ASCII text arrives intact (as text events: no key for é on the rep's US layout).
        type_line(rep, f"printf '%s' 'héllo wörld' > {files['utf8']}")
        wait_file(files["utf8"])
        time.sleep(0.3)
        assert files["utf8"].read_bytes().decode("utf-8") == "héllo wörld"
        assert {"k": "text", "text": "é"} in sent.inputs()
        shot(rep, "control-typed")

        # (d) Give back control: a release goes first, then nothing more reaches the X screen.
        before = len(sent.frames)
        scene.screen.get_by_test_id("control-release").click()
        expect(status).to_have_attribute("data-control", "view")
        expect(status).to_have_text("You gave back control")
        expect(scene.screen.get_by_test_id("control-request")).to_be_visible()
        tail = sent.frames[before:]
        assert {"t": "control.release"} in tail
        released_at = tail.index({"t": "control.release"})
        assert any(f.get("t") == "input" and {"k": "release"} in f["events"] for f in tail[:released_at]), tail
        inputs_before = len(sent.input_messages())
        here = pointer(display)
        rep.mouse.click(*to_client(scene, 320, 320))
        type_line(rep, f"touch {files['after']}")
        time.sleep(1.5)
        assert not files["after"].exists()
        assert pointer(display) == here
        assert len(sent.input_messages()) == inputs_before
        assert not files["before"].exists()
        expect(scene.status()).to_have_text("Sharing")
    finally:
        for f in files.values():
            f.unlink(missing_ok=True)
    assert agent.poll() is None


def test_visitor_declines_then_takes_control_back(
    rig: tuple[Scene, Sent, subprocess.Popen[str]], display: XDisplay, unique: str
) -> None:
    scene, sent, agent = rig
    rep = scene.rep
    status, _ = control(scene)
    after = Path(f"/tmp/desklink-e2e-{unique}-taken")
    after.unlink(missing_ok=True)
    try:
        # The visitor says no to control: the rep is told, input stays off.
        scene.screen.get_by_test_id("control-request").click()
        expect(status).to_have_attribute("data-control", "asking")
        click_button(display, CONSENT_TITLE, DENY_BUTTON)
        expect(status).to_have_text("The visitor declined control")
        expect(status).to_have_attribute("data-by", "visitor")
        expect(status).to_have_attribute("data-control", "view")
        expect(scene.rep.get_by_test_id("toast").filter(has_text="The visitor declined control")).to_be_visible()
        expect(scene.status()).to_have_text("Sharing")  # sharing goes on

        # Asked again, allowed, then the visitor takes it back with the Pause key.
        grant(scene, display)
        click_xterm(scene, display)
        display.xdotool("keydown", "Pause")
        time.sleep(0.4)
        display.xdotool("keyup", "Pause")
        expect(status).to_have_text("The visitor took back control")
        expect(status).to_have_attribute("data-control", "view")
        expect(scene.screen).to_have_attribute("data-control", "view")
        expect(scene.screen.get_by_test_id("control-request")).to_be_visible()
        inputs = len(sent.input_messages())
        type_line(rep, f"touch {after}")
        time.sleep(1.5)
        assert not after.exists()
        assert len(sent.input_messages()) == inputs
        shot(rep, "control-taken-back")
    finally:
        after.unlink(missing_ok=True)
    # The rep stops sharing; the agent ends cleanly.
    scene.screen.get_by_test_id("screen-stop").click()
    expect(scene.status()).to_have_text("Sharing stopped (by you)")
    expect(scene.screen.get_by_test_id("screen-control")).to_be_hidden()
    code, out = finish(agent)
    assert code == 0, out



def whiteboard_pixel(scene: Scene, x: int, y: int, r: int = 2) -> list[list[int]]:
    """The rep's whiteboard layer (monitor pixels) around (x, y): RGBA values."""
    return scene.screen.get_by_test_id("whiteboard-canvas").evaluate(
        """(c, [x, y, r]) => { const d = c.getContext('2d').getImageData(x - r, y - r, 2 * r + 1, 2 * r + 1).data;
             const out = []; for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2], d[i + 3]]); return out; }""",
        [x, y, r],
    )


def rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)


def test_rep_and_visitor_draw_and_either_clears(rig: tuple[Scene, Sent, subprocess.Popen[str]], display: XDisplay) -> None:
    scene, sent, agent = rig
    rep = scene.rep
    board = scene.screen.get_by_test_id("whiteboard-canvas")

    # The rep draws in the viewer: the stroke shows on the visitor's real screen, in its colour, where drawn.
    scene.screen.get_by_test_id("whiteboard-toggle").click()
    color = scene.screen.get_by_test_id("whiteboard-color").get_attribute("data-color")
    assert color is not None
    rep.mouse.move(*to_client(scene, 200, 300))
    rep.mouse.down()
    for x in range(220, 701, 20):
        rep.mouse.move(*to_client(scene, x, 300))
    rep.mouse.up()
    for _ in range(100):  # the page's socket events reach Python while Playwright waits
        if any(f.get("t") == "annotate" for f in sent.frames):
            break
        rep.wait_for_timeout(50)
    (stroke,) = [f for f in sent.frames if f.get("t") == "annotate"]
    red = rgb(color)
    poll_until(
        lambda: (display.screenshot()[299:302, 250:650] == red).all(axis=-1).mean() > 0.9, 10, "the rep's stroke on the X screen", interval=0.1
    )
    expect(board).to_have_attribute("data-strokes", "1")

    # The xterm under the stroke prints lines; the picture the viewer rebuilds never has the stroke in it.
    display.xdotool("mousemove", "--sync", "300", "200")
    display.xdotool("type", "--delay", "5", "seq 1 30\n")
    time.sleep(0.5)
    scene.settle()
    near = np.abs(scene.pixels()[285:316, 200:701].astype(int) - red.astype(int)).sum(axis=-1) < 60
    assert not near.any(), "the viewer's picture contains the overlay: the stroke would show twice"

    # The visitor draws back from the indicator: purple on both screens.
    from desklink.agent.overlay.pen import VISITOR_COLOR
    from desklink.agent.ui import INDICATOR_TITLE, indicator_button

    def click_bar(name: str) -> None:  # where the bar is now
        display.click(*indicator_button(display.window_geometry(display.wait_window(INDICATOR_TITLE)), name))

    click_bar("draw")
    time.sleep(0.3)
    display.xdotool("mousemove", "--sync", "300", "650")
    display.xdotool("mousedown", "1")
    for x in range(320, 701, 20):
        display.xdotool("mousemove", "--sync", str(x), str(650 + (x - 300) // 8))
    display.xdotool("mouseup", "1")
    expect(board).to_have_attribute("data-strokes", "2")
    purple = rgb(VISITOR_COLOR)
    assert any(p[:3] == purple.tolist() and p[3] == 255 for p in whiteboard_pixel(scene, 500, 675))
    assert (display.screenshot()[673:678, 498:503] == purple).all(axis=-1).any()

    # The visitor's Clear wipes both sides: the rep's board and the X screen.
    click_bar("clear")
    expect(board).to_have_attribute("data-strokes", "0")
    def no_ink() -> bool:
        shot_ = display.screenshot()
        return not (shot_ == red).all(axis=-1).any() and not (shot_ == purple).all(axis=-1).any()

    poll_until(no_ink, 5, "both sides' ink gone from the X screen", interval=0.1)
    expect(scene.screen.get_by_test_id("whiteboard-clear")).to_be_disabled()
    shot(rep, "whiteboard-cleared-by-visitor")
    click_bar("draw")  # drawing off
    time.sleep(0.3)
    display.click(300, 300)  # the click reaches the application again: no new stroke
    time.sleep(0.5)
    expect(board).to_have_attribute("data-strokes", "0")
    scene.screen.get_by_test_id("screen-stop").click()
    code, out = finish(agent)
    assert code == 0, out
    assert stroke["color"] == color

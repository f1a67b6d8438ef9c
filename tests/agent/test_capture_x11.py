"""Capture on a real X server: Xvfb 1280x800x24 with a real xterm, driven
by xdotool. Checks the pixels against an independent XGetImage through
xcffib, the monitor list, the XDamage hint, the fallback without DAMAGE,
and the encoder end to end on real captures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import xcffib
import xcffib.xproto

from desklink.agent.capture import CaptureError, Monitor, MssCapture, X11Capture, open_capture
from desklink.agent.encode import Canvas, ScreenEncoder
from desklink.protocol.screen import Frame, decode
from desklink.testing import poll_until
from desklink.testing_x import XDisplay

from ._screens import errors
from ._xvfb import Xvfb

W, H = 1280, 800


@pytest.fixture(scope="module")
def xserver() -> Iterator[Xvfb]:
    with Xvfb(W, H) as x:
        x.run("xterm", "-geometry", "80x24+40+30", "-bg", "white", "-fg", "black")
        x.xdotool("search", "--sync", "--onlyvisible", "--class", "xterm")
        yield x


@pytest.fixture
def capture(xserver: Xvfb) -> Iterator[X11Capture]:
    cap = X11Capture(xserver.name)
    yield cap
    cap.close()


def xgetimage(display: str) -> np.ndarray:
    """The root window through plain XGetImage: an independent reference."""
    conn: Any = xcffib.connect(display=display)
    try:
        root = conn.get_setup().roots[conn.pref_screen].root
        reply = conn.core.GetImage(xcffib.xproto.ImageFormat.ZPixmap, root, 0, 0, W, H, 0xFFFFFFFF).reply()
        return np.frombuffer(reply.data.buf(), np.uint8).reshape(H, W, 4).copy()
    finally:
        conn.disconnect()


def wait_for(predicate: Callable[[], bool | None], timeout: float = 5.0) -> bool:
    try:
        return bool(poll_until(predicate, timeout, interval=0.02))
    except TimeoutError:
        return False


def quiet(cap: X11Capture) -> np.ndarray:
    """Grab until a grab is followed by 0.3 s without damage (the pointer
    move or the last keystroke has been drawn); returns that grab."""
    for _ in range(50):
        img = cap.grab()
        time.sleep(0.3)
        if cap.changed() is False:
            return img
    raise AssertionError("the screen never went quiet")


def focus_xterm(x: Xvfb) -> None:
    # No window manager: the keyboard follows the pointer, so park it on the xterm.
    x.xdotool("mousemove", "300", "200")


class TestX11Capture:
    def test_open_capture_picks_x11_with_damage(self, xserver: Xvfb) -> None:
        with open_capture(xserver.name) as cap:
            assert isinstance(cap, X11Capture) and cap.has_damage

    def test_one_monitor_of_the_screen_size(self, capture: X11Capture) -> None:
        mons = capture.monitors()
        assert len(mons) == 1
        m = mons[0]
        assert (m.index, m.left, m.top, m.width, m.height) == (1, 0, 0, W, H)
        assert capture.selected == m and isinstance(m, Monitor)
        capture.select(1)
        with pytest.raises(CaptureError):
            capture.select(0)  # "all monitors" only with more than one: it would be the same picture
        assert capture.combined() is None
        with pytest.raises(CaptureError):
            capture.select(2)

    def test_two_monitors_each_and_all_at_once(self) -> None:
        with XDisplay(monitors=((300, 200), (160, 120))) as d, X11Capture(d.name) as cap:
            assert [(m.index, m.left, m.width, m.height, m.primary) for m in cap.monitors()] == [
                (1, 0, 300, 200, True), (2, 300, 160, 120, False)]
            assert cap.selected.index == 1 and cap.grab().shape == (200, 300, 4)
            cap.select(2)
            assert cap.grab().shape == (120, 160, 4)
            whole = cap.combined()
            assert whole is not None and (whole.index, whole.left, whole.top, whole.width, whole.height) == (0, 0, 0, 460, 200)
            cap.select(0)
            assert cap.selected == whole and cap.grab().shape == (200, 460, 4)
            cap.monitors()  # a re-read keeps "all monitors" selected
            assert cap.selected.index == 0
            with pytest.raises(CaptureError):
                cap.select(3)

    def test_grab_matches_xgetimage_and_plain_mss(self, xserver: Xvfb, capture: X11Capture) -> None:
        # Three grabs of one screen must agree; on a busy machine the xterm may
        # still be drawing, so take them again until the screen held still
        # around them (our grab before and after agree).
        for _ in range(20):
            quiet(capture)
            ours = capture.grab()
            reference = xgetimage(xserver.name)
            with MssCapture(xserver.name) as plain:
                other = plain.grab()
                assert plain.changed() is None
            if np.array_equal(ours, capture.grab()):
                break
        assert ours.shape == (H, W, 4) and ours.dtype == np.uint8 and ours.flags.c_contiguous
        np.testing.assert_array_equal(ours[:, :, :3], reference[:, :, :3])
        np.testing.assert_array_equal(ours[:, :, :3], other[:, :, :3])
        # The xterm is there: a white window with black text on a black root.
        assert (ours[40:60, 50:300, :3] == 255).mean() > 0.5
        again = capture.grab()
        assert not np.shares_memory(ours, again)  # fresh arrays: the encoder may keep them

    def test_damage_goes_true_on_typing_and_false_after_grab(self, xserver: Xvfb, capture: X11Capture) -> None:
        assert capture.changed() is True  # nothing grabbed yet
        focus_xterm(xserver)
        before = quiet(capture)
        assert capture.changed() is False
        xserver.xdotool("type", "--delay", "20", "echo damage")
        assert wait_for(lambda: capture.changed() is True)
        after = quiet(capture)
        assert (before != after).any(), "the typing should be on the screen"
        assert capture.changed() is False
        time.sleep(0.2)
        assert capture.changed() is False  # still nothing drawn

    def test_closed_capture_refuses(self, xserver: Xvfb) -> None:
        cap = X11Capture(xserver.name)
        cap.close()
        cap.close()
        assert cap.changed() is None
        with pytest.raises(CaptureError):
            cap.grab()

    def test_no_display(self) -> None:
        with pytest.raises(CaptureError):
            X11Capture(":4999")  # no server there


def test_without_damage_the_hint_is_none() -> None:
    with Xvfb(320, 200, extra=("-extension", "DAMAGE")) as x:
        with X11Capture(x.name) as cap:
            assert not cap.has_damage and cap.changed() is None
            assert cap.grab().shape == (200, 320, 4)


def test_encoder_on_real_captures(xserver: Xvfb, capture: X11Capture) -> None:
    """A viewer rebuilt from frames of real captures matches the screen."""
    focus_xterm(xserver)
    enc = ScreenEncoder(W, H)
    viewer = Canvas()

    def send(frame: Frame | None) -> None:
        if frame is not None:
            wire = decode(frame.encode(), 1 << 26)
            assert isinstance(wire, Frame)
            viewer.apply(wire)

    now = time.monotonic()
    img = quiet(capture)
    enc.update(img, now)
    send(enc.next_frame(1, now, 0))
    mean, p99 = errors(viewer.image, img)
    assert mean < 2 and p99 < 12
    xserver.xdotool("type", "--delay", "20", "ls")
    assert wait_for(lambda: capture.changed() is True)
    img = quiet(capture)
    now = time.monotonic()
    enc.update(img, now)
    frame = enc.next_frame(2, now, 1)
    assert frame is not None and not frame.key and frame.payload_bytes < 20_000
    send(frame)
    for k in range(3, 12):  # settle
        send(enc.next_frame(k, now + 0.1 * k, k))
    mean, p99 = errors(viewer.image, img)
    assert mean < 2 and p99 < 12


def test_cursor_request_overlaps_a_grab_and_follows_position_and_shape(xserver: Xvfb, capture: X11Capture) -> None:
    """The pointer request goes out before the grab and is read after it
    (what the agent does every frame): right position, and the shape's
    pixels change when the shape does (xterm's text cursor vs the root's)."""
    xserver.xdotool("mousemove", "--sync", "900", "600")  # over the root window
    pending = capture.cursor_request()
    capture.grab()
    outside = pending()
    assert outside is not None and (outside.x, outside.y) == (900, 600)
    assert len(outside.rgba) == outside.w * outside.h * 4
    again = capture.cursor()  # same shape: the cached pixels, a new position only if it moved
    assert again is not None and again.serial == outside.serial and again.rgba == outside.rgba
    xserver.xdotool("mousemove", "--sync", "200", "150")  # over the xterm's text
    inside = None
    for _ in range(50):
        inside = capture.cursor()
        if inside is not None and inside.serial != outside.serial:
            break
        time.sleep(0.05)
    assert inside is not None and (inside.x, inside.y) == (200, 150)
    assert inside.serial != outside.serial and inside.rgba != outside.rgba

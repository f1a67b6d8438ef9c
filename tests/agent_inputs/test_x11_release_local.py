"""The "no key stays stuck" rule and the visitor's own input on Xvfb:
release_all leaves the server with no key or button down, releases of what
we do not hold are ignored, and LocalInput tells the visitor's input (here
driven by xdotool, a separate XTest client) from the injector's by state."""

from __future__ import annotations

from desklink.agent.inputs import Held, open_injector, open_local_input
from desklink.agent.inputs.x11 import X11Injector
from desklink.protocol.messages import EvRelease
from desklink.testing_x import XDisplay

from ._x import Probe, wait_for

_BUTTONS_MASK = 0x1F00  # Button1Mask .. Button5Mask


def test_release_all_lets_go_of_every_key_and_button(xdisplay: XDisplay, injector: X11Injector) -> None:
    probe = Probe(xdisplay)
    try:
        injector.key("Shift", "ShiftLeft", True)
        injector.key("A", "KeyA", True)
        injector.key("Control", "ControlRight", True)
        injector.button(1, True, 30, 30)
        injector.button(3, True, 30, 30)
        assert injector.pressed == Held(frozenset({"ShiftLeft", "KeyA", "ControlRight"}), frozenset({1, 3}))
        wait_for(lambda: len(probe.keys_down()) == 3 and probe.pointer()[2] & 0x500 == 0x500, what="held down")
        injector.release_all()
        assert not injector.pressed
        wait_for(lambda: not probe.keys_down() and not probe.pointer()[2] & _BUTTONS_MASK, what="all released")
        # the protocol's release event does the same
        injector.key("Alt", "AltLeft", True)
        injector.apply(EvRelease())
        assert injector.pressed == Held()
        wait_for(lambda: not probe.keys_down(), what="Alt released")
    finally:
        probe.close()


def test_releases_of_what_we_do_not_hold_are_ignored(xdisplay: XDisplay, injector: X11Injector) -> None:
    injector.key("Shift", "ShiftLeft", True)
    injector.key("b", "KeyB", False)
    injector.button(2, False, 10, 10)
    assert injector.pressed == Held(frozenset({"ShiftLeft"}))
    injector.key("Shift", "ShiftLeft", False)
    injector.key("Shift", "ShiftLeft", False)
    assert injector.pressed == Held()


def test_close_releases_what_is_held(xdisplay: XDisplay) -> None:
    probe = Probe(xdisplay)
    try:
        injector = open_injector(xdisplay.name)
        injector.key("Control", "ControlLeft", True)
        injector.button(1, True, 5, 5)
        wait_for(lambda: probe.keys_down() and probe.pointer()[2] & 0x100, what="held down")
        injector.close()
        wait_for(lambda: not probe.keys_down() and not probe.pointer()[2] & _BUTTONS_MASK, what="released")
    finally:
        probe.close()


def test_injected_input_is_not_local_input(xdisplay: XDisplay, injector: X11Injector) -> None:
    local = open_local_input(injector, xdisplay.name)
    assert local.poll() is False
    injector.move(200, 150)
    assert local.poll() is False
    injector.key("Shift", "ShiftLeft", True)  # held by us: not the visitor's
    injector.button(1, True, 210, 160)
    injector.move(220, 170)
    assert local.poll() is False
    injector.button(1, False, 230, 180)
    injector.wheel(0, 3, 230, 180)
    injector.text("héllo €")
    injector.key("Shift", "ShiftLeft", False)
    injector.set_origin(2000, 2000)  # off screen: the server clamps, so do we
    injector.move(5, 5)
    assert local.poll() is False
    assert local.poll() is False


def test_the_visitor_moving_the_mouse_is_local_input(xdisplay: XDisplay, injector: X11Injector) -> None:
    local = open_local_input(injector)
    injector.move(100, 100)
    assert local.poll() is False
    xdisplay.xdotool("mousemove", "400", "300")
    assert wait_for(local.poll, what="local motion seen")
    assert local.poll() is False  # nothing new since
    injector.move(50, 60)
    assert local.poll() is False
    xdisplay.xdotool("mousedown", "1")
    assert wait_for(local.poll, what="local button seen")
    assert local.poll() is True  # still held
    xdisplay.xdotool("mouseup", "1")
    wait_for(lambda: not local.poll(), what="local button released")


def test_a_key_held_by_the_visitor_is_local_input(xdisplay: XDisplay, injector: X11Injector) -> None:
    local = open_local_input(injector)
    assert local.poll() is False
    xdisplay.xdotool("keydown", "a")
    assert wait_for(local.poll, what="local key seen")
    assert local.poll() is True
    injector.key("Shift", "ShiftLeft", True)  # ours does not hide theirs
    assert local.poll() is True
    xdisplay.xdotool("keyup", "a")
    wait_for(lambda: not local.poll(), what="local key released")
    injector.release_all()
    assert local.poll() is False


def test_pause_held_locally_is_the_hotkey(xdisplay: XDisplay, injector: X11Injector) -> None:
    local = open_local_input(injector)
    assert local.hotkey() is False
    xdisplay.xdotool("keydown", "Pause")
    assert wait_for(local.hotkey, what="the hotkey")
    xdisplay.xdotool("keyup", "Pause")
    wait_for(lambda: not local.hotkey(), what="the hotkey released")
    injector.key("Pause", "Pause", True)  # the rep pressing Pause is not the visitor's hotkey
    assert local.hotkey() is False
    injector.key("Pause", "Pause", False)
    local.close()

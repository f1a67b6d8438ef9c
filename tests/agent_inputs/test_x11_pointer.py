"""Pointer injection on Xvfb: position (checked with xdotool), clicks and
drags at the right place in a real Tk window, the monitor origin applied,
and wheel notches as buttons 4/5 (vertical) and 6/7 (horizontal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desklink.agent.inputs.x11 import X11Injector
from desklink.protocol.messages import EvButton, EvMove, EvWheel
from desklink.testing_x import XDisplay

from ._x import RawWindow, start_tk_recorder, tk_events, wait_for


def _location(display: XDisplay) -> tuple[int, int]:
    values = dict(part.split(":", 1) for part in display.xdotool("getmouselocation").split())
    return int(values["x"]), int(values["y"])


def test_move_places_the_pointer_on_the_shared_monitor(xdisplay: XDisplay, injector: X11Injector) -> None:
    injector.move(10, 20)
    wait_for(lambda: _location(xdisplay) == (10, 20), what="pointer at 10,20")
    injector.set_origin(300, 200)  # the shared monitor's top-left corner
    assert injector.origin == (300, 200)
    injector.move(10, 20)
    wait_for(lambda: _location(xdisplay) == (310, 220), what="pointer at 310,220")
    injector.apply(EvMove(x=1, y=2))
    wait_for(lambda: _location(xdisplay) == (301, 202), what="pointer at 301,202")


def test_click_and_drag_land_where_the_rep_pointed(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    out = start_tk_recorder(xdisplay, tmp_path)  # 400x300 at the top-left corner
    injector.set_origin(40, 30)
    injector.button(1, True, 50, 60)
    wait_for(lambda: ("press", "1", 90, 90) in [e[:4] for e in tk_events(out)], what="press at 90,90")
    injector.move(120, 100)
    wait_for(lambda: ("motion", "??", 160, 130) in [e[:4] for e in tk_events(out)], what="drag to 160,130")
    injector.button(1, False, 150, 140)
    wait_for(lambda: ("release", "1", 190, 170) in [e[:4] for e in tk_events(out)], what="release at 190,170")
    injector.apply(EvButton(b=3, down=True, x=5, y=6))
    injector.apply(EvButton(b=3, down=False, x=5, y=6))
    wait_for(lambda: ("release", "3", 45, 36) in [e[:4] for e in tk_events(out)], what="right click at 45,36")
    kinds = [(e[0], e[1]) for e in tk_events(out)]
    assert kinds[0] == ("press", "1") and kinds.count(("press", "1")) == 1 and kinds.count(("release", "1")) == 1
    assert kinds[-2:] == [("press", "3"), ("release", "3")]
    assert not injector.pressed


def test_button_numbers_outside_the_protocol_are_refused(injector: X11Injector) -> None:
    with pytest.raises(ValueError):
        injector.button(4, True, 0, 0)


def test_wheel_turns_into_buttons_4_and_5(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    out = start_tk_recorder(xdisplay, tmp_path)
    injector.wheel(0, 2, 100, 100)  # two notches down
    injector.apply(EvWheel(dy=-1, x=100, y=100))  # one notch up
    wait_for(lambda: len([e for e in tk_events(out) if e[0] == "release"]) >= 3, what="three wheel clicks")
    presses = [(e[1], e[2], e[3]) for e in tk_events(out) if e[0] == "press"]
    assert presses == [("5", 100, 100), ("5", 100, 100), ("4", 100, 100)]


def test_horizontal_wheel_turns_into_buttons_6_and_7(xdisplay: XDisplay, injector: X11Injector) -> None:
    window = RawWindow(xdisplay, 100, 100, 200, 200)
    try:
        injector.wheel(1, 0, 150, 150)  # one notch right
        injector.wheel(-2, 0, 150, 150)  # two notches left
        assert window.buttons(6) == [("press", 7), ("release", 7)] + [("press", 6), ("release", 6)] * 2
    finally:
        window.close()

"""Keys and text into a real xterm running bash on Xvfb: what the shell
receives is what the rep meant, whatever the layout has (characters missing
from it go through spare keycodes), modifiers work, Caps Lock is respected,
and the keyboard mapping is given back."""

from __future__ import annotations

import secrets
from pathlib import Path

from desklink.agent.inputs import open_injector
from desklink.agent.inputs.x11 import X11Injector
from desklink.testing_x import XDisplay

from ._x import Probe, browser_type, process_running, read_text, start_xterm, wait_for

#: Accents (Latin-1, not on a US layout), € (a legacy keysym), CJK (Unicode
#: keysyms, no glyph in the font: the shell still gets the characters), and
#: ¦ (AltGr+Shift on the 102nd key of Xvfb's pc105 US layout).
UNICODE_TEXT = "héllo wörld ñ € 日本 ¦"


def _focus_xterm(display: XDisplay, injector: X11Injector) -> None:
    x, y, w, h = start_xterm(display, "dl-term")
    injector.move(x + w // 2, y + h // 2)  # no window manager: focus follows the pointer


def _received(out: Path, expected: str) -> None:
    wait_for(lambda: read_text(out) == expected, what=f"{expected!r} in {out.name}, got {read_text(out)!r}")


def test_key_events_type_a_command_that_runs(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    _focus_xterm(xdisplay, injector)
    flag = tmp_path / f"Typed_by-the_REP.{secrets.token_hex(3)}"
    browser_type(injector, f"touch {flag}\n")
    wait_for(flag.exists, what="the file the typed command creates")
    assert not injector.pressed


def test_text_types_unicode_the_layout_lacks(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    _focus_xterm(xdisplay, injector)
    out = tmp_path / "received"
    browser_type(injector, "printf '%s' '")
    injector.text(UNICODE_TEXT)
    browser_type(injector, f"' > {out}\n")
    _received(out, UNICODE_TEXT)
    # text() alone, newline included: the whole command line
    flag = tmp_path / "by_text"
    injector.text(f"touch {flag}\n")
    wait_for(flag.exists, what="the file a text() command creates")


def test_text_with_more_characters_than_spare_keycodes(
    xdisplay: XDisplay, injector: X11Injector, tmp_path: Path
) -> None:
    """Xvfb has 18 empty keycodes; 40 distinct CJK characters make the
    injector lend keycodes again (after a pause for the client to catch up)."""
    _focus_xterm(xdisplay, injector)
    text = "".join(chr(0x4E00 + i) for i in range(40)) + "日本"
    out = tmp_path / "long"
    browser_type(injector, "printf '%s' '")
    injector.text(text)
    browser_type(injector, f"' > {out}\n")
    _received(out, text)


def test_printable_keys_missing_from_the_layout(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    """A rep on another layout presses keys whose characters the visitor's
    US layout lacks (é, ß) or has elsewhere (! without Shift on the rep's
    side: French digits row); the shell gets the characters."""
    _focus_xterm(xdisplay, injector)
    out = tmp_path / "keys"
    browser_type(injector, "printf '%s' '")
    for key, code in (("é", "Digit2"), ("ß", "Minus"), ("!", "Slash"), ("a", "KeyQ")):
        injector.key(key, code, True)
        injector.key(key, code, False)
    injector.key("Unidentified", "KeyZ", True)  # no key value: the code on a US layout
    injector.key("Unidentified", "KeyZ", False)
    injector.key("Dead", "BracketLeft", True)  # dead keys are composed by the rep's browser
    injector.key("Dead", "BracketLeft", False)
    injector.key("Fn", "Fn", True)  # a key name we do not know: nothing
    injector.key("Fn", "Fn", False)
    injector.key("e\u0301", "KeyE", True)  # one key, two code points: typed as text
    injector.key("e\u0301", "KeyE", False)
    browser_type(injector, f"' > {out}\n")
    _received(out, "éß!aze\u0301")


def test_control_c_interrupts_a_running_command(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    _focus_xterm(xdisplay, injector)
    seconds = f"100.{secrets.randbelow(10**6):06d}"
    browser_type(injector, f"sleep {seconds}\n")
    wait_for(lambda: process_running(f"sleep {seconds}"), what="sleep to start")
    injector.key("Control", "ControlLeft", True)
    injector.key("c", "KeyC", True)
    injector.key("c", "KeyC", False)
    injector.key("Control", "ControlLeft", False)
    wait_for(lambda: not process_running(f"sleep {seconds}"), what="sleep to be interrupted")
    flag = tmp_path / "prompt_back"
    browser_type(injector, f"touch {flag}\n")
    wait_for(flag.exists, what="the shell prompt after ^C")


def test_caps_lock_on_the_visitor_side(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    _focus_xterm(xdisplay, injector)
    probe = Probe(xdisplay)
    try:
        injector.key("CapsLock", "CapsLock", True)
        injector.key("CapsLock", "CapsLock", False)
        wait_for(lambda: probe.pointer()[2] & 2, what="Lock on")
        out = tmp_path / "caps"
        injector.text("printf '%s' 'aB")
        injector.key("X", "KeyX", True)  # the rep's browser with Caps Lock on
        injector.key("X", "KeyX", False)
        injector.key("Shift", "ShiftLeft", True)
        injector.key("y", "KeyY", True)  # Shift under Caps Lock: lowercase
        injector.key("y", "KeyY", False)
        injector.key("Shift", "ShiftLeft", False)
        injector.text(f"' > {out}\n")
        _received(out, "aBXy")
        injector.key("CapsLock", "CapsLock", True)
        injector.key("CapsLock", "CapsLock", False)
        wait_for(lambda: not probe.pointer()[2] & 2, what="Lock off")
    finally:
        probe.close()


def test_mapping_changes_by_others_are_picked_up(xdisplay: XDisplay, injector: X11Injector, tmp_path: Path) -> None:
    """The visitor's layout changes (here: F12 now types é): the injector
    re-reads the mapping and uses that key instead of a spare keycode."""
    _focus_xterm(xdisplay, injector)
    probe = Probe(xdisplay)
    try:
        setup = probe.conn.get_setup()
        before = probe.keyboard_mapping()
        per = len(before) // (setup.max_keycode - setup.min_keycode + 1)
        f12 = next(
            setup.min_keycode + i for i in range(len(before) // per) if before[i * per] == 0xFFC9
        )
        probe.conn.core.ChangeKeyboardMapping(1, f12, 2, [0xE9, 0xC9])
        changed = probe.keyboard_mapping()  # a round trip: the injector has its MappingNotify now
        out = tmp_path / "remapped"
        browser_type(injector, "printf '%s' '")
        injector.key("é", "Digit2", True)
        injector.key("é", "Digit2", False)
        browser_type(injector, f"' > {out}\n")
        _received(out, "é")
        assert probe.keyboard_mapping() == changed  # no spare keycode was needed
    finally:
        probe.close()


def test_close_gives_spare_keycodes_back(xdisplay: XDisplay) -> None:
    probe = Probe(xdisplay)
    try:
        before = probe.keyboard_mapping()
        injector = open_injector(xdisplay.name)
        injector.text("€日本")
        wait_for(lambda: probe.keyboard_mapping() != before, what="spare keycodes in use")
        injector.close()
        wait_for(lambda: probe.keyboard_mapping() == before, what="the original mapping")
        injector.close()  # twice is fine
    finally:
        probe.close()

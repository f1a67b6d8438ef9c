"""Choosing a backend, and the DOM-to-keysym tables (pure)."""

from __future__ import annotations

import sys

import pytest

from desklink.agent.inputs import Held, Injector, InputError, open_injector, open_local_input
from desklink.agent.inputs.keysyms import (
    DOM_KEYSYMS,
    char_to_keysym,
    keysym_for,
    keysym_to_char,
)


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(InputError, match="DISPLAY"):
        open_injector()


def test_a_display_that_does_not_answer_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="cannot open X display"):
        open_injector(":987")


def test_platforms_without_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(InputError, match="not supported on win32"):
        open_injector()


class _Nothing(Injector):
    def move(self, x: int, y: int) -> None: ...
    def button(self, b: int, down: bool, x: int, y: int) -> None: ...
    def wheel(self, dx: int, dy: int, x: int, y: int) -> None: ...
    def key(self, key: str, code: str, down: bool) -> None: ...
    def text(self, text: str) -> None: ...
    def release_all(self) -> None: ...
    def close(self) -> None: ...

    @property
    def pressed(self) -> Held:
        return Held()


def test_local_input_needs_a_known_injector() -> None:
    with pytest.raises(InputError, match="_Nothing"):
        open_local_input(_Nothing())


def test_characters_to_keysyms() -> None:
    assert char_to_keysym("a") == 0x61
    assert char_to_keysym("é") == 0xE9  # Latin-1: the code point
    assert char_to_keysym("€") == 0x20AC  # legacy EuroSign
    assert char_to_keysym("ж") == 0x6D6  # legacy Cyrillic_zhe
    assert char_to_keysym("日") == 0x1000000 + 0x65E5  # no legacy keysym: Unicode
    for ch in "aé€ж日¦\u0301":
        assert keysym_to_char(char_to_keysym(ch)) == ch
    assert keysym_to_char(0xFF0D) is None  # Return types no character here


def test_dom_keys_to_keysyms() -> None:
    assert keysym_for("Enter", "NumpadEnter") == (0xFF0D, None)
    assert keysym_for("Shift", "ShiftLeft") == (0xFFE1, None)
    assert keysym_for("Shift", "ShiftRight") == (0xFFE2, None)
    assert keysym_for("Control", "ControlRight") == (0xFFE4, None)
    assert keysym_for("Meta", "MetaLeft") == (0xFFEB, None)  # Super_L
    assert keysym_for("AltGraph", "AltRight") == (0xFE03, None)  # ISO_Level3_Shift
    assert keysym_for("F1", "F1") == (0xFFBE, None)
    assert keysym_for("F24", "F24") == (0xFFD5, None)
    assert keysym_for(" ", "Space") == (0x20, " ")
    assert keysym_for("A", "KeyA") == (0x41, "A")
    assert keysym_for("Unidentified", "KeyQ") == (0x71, "q")
    assert keysym_for("Compose", "") == (0xFF20, None)  # Multi_key
    for ignored in ("Dead", "Process", "NoSuchKey", "Fn"):
        assert keysym_for(ignored, "KeyE") is None
    assert keysym_for("Unidentified", "NoSuchCode") is None
    assert {"ArrowLeft", "PageDown", "Escape", "Backspace", "Delete", "Insert", "Home", "End", "Tab"} <= set(DOM_KEYSYMS)

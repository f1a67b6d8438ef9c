"""From what a browser reports to what X11 understands: DOM key names and
characters to keysyms, and back.

A viewer sends DOM ``KeyboardEvent.key`` (what the key *means* on the rep's
layout: ``"a"``, ``"A"``, ``"é"``, ``"Enter"``, ``"Shift"``) and ``.code``
(where the key *is*: ``"KeyA"``, ``"ShiftRight"``). We inject by meaning
(the keysym the rep wanted), not by position, so a rep on a French layout
helping a visitor on a German one types the characters they see on their
keycaps; the injector then finds those keysyms on the visitor's layout.
``code`` only picks the side of a modifier (``ShiftRight`` -> ``Shift_R``)
and stands in when ``key`` is ``"Unidentified"`` (a US layout is assumed
then).

Characters map to keysyms the X way: Latin-1 keysyms equal their code point,
a legacy keysym is used when X has one (``€`` -> ``EuroSign``, Cyrillic,
Greek, ...), and any other character becomes the Unicode keysym
``0x1000000 + code point``.

Limits: keys the browser swallows (``"Dead"`` for a dead key, ``"Process"``
while an IME composes) are ignored on purpose: the composed character
arrives later as its own key or as ``text``. Media and browser keys map to
the XF86 keysyms most layouts carry; a key name not listed here is ignored.
"""

from __future__ import annotations

from typing import Final

from desklink.agent.inputs._keysym_data import LEGACY_KEYSYMS

__all__ = [
    "DOM_KEYSYMS",
    "PAUSE",
    "US_CODE_CHARS",
    "char_to_keysym",
    "keysym_for",
    "keysym_to_char",
]

UNICODE_OFFSET: Final = 0x1000000
PAUSE: Final = 0xFF13
SHIFT_L: Final = 0xFFE1
SHIFT_R: Final = 0xFFE2
ISO_LEVEL3_SHIFT: Final = 0xFE03
RETURN: Final = 0xFF0D
TAB: Final = 0xFF09
BACKSPACE: Final = 0xFF08

#: DOM named key values -> X keysyms (the left-hand one for modifiers).
DOM_KEYSYMS: Final[dict[str, int]] = {
    # editing and navigation
    "Enter": RETURN, "Tab": TAB, "Backspace": BACKSPACE, "Escape": 0xFF1B,
    "Delete": 0xFFFF, "Insert": 0xFF63, "Home": 0xFF50, "End": 0xFF57,
    "PageUp": 0xFF55, "PageDown": 0xFF56, "ArrowLeft": 0xFF51, "ArrowUp": 0xFF52,
    "ArrowRight": 0xFF53, "ArrowDown": 0xFF54, "Clear": 0xFF0B,
    "Pause": PAUSE, "PrintScreen": 0xFF61, "ContextMenu": 0xFF67, "Help": 0xFF6A,
    "Cancel": 0xFF69, "Select": 0xFF60, "Execute": 0xFF62, "Find": 0xFF68,
    "Undo": 0xFF65, "Redo": 0xFF66, "Again": 0xFF66, "Compose": 0xFF20,
    # modifiers and locks
    "Shift": SHIFT_L, "Control": 0xFFE3, "Alt": 0xFFE9, "Meta": 0xFFEB,
    "Super": 0xFFEB, "OS": 0xFFEB, "Hyper": 0xFFED, "AltGraph": ISO_LEVEL3_SHIFT,
    "CapsLock": 0xFFE5, "NumLock": 0xFF7F, "ScrollLock": 0xFF14,
    # input method keys
    "Convert": 0xFF23, "NonConvert": 0xFF22, "KanaMode": 0xFF2D,
    "HiraganaKatakana": 0xFF27, "ZenkakuHankaku": 0xFF2A, "Eisu": 0xFF2F,
    "HangulMode": 0xFF31, "HanjaMode": 0xFF34,
    # media, browser and system keys (XF86 keysyms)
    "AudioVolumeDown": 0x1008FF11, "AudioVolumeMute": 0x1008FF12, "AudioVolumeUp": 0x1008FF13,
    "MediaPlayPause": 0x1008FF14, "MediaStop": 0x1008FF15, "MediaTrackPrevious": 0x1008FF16,
    "MediaTrackNext": 0x1008FF17, "BrowserHome": 0x1008FF18, "LaunchMail": 0x1008FF19,
    "BrowserSearch": 0x1008FF1B, "LaunchApplication2": 0x1008FF1D, "BrowserBack": 0x1008FF26,
    "BrowserForward": 0x1008FF27, "BrowserStop": 0x1008FF28, "BrowserRefresh": 0x1008FF29,
    "Power": 0x1008FF2A, "WakeUp": 0x1008FF2B, "Eject": 0x1008FF2C, "Sleep": 0x1008FF2F,
    "BrowserFavorites": 0x1008FF30, "LaunchApplication1": 0x1008FF33,
    # old (pre-standard) names some browsers still send
    "Esc": 0xFF1B, "Del": 0xFFFF, "Left": 0xFF51, "Up": 0xFF52, "Right": 0xFF53,
    "Down": 0xFF54, "Apps": 0xFF67, "Win": 0xFFEB, "Scroll": 0xFF14, "Spacebar": 0x20,
    **{f"F{n}": 0xFFBE + n - 1 for n in range(1, 36)},  # F1 0xffbe .. F35 0xffe0
}

#: Right-hand modifiers, picked by DOM ``code``.
_RIGHT_MODIFIERS: Final[dict[str, int]] = {
    "ShiftRight": SHIFT_R, "ControlRight": 0xFFE4, "AltRight": 0xFFEA,
    "MetaRight": 0xFFEC, "OSRight": 0xFFEC,
}

#: DOM ``code`` -> the character that key gives on a US layout, unshifted;
#: used only when ``key`` is ``"Unidentified"``.
US_CODE_CHARS: Final[dict[str, str]] = {
    **{f"Key{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{f"Digit{d}": d for d in "0123456789"},
    **{f"Numpad{d}": d for d in "0123456789"},
    "Minus": "-", "Equal": "=", "BracketLeft": "[", "BracketRight": "]",
    "Backslash": "\\", "Semicolon": ";", "Quote": "'", "Backquote": "`",
    "Comma": ",", "Period": ".", "Slash": "/", "IntlBackslash": "<", "Space": " ",
    "NumpadAdd": "+", "NumpadSubtract": "-", "NumpadMultiply": "*",
    "NumpadDivide": "/", "NumpadDecimal": ".",
}


def char_to_keysym(ch: str) -> int:
    """The keysym X uses for one character (a single code point)."""
    cp = ord(ch)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    legacy = _LEGACY_BY_CHAR.get(cp)
    if legacy is not None:
        return legacy
    return UNICODE_OFFSET + cp


def keysym_to_char(keysym: int) -> str | None:
    """The character a keysym types, or None for function keys, modifiers
    and keysyms with no character."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if UNICODE_OFFSET + 0x20 <= keysym <= UNICODE_OFFSET + 0x10FFFF:
        return chr(keysym - UNICODE_OFFSET)
    cp = LEGACY_KEYSYMS.get(keysym)
    return None if cp is None else chr(cp)


def keysym_for(key: str, code: str) -> tuple[int, str | None] | None:
    """Resolve a DOM ``key``/``code`` pair: ``(keysym, char)`` where ``char``
    is the printable character (None for named keys), or None when the
    event has nothing to press (``"Dead"``, ``"Process"``, a name not in
    :data:`DOM_KEYSYMS`, ``"Unidentified"`` with an unknown ``code``).

    A ``key`` of several code points that is not a key name (some layouts
    type ligatures or emoji sequences with one key) resolves to None too; the
    injector types such values as text instead, if they are not ASCII (an
    ASCII word is a key name we do not know, such as ``"Fn"``).
    """
    if len(key) == 1:
        return (char_to_keysym(key), key) if ord(key) >= 0x20 and key != "\x7f" else None
    named = DOM_KEYSYMS.get(key)
    if named is not None:
        right = _RIGHT_MODIFIERS.get(code)
        if right is not None and named in (SHIFT_L, 0xFFE3, 0xFFE9, 0xFFEB):
            return right, None
        return named, None
    if key == "Unidentified":
        ch = US_CODE_CHARS.get(code)
        if ch is not None:
            return char_to_keysym(ch), ch
    return None


_LEGACY_BY_CHAR: Final[dict[int, int]] = {}
for _ks, _cp in sorted(LEGACY_KEYSYMS.items()):
    _LEGACY_BY_CHAR.setdefault(_cp, _ks)

"""The visitor's X11 keyboard mapping as the injector needs it, and the
spare keycodes it lends to keysyms the layout lacks.

Why the core mapping and not XKB: every X server answers
``GetKeyboardMapping``, and on XKB servers its columns are laid out
predictably: per keycode ``G1L1 G1L2 G2L1 G2L2 G1L3 G1L4 ...``, so column 0
is plain, 1 Shift, 4 AltGr (ISO_Level3_Shift), 5 AltGr+Shift. We use group 1
only (columns 0, 1, 4, 5); a character that lives only in another group
goes through a spare keycode instead.

Spare keycodes ("scratch keys") follow xdotool: a keycode with no keysym at
all is remapped with ``ChangeKeyboardMapping`` to ``[keysym, keysym]``,
pressed, and later given back its original (empty) row. Unlike xdotool we
do not restore right after the release: X clients fetch the new mapping
when they *process* the ``MappingNotify``, which may be after we restored,
and then they see nothing. So a lent keycode keeps its keysym until it has
been idle for :data:`SCRATCH_RESTORE_S`, and a keycode is lent to another
keysym only :data:`SCRATCH_REUSE_S` after its last use (waiting if it must).

Limits: an X server without empty keycodes gets no scratch keys (characters
missing from the layout are then dropped, with a log line); a remapped
lowercase letter comes out uppercase while the visitor's Caps Lock is on
(X applies Lock to one-level keys).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from desklink.agent.inputs.keysyms import ISO_LEVEL3_SHIFT, PAUSE, SHIFT_L, SHIFT_R, keysym_to_char

__all__ = ["SCRATCH_RESTORE_S", "SCRATCH_REUSE_S", "Keymap", "ScratchKeys"]

log = logging.getLogger(__name__)

#: A lent keycode idle this long gets its original mapping back.
SCRATCH_RESTORE_S: Final = 2.0
#: A lent keycode is lent to another keysym no sooner than this after its
#: last press, so the client has processed that press with the old mapping.
SCRATCH_REUSE_S: Final = 0.1
#: Columns of the core mapping we can reach: (column, needs Shift, needs AltGr).
_COLUMNS: Final = ((0, False, False), (1, True, False), (4, False, True), (5, True, True))
#: Keycode 8 is the lowest X allows and some servers treat it specially.
_LOWEST_SCRATCH: Final = 9


@dataclass(frozen=True, slots=True)
class Place:
    """Where a keysym is: press ``keycode`` with Shift and/or AltGr."""

    keycode: int
    shift: bool
    altgr: bool
    cased: bool  # a letter whose Shift level is its uppercase: Caps Lock flips it


class Keymap:
    """A snapshot of the core keyboard mapping and modifier mapping."""

    def __init__(self, first: int, per: int, keysyms: list[int], modifiers: list[list[int]], reserved: Iterable[int] = ()) -> None:
        self.first, self.per = first, per
        self._keysyms = keysyms
        self.count = len(keysyms) // per if per else 0
        self.modifiers = modifiers  # eight lists of keycodes: Shift, Lock, Control, Mod1..Mod5
        skip = set(reserved)
        self._places: dict[int, Place] = {}
        for column, shift, altgr in _COLUMNS:
            if column >= per:
                continue
            for kc in range(first, first + self.count):
                ks = keysyms[(kc - first) * per + column]
                if ks and kc not in skip and ks not in self._places:
                    self._places[ks] = Place(kc, shift, altgr, column <= 1 and self._is_cased(kc))
        on_modifier = {kc for row in modifiers for kc in row if kc}
        self.shift_keycode = self._first_on(SHIFT_L, on_modifier) or self._first_on(SHIFT_R, on_modifier)
        self.altgr_keycode = self._first_on(ISO_LEVEL3_SHIFT, on_modifier)
        self.pause_keycodes = tuple(self.keycodes_of(PAUSE))

    @classmethod
    def fetch(cls, conn: Any, reserved: Iterable[int] = ()) -> Keymap:
        """Read the mapping from the server (two pipelined requests)."""
        setup = conn.get_setup()
        first, last = setup.min_keycode, setup.max_keycode
        kb_cookie = conn.core.GetKeyboardMapping(first, last - first + 1)
        mod_cookie = conn.core.GetModifierMapping()
        kb, mods = kb_cookie.reply(), mod_cookie.reply()
        per_mod = mods.keycodes_per_modifier
        flat = list(mods.keycodes)
        modifiers = [flat[i * per_mod : (i + 1) * per_mod] for i in range(8)]
        return cls(first, kb.keysyms_per_keycode, list(kb.keysyms), modifiers, reserved)

    def row(self, keycode: int) -> list[int]:
        """The keysyms of one keycode, all columns."""
        i = (keycode - self.first) * self.per
        return self._keysyms[i : i + self.per]

    def find(self, keysym: int) -> Place | None:
        """Where ``keysym`` is reachable with Shift/AltGr, or None."""
        place = self._places.get(keysym)
        if place is None:
            return None
        if (place.altgr and self.altgr_keycode is None) or (place.shift and self.shift_keycode is None):
            return None  # unreachable without that modifier: a spare keycode will do
        return place

    def keycodes_of(self, keysym: int) -> list[int]:
        """Every keycode whose plain (column 0) keysym is ``keysym``."""
        return [kc for kc in range(self.first, self.first + self.count) if self.row(kc)[:1] == [keysym]]

    def is_modifier(self, keycode: int) -> bool:
        return any(keycode in row for row in self.modifiers)

    def empty_keycodes(self) -> list[int]:
        """Keycodes with no keysym at all, highest first (as xdotool picks)."""
        return [
            kc
            for kc in range(self.first + self.count - 1, max(self.first, _LOWEST_SCRATCH) - 1, -1)
            if not any(self.row(kc))
        ]

    def _is_cased(self, keycode: int) -> bool:
        row = self.row(keycode)
        if len(row) < 2 or not row[0] or not row[1] or row[0] == row[1]:
            return False
        lower, upper = keysym_to_char(row[0]), keysym_to_char(row[1])
        return lower is not None and upper is not None and lower != upper and lower.upper() == upper

    def _first_on(self, keysym: int, on_modifier: set[int]) -> int | None:
        for kc in self.keycodes_of(keysym):
            if kc in on_modifier:
                return kc
        return None


class ScratchKeys:
    """Spare keycodes lent to keysyms, least recently used first.

    ``conn`` requests are only queued here; the caller flushes."""

    def __init__(self, conn: Any, keycodes: list[int], per: int, originals: dict[int, list[int]]) -> None:
        self._conn = conn
        self.keycodes = tuple(keycodes)
        self._per = per
        self._originals = originals
        self._keysym_of: dict[int, int] = {}  # keycode -> lent keysym
        self._keycode_of: dict[int, int] = {}  # keysym -> keycode
        self._used: dict[int, float] = {kc: 0.0 for kc in keycodes}  # keycode -> last use

    def __len__(self) -> int:
        return len(self.keycodes)

    def owns(self, first: int, count: int) -> bool:
        """Is the keycode range of a MappingNotify wholly ours?"""
        return bool(self.keycodes) and all(kc in self._used for kc in range(first, first + count))

    def lend(self, keysym: int, busy: set[int]) -> int | None:
        """A keycode that types ``keysym`` (mapping one if needed), never one
        in ``busy`` (held down). None when every spare keycode is busy."""
        now = time.monotonic()
        kc = self._keycode_of.get(keysym)
        if kc is not None:
            self._used[kc] = now
            return kc
        free = [k for k in self.keycodes if k not in busy]
        if not free:
            return None
        unlent = [k for k in free if k not in self._keysym_of]
        kc = unlent[0] if unlent else min(free, key=self._used.__getitem__)
        wait = self._used[kc] + SCRATCH_REUSE_S - now
        if wait > 0:  # this keycode was typed a moment ago: let clients catch up
            self._conn.flush()
            time.sleep(wait)
        old = self._keysym_of.pop(kc, None)
        if old is not None:
            del self._keycode_of[old]
        self._conn.core.ChangeKeyboardMapping(1, kc, 2, [keysym, keysym])
        self._keysym_of[kc], self._keycode_of[keysym] = keysym, kc
        self._used[kc] = time.monotonic()
        return kc

    def touch(self, keycode: int) -> None:
        if keycode in self._used:
            self._used[keycode] = time.monotonic()

    def restore_idle(self, busy: set[int], *, idle_s: float = SCRATCH_RESTORE_S) -> int:
        """Give lent keycodes idle for ``idle_s`` (and not in ``busy``) their
        original mapping back; returns how many."""
        if not self._keysym_of:
            return 0
        now = time.monotonic()
        done = 0
        for kc in list(self._keysym_of):
            if kc not in busy and now - self._used[kc] >= idle_s:
                original = self._originals.get(kc) or [0] * self._per
                self._conn.core.ChangeKeyboardMapping(1, kc, len(original), original)
                del self._keycode_of[self._keysym_of.pop(kc)]
                done += 1
        return done

    @property
    def lent(self) -> dict[int, int]:
        """keycode -> keysym for every keycode currently lent."""
        return dict(self._keysym_of)

"""The input port: inject the rep's mouse and keyboard, and notice the
visitor's own.

Two halves, one per direction of "who is in charge":

* :class:`Injector` turns the protocol's input events (``EvMove``,
  ``EvButton``, ``EvWheel``, ``EvKey``, ``EvText``, ``EvRelease``) into
  synthetic input on the visitor's desktop. Event coordinates are pixels of
  the shared monitor; :meth:`Injector.set_origin` says where that monitor
  sits on the virtual desktop. Keys come as DOM ``key`` (meaning) and
  ``code`` (position); backends inject the *meaning* on the visitor's layout
  (see :mod:`desklink.agent.inputs.keysyms`).
* :class:`LocalInput` watches the visitor's own mouse and keyboard, so the
  agent can pause remote input while the visitor uses theirs
  (``local_input_pause_s``) and hand control back on the hotkey (Pause).

The "no key may stay stuck down" rule lives here as bookkeeping every
backend keeps: an injector knows what it pressed and has not released
(:attr:`Injector.pressed`), ignores a release of anything it does not hold,
and :meth:`Injector.release_all` lets go of everything. The agent calls it
when control ends, on disconnect, and on the viewer's ``release`` event.

Neither class is safe to share between threads unless the backend says so;
the X11 backend is (one lock per injector, shared with its LocalInput).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from desklink.errors import InputError
from desklink.protocol.messages import EvButton, EvKey, EvMove, EvRelease, EvText, EvWheel, InputEvent

__all__ = ["BUTTONS", "Held", "Injector", "InputError", "LocalInput"]

#: Protocol button numbers: 1 left, 2 middle, 3 right (X11 numbering too).
BUTTONS = frozenset({1, 2, 3})


@dataclass(frozen=True, slots=True)
class Held:
    """What an injector holds down now. ``keys`` are the ids of the key
    events that pressed them: the DOM ``code``, or the ``key`` when the
    viewer sent no code."""

    keys: frozenset[str] = frozenset()
    buttons: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.keys or self.buttons)


class Injector(ABC):
    """Synthetic mouse and keyboard input on the visitor's desktop."""

    def __init__(self) -> None:
        self._left = 0
        self._top = 0

    def set_origin(self, left: int, top: int) -> None:
        """Where the shared monitor's top-left corner is on the virtual
        desktop; every later coordinate is offset by it."""
        self._left, self._top = int(left), int(top)

    @property
    def origin(self) -> tuple[int, int]:
        return self._left, self._top

    @abstractmethod
    def move(self, x: int, y: int) -> None:
        """Put the pointer at ``(x, y)`` of the shared monitor."""

    @abstractmethod
    def button(self, b: int, down: bool, x: int, y: int) -> None:
        """Move to ``(x, y)``, then press or release button ``b`` (1 left,
        2 middle, 3 right). Releasing a button we do not hold is ignored;
        any other ``b`` raises ``ValueError``."""

    @abstractmethod
    def wheel(self, dx: int, dy: int, x: int, y: int) -> None:
        """Move to ``(x, y)``, then turn the wheel ``dy`` notches (positive:
        down, towards the user) and ``dx`` notches (positive: right)."""

    @abstractmethod
    def key(self, key: str, code: str, down: bool) -> None:
        """Press or release a key given as DOM ``key`` and ``code``.

        A printable ``key`` gets the Shift/AltGr its character needs on the
        visitor's layout for the duration of the press (or a spare key when
        the layout lacks it). Releasing a key we do not hold is ignored; a
        press of a held key is an auto-repeat and presses it again."""

    @abstractmethod
    def text(self, text: str) -> None:
        """Type ``text`` (any Unicode, newlines and tabs included) as
        taps, whatever the visitor's layout offers. Shift and AltGr are set
        per character as the layout needs; other modifiers the rep holds
        (Control, Alt) stay held and apply."""

    @abstractmethod
    def release_all(self) -> None:
        """Release every key and button this injector pressed and has not
        released, keys in reverse order of pressing."""

    @property
    @abstractmethod
    def pressed(self) -> Held:
        """What this injector holds down now."""

    @abstractmethod
    def close(self) -> None:
        """Release everything held, undo any keyboard mapping change, and
        free the platform resources. Safe to call more than once."""

    def apply(self, event: InputEvent) -> None:
        """Inject one protocol input event."""
        match event:
            case EvMove():
                self.move(event.x, event.y)
            case EvButton():
                self.button(event.b, event.down, event.x, event.y)
            case EvWheel():
                self.wheel(event.dx, event.dy, event.x, event.y)
            case EvKey():
                self.key(event.key, event.code, event.down)
            case EvText():
                self.text(event.text)
            case EvRelease():
                self.release_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LocalInput(ABC):
    """The visitor's own mouse and keyboard, as opposed to what the paired
    :class:`Injector` does.

    How a backend tells the two apart is its business (device ids where the
    platform marks injected events; otherwise state: where the injector left
    the pointer and which keys it holds)."""

    @abstractmethod
    def poll(self) -> bool:
        """True when the visitor used the mouse or keyboard since the last
        poll (or is holding a key or button down now), not counting what
        the injector did. The first poll compares with the state at
        construction."""

    @abstractmethod
    def hotkey(self) -> bool:
        """True while the take-back-control hotkey (Pause) is held down
        locally."""

    def close(self) -> None:  # noqa: B027 (optional: most backends hold nothing)
        """Free the platform resources. Safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""The capture port: what the encoder needs from a screen, and nothing more.

A backend hands out whole-monitor pictures as ``H x W x 4`` ``uint8`` arrays
in BGRA order (the native order of X11, Windows and macOS framebuffers, so no
backend has to convert), C-contiguous, freshly allocated on every
:meth:`Capture.grab` so the encoder may keep a reference as its diff
reference without copying. The fourth byte is whatever the platform puts
there (0 or 255 on X11); consumers must not read meaning into it, only keep
it stable between grabs.

:meth:`Capture.monitors` lists the real monitors. With more than one, the
whole virtual desktop is offered as well, as :data:`ALL_MONITORS` (index 0,
mss numbering; :meth:`Capture.combined`): the rep sees every screen at once
and pays for it in bytes (the holes between monitors of different sizes are
pixels nobody sees, though they compress to almost nothing). With one monitor
there is no index 0: it would be the same picture again.

:meth:`Capture.changed` is a hint that lets the agent skip a grab (and the
diff after it) when the platform can say cheaply that nothing was drawn.
``None`` means "cannot tell": grab and diff.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt

from desklink.errors import CaptureError

__all__ = ["ALL_MONITORS", "Capture", "CaptureError", "CursorImage", "Image", "Monitor"]

#: The index of "every monitor at once" (the virtual desktop's bounding box).
ALL_MONITORS = 0

#: What :meth:`Capture.grab` returns: ``H x W x 4`` BGRA ``uint8``, C-contiguous.
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class CursorImage:
    """The pointer: ``rgba`` is w*h*4 bytes, not premultiplied. ``serial``
    changes whenever the shape does."""

    x: int
    y: int
    w: int
    h: int
    hot_x: int
    hot_y: int
    serial: int
    rgba: bytes


@dataclass(frozen=True, slots=True)
class Monitor:
    """One physical monitor in virtual-desktop coordinates.

    ``index`` counts from 1 (mss numbering) and is what :meth:`Capture.select`
    takes; it is stable only as long as the monitor layout is. Index 0
    (:data:`ALL_MONITORS`) is the whole virtual desktop.
    """

    index: int
    left: int
    top: int
    width: int
    height: int
    primary: bool = False


class Capture(ABC):
    """A screen source for one selected monitor. Not safe for concurrent
    use: serialise the calls (one after another from an executor's threads
    is fine; mss locks and XCB connections are thread-safe for that)."""

    @abstractmethod
    def monitors(self) -> list[Monitor]:
        """The real monitors, queried afresh (a few milliseconds at most, so
        call it on demand, not per frame)."""

    def combined(self) -> Monitor | None:
        """Every monitor at once (index :data:`ALL_MONITORS`), as of the last
        :meth:`monitors`; ``None`` with a single monitor or a backend that
        cannot grab the whole desktop."""
        return None

    @abstractmethod
    def select(self, index: int) -> None:
        """Capture monitor ``index`` (1-based; 0 for :meth:`combined`) from
        the next grab on. Raises ``CaptureError`` for an index that does not
        exist."""

    @property
    @abstractmethod
    def selected(self) -> Monitor:
        """The monitor the next :meth:`grab` captures."""

    @abstractmethod
    def grab(self) -> Image:
        """The selected monitor's pixels now. If the layout changed so the
        selected monitor vanished or resized, the backend re-reads the layout
        and returns the new size (falling back to the primary monitor); the
        encoder turns a size change into a key frame."""

    def changed(self) -> bool | None:
        """Has anything been drawn since the last :meth:`grab`? ``True``
        may be a false alarm (the diff finds nothing); ``False`` is reliable;
        ``None``: this backend cannot tell. Before the first grab: ``True``
        (or ``None``)."""
        return None

    def cursor(self) -> CursorImage | None:
        """The pointer's shape and position (screen coordinates), or None when
        the backend cannot tell. Grabs never include the pointer: it travels
        as shape plus position, so moving it costs a few bytes, not pixels."""
        return None

    def cursor_request(self) -> Callable[[], CursorImage | None]:
        """Start asking for :meth:`cursor`; calling the result gives the
        answer. A backend with asynchronous replies sends its request at
        once, so the round trip overlaps whatever runs before the call (the
        agent grabs and encodes a frame meanwhile)."""
        return self.cursor

    @abstractmethod
    def close(self) -> None:
        """Release the platform resources. Safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

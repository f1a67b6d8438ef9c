"""Generic capture through mss: Windows (GDI/DXGI), macOS (CoreGraphics) and
X11 (XShmGetImage over XCB, falling back to XGetImage).

mss copies each grab into a fresh ``bytearray``, which we wrap without a
second copy. It cannot tell whether anything changed, so :meth:`changed`
answers ``None`` and the agent grabs and diffs every tick (a 1080p grab is
about 0.7-1.8 ms under Xvfb with MIT-SHM; more on real GPUs and macOS).

Limits: mss caches the monitor layout, so a resolution change is noticed
only when a grab fails (the selected area no longer fits) or when
:meth:`monitors` is called; the agent should call :meth:`monitors` every few
seconds when the backend gives no better signal (:class:`X11Capture` does).
"""

from __future__ import annotations

import sys
from typing import Any

import mss
import numpy as np
from mss.exception import ScreenShotError

from desklink.errors import CaptureError
from desklink.agent.capture.base import ALL_MONITORS, Capture, Image, Monitor

__all__ = ["MssCapture"]


class MssCapture(Capture):
    """Capture one monitor through mss. ``display`` (an X11 display name) is
    honoured on Linux only; elsewhere it must be ``None``."""

    def __init__(self, display: str | None = None) -> None:
        if display is not None and not sys.platform.startswith("linux"):
            raise CaptureError("a display name is only meaningful on X11")
        self._display = display
        self._sct: mss.MSS | None = None
        self._monitors: list[Monitor] = []
        self._combined: Monitor | None = None
        self._open()
        primary = next((m for m in self._monitors if m.primary), self._monitors[0])
        self._selected = primary

    # -- layout ---------------------------------------------------------

    def _open(self) -> None:
        kwargs: dict[str, Any] = {}
        if self._display is not None:
            kwargs["display"] = self._display
        try:
            self._sct = mss.MSS(**kwargs)
            raw = self._sct.monitors
        except ScreenShotError as exc:
            self._close_sct()
            raise CaptureError(f"cannot open the screen: {exc}") from exc
        monitors = [
            Monitor(i, int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]), bool(m.get("is_primary", False)))
            for i, m in enumerate(raw)
            if i > 0 and m["width"] > 0 and m["height"] > 0
        ]
        if not monitors:
            self._close_sct()
            raise CaptureError("no monitor found")
        self._monitors = monitors
        whole = raw[0]
        self._combined = (
            Monitor(ALL_MONITORS, int(whole["left"]), int(whole["top"]), int(whole["width"]), int(whole["height"]))
            if len(monitors) > 1 else None
        )

    def _close_sct(self) -> None:
        if self._sct is not None:
            self._sct.close()
            self._sct = None

    def _reload(self) -> None:
        """Re-read the layout (mss caches it); keep the selected index when it
        still exists, else fall back to the primary monitor."""
        self._close_sct()
        self._open()
        by_index = {m.index: m for m in self._monitors}
        if self._combined is not None:
            by_index[ALL_MONITORS] = self._combined
        fallback = next((m for m in self._monitors if m.primary), self._monitors[0])
        self._selected = by_index.get(self._selected.index, fallback)

    def monitors(self) -> list[Monitor]:
        self._check_open()
        self._reload()
        return list(self._monitors)

    def combined(self) -> Monitor | None:
        return self._combined

    def select(self, index: int) -> None:
        self._check_open()
        for m in [*self._monitors, *([self._combined] if self._combined else [])]:
            if m.index == index:
                self._selected = m
                return
        raise CaptureError(f"no monitor {index}; there are {len(self._monitors)}")

    @property
    def selected(self) -> Monitor:
        return self._selected

    # -- pixels ---------------------------------------------------------

    def _check_open(self) -> mss.MSS:
        if self._sct is None:
            raise CaptureError("capture is closed")
        return self._sct

    def grab(self) -> Image:
        sct = self._check_open()
        try:
            return self._grab_once(sct)
        except ScreenShotError:
            # Most likely the layout changed under us: re-read it, retry once.
            self._reload()
            try:
                return self._grab_once(self._check_open())
            except ScreenShotError as exc:
                raise CaptureError(f"screen grab failed: {exc}") from exc

    def _grab_once(self, sct: mss.MSS) -> Image:
        m = self._selected
        shot = sct.grab({"left": m.left, "top": m.top, "width": m.width, "height": m.height})
        # Retina and scaled displays: mss reports the physical size it grabbed.
        return np.frombuffer(shot.raw, np.uint8).reshape(shot.height, shot.width, 4)

    def close(self) -> None:
        self._close_sct()

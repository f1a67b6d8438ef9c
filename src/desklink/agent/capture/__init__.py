"""Screen capture backends behind one port, :class:`Capture`.

:func:`open_capture` picks the backend for the platform: X11 (mss pixels plus
XDamage change hints) when a display is named or ``$DISPLAY`` is set on
Linux, plain mss everywhere else (Windows, macOS). A Wayland session without
XWayland has no capture backend yet: ``CaptureError``.
"""

from __future__ import annotations

import os
import sys

from desklink.errors import CaptureError
from desklink.agent.capture.base import ALL_MONITORS, Capture, Image, Monitor
from desklink.agent.capture.mss_backend import MssCapture
from desklink.agent.capture.x11 import X11Capture

__all__ = ["ALL_MONITORS", "Capture", "CaptureError", "Image", "Monitor", "MssCapture", "X11Capture", "open_capture"]


def open_capture(display: str | None = None) -> Capture:
    """Open the best capture backend for this machine. ``display`` names an
    X11 display (Linux only); ``None`` means ``$DISPLAY``."""
    if sys.platform.startswith("linux"):
        name = display or os.environ.get("DISPLAY")
        if not name:
            raise CaptureError("no X11 display: set DISPLAY (Wayland-only sessions are not supported)")
        return X11Capture(name)
    if display is not None:  # type: ignore[unreachable]  # mypy checks Linux only; this runs elsewhere
        raise CaptureError("a display name is only meaningful on X11")
    return MssCapture()

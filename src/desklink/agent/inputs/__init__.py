"""Input injection backends behind one port, :class:`Injector`, and the
visitor's own input behind :class:`LocalInput` (see :mod:`.base`).

:func:`open_injector` and :func:`open_local_input` pick the backend for the
platform. Only X11 exists today (XTest over xcffib, :mod:`.x11`). The next
backends go beside it, one module each, chosen here by ``sys.platform``:

* ``win32.py``: ``SendInput`` through ctypes (``MOUSEINPUT`` with
  ``MOUSEEVENTF_ABSOLUTE | MOUSEEVENTF_VIRTUALDESK``, ``KEYBDINPUT`` with
  ``KEYEVENTF_UNICODE`` for text); local input told apart by the
  ``LLMHF_INJECTED``/``LLKHF_INJECTED`` flags of low-level hooks.
* ``quartz.py``: ``CGEventCreateMouseEvent``/``CGEventCreateKeyboardEvent``
  and ``CGEventKeyboardSetUnicodeString`` for text, posted with
  ``CGEventPost``; local input from ``CGEventSourceSecondsSinceLastEventType``
  on the HID state, since our events come from a private source.

A Wayland session without XWayland has no backend yet (it needs the
compositor's remote-desktop portal): :class:`InputError`.
"""

from __future__ import annotations

import os
import sys

from desklink.errors import InputError
from desklink.agent.inputs.base import BUTTONS, Held, Injector, LocalInput

__all__ = ["BUTTONS", "Held", "Injector", "InputError", "LocalInput", "open_injector", "open_local_input"]


def open_injector(display: str | None = None) -> Injector:
    """Open the input injector for this machine. ``display`` names an X11
    display (Linux and BSD); ``None`` means ``$DISPLAY``. Raises
    :class:`InputError` when the platform or session has no backend."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        name = display or os.environ.get("DISPLAY")
        if not name:
            raise InputError("no X11 display: set DISPLAY (Wayland-only sessions are not supported yet)")
        from desklink.agent.inputs.x11 import X11Injector

        return X11Injector(name)
    raise InputError(f"input injection is not supported on {sys.platform} yet (X11 only)")


def open_local_input(injector: Injector, display: str | None = None) -> LocalInput:
    """Watch the visitor's own mouse and keyboard next to ``injector``
    (it must come from :func:`open_injector`; the X11 backend shares its
    connection, so ``display`` may only repeat the injector's)."""
    from desklink.agent.inputs.x11 import X11Injector
    from desklink.agent.inputs.x11_local import X11LocalInput

    if isinstance(injector, X11Injector):
        if display is not None and display != injector.display:
            raise InputError(f"the injector is on {injector.display}, not {display}")
        return X11LocalInput(injector)
    raise InputError(f"no local-input backend for {type(injector).__name__} on {sys.platform}")

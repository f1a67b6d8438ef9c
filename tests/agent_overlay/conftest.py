"""One Xvfb for every in-process Tk test of this package.

Tk keeps a display's connection open until the process exits; if that X
server stopped while later tests still ran Tk (on another display), Tk's
event loop would hit the broken connection and end the whole pytest
process. So the Tk tests here share one display that lives until the
package is done."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.testing_x import XDisplay

#: The shared display's size.
W, H = 1024, 768


@pytest.fixture(scope="package")
def tk_display() -> Iterator[XDisplay]:
    with XDisplay(W, H) as x:
        yield x

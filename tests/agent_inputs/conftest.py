"""Fixtures for the input tests: every test gets its own Xvfb (started and
stopped by PID through :class:`desklink.testing_x.XDisplay`) and an
injector on it, closed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.agent.inputs import open_injector
from desklink.agent.inputs.x11 import X11Injector
from desklink.testing_x import XDisplay


@pytest.fixture
def xdisplay() -> Iterator[XDisplay]:
    with XDisplay(1024, 768) as display:
        yield display


@pytest.fixture
def injector(xdisplay: XDisplay) -> Iterator[X11Injector]:
    inj = open_injector(xdisplay.name)
    assert isinstance(inj, X11Injector)
    yield inj
    inj.close()

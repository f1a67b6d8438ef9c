"""Integration tests run against a real ``desklink serve`` process on
loopback (the ``server`` and ``admin`` fixtures in tests/conftest.py), with
real WebSocket and HTTP clients (see desklink.testing)."""

from __future__ import annotations

import pytest

_counter = iter(range(10**6))


@pytest.fixture
def unique() -> str:
    """A short name unique within the module's server."""
    return f"t{next(_counter)}"

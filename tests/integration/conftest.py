"""A real ``desklink serve`` process on loopback per test module, with real
WebSocket and HTTP clients (see desklink.testing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.testing import AdminAPI, ServerProcess


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    # Every test client comes from 127.0.0.1: lift the per-IP request limit
    # here; tests/integration/test_limits.py runs its own server to test it.
    with ServerProcess(env={"DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "100000"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[AdminAPI]:
    api = AdminAPI(server)
    yield api
    api.close()


_counter = iter(range(10**6))


@pytest.fixture
def unique() -> str:
    """A short name unique within the module's server."""
    return f"t{next(_counter)}"

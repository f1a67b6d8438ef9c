"""The broker contract runs on both backends through one harness.

``Backend`` hides the one real difference between them in tests: how time
passes. The memory broker runs on a fake clock that ``advance`` moves
instantly; the Redis broker runs on the Redis server's clock, so ``advance``
really sleeps (TTLs in these tests are a few tenths of a second).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from desklink.broker import Broker, MemoryBroker, RedisBroker


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Backend:
    kind: str
    prefix: str
    _factory: Callable[[str], Broker]
    clock: FakeClock | None = None
    opened: list[Broker] = field(default_factory=list)

    def open(self, prefix: str | None = None) -> Broker:
        """Another broker on the same backend (closed after the test). On
        Redis it shares the server, so the same prefix sees the same data;
        in memory every broker is its own world."""
        broker = self._factory(self.prefix if prefix is None else prefix)
        self.opened.append(broker)
        return broker

    async def advance(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)


async def delete_prefixed(url: str, prefix: str) -> int:
    """Remove every key under ``prefix`` (SCAN + DEL, never KEYS or FLUSHDB:
    other test runs may share this Redis)."""
    client = Redis.from_url(url)
    try:
        deleted = 0
        async for key in client.scan_iter(match=prefix + "*", count=500):
            deleted += int(await client.delete(key))
        return deleted
    finally:
        await client.aclose()


def make_backend(kind: str, prefix: str, redis_url: str | None) -> Backend:
    if kind == "memory":
        clock = FakeClock()
        return Backend(kind, prefix, lambda p: MemoryBroker(p, clock), clock)
    assert redis_url is not None
    return Backend(kind, prefix, lambda p: RedisBroker(redis_url, p))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_url(request: pytest.FixtureRequest, backend_kind: str) -> str | None:
    """The Redis URL for the ``redis`` runs (failing if Redis is down)."""
    return str(request.getfixturevalue("redis_url")) if backend_kind == "redis" else None


@pytest.fixture
async def backend(backend_kind: str, backend_url: str | None, broker_prefix: str) -> AsyncIterator[Backend]:
    harness = make_backend(backend_kind, broker_prefix + "a:", backend_url)
    try:
        yield harness
    finally:
        for broker in harness.opened:
            await broker.aclose()
        if backend_url is not None:
            await delete_prefixed(backend_url, broker_prefix)


@pytest.fixture
async def broker(backend: Backend) -> Broker:
    return backend.open()


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client for looking behind the broker's back."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()

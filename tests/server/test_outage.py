"""The node's broker watch: one log line per outage, a bounded memory of
channels to heal, recovery by itself (on the in-process broker, which is
always reachable; tests/server/test_hub.py and
tests/integration/test_redis_outage.py crash a real Redis)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from desklink.broker import BrokerUnavailable, MemoryBroker
from desklink.server.outage import MAX_MISSED_CHANNELS, BrokerWatch, keep_beating


async def _until(condition, what: str, deadline: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline} s")
        await asyncio.sleep(0.01)


async def test_an_outage_is_logged_once_and_heals_every_missed_channel(caplog: pytest.LogCaptureFixture) -> None:
    broker = MemoryBroker()
    sub = broker.subscription()
    await sub.subscribe("r:1", "q:1")
    watch = BrokerWatch(broker)
    caplog.set_level(logging.DEBUG, logger="desklink.broker")
    for _ in range(100):  # a thousand heartbeats failing, say
        watch.report("rep presence", BrokerUnavailable("connection refused"))
    watch.missed("r:1")
    watch.missed("q:1")
    watch.missed("r:1")
    assert watch.down
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(" (")[0] for r in warnings] == ["broker unreachable"]

    await watch.start()
    try:
        await _until(lambda: not watch.down, "the watch recovers")
        got = {(await sub.get()).channel for _ in range(2)}
        assert got == {"r:1", "q:1"}
        assert watch.statistics() == {"up": 1, "failures": 100, "outages": 1, "missed_channels": 0, "forgotten_channels": 0}
        assert await broker.presence_age() < 5  # a gap was marked
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 2 and warnings[1].startswith("broker reachable again")
        assert "100 calls failed" in warnings[1] and "2 channels" in warnings[1]
    finally:
        await watch.stop()
        await broker.aclose()


def test_missed_channels_are_bounded_oldest_forgotten_first() -> None:
    watch = BrokerWatch(MemoryBroker())
    for i in range(MAX_MISSED_CHANNELS + 5):
        watch.missed(f"r:{i}")
    stats = watch.statistics()
    assert stats["missed_channels"] == MAX_MISSED_CHANNELS and stats["forgotten_channels"] == 5
    assert "r:0" not in watch._missed and f"r:{MAX_MISSED_CHANNELS + 4}" in watch._missed


async def test_a_heartbeat_outlives_failures() -> None:
    broker = MemoryBroker()
    watch = BrokerWatch(broker)
    beats: list[int] = []

    async def beat() -> None:
        beats.append(len(beats))
        if len(beats) <= 3:
            raise BrokerUnavailable("down")
        if len(beats) == 4:
            raise RuntimeError("a bug")

    task = asyncio.create_task(keep_beating(0.001, beat, watch, "test beat"))
    try:
        await _until(lambda: len(beats) >= 8, "the heartbeat keeps beating")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert watch.failures == 3  # the bug is logged, not counted as an outage

"""The node-local hub: join/leave refcounting, surviving a lost subscription,
and news that outlives a Redis crash."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

import pytest

from desklink.broker import MemoryBroker, RedisBroker
from desklink.server.hub import Hub
from desklink.server.outage import RESYNC_NOTE
from desklink.testing_redis import RedisProcess

RESYNC = RESYNC_NOTE.decode()


class Sink:
    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []
        self.arrived = asyncio.Event()
        self.resyncs = 0

    def deliver(self, channel: str, text: str) -> None:
        self.got.append((channel, text))
        self.arrived.set()

    def resync(self) -> None:
        self.resyncs += 1


async def _next(sink: Sink) -> tuple[str, str]:
    await asyncio.wait_for(sink.arrived.wait(), 2)
    sink.arrived.clear()
    return sink.got[-1]


async def test_routes_to_listeners_and_unsubscribes_when_last_leaves() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    await hub.start()
    a, b = Sink(), Sink()
    await hub.join("q:1", a)
    await hub.join("q:1", b)
    assert await broker.publish("q:1", b"Rhello") == 1  # one subscription per node
    assert await _next(a) == ("q:1", "Rhello") and await _next(b) == ("q:1", "Rhello")
    await hub.leave("q:1", a)
    await broker.publish("q:1", b"Ragain")
    assert await _next(b) == ("q:1", "Ragain")
    assert a.got == [("q:1", "Rhello")]
    await hub.leave("q:1", b)
    assert await broker.publish("q:1", b"Rgone") == 0
    assert hub.statistics()["channels"] == 0
    await hub.stop()
    await broker.aclose()


async def test_a_failing_listener_does_not_stop_the_others() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    await hub.start()

    class Broken:
        def deliver(self, channel: str, text: str) -> None:
            raise RuntimeError("socket gone")

    ok = Sink()
    await hub.join("c", Broken())
    await hub.join("c", ok)
    await broker.publish("c", b"Ax")
    assert await _next(ok) == ("c", "Ax")
    await hub.stop()
    await broker.aclose()


async def test_lost_subscription_is_reopened_with_every_channel() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    await hub.start()
    sink = Sink()
    await hub.join("q:1", sink)
    await hub.join("r:abc", sink)
    await hub._sub.aclose()  # what a dropped Redis connection does
    for _ in range(100):
        if hub.statistics()["resubscribed"]:
            break
        await asyncio.sleep(0.01)
    assert hub.statistics()["resubscribed"] == 1
    await broker.publish("r:abc", b"Vback")
    assert await _next(sink) == ("r:abc", "Vback")
    await broker.publish("q:1", b"Ralso")
    assert await _next(sink) == ("q:1", "Ralso")
    await hub.stop()
    await broker.aclose()


async def _until(condition: Callable[[], bool], what: str, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline} s")
        await asyncio.sleep(0.05)


@pytest.mark.redis
async def test_a_redis_crash_loses_no_news_between_two_nodes() -> None:
    """Two hubs (two nodes) on a Redis of their own, which crashes (SIGKILL,
    keys lost) and comes back on the same port."""
    with RedisProcess() as redis:
        brokers = [RedisBroker(redis.url, f"dltest:{secrets.token_hex(4)}:") for _ in range(2)]
        brokers[1].prefix = brokers[0].prefix
        a, b = Hub(brokers[0]), Hub(brokers[1])
        await a.start()
        await b.start()
        here, there, late = Sink(), Sink(), Sink()
        try:
            await a.join("r:1", here)
            await b.join("r:1", there)
            redis.crash()
            await a.publish("r:1", b"Ahello")  # never raises: this node's listeners have it at once
            assert here.got == [("r:1", "Ahello")] and a.watch.down
            await b.join("r:2", late)  # while down, only recorded
            redis.start()
            # Node b's listeners catch up from the store, by its own re-opened
            # subscription or by node a's resync note, whichever comes first.
            await _until(lambda: there.resyncs > 0 or ("r:1", RESYNC) in there.got, "node b told to catch up")
            await _until(lambda: not a.watch.down and b.resubscribed > 0, "both nodes recovered")
            await a.publish("r:2", b"Vafter")  # the channel joined in the dark is subscribed now
            assert await _next(late) == ("r:2", "Vafter")
            assert a.statistics()["local_only"] == 1
        finally:
            for hub in (a, b):
                await hub.stop()
            for broker in brokers:
                await broker.aclose()

"""The node-local hub: join/leave refcounting and surviving a lost subscription."""

from __future__ import annotations

import asyncio

from desklink.broker import MemoryBroker
from desklink.server.hub import Hub


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

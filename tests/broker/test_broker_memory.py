"""What only the in-process broker promises: bounded queues that drop the
oldest message instead of blocking the publisher, expiry by the injected
clock, and memory that stays bounded as entries expire."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.broker import (
    MAX_PENDING_MESSAGES,
    BrokerMessage,
    MemoryBroker,
)
from desklink.broker.memory import PRUNE_INTERVAL


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_full_queue_drops_the_oldest_and_counts_it() -> None:
    broker = MemoryBroker(max_pending=5)
    sub = broker.subscription()
    await sub.subscribe("c")
    for i in range(8):
        assert await broker.publish("c", bytes([i])) == 1  # never blocks, always reaches it
    assert sub.statistics()["dropped"] == 3
    assert sub.statistics()["pending"] == 5
    assert broker.statistics()["dropped"] == 3
    assert broker.statistics()["delivered"] == 8
    assert [(await sub.get()).data[0] for _ in range(5)] == [3, 4, 5, 6, 7]
    assert sub.get_nowait() is None  # type: ignore[attr-defined]
    await broker.aclose()


async def test_default_queue_bound_is_max_pending_messages() -> None:
    broker = MemoryBroker()
    slow, fast = broker.subscription(), broker.subscription()
    await slow.subscribe("c")
    await fast.subscribe("c")
    received = 0
    for i in range(MAX_PENDING_MESSAGES + 2):
        await broker.publish("c", i.to_bytes(4, "big"))
        await fast.get()  # a subscriber that keeps up loses nothing
        received += 1
    assert received == MAX_PENDING_MESSAGES + 2
    assert slow.statistics() == {
        "channels": 1,
        "pending": MAX_PENDING_MESSAGES,
        "max_pending": MAX_PENDING_MESSAGES,
        "delivered": MAX_PENDING_MESSAGES + 2,
        "dropped": 2,
    }
    assert fast.statistics()["dropped"] == 0
    assert int.from_bytes((await slow.get()).data, "big") == 2
    await broker.aclose()


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MemoryBroker(max_pending=0).subscription()


async def test_publish_is_synchronous_fan_out() -> None:
    """publish() never yields to the event loop: every queue has the message
    when it returns, so the hot path costs no task switches."""
    broker = MemoryBroker()
    subs = [broker.subscription() for _ in range(3)]
    for sub in subs:
        await sub.subscribe("c")
    coro = broker.publish("c", b"x")
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value == 3
    assert all(sub.get_nowait() == BrokerMessage("c", b"x") for sub in subs)  # type: ignore[attr-defined]
    await broker.aclose()


async def test_one_message_object_is_shared_by_all_subscriptions() -> None:
    broker = MemoryBroker()
    a, b = broker.subscription(), broker.subscription()
    await a.subscribe("c")
    await b.subscribe("c")
    await broker.publish("c", b"x")
    assert (await a.get()) is (await b.get())
    await broker.aclose()


async def test_channel_table_shrinks_when_unsubscribed() -> None:
    broker = MemoryBroker()
    sub = broker.subscription()
    await sub.subscribe(*(f"session:{i}" for i in range(100)))
    assert broker.statistics()["channels"] == 100
    await sub.unsubscribe(*(f"session:{i}" for i in range(50)))
    assert broker.statistics()["channels"] == 50
    await sub.aclose()
    assert broker.statistics()["channels"] == 0
    assert broker.statistics()["subscriptions"] == 0


async def test_expired_entries_are_pruned_so_memory_stays_bounded() -> None:
    clock = Clock()
    broker = MemoryBroker(clock=clock)
    peak = 0
    for i in range(20 * PRUNE_INTERVAL):
        clock.now += 0.01  # about 100 entries of each kind are live at a time
        await broker.claim(f"claim:{i}", "ann", 1.0)
        await broker.hit(f"ip:{i}", 1.0)
        await broker.presence_set(f"group:{i % 7}", f"rep:{i}", 1.0)
        await broker.directory_put(f"dir:{i % 5}", f"relay:{i}", b"x", 1.0)
        stats = broker.statistics()
        peak = max(peak, stats["keys"])
    assert peak <= 2 * (200 + PRUNE_INTERVAL)
    clock.now += 2
    broker.prune()
    assert broker.statistics()["keys"] == 0
    assert broker.statistics()["presence_groups"] == 0
    assert broker.statistics()["directory_groups"] == 0


async def test_expiry_is_by_the_injected_clock_only() -> None:
    clock = Clock()
    broker = MemoryBroker(clock=clock)
    await broker.claim("k", "ann", 10)
    await broker.presence_set("g", "ann", 10)
    await asyncio.sleep(0.05)  # real time passing changes nothing
    assert await broker.ttl("k") == 10
    clock.now = 9.999
    assert await broker.presence_members("g") == ["ann"]
    clock.now = 10.0
    assert await broker.presence_members("g") == []
    assert await broker.ttl("k") == 0


async def test_hit_on_a_claim_is_refused() -> None:
    broker = MemoryBroker()
    await broker.claim("k", "ann", 10)
    with pytest.raises(TypeError):
        await broker.hit("k", 10)


@settings(max_examples=200, deadline=None)
@given(window=st.floats(0.01, 100), steps=st.lists(st.floats(0, 50), max_size=30))
def test_fixed_window_matches_a_model(window: float, steps: list[float]) -> None:
    """Hits at arbitrary times: the count restarts exactly when ``window``
    has passed since the first hit of the current window."""
    clock = Clock()
    broker = MemoryBroker(clock=clock)

    async def run() -> None:
        started: float | None = None
        count = 0
        for step in steps:
            clock.now += step
            if started is None or clock.now >= started + window:
                started, count = clock.now, 0
            count += 1
            assert await broker.hit("k", window) == count
            assert await broker.ttl("k") == pytest.approx(started + window - clock.now)

    asyncio.run(run())

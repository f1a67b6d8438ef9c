"""Relay nodes announced in the broker (desklink.server.relay_nodes), on
both backends: one node's heartbeat is another node's choice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from desklink.broker import Broker
from desklink.server.relay_nodes import GROUP, RelayDirectory

if TYPE_CHECKING:
    from conftest import Backend


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_announced_nodes_are_listed_and_the_emptiest_chosen(broker: Broker) -> None:
    directory = RelayDirectory(broker, stale_s=5)
    assert await directory.choose() is None
    await directory.announce("relay-b", "http://127.0.0.1:9002", capacity=10, load=4)
    a = await directory.announce("relay-a", "http://127.0.0.1:9001", capacity=10, load=1)
    assert [n.name for n in await directory.nodes()] == ["relay-a", "relay-b"]
    assert await directory.choose() == a
    assert await directory.get("relay-b") is not None and await directory.get("nobody") is None
    a = await directory.announce("relay-a", "http://127.0.0.1:9001", capacity=10, load=9)  # it filled up
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "relay-b"
    await directory.withdraw("relay-b")
    assert await directory.choose() == a


async def test_a_node_that_stops_beating_drops_out(backend: Backend) -> None:
    broker = backend.open()
    directory = RelayDirectory(broker, stale_s=0.4)
    await directory.announce("dead", "http://dead", capacity=10, load=0)
    await directory.announce("busy", "http://busy", capacity=10, load=8)
    await backend.advance(0.25)
    await directory.announce("busy", "http://busy", capacity=10, load=8)
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "dead"
    await backend.advance(0.25)
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "busy"


async def test_an_entry_that_lingers_with_an_old_seen_at_is_not_chosen(broker: Broker) -> None:
    wall = Wall()
    directory = RelayDirectory(broker, stale_s=5, clock=wall)
    await directory.announce("a", "http://a", capacity=10, load=0)
    wall.now += 5  # the broker still holds it (its own clock), our clock says stale
    assert await directory.choose() is None


async def test_garbage_in_the_group_is_skipped(broker: Broker) -> None:
    directory = RelayDirectory(broker, stale_s=5)
    await broker.directory_put(GROUP, "junk", b"\x00not an announcement", 5)
    good = await directory.announce("good", "http://good", capacity=1, load=0)
    assert await directory.nodes() == [good]


async def test_heartbeat_renews_with_the_current_load(broker: Broker) -> None:
    directory = RelayDirectory(broker, stale_s=5)
    load = [0]
    stop = asyncio.Event()
    beat = asyncio.create_task(directory.heartbeat("r1", "http://r1", 10, lambda: load[0], 0.01, stop))

    async def has_load(n: int) -> bool:
        node = await directory.get("r1")
        return node is not None and node.load == n

    await until(lambda: has_load(0), "the first heartbeat")
    load[0] = 7
    await until(lambda: has_load(7), "a heartbeat with the new load")
    stop.set()
    await asyncio.wait_for(beat, 10)  # the beat ends by itself once stopped
    await directory.withdraw("r1")  # what a stopping node does after the beat
    assert await directory.nodes() == []


async def test_a_hand_out_counts_once_until_relay_handout_hold_s(backend: Backend) -> None:
    broker = backend.open()
    directory = RelayDirectory(broker, stale_s=60)
    await directory.announce("relay-a", "http://a", capacity=10, load=0)
    await directory.announce("relay-b", "http://b", capacity=10, load=0)
    await directory.reserve("relay-a", "s1", 0.4)
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "relay-b"
    await directory.reserve("relay-a", "s1", 0.4)  # the same session asked again: still one
    await directory.reserve("relay-b", "s2", 0.4)
    assert await directory.reserved() == {"relay-a": 1, "relay-b": 1}
    await backend.advance(0.6)
    assert await directory.reserved() == {}
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "relay-a"


async def test_the_choice_lock_is_taken_in_turn_and_gone_without_after_the_wait(broker: Broker) -> None:
    one, two = RelayDirectory(broker, stale_s=5), RelayDirectory(broker, stale_s=5)
    async with one.choosing(5) as held:
        assert held
        async with two.choosing(0.05) as second:
            assert not second  # another holds it: on without it after relay_choice_wait_s
    async with two.choosing(0.05) as second:
        assert second  # released on leaving the block

    order: list[str] = []

    async def turn(d: RelayDirectory, name: str) -> None:
        async with d.choosing(5) as got:
            assert got
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    await asyncio.gather(turn(one, "one"), turn(two, "two"))
    assert order in (["one in", "one out", "two in", "two out"], ["two in", "two out", "one in", "one out"])

"""What only the Redis broker has to prove: several nodes (broker instances,
each with its own connections) agree, everything lives under the prefix,
and a subscription whose connection dies says so instead of going quiet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from desklink.broker import (
    BrokerClosed,
    BrokerMessage,
    BrokerUnavailable,
    MemoryBroker,
    RedisBroker,
    RedisSubscription,
    Subscription,
    open_broker,
)
from desklink.testing import wait_until
from desklink.testing_redis import RedisProcess

pytestmark = pytest.mark.redis

TIMEOUT = 2.0


@pytest.fixture
async def nodes(redis_url: str, broker_prefix: str) -> AsyncIterator[list[RedisBroker]]:
    """Five brokers on one prefix: five nodes of one deployment."""
    brokers = [RedisBroker(redis_url, broker_prefix) for _ in range(5)]
    try:
        yield brokers
    finally:
        for broker in brokers:
            await broker.aclose()
        client = Redis.from_url(redis_url)
        async for key in client.scan_iter(match=broker_prefix + "*"):
            await client.delete(key)
        await client.aclose()


class Proxy:
    """A TCP relay in front of Redis that can hold back or swallow the
    traffic of pub/sub connections (those that sent SUBSCRIBE), to make the
    races and failures a real network produces happen on demand."""

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.subscribe_delay = 0.0  # hold each SUBSCRIBE this long
        self.frozen = False  # drop all pub/sub traffic, both ways
        self.subscribes_forwarded = 0  # SUBSCRIBE commands passed on to Redis
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
            await asyncio.gather(writer.wait_closed(), return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._target)
        self._writers += [client_w, server_w]
        state = {"pubsub": False}
        for task in (self._pipe(client_r, server_w, state, True), self._pipe(server_r, client_w, state, False)):
            self._tasks.add(asyncio.create_task(task))

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, bool], up: bool) -> None:
        while chunk := await r.read(65536):
            if up and b"SUBSCRIBE" in chunk.upper():
                state["pubsub"] = True
                await asyncio.sleep(self.subscribe_delay)
            if state["pubsub"] and self.frozen:
                continue
            w.write(chunk)
            await w.drain()
            if up and b"SUBSCRIBE" in chunk.upper():
                self.subscribes_forwarded += 1
        w.close()


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[Proxy]:
    relay = Proxy(redis_url)
    try:
        yield relay
    finally:
        await relay.aclose()


def sub_address(sub: Subscription) -> str:
    """host:port of a subscription's connection as Redis sees the client."""
    assert isinstance(sub, RedisSubscription)
    connection = sub._pubsub.connection
    assert connection is not None and connection._writer is not None
    host, port = connection._writer.get_extra_info("sockname")[:2]
    return f"{host}:{port}"


async def test_claim_race_across_nodes(nodes: list[RedisBroker]) -> None:
    owners = [f"rep-{i}" for i in range(100)]
    results = await asyncio.gather(*(nodes[i % 5].claim("request:7", o, 5) for i, o in enumerate(owners)))
    assert len(set(results)) == 1
    (winner,) = set(results)
    assert [o for o, r in zip(owners, results, strict=True) if o == r] == [winner]
    for node in nodes:
        assert await node.claim("request:7", "late", 5) == winner
    loser = next(o for o in owners if o != winner)
    assert await nodes[3].release("request:7", loser) is False
    assert await nodes[4].release("request:7", winner) is True
    assert await nodes[0].claim("request:7", loser, 5) == loser


async def test_counters_and_presence_are_shared_by_nodes(nodes: list[RedisBroker]) -> None:
    results = await asyncio.gather(*(nodes[i % 5].hit("ip:1", 10) for i in range(50)))
    assert sorted(results) == list(range(1, 51))
    for i, node in enumerate(nodes):
        await node.presence_set("reps", f"rep-{i}", 10)
    for node in nodes:
        assert sorted(await node.presence_members("reps")) == [f"rep-{i}" for i in range(5)]


async def test_every_node_gets_the_alert(nodes: list[RedisBroker]) -> None:
    subs = []
    for node in nodes:
        sub = node.subscription()
        await sub.subscribe("queue:1")
        subs.append(sub)
    assert await nodes[2].publish("queue:1", b"new request") == 5
    for sub in subs:
        assert await asyncio.wait_for(sub.get(), TIMEOUT) == BrokerMessage("queue:1", b"new request")


async def test_everything_lives_under_the_prefix(nodes: list[RedisBroker], raw_redis: Redis, broker_prefix: str) -> None:
    broker = nodes[0]
    await broker.claim("request:1", "ann", 10)
    await broker.hit("ip:1", 10)
    await broker.presence_set("reps", "ann", 10)
    assert await raw_redis.get(broker_prefix + "request:1") == b"ann"
    assert await raw_redis.get(broker_prefix + "ip:1") == b"1"
    assert await raw_redis.zrange(broker_prefix + "presence:reps", 0, -1) == [b"ann"]
    sub = broker.subscription()
    await sub.subscribe("alerts")
    assert broker_prefix.encode() + b"alerts" in await raw_redis.pubsub_channels(broker_prefix + "*")
    assert await raw_redis.publish(broker_prefix + "alerts", b"raw") == 1
    assert await raw_redis.publish("alerts", b"unprefixed") == 0
    assert await asyncio.wait_for(sub.get(), TIMEOUT) == BrokerMessage("alerts", b"raw")


async def test_presence_is_scored_by_server_time_and_the_group_expires(
    nodes: list[RedisBroker], raw_redis: Redis, broker_prefix: str
) -> None:
    seconds, micros = await raw_redis.time()
    server_now_ms = seconds * 1000 + micros // 1000
    await nodes[0].presence_set("reps", "ann", 0.3)
    key = broker_prefix + "presence:reps"
    score = await raw_redis.zscore(key, "ann")
    assert server_now_ms + 300 <= score <= server_now_ms + 300 + 1000
    assert 0 < await raw_redis.pttl(key) <= 300
    await asyncio.sleep(0.4)
    assert await raw_redis.exists(key) == 0  # no empty or stale sets left behind


async def test_a_lagging_subscription_drops_the_oldest(redis_url: str, broker_prefix: str) -> None:
    broker = RedisBroker(redis_url, broker_prefix, max_pending=3)
    try:
        sub = broker.subscription()
        await sub.subscribe("c")
        for i in range(10):
            await broker.publish("c", bytes([i]))
        await wait_until(lambda: broker.statistics()["delivered"] >= 10, TIMEOUT, "all ten delivered")
        assert broker.statistics()["dropped"] == 7
        assert sub.statistics()["pending"] == 3
        assert [(await sub.get()).data[0] for _ in range(3)] == [7, 8, 9]
    finally:
        await broker.aclose()


async def test_concurrent_subscribes_are_all_confirmed(nodes: list[RedisBroker]) -> None:
    sub = nodes[0].subscription()
    channels = [f"session:{i}" for i in range(40)]
    await asyncio.gather(*(sub.subscribe(c) for c in channels))
    for c in channels:
        assert await nodes[1].publish(c, c.encode()) == 1
    assert [(await asyncio.wait_for(sub.get(), TIMEOUT)).channel for _ in channels] == channels


async def test_lost_connection_closes_the_subscription(nodes: list[RedisBroker], raw_redis: Redis) -> None:
    sub = nodes[0].subscription()
    await sub.subscribe("c")
    blocked = asyncio.create_task(sub.get())
    await asyncio.sleep(0.02)
    assert await raw_redis.client_kill_filter(_type=None, addr=sub_address(sub)) == 1
    with pytest.raises(BrokerClosed) as closed:
        await asyncio.wait_for(blocked, TIMEOUT)
    assert closed.value.__cause__ is not None
    with pytest.raises(BrokerClosed):
        await sub.subscribe("d")
    fresh = nodes[0].subscription()  # what a node does: open a new one
    await fresh.subscribe("c")
    assert await nodes[1].publish("c", b"again") == 1
    assert await asyncio.wait_for(fresh.get(), TIMEOUT) == BrokerMessage("c", b"again")
    await sub.aclose()


async def test_subscribe_waits_for_the_confirmation(proxy: Proxy, broker_prefix: str) -> None:
    """Even when the SUBSCRIBE is slow to reach Redis, a publish made after
    subscribe() returns is delivered (subscribe waited for Redis's reply)."""
    broker = RedisBroker(await proxy.start(), broker_prefix)
    try:
        assert await broker.ping()
        proxy.subscribe_delay = 0.2
        sub = broker.subscription()
        await sub.subscribe("c")
        # It returned only after the held command reached Redis (and its
        # confirmation came back), not when it was written.
        assert proxy.subscribes_forwarded == 1
        assert await broker.publish("c", b"after") == 1
        assert await asyncio.wait_for(sub.get(), TIMEOUT) == BrokerMessage("c", b"after")
        await sub.subscribe("d")  # again while the reader task is running
        assert proxy.subscribes_forwarded == 2
        assert await broker.publish("d", b"after too") == 1
        assert await asyncio.wait_for(sub.get(), TIMEOUT) == BrokerMessage("d", b"after too")
    finally:
        await broker.aclose()


async def test_unanswered_ping_closes_the_subscription(proxy: Proxy, broker_prefix: str) -> None:
    """A link that goes silent (no reset, no reply) is noticed within two
    ping intervals instead of leaving the node deaf forever."""
    broker = RedisBroker(await proxy.start(), broker_prefix, ping_interval=0.1)
    try:
        sub = broker.subscription()
        await sub.subscribe("c")
        proxy.frozen = True
        with pytest.raises(BrokerClosed) as closed:
            await asyncio.wait_for(sub.get(), TIMEOUT)
        assert isinstance(closed.value.__cause__, ConnectionError)
        assert broker.statistics()["subscriptions"] == 0
    finally:
        await broker.aclose()


async def test_idle_subscription_pings_and_stays_open(redis_url: str, broker_prefix: str, raw_redis: Redis) -> None:
    broker = RedisBroker(redis_url, broker_prefix, ping_interval=0.05)
    try:
        sub = broker.subscription()
        await sub.subscribe("c")
        await asyncio.sleep(0.3)  # several ping intervals with no traffic
        clients = await raw_redis.client_list()
        (mine,) = [c for c in clients if c["addr"] == sub_address(sub)]
        assert mine["cmd"] == "ping"
        assert await broker.publish("c", b"still here") == 1
        assert await asyncio.wait_for(sub.get(), TIMEOUT) == BrokerMessage("c", b"still here")
    finally:
        await broker.aclose()


async def test_ping_is_false_when_redis_is_unreachable() -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0")
    try:
        assert await broker.ping() is False
    finally:
        await broker.aclose()


async def test_every_call_to_an_unreachable_redis_raises_broker_unavailable() -> None:
    """One exception for "the broker did not answer", whatever redis-py
    raised underneath: callers that can do without the broker catch it, and
    adapters answer it as ``unavailable`` (HTTP 503)."""
    broker = RedisBroker("redis://127.0.0.1:1/0")
    calls = [
        broker.publish("c", b"x"),
        broker.presence_set("g", "m", 5),
        broker.presence_remove("g", "m"),
        broker.presence_members("g"),
        broker.presence_age(),
        broker.mark_presence_gap(),
        broker.directory_put("g", "m", b"d", 5),
        broker.directory_remove("g", "m"),
        broker.directory_entries("g"),
        broker.claim("k", "o", 5),
        broker.release("k", "o"),
        broker.hit("k", 5),
        broker.ttl("k"),
        broker.delete("k"),
        broker.subscription().subscribe("c"),
    ]
    try:
        for call in calls:
            with pytest.raises(BrokerUnavailable) as raised:
                await call
            assert raised.value.code == "unavailable" and raised.value.http_status == 503
            assert raised.value.__cause__ is not None
    finally:
        await broker.aclose()


async def test_no_call_fails_on_a_pooled_connection_left_from_before_a_restart(broker_prefix: str) -> None:
    """Redis restarted while the broker's pooled connections were idle: the
    first calls afterwards must get fresh connections, not fail on the dead
    ones (each failure would count as another outage)."""
    with RedisProcess() as redis:
        broker = RedisBroker(redis.url, broker_prefix)
        try:
            await asyncio.gather(*(broker.presence_set("reps", f"rep-{i}", 5) for i in range(10)))  # ten pooled
            redis.crash()
            redis.start()
            await asyncio.gather(*(broker.presence_set("reps", f"rep-{i}", 5) for i in range(10)))
            assert len(await broker.presence_members("reps")) == 10
        finally:
            await broker.aclose()


async def test_presence_age_starts_again_when_redis_lost_its_data(
    nodes: list[RedisBroker], raw_redis: Redis, broker_prefix: str
) -> None:
    """A Redis restart without persistence loses presence and its mark
    alike; the next node to ask sees a fresh start, not a long-kept record."""
    assert await nodes[0].presence_age() == 0  # the first to ask starts the record
    await asyncio.sleep(0.3)
    kept = await nodes[1].presence_age()
    assert kept > 0  # shared by every node
    await raw_redis.delete(broker_prefix + "presence-since")  # what a restart does
    assert await nodes[2].presence_age() == 0
    await asyncio.sleep(0.3)
    again = await nodes[3].presence_age()
    await nodes[3].mark_presence_gap()
    assert await nodes[4].presence_age() < again


async def test_open_broker_picks_the_backend(redis_url: str, broker_prefix: str) -> None:
    memory = open_broker("", broker_prefix)
    redis = open_broker(redis_url, broker_prefix)
    try:
        assert isinstance(memory, MemoryBroker)
        assert isinstance(redis, RedisBroker)
        assert redis.prefix == broker_prefix
        assert await redis.ping() is True
    finally:
        await memory.aclose()
        await redis.aclose()

"""Which relay node holds a session, and the ticket a web node hands out
(desklink.server.relay_handout), on the memory broker with a fake clock:
the owner is kept ``relay_owner_ttl_s`` and a token lasts ``relay_token_ttl_s``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from desklink.broker import MemoryBroker, RedisBroker
from desklink.config import Settings
from desklink.errors import RelayTokenError, Unavailable
from desklink.protocol import relay_token as rt
from desklink.server.relay_handout import owner_of, ticket
from desklink.server.relay_nodes import CHOICE_LOCK, RelayDirectory

SECRET = "k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Ctx:
    """The two things the handout reads from a node's context."""

    settings: Settings
    broker: MemoryBroker


def web_ctx(clock: Clock, **settings: object) -> Ctx:
    s = Settings(role="web", redis_url="redis://unused", relay_secret=SECRET, node_name="web-1", **settings)
    return Ctx(s, MemoryBroker(clock=clock))


async def test_a_session_keeps_its_relay_node_until_relay_owner_ttl_s() -> None:
    clock = Clock()
    ctx = web_ctx(clock, relay_owner_ttl_s=100.0, relay_stale_s=10_000.0, relay_heartbeat_s=1.0)
    directory = RelayDirectory(ctx.broker, stale_s=10_000.0)
    await directory.announce("relay-a", "http://a", capacity=10, load=0)
    await directory.announce("relay-b", "http://b", capacity=10, load=5)
    assert await owner_of(ctx, "s1") == ("relay-a", "http://a")
    await directory.announce("relay-a", "http://a", capacity=10, load=9)  # a is busier now
    clock.now += 99.9
    assert (await owner_of(ctx, "s1"))[0] == "relay-a"
    assert (await owner_of(ctx, "s2"))[0] == "relay-b"
    clock.now += 0.2  # past relay_owner_ttl_s: chosen again, by today's load
    assert (await owner_of(ctx, "s1"))[0] == "relay-b"


async def test_no_alive_relay_or_a_gone_owner_nobody_can_replace_is_unavailable() -> None:
    clock = Clock()
    ctx = web_ctx(clock, relay_stale_s=5.0)
    with pytest.raises(Unavailable):
        await owner_of(ctx, "s1")
    directory = RelayDirectory(ctx.broker, stale_s=5.0)
    await directory.announce("relay-a", "http://a", capacity=10, load=0)
    assert (await owner_of(ctx, "s1"))[0] == "relay-a"
    await directory.withdraw("relay-a")
    await directory.announce("relay-b", "http://b", capacity=1, load=1)  # alive but full
    with pytest.raises(Unavailable, match="gone"):
        await owner_of(ctx, "s1")
    # One that can take it: the session moves there (h/relayclients), held
    # like a first hand-out.
    await directory.announce("relay-b", "http://b", capacity=10, load=0)
    assert (await owner_of(ctx, "s1"))[0] == "relay-b"
    assert await directory.reserved() == {"relay-b": 1}


async def test_web_nodes_racing_to_replace_a_dead_owner_name_one_node() -> None:
    clock = Clock()
    one = web_ctx(clock, relay_stale_s=5.0)
    two = Ctx(Settings(role="web", redis_url="redis://unused", relay_secret=SECRET, node_name="web-2", relay_stale_s=5.0),
              one.broker)
    directory = RelayDirectory(one.broker, stale_s=5.0)
    await directory.announce("relay-a", "http://a", capacity=10, load=0)
    assert (await owner_of(one, "s1"))[0] == "relay-a"
    await directory.withdraw("relay-a")
    await directory.announce("relay-b", "http://b", capacity=10, load=3)
    await directory.announce("relay-c", "http://c", capacity=10, load=3)
    # Each sees the same dead owner; the broker's compare and set lets one win.
    results = await asyncio.gather(*(owner_of(ctx, "s1") for ctx in (one, two, one, two)))
    assert len(set(results)) == 1 and results[0][0] in ("relay-b", "relay-c")


async def test_a_full_deployment_still_names_an_owned_sessions_node() -> None:
    clock = Clock()
    ctx = web_ctx(clock)
    directory = RelayDirectory(ctx.broker, stale_s=ctx.settings.relay_stale_s)
    await directory.announce("relay-a", "http://a", capacity=1, load=0)
    assert (await owner_of(ctx, "s1"))[0] == "relay-a"
    await directory.announce("relay-a", "http://a", capacity=1, load=1)  # full now
    assert (await owner_of(ctx, "s1"))[0] == "relay-a"


async def test_the_ticket_holds_for_relay_token_ttl_s() -> None:
    clock = Clock()
    ctx = web_ctx(clock, relay_token_ttl_s=30.0)
    await RelayDirectory(ctx.broker, stale_s=ctx.settings.relay_stale_s).announce("relay-a", "http://a", 10, 0)
    t = await ticket(ctx, "s1", "viewer", 7)
    assert (t.node, t.url) == ("relay-a", "http://a")
    secret = SECRET.encode()
    grant = rt.verify(t.token, secret, now=time.time() + 29, node="relay-a", role="viewer", session="s1")
    assert (grant.subject, grant.expires) == (7, t.expires)
    with pytest.raises(RelayTokenError) as info:
        rt.verify(t.token, secret, now=time.time() + 31, node="relay-a", role="viewer", session="s1")
    assert info.value.reason == "expired"


async def test_a_single_node_is_its_own_relay() -> None:
    ctx = Ctx(Settings(port=9000), MemoryBroker())
    assert await owner_of(ctx, "s1") == ("127.0.0.1:9000", "http://127.0.0.1:9000")


@pytest.mark.redis
async def test_escalations_at_the_same_moment_on_two_web_nodes_spread_over_the_relays(
    redis_url: str, broker_prefix: str
) -> None:
    """Twelve first asks at once, half on each of two web nodes (each its
    own Redis connection), between two heartbeats of two empty relay nodes:
    each sees the hand-outs before it, so they split six and six instead of
    all reading "both empty" and taking the lower name."""
    settings = Settings(role="web", redis_url=redis_url, relay_secret=SECRET, node_name="web-1")
    brokers = [RedisBroker(redis_url, broker_prefix) for _ in range(2)]
    try:
        directory = RelayDirectory(brokers[0], stale_s=settings.relay_stale_s)
        await directory.announce("relay-a", "http://a", capacity=100, load=0)
        await directory.announce("relay-b", "http://b", capacity=100, load=0)
        ctxs = [Ctx(settings, b) for b in brokers]  # type: ignore[arg-type]
        owners = await asyncio.gather(*(owner_of(ctxs[i % 2], f"s{i}") for i in range(12)))
        assert Counter(name for name, _ in owners) == {"relay-a": 6, "relay-b": 6}
        assert await directory.reserved() == {"relay-a": 6, "relay-b": 6}
        # Asked again (a viewer's ticket after the agent's): the same node, no new hold.
        assert [await owner_of(ctxs[1], f"s{i}") for i in range(12)] == owners
        assert await directory.reserved() == {"relay-a": 6, "relay-b": 6}
    finally:
        for b in brokers:
            await b.aclose()


async def test_a_choice_lock_never_released_delays_a_hand_out_by_relay_choice_wait_s_only() -> None:
    clock = Clock()
    ctx = web_ctx(clock, relay_choice_wait_s=0.05)
    await RelayDirectory(ctx.broker, stale_s=ctx.settings.relay_stale_s).announce("relay-a", "http://a", 10, 0)
    await ctx.broker.claim(CHOICE_LOCK, "a web node that died holding it", 3600)
    assert (await owner_of(ctx, "s1"))[0] == "relay-a"

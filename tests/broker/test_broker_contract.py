"""The broker contract (desklink.broker.base), run against both backends.

Each test runs twice: ``[memory]`` on a fake clock and ``[redis]`` on the
live Redis server (which must be up: see tests/conftest.py). Time-based
tests use TTLs of a few tenths of a second; ``backend.advance`` moves the
fake clock or really sleeps.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desklink.broker import Broker, BrokerClosed, BrokerMessage, MemoryBroker, RedisBroker, Subscription

if TYPE_CHECKING:
    from conftest import Backend

TIMEOUT = 2.0  # longest any single delivery may take before the test fails


async def next_message(subscription: Subscription) -> BrokerMessage:
    return await asyncio.wait_for(subscription.get(), TIMEOUT)


async def subscribed(broker: Broker, *channels: str) -> Subscription:
    subscription = broker.subscription()
    await subscription.subscribe(*channels)
    return subscription


# fan-out --------------------------------------------------------------------


async def test_publish_reaches_subscriber_with_channel_unprefixed(broker: Broker) -> None:
    sub = await subscribed(broker, "alerts")
    assert await broker.publish("alerts", b"\x00payload\xff") == 1
    assert await next_message(sub) == BrokerMessage("alerts", b"\x00payload\xff")


async def test_publish_without_subscribers_reaches_nobody(broker: Broker) -> None:
    assert await broker.publish("nobody-listens", b"x") == 0


async def test_message_published_right_after_subscribe_is_delivered(broker: Broker) -> None:
    """subscribe() returns only once the subscription is live: no warm-up race."""
    sub = broker.subscription()
    for i in range(25):
        channel = f"fresh-{i}"
        await sub.subscribe(channel)
        assert await broker.publish(channel, str(i).encode()) == 1
        assert await next_message(sub) == BrokerMessage(channel, str(i).encode())


async def test_large_subscribe_is_complete_when_it_returns(broker: Broker) -> None:
    """A subscribe of thousands of channels at once is complete (every
    confirmation in) when it returns."""
    channels = [f"bulk:{i}" for i in range(5000)]
    assert await broker.ping()  # a warm connection: the publish goes out at once
    sub = await subscribed(broker, *channels)
    assert await broker.publish(channels[-1], b"last") == 1
    assert await next_message(sub) == BrokerMessage(channels[-1], b"last")


async def test_subscribe_from_another_broker_instance(backend: Backend) -> None:
    """Publisher and subscriber on different instances: the multi-node case
    for Redis. (In memory each instance is a world of its own, so there the
    subscriber's own broker publishes.)"""
    subscriber = backend.open()
    publisher = backend.open() if backend.kind == "redis" else subscriber
    sub = await subscribed(subscriber, "node:1")
    assert await publisher.publish("node:1", b"hello") == 1
    assert await next_message(sub) == BrokerMessage("node:1", b"hello")


async def test_get_waits_for_a_message(broker: Broker) -> None:
    sub = await subscribed(broker, "c")
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await broker.publish("c", b"late")
    assert await asyncio.wait_for(waiter, TIMEOUT) == BrokerMessage("c", b"late")


async def test_unsubscribe_stops_delivery_even_of_queued_messages(broker: Broker) -> None:
    sub = await subscribed(broker, "a", "b")
    assert await broker.publish("a", b"queued before unsubscribe") == 1
    await sub.unsubscribe("a")
    assert await broker.publish("a", b"after") == 0
    assert await broker.publish("b", b"still here") == 1
    assert await next_message(sub) == BrokerMessage("b", b"still here")


async def test_unsubscribe_without_channels_drops_them_all(broker: Broker) -> None:
    sub = await subscribed(broker, "a", "b", "c")
    await sub.unsubscribe()
    assert [await broker.publish(c, b"x") for c in "abc"] == [0, 0, 0]
    await sub.subscribe("d")
    assert await broker.publish("d", b"again") == 1
    assert await next_message(sub) == BrokerMessage("d", b"again")


async def test_resubscribe_after_unsubscribe(broker: Broker) -> None:
    sub = await subscribed(broker, "a")
    await sub.unsubscribe("a")
    await sub.subscribe("a")
    assert await broker.publish("a", b"back") == 1
    assert await next_message(sub) == BrokerMessage("a", b"back")


async def test_channels_do_not_leak_into_each_other(broker: Broker) -> None:
    sub = await subscribed(broker, "mine")
    assert await broker.publish("other", b"not for me") == 0
    assert await broker.publish("mine", b"for me") == 1
    assert await next_message(sub) == BrokerMessage("mine", b"for me")


async def test_every_subscription_gets_a_copy(broker: Broker) -> None:
    subs = [await subscribed(broker, "fanout") for _ in range(12)]
    assert await broker.publish("fanout", b"all") == 12
    for sub in subs:
        assert await next_message(sub) == BrokerMessage("fanout", b"all")


async def test_publish_counts_subscriptions_not_channels(broker: Broker) -> None:
    one = await subscribed(broker, "x", "y")
    two = await subscribed(broker, "y")
    assert await broker.publish("x", b"1") == 1
    assert await broker.publish("y", b"2") == 2
    assert (await next_message(one)).data == b"1"
    assert (await next_message(one)).data == b"2"
    assert (await next_message(two)).data == b"2"


async def test_order_is_kept_within_a_channel(broker: Broker) -> None:
    sub = await subscribed(broker, "ordered")
    for i in range(300):
        await broker.publish("ordered", i.to_bytes(2, "big"))
    received = [int.from_bytes((await next_message(sub)).data, "big") for _ in range(300)]
    assert received == list(range(300))


async def test_prefixes_isolate_deployments(backend: Backend, broker_prefix: str) -> None:
    """Two prefixes on one server share nothing: channels, presence, claims,
    counters."""
    a = backend.open(broker_prefix + "a:")
    b = backend.open(broker_prefix + "b:")
    sub_b = await subscribed(b, "alerts")
    assert await a.publish("alerts", b"for a only") == 0
    await a.presence_set("reps", "ann", 10)
    assert await b.presence_members("reps") == []
    assert await a.claim("req:1", "ann", 10) == "ann"
    assert await b.claim("req:1", "bob", 10) == "bob"
    assert await a.hit("login:ip", 10) == 1
    assert await b.hit("login:ip", 10) == 1
    assert await b.ttl("req:1") > 0
    await a.delete("req:1")
    assert await b.claim("req:1", "carl", 10) == "bob"
    assert await b.publish("alerts", b"for b") == 1
    assert await next_message(sub_b) == BrokerMessage("alerts", b"for b")


async def test_subscription_aclose_makes_get_raise(broker: Broker) -> None:
    sub = await subscribed(broker, "c")
    blocked = asyncio.create_task(sub.get())
    await asyncio.sleep(0.02)
    await sub.aclose()
    with pytest.raises(BrokerClosed):
        await asyncio.wait_for(blocked, TIMEOUT)
    with pytest.raises(BrokerClosed):
        await sub.get()
    with pytest.raises(BrokerClosed):
        await sub.subscribe("d")
    assert await broker.publish("c", b"x") == 0
    await sub.aclose()  # idempotent


async def test_broker_aclose_closes_everything(backend: Backend) -> None:
    broker = backend.open()
    sub = await subscribed(broker, "c")
    never_subscribed = broker.subscription()
    blocked = asyncio.create_task(sub.get())
    await asyncio.sleep(0.02)
    assert await broker.ping() is True
    await broker.aclose()
    with pytest.raises(BrokerClosed):
        await asyncio.wait_for(blocked, TIMEOUT)
    with pytest.raises(BrokerClosed):
        await never_subscribed.get()
    assert await broker.ping() is False
    with pytest.raises(BrokerClosed):
        await broker.publish("c", b"x")
    with pytest.raises(BrokerClosed):
        await broker.claim("k", "o", 1)
    with pytest.raises(BrokerClosed):
        broker.subscription()
    await broker.aclose()  # idempotent


async def test_statistics_count_fanout(broker: Broker) -> None:
    subs = [await subscribed(broker, "s") for _ in range(3)]
    await broker.publish("s", b"1")
    await broker.publish("nobody", b"2")
    for sub in subs:
        await next_message(sub)
    stats = broker.statistics()
    assert stats["published"] == 2
    assert stats["delivered"] == 3
    assert stats["dropped"] == 0
    assert stats["subscriptions"] == 3
    await subs[0].aclose()
    assert broker.statistics()["subscriptions"] == 2


# presence --------------------------------------------------------------------


async def test_presence_lists_live_members(broker: Broker) -> None:
    assert await broker.presence_members("queue:1") == []
    await broker.presence_set("queue:1", "ann", 5)
    await broker.presence_set("queue:1", "bob", 5)
    await broker.presence_set("queue:2", "carl", 5)
    assert sorted(await broker.presence_members("queue:1")) == ["ann", "bob"]
    assert await broker.presence_members("queue:2") == ["carl"]


async def test_presence_expires_unless_renewed(backend: Backend) -> None:
    broker = backend.open()
    await broker.presence_set("reps", "ann", 0.4)
    await broker.presence_set("reps", "bob", 0.4)
    await backend.advance(0.25)
    await broker.presence_set("reps", "bob", 0.4)  # heartbeat
    assert sorted(await broker.presence_members("reps")) == ["ann", "bob"]
    await backend.advance(0.25)
    assert await broker.presence_members("reps") == ["bob"]
    await backend.advance(0.25)
    assert await broker.presence_members("reps") == []


async def test_presence_remove(broker: Broker) -> None:
    await broker.presence_set("reps", "ann", 5)
    await broker.presence_set("reps", "bob", 5)
    await broker.presence_remove("reps", "ann")
    await broker.presence_remove("reps", "nobody")
    await broker.presence_remove("no-such-group", "ann")
    assert await broker.presence_members("reps") == ["bob"]


async def test_presence_with_many_members(broker: Broker) -> None:
    names = [f"rep-{i}" for i in range(200)]
    await asyncio.gather(*(broker.presence_set("big", n, 5) for n in names))
    assert sorted(await broker.presence_members("big")) == sorted(names)


# directory ------------------------------------------------------------------


async def test_directory_lists_live_members_with_their_latest_data(broker: Broker) -> None:
    assert await broker.directory_entries("relays") == {}
    await broker.directory_put("relays", "relay-a", b'{"load": 1}', 5)
    await broker.directory_put("relays", "relay-b", b"\x00\xffbinary", 5)
    await broker.directory_put("other", "relay-c", b"c", 5)
    await broker.directory_put("relays", "relay-a", b'{"load": 2}', 5)  # a heartbeat replaces the data
    assert await broker.directory_entries("relays") == {"relay-a": b'{"load": 2}', "relay-b": b"\x00\xffbinary"}
    assert await broker.directory_entries("other") == {"relay-c": b"c"}


async def test_directory_entries_expire_unless_renewed(backend: Backend) -> None:
    broker = backend.open()
    await broker.directory_put("relays", "a", b"1", 0.4)
    await broker.directory_put("relays", "b", b"1", 0.4)
    await backend.advance(0.25)
    await broker.directory_put("relays", "b", b"2", 0.4)
    assert await broker.directory_entries("relays") == {"a": b"1", "b": b"2"}
    await backend.advance(0.25)
    assert await broker.directory_entries("relays") == {"b": b"2"}
    await backend.advance(0.25)
    assert await broker.directory_entries("relays") == {}
    await broker.directory_put("relays", "a", b"3", 5)  # an expired member comes back with new data only
    assert await broker.directory_entries("relays") == {"a": b"3"}


async def test_directory_remove(broker: Broker) -> None:
    await broker.directory_put("relays", "a", b"1", 5)
    await broker.directory_put("relays", "b", b"2", 5)
    await broker.directory_remove("relays", "a")
    await broker.directory_remove("relays", "nobody")
    await broker.directory_remove("no-such-group", "a")
    assert await broker.directory_entries("relays") == {"b": b"2"}


async def test_directory_is_shared_by_brokers_on_one_backend(backend: Backend) -> None:
    """What one node announces, another reads (on Redis; in memory each
    broker is its own world, so only the announcing broker sees it)."""
    one, two = backend.open(), backend.open()
    await one.directory_put("relays", "a", b"1", 5)
    expected = {"a": b"1"} if backend.kind == "redis" else {}
    assert await two.directory_entries("relays") == expected
    assert await one.directory_entries("relays") == {"a": b"1"}


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan])
async def test_directory_ttl_must_be_positive_and_finite(broker: Broker, bad: float) -> None:
    with pytest.raises(ValueError):
        await broker.directory_put("relays", "a", b"1", bad)


async def test_presence_age_grows_until_a_gap_is_marked(backend: Backend) -> None:
    """The sweeper trusts absence only once presence has been kept a full
    grace period: the age must only grow, and a marked gap restarts it."""
    broker = backend.open()
    first = await broker.presence_age()
    assert first >= 0
    await backend.advance(0.3)
    grown = await broker.presence_age()
    assert grown > first
    await broker.mark_presence_gap()
    restarted = await broker.presence_age()
    assert restarted < grown
    await backend.advance(0.3)
    assert await broker.presence_age() > restarted


# claims ----------------------------------------------------------------------


async def test_claim_race_has_exactly_one_winner(broker: Broker) -> None:
    owners = [f"rep-{i}" for i in range(100)]
    results = await asyncio.gather(*(broker.claim("request:42", o, 5) for o in owners))
    winners = set(results)
    assert len(winners) == 1
    (winner,) = winners
    assert winner in owners
    assert sum(1 for o, r in zip(owners, results, strict=True) if o == r) == 1
    assert await broker.claim("request:42", winner, 5) == winner  # holder asks again
    assert await broker.claim("request:42", "late", 5) == winner


async def test_claim_expires(backend: Backend) -> None:
    broker = backend.open()
    assert await broker.claim("req", "ann", 0.3) == "ann"
    assert 0 < await broker.ttl("req") <= 0.3
    await backend.advance(0.15)
    assert await broker.claim("req", "bob", 0.3) == "ann"
    await backend.advance(0.25)
    assert await broker.ttl("req") == 0
    assert await broker.claim("req", "bob", 0.3) == "bob"


async def test_repeat_claim_by_holder_does_not_extend_it(backend: Backend) -> None:
    broker = backend.open()
    assert await broker.claim("req", "ann", 0.4) == "ann"
    await backend.advance(0.2)
    assert await broker.claim("req", "ann", 0.4) == "ann"
    await backend.advance(0.25)
    assert await broker.claim("req", "bob", 0.4) == "bob"


async def test_release_only_by_owner(broker: Broker) -> None:
    assert await broker.release("req", "ann") is False  # nothing held
    assert await broker.claim("req", "ann", 5) == "ann"
    assert await broker.release("req", "bob") is False
    assert await broker.claim("req", "bob", 5) == "ann"
    assert await broker.release("req", "ann") is True
    assert await broker.release("req", "ann") is False
    assert await broker.claim("req", "bob", 5) == "bob"


async def test_release_after_expiry_does_not_drop_the_next_holder(backend: Backend) -> None:
    broker = backend.open()
    await broker.claim("req", "ann", 0.2)
    await backend.advance(0.3)
    assert await broker.claim("req", "bob", 5) == "bob"
    assert await broker.release("req", "ann") is False
    assert await broker.claim("req", "carl", 5) == "bob"


async def test_replace_moves_a_claim_only_from_the_expected_holder(broker: Broker) -> None:
    assert await broker.claim("owner:s1", "relay-1", 5) == "relay-1"
    assert await broker.replace("owner:s1", "relay-9", "relay-2", 5) == "relay-1"  # not the holder: no change
    assert await broker.claim("owner:s1", "late", 5) == "relay-1"
    assert await broker.replace("owner:s1", "relay-1", "relay-2", 5) == "relay-2"
    assert await broker.claim("owner:s1", "late", 5) == "relay-2"
    assert await broker.replace("owner:s1", "relay-1", "relay-3", 5) == "relay-2"  # a stale view loses


async def test_replace_takes_an_absent_key(broker: Broker) -> None:
    assert await broker.replace("owner:none", "relay-1", "relay-2", 5) == "relay-2"
    assert await broker.claim("owner:none", "other", 5) == "relay-2"


async def test_replace_race_names_one_new_holder(broker: Broker) -> None:
    """Web nodes that all saw the dead holder replace it at once: one wins and
    every caller is told the same winner."""
    await broker.claim("owner:race", "dead", 5)
    candidates = [f"relay-{i}" for i in range(50)]
    results = await asyncio.gather(*(broker.replace("owner:race", "dead", c, 5) for c in candidates))
    assert len(set(results)) == 1
    assert results[0] in candidates
    assert await broker.claim("owner:race", "late", 5) == results[0]


async def test_replaced_claim_expires(backend: Backend) -> None:
    broker = backend.open()
    await broker.claim("owner:t", "relay-1", 5)
    assert await broker.replace("owner:t", "relay-1", "relay-2", 0.3) == "relay-2"
    assert 0 < await broker.ttl("owner:t") <= 0.3
    await backend.advance(0.4)
    assert await broker.claim("owner:t", "relay-3", 5) == "relay-3"


async def test_owner_strings_round_trip(broker: Broker) -> None:
    owner = "rép:ünïcode 🙂 with spaces"
    assert await broker.claim("k", owner, 5) == owner
    assert await broker.claim("k", "other", 5) == owner
    assert await broker.release("k", owner) is True


# counters --------------------------------------------------------------------


async def test_hit_counts_up(broker: Broker) -> None:
    assert [await broker.hit("ip:1", 10) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert await broker.hit("ip:2", 10) == 1


async def test_concurrent_hits_are_all_counted(broker: Broker) -> None:
    results = await asyncio.gather(*(broker.hit("burst", 10) for _ in range(100)))
    assert sorted(results) == list(range(1, 101))


async def test_hit_window_is_fixed_from_first_hit(backend: Backend) -> None:
    broker = backend.open()
    assert await broker.hit("w", 0.4) == 1
    await backend.advance(0.25)
    assert await broker.hit("w", 0.4) == 2  # does not push the window out
    assert await broker.ttl("w") <= 0.16
    await backend.advance(0.25)
    assert await broker.hit("w", 0.4) == 1  # a new window
    assert 0.3 < await broker.ttl("w") <= 0.4


async def test_unhit_takes_one_back_and_stops_at_zero(broker: Broker) -> None:
    assert await broker.unhit("absent") == 0
    assert await broker.ttl("absent") == 0  # unhit never creates a counter
    for _ in range(3):
        await broker.hit("c", 30)
    assert await broker.unhit("c") == 2
    assert await broker.hit("c", 30) == 3
    assert [await broker.unhit("c") for _ in range(4)] == [2, 1, 0, 0]
    assert 29 < await broker.ttl("c") <= 30  # the window is unchanged


async def test_concurrent_hits_and_unhits_balance(broker: Broker) -> None:
    for _ in range(50):
        await broker.hit("pair", 30)
    await asyncio.gather(*(broker.unhit("pair") for _ in range(30)), *(broker.hit("pair", 30) for _ in range(10)))
    assert await broker.hit("pair", 30) == 50 - 30 + 10 + 1


async def test_ttl(broker: Broker) -> None:
    assert await broker.ttl("absent") == 0
    await broker.hit("counter", 30)
    await broker.claim("claim", "ann", 60)
    assert 29 < await broker.ttl("counter") <= 30
    assert 59 < await broker.ttl("claim") <= 60


async def test_delete_removes_counters_and_claims(broker: Broker) -> None:
    await broker.hit("counter", 30)
    await broker.hit("counter", 30)
    await broker.claim("claim", "ann", 30)
    await broker.delete("counter")
    await broker.delete("claim")
    await broker.delete("never-existed")
    assert await broker.ttl("counter") == 0
    assert await broker.ttl("claim") == 0
    assert await broker.hit("counter", 30) == 1
    assert await broker.claim("claim", "bob", 30) == "bob"


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf])
async def test_expiries_must_be_positive_and_finite(broker: Broker, bad: float) -> None:
    with pytest.raises(ValueError):
        await broker.claim("k", "o", bad)
    with pytest.raises(ValueError):
        await broker.hit("k", bad)
    with pytest.raises(ValueError):
        await broker.presence_set("g", "m", bad)
    assert await broker.ttl("k") == 0


async def test_ping(broker: Broker) -> None:
    assert await broker.ping() is True


# counters against a model (Hypothesis) -------------------------------------------

_ops = st.lists(
    st.tuples(st.sampled_from(["hit", "unhit", "delete"]), st.sampled_from(["a", "b", "c"])),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops)
def test_counters_match_a_model(backend_kind: str, backend_url: str | None, ops: list[tuple[str, str]]) -> None:
    """Any sequence of hits, unhits and deletes: every call returns the
    model's count."""

    async def run() -> None:
        prefix = f"dltest:{secrets.token_hex(4)}:"
        broker: Broker = RedisBroker(backend_url, prefix) if backend_url else MemoryBroker(prefix)
        model: dict[str, int] = {}
        try:
            for op, key in ops:
                if op == "hit":
                    model[key] = model.get(key, 0) + 1
                    assert await broker.hit(key, 60) == model[key]
                elif op == "unhit":
                    if key in model:
                        model[key] = max(0, model[key] - 1)
                    assert await broker.unhit(key) == model.get(key, 0)
                else:
                    model.pop(key, None)
                    await broker.delete(key)
            for key in "abc":
                assert (await broker.ttl(key) > 0) == (key in model)
        finally:
            for key in "abc":
                await broker.delete(key)
            await broker.aclose()

    asyncio.run(run())

"""Which relay node takes a new screen session (desklink.relay.nodes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desklink.relay.nodes import RelayNode, alive, choose, decode, encode, with_reserved

NOW = 1_800_000_000.0
STALE = 15.0


def node(name: str, load: int = 0, capacity: int = 10, age: float = 0.0) -> RelayNode:
    return RelayNode(name=name, public_url=f"http://{name}.example", capacity=capacity, load=load, seen_at=NOW - age)


def test_least_loaded_alive_node_wins() -> None:
    nodes = [node("a", load=5), node("b", load=2), node("c", load=1, age=STALE)]
    assert choose(nodes, NOW, STALE) == nodes[1]


def test_load_counts_against_capacity() -> None:
    """3 of 100 is emptier than 1 of 10."""
    big, small = node("big", load=3, capacity=100), node("small", load=1, capacity=10)
    assert choose([small, big], NOW, STALE) == big


def test_ties_go_to_fewer_sessions_then_the_name() -> None:
    assert choose([node("b"), node("a")], NOW, STALE) == node("a")
    assert choose([node("x", load=2, capacity=20), node("y", load=1, capacity=10)], NOW, STALE) == node(
        "y", load=1, capacity=10
    )


def test_full_stale_or_no_nodes_give_none() -> None:
    assert choose([], NOW, STALE) is None
    assert choose([node("a", load=10)], NOW, STALE) is None
    assert choose([node("a", age=STALE), node("b", age=STALE + 100)], NOW, STALE) is None


def test_alive_until_stale() -> None:
    assert alive(node("a", age=STALE - 0.001), NOW, STALE)
    assert not alive(node("a", age=STALE), NOW, STALE)
    assert alive(node("a", age=-3), NOW, STALE)  # its clock a little ahead


def test_announcements_round_trip_and_bad_ones_are_dropped() -> None:
    n = node("relay-1", load=3)
    assert decode(encode(n)) == n
    assert decode(b"not json") is None
    assert decode(b'{"name": "a"}') is None
    assert decode(encode(node("", load=0))) is None
    assert decode(encode(node("a", capacity=0))) is None
    assert decode(encode(node("a", load=-1))) is None
    assert decode(encode(node("a" * 65))) is None


nodes_st = st.lists(
    st.builds(
        node,
        name=st.text("abcdef", min_size=1, max_size=4),
        load=st.integers(0, 50),
        capacity=st.integers(1, 50),
        age=st.floats(-5, 40),
    ),
    max_size=8,
    # The directory holds each node once (its name is the member's key).
    unique_by=lambda n: n.name,
)


@given(nodes_st)
def test_choice_is_alive_not_full_and_no_alive_node_is_emptier(nodes: list[RelayNode]) -> None:
    chosen = choose(nodes, NOW, STALE)
    candidates = [n for n in nodes if alive(n, NOW, STALE) and n.load < n.capacity]
    if chosen is None:
        assert candidates == []
        return
    assert chosen in candidates
    assert all(chosen.share <= n.share for n in candidates)
    # the same whatever order the broker listed them in
    assert choose(list(reversed(nodes)), NOW, STALE) == chosen


def test_sessions_handed_out_count_as_load_until_the_node_announces_them() -> None:
    a, b = node("a", load=1), node("b", load=1)
    assert choose([a, b], NOW, STALE) == a
    assert choose([a, b], NOW, STALE, {"a": 1}) == b
    assert choose([a, b], NOW, STALE, {"a": 1, "b": 1}) == a
    # What is returned is the node as announced, not as counted.
    assert choose([a, b], NOW, STALE, {"a": 3}) == b and b.load == 1


def test_hand_outs_can_fill_a_node_and_odd_counts_are_harmless() -> None:
    assert choose([node("a", load=9)], NOW, STALE, {"a": 1}) is None
    assert choose([node("a", load=9)], NOW, STALE, {"a": -3, "gone": 5}) == node("a", load=9)
    assert with_reserved(node("a", load=2), 0) == node("a", load=2)
    assert with_reserved(node("a", load=2), 3).load == 5


@given(st.lists(st.integers(1, 50), min_size=1, max_size=6), st.integers(0, 60))
def test_hand_outs_between_two_heartbeats_spread_like_announced_load(capacities: list[int], count: int) -> None:
    """Escalations one after the other, no heartbeat in between: each sees
    the earlier ones, so the nodes fill as evenly as announced load would."""
    nodes = [node(f"n{i}", capacity=c) for i, c in enumerate(capacities)]
    reserved: dict[str, int] = {}
    for _ in range(count):
        chosen = choose(nodes, NOW, STALE, reserved)
        if chosen is None:
            assert sum(reserved.values()) == sum(capacities)  # only when every node is full
            break
        reserved[chosen.name] = reserved.get(chosen.name, 0) + 1
    shares = [reserved.get(n.name, 0) / n.capacity for n in nodes]
    for n in nodes:
        assert reserved.get(n.name, 0) <= n.capacity
        # no node took a session while another would be emptier after it
        if reserved.get(n.name, 0):
            before = (reserved[n.name] - 1) / n.capacity
            assert all(before <= s for m, s in zip(nodes, shares, strict=True) if m is not n and reserved.get(m.name, 0) < m.capacity)

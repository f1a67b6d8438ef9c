"""Requests: creation, lookups, queue order and every lifecycle transition."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from desklink.errors import Conflict, NotFound
from desklink.protocol.lifecycle import REQUEST_TRANSITIONS
from desklink.store import Store

from ._helpers import T0, at, make_queue, make_request, make_user, token_hash


async def test_create_request(store: Store) -> None:
    queue = await make_queue(store)
    th = token_hash()
    req = await store.create_request(
        queue_id=queue.id,
        visitor_name="Vera",
        visitor_email="vera@example.com",
        question="My printer is on fire",
        token_hash=th,
        ip="2001:db8::1",
        origin="https://shop.example",
        now=T0,
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", req.id)
    assert (req.queue_id, req.visitor_name, req.visitor_email) == (queue.id, "Vera", "vera@example.com")
    assert (req.question, req.ip, req.origin) == ("My printer is on fire", "2001:db8::1", "https://shop.example")
    assert (req.status, req.rep_id, req.created_at, req.accepted_at, req.closed_at) == ("waiting", None, T0, None, None)
    assert await store.get_request(req.id) == req
    assert await store.get_request_by_token(th) == req
    assert await store.get_request("x" * 16) is None
    assert await store.get_request_by_token(token_hash()) is None


async def test_request_ids_are_distinct(store: Store) -> None:
    queue = await make_queue(store)
    ids = {(await make_request(store, queue)).id for _ in range(20)}
    assert len(ids) == 20


async def test_create_request_refusals(store: Store) -> None:
    queue = await make_queue(store)
    with pytest.raises(NotFound):
        await store.create_request(
            queue_id=queue.id + 9, visitor_name="v", visitor_email="", question="q",
            token_hash=token_hash(), ip="1.2.3.4", origin="", now=T0,
        )  # fmt: skip
    first = await make_request(store, queue)
    th = token_hash()
    kept = await store.create_request(
        queue_id=queue.id, visitor_name="v", visitor_email="", question="q1",
        token_hash=th, ip="1.2.3.4", origin="", now=T0,
    )  # fmt: skip
    with pytest.raises(Conflict):
        await store.create_request(
            queue_id=queue.id, visitor_name="w", visitor_email="", question="q2",
            token_hash=th, ip="1.2.3.4", origin="", now=T0,
        )  # fmt: skip
    assert await store.get_request_by_token(th) == kept
    assert {r.id for r in await store.waiting_requests([queue.id])} == {first.id, kept.id}


async def test_count_open_requests_by_ip(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    ip = "198.51.100.7"
    assert await store.count_open_requests_by_ip(ip) == 0
    await make_request(store, queue, ip=ip)  # stays waiting
    accepted = await make_request(store, queue, ip=ip)
    cancelled = await make_request(store, queue, ip=ip)
    expired = await make_request(store, queue, ip=ip)
    closed = await make_request(store, queue, ip=ip)
    await make_request(store, queue, ip="198.51.100.8")
    await store.accept_request(accepted.id, rep.id, at(1))
    await store.close_request(cancelled.id, "cancel", at(1))
    await store.close_request(expired.id, "expire", at(1))
    session = await store.accept_request(closed.id, rep.id, at(1))
    assert session is not None
    await store.end_session(session.id, ended_by="rep", disposition="resolved", note="", now=at(2))
    assert await store.count_open_requests_by_ip(ip) == 2  # the waiting one and the accepted one


async def test_waiting_requests_oldest_first_per_queues(store: Store) -> None:
    q1 = await make_queue(store, "one")
    q2 = await make_queue(store, "two")
    q3 = await make_queue(store, "three")
    rep = await make_user(store)
    late = await make_request(store, q1, at(30))
    early = await make_request(store, q2, at(10))
    middle = await make_request(store, q1, at(20))
    await make_request(store, q3, at(5))
    taken = await make_request(store, q1, at(1))
    await store.accept_request(taken.id, rep.id, at(40))
    assert await store.waiting_requests([q1.id, q2.id]) == [early, middle, late]
    assert await store.waiting_requests([q1.id]) == [middle, late]
    assert await store.waiting_requests([]) == []
    assert await store.waiting_requests([q3.id + 100]) == []


async def test_ties_on_created_at_are_ordered_by_id(store: Store) -> None:
    queue = await make_queue(store)
    reqs = [await make_request(store, queue, T0) for _ in range(6)]
    # Ties follow the database's order of ids (its collation decides; both
    # methods use the same one), and the order is total: positions 1..6.
    waiting = await store.waiting_requests([queue.id])
    assert sorted(r.id for r in waiting) == sorted(r.id for r in reqs)
    assert [await store.queue_position(r.id) for r in waiting] == [1, 2, 3, 4, 5, 6]


async def test_queue_position(store: Store) -> None:
    q1 = await make_queue(store, "one")
    q2 = await make_queue(store, "two")
    rep = await make_user(store)
    a = await make_request(store, q1, at(1))
    other = await make_request(store, q2, at(2))
    b = await make_request(store, q1, at(3))
    c = await make_request(store, q1, at(4))
    assert [await store.queue_position(r.id) for r in (a, b, c, other)] == [1, 2, 3, 1]
    await store.accept_request(a.id, rep.id, at(5))
    assert [await store.queue_position(r.id) for r in (a, b, c)] == [0, 1, 2]
    await store.close_request(b.id, "cancel", at(6))
    assert [await store.queue_position(r.id) for r in (b, c)] == [0, 1]
    with pytest.raises(NotFound):
        await store.queue_position("no-such-request")


# -- accept -----------------------------------------------------------------


async def test_accept_request_opens_a_session(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue)
    session = await store.accept_request(req.id, rep.id, at(42))
    assert session is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", session.id)
    assert (session.request_id, session.rep_id, session.started_at) == (req.id, rep.id, at(42))
    assert (session.ended_at, session.ended_by, session.disposition, session.note) == (None, None, None, "")
    assert session.open
    after = await store.get_request(req.id)
    assert after is not None
    assert (after.status, after.rep_id, after.accepted_at, after.closed_at) == ("accepted", rep.id, at(42), None)


async def test_second_accept_loses(store: Store) -> None:
    queue = await make_queue(store)
    alice = await make_user(store, "alice")
    bob = await make_user(store, "bob")
    req = await make_request(store, queue)
    won = await store.accept_request(req.id, alice.id, at(1))
    assert won is not None
    assert await store.accept_request(req.id, bob.id, at(2)) is None
    assert await store.accept_request(req.id, alice.id, at(2)) is None
    after = await store.get_request(req.id)
    assert after is not None and (after.rep_id, after.accepted_at) == (alice.id, at(1))
    assert await store.get_session_by_request(req.id) == won


@pytest.mark.parametrize("event", ["cancel", "abandon", "expire"])
async def test_accepting_a_finished_request_returns_none(store: Store, event: str) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue)
    closed = await store.close_request(req.id, event, at(1))  # type: ignore[arg-type]
    assert closed is not None
    assert await store.accept_request(req.id, rep.id, at(2)) is None
    assert await store.get_request(req.id) == closed
    assert await store.get_session_by_request(req.id) is None


async def test_accept_refusals_for_unknown_ids(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue)
    with pytest.raises(NotFound):
        await store.accept_request("unknown-request!", rep.id, T0)
    with pytest.raises(NotFound):
        await store.accept_request(req.id, rep.id + 77, T0)
    assert await store.get_request(req.id) == req  # still waiting, untouched
    assert await store.accept_request(req.id, rep.id, T0) is not None


# -- close ------------------------------------------------------------------


@pytest.mark.parametrize("event", ["cancel", "abandon", "expire"])
async def test_close_request_follows_the_lifecycle(store: Store, event: str) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    closed = await store.close_request(req.id, event, at(9))  # type: ignore[arg-type]
    assert closed is not None
    assert closed.status == REQUEST_TRANSITIONS[("waiting", event)]  # type: ignore[index]
    assert closed.closed_at == at(9)
    assert await store.get_request(req.id) == closed
    # A final state: no second transition.
    for again in ("cancel", "abandon", "expire"):
        assert await store.close_request(req.id, again, at(10)) is None
    assert await store.get_request(req.id) == closed


async def test_cancel_after_accept_is_refused(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue)
    await store.accept_request(req.id, rep.id, at(1))
    for event in ("cancel", "abandon", "expire"):
        assert await store.close_request(req.id, event, at(2)) is None
    after = await store.get_request(req.id)
    assert after is not None and (after.status, after.closed_at) == ("accepted", None)


async def test_close_request_refusals(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    with pytest.raises(ValueError):
        await store.close_request(req.id, "end", at(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.close_request(req.id, "accept", at(1))  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await store.close_request("nope", "cancel", at(1))
    assert await store.get_request(req.id) == req


async def test_expire_waiting(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    old2 = await make_request(store, queue, at(20))
    old1 = await make_request(store, queue, at(10))
    accepted = await make_request(store, queue, at(5))
    at_cutoff = await make_request(store, queue, at(30))
    fresh = await make_request(store, queue, at(40))
    await store.accept_request(accepted.id, rep.id, at(35))
    expired = await store.expire_waiting(at(30), at(100))
    assert [r.id for r in expired] == [old1.id, old2.id]
    assert all(r.status == "expired" and r.closed_at == at(100) for r in expired)
    assert await store.get_request(old1.id) == expired[0]
    assert await store.waiting_requests([queue.id]) == [at_cutoff, fresh]
    got = await store.get_request(accepted.id)
    assert got is not None and got.status == "accepted"
    assert await store.expire_waiting(at(30), at(101)) == []


async def test_recent_accept_waits(store: Store) -> None:
    queue = await make_queue(store)
    other = await make_queue(store, "other")
    rep = await make_user(store)
    waits = []
    for i, wait in enumerate([5.0, 12.5, 30.0, 2.25]):
        req = await make_request(store, queue, at(i * 100))
        await store.accept_request(req.id, rep.id, at(i * 100 + wait))
        waits.append(wait)
    ended = await make_request(store, queue, at(500))
    session = await store.accept_request(ended.id, rep.id, at(507))
    assert session is not None
    await store.end_session(session.id, ended_by="rep", disposition="resolved", note="", now=at(600))
    await make_request(store, queue, at(550))  # still waiting: no wait yet
    side = await make_request(store, other, at(0))
    await store.accept_request(side.id, rep.id, at(999))

    assert await store.recent_accept_waits(queue.id, since=T0) == [7.0, 2.25, 30.0, 12.5, 5.0]
    assert await store.recent_accept_waits(queue.id, since=at(112.5)) == [7.0, 2.25, 30.0, 12.5]
    assert await store.recent_accept_waits(queue.id, since=at(112.5) + timedelta(microseconds=1)) == [7.0, 2.25, 30.0]
    assert await store.recent_accept_waits(queue.id, since=T0, limit=2) == [7.0, 2.25]
    assert await store.recent_accept_waits(other.id, since=T0) == [999.0]

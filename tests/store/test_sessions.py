"""Sessions: lookup, ending (idempotent) and listing."""

from __future__ import annotations

import pytest

from desklink.errors import NotFound
from desklink.store import Queue, Session, Store, User

from ._helpers import T0, at, make_queue, make_request, make_user


async def _session(store: Store, queue: Queue, rep: User, started: float) -> Session:
    req = await make_request(store, queue, at(started - 1))
    session = await store.accept_request(req.id, rep.id, at(started))
    assert session is not None
    return session


async def test_get_session(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    session = await _session(store, queue, rep, 5)
    assert await store.get_session(session.id) == session
    assert await store.get_session_by_request(session.request_id) == session
    assert await store.get_session("nope") is None
    assert await store.get_session_by_request("nope") is None


async def test_end_session_closes_the_request(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    session = await _session(store, queue, rep, 5)
    ended = await store.end_session(
        session.id, ended_by="rep", disposition="resolved", note="Rebooted the router", now=at(60)
    )
    assert ended is not None
    assert (ended.ended_at, ended.ended_by, ended.disposition, ended.note) == (
        at(60),
        "rep",
        "resolved",
        "Rebooted the router",
    )
    assert not ended.open
    assert await store.get_session(session.id) == ended
    req = await store.get_request(session.request_id)
    assert req is not None and (req.status, req.closed_at, req.accepted_at) == ("closed", at(60), at(5))


async def test_ending_twice_returns_none_and_keeps_the_first(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    session = await _session(store, queue, rep, 5)
    first = await store.end_session(session.id, ended_by="visitor", disposition=None, note="", now=at(10))
    assert first is not None
    again = await store.end_session(session.id, ended_by="rep", disposition="resolved", note="late", now=at(20))
    assert again is None
    assert await store.get_session(session.id) == first
    req = await store.get_request(session.request_id)
    assert req is not None and req.closed_at == at(10)


async def test_end_unknown_session(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.end_session("nope", ended_by="rep", disposition=None, note="", now=T0)


async def test_open_sessions_for_rep(store: Store) -> None:
    queue = await make_queue(store)
    alice = await make_user(store, "alice")
    bob = await make_user(store, "bob")
    s2 = await _session(store, queue, alice, 20)
    s1 = await _session(store, queue, alice, 10)
    s3 = await _session(store, queue, alice, 30)
    sb = await _session(store, queue, bob, 15)
    assert await store.open_sessions_for_rep(alice.id) == [s1, s2, s3]
    await store.end_session(s2.id, ended_by="rep", disposition="resolved", note="", now=at(40))
    assert await store.open_sessions_for_rep(alice.id) == [s1, s3]
    assert await store.open_sessions_for_rep(bob.id) == [sb]
    assert await store.open_sessions_for_rep(bob.id + 50) == []


async def test_list_sessions_newest_first_with_paging(store: Store) -> None:
    queue = await make_queue(store)
    alice = await make_user(store, "alice")
    bob = await make_user(store, "bob")
    sessions = {}
    for started, rep in ((10, alice), (30, bob), (20, alice), (40, alice), (50, bob)):
        sessions[started] = await _session(store, queue, rep, started)
    ended = await store.end_session(sessions[20].id, ended_by="rep", disposition="resolved", note="", now=at(60))
    sessions[20] = ended  # type: ignore[assignment]
    newest_first = [sessions[t] for t in (50, 40, 30, 20, 10)]
    assert await store.list_sessions() == newest_first
    assert await store.list_sessions(limit=2) == newest_first[:2]
    assert await store.list_sessions(limit=2, offset=2) == newest_first[2:4]
    assert await store.list_sessions(offset=5) == []
    assert await store.list_sessions(rep_id=alice.id) == [sessions[t] for t in (40, 20, 10)]
    assert await store.list_sessions(rep_id=bob.id, limit=1) == [sessions[50]]
    # The same page with each session's request, queue and rep, in one query.
    summaries = await store.list_session_summaries(limit=3, offset=1)
    assert [x.session for x in summaries] == newest_first[1:4]
    for x in summaries:
        assert x.request == await store.get_request(x.session.request_id)
        assert x.queue == queue
        assert x.rep_name == ("Alice" if x.session.rep_id == alice.id else "Bob")
    assert [x.session for x in await store.list_session_summaries(rep_id=bob.id)] == [sessions[50], sessions[30]]


async def test_wrap_up_records_a_disposition_once_after_the_visitor_left(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    session = await _session(store, queue, rep, 5)
    assert await store.wrap_up_session(session.id, disposition="resolved", note="x") is None  # still open
    await store.end_session(session.id, ended_by="visitor", disposition=None, note="", now=at(9))
    done = await store.wrap_up_session(session.id, disposition="not_resolved", note="left before the fix")
    assert done is not None and (done.disposition, done.note, done.ended_by) == ("not_resolved", "left before the fix", "visitor")
    assert await store.wrap_up_session(session.id, disposition="resolved", note="again") is None
    stored = await store.get_session(session.id)
    assert stored is not None and stored.disposition == "not_resolved"
    with pytest.raises(NotFound):
        await store.wrap_up_session("nope", disposition="resolved", note="")


async def test_hand_over_moves_session_and_request_together_once(store: Store) -> None:
    """A supervisor's take-over: one conditional update of both rows."""
    queue = await make_queue(store)
    rep, sue, other = await make_user(store, "bob"), await make_user(store, "sue"), await make_user(store, "olga")
    session = await _session(store, queue, rep, 5)
    moved = await store.hand_over_session(session.id, rep.id, sue.id)
    assert moved is not None and moved.rep_id == sue.id and moved.open
    req = await store.get_request(session.request_id)
    assert req is not None and (req.rep_id, req.status) == (sue.id, "accepted")
    # Someone who read the old holder loses: the condition no longer holds.
    assert await store.hand_over_session(session.id, rep.id, other.id) is None
    assert (await store.get_session(session.id)) == moved
    await store.end_session(session.id, ended_by="rep", disposition="resolved", note="", now=at(60))
    assert await store.hand_over_session(session.id, sue.id, other.id) is None
    with pytest.raises(NotFound):
        await store.hand_over_session("nope", rep.id, sue.id)

"""Races the store must decide exactly, with many callers at the same instant.

On PostgreSQL every caller runs on its own pooled connection (the store is
opened with a pool as large as the crowd), so the database itself arbitrates;
on SQLite the same tests run through ``asyncio.gather`` against the store's
write serialisation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

from desklink.errors import Conflict
from desklink.store import Message, Session, Store

from ._helpers import T0, at, make_queue, make_request, make_user

CROWD = 30
T = TypeVar("T")


@pytest.fixture
async def big_store(database_url: str) -> AsyncIterator[Store]:
    s = await Store.open(database_url, pool_size=CROWD + 2, max_overflow=0)
    try:
        yield s
    finally:
        await s.close()


async def all_at_once(calls: list[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Start every call behind one gate, so none gets a head start."""
    gate = asyncio.Event()

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        await gate.wait()
        return await call()

    tasks = [asyncio.ensure_future(run(c)) for c in calls]
    await asyncio.sleep(0)
    gate.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_thirty_way_accept_has_exactly_one_winner(big_store: Store) -> None:
    store = big_store
    queue = await make_queue(store)
    reps = [await make_user(store, f"rep{i}") for i in range(CROWD)]
    for round_ in range(3):
        req = await make_request(store, queue, at(round_))
        results = await all_at_once(
            [lambda rep=rep, req=req, round_=round_: store.accept_request(req.id, rep.id, at(10 + round_)) for rep in reps]  # type: ignore[misc]
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == []
        winners = [r for r in results if isinstance(r, Session)]
        assert len(winners) == 1, results
        assert results.count(None) == CROWD - 1
        won = winners[0]
        after = await store.get_request(req.id)
        assert after is not None and (after.status, after.rep_id) == ("accepted", won.rep_id)
        assert await store.get_session_by_request(req.id) == won
    assert sum([len(await store.open_sessions_for_rep(rep.id)) for rep in reps]) == 3


async def test_accept_racing_cancel_and_expire(big_store: Store) -> None:
    store = big_store
    queue = await make_queue(store)
    reps = [await make_user(store, f"rep{i}") for i in range(10)]
    for round_ in range(5):
        req = await make_request(store, queue, T0)
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda rep=rep, req=req: store.accept_request(req.id, rep.id, at(5)) for rep in reps  # type: ignore[misc]
        ]
        calls += [lambda req=req: store.close_request(req.id, "cancel", at(5))] * 5
        calls += [lambda: store.expire_waiting(at(1), at(5))] * 5
        results = await all_at_once(calls)
        assert not [r for r in results if isinstance(r, BaseException)]
        accepted = [r for r in results[:10] if r is not None]
        cancelled = [r for r in results[10:15] if r is not None]
        expired = [r for r in results[15:] if r]
        assert len(accepted) + len(cancelled) + len(expired) == 1, (round_, results)
        after = await store.get_request(req.id)
        assert after is not None
        assert (after.status == "accepted") == bool(accepted)
        assert (await store.get_session_by_request(req.id) is not None) == bool(accepted)


async def test_concurrent_messages_get_distinct_gap_free_seqs(big_store: Store) -> None:
    store = big_store
    queue = await make_queue(store)
    req = await make_request(store, queue)
    results = await all_at_once(
        [
            lambda i=i: store.add_message(  # type: ignore[misc]
                request_id=req.id, client_id=f"c{i}", sender="visitor", sender_name="V",
                user_id=None, body=f"m{i}", now=T0,
            )
            for i in range(CROWD)
        ]
    )  # fmt: skip
    assert not [r for r in results if isinstance(r, BaseException)]
    assert all(created for _, created in results)  # type: ignore[misc]
    seqs = sorted(m.seq for m, _ in results)  # type: ignore[misc]
    assert seqs == list(range(1, CROWD + 1))
    stored = await store.all_messages(req.id)
    assert [m.seq for m in stored] == seqs
    assert {m.client_id: m.body for m in stored} == {f"c{i}": f"m{i}" for i in range(CROWD)}


async def test_concurrent_resends_of_one_client_id_store_one(big_store: Store) -> None:
    store = big_store
    queue = await make_queue(store)
    req = await make_request(store, queue)
    await store.add_message(
        request_id=req.id, client_id="before", sender="visitor", sender_name="V", user_id=None, body="0", now=T0
    )
    calls: list[Callable[[], Awaitable[tuple[Message, bool]]]] = []
    for i in range(CROWD):
        cid = "dup" if i % 2 == 0 else f"u{i}"
        calls.append(
            lambda cid=cid, i=i: store.add_message(  # type: ignore[misc]
                request_id=req.id, client_id=cid, sender="visitor", sender_name="V",
                user_id=None, body=f"try {i}", now=T0,
            )
        )  # fmt: skip
    results = await all_at_once(calls)
    assert not [r for r in results if isinstance(r, BaseException)]
    dup_results = [r for i, r in enumerate(results) if i % 2 == 0]
    assert sum(created for _, created in dup_results) == 1  # type: ignore[misc]
    assert len({m for m, _ in dup_results}) == 1  # type: ignore[misc]  # every caller sees the same row
    stored = await store.all_messages(req.id)
    assert [m.seq for m in stored] == list(range(1, 1 + 1 + CROWD // 2 + 1))
    assert sum(m.client_id == "dup" for m in stored) == 1


async def test_concurrent_duplicate_usernames(big_store: Store) -> None:
    store = big_store
    results = await all_at_once(
        [lambda i=i: store.create_user(("Bob", "bob", "BOB")[i % 3], f"Bob {i}", "rep", "h", T0) for i in range(12)]  # type: ignore[misc]
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(created) == 1 and len(conflicts) == 11, results
    assert await store.list_users() == created


async def test_concurrent_add_queue_member(big_store: Store) -> None:
    store = big_store
    queue = await make_queue(store)
    rep = await make_user(store)
    results = await all_at_once([lambda: store.add_queue_member(queue.id, rep.id)] * 10)
    assert results == [None] * 10
    assert await store.queue_member_ids(queue.id) == [rep.id]


async def test_concurrent_sweepers_expire_each_request_once(big_store: Store) -> None:
    store = big_store
    queue = await make_queue(store)
    reqs = [await make_request(store, queue, at(i)) for i in range(CROWD)]
    results = await all_at_once([lambda: store.expire_waiting(at(100), at(200))] * 6)
    assert not [r for r in results if isinstance(r, BaseException)]
    expired_ids = [r.id for batch in results for r in batch]  # type: ignore[union-attr]
    assert sorted(expired_ids) == sorted(r.id for r in reqs)  # each exactly once
    assert await store.waiting_requests([queue.id]) == []


async def test_admins_demoting_each_other_at_once_leave_one_admin(big_store: Store) -> None:
    """Each demotion alone is allowed (another admin remains); together they
    would leave none. The last-admin guard decides inside the transaction."""
    from desklink.errors import ProtocolError

    store = big_store
    admins = [await make_user(store, f"boss{i}", role="admin") for i in range(CROWD)]
    results = await all_at_once(
        [lambda a=a: store.update_user(a.id, role="rep", keep_an_admin=True) for a in admins]  # type: ignore[misc]
    )
    refused = [r for r in results if isinstance(r, ProtocolError)]
    assert len(refused) == 1 and refused[0].code == "bad_state"
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, ProtocolError)]
    remaining = [u for u in await store.list_users() if u.role == "admin" and not u.disabled]
    assert len(remaining) == 1

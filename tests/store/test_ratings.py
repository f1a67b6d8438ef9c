"""The visitor's rating: once per session, only after it ended and within
the window, with its ``rated`` event in the same transaction."""

from __future__ import annotations

import asyncio

import pytest

from desklink.errors import Conflict, NotFound
from desklink.store import Queue, Session, Store, User

from ._helpers import at, make_queue, make_request, make_user

DAY = 24 * 3600.0


async def _ended(store: Store, queue: Queue, rep: User, *, ended: float | None = 60) -> Session:
    req = await make_request(store, queue, at(0))
    session = await store.accept_request(req.id, rep.id, at(5))
    assert session is not None
    if ended is None:
        return session
    done = await store.end_session(session.id, ended_by="rep", disposition="resolved", note="", now=at(ended))
    assert done is not None
    return done


async def test_rating_is_stored_with_its_event(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    session = await _ended(store, queue, rep)
    rated = await store.rate_session(session.id, rating=4, comment="Quick and kind", window_s=DAY, now=at(120))
    assert (rated.rating, rated.rating_comment, rated.rated_at) == (4, "Quick and kind", at(120))
    assert await store.get_session(session.id) == rated
    events = [e for e in await store.events_for(session.request_id) if e.kind == "rated"]
    assert [(e.actor, e.actor_id, e.data, e.created_at) for e in events] == [
        ("visitor", None, {"rating": 4, "comment": "Quick and kind"}, at(120))
    ]
    # The history lists carry it too.
    [summary] = await store.list_session_summaries(rep_id=rep.id)
    assert (summary.session.rating, summary.session.rating_comment) == (4, "Quick and kind")


async def test_a_second_rating_is_refused_and_the_first_kept(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    session = await _ended(store, queue, rep)
    first = await store.rate_session(session.id, rating=2, comment="", window_s=DAY, now=at(100))
    with pytest.raises(Conflict) as refused:
        await store.rate_session(session.id, rating=5, comment="changed my mind", window_s=DAY, now=at(200))
    assert refused.value.code == "conflict_exists" and "already been rated" in refused.value.message
    assert await store.get_session(session.id) == first
    assert [e.data for e in await store.events_for(session.request_id) if e.kind == "rated"] == [
        {"rating": 2, "comment": ""}
    ]


async def test_ratings_sent_at_once_store_one(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    session = await _ended(store, queue, rep)
    results = await asyncio.gather(
        *(store.rate_session(session.id, rating=n, comment=f"try {n}", window_s=DAY, now=at(100)) for n in range(1, 6)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, Session)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 4, results
    stored = await store.get_session(session.id)
    assert stored is not None and stored.rating == won[0].rating
    assert len([e for e in await store.events_for(session.request_id) if e.kind == "rated"]) == 1


async def test_an_open_session_cannot_be_rated_yet(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    session = await _ended(store, queue, rep, ended=None)
    with pytest.raises(Conflict) as refused:
        await store.rate_session(session.id, rating=5, comment="", window_s=DAY, now=at(30))
    assert refused.value.code == "bad_state" and "not ended" in refused.value.message
    stored = await store.get_session(session.id)
    assert stored is not None and stored.rating is None and stored.rated_at is None


async def test_the_window_is_inclusive_then_closes(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    late = await _ended(store, queue, rep, ended=60)
    with pytest.raises(Conflict) as refused:
        await store.rate_session(late.id, rating=3, comment="", window_s=DAY, now=at(60 + DAY + 1))
    assert refused.value.code == "conflict_closed" and "24 hours" in refused.value.message
    stored = await store.get_session(late.id)
    assert stored is not None and stored.rating is None
    on_time = await _ended(store, queue, rep, ended=60)
    rated = await store.rate_session(on_time.id, rating=3, comment="", window_s=DAY, now=at(60 + DAY))
    assert rated.rating == 3


async def test_unknown_session_and_bad_values(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    session = await _ended(store, queue, rep)
    with pytest.raises(NotFound):
        await store.rate_session("no-such-session", rating=3, comment="", window_s=DAY, now=at(100))
    for bad in (0, 6, -1):
        with pytest.raises(ValueError):
            await store.rate_session(session.id, rating=bad, comment="", window_s=DAY, now=at(100))
    stored = await store.get_session(session.id)
    assert stored is not None and stored.rating is None

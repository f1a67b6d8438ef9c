"""Every datetime the store returns is timezone-aware UTC, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from desklink.store import Store

from ._helpers import T0, at, make_queue, make_request, make_user

PLUS_0530 = timezone(timedelta(hours=5, minutes=30))
MINUS_08 = timezone(timedelta(hours=-8))


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value


async def test_every_record_comes_back_in_utc(store: Store) -> None:
    # Times given in other zones must come back as the same instants in UTC.
    t = T0.astimezone(PLUS_0530)
    user = await store.create_user("alice", "A", "rep", "h", t)
    auth = await store.create_auth_session("tok", user.id, "c", t, (T0 + timedelta(hours=1)).astimezone(MINUS_08))
    queue = await store.create_queue("main", "Main", [], t)
    req = await make_request(store, queue, t)
    session = await store.accept_request(req.id, user.id, at(5).astimezone(MINUS_08))
    assert session is not None
    msg, _ = await store.add_message(
        request_id=req.id, client_id="c", sender="rep", sender_name="A", user_id=user.id, body="x", now=t
    )
    ended = await store.end_session(session.id, ended_by="rep", disposition=None, note="", now=at(9).astimezone(PLUS_0530))
    assert ended is not None
    event = await store.add_event(request_id=req.id, kind="ended", actor="system", data={}, now=t)
    closed_req = await store.get_request(req.id)
    assert closed_req is not None
    got_auth = await store.get_auth_session("tok", T0)
    assert got_auth is not None

    values = [
        user.created_at,
        auth.created_at,
        auth.expires_at,
        got_auth[0].expires_at,
        got_auth[1].created_at,
        queue.created_at,
        req.created_at,
        closed_req.created_at,
        closed_req.accepted_at,
        closed_req.closed_at,
        session.started_at,
        ended.ended_at,
        msg.created_at,
        event.created_at,
        (await store.list_users())[0].created_at,
        (await store.list_sessions())[0].started_at,
        (await store.events_for(req.id))[0].created_at,
        (await store.all_messages(req.id))[0].created_at,
    ]
    for value in values:
        assert_utc(value)
    assert user.created_at == T0 and user.created_at.tzinfo is UTC
    assert auth.expires_at == T0 + timedelta(hours=1)
    assert (closed_req.accepted_at, closed_req.closed_at) == (at(5), at(9))


async def test_microseconds_survive(store: Store) -> None:
    t = datetime(2026, 7, 4, 23, 59, 59, 999_999, tzinfo=UTC)
    user = await make_user(store, now=t)
    got = await store.get_user(user.id)
    assert got is not None and got.created_at == t


async def test_order_is_by_instant_not_by_wall_clock(store: Store) -> None:
    queue = await make_queue(store)
    # 12:00 at +05:30 is 06:30 UTC: earlier than 10:00 UTC despite the larger
    # wall-clock reading.
    later = await make_request(store, queue, datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    earlier = await make_request(store, queue, datetime(2026, 3, 1, 12, 0, tzinfo=PLUS_0530))
    assert await store.waiting_requests([queue.id]) == [earlier, later]
    expired = await store.expire_waiting(datetime(2026, 3, 1, 7, 0, tzinfo=UTC), at(0))
    assert [r.id for r in expired] == [earlier.id]


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await store.create_user("alice", "A", "rep", "h", datetime(2026, 1, 1))
    assert await store.count_users() == 0

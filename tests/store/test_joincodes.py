"""Join codes: single use, expiring, burned after wrong tries."""

from __future__ import annotations

from datetime import timedelta

from desklink.store import Store

from ._helpers import at, make_queue, make_request, make_user


async def _session_id(store: Store) -> str:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue, at(0))
    session = await store.accept_request(req.id, rep.id, at(1))
    assert session is not None
    return session.id


async def test_code_is_single_use(store: Store) -> None:
    sid = await _session_id(store)
    slot = await store.create_join_code(session_id=sid, secret_hash="h1", now=at(2), expires_at=at(2) + timedelta(minutes=10))
    assert 0 <= slot < 1000
    assert await store.redeem_join_code(slot=slot, secret_hash="h1", now=at(3), max_tries=3) == sid
    assert await store.redeem_join_code(slot=slot, secret_hash="h1", now=at(4), max_tries=3) is None


async def test_code_expires(store: Store) -> None:
    sid = await _session_id(store)
    slot = await store.create_join_code(session_id=sid, secret_hash="h", now=at(2), expires_at=at(2) + timedelta(seconds=600))
    assert await store.redeem_join_code(slot=slot, secret_hash="h", now=at(2) + timedelta(seconds=601), max_tries=3) is None


async def test_wrong_tries_burn_the_code(store: Store) -> None:
    sid = await _session_id(store)
    slot = await store.create_join_code(session_id=sid, secret_hash="right", now=at(2), expires_at=at(900))
    assert await store.redeem_join_code(slot=slot, secret_hash="wrong", now=at(3), max_tries=3) is None
    assert await store.redeem_join_code(slot=slot, secret_hash="wrong", now=at(3), max_tries=3) is None
    assert await store.redeem_join_code(slot=slot, secret_hash="right", now=at(3), max_tries=3) == sid  # 2 wrong: still live
    slot = await store.create_join_code(session_id=sid, secret_hash="right", now=at(4), expires_at=at(900))
    for _ in range(3):
        assert await store.redeem_join_code(slot=slot, secret_hash="wrong", now=at(5), max_tries=3) is None
    assert await store.redeem_join_code(slot=slot, secret_hash="right", now=at(5), max_tries=3) is None  # burned


async def test_new_code_replaces_old_and_revoke(store: Store) -> None:
    sid = await _session_id(store)
    old = await store.create_join_code(session_id=sid, secret_hash="a", now=at(2), expires_at=at(900))
    new = await store.create_join_code(session_id=sid, secret_hash="b", now=at(3), expires_at=at(900))
    if old != new:
        assert await store.redeem_join_code(slot=old, secret_hash="a", now=at(4), max_tries=3) is None
    await store.revoke_join_codes(sid)
    assert await store.redeem_join_code(slot=new, secret_hash="b", now=at(4), max_tries=3) is None

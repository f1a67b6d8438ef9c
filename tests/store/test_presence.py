"""The presence log: stretches open, renew, close, and a dead node's are
closed at their last renewal."""

from __future__ import annotations

import pytest

from desklink.config import Settings
from desklink.errors import ConfigError
from desklink.store import Store

from ._helpers import at, make_user


async def test_a_stretch_opens_renews_and_closes(store: Store) -> None:
    rep = await make_user(store)
    sid = await store.open_presence(user_id=rep.id, node="n1", now=at(0))
    assert await store.renew_presence(sid, at(60))
    [open_] = await store.presence_stretches(rep.id)
    assert (open_.started_at, open_.seen_at, open_.ended_at, open_.node) == (at(0), at(60), None, "n1")
    assert await store.close_presence(sid, at(90))
    [closed] = await store.presence_stretches(rep.id)
    assert (closed.seen_at, closed.ended_at) == (at(90), at(90))
    # Closed is final: neither a late renewal nor a second close moves it.
    assert not await store.renew_presence(sid, at(120))
    assert not await store.close_presence(sid, at(130))
    assert (await store.presence_stretches(rep.id))[0].ended_at == at(90)


async def test_each_console_going_online_is_its_own_row(store: Store) -> None:
    rep = await make_user(store)
    other = await make_user(store, "bob")
    a = await store.open_presence(user_id=rep.id, node="n1", now=at(0))
    b = await store.open_presence(user_id=rep.id, node="n2", now=at(5))
    await store.open_presence(user_id=other.id, node="n1", now=at(6))
    assert a != b
    assert [s.id for s in await store.presence_stretches(rep.id)] == [a, b]
    assert len(await store.presence_stretches(other.id)) == 1


async def test_stale_stretches_close_at_their_last_renewal(store: Store) -> None:
    rep = await make_user(store)
    dead = await store.open_presence(user_id=rep.id, node="dead", now=at(0))
    await store.renew_presence(dead, at(60))
    live = await store.open_presence(user_id=rep.id, node="live", now=at(0))
    await store.renew_presence(live, at(400))
    ended = await store.open_presence(user_id=rep.id, node="dead", now=at(10))
    await store.close_presence(ended, at(20))

    assert await store.close_stale_presence(older_than=at(100)) == 1
    by_id = {s.id: s for s in await store.presence_stretches(rep.id)}
    assert by_id[dead].ended_at == at(60)  # not the sweep's time: its last sign of life
    assert by_id[live].ended_at is None
    assert by_id[ended].ended_at == at(20)
    assert await store.close_stale_presence(older_than=at(100)) == 0


async def test_stale_close_limited_to_one_node(store: Store) -> None:
    rep = await make_user(store)
    a = await store.open_presence(user_id=rep.id, node="a", now=at(0))
    b = await store.open_presence(user_id=rep.id, node="b", now=at(0))
    assert await store.close_stale_presence(older_than=at(10), node="a") == 1
    by_id = {s.id: s for s in await store.presence_stretches(rep.id)}
    assert by_id[a].ended_at == at(0) and by_id[b].ended_at is None


def test_stale_bound_must_exceed_the_renewal() -> None:
    Settings.from_env({}, presence_log_renew_s=10, presence_log_stale_s=30)
    with pytest.raises(ConfigError, match="presence_log_stale_s"):
        Settings.from_env({}, presence_log_renew_s=60, presence_log_stale_s=60)

"""The audit log, access changes and policies, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from desklink.store import Store

from ._helpers import make_user

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


async def test_audit_is_newest_first_and_pages_back(store: Store) -> None:
    admin = await make_user(store, "boss", role="admin")
    for i in range(5):
        await store.add_audit(
            actor_id=admin.id, actor="boss", action="user.role", target=f"user u{i}", data={"role": "supervisor"},
            now=T0 + timedelta(seconds=i),
        )
    first = await store.list_audit(limit=3)
    assert [e.target for e in first] == ["user u4", "user u3", "user u2"]
    assert first[0].actor_id == admin.id and first[0].data == {"role": "supervisor"}
    older = await store.list_audit(limit=3, before_id=first[-1].id)
    assert [e.target for e in older] == ["user u1", "user u0"]


async def test_audit_from_the_command_line_has_no_actor_id(store: Store) -> None:
    entry = await store.add_audit(actor_id=None, actor="command line", action="queue.create", target="queue x", data={}, now=T0)
    assert entry.actor_id is None and entry.actor == "command line"


async def test_access_changes_are_read_after_an_id_and_purged_by_age(store: Store) -> None:
    assert await store.last_access_change_id() == 0
    a = await store.add_access_change(7, T0)
    b = await store.add_access_change(8, T0 + timedelta(minutes=10))
    assert b > a
    assert [c.user_id for c in await store.access_changes_after(0)] == [7, 8]
    assert [c.user_id for c in await store.access_changes_after(a)] == [8]
    assert await store.last_access_change_id() == b
    assert await store.purge_access_changes(T0 + timedelta(minutes=5)) == 1
    assert [c.user_id for c in await store.access_changes_after(0)] == [8]


async def test_policies_are_replaced_whole(store: Store) -> None:
    assert await store.get_policy("mfa") is None
    await store.set_policy("mfa", {"roles": ["admin"]}, T0)
    await store.set_policy("mfa", {"roles": ["admin", "supervisor"]}, T0)
    assert await store.get_policy("mfa") == {"roles": ["admin", "supervisor"]}


async def test_purging_keeps_the_newest_change_so_ids_never_come_back(store: Store) -> None:
    """SQLite numbers a new row max(id) + 1: an emptied table would start at
    1 again, below the id every node has already read past."""
    first = await store.add_access_change(7, T0)
    newest = await store.add_access_change(8, T0)
    assert await store.purge_access_changes(T0 + timedelta(days=1)) == 1
    assert [c.id for c in await store.access_changes_after(0)] == [newest]
    after = await store.add_access_change(9, T0 + timedelta(days=1))
    assert after > newest > first
    assert [c.user_id for c in await store.access_changes_after(newest)] == [9]

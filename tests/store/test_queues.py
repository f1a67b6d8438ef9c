"""Queues and their members."""

from __future__ import annotations

import pytest

from desklink.errors import Conflict, NotFound
from desklink.store import Store

from ._helpers import T0, at, make_queue, make_user


async def test_create_and_get_queue(store: Store) -> None:
    queue = await store.create_queue("billing", "Billing", ["https://a.example", "http://b.example:8080"], T0)
    assert (queue.slug, queue.name, queue.created_at) == ("billing", "Billing", T0)
    assert queue.allowed_origins == ("https://a.example", "http://b.example:8080")
    assert await store.get_queue(queue.id) == queue
    assert await store.get_queue_by_slug("billing") == queue
    assert await store.get_queue(queue.id + 100) is None
    assert await store.get_queue_by_slug("Billing") is None  # slugs compare exactly


async def test_queue_with_no_origins(store: Store) -> None:
    queue = await store.create_queue("closed", "Closed", [], T0)
    assert queue.allowed_origins == ()
    assert await store.get_queue(queue.id) == queue


async def test_duplicate_slug_conflicts_and_keeps_the_original(store: Store) -> None:
    original = await store.create_queue("main", "Main", ["https://a.example"], T0)
    with pytest.raises(Conflict):
        await store.create_queue("main", "Other", ["https://evil.example"], at(1))
    assert await store.list_queues() == [original]


async def test_list_queues_in_creation_order(store: Store) -> None:
    slugs = ["zeta", "alpha", "mid"]
    for i, slug in enumerate(slugs):
        await make_queue(store, slug, now=at(i))
    assert [q.slug for q in await store.list_queues()] == slugs


async def test_update_queue(store: Store) -> None:
    queue = await make_queue(store)
    renamed = await store.update_queue(queue.id, name="Main desk")
    assert renamed.name == "Main desk" and renamed.allowed_origins == queue.allowed_origins
    moved = await store.update_queue(queue.id, allowed_origins=["https://new.example"])
    assert moved.allowed_origins == ("https://new.example",) and moved.name == "Main desk"
    cleared = await store.update_queue(queue.id, allowed_origins=[])
    assert cleared.allowed_origins == ()
    assert await store.get_queue(queue.id) == cleared
    assert await store.update_queue(queue.id) == cleared
    with pytest.raises(NotFound):
        await store.update_queue(queue.id + 1, name="x")


async def test_set_queue_members_replaces(store: Store) -> None:
    queue = await make_queue(store)
    a = await make_user(store, "a")
    b = await make_user(store, "b")
    c = await make_user(store, "c")
    await store.set_queue_members(queue.id, [c.id, a.id, a.id])
    assert await store.queue_member_ids(queue.id) == sorted([a.id, c.id])
    await store.set_queue_members(queue.id, [b.id])
    assert await store.queue_member_ids(queue.id) == [b.id]
    await store.set_queue_members(queue.id, [])
    assert await store.queue_member_ids(queue.id) == []


async def test_set_queue_members_refuses_unknown_ids_and_changes_nothing(store: Store) -> None:
    queue = await make_queue(store)
    a = await make_user(store, "a")
    await store.set_queue_members(queue.id, [a.id])
    with pytest.raises(NotFound):
        await store.set_queue_members(queue.id, [a.id, a.id + 50])
    assert await store.queue_member_ids(queue.id) == [a.id]
    with pytest.raises(NotFound):
        await store.set_queue_members(queue.id + 50, [a.id])


async def test_add_queue_member_is_idempotent(store: Store) -> None:
    queue = await make_queue(store)
    a = await make_user(store, "a")
    b = await make_user(store, "b")
    await store.add_queue_member(queue.id, b.id)
    await store.add_queue_member(queue.id, a.id)
    await store.add_queue_member(queue.id, b.id)
    assert await store.queue_member_ids(queue.id) == [a.id, b.id]
    with pytest.raises(NotFound):
        await store.add_queue_member(queue.id, b.id + 50)
    with pytest.raises(NotFound):
        await store.add_queue_member(queue.id + 50, a.id)


async def test_queues_of_user(store: Store) -> None:
    q1 = await make_queue(store, "one")
    q2 = await make_queue(store, "two")
    q3 = await make_queue(store, "three")
    a = await make_user(store, "a")
    b = await make_user(store, "b")
    await store.add_queue_member(q3.id, a.id)
    await store.add_queue_member(q1.id, a.id)
    await store.add_queue_member(q2.id, b.id)
    assert await store.queues_of_user(a.id) == [q1, q3]
    assert await store.queues_of_user(b.id) == [q2]
    assert await store.queues_of_user(b.id + 50) == []
    assert await store.queue_member_ids(q2.id + 50) == []


async def test_remove_one_member(store: Store) -> None:
    queue = await make_queue(store)
    a, b = await make_user(store, "a"), await make_user(store, "b")
    await store.set_queue_members(queue.id, [a.id, b.id])
    assert await store.remove_queue_member(queue.id, a.id) is True
    assert await store.remove_queue_member(queue.id, a.id) is False
    assert await store.queue_member_ids(queue.id) == [b.id]

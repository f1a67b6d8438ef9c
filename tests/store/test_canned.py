"""Canned replies (a queue's or a rep's own) and internal notes on sessions,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from desklink.errors import Conflict, NotFound, TooLarge
from desklink.store import Store

from ._helpers import at, make_queue, make_request, make_user


async def test_queue_and_personal_replies_are_listed_by_owner(store: Store) -> None:
    queue, other = await make_queue(store), await make_queue(store, "billing")
    alice, bob = await make_user(store), await make_user(store, "bob")
    q = await store.create_canned(
        queue_id=queue.id, owner_id=None, name="refund", title="Refund", body="Hi {visitor_name}",
        max_per_owner=5, now=at(1),
    )
    await store.create_canned(
        queue_id=other.id, owner_id=None, name="refund", title="Billing refund", body="B", max_per_owner=5, now=at(1)
    )
    mine = await store.create_canned(
        queue_id=None, owner_id=alice.id, name="refund", title="My refund", body="A", max_per_owner=5, now=at(2)
    )
    await store.create_canned(
        queue_id=None, owner_id=bob.id, name="hello", title="Bob's", body="B", max_per_owner=5, now=at(2)
    )
    assert (q.queue_id, q.owner_id, q.name, q.body, q.created_at) == (queue.id, None, "refund", "Hi {visitor_name}", at(1))
    listed = await store.list_canned(owner_id=alice.id, queue_ids=[queue.id])
    assert [(r.queue_id, r.owner_id, r.title) for r in listed] == [(queue.id, None, "Refund"), (None, alice.id, "My refund")]
    assert await store.list_canned(owner_id=None, queue_ids=[]) == []
    assert await store.get_canned(mine.id) == mine


async def test_a_name_is_unique_within_its_owner(store: Store) -> None:
    queue, alice = await make_queue(store), await make_user(store)
    await store.create_canned(queue_id=queue.id, owner_id=None, name="hi", title="t", body="b", max_per_owner=5, now=at(0))
    with pytest.raises(Conflict) as taken:
        await store.create_canned(queue_id=queue.id, owner_id=None, name="hi", title="t", body="b", max_per_owner=5, now=at(0))
    assert taken.value.code == "conflict_exists"
    other = await store.create_canned(
        queue_id=None, owner_id=alice.id, name="bye", title="t", body="b", max_per_owner=5, now=at(0)
    )
    await store.create_canned(queue_id=None, owner_id=alice.id, name="hi", title="t", body="b", max_per_owner=5, now=at(0))
    with pytest.raises(Conflict):
        await store.update_canned(other.id, name="hi", title=None, body=None, now=at(1))
    assert (await store.get_canned(other.id)) == other


async def test_an_owner_holds_at_most_max_per_owner(store: Store) -> None:
    queue, alice = await make_queue(store), await make_user(store)
    for i in range(3):
        await store.create_canned(queue_id=None, owner_id=alice.id, name=f"r{i}", title="t", body="b", max_per_owner=3, now=at(0))
    with pytest.raises(TooLarge):
        await store.create_canned(queue_id=None, owner_id=alice.id, name="r3", title="t", body="b", max_per_owner=3, now=at(0))
    # another owner has its own count
    await store.create_canned(queue_id=queue.id, owner_id=None, name="r3", title="t", body="b", max_per_owner=3, now=at(0))
    assert len(await store.list_canned(owner_id=alice.id)) == 3


async def test_update_and_delete(store: Store) -> None:
    queue = await make_queue(store)
    r = await store.create_canned(queue_id=queue.id, owner_id=None, name="a", title="t", body="b", max_per_owner=5, now=at(0))
    changed = await store.update_canned(r.id, name=None, title="T2", body="B2", now=at(9))
    assert (changed.name, changed.title, changed.body, changed.created_at, changed.updated_at) == ("a", "T2", "B2", at(0), at(9))
    assert await store.delete_canned(r.id) is True
    assert await store.delete_canned(r.id) is False
    with pytest.raises(NotFound):
        await store.update_canned(r.id, name="x", title=None, body=None, now=at(10))


async def test_unknown_owner_and_wrong_shape(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.create_canned(queue_id=999, owner_id=None, name="a", title="t", body="b", max_per_owner=5, now=at(0))
    with pytest.raises(NotFound):
        await store.create_canned(queue_id=None, owner_id=999, name="a", title="t", body="b", max_per_owner=5, now=at(0))
    with pytest.raises(ValueError):
        await store.create_canned(queue_id=None, owner_id=None, name="a", title="t", body="b", max_per_owner=5, now=at(0))


async def test_notes_are_kept_in_order_and_capped(store: Store) -> None:
    queue, rep = await make_queue(store), await make_user(store)
    req = await make_request(store, queue, at(0))
    session = await store.accept_request(req.id, rep.id, at(1))
    assert session is not None
    first = await store.add_session_note(session.id, author_id=rep.id, author_name="Alice", body="called back", max_notes=2, now=at(2))
    await store.add_session_note(session.id, author_id=None, author_name="Sup", body="<b>x</b>", max_notes=2, now=at(3))
    with pytest.raises(TooLarge):
        await store.add_session_note(session.id, author_id=rep.id, author_name="Alice", body="third", max_notes=2, now=at(4))
    notes = await store.session_notes(session.id)
    assert [(n.author_id, n.author_name, n.body, n.created_at) for n in notes] == [
        (rep.id, "Alice", "called back", at(2)),
        (None, "Sup", "<b>x</b>", at(3)),
    ]
    assert notes[0] == first
    with pytest.raises(NotFound):
        await store.add_session_note("nosuchsession", author_id=None, author_name="x", body="y", max_notes=2, now=at(5))
    # a note is no chat message: the transcript is untouched
    assert await store.all_messages(req.id) == []

"""Business hours on queues and offline messages, on SQLite and PostgreSQL:
stored and read back, listed newest first per queue and by state, the
unanswered count, a queue's limit of unanswered messages, and answering once
(the second answer is a conflict naming the first rep)."""

from __future__ import annotations

import asyncio

import pytest

from desklink.errors import Conflict, NotFound
from desklink.store import Store

from ._helpers import at, make_queue, make_user

HOURS = {"tz": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}, "holidays": ["2026-12-25"]}


async def test_queue_hours_are_kept(store: Store) -> None:
    queue = await make_queue(store)
    assert await store.get_queue_hours(queue.id) == {}
    assert await store.set_queue_hours(queue.id, HOURS) == HOURS
    assert await store.get_queue_hours(queue.id) == HOURS
    await store.set_queue_hours(queue.id, {})
    assert await store.get_queue_hours(queue.id) == {}
    with pytest.raises(NotFound):
        await store.get_queue_hours(99999)
    with pytest.raises(NotFound):
        await store.set_queue_hours(99999, HOURS)


async def _leave(store: Store, queue_id: int, n: int, max_pending: int = 10) -> str:
    msg = await store.create_offline_message(
        queue_id=queue_id, visitor_name=f"V{n}", visitor_email=f"v{n}@example.org", body=f"message {n}",
        ip="192.0.2.1", origin="https://shop.example", now=at(n), max_pending=max_pending,
    )
    return msg.id


async def test_messages_are_listed_and_answered_once(store: Store) -> None:
    queue, other = await make_queue(store), await make_queue(store, "billing")
    rita, sam = await make_user(store, "rita"), await make_user(store, "sam")
    first = await _leave(store, queue.id, 1)
    second = await _leave(store, queue.id, 2)
    elsewhere = await _leave(store, other.id, 3)
    got = await store.get_offline_message(first)
    assert got is not None and (got.visitor_email, got.body, got.created_at, got.copy_sent_at) == (
        "v1@example.org", "message 1", at(1), None,
    )
    await store.mark_offline_copy_sent(first, at(5))
    assert (await store.get_offline_message(first)).copy_sent_at == at(5)  # type: ignore[union-attr]

    assert [m.id for m in await store.list_offline_messages([queue.id])] == [second, first]
    assert [m.id for m in await store.list_offline_messages([queue.id, other.id], limit=2)] == [elsewhere, second]
    assert await store.list_offline_messages([]) == []
    assert await store.count_unanswered_offline([queue.id]) == 2

    # Two reps answer at once: exactly one wins, the other is told who.
    results = await asyncio.gather(
        store.mark_offline_answered(first, user_id=rita.id, user_name="Rita", answer="A", now=at(10)),
        store.mark_offline_answered(first, user_id=sam.id, user_name="Sam", answer="B", now=at(10)),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], Conflict) and lost[0].code == "conflict_answered"
    assert won[0].answered_by_name in lost[0].message
    assert await store.count_unanswered_offline([queue.id]) == 1
    assert [m.id for m in await store.list_offline_messages([queue.id], answered=True)] == [first]
    assert [m.id for m in await store.list_offline_messages([queue.id], answered=False)] == [second]
    with pytest.raises(NotFound):
        await store.mark_offline_answered("nope", user_id=rita.id, user_name="Rita", answer="A", now=at(11))


async def test_a_queue_holds_at_most_max_pending_unanswered(store: Store) -> None:
    queue, rita = await make_queue(store), await make_user(store, "rita")
    ids = [await _leave(store, queue.id, n, max_pending=2) for n in range(2)]
    with pytest.raises(Conflict) as full:
        await _leave(store, queue.id, 3, max_pending=2)
    assert full.value.code == "conflict_full"
    await store.mark_offline_answered(ids[0], user_id=rita.id, user_name="Rita", answer="ok", now=at(9))
    await _leave(store, queue.id, 4, max_pending=2)

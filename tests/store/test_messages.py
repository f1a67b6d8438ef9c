"""Chat messages and the event log."""

from __future__ import annotations

import pytest

from desklink.errors import Conflict, NotFound
from desklink.store import Message, Request, Store

from ._helpers import T0, at, make_queue, make_request, make_user

# Scripts, emoji with joiners and modifiers, combining marks, right-to-left
# text, astral-plane CJK, quotes and SQL-looking text.
UNICODE_TEXT = (
    "Grüße, 你好, مرحبا, שלום, こんにちは 👩🏽‍💻🏳️‍🌈 e\u0301 𠜎𠜱 "
    "'; DROP TABLE messages; -- \"quoted\" \\ back\\slash \t tab\nnew line"
)


async def _send(store: Store, req: Request, cid: str, body: str = "hi", **kw: object) -> tuple[Message, bool]:
    args: dict[str, object] = {
        "request_id": req.id,
        "client_id": cid,
        "sender": "visitor",
        "sender_name": "Visitor",
        "user_id": None,
        "body": body,
        "now": T0,
    }
    args.update(kw)
    return await store.add_message(**args)  # type: ignore[arg-type]


async def test_add_message_numbers_from_one(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue)
    m1, new1 = await _send(store, req, "c1", "hello", now=at(1))
    assert new1 and m1.seq == 1
    assert (m1.request_id, m1.client_id, m1.sender, m1.sender_name, m1.user_id, m1.body, m1.created_at) == (
        req.id,
        "c1",
        "visitor",
        "Visitor",
        None,
        "hello",
        at(1),
    )
    await store.accept_request(req.id, rep.id, at(2))
    m2, new2 = await _send(store, req, "r1", "hi, I'm Alice", sender="rep", sender_name="Alice", user_id=rep.id)
    assert new2 and m2.seq == 2 and m2.user_id == rep.id and m2.sender == "rep"
    assert await store.all_messages(req.id) == [m1, m2]


async def test_repeat_client_id_returns_the_stored_message(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    first, created = await _send(store, req, "same", "original", now=at(1))
    again, created_again = await _send(store, req, "same", "edited on resend", now=at(9))
    assert created and not created_again
    assert again == first
    nxt, _ = await _send(store, req, "next")
    assert nxt.seq == 2  # the repeat did not use up a seq
    assert [m.body for m in await store.all_messages(req.id)] == ["original", "hi"]


async def test_seqs_and_client_ids_are_per_request(store: Store) -> None:
    queue = await make_queue(store)
    r1 = await make_request(store, queue)
    r2 = await make_request(store, queue)
    a, _ = await _send(store, r1, "c1")
    b, created = await _send(store, r2, "c1")
    c, _ = await _send(store, r1, "c2")
    assert created and (a.seq, b.seq, c.seq) == (1, 1, 2)
    assert [m.client_id for m in await store.all_messages(r2.id)] == ["c1"]


async def test_messages_after(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    sent = [(await _send(store, req, f"c{i}", f"m{i}"))[0] for i in range(1, 8)]
    assert await store.messages_after(req.id, 0, 100) == sent
    assert await store.messages_after(req.id, 3, 100) == sent[3:]
    assert await store.messages_after(req.id, 3, 2) == sent[3:5]
    assert await store.messages_after(req.id, 7, 100) == []
    assert await store.messages_after("nope", 0, 100) == []
    assert await store.all_messages("nope") == []


async def test_chat_follows_lifecycle_rule_2(store: Store) -> None:
    queue = await make_queue(store)
    rep = await make_user(store)
    req = await make_request(store, queue)
    await _send(store, req, "w1")  # waiting: allowed
    session = await store.accept_request(req.id, rep.id, at(1))
    assert session is not None
    await _send(store, req, "a1")  # accepted: allowed
    await store.end_session(session.id, ended_by="visitor", disposition=None, note="", now=at(2))
    with pytest.raises(Conflict) as refused:
        await _send(store, req, "late")
    assert refused.value.code == "conflict_closed"
    with pytest.raises(Conflict):
        await _send(store, req, "late-rep", sender="rep", sender_name="Alice", user_id=rep.id)
    # A client re-sending something stored before the end gets it back.
    again, created = await _send(store, req, "a1")
    assert not created and again.seq == 2
    # The system records the ending after the fact.
    note, created = await _send(store, req, "sys-end", "Session ended", sender="system", sender_name="DeskLink")
    assert created and note.seq == 3
    assert [m.client_id for m in await store.all_messages(req.id)] == ["w1", "a1", "sys-end"]


async def test_chat_refused_on_abandoned_request(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    await store.close_request(req.id, "cancel", at(1))
    with pytest.raises(Conflict):
        await _send(store, req, "c1")
    assert await store.all_messages(req.id) == []


async def test_add_message_refusals(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    with pytest.raises(NotFound):
        await _send(store, req, "c1", request_id="no-such-request")
    with pytest.raises(NotFound):
        await _send(store, req, "c1", sender="rep", user_id=12345)
    with pytest.raises(ValueError):
        await _send(store, req, "c1", sender="robot")
    assert await store.all_messages(req.id) == []
    m, _ = await _send(store, req, "c1")
    assert m.seq == 1  # the refusals used no seq


async def test_unicode_and_long_text_round_trip(store: Store) -> None:
    queue = await make_queue(store)
    long_question = "Why? " * 20_000  # 100 000 characters
    req = await make_request(store, queue, question=long_question)
    assert (await store.get_request(req.id)).question == long_question  # type: ignore[union-attr]
    long_body = UNICODE_TEXT * 2_000
    m1, _ = await _send(store, req, "💬-1", UNICODE_TEXT, sender_name="Zoë 👩🏽‍💻")
    m2, _ = await _send(store, req, "c2", long_body)
    assert len(m2.body) == len(long_body)
    stored = await store.all_messages(req.id)
    assert stored == [m1, m2]
    assert (stored[0].body, stored[0].sender_name, stored[0].client_id) == (UNICODE_TEXT, "Zoë 👩🏽‍💻", "💬-1")
    assert stored[1].body == long_body


# -- events -----------------------------------------------------------------


async def test_events(store: Store) -> None:
    queue = await make_queue(store)
    r1 = await make_request(store, queue)
    r2 = await make_request(store, queue)
    data = {"rep": 7, "nested": {"list": [1, 2.5, None, True], "text": UNICODE_TEXT}, "empty": {}}
    rep = await make_user(store, "seven")
    e1 = await store.add_event(request_id=r1.id, kind="submitted", actor="visitor", data={}, now=at(1))
    e2 = await store.add_event(request_id=r2.id, kind="submitted", actor="visitor", data={}, now=at(2))
    e3 = await store.add_event(request_id=r1.id, kind="accepted", actor="rep", actor_id=rep.id, data=data, now=at(3))
    system = await store.add_event(request_id=None, kind="expired", actor="system", data={"n": 0}, now=at(4))
    assert e1.id < e2.id < e3.id < system.id
    assert (e3.request_id, e3.kind, e3.actor, e3.actor_id, e3.data, e3.created_at) == (
        r1.id,
        "accepted",
        "rep",
        rep.id,
        data,
        at(3),
    )
    assert e1.actor_id is None
    assert system.request_id is None
    assert await store.events_for(r1.id) == [e1, e3]
    assert await store.events_for(r2.id) == [e2]
    assert await store.events_for("nope") == []


async def test_events_keep_insertion_order_not_time_order(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    late = await store.add_event(request_id=req.id, kind="expired", actor="system", data={}, now=at(10))
    early = await store.add_event(request_id=req.id, kind="submitted", actor="system", data={}, now=at(1))
    assert await store.events_for(req.id) == [late, early]


async def test_event_for_unknown_request(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.add_event(request_id="no-such-request", kind="expired", actor="system", data={}, now=T0)


async def test_events_outside_the_vocabulary_are_refused(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    with pytest.raises(ValueError, match="unknown event kind"):
        await store.add_event(request_id=req.id, kind="made_up", actor="system", data={}, now=T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown actor"):
        await store.add_event(request_id=req.id, kind="expired", actor="rep:7", data={}, now=T0)  # type: ignore[arg-type]
    assert await store.events_for(req.id) == []

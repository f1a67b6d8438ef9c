"""What the live board reads, on SQLite and PostgreSQL: queue lengths,
the oldest waiting requests and open sessions up to a limit, each session's
mode marks (the newest sharing and privilege events, privilege read from the
event's JSON), files on their way, and reps' loads."""

from __future__ import annotations

from desklink.dispatch.board import modes_of
from desklink.store import Store

from ._helpers import at, make_queue, make_request, make_user


async def test_board_reads(store: Store) -> None:
    ann, bob = await make_user(store, "ann"), await make_user(store, "bob")
    main, other = await make_queue(store, "main"), await make_queue(store, "other")
    waiting = [await make_request(store, main, at(i)) for i in range(3)]
    await make_request(store, other, at(5))
    taken = [await make_request(store, main, at(10 + i)) for i in range(3)]
    sessions = []
    for i, req in enumerate(taken):
        s = await store.accept_request(req.id, (ann if i < 2 else bob).id, at(20 + i))
        assert s is not None
        sessions.append(s)
    await store.end_session(sessions[2].id, ended_by="rep", disposition="resolved", note="", now=at(40))

    assert await store.waiting_counts([main.id, other.id]) == {main.id: 3, other.id: 1}
    assert await store.waiting_counts([]) == {}
    assert [r.id for r in await store.waiting_oldest([main.id], 2)] == [w.id for w in waiting[:2]]
    assert await store.open_session_count([main.id]) == 2
    assert await store.open_session_count([other.id]) == 0
    listed = await store.open_sessions_of_queues([main.id], 1)
    assert [(x.session_id, x.rep_name, x.visitor_name, x.queue_id) for x in listed] == [
        (sessions[0].id, "Ann", "Visitor", main.id)
    ]
    assert await store.open_session_loads([ann.id, bob.id]) == {ann.id: 2}
    assert await store.display_names([ann.id, bob.id, 9999]) == {ann.id: "Ann", bob.id: "Bob"}

    first, second = taken[0].id, taken[1].id
    events = [
        (first, "sharing_started", {}),
        (first, "privilege_granted", {"privilege": "control"}),
        (first, "privilege_granted", {"privilege": "files"}),
        (first, "privilege_released", {"privilege": "files"}),
        (second, "sharing_started", {}),
        (second, "privilege_granted", {"privilege": "control"}),
        (second, "sharing_stopped", {"by": "visitor"}),
        (second, "privilege_revoked", {"privilege": "control", "reason": "stop"}),
    ]
    for i, (rid, kind, data) in enumerate(events):
        await store.add_event(request_id=rid, kind=kind, actor="system", data=data, now=at(50 + i))  # type: ignore[arg-type]
    marks = await store.mode_marks([first, second])
    assert modes_of(marks[first]) == ["chat", "screen", "control"]
    assert modes_of(marks[second]) == ["chat"]
    assert set(marks[first]) == {
        ("sharing_started", ""), ("privilege_granted", "control"), ("privilege_granted", "files"),
        ("privilege_released", "files"),
    }

    await store.create_transfer(
        request_id=second, session_id=sessions[1].id, sender="visitor", sender_name="V", user_id=None, via="browser",
        target="chat", client_id="c1", name="log.txt", mime="text/plain", size=10, download_key="k", status="uploading",
    )
    assert await store.requests_with_files_travelling([first, second]) == {second}
    assert modes_of(marks[second], files_travelling=True) == ["chat", "files"]

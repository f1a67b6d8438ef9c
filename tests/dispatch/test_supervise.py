"""Who watches the chat, folded from the stored events (dispatch/supervise.py),
and the one rule for who may supervise a session (server/session_access.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from desklink.dispatch.supervise import chat_watchers, whispers
from desklink.server.session_access import may_supervise
from desklink.store.records import Event, User

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def ev(i: int, kind: str, actor_id: int | None, **data: Any) -> Event:
    return Event(i, "req-1", kind, "watcher", actor_id, data, T0)  # type: ignore[arg-type]


def user(uid: int, role: str) -> User:
    return User(id=uid, username=f"u{uid}", display_name=f"U{uid}", role=role, password_hash="", disabled=False,  # type: ignore[arg-type]
                created_at=T0)


def test_watchers_come_and_go_by_person_in_order_and_screen_watching_does_not_count() -> None:
    events = [
        ev(1, "watcher_joined", 9, what="chat", name="Sue", role="supervisor"),
        ev(2, "watcher_joined", 11, name="Bob"),  # the screen, not the chat
        ev(3, "watcher_joined", 11, what="chat", name="Bob", role="admin"),
        ev(4, "watcher_joined", 9, what="chat", name="Sue", role="supervisor"),  # a second console: once
        ev(5, "watcher_left", 11, name="Bob"),  # left the screen only
    ]
    assert chat_watchers(events) == [
        {"id": 9, "name": "Sue", "role": "supervisor"},
        {"id": 11, "name": "Bob", "role": "admin"},
    ]
    assert chat_watchers([*events, ev(6, "watcher_left", 9, what="chat", name="Sue")]) == [
        {"id": 11, "name": "Bob", "role": "admin"}
    ]


def test_whispers_are_read_back_from_their_events() -> None:
    events = [ev(1, "whispered", 9, text="try safe mode", cid="w1", name="Sue"), ev(2, "joined_chat", 9, name="Sue")]
    (w,) = whispers(events, "s1")
    assert (w["t"], w["session_id"], w["text"], w["from"], w["cid"]) == ("whisper", "s1", "try safe mode", {"id": 9, "name": "Sue"}, "w1")


def test_only_an_admin_or_a_supervisor_of_the_queue_may_supervise() -> None:
    assert may_supervise(user(1, "admin"), queue_id=5, user_queue_ids=set())
    assert may_supervise(user(2, "supervisor"), queue_id=5, user_queue_ids={5, 6})
    assert not may_supervise(user(3, "supervisor"), queue_id=5, user_queue_ids={6})
    assert not may_supervise(user(4, "rep"), queue_id=5, user_queue_ids={5})

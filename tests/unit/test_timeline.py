"""The timeline in words (desklink.timeline), pure: records in, sentences out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from desklink.protocol.events import EVENT_KINDS
from desklink.store.records import Event, Message
from desklink.timeline import MARKERS, Person, as_json, build, size_words

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
ANN = Person("Ann", "rep")
SUE = Person("Sue", "supervisor")
PEOPLE = {2: ANN, 7: SUE}


def ev(i: int, kind: str, actor: str = "system", actor_id: int | None = None, at: int = 0, **data: Any) -> Event:
    return Event(i, "req-1", kind, actor, actor_id, data, T0 + timedelta(seconds=at))  # type: ignore[arg-type]


def msg(seq: int, sender: str, body: str, at: int = 0, user_id: int | None = None, name: str = "") -> Message:
    return Message("req-1", seq, f"c{seq}", sender, name, user_id, body, T0 + timedelta(seconds=at))  # type: ignore[arg-type]


def words(*events: Event, messages: tuple[Message, ...] = ()) -> list[str]:
    return [i.text for i in build(messages, events, visitor_name="Bob", rep=ANN, people=PEOPLE)]


def test_every_event_kind_has_a_marker_and_words_without_ids() -> None:
    assert set(MARKERS) == set(EVENT_KINDS)
    for n, kind in enumerate(EVENT_KINDS):
        (text,) = words(ev(n, kind, "rep", 2, privilege="control", name="x.txt", size=10))
        assert not text.endswith(": " + kind), f"{kind} has no words"
        assert "_" not in text and "{" not in text and "2" not in text, text


def test_the_sentences_name_people_and_roles() -> None:
    assert words(
        ev(1, "privilege_asked", "rep", 2, privilege="control"),
        ev(2, "privilege_granted", "visitor", privilege="control"),
        ev(3, "privilege_released", "rep", 2, privilege="control"),
        ev(4, "privilege_revoked", "visitor", privilege="control"),
        ev(5, "privilege_revoked", "system", privilege="control", because="drop"),
        ev(6, "clipboard_crossed", "visitor", direction="from_visitor", chars=120),
        ev(7, "clipboard_crossed", "rep", 2, direction="to_visitor", chars=1),
        ev(8, "watcher_joined", "watcher", 7, name="Sue"),
        ev(9, "watcher_left", "watcher", 7, name="Sue"),
        ev(10, "sharing_stopped", "rep", 2, by="rep"),
        ev(11, "annotated", "rep", 2, op="stroke", tool="arrow"),
        ev(12, "annotated", "visitor", op="clear"),
        ev(13, "file_offered", "rep", 2, direction="to_visitor", name="fix.sh", size=12_800, to="computer"),
        ev(14, "ended", "rep", 2, by="rep", disposition="not_resolved"),
        ev(15, "watcher_joined", "watcher", 99, name="Zed"),
    ) == [
        "Ann (rep) asked to control the screen",
        "The visitor allowed control: Ann (rep) has the mouse and keyboard",
        "Ann (rep) handed control back to the visitor",
        "The visitor took control back",
        "Control ended: the agent's link dropped",
        "Clipboard: 120 characters went from the visitor to Ann",
        "Clipboard: 1 character went from Ann to the visitor",
        "Sue (supervisor) started watching the screen",
        "Sue (supervisor) stopped watching the screen",
        "Ann (rep) stopped sharing the screen",
        "Ann (rep) drew an arrow on the screen",
        "The visitor cleared the drawings on the screen",
        "Ann (rep) sent the file fix.sh (12 KB) to the visitor's computer",
        "Ann (rep) ended the session (not resolved)",
        "Zed (rep) started watching the screen",  # a user since removed: the name the event kept
    ]


def test_chat_and_events_interleave_by_time_then_storage_order() -> None:
    items = build(
        [msg(1, "visitor", "hello", at=1, name="Bob"), msg(2, "rep", "hi Bob", at=3, user_id=2, name="Ann")],
        [ev(1, "submitted", "visitor", at=0, queue="billing"), ev(2, "accepted", "rep", 2, at=2),
         ev(3, "ended", "visitor", at=3, by="visitor")],
        visitor_name="Bob", rep=ANN, people=PEOPLE,
    )
    assert [i.text for i in items] == [
        "Bob (visitor) asked for help in the billing queue",
        "Bob (visitor) wrote: hello",
        "Ann (rep) accepted the request",
        "Ann (rep) wrote: hi Bob",
        "The visitor ended the session",
    ]
    assert [i.marker for i in items] == ["request", "chat", "request", "chat", "request"]
    assert as_json(items[3]) == {
        "at": "2024-05-01T09:00:03Z", "kind": "chat", "marker": "chat",
        "actor": {"name": "Ann", "role": "rep"}, "text": "Ann (rep) wrote: hi Bob",
    }


def test_desklinks_own_lines_read_as_they_are() -> None:
    (item,) = build([msg(1, "system", "Ann joined the conversation.")], [], visitor_name="Bob", rep=ANN, people=PEOPLE)
    assert (item.text, item.actor) == ("Ann joined the conversation.", Person("DeskLink", "system"))


def test_markup_a_peer_typed_stays_text() -> None:
    (item,) = build([msg(1, "visitor", "<img src=x onerror=alert(1)>")], [], visitor_name="", rep=ANN, people={})
    assert item.text == "The visitor wrote: <img src=x onerror=alert(1)>"  # the page shows it with textContent


def test_sizes_in_words() -> None:
    assert [size_words(n) for n in (1, 512, 1024, 12_800, 3_500_000, 5 * 1024**4)] == [
        "1 byte", "512 bytes", "1.0 KB", "12 KB", "3.3 MB", "5120 GB",
    ]


def test_supervisor_words_tell_chat_watching_from_screen_watching() -> None:
    assert words(
        ev(1, "watcher_joined", "watcher", 7, name="Sue", what="chat", role="supervisor"),
        ev(2, "whispered", "watcher", 7, text="Try safe mode", cid="w1", name="Sue"),
        ev(3, "joined_chat", "watcher", 7, name="Sue", role="supervisor"),
        ev(4, "taken_over", "watcher", 7, from_rep_id=2, from_name="Ann", to_name="Sue"),
        ev(5, "watcher_left", "watcher", 7, name="Sue", what="chat"),
        ev(6, "watcher_joined", "watcher", 7, name="Sue"),
    ) == [
        "Sue (supervisor) started watching the chat",
        "Sue (supervisor) whispered to the rep: Try safe mode",
        "Sue (supervisor) joined the chat",
        "Sue (supervisor) took the session over from Ann",
        "Sue (supervisor) stopped watching the chat",
        "Sue (supervisor) started watching the screen",
    ]

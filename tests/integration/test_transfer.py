"""Transfer and invite (issue 14, "For reps"), on a real server with real
sockets: a rep hands a live session to a colleague or a queue with a note
the visitor never sees, or asks a colleague into the chat.

The note's promise is negative (the visitor never reads it): each check
first waits for a line the visitor must see that was sent after the note."""

from __future__ import annotations

from typing import Any

import pytest

from desklink.protocol.limits import MAX_NOTE_CHARS
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until

NOTE = "internal: customer is on the gold plan, be gentle"


class Desk:
    """Reps of one queue, each online, and logins by username."""

    def __init__(self, server: ServerProcess, admin: AdminAPI, unique: str) -> None:
        self.server, self.admin, self.unique = server, admin, unique
        self.logins: dict[str, tuple[str, str]] = {}

    async def reps(self, queue: dict[str, Any], names: list[str], *, online: bool = True) -> list[RepClient]:
        clients = []
        for name in names:
            username = f"{self.unique}{name.lower()}"
            user_id = self.admin.user(username, "rep password", display_name=name)["id"]
            self.admin.members(queue["id"], [*self.admin.queue(queue["slug"])["members"], user_id])
            self.logins[name] = (username, "rep password")
            clients.append(await RepClient.connect(self.server, username, "rep password", online=online))
        return clients


def uid(rep: RepClient) -> int:
    return int(rep.welcome["user"]["id"])


async def _live(
    server: ServerProcess, admin: AdminAPI, unique: str, names: list[str]
) -> tuple[Desk, dict[str, Any], list[RepClient], VisitorClient, str]:
    """A queue with reps ``names`` online; the first accepted a visitor who wrote a line."""
    desk = Desk(server, admin, unique)
    queue = admin.queue(unique + "q")
    reps = await desk.reps(queue, names)
    visitor = await VisitorClient.submit(server, queue=queue["slug"], name="Vera")
    for rep in reps:
        await rep.expect("alert", timeout=20)
    await reps[0].send({"t": "accept", "request_id": visitor.request_id})
    sid = str((await reps[0].expect("accepted"))["session"]["id"])
    await visitor.expect("joined")
    await visitor.send({"t": "chat.send", "cid": "v1", "text": "my printer is on fire"})
    await reps[0].expect("chat", cid="v1")
    return desk, queue, reps, visitor, sid


async def _close(*clients: Any) -> None:
    for c in clients:
        await c.close()


def _timeline(admin: AdminAPI, sid: str) -> list[str]:
    return [i["text"] for i in admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]]


async def test_transfer_to_a_rep_moves_the_session_and_the_screen(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    desk, _, (ann, bob), visitor, sid = await _live(server, admin, unique, ["Ann", "Bob"])
    viewer = await ViewerClient.connect(server, *desk.logins["Ann"], sid)
    try:
        await viewer.wait_status("waiting_agent")
        # The dialog lists Bob (online) and not Ann herself.
        await ann.send({"t": "handoff.list"})
        targets = await ann.expect("handoff.targets")
        ids = [r["id"] for r in targets["reps"]]
        assert uid(bob) in ids and uid(ann) not in ids
        assert any(q["slug"] == unique + "q" and q["online"] == 1 for q in targets["queues"])  # Bob; Ann left out

        await ann.send({"t": "transfer", "session_id": sid, "to_rep_id": uid(bob), "note": NOTE})
        assert (await ann.expect("handoff.result", session_id=sid))["outcome"] == "offered"
        alert = await bob.expect("handoff.alert")
        assert (alert["kind"], alert["note"], alert["from"]["name"], alert["session"]["id"]) == ("transfer", NOTE, "Ann", sid)
        assert [m["text"] for m in alert["history"] if m["from"] == "visitor"] == ["my printer is on fire"]
        # Until Bob accepts, it is still Ann's.
        await ann.send({"t": "chat.send", "session_id": sid, "cid": "a1", "text": "one moment, a colleague will help"})
        await visitor.expect("chat", cid="a1")

        await bob.send({"t": "handoff.accept", "session_id": sid, "id": alert["id"]})
        assert (await bob.expect("accepted"))["session"]["id"] == sid
        told = await ann.expect("taken_over", session_id=sid)
        assert (told["by"]["name"], told["how"]) == ("Bob", "transfer")
        result = await ann.expect("handoff.result", outcome="accepted")
        assert result["by"]["name"] == "Bob"
        await bob.expect("handoff.withdrawn", id=alert["id"])
        # The visitor is told who took over; the header follows taken_over.
        assert (await visitor.expect("taken_over"))["rep"] == {"name": "Bob"}
        took = await visitor.expect("chat", text="Bob took over the conversation.")
        assert (took["code"], took["vars"]) == ("taken_over", {"name": "Bob"})  # said in the visitor's language
        # Bob has the history and speaks; Ann is detached (chat and viewer).
        await bob.expect("chat", cid="v1")
        await bob.expect("chat", text="Bob took over the conversation.")
        await bob.send({"t": "chat.send", "session_id": sid, "cid": "b1", "text": "Bob here"})
        assert (await visitor.expect("chat", cid="b1"))["name"] == "Bob"
        await ann.send({"t": "chat.send", "session_id": sid, "cid": "a2", "text": "still mine?"})
        assert (await ann.expect("error"))["code"] == "forbidden"
        await wait_until(lambda: viewer.ws.close_code is not None, what="Ann's viewer closed")
        assert viewer.ws.close_code == 4003 and "transferred" in (viewer.ws.close_reason or "")
        bob_view = await ViewerClient.connect(server, *desk.logins["Bob"], sid)
        await bob_view.wait_status("waiting_agent")
        await bob_view.close()
        # The note never reached the visitor.
        assert NOTE not in str(visitor.received)
        await bob.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
        await visitor.expect("ended")
    finally:
        await _close(viewer, ann, bob, visitor)
    transcript = admin.http.get(f"/api/sessions/{sid}/transcript")
    assert "Bob here" in transcript.text and NOTE not in transcript.text
    texts = _timeline(admin, sid)
    offered = next(i for i, t in enumerate(texts) if t.startswith("Ann (rep) offered the session to Bob"))
    taken = next(i for i, t in enumerate(texts) if t.startswith("Bob (rep) accepted the transfer from Ann"))
    assert offered < taken and NOTE in texts[offered], texts


async def test_transfer_to_a_queue_first_accept_wins(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    desk, _, (ann,), visitor, sid = await _live(server, admin, unique, ["Ann"])
    billing = admin.queue(unique + "bill")
    carl, dana = await desk.reps(billing, ["Carl", "Dana"])
    try:
        await ann.send({"t": "transfer", "session_id": sid, "to_queue_id": billing["id"], "note": "billing question"})
        a1 = await carl.expect("handoff.alert")
        a2 = await dana.expect("handoff.alert")
        assert a1["id"] == a2["id"] and a1["to_queue_id"] == billing["id"]
        await carl.send({"t": "handoff.accept", "session_id": sid, "id": a1["id"]})
        await carl.expect("accepted", timeout=10)
        withdrawn = await dana.expect("handoff.withdrawn", id=a1["id"])
        assert (withdrawn["reason"], withdrawn["taken_by"]["name"]) == ("taken", "Carl")
        await dana.send({"t": "handoff.accept", "session_id": sid, "id": a1["id"]})
        assert (await dana.expect("error"))["code"] == "conflict_closed"
        await ann.expect("taken_over", session_id=sid)
        await visitor.expect("chat", text="Carl took over the conversation.")
        # Ann's console was not a member of billing: she could never have taken it.
        assert not any(m.get("t") == "handoff.alert" for m in ann.received)
    finally:
        await _close(ann, carl, dana, visitor)


async def test_declined_transfer_stays_with_the_rep(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    _, _, (ann, bob), visitor, sid = await _live(server, admin, unique, ["Ann", "Bob"])
    try:
        await ann.send({"t": "transfer", "session_id": sid, "to_rep_id": uid(bob), "note": ""})
        alert = await bob.expect("handoff.alert")
        await bob.send({"t": "handoff.decline", "session_id": sid, "id": alert["id"]})
        result = await ann.expect("handoff.result", outcome="declined")
        assert result["by"]["name"] == "Bob"
        await bob.expect("handoff.withdrawn", id=alert["id"], reason="declined")
        # Too late to accept now; Ann still holds and speaks.
        await bob.send({"t": "handoff.accept", "session_id": sid, "id": alert["id"]})
        assert (await bob.expect("error"))["code"] == "conflict_closed"
        await ann.send({"t": "chat.send", "session_id": sid, "cid": "a1", "text": "still with me"})
        await visitor.expect("chat", cid="a1")
        # A new offer is possible once the first is decided.
        await ann.send({"t": "transfer", "session_id": sid, "to_rep_id": uid(bob), "note": ""})
        assert (await ann.expect("handoff.result", outcome="offered", timeout=10))
    finally:
        await _close(ann, bob, visitor)
    assert any(t.startswith("Bob (rep) declined the transfer") for t in _timeline(admin, sid))


async def test_invite_brings_a_second_rep_into_the_chat(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    desk, _, (ann, bob), visitor, sid = await _live(server, admin, unique, ["Ann", "Bob"])
    try:
        await ann.send({"t": "invite", "session_id": sid, "to_rep_id": uid(bob), "note": "printer expert needed"})
        alert = await bob.expect("handoff.alert")
        assert (alert["kind"], alert["note"]) == ("invite", "printer expert needed")
        await bob.send({"t": "handoff.accept", "session_id": sid, "id": alert["id"]})
        watching = await bob.expect("watching")
        assert (watching["session"]["id"], watching["chat_joined"], watching["invited"]) == (sid, True, True)
        await bob.expect("chat", cid="v1")  # the history
        await ann.expect("handoff.result", outcome="accepted")
        joined = await visitor.expect("chat", text="Bob joined the chat.")
        assert (joined["code"], joined["vars"]) == ("invited", {"name": "Bob"})
        assert [w["name"] for w in (await visitor.expect("watchers"))["watchers"]] == ["Bob"]
        # Both reps' lines reach the visitor; Ann still holds the session.
        await bob.send({"t": "chat.send", "session_id": sid, "cid": "b1", "text": "Bob here too"})
        assert (await visitor.expect("chat", cid="b1"))["name"] == "Bob"
        await ann.expect("chat", cid="b1")
        await ann.send({"t": "chat.send", "session_id": sid, "cid": "a1", "text": "thanks Bob"})
        await visitor.expect("chat", cid="a1")
        await bob.expect("chat", cid="a1")
        await visitor.send({"t": "chat.send", "cid": "v2", "text": "hello both"})
        await bob.expect("chat", cid="v2")
        # A reloaded console of Bob's watches again as the invited guest.
        again = await RepClient.connect(server, *desk.logins["Bob"], online=False)
        await again.send({"t": "watch", "session_id": sid})
        rewatch = await again.expect("watching")
        assert (rewatch["chat_joined"], rewatch["invited"]) == (True, True)
        await again.close()
        # A guest may watch the screen, never take the session.
        viewer = await ViewerClient.connect(server, *desk.logins["Bob"], sid)
        await viewer.wait_status("waiting_agent")
        # Control stays with the rep holding the session: one at a time.
        await viewer.ws.send('{"t": "control.request"}')
        await wait_until(lambda: viewer.errors, what="the guest's control request refused")
        assert viewer.errors[0]["code"] == "forbidden"
        await viewer.close()
        await bob.send({"t": "take_over", "session_id": sid})
        assert (await bob.expect("error"))["code"] == "forbidden"
        # Leaving: told to the visitor; Bob may not speak any more.
        await bob.send({"t": "leave_chat", "session_id": sid})
        assert (await bob.expect("unwatched", session_id=sid))["reason"] == "left"
        left = await visitor.expect("chat", text="Bob left the chat.")
        assert (left["code"], left["vars"]) == ("left_chat", {"name": "Bob"})
        await bob.send({"t": "chat.send", "session_id": sid, "cid": "b2", "text": "gone?"})
        assert (await bob.expect("error"))["code"] == "forbidden"
        await ann.send({"t": "chat.send", "session_id": sid, "cid": "a2", "text": "marker"})
        await visitor.expect("chat", cid="a2")
        assert "printer expert needed" not in str(visitor.received)
    finally:
        await _close(ann, bob, visitor)
    texts = _timeline(admin, sid)
    acts = ["Ann (rep) invited Bob into the chat", "Bob (rep) joined the chat at an invitation", "Bob (rep) left the chat"]
    at = [next(i for i, t in enumerate(texts) if t.startswith(a)) for a in acts]
    assert at == sorted(at), texts


async def test_refusals_have_clear_codes(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    desk, queue, (ann, bob), visitor, sid = await _live(server, admin, unique, ["Ann", "Bob"])
    (erin,) = await desk.reps(queue, ["Erin"], online=False)
    try:
        cases: list[tuple[RepClient, dict[str, Any], str]] = [
            (ann, {"t": "transfer", "session_id": sid, "to_rep_id": uid(erin)}, "bad_state"),  # offline
            (ann, {"t": "invite", "session_id": sid, "to_rep_id": uid(erin)}, "bad_state"),
            (ann, {"t": "transfer", "session_id": sid, "to_rep_id": uid(ann)}, "bad_state"),  # yourself
            (ann, {"t": "transfer", "session_id": sid, "to_rep_id": 999_999}, "not_found"),
            (ann, {"t": "transfer", "session_id": sid, "to_queue_id": 999_999}, "not_found"),
            (ann, {"t": "transfer", "session_id": sid}, "bad_message"),  # nobody named
            (ann, {"t": "transfer", "session_id": sid, "to_rep_id": uid(bob), "note": "x" * (MAX_NOTE_CHARS + 1)}, "too_large"),
            (bob, {"t": "transfer", "session_id": sid, "to_rep_id": uid(ann)}, "forbidden"),  # not his
            (ann, {"t": "transfer", "session_id": "no-such", "to_rep_id": uid(bob)}, "not_found"),
            (bob, {"t": "handoff.accept", "session_id": sid, "id": "nope"}, "conflict_closed"),
        ]
        for who, msg, code in cases:
            who.received.clear()
            await who.send(msg)
            err = await who.expect("error")
            assert err["code"] == code, (msg, err)
        assert not any(m.get("t") == "handoff.alert" for m in erin.received + bob.received)
        # One open offer at a time; someone else's alert is not yours to take.
        await ann.send({"t": "transfer", "session_id": sid, "to_rep_id": uid(bob)})
        alert = await bob.expect("handoff.alert")
        await ann.send({"t": "invite", "session_id": sid, "to_rep_id": uid(bob)})
        assert (await ann.expect("error"))["code"] == "bad_state"
        await erin.send({"t": "handoff.accept", "session_id": sid, "id": alert["id"]})
        assert (await erin.expect("error"))["code"] == "forbidden"
        # An ended session cannot be offered, and its open offer is void.
        await ann.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
        await visitor.expect("ended")
        await ann.send({"t": "transfer", "session_id": sid, "to_rep_id": uid(bob)})
        assert (await ann.expect("error"))["code"] == "conflict_closed"
        await bob.send({"t": "handoff.accept", "session_id": sid, "id": alert["id"]})
        assert (await bob.expect("error"))["code"] == "conflict_closed"
    finally:
        await _close(ann, bob, erin, visitor)


@pytest.fixture(scope="module")
def quick_server() -> Any:
    """A server whose offers lapse after a second (``transfer_timeout_s``)
    and carry the newest three chat lines (``transfer_history_lines``)."""
    env = {**ONE_ADDRESS_ENV, "DESKLINK_TRANSFER_TIMEOUT_S": "1", "DESKLINK_TRANSFER_HISTORY_LINES": "3"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_an_offer_nobody_takes_lapses_past_transfer_timeout_s(quick_server: ServerProcess, unique: str) -> None:
    admin = AdminAPI(quick_server)
    try:
        _, _, (ann, bob), visitor, sid = await _live(quick_server, admin, unique, ["Ann", "Bob"])
        try:
            await ann.send({"t": "transfer", "session_id": sid, "to_rep_id": uid(bob), "note": ""})
            alert = await bob.expect("handoff.alert")
            assert alert["expires_in_s"] == 1
            result = await ann.expect("handoff.result", outcome="expired", timeout=20)
            assert result["id"] == alert["id"]
            await bob.expect("handoff.withdrawn", id=alert["id"], reason="expired")
            await bob.send({"t": "handoff.accept", "session_id": sid, "id": alert["id"]})
            assert (await bob.expect("error"))["code"] == "conflict_closed"
            await ann.send({"t": "chat.send", "session_id": sid, "cid": "a1", "text": "still mine"})
            await visitor.expect("chat", cid="a1")
        finally:
            await _close(ann, bob, visitor)
        assert any(t.startswith("Nobody accepted the transfer in time") for t in _timeline(admin, sid))
    finally:
        admin.close()


async def test_an_offer_carries_only_the_newest_transfer_history_lines(quick_server: ServerProcess, unique: str) -> None:
    admin = AdminAPI(quick_server)
    try:
        _, _, (ann, bob), visitor, sid = await _live(quick_server, admin, unique, ["Ann", "Bob"])
        try:
            for i in range(2, 6):
                await visitor.send({"t": "chat.send", "cid": f"v{i}", "text": f"line {i}"})
                await ann.expect("chat", cid=f"v{i}")
            await ann.send({"t": "invite", "session_id": sid, "to_rep_id": uid(bob)})
            alert = await bob.expect("handoff.alert")
            assert [m["text"] for m in alert["history"]] == ["line 3", "line 4", "line 5"]
        finally:
            await _close(ann, bob, visitor)
    finally:
        admin.close()

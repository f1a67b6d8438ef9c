"""Chat both ways, typing, resume without loss or duplicates, end, transcript."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient


async def _pair(server: ServerProcess, admin: AdminAPI, unique: str) -> tuple[RepClient, VisitorClient, str]:
    admin.queue(unique)
    (user, pw), = admin.reps(1, queue_slug=unique, prefix=unique + "rep")
    rep = await RepClient.connect(server, user, pw)
    rep.credentials = (user, pw)  # type: ignore[attr-defined]
    visitor = await VisitorClient.submit(server, queue=unique, name="Ann", question="Wi-Fi keeps dropping")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    accepted = await rep.expect("accepted")
    await visitor.expect("joined")
    return rep, visitor, accepted["session"]["id"]


def chats(client: VisitorClient | RepClient) -> list[tuple[int, str, str]]:
    return [(m["seq"], m["from"], m["text"]) for m in client.received if m["t"] == "chat"]


async def test_chat_both_ways_with_typing(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid = await _pair(server, admin, unique)
    await visitor.send({"t": "typing", "on": True})
    typing = await rep.expect("typing")
    assert typing == {"t": "typing", "session_id": sid, "from": "visitor", "on": True}

    await visitor.send({"t": "chat.send", "cid": "v1", "text": "  hello there  "})
    got = await rep.expect("chat", cid="v1")
    assert (got["from"], got["name"], got["text"], got["session_id"]) == ("visitor", "Ann", "hello there", sid)
    echo = await visitor.expect("chat", cid="v1")
    assert echo["seq"] == got["seq"]

    await rep.send({"t": "typing", "session_id": sid, "on": True})
    assert (await visitor.expect("typing"))["from"] == "rep"
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "Hi Ann, let's look"})
    assert (await visitor.expect("chat", cid="r1"))["from"] == "rep"

    seqs = [s for s, _, _ in chats(visitor)]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    for c in (rep, visitor):
        await c.close()


async def test_visitor_reconnect_resumes_without_loss_or_duplicates(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    rep, visitor, sid = await _pair(server, admin, unique)
    await visitor.send({"t": "chat.send", "cid": "a", "text": "one"})
    await visitor.expect("chat", cid="a")
    last_seq = max(s for s, _, _ in chats(visitor))
    await visitor.close()

    # While the visitor is gone the rep writes twice.
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r-a", "text": "two"})
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r-b", "text": "three"})
    await rep.expect("chat", cid="r-b")

    again = await VisitorClient.open(server, visitor.request_id, visitor.token, last_seq=last_seq)
    assert again.welcome["request"]["status"] == "accepted"
    assert again.welcome["rep"]["name"] == rep.welcome["user"]["display_name"]
    await again.expect("chat", cid="r-b")
    assert [t for _, _, t in chats(again)] == ["two", "three"]

    # The help box re-sends a message whose echo it never saw: same cid, stored once.
    await again.send({"t": "chat.send", "cid": "a", "text": "one"})
    await again.send({"t": "chat.send", "cid": "b", "text": "four"})
    await again.expect("chat", cid="b")
    await rep.expect("chat", cid="b")
    full = await VisitorClient.open(server, visitor.request_id, visitor.token, last_seq=0)
    await full.expect("chat", cid="b")
    texts = [t for _, f, t in chats(full) if f != "system"]
    assert texts == ["one", "two", "three", "four"]
    for c in (rep, again, full):
        await c.close()


async def test_rep_console_reload_resumes_sessions(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    (user, pw), = admin.reps(1, queue_slug=unique, prefix=unique + "rep")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=unique, name="Bo")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await visitor.send({"t": "chat.send", "cid": "x", "text": "still there?"})
    seen = (await rep.expect("chat", cid="x"))["seq"]
    await rep.close()
    await visitor.send({"t": "chat.send", "cid": "y", "text": "hello?"})
    await visitor.expect("chat", cid="y")

    again = await RepClient.connect(server, user, pw, online=False)
    assert [s["id"] for s in again.welcome["sessions"]] == [sid]
    assert again.welcome["status"] == "away"
    # A fresh login resumes from 0; a console that remembers passes its seq.
    await again.expect("chat", cid="y")
    assert [m["text"] for m in again.received if m["t"] == "chat" and m["from"] == "visitor"] == ["still there?", "hello?"]
    await again.close()
    ws = await RepClient.connect(server, user, pw, online=False)
    assert ws.welcome["sessions"][0]["id"] == sid
    await ws.close()

    # Resume with the last seq seen: only what came after arrives.
    import httpx as _httpx
    import websockets as _ws

    async with _httpx.AsyncClient(base_url=server.url) as http:
        cookie = (await http.post("/api/auth/login", json={"username": user, "password": pw})).cookies["dl_session"]
    conn = await _ws.connect(server.ws_url + "/ws/rep", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"})
    resumed = RepClient(conn)
    await resumed.send({"t": "hello", "resume": {sid: seen}})
    await resumed.expect("chat", cid="y")
    assert [m["cid"] for m in resumed.received if m["t"] == "chat"] == ["y"]
    await resumed.close()
    await visitor.close()


async def test_end_with_disposition_reaches_both_and_is_stored(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid = await _pair(server, admin, unique)
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": "rebooted the router"})
    rep_end = await rep.expect("ended", session_id=sid)
    assert rep_end["by"] == "rep" and rep_end["disposition"] == "resolved"
    vis_end = await visitor.expect("ended")
    assert vis_end["by"] == "rep" and "disposition" not in vis_end
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await visitor.recv(5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4010

    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert detail["disposition"] == "resolved" and detail["note"] == "rebooted the router"
    assert detail["ended_by"] == "rep" and detail["ended_at"]
    assert [e["kind"] for e in detail["events"]] == ["submitted", "accepted", "ended"]

    # Ending again is refused clearly; chatting in it too.
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved"})
    err = await rep.expect("error")
    assert err["code"] == "forbidden"  # the console no longer holds it
    await rep.close()


async def test_visitor_leave_ends_session_for_rep(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid = await _pair(server, admin, unique)
    await visitor.send({"t": "leave"})
    ended = await rep.expect("ended", session_id=sid)
    assert ended["by"] == "visitor"
    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert detail["ended_by"] == "visitor" and detail["disposition"] is None
    # The rep still records how it went, once.
    await rep.send({"t": "end", "session_id": sid, "disposition": "not_resolved", "note": "left mid-fix"})
    wrapped = await rep.expect("ended", session_id=sid, disposition="not_resolved")
    assert wrapped["by"] == "visitor"
    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert (detail["disposition"], detail["note"]) == ("not_resolved", "left mid-fix")
    assert detail["events"][-1]["kind"] == "wrapped_up"
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved"})
    assert (await rep.expect("error"))["code"] == "forbidden"
    await rep.close()


async def test_cancel_while_waiting_is_abandoned_and_withdrawn(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    (user, pw), = admin.reps(1, queue_slug=unique, prefix=unique + "rep")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=unique)
    assert visitor.welcome["queue"]["position"] == 1
    await rep.expect("alert")
    await visitor.send({"t": "cancel"})
    closed = await visitor.expect("closed")
    assert closed["status"] == "abandoned"
    withdrawn = await rep.expect("alert.withdrawn")
    assert withdrawn["reason"] == "abandoned" and withdrawn["taken_by"] is None
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    assert (await rep.expect("error"))["code"] == "conflict_closed"
    await rep.close()
    await visitor.close()  # the server closed its side; close ours, or its transport lingers until a later GC


async def test_queue_positions_update_as_the_queue_moves(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    (user, pw), = admin.reps(1, queue_slug=unique, prefix=unique + "rep")
    rep = await RepClient.connect(server, user, pw)
    first = await VisitorClient.submit(server, queue=unique, name="First")
    second = await VisitorClient.submit(server, queue=unique, name="Second")
    assert second.welcome["queue"]["position"] == 2
    assert second.welcome["queue"]["expected_wait_s"] > 0
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": first.request_id})
    update = await second.expect("queue", position=1)
    assert update["online_reps"] == 1
    for c in (rep, first, second):
        await c.close()


async def test_transcript_text_and_html_escape_everything(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid = await _pair(server, admin, unique)
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    await visitor.send({"t": "chat.send", "cid": "e", "text": evil})
    await visitor.expect("chat", cid="e")
    headers = {"Authorization": f"Bearer {visitor.token}"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        text = await http.get("/api/visitor/transcript?format=text", headers=headers)
        page = await http.get("/api/visitor/transcript?format=html", headers=headers)
        nobody = await http.get("/api/visitor/transcript", headers={"Authorization": "Bearer " + "x" * 32})
    assert text.status_code == 200 and evil in text.text and "Wi-Fi keeps dropping" in text.text
    assert "attachment" in text.headers["content-disposition"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert nobody.status_code == 401
    # The rep (and any supervisor) downloads the same document from the history.
    rep_http, _ = server.login(*rep.credentials)  # type: ignore[attr-defined]
    mine = rep_http.get(f"/api/sessions/{sid}/transcript?format=html")
    bad = rep_http.get(f"/api/sessions/{sid}/transcript?format=pdf")
    rep_http.close()
    assert mine.status_code == 200 and mine.text == page.text
    assert "attachment" in mine.headers["content-disposition"]
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_message"
    admin.user(unique + "other", "another password")
    other_http, _ = server.login(unique + "other", "another password")
    assert other_http.get(f"/api/sessions/{sid}/transcript").status_code == 403
    other_http.close()
    assert admin.http.get(f"/api/sessions/{sid}/transcript").text == text.text
    for c in (rep, visitor):
        await c.close()


async def test_visitor_cannot_open_another_conversation(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    a = await VisitorClient.submit(server, queue=unique, name="A")
    b = await VisitorClient.submit(server, queue=unique, name="B")
    # B's token on A's request id: refused before anything of A is sent.
    ws = await websockets.connect(f"{server.ws_url}/ws/visitor?request={a.request_id}", origin=server.url)
    await ws.send('{"t":"hello","token":"%s","last_seq":0}' % b.token)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    # A made-up token: likewise.
    ws = await websockets.connect(f"{server.ws_url}/ws/visitor", origin=server.url)
    await ws.send('{"t":"hello","token":"%s","last_seq":0}' % ("Z" * 32))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    for c in (a, b):
        await c.close()

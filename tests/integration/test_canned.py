"""Canned replies and internal notes on a real server (issue 14): who may
change which replies, the limits (gone past), the audit log, and a note
that never reaches the visitor (socket, catch-up, transcript)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, VisitorClient

LIMITS = {
    "DESKLINK_CANNED_PER_OWNER": "3",
    "DESKLINK_CANNED_NAME_CHARS": "10",
    "DESKLINK_CANNED_TITLE_CHARS": "20",
    "DESKLINK_CANNED_BODY_CHARS": "40",
    "DESKLINK_SESSION_NOTE_CHARS": "30",
    "DESKLINK_NOTES_PER_SESSION": "2",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, **LIMITS}) as srv:
        yield srv


def _reply(name: str, queue_id: int | None = None, body: str = "Hello {visitor_name}") -> dict[str, object]:
    out: dict[str, object] = {"name": name, "title": f"T {name}", "body": body}
    if queue_id is not None:
        out["queue_id"] = queue_id
    return out


def _login(server: ServerProcess, user: str, pw: str) -> httpx.Client:
    return server.login(user, pw)[0]


def test_who_may_change_which_replies(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    q = admin.queue(f"{unique}q")
    other_q = admin.queue(f"{unique}o")
    rep = admin.user(f"{unique}rep", "pw-rep-123456")
    rep2 = admin.user(f"{unique}rep2", "pw-rep-123456")
    sup = admin.user(f"{unique}sup", "pw-sup-123456", role="supervisor")
    admin.members(q["id"], [rep["id"], rep2["id"], sup["id"]])
    r1 = _login(server, rep["username"], "pw-rep-123456")
    r2 = _login(server, rep2["username"], "pw-rep-123456")
    boss = _login(server, sup["username"], "pw-sup-123456")
    try:
        made = admin.http.post("/api/canned", json=_reply("refund", q["id"]))
        assert made.status_code == 201, made.text
        queue_reply = made.json()["reply"]
        assert queue_reply["scope"] == "queue" and queue_reply["queue_id"] == q["id"]
        # a rep cannot add, change or delete a queue's reply
        assert r1.post("/api/canned", json=_reply("mine", q["id"])).status_code == 403
        assert r1.patch(f"/api/canned/{queue_reply['id']}", json={"body": "hacked"}).status_code == 403
        assert r1.delete(f"/api/canned/{queue_reply['id']}").status_code == 403
        # a supervisor of the queue may; of another queue, not
        assert boss.patch(f"/api/canned/{queue_reply['id']}", json={"title": "Refunds"}).status_code == 200
        assert boss.post("/api/canned", json=_reply("x", other_q["id"])).status_code == 403
        assert boss.get(f"/api/canned?queue_id={other_q['id']}").status_code == 403
        assert boss.get(f"/api/canned?queue_id={q['id']}").json()["may_manage"] is True
        assert r1.get(f"/api/canned?queue_id={q['id']}").json()["may_manage"] is False
        # personal replies: own only; another rep's look like nothing at all
        own = r1.post("/api/canned", json=_reply("hi", body="Hi {visitor_name}, {rep_name} here")).json()["reply"]
        assert own["scope"] == "mine" and own["owner_id"] == rep["id"]
        assert r2.patch(f"/api/canned/{own['id']}", json={"body": "x"}).status_code == 404
        assert r2.delete(f"/api/canned/{own['id']}").status_code == 404
        assert admin.http.patch(f"/api/canned/{own['id']}", json={"body": "x"}).status_code == 404
        # the lists: rep1 sees the queue's and their own; rep2 the queue's only
        names1 = {(r["scope"], r["name"], r["title"]) for r in r1.get("/api/canned").json()["replies"]}
        assert names1 == {("queue", "refund", "Refunds"), ("mine", "hi", "T hi")}
        names2 = {(r["scope"], r["name"]) for r in r2.get("/api/canned").json()["replies"]}
        assert names2 == {("queue", "refund")}
        assert r2.get(f"/api/canned?queue_id={other_q['id']}").status_code == 403
        assert admin.http.get(f"/api/canned?queue_id={q['id']}").json()["may_manage"] is True
        # without the CSRF header nothing changes
        bare = httpx.Client(base_url=server.url, cookies=r1.cookies)
        assert bare.post("/api/canned", json=_reply("nocsrf")).status_code == 403
        bare.close()
        assert r1.patch(f"/api/canned/{own['id']}", json={"name": "hey"}).json()["reply"]["name"] == "hey"
        assert r1.delete(f"/api/canned/{own['id']}").status_code == 204
        assert r1.get("/api/canned").json()["replies"] == [r for r in r2.get("/api/canned").json()["replies"]]
        # queue changes are audited, with who did them; personal ones are not
        entries = admin.http.get("/api/admin/audit").json()["entries"]
        mine = [(e["action"], e["actor"]) for e in entries if e["target"] == f"queue {q['slug']} reply refund"]
        assert mine == [("canned.update", sup["username"]), ("canned.create", "admin")]
        assert not any("reply hi" in e["target"] or "reply hey" in e["target"] for e in entries)
    finally:
        for c in (r1, r2, boss):
            c.close()


def test_reply_limits(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    q = admin.queue(f"{unique}q")
    post = lambda body: admin.http.post("/api/canned", json=body)  # noqa: E731
    assert post(_reply("a" * 10, q["id"])).status_code == 201
    too_long_name = post(_reply("a" * 11, q["id"]))
    assert too_long_name.status_code == 400 and "1-10" in too_long_name.json()["error"]["message"]
    assert post(_reply("Bad Name", q["id"])).status_code == 400
    assert post({"name": "t", "title": "x" * 21, "body": "b", "queue_id": q["id"]}).json()["error"]["code"] == "too_large"
    assert post({"name": "b", "title": "x", "body": "b" * 41, "queue_id": q["id"]}).json()["error"]["code"] == "too_large"
    assert post({"name": "c", "title": "x", "body": "  ", "queue_id": q["id"]}).status_code == 400
    assert post({"name": "d", "title": "x\u0000", "body": "b", "queue_id": q["id"]}).status_code == 400
    assert post({"name": "d", "title": "two\nlines", "body": "b", "queue_id": q["id"]}).status_code == 400
    crlf = post({"name": "crlf", "title": "x", "body": "line one\r\nline two", "queue_id": q["id"]})
    assert crlf.status_code == 201 and crlf.json()["reply"]["body"] == "line one\r\nline two"
    assert admin.http.delete(f"/api/canned/{crlf.json()['reply']['id']}").status_code == 204
    dup = post(_reply("a" * 10, q["id"]))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict_exists"
    assert post(_reply("b", q["id"])).status_code == 201
    assert post(_reply("c", q["id"])).status_code == 201
    full = post(_reply("d", q["id"]))
    assert full.json()["error"]["code"] == "too_large" and "3" in full.json()["error"]["message"]
    assert len(admin.http.get(f"/api/canned?queue_id={q['id']}").json()["replies"]) == 3
    assert post(_reply("e", 999999)).status_code == 404


async def test_a_note_never_reaches_the_visitor(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    slug = f"{unique}n"
    ((user, pw),) = admin.reps(1, queue_slug=slug, prefix=f"{unique}r")
    admin.queue(slug, [server.url])
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=slug, name="Dana")
    http = _login(server, user, pw)
    try:
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "c1", "text": "hello Dana"})
        await visitor.expect("chat", cid="c1")

        secret = "SECRET-NOTE owes 3 months"
        made = http.post(f"/api/sessions/{sid}/notes", json={"body": secret})
        assert made.status_code == 201, made.text
        assert made.json()["note"]["author"] == "Rep 0"
        # a line after the note: once the visitor has it, the note would have come before
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "c2", "text": "still here"})
        await visitor.expect("chat", cid="c2")
        assert secret not in repr(visitor.received)
        # catch-up from the start, and the transcript, hold no note
        again = await VisitorClient.open(server, visitor.request_id, visitor.token, origin=server.url)
        await again.expect("chat", cid="c2")
        assert secret not in repr(again.received)
        await again.close()
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {visitor.token}", "Origin": server.url}) as vh:
            for fmt in ("text", "html"):
                t = await vh.get(f"/api/visitor/transcript?format={fmt}")
                assert t.status_code == 200 and "still here" in t.text and "SECRET" not in t.text
        # the admin reads it; another rep may not
        notes = admin.http.get(f"/api/sessions/{sid}/notes").json()["notes"]
        assert [n["body"] for n in notes] == [secret]
        other = admin.user(f"{unique}x", "pw-x-1234567")
        stranger = _login(server, other["username"], "pw-x-1234567")
        assert stranger.get(f"/api/sessions/{sid}/notes").status_code == 403
        assert stranger.post(f"/api/sessions/{sid}/notes", json={"body": "x"}).status_code == 403
        stranger.close()
        # limits: 30 characters, 2 notes per session
        assert http.post(f"/api/sessions/{sid}/notes", json={"body": "n" * 31}).json()["error"]["code"] == "too_large"
        assert http.post(f"/api/sessions/{sid}/notes", json={"body": "<script>x</script>"}).status_code == 201
        third = http.post(f"/api/sessions/{sid}/notes", json={"body": "third"})
        assert third.json()["error"]["code"] == "too_large" and "2" in third.json()["error"]["message"]
        assert len(http.get(f"/api/sessions/{sid}/notes").json()["notes"]) == 2
        assert secret not in repr(visitor.received)
    finally:
        http.close()
        for c in (rep, visitor):
            await c.close()

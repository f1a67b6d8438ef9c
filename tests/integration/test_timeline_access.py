"""Who may read a session's timeline (issue 12, "Access"): the one rule
that also guards the session's detail and transcript and scopes the
session list, walked on a real server for every role."""

from __future__ import annotations

import httpx

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

SUP_PW = "supervisor password"


async def _session(server: ServerProcess, admin: AdminAPI, queue: str, prefix: str) -> tuple[str, tuple[str, str]]:
    """A session in ``queue`` held by a new rep; its id and the rep's login."""
    ((user, password),) = admin.reps(1, queue_slug=queue, prefix=prefix)
    rep = await RepClient.connect(server, user, password)
    visitor = await VisitorClient.submit(server, queue=queue, name="Vera")
    try:
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = str((await rep.expect("accepted"))["session"]["id"])
    finally:
        await rep.close()
        await visitor.close()
    return sid, (user, password)


def _status(server: ServerProcess, who: tuple[str, str] | None, path: str) -> int:
    if who is None:
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            return anonymous.get(path).status_code
    http, _ = server.login(*who)
    try:
        return http.get(path).status_code
    finally:
        http.close()


async def test_the_timeline_follows_the_session_access_rule(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    mine_q, other_q, third_q = admin.queue(unique + "a"), admin.queue(unique + "b"), admin.queue(unique + "c")
    sid, holder = await _session(server, admin, mine_q["slug"], unique + "h")
    other_sid, _ = await _session(server, admin, other_q["slug"], unique + "o")
    sup = admin.user(unique + "sup", SUP_PW, role="supervisor", display_name="Sue")
    admin.members(mine_q["id"], [*admin.queue(mine_q["slug"])["members"], sup["id"]])
    admin.user(unique + "lone", SUP_PW, role="supervisor")
    admin.members(third_q["id"], [admin.user(unique + "far", SUP_PW, role="supervisor")["id"]])
    queue_sup, lone_sup, far_sup = (unique + "sup", SUP_PW), (unique + "lone", SUP_PW), (unique + "far", SUP_PW)

    def timeline(session_id: str) -> str:
        return f"/api/sessions/{session_id}/timeline"

    walk = {
        "rep, own session": (_status(server, holder, timeline(sid)), 200),
        "rep, another rep's session": (_status(server, holder, timeline(other_sid)), 403),
        "supervisor of the queue": (_status(server, queue_sup, timeline(sid)), 200),
        "supervisor of the queue, another queue's session": (_status(server, queue_sup, timeline(other_sid)), 403),
        "supervisor of another queue": (_status(server, far_sup, timeline(sid)), 403),
        "supervisor of no queue": (_status(server, lone_sup, timeline(sid)), 403),
        "admin": (admin.http.get(timeline(sid)).status_code, 200),
        "anonymous": (_status(server, None, timeline(sid)), 401),
        "admin, no such session": (admin.http.get(timeline("nope")).status_code, 404),
    }
    assert {k: got for k, (got, _) in walk.items()} == {k: want for k, (_, want) in walk.items()}

    # The same rule guards the detail and the transcript, and scopes the list.
    assert _status(server, queue_sup, f"/api/sessions/{sid}") == 200
    assert _status(server, far_sup, f"/api/sessions/{sid}") == 403
    assert _status(server, queue_sup, f"/api/sessions/{sid}/transcript") == 200
    assert _status(server, far_sup, f"/api/sessions/{sid}/transcript") == 403
    http, _ = server.login(*queue_sup)
    try:
        listed = {s["id"] for s in http.get("/api/sessions").json()["sessions"]}
    finally:
        http.close()
    assert sid in listed and other_sid not in listed

    # What an admin reads: words and names, in order, never ids.
    items = admin.http.get(timeline(sid)).json()["items"]
    texts = [i["text"] for i in items]
    assert texts[0] == f"Vera (visitor) asked for help in the {mine_q['slug']} queue"
    assert texts[1] == "Rep 0 (rep) accepted the request"
    assert items[1]["actor"] == {"name": "Rep 0", "role": "rep"}
    assert all(sid not in t for t in texts)

"""Finding sessions through ``GET /api/sessions`` on a real server: words said
in the chat (with the moment they were said), visitor, queue, outcome and
dates; a rep finds only their own sessions, a supervisor only their
queues', an admin all; bad parameters get a 400 in words."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx

from desklink.testing import AdminAPI, RepClient, ServerProcess, ended_session


def _ids(http: httpx.Client, **params: str) -> list[str]:
    r = http.get("/api/sessions", params=params)
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()["sessions"]]


async def test_search_and_who_sees_what(server: ServerProcess, admin: AdminAPI) -> None:
    u = "s" + secrets.token_hex(3)
    qa, qb = admin.queue(u + "a"), admin.queue(u + "b")
    pw = "pw-" + secrets.token_hex(8)
    ann = admin.user(u + "ann", pw, display_name="Ann")
    bob = admin.user(u + "bob", pw, display_name="Bob")
    sue = admin.user(u + "sue", pw, role="supervisor", display_name="Sue")
    admin.members(qa["id"], [ann["id"], sue["id"]])
    admin.members(qb["id"], [bob["id"]])
    rep_a = await RepClient.connect(server, u + "ann", pw)
    rep_b = await RepClient.connect(server, u + "bob", pw)
    try:
        s1 = await ended_session(server, rep_a, u + "a", "Carla Jones", "carla@example.com", "My PRINTER jams again", "resolved")
        s2 = await ended_session(server, rep_b, u + "b", "Dan", "dan@corp.example", "printer offline, 100% sure", "escalated")
        s3 = await ended_session(server, rep_a, u + "a", "Eve", "eve@example.com", "the mouse is slow", "not_resolved")
    finally:
        await rep_a.close()
        await rep_b.close()
    ann_http, _ = server.login(u + "ann", pw)
    sue_http, _ = server.login(u + "sue", pw)
    try:
        everyone = admin.http
        # Words, newest first, with the message that holds them.
        r = everyone.get("/api/sessions", params={"q": "printer"})
        found = [(s["id"], s["match"]["excerpt"]) for s in r.json()["sessions"] if s["id"] in (s1, s2, s3)]
        assert found == [(s2, "printer offline, 100% sure"), (s1, "My PRINTER jams again")]
        match = next(s["match"] for s in r.json()["sessions"] if s["id"] == s1)
        said = [m for m in everyone.get(f"/api/sessions/{s1}").json()["messages"] if m["seq"] == match["seq"]]
        assert said and said[0]["text"] == "My PRINTER jams again", said  # the Session View opens there
        assert datetime.fromisoformat(match["at"]) <= datetime.now(UTC)
        assert _ids(everyone, q="printer jams") == [s1]
        assert _ids(everyone, q="100%") == [s2]
        assert _ids(everyone, visitor="JONES") == [s1]
        assert _ids(everyone, queue=u + "a") == [s3, s1]
        assert _ids(everyone, queue=u + "a", disposition="not_resolved") == [s3]
        assert _ids(everyone, rep=str(bob["id"])) == [s2]
        today = datetime.now(UTC).date()
        assert _ids(everyone, queue=u + "a", to=str(today - timedelta(days=1))) == []
        assert _ids(everyone, queue=u + "a", **{"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}) == [s3, s1]
        assert _ids(everyone, queue=u + "a", had="screen") == []  # chat only
        # A rep finds their own; asking for another rep's finds nothing.
        assert set(_ids(ann_http, q="printer")) == {s1}
        assert _ids(ann_http, rep=str(bob["id"])) == []
        # A supervisor finds their queues' sessions, not the others'.
        assert set(_ids(sue_http)) >= {s1, s3} and s2 not in _ids(sue_http)
        assert _ids(sue_http, queue=u + "b") == []
        # Bad input: a 400 that says what is wrong; nothing else changes.
        for params, words in [
            ({"from": "yesterday"}, "'from' must be a date"),
            ({"tz": "Mars/Olympus"}, "time zone"),
            ({"had": "video"}, "'had' takes screen, control, files"),
            ({"disposition": "maybe"}, "'disposition' takes"),
            ({"q": " ".join(f"w{i}" for i in range(9))}, "at most 8 words"),
            ({"from": "2026-12-04", "to": "2026-12-01"}, "'to' must come after 'from'"),
            ({"limit": "501"}, "'limit'"),
        ]:
            bad = everyone.get("/api/sessions", params=params)
            assert bad.status_code == 400 and words in bad.json()["error"]["message"], (params, bad.text)
        assert _ids(everyone, q="printer")[:2] == [s2, s1]
    finally:
        ann_http.close()
        sue_http.close()

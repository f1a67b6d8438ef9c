"""The visitor's rating over HTTP (``POST /api/visitor/rating``) on a real
server: once per session, only after it ended and within
``rating_window_s``, values checked, the token decides which session."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from desklink.protocol import limits
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, VisitorClient, poll_until

#: The short-window server's rating window, seconds.
SHORT_WINDOW_S = 0.5


async def _rate(server: ServerProcess, token: str | None, body: Any, *, origin: str | None = None) -> httpx.Response:
    headers = {"Origin": origin or server.url}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        if isinstance(body, (bytes, str)):
            return await http.post("/api/visitor/rating", content=body, headers={**headers, "Content-Type": "application/json"})
        return await http.post("/api/visitor/rating", json=body, headers=headers)


async def _chat(server: ServerProcess, admin: AdminAPI, queue: str, prefix: str) -> tuple[RepClient, VisitorClient, str]:
    """A rep of a new ``queue`` and a visitor in chat with them; the session id."""
    admin.queue(queue)
    ((user, password),) = admin.reps(1, queue_slug=queue, prefix=prefix)
    rep = await RepClient.connect(server, user, password)
    visitor = await VisitorClient.submit(server, queue=queue, name="Vera")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = str((await rep.expect("accepted"))["session"]["id"])
    await visitor.expect("joined")
    return rep, visitor, sid


async def _ended(server: ServerProcess, admin: AdminAPI, queue: str, prefix: str, *, by: str = "rep") -> tuple[str, str]:
    """A session ended by ``by``; its id and the visitor's token."""
    rep, visitor, sid = await _chat(server, admin, queue, prefix)
    try:
        if by == "rep":
            await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
        else:
            await visitor.send({"t": "leave"})
        await visitor.expect("ended")
        await rep.expect("ended")
    finally:
        await rep.close()
        await visitor.close()
    return sid, visitor.token


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_rate_an_ended_session(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    sid, token = await _ended(server, admin, unique, unique + "r")
    r = await _rate(server, token, {"rating": 4, "comment": "  Quick and kind  "})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["session_id"], body["rating"], body["comment"]) == (sid, 4, "Quick and kind")
    assert r.headers["access-control-allow-origin"] == server.url
    rated_at = datetime.fromisoformat(body["rated_at"].replace("Z", "+00:00"))

    # The admin sees it in the session's detail, the list and the timeline.
    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert detail["rating"] == {"value": 4, "comment": "Quick and kind", "at": body["rated_at"]}
    listed = [s for s in admin.http.get("/api/sessions", params={"queue": unique}).json()["sessions"] if s["id"] == sid]
    assert [s["rating"]["value"] for s in listed] == [4]
    rated = [e for e in detail["events"] if e["kind"] == "rated"]
    assert [(e["actor"], e["data"]) for e in rated] == [("visitor", {"rating": 4, "comment": "Quick and kind"})]
    items = admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]
    [item] = [i for i in items if i["kind"] == "rated"]
    assert item["marker"] == "rating" and item["text"] == "The visitor rated the session 4 out of 5: Quick and kind"
    assert datetime.fromisoformat(item["at"].replace("Z", "+00:00")) == rated_at
    # And in the session's export.
    export = admin.http.get(f"/api/sessions/{sid}/export")
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.content)) as z:
        summary = json.loads(z.read("session.json"))
    assert summary["session"]["rating"] == {"value": 4, "comment": "Quick and kind", "at": body["rated_at"]}
    assert any(i["kind"] == "rated" for i in summary["timeline"])


async def test_a_visitor_who_ended_it_may_rate_without_a_comment(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    sid, token = await _ended(server, admin, unique, unique + "r", by="visitor")
    r = await _rate(server, token, {"rating": 1})
    assert r.status_code == 201, r.text
    assert (r.json()["rating"], r.json()["comment"]) == (1, "")
    items = admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]
    assert [i["text"] for i in items if i["kind"] == "rated"] == ["The visitor rated the session 1 out of 5"]


async def test_rating_twice_is_refused(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    sid, token = await _ended(server, admin, unique, unique + "r")
    assert (await _rate(server, token, {"rating": 5, "comment": "great"})).status_code == 201
    again = await _rate(server, token, {"rating": 1, "comment": "no, awful"})
    assert _error(again) == (409, "conflict_exists")
    assert "already been rated" in again.json()["error"]["message"]
    assert again.headers["access-control-allow-origin"] == server.url  # the help box can read why
    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert detail["rating"]["value"] == 5 and detail["rating"]["comment"] == "great"
    assert len([e for e in detail["events"] if e["kind"] == "rated"]) == 1


async def test_too_early(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    # Still waiting: no session at all.
    admin.queue(unique + "w")
    waiting = await VisitorClient.submit(server, queue=unique + "w")
    try:
        r = await _rate(server, waiting.token, {"rating": 3})
        assert _error(r) == (409, "bad_state") and "nobody answered" in r.json()["error"]["message"]
    finally:
        await waiting.close()
    # In chat: the session is open.
    rep, visitor, sid = await _chat(server, admin, unique, unique + "r")
    try:
        r = await _rate(server, visitor.token, {"rating": 3})
        assert _error(r) == (409, "bad_state") and "not ended" in r.json()["error"]["message"]
        assert admin.http.get(f"/api/sessions/{sid}").json()["rating"] is None
        # Once it ends, the same rating is taken.
        await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
        await visitor.expect("ended")
        assert (await _rate(server, visitor.token, {"rating": 3})).status_code == 201
    finally:
        await rep.close()
        await visitor.close()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"rating": 0}, 400, "bad_message"),
        ({"rating": 6}, 400, "bad_message"),
        ({"rating": -3}, 400, "bad_message"),
        ({"rating": 4.5}, 400, "bad_message"),
        ({"rating": "5"}, 400, "bad_message"),
        ({"rating": True}, 400, "bad_message"),
        ({"rating": None}, 400, "bad_message"),
        ({}, 400, "bad_message"),
        ({"rating": 4, "comment": 7}, 400, "bad_message"),
        ({"rating": 4, "stars": 4}, 400, "bad_message"),
        ({"rating": 4, "comment": "bad\x00byte"}, 400, "bad_message"),
        ("not json", 400, "bad_message"),
        ([4], 400, "bad_message"),
        ({"rating": 4, "comment": "x" * (limits.MAX_RATING_COMMENT_CHARS + 1)}, 413, "too_large"),
    ],
)
async def test_bad_values_are_refused_and_change_nothing(
    server: ServerProcess, admin: AdminAPI, unique: str, body: Any, status: int, code: str
) -> None:
    sid, token = await _ended(server, admin, unique, unique + "r")
    r = await _rate(server, token, body)
    assert _error(r) == (status, code), r.text
    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert detail["rating"] is None and not [e for e in detail["events"] if e["kind"] == "rated"]
    # The longest comment allowed is taken.
    ok = await _rate(server, token, {"rating": 2, "comment": "y" * limits.MAX_RATING_COMMENT_CHARS})
    assert ok.status_code == 201, ok.text


async def test_tokens_name_the_session(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    sid, token = await _ended(server, admin, unique, unique + "a")
    # No token, a made-up one, a malformed header: 401, whatever the body.
    assert _error(await _rate(server, None, {"rating": 5})) == (401, "auth_required")
    assert _error(await _rate(server, None, {})) == (401, "auth_required")
    assert _error(await _rate(server, "made-up-token-" + "x" * 20, {"rating": 5})) == (401, "auth_failed")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post("/api/visitor/rating", json={"rating": 5}, headers={"Authorization": token, "Origin": server.url})
        assert _error(r) == (401, "auth_required")
    # Someone else's token rates their own conversation (here still open), never this one.
    rep, other, other_sid = await _chat(server, admin, unique + "b", unique + "b")
    try:
        assert _error(await _rate(server, other.token, {"rating": 1})) == (409, "bad_state")
    finally:
        await rep.close()
        await other.close()
    assert admin.http.get(f"/api/sessions/{sid}").json()["rating"] is None
    assert admin.http.get(f"/api/sessions/{other_sid}").json()["rating"] is None
    # A site the queue does not allow cannot rate, even with the right token.
    r = await _rate(server, token, {"rating": 5}, origin="http://evil.example")
    assert _error(r) == (403, "origin_denied")
    assert admin.http.get(f"/api/sessions/{sid}").json()["rating"] is None


@pytest.fixture(scope="module")
def short_window() -> Iterator[ServerProcess]:
    """A server whose rating window is half a second."""
    env = {**ONE_ADDRESS_ENV, "DESKLINK_RATING_WINDOW_S": str(SHORT_WINDOW_S), "DESKLINK_MAX_RATING_COMMENT_CHARS": "10"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_too_late_and_the_comment_setting(short_window: ServerProcess, unique: str) -> None:
    admin = AdminAPI(short_window)
    try:
        sid, token = await _ended(short_window, admin, unique, unique + "r")
        # The comment limit is the setting's (10), not the default.
        assert _error(await _rate(short_window, token, {"rating": 4, "comment": "x" * 11})) == (413, "too_large")
        ended = datetime.fromisoformat(admin.http.get(f"/api/sessions/{sid}").json()["ended_at"].replace("Z", "+00:00"))
        poll_until(lambda: time.time() > ended.timestamp() + SHORT_WINDOW_S + 0.05, timeout=10, what="the window to pass")
        r = await _rate(short_window, token, {"rating": 4, "comment": "x" * 10})
        assert _error(r) == (409, "conflict_closed")
        assert "after it ends" in r.json()["error"]["message"]
        assert admin.http.get(f"/api/sessions/{sid}").json()["rating"] is None
    finally:
        admin.close()

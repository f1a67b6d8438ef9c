"""Every named limit, gone past on a real server: the sender gets a clear
error, nothing else is harmed, and nothing already stored is lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets

from desklink.protocol import joincode
from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

LIMITS = {
    "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "3",
    "DESKLINK_MESSAGES_PER_MINUTE": "5",
    "DESKLINK_MAX_CHAT_CHARS": "50",
    "DESKLINK_MAX_QUESTION_CHARS": "100",
    "DESKLINK_MAX_NAME_CHARS": "20",
    "DESKLINK_MAX_NOTE_CHARS": "20",
    "DESKLINK_MAX_MESSAGE_BYTES": "4096",
    "DESKLINK_JOIN_CODE_MAX_TRIES": "3",
    "DESKLINK_JOIN_CODE_RENEWALS": "2",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env=LIMITS) as srv:
        yield srv


async def _submit(server: ServerProcess, **body: str) -> httpx.Response:
    payload = {"queue": "support", "name": "Ann", "question": "help", **body}
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.post("/api/visitor/requests", json=payload, headers={"Origin": server.url})


async def test_question_and_name_length(server: ServerProcess) -> None:
    r = await _submit(server, question="x" * 101)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = await _submit(server, name="n" * 21)
    assert r.status_code == 413
    r = await _submit(server, question="   ")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_message"
    r = await _submit(server, email="not an email")
    assert r.status_code == 400


async def test_open_requests_per_ip(server: ServerProcess) -> None:
    first = await VisitorClient.submit(server)
    second = await VisitorClient.submit(server)
    spare = await VisitorClient.submit(server)
    third = await _submit(server)
    assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_requests"
    # Cancelling one frees a place; the others are untouched.
    await first.send({"t": "cancel"})
    await first.expect("closed")
    fourth = await VisitorClient.submit(server)
    assert fourth.welcome["request"]["status"] == "waiting"
    again = await VisitorClient.open(server, second.request_id, second.token)
    assert again.welcome["request"]["status"] == "waiting"
    for c in (second, fourth, spare):
        await c.send({"t": "cancel"})
        await c.expect("closed")
    # Both sockets of the second request hear it closed.
    assert (await again.expect("closed"))["status"] == "abandoned"
    for c in (second, fourth, again, spare):
        await c.close()


async def _pair(server: ServerProcess, admin: AdminAPI, name: str) -> tuple[RepClient, VisitorClient, str]:
    (user, pw), = admin.reps(1, prefix=name)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server)
    await rep.expect("alert", timeout=10)
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    return rep, visitor, sid


async def test_chat_length_rate_note_and_bad_messages(server: ServerProcess, admin: AdminAPI) -> None:
    rep, visitor, sid = await _pair(server, admin, "lim")

    await visitor.send({"t": "chat.send", "cid": "long", "text": "y" * 51})
    err = await visitor.expect("error")
    assert (err["code"], err["ref"]) == ("too_large", "chat.send")

    await visitor.ws.send("this is not json")
    assert (await visitor.expect("error"))["code"] == "bad_message"
    await visitor.ws.send(json.dumps({"t": "launch.missiles"}))
    assert (await visitor.expect("error"))["code"] == "bad_type"
    await visitor.ws.send(b"\x01\x02binary")
    assert (await visitor.expect("error"))["code"] == "bad_type"
    await visitor.send({"t": "hello", "token": "x" * 20})
    assert (await visitor.expect("error"))["code"] == "bad_state"

    # Five of the per-minute budget are gone; the sixth message is dropped.
    await visitor.send({"t": "chat.send", "cid": "last-ok", "text": "ok"})
    await visitor.send({"t": "chat.send", "cid": "too-many", "text": "dropped"})
    err = await visitor.expect("error", code="rate_limited")
    assert "per" in err["message"] or "minute" in err["message"]

    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": "n" * 21})
    assert (await rep.expect("error"))["code"] == "too_large"

    # The session is alive and the rep's side unharmed.
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "still here"})
    assert (await visitor.expect("chat", cid="r1"))["text"] == "still here"
    transcript = admin.http.get(f"/api/sessions/{sid}").json()["messages"]
    texts = [m["text"] for m in transcript]
    assert "ok" in texts and "still here" in texts and "dropped" not in texts and "y" * 51 not in texts
    await rep.send({"t": "end", "session_id": sid, "disposition": "bogus"})
    assert (await rep.expect("error"))["code"] == "bad_message"
    # That was the rep's sixth message this minute (presence, accept, end,
    # chat, end): the limit applies to reps too.
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": "ok"})
    assert (await rep.expect("error"))["code"] == "rate_limited"
    for c in (rep, visitor):
        await c.close()


async def test_oversized_frame_closes_only_that_socket(server: ServerProcess, admin: AdminAPI) -> None:
    rep, visitor, sid = await _pair(server, admin, "big")
    other_rep, other_visitor, other_sid = await _pair(server, admin, "bystander")
    await visitor.send({"t": "chat.send", "cid": "before", "text": "kept"})
    await rep.expect("chat", cid="before")

    await visitor.ws.send(json.dumps({"t": "chat.send", "cid": "huge", "text": "z" * 5000}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await visitor.recv(5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    # Every other session carries on untouched.
    await other_visitor.send({"t": "chat.send", "cid": "fine", "text": "unaffected"})
    assert (await other_rep.expect("chat", cid="fine"))["text"] == "unaffected"
    # The offender reconnects and nothing stored was lost.
    back = await VisitorClient.open(server, visitor.request_id, visitor.token)
    await back.expect("chat", cid="before")
    await back.send({"t": "chat.send", "cid": "after", "text": "back again"})
    await rep.expect("chat", cid="after")
    for r, s in ((rep, sid), (other_rep, other_sid)):
        await r.send({"t": "end", "session_id": s, "disposition": "resolved"})
        await r.expect("ended")
    for c in (rep, back, other_rep, other_visitor):
        await c.close()


async def test_slow_hello_is_closed(server: ServerProcess) -> None:
    r = await _submit(server)
    assert r.status_code in (201, 429)
    ws = await websockets.connect(f"{server.ws_url}/ws/visitor", origin=server.url)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 15)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def _join(server: ServerProcess, code: str) -> tuple[int, str] | dict[str, object]:
    """An agent's hello: the close code and reason, or the welcome."""
    async with websockets.connect(server.ws_url + "/ws/agent") as ws:
        await ws.send(json.dumps({"t": "hello", "code": code}))
        try:
            return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason


async def _renew(server: ServerProcess, visitor: VisitorClient, token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.post(
            "/api/visitor/screen-code",
            headers={"Origin": server.url, "Authorization": f"Bearer {token or visitor.token}"},
        )


async def test_join_code_tries_and_the_visitors_renewals(server: ServerProcess, admin: AdminAPI) -> None:
    rep, visitor, sid = await _pair(server, admin, "codes")
    # Without a screen request there is nothing to renew.
    r = await _renew(server, visitor)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict_closed"

    await rep.send({"t": "screen.request", "session_id": sid})
    burned = joincode.parse((await visitor.expect("screen.offer"))["code"])
    for n in range(3):  # join_code_max_tries wrong secrets for the slot burn its code
        wrong = joincode.make(burned.slot, f"{(int(burned.secret) + n + 1) % 10**6:06d}")
        assert await _join(server, wrong.digits) == (4001, joincode.WRONG_CODE)
    assert await _join(server, burned.digits) == (4001, joincode.WRONG_CODE)

    # The help box gets a fresh code itself, and both sides are shown it.
    r = await _renew(server, visitor)
    assert r.status_code == 201, r.text
    first = r.json()["offer"]
    assert first["session_id"] == sid and first["code"] != burned.spoken
    assert first["command"].endswith(f"--code {joincode.parse(first['code']).digits}")
    assert (await visitor.expect("screen.offer", code=first["code"]))["session_id"] == sid
    await rep.expect("screen.offer", code=first["code"])
    note = await visitor.expect("chat", **{"from": "system"}, text=(
        f"You asked for a new screen-sharing code: {first['code']}. The earlier code no longer works."))
    assert note["session_id"] == sid
    assert (note["code"], note["vars"]) == ("screen_renew", {"code": first["code"]})

    second = (await _renew(server, visitor)).json()["offer"]
    assert await _join(server, first["code"]) == (4001, joincode.WRONG_CODE)  # replaced by the second
    # join_code_renewals (2) per screen request: the third is refused.
    r = await _renew(server, visitor)
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_requests"
    assert "ask the rep" in r.json()["error"]["message"]

    welcome = await _join(server, second["code"])
    assert isinstance(welcome, dict) and welcome["t"] == "welcome" and welcome["session_id"] == sid
    # An agent joined: the request is fulfilled, nothing to renew.
    assert (await _renew(server, visitor)).status_code == 409
    # A new request from the rep starts a new allowance.
    await rep.send({"t": "screen.request", "session_id": sid})
    await visitor.expect("screen.offer")
    assert (await _renew(server, visitor)).status_code == 201
    # Strangers get nothing.
    r = await _renew(server, visitor, token="not-a-token")
    assert r.status_code == 401
    for c in (rep, visitor):
        await c.close()

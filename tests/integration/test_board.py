"""The live board against a real server: what a snapshot holds (queue
lengths, waiting visitors, reps online and away with their load, sessions
with their modes, screen and control from a scripted agent), how it follows
submit, accept, away, end and leaving, the scope of a supervisor, and the
limits (visitors and sessions listed, board sockets per user)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, BoardClient, RepClient, ServerProcess, VisitorClient, ViewerClient

Board = dict[str, Any]


def queue_of(board: Board, queue_id: int) -> Board | None:
    return next((q for q in board["queues"] if q["id"] == queue_id), None)


def rep_of(board: Board, user_id: int) -> Board | None:
    return next((r for r in board["reps"] if r["id"] == user_id), None)


def session_of(board: Board, session_id: str) -> Board | None:
    return next((s for s in board["sessions"] if s["id"] == session_id), None)


def waiting_ids(board: Board) -> list[str]:
    return [w["request_id"] for w in board["waiting"]]


async def admin_board(server: ServerProcess) -> BoardClient:
    return await BoardClient.connect(server, "admin", server.admin_password)


async def test_the_board_follows_submit_accept_away_end_and_leaving(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    q = admin.queue(unique)
    (u1, p1), (u2, p2) = admin.reps(2, queue_slug=unique, prefix=unique)
    board = await admin_board(server)
    rep = await RepClient.connect(server, u1, p1)
    idle = await RepClient.connect(server, u2, p2, online=False)
    rep_id, idle_id = rep.welcome["user"]["id"], idle.welcome["user"]["id"]

    seen = await board.wait_board(
        lambda b: (r := rep_of(b, rep_id)) and r["status"] == "online" and rep_of(b, idle_id), what="both reps"
    )
    assert rep_of(seen, rep_id) == {"id": rep_id, "name": "Rep 0", "status": "online", "load": 0, "queues": [q["id"]]}
    assert rep_of(seen, idle_id) == {"id": idle_id, "name": "Rep 1", "status": "away", "load": 0, "queues": [q["id"]]}
    assert queue_of(seen, q["id"]) == {"id": q["id"], "slug": unique, "name": q["name"], "waiting": 0, "online": 1, "away": 1}
    assert seen["presence_known"] is True

    visitor = await VisitorClient.submit(server, queue=unique, name="<b>Ada</b>")
    seen = await board.wait_board(lambda b: visitor.request_id in waiting_ids(b), what="the new request")
    entry = next(w for w in seen["waiting"] if w["request_id"] == visitor.request_id)
    assert entry["name"] == "<b>Ada</b>" and entry["queue_id"] == q["id"] and entry["since"].endswith("Z")
    assert queue_of(seen, q["id"])["waiting"] == 1  # type: ignore[index]

    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    seen = await board.wait_board(lambda b: session_of(b, sid) is not None, what="the session")
    assert visitor.request_id not in waiting_ids(seen)
    assert queue_of(seen, q["id"])["waiting"] == 0  # type: ignore[index]
    row = session_of(seen, sid)
    assert row is not None
    assert row["visitor"] == "<b>Ada</b>" and row["rep"] == {"id": rep_id, "name": "Rep 0"}
    assert row["queue_id"] == q["id"] and row["modes"] == ["chat"] and row["request_id"] == visitor.request_id
    seen = await board.wait_board(lambda b: (r := rep_of(b, rep_id)) and r["load"] == 1, what="the rep's load")

    await rep.send({"t": "presence", "status": "away"})
    seen = await board.wait_board(lambda b: (r := rep_of(b, rep_id)) and r["status"] == "away", what="the rep away")
    assert queue_of(seen, q["id"])["online"] == 0 and queue_of(seen, q["id"])["away"] == 2  # type: ignore[index]

    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
    seen = await board.wait_board(lambda b: session_of(b, sid) is None, what="the session gone")
    assert rep_of(seen, rep_id)["load"] == 0  # type: ignore[index]

    await idle.close()
    await board.wait_board(lambda b: rep_of(b, idle_id) is None, what="the rep who left gone")
    await visitor.close()
    await rep.close()
    await board.close()


async def test_a_cancelled_request_leaves_the_board(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    board = await admin_board(server)
    visitor = await VisitorClient.submit(server, queue=unique, name="Bo")
    await board.wait_board(lambda b: visitor.request_id in waiting_ids(b), what="the request")
    await visitor.send({"t": "cancel"})
    await board.wait_board(lambda b: visitor.request_id not in waiting_ids(b), what="the request gone")
    await visitor.close()
    await board.close()


async def test_modes_follow_screen_sharing_and_control(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    (user, pw), = admin.reps(1, queue_slug=unique, prefix=unique)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=unique, name="Cy")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    board = await admin_board(server)

    def modes(b: Board) -> list[str] | None:
        row = session_of(b, sid)
        return None if row is None else list(row["modes"])

    await board.wait_board(lambda b: modes(b) == ["chat"], what="chat only")
    await rep.send({"t": "screen.request", "session_id": sid})
    offer = await visitor.expect("screen.offer")
    viewer = await ViewerClient.connect(server, user, pw, sid)
    agent = await websockets.connect(server.ws_url + "/ws/agent")
    await agent.send(json.dumps({"t": "hello", "code": offer["code"]}))
    assert json.loads(await agent.recv())["t"] == "welcome"
    await agent.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    await board.wait_board(lambda b: modes(b) == ["chat", "screen"], what="screen mode")

    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    await agent.send(json.dumps({"t": "consent", "control": True}))
    await viewer.wait_control("granted")
    await board.wait_board(lambda b: modes(b) == ["chat", "screen", "control"], what="control mode")

    await viewer.send({"t": "control.release"})
    await board.wait_board(lambda b: modes(b) == ["chat", "screen"], what="control released")
    await agent.send(json.dumps({"t": "screen.stop"}))  # the visitor's Stop button
    await board.wait_board(lambda b: modes(b) == ["chat"], what="sharing stopped")
    await agent.close()
    await viewer.close()
    await visitor.close()
    await rep.close()
    await board.close()


async def test_a_supervisor_sees_only_their_queues(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    mine, other = admin.queue(unique + "a"), admin.queue(unique + "b")
    sup = admin.user(unique + "sup", "supervisor password", role="supervisor", display_name="Sue")
    admin.members(mine["id"], [sup["id"]])
    board = await BoardClient.connect(server, unique + "sup", "supervisor password")
    assert [q["id"] for q in board.board["queues"]] == [mine["id"]]

    theirs = await VisitorClient.submit(server, queue=unique + "b", name="Other")
    ours = await VisitorClient.submit(server, queue=unique + "a", name="Ours")
    seen = await board.wait_board(lambda b: ours.request_id in waiting_ids(b), what="our request")
    assert theirs.request_id not in waiting_ids(seen)
    assert seen["totals"]["waiting"] == 1

    admin.members(other["id"], [sup["id"]])  # gains queue b: the board widens by itself
    seen = await board.wait_board(lambda b: theirs.request_id in waiting_ids(b), what="the gained queue")
    assert sorted(q["id"] for q in seen["queues"]) == sorted([mine["id"], other["id"]])
    admin.members(mine["id"], [])  # loses queue a
    seen = await board.wait_board(lambda b: ours.request_id not in waiting_ids(b), what="the lost queue gone")
    assert [q["id"] for q in seen["queues"]] == [other["id"]]

    r = admin.http.patch(f"/api/admin/users/{sup['id']}", json={"role": "rep"})
    r.raise_for_status()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await board.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
    await ours.close()
    await theirs.close()


# --------------------------------------------------------------- limits
@pytest.fixture(scope="module")
def small() -> Iterator[ServerProcess]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_BOARD_MAX_WAITING": "2",
        "DESKLINK_BOARD_MAX_SESSIONS": "1",
        "DESKLINK_BOARD_SOCKETS_PER_USER": "2",
    }
    with ServerProcess(env=env) as srv:
        yield srv


async def test_lists_past_their_limits_are_cut_oldest_first(small: ServerProcess) -> None:
    api = AdminAPI(small)
    try:
        api.queue("lim")
        (user, pw), = api.reps(1, queue_slug="lim", prefix="lim")
    finally:
        api.close()
    rep = await RepClient.connect(small, user, pw)
    visitors = [await VisitorClient.submit(small, queue="lim", name=f"V{i}") for i in range(5)]
    board = await admin_board(small)
    seen = await board.wait_board(lambda b: b["totals"]["waiting"] == 5, what="five waiting")
    assert waiting_ids(seen) == [v.request_id for v in visitors[:2]]
    assert seen["truncated"] == {"waiting": True, "sessions": False}
    assert next(q for q in seen["queues"] if q["slug"] == "lim")["waiting"] == 5

    sids = []
    for v in visitors[:2]:
        await rep.send({"t": "accept", "request_id": v.request_id})
        sids.append((await rep.expect("accepted"))["session"]["id"])
    seen = await board.wait_board(lambda b: b["totals"]["sessions"] == 2, what="two sessions")
    assert [s["id"] for s in seen["sessions"]] == sids[:1]
    assert seen["truncated"] == {"waiting": True, "sessions": True}
    assert waiting_ids(seen) == [v.request_id for v in visitors[2:4]]
    for v in visitors:
        await v.close()
    await rep.close()
    await board.close()


async def test_board_sockets_past_the_limit_per_user_are_closed(small: ServerProcess) -> None:
    first, second = await admin_board(small), await admin_board(small)
    third = await _raw_board(small)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await third.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
    assert "at most 2" in closed.value.rcvd.reason
    await first.close()

    async def let_in() -> bool:
        again = await _raw_board(small)
        try:
            return bool(json.loads(await again.recv())["t"] == "board")
        except websockets.ConnectionClosed:
            return False
        finally:
            await again.close()

    # One closed: a new one is let in once the server has counted the close.
    for _ in range(100):
        if await let_in():
            break
    else:
        pytest.fail("no board socket let in after one closed")
    await second.close()


async def _raw_board(server: ServerProcess) -> websockets.ClientConnection:
    import httpx

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post("/api/auth/login", json={"username": "admin", "password": server.admin_password})
        cookie = r.cookies["dl_session"]
    return await websockets.connect(
        server.ws_url + "/ws/board", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"}
    )

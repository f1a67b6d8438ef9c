"""The live board on two nodes (PostgreSQL and Redis): a board on one node
follows what happens on the other (a rep coming online and going away, a
submit, an accept, the screen shared and control granted through an agent
relayed by the other node, the end), since every input is in the store or
the broker and every note crosses nodes."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from desklink.testing import AdminAPI, BoardClient, RepClient, ServerProcess, ViewerClient, VisitorClient

pytestmark = [pytest.mark.pg, pytest.mark.redis]


@pytest.fixture
def nodes(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
    }
    with ServerProcess(env=env, data_dir=tmp_path / "a") as a:
        with ServerProcess(env=env, data_dir=tmp_path / "b") as b:
            b.admin_password = a.admin_password
            yield a, b


def _session(board: dict[str, Any], sid: str) -> dict[str, Any] | None:
    return next((s for s in board["sessions"] if s["id"] == sid), None)


def _rep(board: dict[str, Any], uid: int) -> dict[str, Any] | None:
    return next((r for r in board["reps"] if r["id"] == uid), None)


async def test_a_board_on_one_node_follows_the_other(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = nodes
    admin = AdminAPI(a)
    (user, pw), = admin.reps(1, prefix="bn")
    admin.close()
    board = await BoardClient.connect(b, "admin", b.admin_password)
    rep = await RepClient.connect(a, user, pw)
    uid = rep.welcome["user"]["id"]
    await board.wait_board(lambda x: (r := _rep(x, uid)) is not None and r["status"] == "online", what="rep online")

    visitor = await VisitorClient.submit(a, name="Nina")
    await board.wait_board(lambda x: visitor.request_id in [w["request_id"] for w in x["waiting"]], what="request")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await board.wait_board(lambda x: (s := _session(x, sid)) is not None and s["modes"] == ["chat"], what="session")

    await rep.send({"t": "screen.request", "session_id": sid})
    offer = await visitor.expect("screen.offer")
    viewer = await ViewerClient.connect(a, user, pw, sid)
    agent = await websockets.connect(a.ws_url + "/ws/agent")
    await agent.send(json.dumps({"t": "hello", "code": offer["code"]}))
    assert json.loads(await agent.recv())["t"] == "welcome"
    await agent.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    await agent.send(json.dumps({"t": "consent", "control": True}))
    await viewer.wait_control("granted")
    await board.wait_board(
        lambda x: (s := _session(x, sid)) is not None and s["modes"] == ["chat", "screen", "control"], what="modes"
    )

    await rep.send({"t": "presence", "status": "away"})
    await board.wait_board(lambda x: (r := _rep(x, uid)) is not None and r["status"] == "away", what="rep away")
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
    seen = await board.wait_board(lambda x: _session(x, sid) is None, what="session gone")
    assert _rep(seen, uid)["load"] == 0  # type: ignore[index]
    await agent.close()
    await viewer.close()
    await visitor.close()
    await rep.close()
    await board.close()

"""The presence log through a real server: a console's stretches open going
online, are renewed by the heartbeat, close going away or disconnecting, and
a node killed with SIGKILL leaves an open stretch that the next node's
sweeper closes at its last renewal."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, login_retrying, wait_until

#: Heartbeat every 0.2 s, renewal at most every 0.3 s, stale after 2 s.
FAST = {
    "DESKLINK_PRESENCE_TTL_S": "0.6",
    "DESKLINK_PRESENCE_LOG_RENEW_S": "0.3",
    "DESKLINK_PRESENCE_LOG_STALE_S": "2",
    "DESKLINK_SWEEP_INTERVAL_S": "0.2",
    # Slow access polling: a sign-out must reach the socket by itself, not
    # ride on the watcher's re-check of an earlier membership change.
    "DESKLINK_ACCESS_POLL_INTERVAL_S": "60",
}

Row = tuple[int, str, str, str | None]


def stretches(data_dir: Path, user_id: int) -> list[Row]:
    """(id, started_at, seen_at, ended_at) of the user's stretches, read
    straight from the server's database file."""
    with sqlite3.connect(data_dir / "desklink.db") as db:
        return list(
            db.execute(
                "SELECT id, started_at, seen_at, ended_at FROM presence_log WHERE user_id = ? ORDER BY id", (user_id,)
            )
        )


def new_rep(server: ServerProcess, name: str) -> tuple[int, str]:
    admin = AdminAPI(server)
    try:
        q = admin.queue("support")
        user = admin.user(name, "pw-" + name + "-secret")
        admin.members(q["id"], [*q["members"], user["id"]])
        return int(user["id"]), "pw-" + name + "-secret"
    finally:
        admin.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env=FAST) as srv:
        yield srv


async def test_online_away_online_disconnect(server: ServerProcess) -> None:
    uid, pw = new_rep(server, "presence1")
    assert stretches(server.data_dir, uid) == []
    rep = await RepClient.connect(server, "presence1", pw, online=False)
    assert stretches(server.data_dir, uid) == []  # signed in but away: nothing counted

    await rep.send({"t": "presence", "status": "online"})
    await rep.expect("presence", status="online")
    [(first, started, _seen, ended)] = stretches(server.data_dir, uid)
    assert ended is None
    # The heartbeat renews seen_at while online, and sweeps leave a live stretch open.
    await wait_until(lambda: stretches(server.data_dir, uid)[0][2] > started, what="a renewal")
    seen = stretches(server.data_dir, uid)[0][2]
    await wait_until(lambda: stretches(server.data_dir, uid)[0][2] > seen, what="a second renewal")
    assert stretches(server.data_dir, uid)[0][3] is None

    await rep.send({"t": "presence", "status": "away"})
    await rep.expect("presence", status="away")
    [(_, _, seen_at, ended_at)] = stretches(server.data_dir, uid)
    assert ended_at is not None and ended_at == seen_at and ended_at > started

    await rep.send({"t": "presence", "status": "online"})
    await rep.expect("presence", status="online")
    rows = stretches(server.data_dir, uid)
    assert len(rows) == 2 and rows[1][0] != first and rows[1][3] is None
    await rep.close()  # the tab closed
    await wait_until(lambda: stretches(server.data_dir, uid)[1][3] is not None, what="the stretch closed on disconnect")
    assert stretches(server.data_dir, uid)[0][3] == ended_at  # the first stretch untouched


async def test_two_consoles_two_rows(server: ServerProcess) -> None:
    uid, pw = new_rep(server, "presence2")
    a = await RepClient.connect(server, "presence2", pw)
    b = await RepClient.connect(server, "presence2", pw)
    rows = stretches(server.data_dir, uid)
    assert len(rows) == 2 and all(r[3] is None for r in rows)
    await a.close()
    await wait_until(lambda: stretches(server.data_dir, uid)[0][3] is not None, what="console a's stretch closed")
    assert stretches(server.data_dir, uid)[1][3] is None  # console b still online
    await b.close()
    await wait_until(lambda: stretches(server.data_dir, uid)[1][3] is not None, what="console b's stretch closed")


async def test_killed_node_stretch_closed_at_seen_at_by_next_node(tmp_path: Path) -> None:
    # The first node renews but never sweeps stale stretches within the test.
    first = ServerProcess(data_dir=tmp_path, env={**FAST, "DESKLINK_PRESENCE_LOG_STALE_S": "600"}).start()
    try:
        uid, pw = new_rep(first, "presence3")
        rep = await RepClient.connect(first, "presence3", pw)
        [(_, started, _, _)] = stretches(tmp_path, uid)
        await wait_until(lambda: stretches(tmp_path, uid)[0][2] > started, what="a renewal")
        assert first.proc is not None
        first.proc.kill()  # SIGKILL: no goodbye, the stretch stays open
        first.proc.wait(10)
        [(_, _, seen_at, ended_at)] = stretches(tmp_path, uid)
        assert ended_at is None
        await rep.close()
    finally:
        first.stop()

    with ServerProcess(data_dir=tmp_path, env=FAST):
        await wait_until(lambda: stretches(tmp_path, uid)[0][3] is not None, what="the next node's sweep", timeout=20)
        [(_, _, seen_after, ended_after)] = stretches(tmp_path, uid)
        assert ended_after == seen_at and seen_after == seen_at  # counted up to its last sign of life, not the sweep


async def test_signing_out_closes_the_stretch(server: ServerProcess) -> None:
    uid, pw = new_rep(server, "presence4")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await login_retrying(http, "presence4", pw)
        cookie, csrf = r.cookies["dl_session"], r.json()["csrf"]
        ws = await websockets.connect(
            server.ws_url + "/ws/rep", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"}
        )
        rep = RepClient(ws)
        try:
            await rep.send({"t": "hello", "resume": {}})
            await rep.expect("welcome")
            await rep.send({"t": "presence", "status": "online"})
            await rep.expect("presence", status="online")
            assert [row[3] for row in stretches(server.data_dir, uid)] == [None]
            out = await http.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})  # the client keeps the cookie
            assert out.status_code < 300, out.text
            await wait_until(lambda: stretches(server.data_dir, uid)[0][3] is not None, what="the stretch closed on sign-out")
        finally:
            await rep.close()


async def test_a_store_failure_never_breaks_the_console(server: ServerProcess) -> None:
    uid, pw = new_rep(server, "presence5")
    db = server.data_dir / "desklink.db"
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE presence_log RENAME TO presence_log_hidden")  # every presence write now fails
    try:
        rep = await RepClient.connect(server, "presence5", pw)  # goes online all the same
        visitor = await VisitorClient.submit(server)
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        await rep.expect("accepted")
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE presence_log_hidden RENAME TO presence_log")
    # The heartbeat opens the stretch it could not open before.
    await wait_until(lambda: len(stretches(server.data_dir, uid)) == 1, what="the stretch opened on a later beat")
    assert stretches(server.data_dir, uid)[0][3] is None
    await visitor.close()
    await rep.close()
    await wait_until(lambda: stretches(server.data_dir, uid)[0][3] is not None, what="the stretch closed")
    assert any("could not open a presence-log stretch" in line for line in server.output)

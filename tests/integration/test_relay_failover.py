"""A relay node dies mid-share and the session moves (issue 15): one web
node, two relay nodes, Redis and PostgreSQL on loopback, a real agent on
Xvfb started with only the web node's address and the join code (it asks
the web node for its relay ticket), and a viewer that takes its ticket
from the web node (no login cookie at the relay). The owning relay node is
killed with SIGKILL: the viewer's and the agent's sockets drop, both ask
the web node again and land on the other relay node, frames resume, and the
visitor is not asked again (the same agent process keeps their yes)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from desklink.protocol import codes
from desklink.protocol import relay_token as rt
from desklink.testing import AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, login_retrying, wait_until, web_and_relays
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish, start_agent

pytestmark = [pytest.mark.pg, pytest.mark.redis]

SECRET = secrets.token_urlsafe(32)
#: The agent's terminal line while it finds its relay again (agent/client.py RECONNECTING).
RECONNECTING = "reconnecting"
ASKED = "Allow? [y/N]"


@pytest.fixture
def cluster(
    pg_database_url: str, redis_url: str, broker_prefix: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, ServerProcess]]:
    with web_and_relays(pg_database_url, redis_url, broker_prefix, SECRET, tmp_path) as nodes:
        yield nodes


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(640, 480) as d:
        yield d


async def ticket(http: httpx.AsyncClient, sid: str, *, not_on: str = "", timeout: float = 30) -> dict[str, Any]:
    """The viewer's ticket from the web node (``not_on``: wait until it
    names another node than that one)."""
    deadline = time.monotonic() + timeout
    while True:
        r = await http.get(f"/api/sessions/{sid}/relay")
        if r.status_code == 200 and r.json()["node"] != not_on:
            return dict(r.json())
        assert r.status_code in (200, 503) and time.monotonic() < deadline, r.text
        await asyncio.sleep(0.1)


async def viewer_at(view: dict[str, Any], sid: str) -> ViewerClient:
    """A viewer at the ticket's node with its token only: no login cookie,
    no Origin (the relay node takes the rep from the token)."""
    url = str(view["url"]).replace("http://", "ws://", 1)
    ws = await websockets.connect(f"{url}/ws/viewer?session={sid}&token={view['token']}", max_size=2**23)
    return ViewerClient(ws)


async def refused(url: str) -> tuple[int, str]:
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_killed_relay_node_hands_the_session_to_the_other_and_sharing_resumes(
    cluster: tuple[ServerProcess, ServerProcess, ServerProcess], display: XDisplay
) -> None:
    web, one, two = cluster
    admin = AdminAPI(web)
    (user, password), = admin.reps(1, prefix="failover")
    admin.close()
    rep = await RepClient.connect(web, user, password)
    visitor = await VisitorClient.submit(web, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    chat = Chat(rep, visitor, sid, user, password)
    # A second session: its viewer token must not open this one's screen.
    visitor2 = await VisitorClient.submit(web, name="Other")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor2.request_id})
    sid2 = (await rep.expect("accepted"))["session"]["id"]
    relays = {"relay-1": one, "relay-2": two}
    agent = None
    viewer = None
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        await login_retrying(http, user, password)
        first = await ticket(http, sid)
        owner = relays[str(first["node"])]
        other_name = "relay-2" if first["node"] == "relay-1" else "relay-1"
        other = relays[other_name]
        viewer = await viewer_at(first, sid)
        try:
            offer = await chat.offer()
            # The command runs the agent against the web node; it asks for its ticket.
            assert f"--server {web.url} " in offer["command"] and "--relay-token" not in offer["command"]
            agent = start_agent(display, web, offer["code"], terminal=True, answer="y\n")
            await viewer.wait_status("sharing", timeout=45)
            await wait_until(lambda: viewer is not None and viewer.frames >= 1, timeout=30, what="a frame at the first relay")

            killed_at = time.monotonic()
            owner.proc.kill()  # type: ignore[union-attr]  # SIGKILL: no drain, no goodbye
            owner.proc.wait(10)  # type: ignore[union-attr]
            # The viewer is told: its socket drops.
            await wait_until(lambda: viewer is not None and viewer._task.done(), timeout=20, what="the viewer's socket to drop")
            await viewer.close()

            # It asks again and is sent to the other relay node (the web node
            # moved the session off the dead one).
            moved = await ticket(http, sid, not_on=str(first["node"]))
            assert moved["node"] == other_name and moved["url"] == other.url
            # The web node said so in its log.
            move = f"relay node {first['node']} of session {sid} is gone; the session moves to {other_name}"
            await wait_until(lambda: any(move in line for line in web.output), timeout=10, what="the move in the log")
            viewer = await viewer_at(moved, sid)
            await viewer.wait_status("sharing", timeout=60)
            before = viewer.frames
            await wait_until(lambda: viewer is not None and viewer.frames > before, timeout=30, what="frames at the new relay")
            print(f"\nrelay failover: SIGKILL to frames at the other relay node in {time.monotonic() - killed_at:.1f} s"
                  " (relay_stale_s 1)")
            assert viewer.canvas.rgb.shape[:2] == (480, 640)
            assert agent.poll() is None  # the same agent process carries on

            # Forged, other-session and stale tokens are still refused at the new node.
            base = other.ws_url
            forged = moved["token"][:-2] + ("AA" if not moved["token"].endswith("AA") else "BB")
            assert await refused(f"{base}/ws/viewer?session={sid}&token={forged}") == (
                codes.CLOSE_RELAY_TOKEN, "relay token forged",
            )
            second = await ticket(http, sid2)
            assert await refused(f"{base}/ws/viewer?session={sid}&token={second['token']}") == (
                codes.CLOSE_RELAY_TOKEN, "relay token for another session",
            )
            assert await refused(f"{base}/ws/viewer?session={sid}&token={first['token']}") == (
                codes.CLOSE_OTHER_RELAY, "another relay node holds this session",
            )
            grant = rt.verify(moved["token"], SECRET.encode(), now=time.time(), node=other_name, role="viewer", session=sid)
            assert grant.subject > 0
        finally:
            if viewer is not None:
                await viewer.close()
            await chat.close()
            await visitor2.close()
            if agent is not None:
                agent.terminate()
    assert agent is not None
    _, out = await finish(agent)
    assert RECONNECTING in out, out  # the agent's window said so
    assert out.count(ASKED) == 1, out  # asked once: the same process kept the visitor's yes
    assert f"moves to relay node {other_name}" in out, out

"""A real agent on Xvfb and a viewer meet on the relay node the web node
chose (issue 15): one web node, two relay nodes, Redis and PostgreSQL on
loopback, no balancer; frames flow through the relay node only."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from desklink.protocol import codes
from desklink.protocol import relay_token as rt
from desklink.testing import AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, login_retrying, wait_until, web_and_relays
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent

pytestmark = [pytest.mark.pg, pytest.mark.redis]

SECRET = secrets.token_urlsafe(32)


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


async def ticket(http: httpx.AsyncClient, sid: str) -> dict[str, object]:
    """The viewer's ticket, once both relay nodes are in the choice."""
    deadline = time.monotonic() + 15
    while True:
        r = await http.get(f"/api/sessions/{sid}/relay")
        if r.status_code == 200:
            return dict(r.json())
        assert r.status_code == 503 and time.monotonic() < deadline, r.text
        await asyncio.sleep(0.1)


async def test_agent_and_viewer_meet_on_the_chosen_relay_node_and_frames_flow(
    cluster: tuple[ServerProcess, ServerProcess, ServerProcess], display: XDisplay
) -> None:
    web, one, two = cluster
    admin = AdminAPI(web)
    (user, password), = admin.reps(1, prefix="relayscr")
    admin.close()
    rep = await RepClient.connect(web, user, password)
    visitor = await VisitorClient.submit(web, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    chat = Chat(rep, visitor, sid, user, password)
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        cookie = (await login_retrying(http, user, password)).cookies["dl_session"]
        view = await ticket(http, sid)
    relays = {"relay-1": one, "relay-2": two}
    owner, other = relays[str(view["node"])], relays["relay-2" if view["node"] == "relay-1" else "relay-1"]
    assert view["url"] == owner.url

    # The viewer: the owner's URL and its token (the login cookie still rides along).
    ws = await websockets.connect(
        f"{owner.ws_url}/ws/viewer?session={sid}&token={view['token']}", origin=owner.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"dl_session={cookie}"}, max_size=2**23,
    )
    viewer = ViewerClient(ws)
    # The agent's: the web node put the relay node and a token in the offer.
    offer = await chat.offer()
    assert offer["relay"]["url"] == owner.url
    # The command stays on the web node (the agent asks it for its ticket);
    # the offer still carries the relay and a token for --relay-token.
    assert f"--server {web.url} " in offer["command"] and "--relay-token" not in offer["command"]
    grant = rt.verify(offer["relay"]["token"], SECRET.encode(), now=time.time(), node=str(view["node"]), role="agent")
    assert grant.session == sid
    agent = start_agent(
        display, owner, offer["code"], terminal=True, answer="y\n", extra=["--relay-token", offer["relay"]["token"]]
    )
    try:
        await viewer.wait_status("sharing", timeout=30)
        await wait_until(lambda: viewer.frames >= 1, timeout=30, what="a frame through the relay node")
        assert viewer.canvas.rgb.shape[:2] == (480, 640)
        # The same session's token is another node's there: refused.
        async with websockets.connect(f"{other.ws_url}/ws/viewer?session={sid}&token={view['token']}") as stray:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(stray.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == codes.CLOSE_OTHER_RELAY
    finally:
        await viewer.close()
        await chat.close()
        agent.terminate()
        await finish(agent)

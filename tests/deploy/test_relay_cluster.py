"""nginx (deploy/nginx/desklink.conf) in front of three web nodes and two
relay nodes on one PostgreSQL database and one Redis (issue 15, the tested
topology of docs/deploy.md):

* a visitor on one web node, reps on the others: every rep alerted, exactly
  one accept wins, chat flows;
* escalation: the real agent on its own Xvfb, started as the
  ``screen.offer``'s command says, and a viewer with a ticket asked of any web
  node, both through nginx, meet on one relay node whatever the balancer
  does, and the picture the viewer builds is what Xvfb shows;
* a web node drained (SIGTERM) with the rep's chat on it: the chat moves
  through nginx, the screen on the relay node does not notice, and the
  other web nodes still name the same relay node.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from _cluster import rep_socket, sockets_on, until_open, wait_node_gone
from _relays import DEADLINE, RELAY_NAMES, RelayCluster, open_viewer, rep_cookie, relay_ticket, start_offered_agent, start_relay_cluster

from desklink.protocol import codes
from desklink.testing import AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until
from desklink.testing_x import XDisplay

pytestmark = [pytest.mark.pg, pytest.mark.redis]


@pytest.fixture
def relay_cluster(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[RelayCluster]:
    yield from start_relay_cluster(pg_database_url, redis_url, tmp_path)


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(640, 480) as d:
        yield d


def matches_screen(viewer: ViewerClient, display: XDisplay) -> bool:
    """The viewer's picture is what the X server shows (up to the lossless
    coder's rounding on edges)."""
    shot = display.screenshot()
    if viewer.canvas.rgb.shape != shot.shape:
        return False
    return float(np.abs(viewer.canvas.rgb.astype(int) - shot.astype(int)).mean()) < 2.0


def paint(display: XDisplay, colour: str) -> None:
    """The whole screen one colour (the root window's background)."""
    subprocess.run(["xsetroot", "-solid", colour], env=display.env, check=True, timeout=30)


def mostly(viewer: ViewerClient, colour: tuple[int, int, int]) -> bool:
    rgb = viewer.canvas.rgb
    if rgb.size == 0:
        return False
    close = (np.abs(rgb.astype(int) - np.array(colour)).sum(axis=2) < 40).mean()
    return bool(close > 0.8)


async def _accepted_across_nodes(cluster: RelayCluster) -> tuple[VisitorClient, RepClient, tuple[str, str], str, int]:
    """The visitor on the first web node, two reps on each of the others;
    every rep alerted, all accept at once, exactly one wins. Returns the
    visitor, the winner, its login, the session and the winner's web node."""
    admin = AdminAPI(cluster.web[0])
    creds = admin.reps(4, prefix="rc")
    admin.close()
    homes = [1, 1, 2, 2]
    consoles = [await RepClient.connect(cluster.web[h], u, p) for h, (u, p) in zip(homes, creds, strict=True)]
    visitor = await VisitorClient.submit(cluster.web[0], name="Ann", question="my screen, please")
    assert visitor.welcome["queue"]["online_reps"] == 4
    alerts = await asyncio.gather(*(c.expect("alert", timeout=DEADLINE) for c in consoles))
    assert {a["request"]["id"] for a in alerts} == {visitor.request_id}
    await asyncio.gather(*(c.send({"t": "accept", "request_id": visitor.request_id}) for c in consoles))
    withdrawn = await asyncio.gather(*(c.expect("alert.withdrawn", timeout=DEADLINE) for c in consoles))
    (winner_id,) = {w["taken_by"]["id"] for w in withdrawn}
    index = next(i for i, c in enumerate(consoles) if c.welcome["user"]["id"] == winner_id)
    winner = consoles[index]
    sid = (await winner.expect("accepted", timeout=DEADLINE))["session"]["id"]
    for loser in (c for c in consoles if c is not winner):
        assert (await loser.expect("error", timeout=DEADLINE))["code"] == "conflict_taken"
        await loser.close()
    await visitor.expect("joined", timeout=DEADLINE)
    return visitor, winner, creds[index], sid, homes[index]


async def _chat(visitor: VisitorClient, rep: Any, sid: str, tag: str) -> None:
    await visitor.send({"t": "chat.send", "cid": f"v-{tag}", "text": f"visitor {tag}"})
    assert (await rep.expect("chat", cid=f"v-{tag}", timeout=DEADLINE))["text"] == f"visitor {tag}"
    await rep.send({"t": "chat.send", "session_id": sid, "cid": f"r-{tag}", "text": f"rep {tag}"})
    assert (await visitor.expect("chat", cid=f"r-{tag}", timeout=DEADLINE))["text"] == f"rep {tag}"


async def _tickets_everywhere(cluster: RelayCluster, cookie: str, sid: str, nodes: list[ServerProcess]) -> set[str]:
    """The relay node named by a ticket asked through nginx (round robin:
    each ask may land on another web node) and of each web node directly."""
    named: set[str] = set()
    for base in [cluster.via, cluster.via, cluster.via, *nodes]:
        async with httpx.AsyncClient(base_url=base.url, timeout=30, cookies={"dl_session": cookie}) as http:
            ticket = await relay_ticket(http, sid)
            assert ticket["url"] == cluster.relay_url(ticket["node"])
            named.add(ticket["node"])
    return named


async def test_agent_and_viewer_meet_on_one_relay_node_through_nginx_and_survive_a_web_drain(
    relay_cluster: RelayCluster, display: XDisplay
) -> None:
    cluster = relay_cluster
    visitor, rep, (username, password), sid, home = await _accepted_across_nodes(cluster)
    await _chat(visitor, rep, sid, "1")

    # The rep's viewer: a ticket from a web node through nginx, the socket
    # through nginx to the relay by its name.
    async with httpx.AsyncClient(base_url=cluster.via.url, timeout=30) as http:
        cookie = await rep_cookie(http, username, password)
    (owner,) = await _tickets_everywhere(cluster, cookie, sid, cluster.web)
    other = cluster.other_relay(owner)
    async with httpx.AsyncClient(base_url=cluster.via.url, timeout=30, cookies={"dl_session": cookie}) as http:
        ticket = await relay_ticket(http, sid)
    viewer = await open_viewer(ticket, sid, cookie, cluster.via.url)
    await viewer.wait_status("waiting_agent", timeout=DEADLINE)

    # The agent: exactly the offer's command, which names the same relay.
    paint(display, "#d02020")
    await rep.send({"t": "screen.request", "session_id": sid})
    offer = await visitor.expect("screen.offer", timeout=DEADLINE)
    assert offer["relay"]["url"] == cluster.relay_url(owner)
    assert f"--server {cluster.relay_url(owner)} " in offer["command"]
    agent = start_offered_agent(display, offer)
    try:
        await viewer.wait_status("sharing", timeout=DEADLINE)
        await wait_until(lambda: mostly(viewer, (0xD0, 0x20, 0x20)), DEADLINE, "the red screen at the viewer")
        await wait_until(lambda: matches_screen(viewer, display), DEADLINE, "the viewer's picture to match Xvfb")
        # Both ends on the owner, none on the other relay; no screen on a web node.
        assert await sockets_on(cluster.relays[owner], "agent") == 1
        assert await sockets_on(cluster.relays[owner], "viewer") == 1
        assert await sockets_on(cluster.relays[other], "agent") == await sockets_on(cluster.relays[other], "viewer") == 0
        for node in cluster.web:
            assert await sockets_on(node, "agent") == await sockets_on(node, "viewer") == 0

        # Drain the web node holding the rep's chat: the chat moves through
        # nginx, the screen on the relay node is not touched.
        victim = cluster.web[home]
        frames_before = viewer.frames
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGTERM)
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await rep.recv(DEADLINE)
        assert rep.ws.close_code == codes.CLOSE_RECONNECT
        assert await wait_node_gone(victim) == 0
        last = max(m["seq"] for m in rep.received if m.get("t") == "chat")
        moved = await until_open(lambda: rep_socket(cluster.via, username, password, {sid: last}), "the rep's socket")
        await _chat(visitor, moved, sid, "2")
        assert viewer.status == "sharing"
        paint(display, "#2040d0")
        await wait_until(lambda: mostly(viewer, (0x20, 0x40, 0xD0)), DEADLINE, "the blue screen at the viewer")
        await wait_until(lambda: matches_screen(viewer, display), DEADLINE, "the viewer's picture to match Xvfb again")
        assert viewer.frames > frames_before
        remaining = [n for n in cluster.web if n is not victim]
        assert await _tickets_everywhere(cluster, cookie, sid, remaining) == {owner}
        assert await sockets_on(cluster.relays[owner], "agent") == 1

        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped", timeout=DEADLINE)
        await moved.close()
    finally:
        await viewer.close()
        await visitor.close()
        agent.terminate()
        await asyncio.to_thread(agent.wait, 30)
    assert set(RELAY_NAMES) == set(cluster.relays)

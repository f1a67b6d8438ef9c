"""nginx (deploy/nginx/desklink.conf) in front of three web nodes and two
relay nodes on one PostgreSQL database and one Redis (issue 15, the tested
topology of docs/deploy.md):

* a visitor on one web node, reps on the others: every rep alerted, exactly
  one accept wins, chat flows;
* escalation: the real agent on its own Xvfb, started as the
  ``screen.offer``'s command says (through nginx: it asks a web node for its
  relay ticket), and a viewer with a ticket asked of any web node, meet on
  one relay node reached by its name through nginx, whatever the balancer
  does, and the picture the viewer builds is what Xvfb shows;
* a web node drained (SIGTERM) with the rep's chat on it: the chat moves
  through nginx, the screen on the relay node does not notice, and the
  other web nodes still name the same relay node;
* the session's relay node killed (SIGKILL) mid-share: the viewer's socket
  drops and the agent says it reconnects, both ask again and meet on the
  other relay node, and the picture flows again without asking the visitor
  again.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from _cluster import rep_socket, sockets_on, until_open, wait_node_gone
from _relays import DEADLINE, RelayCluster, open_viewer, relay_ticket, rep_cookie, start_offered_agent, start_relay_cluster

from desklink.protocol import codes
from desklink.testing import AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until
from desklink.testing_x import XDisplay

pytestmark = [pytest.mark.pg, pytest.mark.redis]

#: What the agent asks on its terminal (once per process: a moved session keeps the yes).
ASKED = "Allow? [y/N]"


@pytest.fixture
def relay_cluster(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[RelayCluster]:
    yield from start_relay_cluster(pg_database_url, redis_url, tmp_path)


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(640, 480) as d:
        yield d


def paint(display: XDisplay, colour: str) -> None:
    """The whole screen one colour (the root window's background)."""
    subprocess.run(["xsetroot", "-solid", colour], env=display.env, check=True, timeout=30)


def matches_screen(viewer: ViewerClient, display: XDisplay) -> bool:
    """The viewer's picture is what the X server shows (up to the coder's
    rounding on edges)."""
    shot = display.screenshot()
    if viewer.canvas.rgb.shape != shot.shape:
        return False
    return float(np.abs(viewer.canvas.rgb.astype(int) - shot.astype(int)).mean()) < 2.0


def mostly(viewer: ViewerClient, colour: tuple[int, int, int]) -> bool:
    rgb = viewer.canvas.rgb
    if rgb.size == 0:
        return False
    close = (np.abs(rgb.astype(int) - np.array(colour)).sum(axis=2) < 40).mean()
    return bool(close > 0.8)


async def shows(viewer: ViewerClient, display: XDisplay, colour: str) -> None:
    """Paint the screen and wait until the viewer's picture is that colour
    and matches what Xvfb shows."""
    paint(display, colour)
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    await wait_until(lambda: mostly(viewer, rgb), DEADLINE, f"{colour} at the viewer")  # type: ignore[arg-type]
    await wait_until(lambda: matches_screen(viewer, display), DEADLINE, "the viewer's picture to match Xvfb")


async def _chat(visitor: VisitorClient, rep: Any, sid: str, tag: str) -> None:
    await visitor.send({"t": "chat.send", "cid": f"v-{tag}", "text": f"visitor {tag}"})
    assert (await rep.expect("chat", cid=f"v-{tag}", timeout=DEADLINE))["text"] == f"visitor {tag}"
    await rep.send({"t": "chat.send", "session_id": sid, "cid": f"r-{tag}", "text": f"rep {tag}"})
    assert (await visitor.expect("chat", cid=f"r-{tag}", timeout=DEADLINE))["text"] == f"rep {tag}"


def _last_seq(client: Any) -> int:
    return max(m["seq"] for m in client.received if m.get("t") == "chat")


async def _tickets_everywhere(cluster: RelayCluster, cookie: str, sid: str, nodes: list[ServerProcess]) -> set[str]:
    """The relay nodes named by tickets asked through nginx (each ask may
    land on another web node) and of each web node directly."""
    named: set[str] = set()
    for base in [cluster.via, cluster.via, cluster.via, *nodes]:
        async with httpx.AsyncClient(base_url=base.url, timeout=30, cookies={"dl_session": cookie}) as http:
            ticket = await relay_ticket(http, sid)
            assert ticket["url"] == cluster.relay_url(ticket["node"])
            named.add(ticket["node"])
    return named


async def _screens_on(cluster: RelayCluster) -> dict[str, tuple[int, int]]:
    """(agents, viewers) on each running node, from its metrics."""
    nodes = {**cluster.relays, **{f"web-{i}": n for i, n in enumerate(cluster.web)}}
    return {
        name: (await sockets_on(node, "agent"), await sockets_on(node, "viewer"))
        for name, node in nodes.items()
        if node.proc is not None and node.proc.poll() is None
    }


@dataclass
class Sharing:
    visitor: VisitorClient
    rep: RepClient  # the winner's console, through nginx
    rep_node: ServerProcess  # the web node holding it
    login: tuple[str, str]
    cookie: str
    sid: str
    owner: str  # the relay node holding the screen
    viewer: ViewerClient
    agent: subprocess.Popen[str]

    async def close(self) -> None:
        await self.viewer.close()
        for client in (self.rep, self.visitor):
            try:
                await client.close()
            except websockets.ConnectionClosed:
                pass
        self.agent.terminate()
        await asyncio.to_thread(self.agent.wait, 30)


async def _share_across_nodes(cluster: RelayCluster, display: XDisplay) -> Sharing:
    """The visitor on the first web node, two reps on each of the others:
    every rep alerted, all accept at once, exactly one wins, chat flows.
    The winner's console then comes back through nginx (as a browser's
    would) and asks for the screen; the agent runs as the offer says and
    the viewer takes a ticket; both meet on one relay node."""
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
        assert not [m for m in loser.received if m.get("t") == "chat" and m.get("from") != "system"]
        await loser.close()
    await visitor.expect("joined", timeout=DEADLINE)
    await _chat(visitor, winner, sid, "direct")

    # The winner's console through nginx, resuming the session.
    username, password = creds[index]
    last = _last_seq(winner)
    await winner.close()
    rep = await until_open(lambda: rep_socket(cluster.via, username, password, {sid: last}), "the rep's socket")

    async def rep_sockets() -> list[ServerProcess]:
        return [n for n in cluster.web for _ in range(await sockets_on(n, "rep"))]

    deadline = asyncio.get_running_loop().time() + DEADLINE
    while len(holding := await rep_sockets()) != 1:  # the closed direct socket leaves its node's count
        assert asyncio.get_running_loop().time() < deadline, holding
        await asyncio.sleep(0.1)
    await _chat(visitor, rep, sid, "via-nginx")

    async with httpx.AsyncClient(base_url=cluster.via.url, timeout=30) as http:
        cookie = await rep_cookie(http, username, password)
    (owner,) = await _tickets_everywhere(cluster, cookie, sid, cluster.web)
    async with httpx.AsyncClient(base_url=cluster.via.url, timeout=30, cookies={"dl_session": cookie}) as http:
        ticket = await relay_ticket(http, sid)
    viewer = await open_viewer(ticket, sid, cookie, cluster.via.url)
    await viewer.wait_status("waiting_agent", timeout=DEADLINE)

    paint(display, "#d02020")
    await rep.send({"t": "screen.request", "session_id": sid})
    offer = await visitor.expect("screen.offer", timeout=DEADLINE)
    # The command names the public address (nginx); the agent asks a web
    # node there for its ticket, which names the session's relay node.
    assert f"--server {cluster.via.url} " in offer["command"], offer["command"]
    assert offer["relay"]["url"] == cluster.relay_url(owner)
    agent = start_offered_agent(display, offer)
    sharing = Sharing(visitor, rep, holding[0], (username, password), cookie, sid, owner, viewer, agent)
    try:
        await viewer.wait_status("sharing", timeout=DEADLINE)
        await shows(viewer, display, "#d02020")
        screens = await _screens_on(cluster)
        assert screens[owner] == (1, 1), screens
        assert all(v == (0, 0) for k, v in screens.items() if k != owner), screens
    except BaseException:
        await sharing.close()
        raise
    return sharing


async def test_agent_and_viewer_meet_on_one_relay_node_and_a_web_drain_leaves_the_screen_alone(
    relay_cluster: RelayCluster, display: XDisplay
) -> None:
    cluster = relay_cluster
    s = await _share_across_nodes(cluster, display)
    try:
        # Drain the web node holding the rep's console: the chat moves
        # through nginx, the screen on the relay node is not touched.
        frames_before = s.viewer.frames
        assert s.rep_node.proc is not None
        s.rep_node.proc.send_signal(signal.SIGTERM)
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await s.rep.recv(DEADLINE)
        assert s.rep.ws.close_code == codes.CLOSE_RECONNECT
        assert await wait_node_gone(s.rep_node) == 0
        last = _last_seq(s.rep)
        s.rep = await until_open(lambda: rep_socket(cluster.via, *s.login, {s.sid: last}), "the rep's socket")
        await _chat(s.visitor, s.rep, s.sid, "after-drain")
        assert s.viewer.status == "sharing"
        await shows(s.viewer, display, "#2040d0")
        assert s.viewer.frames > frames_before
        remaining = [n for n in cluster.web if n is not s.rep_node]
        assert await _tickets_everywhere(cluster, s.cookie, s.sid, remaining) == {s.owner}
        assert (await _screens_on(cluster))[s.owner] == (1, 1)

        await s.viewer.send({"t": "screen.stop"})
        await s.viewer.wait_status("stopped", timeout=DEADLINE)
    finally:
        await s.close()


async def test_a_killed_relay_node_moves_the_session_to_the_other_through_nginx(
    relay_cluster: RelayCluster, display: XDisplay
) -> None:
    cluster = relay_cluster
    s = await _share_across_nodes(cluster, display)
    other = cluster.other_relay(s.owner)
    try:
        dead = cluster.relays[s.owner]
        assert dead.proc is not None
        dead.proc.kill()  # SIGKILL: no drain, no goodbye
        await wait_node_gone(dead)
        # The viewer is told: its socket drops (nginx answers 502 for the dead name from now on).
        await wait_until(lambda: s.viewer._task.done(), DEADLINE, "the viewer's socket to drop")
        await s.viewer.close()
        async with httpx.AsyncClient(base_url=cluster.via.url, timeout=30) as http:
            assert (await http.get(f"/relay/{s.owner}/healthz")).status_code == 502

        # Asked again through nginx (any web node): the other relay node.
        async with httpx.AsyncClient(base_url=cluster.via.url, timeout=30, cookies={"dl_session": s.cookie}) as http:
            moved = await relay_ticket(http, s.sid, not_on=s.owner)
        assert moved["node"] == other and moved["url"] == cluster.relay_url(other)
        assert await _tickets_everywhere(cluster, s.cookie, s.sid, cluster.web) == {other}
        s.viewer = await open_viewer(moved, s.sid, s.cookie, cluster.via.url)
        await s.viewer.wait_status("sharing", timeout=60)
        await shows(s.viewer, display, "#20b040")
        assert s.agent.poll() is None  # the same agent process carries on
        screens = await _screens_on(cluster)
        assert screens[other] == (1, 1), screens
        assert s.owner not in screens
        await _chat(s.visitor, s.rep, s.sid, "after-kill")

        await s.viewer.send({"t": "screen.stop"})
        await s.viewer.wait_status("stopped", timeout=DEADLINE)
    finally:
        await s.close()
    out = s.agent.stdout.read() if s.agent.stdout is not None else ""
    assert "reconnecting" in out, out  # the agent was told, and said so
    assert f"moves to relay node {other}" in out, out
    assert out.count(ASKED) == 1, out  # the visitor was not asked again

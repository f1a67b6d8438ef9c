"""deploy/nginx/desklink.conf and deploy/haproxy/desklink.cfg, each run by
Debian's nginx or HAProxy in front of three nodes on one PostgreSQL database
and one Redis: every client goes through the balancer.

* a visitor and three reps: every rep alerted, exactly one accept wins, chat
  flows both ways over WebSockets through the balancer;
* a node killed with SIGKILL mid-chat: its clients come back through the balancer
  on another node, and no line is lost or doubled;
* a node drained (SIGTERM) mid-chat: its clients are told 4503, move, and no
  line is lost or doubled; the node exits cleanly;
* Redis crashed and started again mid-chat: each side keeps its own echo,
  gets the other's lines once Redis is back, nothing doubled;
* relay nodes by their own names (``/relay/<name>/...``).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from _cluster import Party, chat_through, sockets_on, wait_node_gone

from desklink.protocol import codes
from desklink.testing import ServerProcess
from desklink.testing_balancers import HAProxyProcess, NginxProcess
from desklink.testing_redis import RedisProcess

pytestmark = [pytest.mark.pg, pytest.mark.redis]


def _balanced(kind: str, nodes: list[ServerProcess], tmp_path: Path) -> Iterator[NginxProcess | HAProxyProcess]:
    ports = [n.port for n in nodes]
    make = NginxProcess if kind == "nginx" else HAProxyProcess
    proc = make(tmp_path / kind, web=ports, screen=ports[:1], relays={"r1": ports[1], "r2": ports[2]})
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(params=["nginx", "haproxy"])
def balancer(request: pytest.FixtureRequest, cluster: list[ServerProcess], tmp_path: Path) -> Iterator[NginxProcess | HAProxyProcess]:
    yield from _balanced(request.param, cluster, tmp_path)


@pytest.fixture(params=["nginx", "haproxy"])
def balancer_on_own_redis(
    request: pytest.FixtureRequest, cluster_on_own_redis: list[ServerProcess], tmp_path: Path
) -> Iterator[NginxProcess | HAProxyProcess]:
    yield from _balanced(request.param, cluster_on_own_redis, tmp_path)


async def _exchange(visitor: Party, rep: Party, tag: str) -> None:
    await visitor.say(f"v-{tag}", f"visitor says {tag}")
    await visitor.echoed(f"v-{tag}")
    await rep.client.expect("chat", cid=f"v-{tag}")
    await rep.say(f"r-{tag}", f"rep says {tag}")
    await rep.echoed(f"r-{tag}")
    await visitor.client.expect("chat", cid=f"r-{tag}")


def _assert_nothing_lost_or_doubled(party: Party, cids: set[str]) -> None:
    by_cid = party.seqs_by_cid()
    assert cids <= set(by_cid), f"lost: {cids - set(by_cid)}"
    assert all(len(seqs) == 1 for seqs in by_cid.values()), f"a line stored twice: {by_cid}"
    # A resume may send a line again (docs/protocol.md: clients drop a seq
    # they have); what the page shows must be every seq once, with no gap,
    # and a repeated seq must be the very same line.
    chats = party.chats()
    shown = {m["seq"]: m.get("cid") for m in chats}
    assert all(shown[m["seq"]] == m.get("cid") for m in chats), f"one seq, two lines: {chats}"
    assert sorted(shown) == list(range(1, len(shown) + 1)), f"a gap in the seqs: {sorted(shown)}"


async def _still_connected(party: Party) -> bool:
    try:
        await party.client.send({"t": "ping"})
        await party.client.expect("pong")
        return True
    except websockets.ConnectionClosed:
        return False


async def _node_of_visitor(cluster: list[ServerProcess]) -> ServerProcess:
    holding = [n for n in cluster if await sockets_on(n, "visitor")]
    assert len(holding) == 1
    return holding[0]


async def test_every_rep_is_alerted_one_accept_wins_and_chat_flows(cluster: list[ServerProcess], balancer: NginxProcess | HAProxyProcess) -> None:
    visitor, rep, losers = await chat_through(balancer.via, cluster[0])
    reps_per_node = [await sockets_on(n, "rep") for n in cluster]
    assert sum(reps_per_node) == 3 and sum(1 for n in reps_per_node if n) >= 2, reps_per_node
    await _exchange(visitor, rep, "1")
    await _exchange(visitor, rep, "2")
    for loser in losers:
        assert not [m for m in loser.received if m.get("t") == "chat"]
        await loser.close()

    async with httpx.AsyncClient(base_url=balancer.via.url) as http:
        # The forwarded headers reach the nodes: the cookie is not Secure on plain HTTP.
        assert (await http.get("/readyz")).status_code == 200
        # A relay node by its name, and no other.
        assert (await http.get("/relay/r1/healthz")).json() == {"status": "ok"}
        assert (await http.get("/relay/nope/healthz")).status_code == 404
    await visitor.close()
    await rep.close()


async def test_a_node_killed_mid_chat_loses_no_line(cluster: list[ServerProcess], balancer: NginxProcess | HAProxyProcess) -> None:
    visitor, rep, losers = await chat_through(balancer.via, cluster[0])
    for loser in losers:
        await loser.close()
    await _exchange(visitor, rep, "before")
    victim = await _node_of_visitor(cluster)
    assert victim.proc is not None
    victim.proc.kill()
    await wait_node_gone(victim)

    await visitor.wait_closed()
    await visitor.say("v-gone", "typed while the node died")  # into a dead socket: stays pending
    if not await _still_connected(rep):
        await rep.reconnect(balancer.via)
    await rep.say("r-gone", "said while the visitor was away")
    await rep.echoed("r-gone")

    await visitor.reconnect(balancer.via)
    await visitor.client.expect("chat", cid="r-gone")  # from the backlog
    await visitor.echoed("v-gone")  # sent again, kept once
    await rep.client.expect("chat", cid="v-gone")
    await _exchange(visitor, rep, "after")

    cids = {"v-before", "r-before", "v-gone", "r-gone", "v-after", "r-after"}
    _assert_nothing_lost_or_doubled(visitor, cids)
    _assert_nothing_lost_or_doubled(rep, cids)
    assert sum([await sockets_on(n, "visitor") for n in cluster if n is not victim]) == 1
    async with httpx.AsyncClient(base_url=balancer.via.url) as http:
        # Relays r1, r2 are the second and third nodes: the dead one answers 502 (nginx) or 503
        # (HAProxy), never another node's answer; the other still 200.
        for name, node in (("r1", cluster[1]), ("r2", cluster[2])):
            status = (await http.get(f"/relay/{name}/healthz")).status_code
            assert status in ((502, 503) if node is victim else (200,)), (name, status)
    await visitor.close()
    await rep.close()


async def test_a_node_drained_mid_chat_moves_its_clients_cleanly(cluster: list[ServerProcess], balancer: NginxProcess | HAProxyProcess) -> None:
    visitor, rep, losers = await chat_through(balancer.via, cluster[0])
    for loser in losers:
        await loser.close()
    await _exchange(visitor, rep, "before")
    victim = await _node_of_visitor(cluster)
    rep_there = await sockets_on(victim, "rep") == 1
    assert victim.proc is not None
    victim.proc.send_signal(signal.SIGTERM)

    assert await visitor.wait_closed() == codes.CLOSE_RECONNECT
    if rep_there:
        assert await rep.wait_closed() == codes.CLOSE_RECONNECT
        await rep.reconnect(balancer.via)
    await rep.say("r-moving", "said while the visitor moved")
    await visitor.reconnect(balancer.via)
    await visitor.client.expect("chat", cid="r-moving")
    await _exchange(visitor, rep, "after")
    assert await wait_node_gone(victim) == 0

    cids = {"v-before", "r-before", "r-moving", "v-after", "r-after"}
    _assert_nothing_lost_or_doubled(visitor, cids)
    _assert_nothing_lost_or_doubled(rep, cids)
    await visitor.close()
    await rep.close()


async def test_redis_restarted_mid_chat_loses_and_doubles_nothing(
    cluster_on_own_redis: list[ServerProcess], balancer_on_own_redis: NginxProcess | HAProxyProcess, own_redis: RedisProcess
) -> None:
    via = balancer_on_own_redis.via
    visitor, rep, losers = await chat_through(via, cluster_on_own_redis[0])
    for loser in losers:
        await loser.close()
    await _exchange(visitor, rep, "before")

    own_redis.crash()
    await visitor.say("v-dark", "typed while Redis is down")
    await rep.say("r-dark", "said while Redis is down")
    await visitor.echoed("v-dark")  # stored: each side has its own echo at once
    await rep.echoed("r-dark")
    own_redis.start()
    assert (await rep.client.expect("chat", cid="v-dark", timeout=30))["text"] == "typed while Redis is down"
    assert (await visitor.client.expect("chat", cid="r-dark", timeout=30))["text"] == "said while Redis is down"
    await _exchange(visitor, rep, "after")

    cids = {"v-before", "r-before", "v-dark", "r-dark", "v-after", "r-after"}
    _assert_nothing_lost_or_doubled(visitor, cids)
    _assert_nothing_lost_or_doubled(rep, cids)
    await visitor.close()
    await rep.close()

"""Relay nodes (``desklink serve --role relay``) on Redis and PostgreSQL:
real processes announce themselves, a web node's directory sees and chooses
them, and a dead one drops out (docs/architecture.md, *Relay nodes*)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from desklink.broker import RedisBroker
from desklink.protocol import codes
from desklink.protocol import relay_token as rt
from desklink.protocol.relay_token import RelayGrant, RelayRole
from desklink.server.relay_nodes import RelayDirectory
from desklink.store import Store
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, VisitorClient
from desklink.testing_mail import MailServer

pytestmark = [pytest.mark.pg, pytest.mark.redis]

SECRET = secrets.token_urlsafe(32)
STALE_S = 1.0


@pytest.fixture
def env(pg_database_url: str, redis_url: str, broker_prefix: str) -> dict[str, str]:
    return {
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": broker_prefix,
        "DESKLINK_RELAY_SECRET": SECRET,
        "DESKLINK_RELAY_HEARTBEAT_S": "0.2",
        "DESKLINK_RELAY_STALE_S": str(STALE_S),
    }


@pytest.fixture
def relays(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    one = ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-1"}, data_dir=tmp_path / "1")
    two = ServerProcess(
        env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-2", "DESKLINK_RELAY_CAPACITY": "5"},
        data_dir=tmp_path / "2",
    )
    with one, two:
        yield one, two


@pytest.fixture
async def directory(redis_url: str, broker_prefix: str) -> AsyncIterator[RelayDirectory]:
    broker = RedisBroker(redis_url, broker_prefix)
    try:
        yield RelayDirectory(broker, stale_s=STALE_S)
    finally:
        await broker.aclose()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def close_of(url: str) -> tuple[int, str]:
    """The code and reason a relay socket is closed with, unasked."""
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def token(session: str, role: RelayRole, node: str = "relay-1", ttl: float = 60, secret: str = SECRET) -> str:
    grant = RelayGrant(session=session, role=role, subject=7, node=node, expires=rt.expiry(time.time(), ttl))
    return rt.sign(grant, secret.encode())


async def names(directory: RelayDirectory) -> list[str]:
    return [n.name for n in await directory.nodes()]


async def test_relay_nodes_announce_themselves_and_the_emptiest_is_chosen(
    relays: tuple[ServerProcess, ServerProcess], directory: RelayDirectory
) -> None:
    one, two = relays

    async def both() -> bool:
        return await names(directory) == ["relay-1", "relay-2"]

    await until(both, "both relay nodes to announce themselves")
    nodes = {n.name: n for n in await directory.nodes()}
    assert nodes["relay-1"].public_url == one.url and nodes["relay-2"].public_url == two.url
    assert (nodes["relay-1"].capacity, nodes["relay-2"].capacity) == (1000, 5)
    assert nodes["relay-1"].load == nodes["relay-2"].load == 0
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "relay-1"


async def test_a_relay_node_serves_only_the_screen_sockets_and_health(
    relays: tuple[ServerProcess, ServerProcess],
) -> None:
    one, _ = relays
    async with httpx.AsyncClient(base_url=one.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        for path in ("/api/widget/config?queue=support", "/console", "/admin", "/static/widget/desklink-help.js"):
            r = await http.get(path)
            assert r.status_code == 404, path
            assert r.json()["error"]["code"] == "not_found"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(one.ws_url + "/ws/rep"):
            pass
    # the screen sockets are there, behind the relay token
    for path in ("/ws/agent", "/ws/share", "/ws/viewer?session=s1"):
        assert await close_of(one.ws_url + path) == (codes.CLOSE_RELAY_TOKEN, "relay token forged")


async def test_a_dead_relay_node_drops_out_and_a_stopped_one_withdraws(
    relays: tuple[ServerProcess, ServerProcess], directory: RelayDirectory
) -> None:
    one, two = relays

    async def both() -> bool:
        return await names(directory) == ["relay-1", "relay-2"]

    await until(both, "both relay nodes to announce themselves")
    assert one.proc is not None
    one.proc.kill()  # SIGKILL: no withdrawal, only the heartbeat stops
    one.proc.wait(10)

    async def only_two() -> bool:
        return await names(directory) == ["relay-2"]

    await until(only_two, "the killed node's announcement to go stale")
    chosen = await directory.choose()
    assert chosen is not None and chosen.name == "relay-2"
    two.stop()  # SIGTERM: a clean stop withdraws at once

    async def none() -> bool:
        return await names(directory) == []

    await until(none, "the stopped node to withdraw")
    assert await directory.choose() is None


async def test_relay_tokens_are_checked_at_the_door(relays: tuple[ServerProcess, ServerProcess]) -> None:
    """Forged, expired, other-session, other-role and other-node tokens are
    refused with their code, before any cookie, join code or database."""
    one, _ = relays
    viewer = one.ws_url + "/ws/viewer?session=s1&token="
    forged = token("s1", "viewer", secret=secrets.token_urlsafe(32))
    assert await close_of(viewer + forged) == (codes.CLOSE_RELAY_TOKEN, "relay token forged")
    good = token("s1", "viewer")
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert await close_of(viewer + tampered) == (codes.CLOSE_RELAY_TOKEN, "relay token forged")
    assert await close_of(viewer + token("s1", "viewer", ttl=-5)) == (codes.CLOSE_RELAY_TOKEN, "relay token expired")
    assert await close_of(viewer + token("s2", "viewer")) == (codes.CLOSE_RELAY_TOKEN, "relay token for another session")
    assert await close_of(viewer + token("s1", "agent")) == (codes.CLOSE_RELAY_TOKEN, "relay token for another role")
    assert await close_of(viewer + token("s1", "viewer", node="relay-2")) == (
        codes.CLOSE_OTHER_RELAY,
        "another relay node holds this session",
    )
    agent = one.ws_url + "/ws/agent?token="
    assert await close_of(agent + token("s1", "viewer")) == (codes.CLOSE_RELAY_TOKEN, "relay token for another role")
    # A good token gets past the door: what follows (here, the token's rep
    # is not a user of this server) decides.
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(viewer + good):
            pass
    assert refused.value.response.status_code == 403


def test_a_relay_node_without_a_secret_does_not_start(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "DESKLINK_ROLE": "relay", "DESKLINK_RELAY_SECRET": "too short"}
    with pytest.raises(RuntimeError, match="relay_secret"):
        ServerProcess(env=env, data_dir=tmp_path / "x").start()


def test_a_web_node_without_redis_does_not_start(tmp_path: Path) -> None:
    env = {"DESKLINK_ROLE": "web", "DESKLINK_RELAY_SECRET": SECRET, "DESKLINK_REDIS_URL": ""}
    with pytest.raises(RuntimeError, match="redis_url"):
        ServerProcess(env=env, data_dir=tmp_path / "x").start()


@pytest.fixture
def cluster(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, ServerProcess]]:
    """One web node and two relay nodes, no balancer."""
    web = ServerProcess(env={**env, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": "web-1"}, data_dir=tmp_path / "w")
    one = ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-1"}, data_dir=tmp_path / "1")
    two = ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-2"}, data_dir=tmp_path / "2")
    with web, one, two:
        yield web, one, two


async def test_a_web_node_sends_every_viewer_of_a_session_to_one_relay_node(
    cluster: tuple[ServerProcess, ServerProcess, ServerProcess], directory: RelayDirectory
) -> None:
    web, one, two = cluster

    async def both() -> bool:
        return await names(directory) == ["relay-1", "relay-2"]

    await until(both, "both relay nodes to announce themselves")
    admin = AdminAPI(web)
    (u1, p1), (u2, p2) = admin.reps(2, prefix="relay")
    admin.close()
    rep = await RepClient.connect(web, u1, p1)
    visitor = await VisitorClient.submit(web, name="Ann", question="my screen")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]

    http, _ = web.login(u1, p1)
    other, _ = web.login(u2, p2)
    try:
        first = http.get(f"/api/sessions/{sid}/relay").json()
        again = http.get(f"/api/sessions/{sid}/relay").json()
        assert first["node"] == again["node"] == "relay-1"  # both empty: the lower name
        assert first["url"] == one.url
        grant = rt.verify(first["token"], SECRET.encode(), now=time.time(), node="relay-1", role="viewer", session=sid)
        assert grant.subject == rep.welcome["user"]["id"]
        # a rep who may not watch this session gets no ticket
        assert other.get(f"/api/sessions/{sid}/relay").status_code == 403
        assert http.get("/api/sessions/nope/relay").status_code == 404
    finally:
        http.close()
        other.close()

    # The owner's door lets the token through, and the token is the login:
    # no cookie, no Origin (the relay may be on another host); the viewer
    # is the token's rep. The other relay node refuses it as another node's.
    async with websockets.connect(f"{one.ws_url}/ws/viewer?session={sid}&token={first['token']}") as ws:
        state = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert state["t"] == "screen.state" and state["session_id"] == sid
    url = f"{two.ws_url}/ws/viewer?session={sid}&token={first['token']}"
    assert await close_of(url) == (codes.CLOSE_OTHER_RELAY, "another relay node holds this session")

    # An agent whose join code is for this session but whose token is for
    # another is refused once the code names the session.
    await rep.send({"t": "screen.request", "session_id": sid})
    code = (await visitor.expect("screen.offer"))["code"]
    async with websockets.connect(f"{one.ws_url}/ws/agent?token={token('another', 'agent')}") as agent:
        await agent.send(json.dumps({"t": "hello", "code": code}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(agent.recv(), 10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (codes.CLOSE_RELAY_TOKEN, "relay token for another session")
    await rep.close()
    await visitor.close()


async def status_of(database_url: str, request_id: str) -> str:
    """A request's status as stored (the database is the truth)."""
    store = await Store.open(database_url)
    try:
        req = await store.get_request(request_id)
        assert req is not None
        return req.status
    finally:
        await store.close()


async def test_a_relay_node_serves_the_screen_but_sends_no_summary_and_sweeps_no_request(
    env: dict[str, str], directory: RelayDirectory, tmp_path: Path
) -> None:
    """A relay node set up to send the daily summary at once and to expire
    a waiting request within a second does neither, while it serves and
    beats; a web node with the very same settings does both (the control)."""
    with MailServer() as mail:
        web = ServerProcess(
            env={**env, **ONE_ADDRESS_ENV, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": "web-1", "DESKLINK_SWEEP_INTERVAL_S": "3600"},
            data_dir=tmp_path / "w",
        )
        eager = {
            **env, **ONE_ADDRESS_ENV, **mail.env, "DESKLINK_DAILY_SUMMARY_TO": "ops@example.com", "DESKLINK_DAILY_SUMMARY_HOUR": "0",
            "DESKLINK_SWEEP_INTERVAL_S": "0.2", "DESKLINK_REQUEST_EXPIRY_S": "1",
        }
        relay = ServerProcess(env={**eager, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-1"}, data_dir=tmp_path / "r")
        control = ServerProcess(env={**eager, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": "web-2"}, data_dir=tmp_path / "c")
        with web:
            admin = AdminAPI(web)
            ((user, password),) = admin.reps(1, prefix="light")
            admin.close()
            rep = await RepClient.connect(web, user, password)
            visitor = await VisitorClient.submit(web, name="Ann", question="still waiting")
            await rep.expect("alert")
            with relay:
                started = time.time()

                async def beating_a_while() -> bool:
                    node = await directory.get("relay-1")
                    return node is not None and node.seen_at > started + 3  # 15 sweep rounds, past the expiry
                await until(beating_a_while, "the relay node to run a few seconds")
                async with httpx.AsyncClient(base_url=relay.url) as http:
                    assert (await http.get("/readyz")).status_code == 200
                assert await close_of(relay.ws_url + "/ws/viewer?session=s1") == (codes.CLOSE_RELAY_TOKEN, "relay token forged")
                assert mail.messages() == []
                assert await status_of(env["DESKLINK_DATABASE_URL"], visitor.request_id) == "waiting"
                assert "desklink_daily_summary" not in relay.metrics()
                with control:
                    closed = await visitor.expect("closed", timeout=30)
                    assert closed["status"] == "expired"
                    assert await status_of(env["DESKLINK_DATABASE_URL"], visitor.request_id) == "expired"
                    await asyncio.to_thread(mail.wait_for, lambda m: "ops@example.com" in str(m["To"]), 30, "the control's summary")
        await rep.close()
        await visitor.close()

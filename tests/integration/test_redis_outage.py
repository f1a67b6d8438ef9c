"""Redis outages lose nothing and heal by themselves (docs/operations.md,
"Broker outages").

Every test runs its own ``redis-server`` (desklink.testing_redis) and real
``desklink serve`` processes pointed at it, with real rep and visitor
sockets. A crash is SIGKILL: connections reset and every key is lost, as in
a restart without persistence; the server then starts again on the same
port. Settings are short so the tests are quick; nothing asserts a duration:
each step waits for a condition with a generous deadline.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient
from desklink.testing_redis import RedisProcess

DEADLINE = 30.0  # longest any one condition may take before the test fails
PRESENCE_TTL_S = 1.5  # rep heartbeat every 0.5 s
GRACE_S = 2.0  # visitor heartbeat every 0.67 s; absence judged after 2 s


@pytest.fixture
def redis() -> Iterator[RedisProcess]:
    with RedisProcess() as server:
        yield server


def node_env(redis: RedisProcess, prefix: str, **extra: str) -> dict[str, str]:
    return {
        "DESKLINK_REDIS_URL": redis.url,
        "DESKLINK_BROKER_PREFIX": prefix,
        "DESKLINK_PRESENCE_TTL_S": str(PRESENCE_TTL_S),
        "DESKLINK_VISITOR_GRACE_S": str(GRACE_S),
        "DESKLINK_SWEEP_INTERVAL_S": "0.2",
        "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "1000",
        **extra,
    }


@pytest.fixture
def node(redis: RedisProcess) -> Iterator[ServerProcess]:
    """One node on SQLite and the test's own Redis."""
    with ServerProcess(env=node_env(redis, f"dltest:{secrets.token_hex(4)}:")) as srv:
        yield srv


@pytest.fixture
def nodes(redis: RedisProcess, pg_database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two nodes on one PostgreSQL database and the test's own Redis."""
    env = node_env(
        redis, f"dltest:{secrets.token_hex(4)}:", DESKLINK_DATABASE_URL=pg_database_url, DESKLINK_REQUEST_EXPIRY_S="6"
    )
    with ServerProcess(env=env, data_dir=tmp_path / "a") as a:
        with ServerProcess(env=env, data_dir=tmp_path / "b") as b:
            b.admin_password = a.admin_password
            yield a, b


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not await condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline} s")
        await asyncio.sleep(0.1)


async def status(server: ServerProcess, path: str) -> int:
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as http:
        return (await http.get(path)).status_code


async def broker_up(server: ServerProcess) -> bool | None:
    """What the node's ``/readyz`` says of the broker (it stays ready through
    a broker outage, which every node shares: docs/operations.md); None
    while the node is not ready for another reason."""
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as http:
        r = await http.get("/readyz")
    return bool(r.json()["broker"]) if r.status_code == 200 else None


async def online_reps(server: ServerProcess) -> int:
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE, headers={"Origin": server.url}) as http:
        r = await http.get("/api/widget/config?queue=support")
        r.raise_for_status()
        return int(r.json()["online_reps"])


class Metrics:
    """/metrics of one node, read as a scraper (its bearer token)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.http: httpx.AsyncClient | None = None

    async def __call__(self) -> dict[str, float]:
        if self.http is None:
            self.http = httpx.AsyncClient(base_url=self.server.url, timeout=DEADLINE, headers=self.server.metrics_headers)
        r = await self.http.get("/metrics")
        r.raise_for_status()
        out = {}
        for line in r.text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.split()
                out[name] = float(value)
        return out

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


@pytest.fixture
async def metrics_of() -> AsyncIterator[Callable[[ServerProcess], Metrics]]:
    opened: list[Metrics] = []

    def make(server: ServerProcess) -> Metrics:
        opened.append(Metrics(server))
        return opened[-1]

    yield make
    for m in opened:
        await m.aclose()


async def in_chat(server_rep: ServerProcess, server_visitor: ServerProcess, user: str, pw: str) -> tuple[RepClient, VisitorClient, str]:
    rep = await RepClient.connect(server_rep, user, pw)
    visitor = await VisitorClient.submit(server_visitor, name="Ann", question="my printer")
    await rep.expect("alert", timeout=DEADLINE)
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted", timeout=DEADLINE))["session"]["id"]
    await visitor.expect("joined", timeout=DEADLINE)
    return rep, visitor, sid


def errors(client: RepClient | VisitorClient) -> list[dict[str, Any]]:
    return [m for m in client.received if m.get("t") == "error"]


async def closed_with(client: VisitorClient) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await client.recv(DEADLINE)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


# item 13 --------------------------------------------------------------------


async def test_chat_while_redis_is_down_is_echoed_delivered_and_retried_on_one_node(
    node: ServerProcess, redis: RedisProcess
) -> None:
    """One node: both sides are its own sockets, so chat goes on through the
    outage. The sender gets its echo (the line is stored), never
    ``internal``; a resend with the same cid is echoed again."""
    admin = AdminAPI(node)
    ((user, pw),) = admin.reps(1, prefix="one")
    admin.close()
    rep, visitor, sid = await in_chat(node, node, user, pw)

    redis.crash()
    await wait_for(lambda: _is(broker_up(node), False), "/readyz reports the broker down")
    await visitor.send({"t": "chat.send", "cid": "v1", "text": "are you there?"})
    echo = await visitor.expect("chat", cid="v1", timeout=DEADLINE)
    assert (await rep.expect("chat", cid="v1", timeout=DEADLINE))["seq"] == echo["seq"]
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "yes, still here"})
    assert (await visitor.expect("chat", cid="r1", timeout=DEADLINE))["text"] == "yes, still here"
    await rep.expect("chat", cid="r1", timeout=DEADLINE)
    await visitor.send({"t": "chat.send", "cid": "v1", "text": "are you there?"})  # the documented retry
    assert (await visitor.expect("chat", cid="v1", timeout=DEADLINE))["seq"] == echo["seq"]
    assert errors(visitor) == [] and errors(rep) == []

    redis.start()
    await wait_for(lambda: _is(broker_up(node), True), "/readyz sees Redis back")
    await visitor.send({"t": "chat.send", "cid": "v2", "text": "after"})
    await rep.expect("chat", cid="v2", timeout=DEADLINE)
    for c in (rep, visitor):
        await c.close()


@pytest.mark.pg
async def test_news_stored_while_redis_is_down_reaches_the_other_node_when_it_is_back(
    nodes: tuple[ServerProcess, ServerProcess], redis: RedisProcess
) -> None:
    """Rep on node a, visitor on node b: while Redis is down each side gets
    its own echo at once and the other side's lines, a new request's alert
    and the end of the session once Redis is back."""
    a, b = nodes
    admin = AdminAPI(a)
    ((user, pw),) = admin.reps(1, prefix="two")
    admin.close()
    rep, visitor, sid = await in_chat(a, b, user, pw)

    redis.crash()
    await visitor.send({"t": "chat.send", "cid": "v1", "text": "from b in the dark"})
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "from a in the dark"})
    await visitor.expect("chat", cid="v1", timeout=DEADLINE)
    await rep.expect("chat", cid="r1", timeout=DEADLINE)
    # A question asked meanwhile is stored (the help box gets its token).
    late = await VisitorClient.submit(b, name="Bob", question="asked during the outage")
    assert errors(visitor) == [] and errors(rep) == [] and errors(late) == []

    redis.start()
    assert (await rep.expect("chat", cid="v1", timeout=DEADLINE))["text"] == "from b in the dark"
    assert (await visitor.expect("chat", cid="r1", timeout=DEADLINE))["text"] == "from a in the dark"
    assert (await rep.expect("alert", timeout=DEADLINE))["request"]["id"] == late.request_id

    # Once more, with the session ending in the dark.
    await wait_for(lambda: _is(broker_up(a), True), "node a to see Redis again")
    await wait_for(lambda: _is(broker_up(b), True), "node b to see Redis again")
    redis.crash()
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
    assert (await rep.expect("ended", timeout=DEADLINE))["by"] == "rep"
    redis.start()
    assert (await visitor.expect("ended", timeout=DEADLINE))["by"] == "rep"
    assert await closed_with(visitor) == 4010
    for c in (rep, late):
        await c.close()


# item 14 --------------------------------------------------------------------


async def test_presence_and_every_background_task_come_back_by_themselves(
    node: ServerProcess, redis: RedisProcess
) -> None:
    admin = AdminAPI(node)
    ((user, pw),) = admin.reps(1, prefix="beat")
    admin.close()
    rep = await RepClient.connect(node, user, pw)
    waiting = await VisitorClient.submit(node, question="before the outage")
    await rep.expect("alert", timeout=DEADLINE)
    assert await online_reps(node) == 1

    redis.crash()
    await wait_for(lambda: _is(broker_up(node), False), "/readyz reports the broker down")
    await asyncio.sleep(3 * PRESENCE_TTL_S)  # keep Redis down across several heartbeats and sweeps

    redis.start()  # empty: every presence key is gone
    await wait_for(lambda: _is(online_reps(node), 1), "the rep's presence is back without any action")
    await wait_for(lambda: _is(broker_up(node), True), "/readyz sees Redis back")
    # The hub's subscription is back too: a new question alerts the rep live.
    fresh = await VisitorClient.submit(node, question="after the outage")
    await _alert_for(rep, fresh.request_id)
    await rep.send({"t": "accept", "request_id": waiting.request_id})
    await rep.expect("accepted", timeout=DEADLINE)
    await waiting.expect("joined", timeout=DEADLINE)

    # Logged once per outage, without tracebacks.
    await wait_for(lambda: _logged(node, "broker reachable again"), "the node logs that the broker is back")
    output = "".join(node.output)
    assert output.count("broker unreachable") == 1, output
    assert output.count("broker reachable again") == 1, output
    assert "Traceback" not in output, output
    for c in (rep, waiting, fresh):
        await c.close()


async def _alert_for(rep: RepClient, request_id: str) -> None:
    while (await rep.expect("alert", timeout=DEADLINE))["request"]["id"] != request_id:
        pass


async def test_while_redis_is_down_clients_get_clear_answers(node: ServerProcess, redis: RedisProcess) -> None:
    """What needs the broker first fails at once with ``unavailable`` and
    changes nothing; what needs only the store goes on."""
    admin = AdminAPI(node)
    ((user, pw),) = admin.reps(1, prefix="clear")
    admin.close()
    rep = await RepClient.connect(node, user, pw)
    waiting = await VisitorClient.submit(node, question="before the outage")
    await rep.expect("alert", timeout=DEADLINE)

    redis.crash()
    await rep.send({"t": "accept", "request_id": waiting.request_id})  # needs the broker's claim
    refused = await rep.expect("error", timeout=DEADLINE)
    assert refused["code"] == "unavailable" and refused["ref"] == "accept"
    async with httpx.AsyncClient(base_url=node.url, timeout=DEADLINE, headers={"Origin": node.url}) as http:
        login = await http.post("/api/auth/login", json={"username": user, "password": pw})  # login limits live in Redis
        assert login.status_code == 503 and login.json()["error"]["code"] == "unavailable"
        config = await http.get("/api/widget/config?queue=support")
        assert config.status_code == 200 and config.json()["online_reps"] == 1  # the last count seen
        asked = await http.post("/api/visitor/requests", json={"queue": "support", "name": "Cy", "question": "now?"})
        assert asked.status_code == 201
    late = await VisitorClient.open(node, asked.json()["request_id"], asked.json()["token"])
    assert late.welcome["request"]["status"] == "waiting"
    await rep.expect("alert", timeout=DEADLINE)  # the rep is on this node: told at once

    redis.start()
    await rep.send({"t": "accept", "request_id": waiting.request_id})
    await rep.expect("accepted", timeout=DEADLINE)
    await waiting.expect("joined", timeout=DEADLINE)
    for c in (rep, waiting, late):
        await c.close()


# item 15 --------------------------------------------------------------------


async def test_waiting_visitors_are_not_abandoned_after_redis_lost_their_presence(
    node: ServerProcess, redis: RedisProcess, metrics_of: Callable[[ServerProcess], Metrics]
) -> None:
    """A restart loses every presence key; the visitors are still connected
    (and pinging, as the help box does). Nobody is abandoned: absence is
    judged again only after a full grace period in which their heartbeats
    put them back."""
    metrics = metrics_of(node)
    admin = AdminAPI(node)
    ((user, pw),) = admin.reps(1, prefix="keep")
    admin.close()
    rep = await RepClient.connect(node, user, pw)
    visitor = await VisitorClient.submit(node, question="still here")
    await rep.expect("alert", timeout=DEADLINE)

    async def ping() -> None:
        while True:
            await visitor.send({"t": "ping"})
            await asyncio.sleep(0.3)

    pinger = asyncio.create_task(ping())
    try:
        await asyncio.sleep(GRACE_S + 1)  # older than the grace period: only presence protects it now

        redis.crash()
        redis.start()  # back at once, empty
        crashed = (await metrics()).get("desklink_sweeps_with_presence", 0)

        async def judged_or_abandoned() -> bool:
            gone = any(m.get("t") == "closed" for m in visitor.received)
            return gone or await _more(metrics, "desklink_sweeps_with_presence", crashed + 3)

        async def drain() -> None:
            while True:
                await visitor.expect("never", timeout=DEADLINE)

        reader = asyncio.create_task(drain())
        try:
            await wait_for(judged_or_abandoned, "absence judged again after the restart")
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        assert not [m for m in visitor.received if m.get("t") == "closed"], "abandoned while presence was unknown"
        assert not [m for m in rep.received if m.get("t") == "alert.withdrawn"]
    finally:
        pinger.cancel()
        await asyncio.gather(pinger, return_exceptions=True)
    again = await VisitorClient.open(node, visitor.request_id, visitor.token)
    assert again.welcome["request"]["status"] == "waiting"
    for c in (rep, visitor, again):
        await c.close()


@pytest.mark.pg
async def test_a_request_closed_while_redis_is_down_reaches_its_visitor_with_the_close(
    nodes: tuple[ServerProcess, ServerProcess], redis: RedisProcess
) -> None:
    """The request expires while Redis is down, announced by whichever node's
    sweeper gets there first. The visitor, on node b, gets ``closed`` and its
    socket closed (4010), at once or once Redis is back."""
    a, b = nodes
    admin = AdminAPI(a)
    ((user, pw),) = admin.reps(1, prefix="expiry")
    admin.close()
    rep = await RepClient.connect(a, user, pw)
    visitor = await VisitorClient.submit(b, question="nobody will take this")
    await rep.expect("alert", timeout=DEADLINE)

    redis.crash()
    await asyncio.sleep(6)  # DESKLINK_REQUEST_EXPIRY_S: it expires during the outage
    redis.start()
    closed = await visitor.expect("closed", timeout=DEADLINE)
    assert closed["status"] == "expired"
    assert await closed_with(visitor) == 4010
    withdrawn = await rep.expect("alert.withdrawn", timeout=DEADLINE)
    assert withdrawn["request_id"] == visitor.request_id and withdrawn["reason"] == "expired"
    await rep.close()


# /readyz ---------------------------------------------------------------------


async def test_readyz_answers_promptly_while_redis_hangs(tmp_path: Path) -> None:
    """A frozen Redis (SIGSTOP) answers nothing and resets nothing; with a
    long socket timeout in the URL, readiness must still answer within its
    own short bound instead of waiting the timeout out: ready (a broker
    outage is every node's), the broker reported down."""
    with RedisProcess() as redis:
        env = node_env(redis, f"dltest:{secrets.token_hex(4)}:")
        env["DESKLINK_REDIS_URL"] = redis.url + "?socket_timeout=120"
        with ServerProcess(env=env, data_dir=tmp_path / "n") as node:
            assert await status(node, "/readyz") == 200
            redis.freeze()
            try:
                async with httpx.AsyncClient(base_url=node.url, timeout=20) as http:
                    r = await http.get("/readyz")
                assert r.status_code == 200
                assert r.json() == {
                    "store": True, "broker": False, "writable": True, "draining": False, "problems": [],
                    "degraded": ["the broker does not answer"],
                }
            finally:
                redis.thaw()
            await wait_for(lambda: _is(broker_up(node), True), "/readyz sees Redis answer again")


async def _is(value: Awaitable[Any], wanted: Any) -> bool:
    try:
        return await value == wanted
    except httpx.HTTPError:
        return False


async def _logged(server: ServerProcess, text: str) -> bool:
    return text in "".join(server.output)


async def _more(metrics: Metrics, name: str, at_least: float) -> bool:
    return (await metrics()).get(name, 0) >= at_least


@pytest.mark.pg
async def test_a_screen_share_whose_session_ended_in_the_dark_stops_when_redis_is_back(
    nodes: tuple[ServerProcess, ServerProcess], redis: RedisProcess
) -> None:
    """The agent and the viewer on node a; the visitor leaves on node b while
    Redis is down: once it is back, sharing stops and both sockets close."""
    import json

    from desklink.testing import ViewerClient

    a, b = nodes
    admin = AdminAPI(a)
    ((user, pw),) = admin.reps(1, prefix="scr")
    admin.close()
    rep, visitor, sid = await in_chat(a, b, user, pw)
    viewer = await ViewerClient.connect(a, user, pw, sid)
    await rep.send({"t": "screen.request", "session_id": sid})
    code = (await rep.expect("screen.offer", timeout=DEADLINE))["code"].replace(" ", "")
    agent = await websockets.connect(a.ws_url + "/ws/agent")
    await agent.send(json.dumps({"t": "hello", "code": code}))
    assert json.loads(await agent.recv())["t"] == "welcome"
    await agent.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")

    redis.crash()
    await visitor.send({"t": "leave"})
    assert (await visitor.expect("ended", timeout=DEADLINE))["by"] == "visitor"
    redis.start()
    stopped = await viewer.wait_status("stopped", timeout=DEADLINE)
    assert stopped["by"] == "session_ended"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(agent.recv(), DEADLINE)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4010
    await viewer.close()
    await rep.close()

"""Relay nodes (``desklink serve --role relay``) on Redis and PostgreSQL:
real processes announce themselves, a web node's directory sees and chooses
them, and a dead one drops out (docs/architecture.md, *Relay nodes*)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from desklink.broker import RedisBroker
from desklink.protocol import codes
from desklink.server.relay_nodes import RelayDirectory
from desklink.testing import ServerProcess

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
    # the screen sockets are there: an agent with a wrong code is told so
    async with websockets.connect(one.ws_url + "/ws/agent") as agent:
        await agent.send('{"t": "hello", "code": "000000000", "version": 1}')
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await agent.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code != codes.CLOSE_INTERNAL


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


def test_a_relay_node_without_a_secret_does_not_start(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "DESKLINK_ROLE": "relay", "DESKLINK_RELAY_SECRET": "too short"}
    with pytest.raises(RuntimeError, match="relay_secret"):
        ServerProcess(env=env, data_dir=tmp_path / "x").start()


def test_a_web_node_without_redis_does_not_start(tmp_path: Path) -> None:
    env = {"DESKLINK_ROLE": "web", "DESKLINK_RELAY_SECRET": SECRET, "DESKLINK_REDIS_URL": ""}
    with pytest.raises(RuntimeError, match="redis_url"):
        ServerProcess(env=env, data_dir=tmp_path / "x").start()

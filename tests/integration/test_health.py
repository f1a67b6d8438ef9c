"""``/healthz`` and ``/readyz`` as Kubernetes means them, on real nodes:
liveness stays 200 while a dependency is gone (restarting the process would
not bring it back), readiness turns 503 with the reason in the body, and
comes back to 200 by itself when the dependency does. A draining node is
not ready either (in-process: nothing outside the node sets the flag yet)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from desklink.config import Settings
from desklink.server.app import create_app
from desklink.testing import ServerProcess, poll_until
from desklink.testing_redis import RedisProcess

PG_URL = os.environ.get("DESKLINK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
#: A broker or store outage is noticed within READY_TIMEOUT_S (2 s) per probe.
DEADLINE = 30.0


def _probe(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=10)


def _ready_is(server: ServerProcess, status: int) -> dict[str, Any] | None:
    r = _probe(server, "/readyz")
    return r.json() if r.status_code == status else None  # type: ignore[no-any-return]


def test_readyz_follows_the_broker_and_healthz_does_not() -> None:
    with RedisProcess() as redis:
        env = {"DESKLINK_REDIS_URL": redis.url, "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:"}
        with ServerProcess(env=env) as srv:
            ok = poll_until(lambda: _ready_is(srv, 200), DEADLINE, "the node ready")
            assert ok == {"store": True, "broker": True, "writable": True, "draining": False, "problems": []}

            redis.crash()
            down = poll_until(lambda: _ready_is(srv, 503), DEADLINE, "readyz 503 without Redis")
            assert down["broker"] is False and down["store"] is True
            assert "the broker does not answer" in down["problems"]
            # Alive all the same: a restart would not bring Redis back.
            assert _probe(srv, "/healthz").status_code == 200

            redis.start()
            back = poll_until(lambda: _ready_is(srv, 200), DEADLINE, "readyz 200 once Redis is back")
            assert back["problems"] == []


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_readyz_follows_the_store(pg_database_url: str) -> None:
    name = urlsplit(pg_database_url).path.lstrip("/")
    with ServerProcess(env={"DESKLINK_DATABASE_URL": pg_database_url}) as srv:
        poll_until(lambda: _ready_is(srv, 200), DEADLINE, "the node ready")

        # The database goes away: no new connections, the open ones cut.
        asyncio.run(_pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(_pg(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        try:
            down = poll_until(lambda: _ready_is(srv, 503), DEADLINE, "readyz 503 without the database")
            assert down["store"] is False and down["broker"] is True and down["writable"] is False
            assert "the store does not answer" in down["problems"]
            assert _probe(srv, "/healthz").status_code == 200
        finally:
            asyncio.run(_pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

        back = poll_until(lambda: _ready_is(srv, 200), DEADLINE, "readyz 200 once the database is back")
        assert back["store"] is True and back["problems"] == []


async def test_a_draining_node_is_alive_but_not_ready(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await client.get("/readyz")).status_code == 200
            app.state.ctx.draining = True
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["draining"] is True and r.json()["problems"] == ["the node is draining"]
            assert (await client.get("/healthz")).status_code == 200
            app.state.ctx.draining = False
            assert (await client.get("/readyz")).status_code == 200

"""``/healthz`` and ``/readyz`` as Kubernetes means them, on real nodes:
liveness stays 200 while a dependency is gone (restarting the process would
not bring it back). Readiness fails for the node's own problems; a shared
dependency's outage is reported in the body (``degraded``): the broker's
never fails it, the store's only past ``ready_store_grace_s``; both come
back by themselves. A draining node is not ready either (in-process:
nothing outside the node sets the flag yet)."""

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


def _body_is(server: ServerProcess, status: int, **fields: Any) -> dict[str, Any] | None:
    """The readiness body when it has this status and these fields."""
    body = _ready_is(server, status)
    return body if body is not None and all(body.get(k) == v for k, v in fields.items()) else None


def test_a_broker_outage_is_reported_but_the_node_stays_ready() -> None:
    """Redis is shared by every node: its outage would take every node out
    at once, while they still serve what they can. Reported, not failing."""
    with RedisProcess() as redis:
        env = {"DESKLINK_REDIS_URL": redis.url, "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:"}
        with ServerProcess(env=env) as srv:
            ok = poll_until(lambda: _ready_is(srv, 200), DEADLINE, "the node ready")
            assert ok == {
                "store": True, "broker": True, "writable": True, "draining": False, "problems": [], "degraded": [],
            }

            redis.crash()
            down = poll_until(lambda: _body_is(srv, 200, broker=False), DEADLINE, "readyz to report the broker down")
            assert down["store"] is True and down["problems"] == []
            assert down["degraded"] == ["the broker does not answer"]
            assert _probe(srv, "/healthz").status_code == 200

            redis.start()
            back = poll_until(lambda: _body_is(srv, 200, broker=True), DEADLINE, "readyz to see Redis back")
            assert back["problems"] == [] and back["degraded"] == []


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_a_store_outage_fails_readiness_only_past_ready_store_grace_s(pg_database_url: str, tmp_path: Path) -> None:
    """Two nodes on one database that goes away: the one with a long grace
    reports it and stays ready, the one with a short grace is taken out;
    both come back by themselves."""
    name = urlsplit(pg_database_url).path.lstrip("/")
    env = {"DESKLINK_DATABASE_URL": pg_database_url}
    patient = ServerProcess(env={**env, "DESKLINK_READY_STORE_GRACE_S": "3600"}, data_dir=tmp_path / "patient")
    strict = ServerProcess(env={**env, "DESKLINK_READY_STORE_GRACE_S": "0.5"}, data_dir=tmp_path / "strict")
    with patient, strict:
        for srv in (patient, strict):
            poll_until(lambda: _ready_is(srv, 200), DEADLINE, "the node ready")  # noqa: B023 (called at once)

        # The database goes away: no new connections, the open ones cut.
        asyncio.run(_pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(_pg(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        try:
            down = poll_until(lambda: _ready_is(strict, 503), DEADLINE, "readyz 503 past the short grace")
            assert down["store"] is False and down["broker"] is True and down["writable"] is False
            assert "the store does not answer" in down["problems"]
            kept = poll_until(lambda: _body_is(patient, 200, store=False), DEADLINE, "the store outage reported")
            assert kept["problems"] == [] and kept["degraded"] == ["the store does not answer"]
            assert _probe(strict, "/healthz").status_code == 200
        finally:
            asyncio.run(_pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

        for srv in (strict, patient):
            back = poll_until(lambda: _ready_is(srv, 200), DEADLINE, "readyz 200 once the database is back")  # noqa: B023
            assert back["store"] is True and back["problems"] == [] and back["degraded"] == []


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

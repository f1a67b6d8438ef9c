"""Three `desklink serve` nodes on one PostgreSQL database and one Redis, the
shape the deploy/ files balance (docs/deploy.md)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from desklink.testing import ONE_ADDRESS_ENV, ServerProcess
from desklink.testing_redis import RedisProcess

NODES = 3


@pytest.fixture
def cluster(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Three nodes, started one after the other (the first runs the
    migrations, as docs/deploy.md says to start a new version). Every test
    client reaches them through a balancer on 127.0.0.1, a trusted proxy."""
    yield from _nodes(pg_database_url, redis_url, tmp_path)


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server of the test's own, to crash and start again."""
    with RedisProcess() as server:
        yield server


@pytest.fixture
def cluster_on_own_redis(pg_database_url: str, own_redis: RedisProcess, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """The three nodes on ``own_redis``, with quick presence settings as in
    tests/integration/test_redis_outage.py."""
    yield from _nodes(
        pg_database_url, own_redis.url, tmp_path, DESKLINK_PRESENCE_TTL_S="1.5", DESKLINK_VISITOR_GRACE_S="2",
        DESKLINK_SWEEP_INTERVAL_S="0.2",
    )


def _nodes(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> Iterator[list[ServerProcess]]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_DATABASE_URL": database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
        "DESKLINK_TRUSTED_PROXIES": "127.0.0.1",
        **extra,
    }
    nodes: list[ServerProcess] = []
    try:
        for i in range(NODES):
            nodes.append(ServerProcess(env=env, data_dir=tmp_path / f"node{i}").start())
        for node in nodes[1:]:
            node.admin_password = nodes[0].admin_password
        yield nodes
    finally:
        for node in nodes:
            node.stop()

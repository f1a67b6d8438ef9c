"""Three `desklink serve` nodes on one PostgreSQL database and one Redis, the
shape the deploy/ files balance (docs/deploy.md)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from desklink.testing import ONE_ADDRESS_ENV, ServerProcess

NODES = 3


@pytest.fixture
def cluster(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Three nodes, started one after the other (the first runs the
    migrations, as docs/deploy.md says to start a new version). Every test
    client reaches them through a balancer on 127.0.0.1, a trusted proxy."""
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
        "DESKLINK_TRUSTED_PROXIES": "127.0.0.1",
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

"""The live board through a Redis outage: while the broker is down the board
still comes (the periodic refresh) and says it cannot see presence
(``presence_known`` false, no reps) but lists requests submitted meanwhile;
once Redis is back, the reps' heartbeats refill presence and the board shows
them again by itself."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from desklink.testing import AdminAPI, BoardClient, RepClient, ServerProcess
from desklink.testing_redis import RedisProcess

pytestmark = pytest.mark.redis


@pytest.fixture
def redis() -> Iterator[RedisProcess]:
    with RedisProcess() as server:
        yield server


@pytest.fixture
def node(redis: RedisProcess) -> Iterator[ServerProcess]:
    env = {
        "DESKLINK_REDIS_URL": redis.url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
        "DESKLINK_PRESENCE_TTL_S": "1.5",
        "DESKLINK_BOARD_REFRESH_S": "0.5",
    }
    with ServerProcess(env=env) as srv:
        yield srv


async def test_the_board_survives_a_broker_outage(node: ServerProcess, redis: RedisProcess) -> None:
    admin = AdminAPI(node)
    (user, pw), = admin.reps(1, prefix="out")
    admin.close()
    rep = await RepClient.connect(node, user, pw)
    uid = rep.welcome["user"]["id"]
    board = await BoardClient.connect(node, "admin", node.admin_password)
    await board.wait_board(lambda b: any(r["id"] == uid and r["status"] == "online" for r in b["reps"]), what="rep online")

    redis.crash()
    seen = await board.wait_board(lambda b: b["presence_known"] is False, timeout=30, what="presence unknown")
    assert seen["reps"] == []
    async with httpx.AsyncClient(base_url=node.url, timeout=30, headers={"Origin": node.url}) as http:
        r = await http.post("/api/visitor/requests", json={"queue": "support", "name": "Olga", "question": "down?"})
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    await board.wait_board(lambda b: rid in [w["request_id"] for w in b["waiting"]], timeout=30, what="request listed")

    redis.start()
    await board.wait_board(
        lambda b: b["presence_known"] is True and any(r["id"] == uid and r["status"] == "online" for r in b["reps"]),
        timeout=30, what="presence back",
    )
    await rep.close()
    await board.close()

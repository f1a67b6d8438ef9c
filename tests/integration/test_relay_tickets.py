"""``POST /api/relay/ticket`` on a web node (issue 15): the agent's relay
node and token for a join code, or for the token it has; refusals and the
limits past them (join_attempts_per_minute, relay_renew_s). Real web and
relay nodes on PostgreSQL and Redis."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desklink.protocol import joincode
from desklink.protocol import relay_token as rt
from desklink.protocol.relay_token import RelayGrant, RelayRole
from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, poll_until

pytestmark = [pytest.mark.pg, pytest.mark.redis]

SECRET = secrets.token_urlsafe(32)
RENEW_S = 30
JOINS_PER_MINUTE = 8


@pytest.fixture
def env(pg_database_url: str, redis_url: str, broker_prefix: str) -> dict[str, str]:
    return {
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": broker_prefix,
        "DESKLINK_RELAY_SECRET": SECRET,
        "DESKLINK_RELAY_HEARTBEAT_S": "0.2",
        "DESKLINK_RELAY_STALE_S": "1",
        "DESKLINK_RELAY_RENEW_S": str(RENEW_S),
        "DESKLINK_JOIN_ATTEMPTS_PER_MINUTE": str(JOINS_PER_MINUTE),
    }


@pytest.fixture
def web(env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(env={**env, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": "web-1"}, data_dir=tmp_path / "w") as w:
        yield w


def relay_node(env: dict[str, str], tmp_path: Path) -> ServerProcess:
    return ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-1"}, data_dir=tmp_path / "1")


def sign(session: str, role: RelayRole, *, expires_in: float) -> str:
    grant = RelayGrant(session=session, role=role, subject=0, node="relay-1", expires=int(time.time() + expires_in))
    return rt.sign(grant, SECRET.encode())


async def session_with_code(web: ServerProcess) -> tuple[RepClient, VisitorClient, str, str]:
    """An accepted session and a fresh join code for its screen."""
    admin = AdminAPI(web)
    (user, password), = admin.reps(1, prefix="tickets")
    admin.close()
    rep = await RepClient.connect(web, user, password)
    visitor = await VisitorClient.submit(web, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await rep.send({"t": "screen.request", "session_id": sid})
    offer = await visitor.expect("screen.offer")
    await rep.expect("screen.offer")
    return rep, visitor, sid, str(offer["code"]).replace(" ", "")


def ask(web: ServerProcess, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(web.url + "/api/relay/ticket", json=body, timeout=30)


def error(r: httpx.Response) -> tuple[int, str, str]:
    e = r.json()["error"]
    return r.status_code, e["code"], e["message"]


async def test_a_code_is_traded_for_the_relay_once_and_the_token_renews(
    web: ServerProcess, env: dict[str, str], tmp_path: Path
) -> None:
    relay = relay_node(env, tmp_path).start()
    try:
        rep, visitor, sid, code = await session_with_code(web)
    except BaseException:
        relay.stop()
        raise
    try:
        # No relay node alive (it stopped and withdrew): 503, and the code is not spent.
        relay.stop()
        assert error(ask(web, {"code": code}))[:2] == (503, "unavailable")
        relay.start()
        # Wait for its announcement with a token ask (a success spends no
        # join budget), then trade the code.
        probe = sign(sid, "agent", expires_in=60)
        poll_until(lambda: ask(web, {"token": probe}).status_code == 200, timeout=15, what="the relay node")
        r = ask(web, {"code": code})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["node"], got["url"], got["session_id"]) == ("relay-1", relay.url, sid)
        grant = rt.verify(got["token"], SECRET.encode(), now=time.time(), node="relay-1", role="agent", session=sid)
        assert grant.expires == got["expires"]
        # Single use: the web node redeemed it.
        assert error(ask(web, {"code": code})) == (401, "auth_failed", joincode.WRONG_CODE)

        # The token it has is traded for a fresh one of the same role.
        again = ask(web, {"token": got["token"]})
        assert again.status_code == 200 and again.json()["node"] == "relay-1"
        rt.verify(again.json()["token"], SECRET.encode(), now=time.time(), node="relay-1", role="agent", session=sid)
        share = ask(web, {"token": sign(sid, "share", expires_in=60)}).json()
        rt.verify(share["token"], SECRET.encode(), now=time.time(), node="relay-1", role="share", session=sid)
        # Expired, but within relay_renew_s: renewed; past it: refused.
        assert ask(web, {"token": sign(sid, "agent", expires_in=-(RENEW_S - 10))}).status_code == 200
        assert error(ask(web, {"token": sign(sid, "agent", expires_in=-(RENEW_S + 5))}))[:2] == (401, "auth_failed")
        # Never a viewer's token, never a forged one.
        assert error(ask(web, {"token": sign(sid, "viewer", expires_in=60)}))[:2] == (401, "auth_failed")
        forged = rt.sign(RelayGrant(sid, "agent", 0, "relay-1", int(time.time() + 60)), secrets.token_bytes(32))
        assert error(ask(web, {"token": forged}))[:2] == (401, "auth_failed")
        # Malformed asks.
        assert ask(web, {}).status_code == 400
        assert ask(web, {"code": code, "token": got["token"]}).status_code == 400
        assert ask(web, {"token": "x" * 600}).status_code == 400

        # Once the session ends, no ticket.
        await rep.send({"t": "end", "session_id": sid, "disposition": "resolved"})
        await rep.expect("ended", session_id=sid)
        assert error(ask(web, {"token": got["token"]}))[:2] == (409, "conflict_closed")
    finally:
        await rep.close()
        await visitor.close()
        relay.stop()


async def test_join_guessing_is_limited_per_address(web: ServerProcess, env: dict[str, str], tmp_path: Path) -> None:
    with relay_node(env, tmp_path):
        rep, visitor, sid, code = await session_with_code(web)
        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
        try:
            results = [ask(web, {"code": "000000000"}).status_code for _ in range(JOINS_PER_MINUTE)]
            assert results == [401] * JOINS_PER_MINUTE
            # Past the budget: refused before the code is looked at, even a right one.
            assert error(ask(web, {"code": wrong}))[:2] == (429, "too_many_requests")
            assert error(ask(web, {"code": code}))[:2] == (429, "too_many_requests")
            assert error(ask(web, {"token": "v1.forged.token"}))[:2] == (429, "too_many_requests")
            # A good token is no guess: it is still traded.
            assert ask(web, {"token": sign(sid, "agent", expires_in=60)}).status_code == 200
        finally:
            await rep.close()
            await visitor.close()

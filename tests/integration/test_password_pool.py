"""Argon2id runs off the event loop, on a bounded pool (issue 8, item 6).

A login flood must not stall anybody else: a bystander's chat keeps being
answered while password checks are still queued. Past the pool's queue, a
login is answered at once with 429 ``too_many_requests`` and Retry-After.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

#: Limits out of the way (these tests are about the pool, not the limits).
OPEN_LIMITS = {"DESKLINK_LOGIN_ATTEMPTS_PER_ACCOUNT": "100000", "DESKLINK_LOGIN_ATTEMPTS_PER_IP": "100000"}


def _metrics(server: ServerProcess) -> dict[str, int]:
    out = {}
    for line in server.metrics().splitlines():
        if line.startswith("desklink_passwords_"):
            name, value = line.split()
            out[name.removeprefix("desklink_passwords_")] = int(float(value))
    assert out, "no desklink_passwords_* metrics"
    return out


async def _wait_for(check, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_bystanders_chat_is_answered_during_a_login_flood() -> None:
    flood = 48
    env = {
        **OPEN_LIMITS,
        # ~0.1-0.5 s per check, one at a time: the flood queues for seconds.
        "DESKLINK_ARGON2_TIME_COST": "3",
        "DESKLINK_ARGON2_MEMORY_KIB": "32768",
        "DESKLINK_ARGON2_MAX_CONCURRENT": "1",
        "DESKLINK_ARGON2_MAX_WAITING": str(flood + 10),
    }
    with ServerProcess(env=env) as server:
        admin = AdminAPI(server)
        (user, pw), = admin.reps(1, prefix="bystander")
        rep = await RepClient.connect(server, user, pw)
        visitor = await VisitorClient.submit(server, name="Ann", question="still there?")
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        await visitor.expect("joined")

        answered: list[int] = []
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:

            async def attempt(i: int) -> None:
                r = await http.post("/api/auth/login", json={"username": f"flood{i}", "password": "not it at all"})
                answered.append(r.status_code)

            tasks = [asyncio.create_task(attempt(i)) for i in range(flood)]
            # The flood is being worked on: the first answers came back.
            await _wait_for(lambda: len(answered) >= 1, "the first login answer")

            for n in range(5):
                await visitor.send({"t": "chat.send", "cid": f"v{n}", "text": f"ping {n}"})
                await rep.expect("chat", cid=f"v{n}", timeout=30)
                await rep.send({"t": "chat.send", "session_id": sid, "cid": f"r{n}", "text": f"pong {n}"})
                await visitor.expect("chat", cid=f"r{n}", timeout=30)
            done_when_chat_finished = len(answered)
            # The round trips completed while password checks were still in
            # flight: with Argon2 on the event loop they waited for them all.
            assert done_when_chat_finished < flood
            in_flight = await asyncio.to_thread(_metrics, server)
            assert in_flight["running"] + in_flight["waiting"] >= 1
            await asyncio.gather(*tasks)

        assert answered == [401] * flood
        assert (await asyncio.to_thread(_metrics, server))["verified"] >= flood
        await rep.close()
        await visitor.close()
        admin.close()


async def test_past_the_queue_a_login_is_answered_429_at_once() -> None:
    env = {
        **OPEN_LIMITS,
        # ~1 s per check: the three admitted ones stay in the pool a while.
        "DESKLINK_ARGON2_TIME_COST": "10",
        "DESKLINK_ARGON2_MEMORY_KIB": "65536",
        "DESKLINK_ARGON2_MAX_CONCURRENT": "1",
        "DESKLINK_ARGON2_MAX_WAITING": "2",
        "DESKLINK_ARGON2_BUSY_RETRY_AFTER_S": "3",
    }
    with ServerProcess(env=env) as server:
        admin = AdminAPI(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:

            def login(i: int):  # type: ignore[no-untyped-def]
                return http.post("/api/auth/login", json={"username": f"user{i}", "password": "not it at all"})

            admitted = [asyncio.create_task(login(i)) for i in range(3)]

            def full() -> bool:
                m = _metrics(server)
                return m["running"] + m["waiting"] == 3

            await _wait_for(full, "three admitted password checks")
            refused = await login(99)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_requests"
            assert refused.headers["retry-after"] == "4"  # 3 s, rounded up as for every 429
            assert [r.status_code for r in await asyncio.gather(*admitted)] == [401, 401, 401]
        m = await asyncio.to_thread(_metrics, server)
        assert m["refused"] == 1 and m["running"] == m["waiting"] == 0
        # Once the pool has room, logins are checked again.
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post("/api/auth/login", json={"username": "admin", "password": server.admin_password})
        assert r.status_code == 200
        admin.close()

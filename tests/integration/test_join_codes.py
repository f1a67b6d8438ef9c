"""Join codes under attack, on a real server with its default limits: wrong
guesses on every slot from many addresses do not burn a visitor's code.
(Going past ``join_code_max_tries`` and ``join_code_renewals`` is in
test_limits.py.)"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Iterator

import pytest
import websockets

from desklink.protocol import joincode, limits
from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

#: Wrong secrets per slot in the attack: what burned every code before
#: (the old ``join_code_max_tries``).
GUESSES_PER_SLOT = 3
#: Parallel attackers (each its own connection).
CROWD = 24


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as srv:
        yield srv


def source(n: int) -> str:
    """The n-th attacking address: 127.1.0.1 onwards (all of 127/8 is this
    machine), never 127.0.0.1, where the real visitor's agent comes from."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


async def join(server: ServerProcess, code: str, address: str = "127.0.0.1") -> tuple[int | None, dict[str, object] | None]:
    """An agent's hello from ``address``: (close code, None) or (None, welcome)."""
    async with websockets.connect(server.ws_url + "/ws/agent", local_addr=(address, 0)) as ws:
        await ws.send(json.dumps({"t": "hello", "code": code}))
        try:
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, None
        return None, answer


@pytest.mark.slow
async def test_wrong_guesses_on_every_slot_from_many_addresses_do_not_burn_the_visitors_code(
    server: ServerProcess,
) -> None:
    admin = AdminAPI(server)
    try:
        (user, pw), = admin.reps(1, prefix="burn")
        rep = await RepClient.connect(server, user, pw)
        visitor = await VisitorClient.submit(server)
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        await rep.send({"t": "screen.request", "session_id": sid})
        real = joincode.parse((await visitor.expect("screen.offer"))["code"])

        # Every slot gets its wrong guesses, each address stays within its
        # per-minute allowance, so none is turned away (4029) before trying.
        guesses = []
        for slot in range(joincode.SLOTS):
            wrong: set[str] = set()
            while len(wrong) < GUESSES_PER_SLOT:
                secret = joincode.new_secret()
                if secret != real.secret:
                    wrong.add(secret)
            guesses += [joincode.make(slot, s).digits for s in sorted(wrong)]
        per_address = limits.JOIN_ATTEMPTS_PER_MINUTE
        gate = asyncio.Semaphore(CROWD)
        outcomes: Counter[int | None] = Counter()

        async def attack(i: int, code: str) -> None:
            async with gate:
                closed, _ = await join(server, code, source(i // per_address))
                outcomes[closed] += 1

        await asyncio.gather(*(attack(i, code) for i, code in enumerate(guesses)))
        assert outcomes == {4001: len(guesses)}  # every guess tried and refused

        closed, welcome = await join(server, real.spoken)
        assert closed is None and welcome is not None
        assert welcome["t"] == "welcome" and welcome["session_id"] == sid
        await rep.close()
        await visitor.close()
    finally:
        admin.close()


async def test_a_wrong_code_tells_the_visitor_what_to_do(server: ServerProcess) -> None:
    async with websockets.connect(server.ws_url + "/ws/agent", local_addr=("127.2.0.1", 0)) as ws:
        await ws.send(json.dumps({"t": "hello", "code": f"{secrets.randbelow(10**9):09d}"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, joincode.WRONG_CODE)
    for text in ("12345678", "١٢٣٤٥٦٧٨٩"):
        async with websockets.connect(server.ws_url + "/ws/agent", local_addr=("127.2.0.2", 0)) as ws:
            await ws.send(json.dumps({"t": "hello", "code": text}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "a join code has 9 digits")

#!/usr/bin/env python
"""Live-board update latency with many reps online, against a real
``desklink serve`` process.

Starts a server, creates ``--reps`` reps (default 200) in one queue and
connects them all online (each rep socket drains what it is sent, as a
console does), opens ``--boards`` admin board sockets (default 2), then for
``--rounds`` rounds (default 60): a visitor submits a request (HTTP, as the
help box does), one rep accepts it, the rep ends it. Between rounds it
waits a random ``0..--gap`` seconds, so news lands at every point of the
board's coalescing window (``board_min_interval_s``) as it would in use.

Printed, per board socket and in milliseconds, p50/p90/p99/max of:

* submit -> shown: from just before the submit is sent to the first board
  snapshot that lists the request as waiting;
* accept -> dropped: from just before the accept is sent to the first
  snapshot that no longer lists it as waiting (and lists its session);
* end -> gone: from just before the end is sent to the first snapshot
  without the session.

    .venv/bin/python bench/board.py
    .venv/bin/python bench/board.py --redis          # Redis broker
    .venv/bin/python bench/board.py --min-interval 0.001   # no coalescing: the cost alone
    .venv/bin/python bench/board.py --reps 5 --rounds 5 --boards 1   # quick check (15 s)

Every client lives in this one process on one asyncio loop; a board
socket's reading task stamps ``time.perf_counter()`` as soon as a frame is
handed over.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import _measure
import httpx
import websockets

from desklink.testing import AdminAPI, RepClient, ServerProcess, login_retrying

BENCH_SERVER_ENV = {
    "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "1000000",
    "DESKLINK_MESSAGES_PER_MINUTE": "6000000",
    "DESKLINK_MAX_CONNECTIONS_PER_IP": "1000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_IP": "100000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_ACCOUNT": "100000000",
    "DESKLINK_BOARD_SOCKETS_PER_USER": "100",
}
REDIS_URL = "redis://127.0.0.1:6379/0"
WAIT_S = 30.0


@dataclass
class Board:
    """One board socket; its reader keeps the newest snapshot's ids."""

    ws: Any
    waiting: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    snapshots: int = 0
    arrived: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    shown: dict[str, list[float]] = field(default_factory=lambda: {"submit": [], "accept": [], "end": []})

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                at = time.perf_counter()
                msg = json.loads(raw)
                if msg.get("t") != "board":
                    continue
                self.waiting = {w["request_id"] for w in msg["waiting"]}
                self.sessions = {s["request_id"] for s in msg["sessions"]}
                self.snapshots += 1
                self.arrived = at
                self.changed.set()
        except websockets.ConnectionClosed:
            pass

    async def until(self, check: Any) -> float:
        """Time (perf_counter) of the first snapshot, from now on, for which ``check(self)`` holds."""
        deadline = time.perf_counter() + WAIT_S
        while not check(self):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.perf_counter()))
        return self.arrived


async def drain(rep: RepClient) -> None:
    try:
        async for _ in rep.ws:
            pass
    except websockets.ConnectionClosed:
        pass


async def connect_reps(server: ServerProcess, creds: list[tuple[str, str]], concurrency: int) -> list[RepClient]:
    gate = asyncio.Semaphore(concurrency)

    async def one(user: str, pw: str) -> RepClient:
        async with gate:
            return await RepClient.connect(server, user, pw)

    return list(await asyncio.gather(*(one(u, p) for u, p in creds)))


async def open_board(server: ServerProcess) -> Board:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        cookie = (await login_retrying(http, "admin", server.admin_password)).cookies["dl_session"]
    ws = await websockets.connect(
        server.ws_url + "/ws/board", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"},  # type: ignore[arg-type]
        max_size=2**24,
    )
    return Board(ws)


async def run(args: argparse.Namespace) -> None:
    env = dict(BENCH_SERVER_ENV)
    env["DESKLINK_BOARD_MIN_INTERVAL_S"] = str(args.min_interval)
    if args.redis:
        env["DESKLINK_REDIS_URL"] = REDIS_URL
        env["DESKLINK_BROKER_PREFIX"] = f"dlbench:{random.getrandbits(32):x}:"
    with ServerProcess(env=env) as server:
        admin = AdminAPI(server)
        admin.queue("bench")
        t = time.perf_counter()
        creds = admin.reps(args.reps, queue_slug="bench", prefix="b")
        admin.close()
        reps = await connect_reps(server, creds, args.connect_concurrency)
        drains = [asyncio.create_task(drain(r)) for r in reps]
        print(f"{args.reps} reps online in {time.perf_counter() - t:.1f} s", flush=True)
        boards = [await open_board(server) for _ in range(args.boards)]
        readers = [asyncio.create_task(b.read()) for b in boards]
        await asyncio.gather(*(b.until(lambda b: b.snapshots > 0) for b in boards))
        rng = random.Random(1)
        http = httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Origin": server.url})
        admin_http = httpx.AsyncClient(base_url=server.url, timeout=30)
        await login_retrying(admin_http, "admin", server.admin_password)
        try:
            for i in range(args.warmup + args.rounds):
                counted = i >= args.warmup
                await asyncio.sleep(rng.uniform(0, args.gap))
                t0 = time.perf_counter()
                r = await http.post("/api/visitor/requests", json={"queue": "bench", "name": f"V{i}", "question": "help"})
                r.raise_for_status()
                rid = r.json()["request_id"]
                seen = await asyncio.gather(*(b.until(lambda b, rid=rid: rid in b.waiting) for b in boards))
                if counted:
                    for b, at in zip(boards, seen, strict=True):
                        b.shown["submit"].append(at - t0)

                await asyncio.sleep(rng.uniform(0, args.gap))
                rep = reps[i % len(reps)]
                t0 = time.perf_counter()
                await rep.ws.send(json.dumps({"t": "accept", "request_id": rid}))
                seen = await asyncio.gather(*(b.until(lambda b, rid=rid: rid not in b.waiting and rid in b.sessions) for b in boards))
                if counted:
                    for b, at in zip(boards, seen, strict=True):
                        b.shown["accept"].append(at - t0)

                sid = await session_id(admin_http, rid)
                await asyncio.sleep(rng.uniform(0, args.gap))
                t0 = time.perf_counter()
                await rep.ws.send(json.dumps({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""}))
                seen = await asyncio.gather(*(b.until(lambda b, rid=rid: rid not in b.sessions) for b in boards))
                if counted:
                    for b, at in zip(boards, seen, strict=True):
                        b.shown["end"].append(at - t0)
            builds = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                (await admin_http.get("/api/board")).raise_for_status()
                builds.append(time.perf_counter() - t0)
        finally:
            await http.aclose()
            await admin_http.aclose()
        table = _measure.Table(live=False)
        broker = "Redis" if args.redis else "memory"
        table.section(
            f"live board, {args.reps} reps online, {args.boards} board sockets, gap 0..{args.gap} s, "
            f"min interval {args.min_interval} s, {broker} broker"
        )
        for n, b in enumerate(boards):
            table.dist(f"board {n}: submit -> shown", b.shown["submit"])
            table.dist(f"board {n}: accept -> dropped (session shown)", b.shown["accept"])
            table.dist(f"board {n}: end -> session gone", b.shown["end"])
        table.dist("GET /api/board (one snapshot built and sent, idle)", builds)
        table.value("snapshots received per board", ", ".join(str(b.snapshots) for b in boards))
        table.notes.append(f"machine: {_measure.machine_line()}; load {_measure.load_average()}")
        table.notes.append(f"board_min_interval_s {args.min_interval}: news right after a snapshot waits up to that long")
        table.print()
        for b in boards:
            await b.ws.close()
        for rep in reps:
            await rep.close()
        for task in drains + readers:
            task.cancel()


async def session_id(http: httpx.AsyncClient, request_id: str) -> str:
    """The session of an accepted request, from ``GET /api/board`` (an admin's client)."""
    board = (await http.get("/api/board")).json()
    return str(next(s["id"] for s in board["sessions"] if s["request_id"] == request_id))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=200, help="reps online (default 200)")
    p.add_argument("--boards", type=int, default=2, help="admin board sockets (default 2)")
    p.add_argument("--rounds", type=int, default=60, help="counted rounds (default 60)")
    p.add_argument("--warmup", type=int, default=3, help="uncounted rounds first (default 3)")
    p.add_argument("--gap", type=float, default=0.4, help="random pause before each step, 0..GAP seconds (default 0.4)")
    p.add_argument("--min-interval", type=float, default=0.2, help="the server's board_min_interval_s (default 0.2, the default)")
    p.add_argument("--connect-concurrency", type=int, default=50, help="rep logins in parallel (default 50)")
    p.add_argument("--redis", action="store_true", help=f"use the Redis broker at {REDIS_URL}")
    args = p.parse_args(argv)
    _measure.raise_nofile()
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

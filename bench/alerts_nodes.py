#!/usr/bin/env python
"""DeskLink benchmark: alert fan-out over several web nodes (issue 15).

Three ``desklink serve --role web`` processes share one fresh PostgreSQL
database and one Redis (own key prefix); ``--reps`` reps are spread round
robin over the nodes, a visitor submits on node 0, and every rep's
``alert`` is time-stamped. Per round: first rep, last rep, every delivery,
and every delivery by node (the visitor's node, the others).

The rep sockets live in ``--workers`` client processes (one asyncio loop
each): 5000 sockets on one loop spend more time queueing in the client than
in the server. The stamps are ``time.perf_counter()``, CLOCK_MONOTONIC on
Linux, so the coordinator and the workers compare them directly. Everything
(nodes, PostgreSQL, Redis, clients) shares the machine's cores; the bench
prints the load.

Run from the repository root (PostgreSQL and Redis on their default ports)::

    .venv/bin/python bench/alerts_nodes.py                      # 5000 reps, 3 nodes, 4 workers
    .venv/bin/python bench/alerts_nodes.py --reps 60 --rounds 3  # a smoke run

The database is dropped and the Redis keys removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import sys
import time
from multiprocessing.connection import Connection
from types import SimpleNamespace
from typing import Any

import httpx
from _alerts_backends import PG_ADMIN_URL, REDIS_URL, pg_create, pg_drop, redis_cleanup, redis_info
from _alerts_clients import ALERT, WAIT_S, WITHDRAWN, Endpoint, Hook, Rep, Visitor, pc, recv_until
from _measure import CpuMeter, Table, load_average, machine_line, raise_nofile, versions
from alerts import BENCH_SERVER_ENV
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desklink.testing import AdminAPI, ServerProcess

#: The nodes also have to let 5000 logins from one address through.
NODES_ENV = {**BENCH_SERVER_ENV, "DESKLINK_LOGIN_ATTEMPTS_PER_IP": "1000000"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5000, help="reps online, spread over the nodes (default 5000)")
    p.add_argument("--nodes", type=int, default=3, help="web nodes (default 3)")
    p.add_argument("--workers", type=int, default=4, help="client processes holding the rep sockets (default 4)")
    p.add_argument("--rounds", type=int, default=20, help="counted rounds (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="uncounted rounds first (default 2)")
    p.add_argument("--connect-concurrency", type=int, default=25, help="logins/connects in flight per worker (default 25)")
    args = p.parse_args(argv)
    if min(args.reps, args.nodes, args.workers, args.rounds) < 1 or args.warmup < 0:
        p.error("sizes and rounds must be positive")
    return args


# ------------------------------------------------------------------ workers
async def _worker_main(conn: Connection, reps: list[tuple[str, str, str]], concurrency: int) -> None:
    """One client process: connect its reps, then answer the coordinator's
    commands: ``arm`` (count alerts carrying a marker, report their stamps),
    ``withdrawn`` (wait until every rep saw the request withdrawn), ``stop``."""
    hook = Hook()
    loop = asyncio.get_running_loop()
    clients: dict[str, httpx.AsyncClient] = {}
    pool: list[Rep] = []
    sem = asyncio.Semaphore(concurrency)

    async def connect(rep: Rep, url: str) -> None:
        node = SimpleNamespace(url=url, ws_url=url.replace("http://", "ws://"))
        async with sem:
            for attempt in range(3):
                try:
                    await rep.connect(node, clients[url], "deflate")  # type: ignore[arg-type]
                    return
                except (OSError, InvalidStatus, TimeoutError, httpx.HTTPError):
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.5)

    try:
        for _, _, url in reps:
            if url not in clients:
                clients[url] = httpx.AsyncClient(base_url=url, timeout=WAIT_S, trust_env=False)
        todo = []
        for user, pw, url in reps:
            rep = Rep(hook, user, pw)
            pool.append(rep)
            todo.append(connect(rep, url))
        t = pc()
        await asyncio.gather(*todo)
        conn.send(("ready", pc() - t))
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd[0] == "stop":
                break
            if cmd[0] == "arm":
                await _count_alerts(conn, pool, hook, cmd[1])
            elif cmd[0] == "withdrawn":
                end = time.monotonic() + WAIT_S
                while time.monotonic() < end:
                    if all(any(r.startswith(WITHDRAWN) and cmd[1] in r for _, r in ep.log) for ep in pool):
                        break
                    await asyncio.sleep(0.02)
                conn.send(("withdrawn", all(any(r.startswith(WITHDRAWN) and cmd[1] in r for _, r in ep.log) for ep in pool)))
    finally:
        await asyncio.gather(*(r.close() for r in pool), return_exceptions=True)
        for c in clients.values():
            await c.aclose()


async def _count_alerts(conn: Connection, pool: list[Rep], hook: Hook, marker: str) -> None:
    for ep in pool:
        ep.log.clear()
    done = asyncio.Event()
    seen = 0

    def fn(ep: Endpoint, t: float, raw: str) -> None:
        nonlocal seen
        if raw.startswith(ALERT) and marker in raw:
            seen += 1
            if seen >= len(pool):
                done.set()

    hook.fn = fn
    conn.send(("armed",))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), WAIT_S)
    hook.fn = None
    stamps: list[tuple[int, float]] = []  # (node index by rep order, stamp)
    rid = ""
    for i, ep in enumerate(pool):
        for t, raw in ep.log:
            if raw.startswith(ALERT) and marker in raw:
                stamps.append((i, t))
                rid = rid or json.loads(raw)["request"]["id"]
                break
    conn.send(("alerts", stamps, rid))


def worker(conn: Connection, reps: list[tuple[str, str, str]], concurrency: int) -> None:
    raise_nofile()
    try:
        asyncio.run(_worker_main(conn, reps, concurrency))
    except BaseException as exc:  # tell the coordinator instead of leaving it waiting
        with contextlib.suppress(OSError):
            conn.send(("failed", repr(exc)))
        raise


# -------------------------------------------------------------- coordinator
async def recv_all(conns: list[Connection], kind: str, timeout: float = WAIT_S + 30) -> list[Any]:
    async def one(c: Connection) -> Any:
        if not await asyncio.to_thread(c.poll, timeout):
            raise RuntimeError(f"a worker sent no {kind!r} within {timeout:.0f} s")
        msg = c.recv()
        if msg[0] != kind:
            raise RuntimeError(f"a worker answered {msg!r} instead of {kind!r}")
        return msg

    return list(await asyncio.gather(*(one(c) for c in conns)))


async def cancel(node: ServerProcess, answer: dict[str, Any]) -> None:
    v = Visitor(Hook())
    v.request_id, v.token = answer["request_id"], answer["token"]
    await v.open(node, "deflate")
    await v.ws.send('{"t":"cancel"}')
    with contextlib.suppress(TimeoutError, ConnectionClosed):
        await recv_until(v.ws, lambda m: m.get("t") == "closed", timeout=10)
    await v.close()


async def rounds(args: argparse.Namespace, nodes: list[ServerProcess], conns: list[Connection],
                 node_of: list[list[int]], table: Table) -> list[str]:
    """The fan-out rounds; returns what went incomplete."""
    incomplete: list[str] = []
    first: list[float] = []
    last: list[float] = []
    every: list[float] = []
    by_node: list[list[float]] = [[] for _ in nodes]
    answered: list[float] = []
    missing = 0
    pids = {f"node{i}": n.proc.pid for i, n in enumerate(nodes)}  # type: ignore[union-attr]
    meter = CpuMeter({"nodes": lambda: list(pids.values()), "workers": lambda: [os.getpid(), *(p for p in WORKER_PIDS)]})
    body = {"queue": "support", "name": "Bench Visitor", "email": ""}
    headers = {"Origin": nodes[0].url, "Content-Type": "application/json"}
    cpu_nodes = cpu_workers = 0.0
    others = 0.0  # cores the rest of the machine used during the counted windows
    async with httpx.AsyncClient(base_url=nodes[0].url, timeout=WAIT_S, trust_env=False) as http:
        for rnd in range(args.warmup + args.rounds):
            marker = "fanout-" + secrets.token_hex(6)
            for c in conns:
                c.send(("arm", marker))
            await recv_all(conns, "armed")
            meter.start()
            t0 = pc()
            r = await http.post("/api/visitor/requests", content=json.dumps({**body, "question": marker}), headers=headers)
            t1 = pc()
            if r.status_code != 201:
                raise RuntimeError(f"submit answered {r.status_code}: {r.text}")
            answer = r.json()
            got = await recv_all(conns, "alerts")
            usage = meter.stop()
            stamps = [(node_of[w][i], t - t0) for w, (_, s, _) in enumerate(got) for i, t in s]
            if rnd >= args.warmup:
                cpu_nodes += usage.cpu_s["nodes"]
                cpu_workers += usage.cpu_s["workers"]
                others += usage.others_cores
                missing += args.reps - len(stamps)
                answered.append(t1 - t0)
                if stamps:
                    times = [t for _, t in stamps]
                    first.append(min(times))
                    last.append(max(times))
                    every += times
                    for n, t in stamps:
                        by_node[n].append(t)
            await cancel(nodes[0], answer)
            for c in conns:
                c.send(("withdrawn", answer["request_id"]))
            if not all(ok for _, ok in await recv_all(conns, "withdrawn")):
                incomplete.append(f"round {rnd}: a withdrawal did not reach every rep within {WAIT_S:.0f} s")
    n = args.rounds
    table.section(f"alert fan-out, {args.reps} reps over {len(nodes)} web nodes ({n} rounds, {args.warmup} warm-up)")
    table.dist("last rep alerted (per round)", last)
    table.dist("first rep alerted (per round)", first)
    table.dist("every delivery (all reps, all rounds)", every)
    for i, vals in enumerate(by_node):
        table.dist(f"  reps on node {i}" + (" (the visitor's node)" if i == 0 else ""), vals)
    table.dist("visitor's POST answered (per round)", answered)
    table.value("CPU per round, submit until last alert: nodes / clients", f"{cpu_nodes / n * 1000:.0f} / {cpu_workers / n * 1000:.0f}", "ms")
    table.value("CPU meanwhile: everything else on the machine (mean)", f"{others / n:.2f}", "cores")
    if missing:
        table.value("alerts that did not arrive", str(missing))
        incomplete.append(f"{missing} alerts missing")
    return incomplete


WORKER_PIDS: list[int] = []


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    started = time.monotonic()
    db_name, pg_version = asyncio.run(pg_create())
    prefix = f"desklink-bench-{secrets.token_hex(4)}:"
    env = {**NODES_ENV, "DESKLINK_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}",
           "DESKLINK_REDIS_URL": REDIS_URL, "DESKLINK_BROKER_PREFIX": prefix, "DESKLINK_ROLE": "web",
           "DESKLINK_RELAY_SECRET": secrets.token_urlsafe(32)}
    nodes: list[ServerProcess] = []
    procs: list[multiprocessing.process.BaseProcess] = []
    conns: list[Connection] = []
    table = Table()
    incomplete: list[str] = ["the run did not finish"]
    try:
        for i in range(args.nodes):
            node = ServerProcess(env={**env, "DESKLINK_NODE_NAME": f"web-{i}"})
            node.start(timeout=60)
            if nodes:
                node.admin_password = nodes[0].admin_password
            nodes.append(node)
        print("DeskLink benchmark (bench/alerts_nodes.py)")
        print(f"  {machine_line()}")
        print(f"  {sys.executable}; {versions()}")
        print(f"  store: PostgreSQL {pg_version}, fresh database {db_name} on {PG_ADMIN_URL}; "
              f"broker: Redis {redis_info()} at {REDIS_URL}, prefix {prefix}")
        print(f"  nodes: {', '.join(f'{n.url} (pid {n.proc.pid})' for n in nodes)}")  # type: ignore[union-attr]
        print(f"  clients: {args.workers} worker processes, reps round robin over the nodes; the visitor submits on node 0",
              flush=True)
        t = pc()
        api = AdminAPI(nodes[0])
        try:
            creds = api.reps(args.reps, queue_slug="support", prefix="rep")
        finally:
            api.close()
        print(f"created {args.reps} rep accounts in {pc() - t:.1f} s", flush=True)
        # rep k goes to node k % nodes and to worker k % workers
        shares: list[list[tuple[str, str, str]]] = [[] for _ in range(args.workers)]
        node_of: list[list[int]] = [[] for _ in range(args.workers)]
        for k, (user, pw) in enumerate(creds):
            shares[k % args.workers].append((user, pw, nodes[k % args.nodes].url))
            node_of[k % args.workers].append(k % args.nodes)
        ctx = multiprocessing.get_context("spawn")
        for share in shares:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker, args=(child, share, args.connect_concurrency), daemon=True)
            p.start()
            procs.append(p)
            conns.append(parent)
            WORKER_PIDS.append(p.pid or 0)
        ready = asyncio.run(recv_all(conns, "ready", timeout=1800))
        print(f"{args.reps} reps logged in, connected and online in {max(s for _, s in ready):.1f} s", flush=True)
        incomplete = asyncio.run(rounds(args, nodes, conns, node_of, table))
    finally:
        for c in conns:
            with contextlib.suppress(OSError):
                c.send(("stop",))
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
                p.join(10)
        for node in nodes:
            node.stop()
        asyncio.run(pg_drop(db_name))
        print(f"dropped database {db_name}; removed {redis_cleanup(prefix)} Redis keys under {prefix}")
    table.print()
    for node in nodes:
        bad = [x.rstrip() for x in node.output if "WARNING" in x or "ERROR" in x or "Traceback" in x]
        if bad:
            print(f"node {node.url}: {len(bad)} warning/error lines, first: {bad[0]}")
    for line in incomplete:
        print("INCOMPLETE: " + line)
    print(f"load average at end {load_average()}; total time {time.monotonic() - started:.0f} s")
    return 1 if incomplete else 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python
"""DeskLink benchmark: screen sessions one relay process carries (issue 15),
beside websockify (the Python WebSocket-to-TCP relay noVNC uses) on the
same traffic.

DeskLink: a web node and a relay node (``desklink serve --role web`` and
``--role relay``) on a fresh PostgreSQL database and Redis. Each session
is set up as a rep does it (log in, accept a visitor's request,
``screen.request``, the viewer's ticket from ``GET /api/sessions/{id}/relay``),
then a synthetic agent on the relay node sends ``--fps`` frames a second of
``--frame-bytes`` each, keeping at most ``--window`` unacknowledged, and a
viewer acknowledges each frame as it arrives (bench/_relay_load.py).

websockify: one ``websockify`` (its default mode: a process per connection)
between N WebSocket clients and N TCP sockets of the bench, the same frames,
rate and window, the TCP side answering each frame with its sequence number.

For each N in ``--sessions``: the send-to-receive latency of every frame
(p50/p90/p99/max), frames delivered against frames aimed, ticks the window
was full, and the CPU of the relay, of the load generator and of the rest
of the machine. A kind stops growing once it delivers less than
``--stop-below`` of the aimed frames. The load generator shares the cores
with the relay under test.

Run from the repository root (PostgreSQL and Redis on their default ports;
websockify from the bench extra)::

    .venv/bin/python bench/relay.py                                   # 50,100,200,400,700,1000
    .venv/bin/python bench/relay.py --sessions 5 --seconds 3 --warmup 1   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import websockets
from _alerts_backends import REDIS_URL, pg_create, pg_drop, redis_cleanup
from _measure import CpuMeter, Table, descendants, load_average, machine_line, raise_nofile, versions
from _relay_load import worker
from alerts import BENCH_SERVER_ENV

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, free_port, login_retrying

RELAY_ENV = {
    **BENCH_SERVER_ENV,
    "DESKLINK_LOGIN_ATTEMPTS_PER_IP": "1000000",
    "DESKLINK_JOIN_ATTEMPTS_PER_MINUTE": "1000000",
    "DESKLINK_RELAY_CAPACITY": "100000",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: sorted({int(x) for x in s.split(",") if x.strip()})
    p.add_argument("--sessions", type=ints, default=[50, 100, 200, 400, 700, 1000], help="concurrent sessions per step")
    p.add_argument("--fps", type=float, default=30.0, help="frames a second per session (default 30)")
    p.add_argument("--frame-bytes", type=int, default=6000, help="bytes per frame on the wire (default 6000: 180 kB/s)")
    p.add_argument("--window", type=int, default=2, help="frames unacknowledged at most (default 2, DeskLink's)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per step (default 10)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring (default 3)")
    p.add_argument("--workers", type=int, default=2, help="load processes (default 2)")
    p.add_argument("--setup-concurrency", type=int, default=8, help="sessions set up at once (default 8)")
    p.add_argument("--stop-below", type=float, default=0.8, help="stop a kind below this share of aimed frames (0.8)")
    p.add_argument("--only", default="desklink,websockify", help="kinds to run (default both)")
    args = p.parse_args(argv)
    args.kinds = [k for k in ("desklink", "websockify") if k in args.only.split(",")]
    if not args.kinds or min(args.sessions) < 1 or args.frame_bytes < 100 or args.workers < 1:
        p.error("bad sizes or kinds")
    return args


# ------------------------------------------------------------------- workers
class Workers:
    def __init__(self, args: argparse.Namespace) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(args.workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker, args=(child, args.frame_bytes, args.fps, args.window, args.setup_concurrency),
                            daemon=True)
            p.start()
            self.procs.append(p)
            self.conns.append(parent)
        self.sinks = [m[1] for m in self.gather_sync("sink")]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def gather_sync(self, kind: str, timeout: float = 120) -> list[Any]:
        return asyncio.run(self.gather(kind, timeout))

    async def gather(self, kind: str, timeout: float = 600) -> list[Any]:
        async def one(c: Connection) -> Any:
            if not await asyncio.to_thread(c.poll, timeout):
                raise RuntimeError(f"a load worker sent no {kind!r} within {timeout:.0f} s")
            msg = c.recv()
            if msg[0] != kind:
                raise RuntimeError(f"a load worker answered {msg!r} instead of {kind!r}")
            return msg

        return list(await asyncio.gather(*(one(c) for c in self.conns)))

    async def add(self, kind: str, specs: list[dict[str, Any]]) -> list[str]:
        for i, c in enumerate(self.conns):
            c.send(("add", kind, specs[i :: len(self.conns)]))
        return [e for m in await self.gather("added") for e in m[1]]

    def stop(self) -> None:
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.send(("stop",))
        for p in self.procs:
            p.join(20)
            if p.is_alive():
                p.terminate()
                p.join(10)


async def measure(args: argparse.Namespace, workers: Workers, n: int, relay_pids: Any, table: Table, label: str) -> float:
    """One measured window over every session now open; returns the share of aimed frames delivered."""
    for c in workers.conns:
        c.send(("measure", args.warmup, args.seconds))
    await asyncio.sleep(args.warmup)
    meter = CpuMeter({"relay": relay_pids, "load": lambda: workers.pids}).start()
    got = await workers.gather("measured")
    usage = meter.stop()
    lat = [x for _, m in got for x in m["lat"]]
    secs = max(m["seconds"] for _, m in got)
    received = sum(m["received"] for _, m in got)
    aimed = n * args.fps * secs
    share = received / aimed if aimed else 0.0
    table.section(f"{label}: {n} sessions x {args.fps:g} frames/s x {args.frame_bytes} B ({args.seconds:g} s measured)")
    table.dist("send -> receive, every frame", lat)
    table.value("frames delivered / aimed", f"{received} / {aimed:.0f} ({100 * share:.0f}%)")
    table.value("delivered per session", f"{received * args.frame_bytes / secs / n / 1000:.0f}", "kB/s")
    table.value("sender ticks with the window full", str(sum(m["window_full"] for _, m in got)))
    table.value("CPU: relay / load generator / everything else",
                f"{usage.cores('relay'):.2f} / {usage.cores('load'):.2f} / {usage.others_cores:.2f}", "cores")
    closed = sum(m["closed"] for _, m in got)
    if closed:
        table.value("agent sockets closed during the window", str(closed))
    return share


# ------------------------------------------------------------------ DeskLink
async def desklink_sessions(web: ServerProcess, creds: list[tuple[str, str]], concurrency: int,
                            keep: list[Any]) -> list[dict[str, Any]]:
    """A chat session and a screen request per rep, as the console does;
    returns what the agent and the viewer need. The rep goes away once it
    holds its session, so later visitors alert only the reps still setting up."""
    sem = asyncio.Semaphore(concurrency)

    async def one(user: str, pw: str) -> dict[str, Any]:
        async with sem, httpx.AsyncClient(base_url=web.url, timeout=60, trust_env=False) as http:
            r = await login_retrying(http, user, pw)
            cookie = r.cookies["dl_session"]
            ws = await websockets.connect(web.ws_url + "/ws/rep", origin=web.url,  # type: ignore[arg-type]
                                          additional_headers={"Cookie": f"dl_session={cookie}"}, proxy=None)
            rep = RepClient(ws)
            keep.append(rep)
            await rep.send({"t": "hello", "resume": {}})
            await rep.expect("welcome", timeout=60)
            await rep.send({"t": "presence", "status": "online"})
            await rep.expect("presence", status="online", timeout=60)
            visitor = await VisitorClient.submit(web, queue="relay", name=f"Visitor of {user}")
            keep.append(visitor)
            await rep.send({"t": "accept", "request_id": visitor.request_id})
            sid = (await rep.expect("accepted", timeout=60))["session"]["id"]
            await rep.send({"t": "presence", "status": "away"})
            await rep.send({"t": "screen.request", "session_id": sid})
            offer = await rep.expect("screen.offer", timeout=60)
            for _ in range(600):  # the relay node announces itself within a heartbeat
                r = await http.get(f"/api/sessions/{sid}/relay", cookies={"dl_session": cookie})
                if r.status_code != 503:
                    break
                await asyncio.sleep(0.1)
            r.raise_for_status()
            ticket = r.json()
            return {"session": sid, "code": offer["code"].replace(" ", ""), "agent_token": offer["relay"]["token"],
                    "viewer_token": ticket["token"], "relay_url": ticket["url"], "cookie": cookie}

    return list(await asyncio.gather(*(one(u, p) for u, p in creds)))


def run_desklink(args: argparse.Namespace, workers: Workers, table: Table) -> list[str]:
    problems: list[str] = []
    db_name, pg_version = asyncio.run(pg_create())
    prefix = f"desklink-bench-{secrets.token_hex(4)}:"
    env = {**RELAY_ENV, "DESKLINK_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}",
           "DESKLINK_REDIS_URL": REDIS_URL, "DESKLINK_BROKER_PREFIX": prefix, "DESKLINK_RELAY_SECRET": secrets.token_urlsafe(32)}
    web = ServerProcess(env={**env, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": "web-1"})
    relay = ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-1"})
    keep: list[Any] = []
    try:
        web.start(timeout=60)
        relay.start(timeout=60)
        print(f"DeskLink: web node pid {web.proc.pid} {web.url}, relay node pid {relay.proc.pid} {relay.url}; "  # type: ignore[union-attr]
              f"PostgreSQL {pg_version} database {db_name}, Redis prefix {prefix}", flush=True)
        api = AdminAPI(web)
        try:
            creds = api.reps(max(args.sessions), queue_slug="relay", prefix="relay")
        finally:
            api.close()

        async def steps() -> None:
            have: list[dict[str, Any]] = []
            for n in args.sessions:
                t = time.monotonic()
                specs = await desklink_sessions(web, creds[len(have) : n], args.setup_concurrency, keep)
                errors = await workers.add("desklink", specs)
                have += specs
                print(f"  {n} sessions set up ({time.monotonic() - t:.0f} s for {len(specs)} more)", flush=True)
                if errors:
                    problems.append(f"desklink {n}: {len(errors)} sessions failed to open, first: {errors[0]}")
                    print("  " + problems[-1], flush=True)
                share = await measure(args, workers, n, lambda: [relay.proc.pid], table, "DeskLink relay node")  # type: ignore[union-attr]
                if share < args.stop_below:
                    table.notes.append(f"DeskLink: stopped after {n} sessions (delivered {100 * share:.0f}% of the aimed frames)")
                    break
            for c in workers.conns:
                c.send(("close",))
            await workers.gather("closed")
            await asyncio.gather(*(k.close() for k in keep), return_exceptions=True)

        asyncio.run(steps())
    finally:
        web.stop()
        relay.stop()
        asyncio.run(pg_drop(db_name))
        print(f"dropped database {db_name}; removed {redis_cleanup(prefix)} Redis keys under {prefix}", flush=True)
    for node in (web, relay):
        bad = [x.rstrip() for x in node.output if "ERROR" in x or "Traceback" in x]
        if bad:
            problems.append(f"{node.url}: {len(bad)} error lines, first: {bad[0]}")
    return problems


# ---------------------------------------------------------------- websockify
def run_websockify(args: argparse.Namespace, workers: Workers, table: Table) -> list[str]:
    exe = shutil.which("websockify", path=str(Path(sys.executable).parent)) or shutil.which("websockify")
    if exe is None:
        return ["websockify is not installed: .venv/bin/pip install -c constraints.txt -e '.[test,bench]'"]
    problems: list[str] = []
    tmp = tempfile.mkdtemp(prefix="desklink-wfy-")
    tokens = Path(tmp) / "tokens"
    tokens.write_text("".join(f"w{i}: 127.0.0.1:{port}\n" for i, port in enumerate(workers.sinks)))
    port = free_port()
    proc = subprocess.Popen([exe, "--token-plugin", "TokenFile", "--token-source", str(tokens), f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    version = subprocess.run([sys.executable, "-c", "import importlib.metadata as m; print(m.version('websockify'))"],
                             capture_output=True, text=True).stdout.strip()
    print(f"websockify {version}: pid {proc.pid} on 127.0.0.1:{port}, a process per connection", flush=True)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                import socket

                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            time.sleep(0.05)

        async def steps() -> None:
            have = 0
            for n in args.sessions:
                t = time.monotonic()
                # worker w gets specs w, w+W, ...: each names that worker's own sink
                specs = [{"url": f"ws://127.0.0.1:{port}/?token=w{i % len(workers.conns)}"} for i in range(n - have)]
                errors = await workers.add("websockify", specs)
                have = n
                print(f"  {n} sessions set up ({time.monotonic() - t:.0f} s)", flush=True)
                if errors:
                    problems.append(f"websockify {n}: {len(errors)} sessions failed to open, first: {errors[0]}")
                    print("  " + problems[-1], flush=True)
                share = await measure(args, workers, n, lambda: descendants(proc.pid), table,
                                      f"websockify {version} (a process per connection)")
                if share < args.stop_below:
                    table.notes.append(f"websockify: stopped after {n} sessions (delivered {100 * share:.0f}% of the aimed frames)")
                    break
            for c in workers.conns:
                c.send(("close",))
            await workers.gather("closed")

        asyncio.run(steps())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # websockify and the children it forked (its own group)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    started = time.monotonic()
    print("DeskLink benchmark (bench/relay.py)")
    print(f"  {machine_line()}")
    print(f"  {sys.executable}; {versions()}")
    print(f"  {args.frame_bytes} B x {args.fps:g}/s = {args.frame_bytes * args.fps / 1000:.0f} kB/s per session, window "
          f"{args.window}; {args.workers} load processes on the same cores; sessions {args.sessions}", flush=True)
    table = Table()
    workers = Workers(args)
    problems: list[str] = []
    try:
        if "desklink" in args.kinds:
            problems += run_desklink(args, workers, table)
        if "websockify" in args.kinds:
            problems += run_websockify(args, workers, table)
    finally:
        workers.stop()
    table.print()
    for line in problems:
        print("PROBLEM: " + line)
    print(f"load average at end {load_average()}; total time {time.monotonic() - started:.0f} s; "
          f"settings {json.dumps({k: v for k, v in RELAY_ENV.items() if k not in BENCH_SERVER_ENV})}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

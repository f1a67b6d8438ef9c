#!/usr/bin/env python
"""DeskLink benchmark: alert fan-out, the accept race, chat throughput and
memory per connected rep, all against a real ``desklink serve`` process.

Run from the repository root::

    .venv/bin/python bench/alerts.py                       # SQLite + in-process broker
    .venv/bin/python bench/alerts.py --redis               # Redis broker
    .venv/bin/python bench/alerts.py --pg                  # PostgreSQL store
    .venv/bin/python bench/alerts.py --reps 100,500,1000 --rounds 20

See bench/README.md for what each figure means. Every client lives in this
one process on one asyncio loop; each socket has its own reading task that
stamps ``time.perf_counter()`` as soon as a frame is handed over and does as
little else as possible. All times are printed in milliseconds.

The code is split by what it holds: ``_alerts_clients`` (the rep and
visitor sockets), ``_alerts_bench`` (the state and steps every phase
shares), ``_alerts_phases`` (memory, fan-out, accept race),
``_alerts_chat``, ``_alerts_backends`` (PostgreSQL, Redis, their CPU) and
``_alerts_diagnosis`` (``--trace``, ``--profile``); this file holds the
command line and the run.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _alerts_backends import BACKENDS, PG_ADMIN_URL, REDIS_URL, pg_create, pg_drop, redis_cleanup, redis_info
from _alerts_bench import Bench
from _alerts_chat import chat
from _alerts_clients import WAIT_S
from _alerts_diagnosis import analyse_trace, summarise_profile
from _alerts_phases import fanout, memory, race
from _measure import Table, find_py_spy, load_average, machine_line, raise_nofile, versions

from desklink.testing import ServerProcess

#: Settings raised for the bench so that limits meant for abusers do not cut
#: a benchmark short. Everything else is the server's default.
BENCH_SERVER_ENV = {
    "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "1000000",
    "DESKLINK_MESSAGES_PER_MINUTE": "6000000",
    # Every rep and visitor comes from 127.0.0.1, and the admin creates a
    # thousand accounts in a row: lift the per-address and per-account
    # connection and request budgets.
    "DESKLINK_MAX_CONNECTIONS_PER_IP": "1000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_IP": "100000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_ACCOUNT": "100000000",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(x) for x in s.split(",") if x.strip()]
    p.add_argument("--reps", type=ints, default=[100, 500, 1000], help="fan-out sizes (default 100,500,1000)")
    p.add_argument("--rounds", type=int, default=20, help="counted fan-out rounds per size (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="uncounted fan-out rounds first (default 2)")
    p.add_argument("--race-reps", type=int, default=100, help="reps in the accept race (default 100)")
    p.add_argument("--race-rounds", type=int, default=None, help="accept race rounds (default: --rounds)")
    p.add_argument("--chat-pairs", type=ints, default=[10, 50], help="visitor/rep pairs (default 10,50)")
    p.add_argument("--chat-seconds", type=float, default=5.0, help="measured chat seconds per size (default 5)")
    p.add_argument("--chat-warmup", type=float, default=1.0, help="chat seconds before measuring (default 1)")
    p.add_argument("--chat-window", type=int, default=1, help="chat messages in flight per sender (default 1)")
    p.add_argument("--memory-reps", type=int, default=None, help="reps for the memory figure (default: largest of --reps)")
    p.add_argument("--only", default="memory,fanout,race,chat", help="phases to run (default all)")
    p.add_argument("--connect-concurrency", type=int, default=50, help="rep logins/connects in parallel (default 50)")
    p.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    p.add_argument("--redis", action="store_true", help=f"use the Redis broker at {REDIS_URL}")
    p.add_argument("--pg", action="store_true", help=f"use a fresh PostgreSQL database on {PG_ADMIN_URL}")
    p.add_argument("--trace", action="store_true",
                   help="time the server-side fan-out path (bench/_servertrace, loaded via PYTHONPATH)")
    p.add_argument("--profile", metavar="DIR", help="sample the server with py-spy per phase into DIR")
    p.add_argument("--profile-mode", choices=["wall", "cpu"], default="wall",
                   help="wall: every sample, waiting included (default); cpu: only threads on a CPU")
    p.add_argument("--py-spy", default=find_py_spy(), help="py-spy executable")
    p.add_argument("--max-seconds", type=float, default=900.0, help="stop starting new rounds after this (default 900)")
    args = p.parse_args(argv)
    args.race_rounds = args.rounds if args.race_rounds is None else args.race_rounds
    args.phases = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = args.phases - {"memory", "fanout", "race", "chat"}
    if unknown:
        p.error(f"unknown phases {sorted(unknown)}")
    if any(n < 1 for n in [*args.reps, *args.chat_pairs, args.race_reps]) or args.rounds < 1:
        p.error("sizes and rounds must be positive")
    return args


async def run(args: argparse.Namespace, server: ServerProcess, table: Table) -> Bench:
    bench = Bench(args, server, table)
    sizes = sorted(set(args.reps), reverse=True)
    memory_reps = args.memory_reps or max(args.reps)
    need = 1
    if "memory" in args.phases:
        need = max(need, memory_reps)
    if "fanout" in args.phases:
        need = max(need, *sizes)
    if "race" in args.phases:
        need = max(need, args.race_reps)
    n_chat = max(args.chat_pairs) if "chat" in args.phases else 0
    bench.create_accounts(need, n_chat)
    limits = httpx.Limits(max_connections=args.connect_concurrency, max_keepalive_connections=args.connect_concurrency)
    # The console's cookie is read from the answer; the client keeps none.
    no_cookies = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=WAIT_S, trust_env=False) as bench.http,
        httpx.AsyncClient(base_url=server.url, timeout=WAIT_S, trust_env=False, limits=limits, cookies=no_cookies) as bench.login_http,
    ):
        try:
            if "memory" in args.phases:
                await memory(bench, memory_reps)
            if "fanout" in args.phases:
                for size in sizes:
                    await bench.ensure_connected(size)
                    async with bench.profiled(f"fanout-{size}"):
                        await fanout(bench, size)
            if "race" in args.phases:
                await bench.ensure_connected(args.race_reps)
                async with bench.profiled(f"race-{args.race_reps}"):
                    await race(bench, args.race_reps)
            await bench.ensure_connected(0)
            if "chat" in args.phases:
                for pairs in sorted(set(args.chat_pairs)):
                    async with bench.profiled(f"chat-{pairs}"):
                        await chat(bench, pairs)
        finally:
            await asyncio.gather(*(r.close() for r in [*bench.connected, *bench.chat_reps]), return_exceptions=True)
    return bench


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    env = dict(BENCH_SERVER_ENV)
    db_name = ""
    prefix = ""
    trace_file = ""
    db_desc = "SQLite (embedded, in the data dir)"
    broker_desc = "in-process memory broker"
    if args.redis:
        prefix = f"desklink-bench-{secrets.token_hex(4)}:"
        env["DESKLINK_REDIS_URL"] = REDIS_URL
        env["DESKLINK_BROKER_PREFIX"] = prefix
        broker_desc = f"Redis {redis_info()} at {REDIS_URL}, prefix {prefix}"
        BACKENDS["redis"] = True
    if args.trace:
        fd, trace_file = tempfile.mkstemp(prefix="desklink-trace-", suffix=".jsonl")
        os.close(fd)
        env["DESKLINK_BENCH_TRACE"] = trace_file
        here = str(Path(__file__).resolve().parent / "_servertrace")
        env["PYTHONPATH"] = os.pathsep.join(x for x in (here, os.environ.get("PYTHONPATH", "")) if x)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        if not os.access(args.py_spy, os.X_OK):
            raise SystemExit(f"--profile needs py-spy ({args.py_spy}): .venv/bin/pip install py-spy")
    if args.pg:
        db_name, pg_version = asyncio.run(pg_create())
        env["DESKLINK_DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}"
        db_desc = f"PostgreSQL {pg_version}, fresh database {db_name}"
        BACKENDS["pg_db"] = db_name
    table = Table()
    started = time.monotonic()
    bench: Bench | None = None
    server = ServerProcess(env=env)
    try:
        server.start(timeout=60)
        print("DeskLink benchmark (bench/alerts.py)")
        print(f"  {machine_line()}")
        print(f"  {sys.executable}; {versions()}")
        print(f"  store: {db_desc}; broker: {broker_desc}")
        print(f"  server: pid {server.proc.pid} on {server.url}; raised limits: "  # type: ignore[union-attr]
              + ", ".join(f"{k}={v}" for k, v in BENCH_SERVER_ENV.items()) + "; fast Argon2 (FAST_HASH_ENV)"
              + ("; TRACED (timing probes loaded)" if args.trace else "")
              + ("; PROFILED (py-spy attached)" if args.profile else ""))
        print(f"  clients: one asyncio loop in pid {os.getpid()}; permessage-deflate "
              f"{'off' if args.no_deflate else 'offered (as browsers do)'}; RLIMIT_NOFILE {nofile[0]}")
        print(f"  fan-out sizes {args.reps}, {args.rounds} rounds (+{args.warmup} warm-up); race {args.race_reps} reps x "
              f"{args.race_rounds}; chat pairs {args.chat_pairs}", flush=True)
        bench = asyncio.run(run(args, server, table))
    finally:
        server.stop()
        if db_name:
            asyncio.run(pg_drop(db_name))
        if prefix:
            removed = redis_cleanup(prefix)
            print(f"removed {removed} Redis keys under {prefix}")
    if trace_file:
        if bench is not None:
            analyse_trace(trace_file, bench.fanout_rounds, bench.windows, table)
        os.unlink(trace_file)
    table.print()
    if bench is not None:
        for out in bench.profiles:
            summarise_profile(out)
    warnings = [line.rstrip() for line in server.output if "WARNING" in line or "ERROR" in line or "Traceback" in line]
    if warnings:
        print(f"server log: {len(warnings)} warning/error lines, first ones:")
        for line in warnings[:10]:
            print("  " + line)
    incomplete = bench.incomplete if bench is not None else ["the run did not finish"]
    for line in incomplete:
        print("INCOMPLETE: " + line)
    print(f"load average at end {load_average()}; total time {time.monotonic() - started:.0f} s")
    return 1 if incomplete else 0


if __name__ == "__main__":
    raise SystemExit(main())

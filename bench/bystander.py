#!/usr/bin/env python
"""DeskLink benchmark: what one abusive client costs everyone else.

A bystander (a rep and a visitor chatting through a real ``desklink serve``
process) sends chat messages on a fixed schedule and times each one's echo,
while a flooder in a separate process hammers the same server from another
loopback address:

* ``login``: wrong passwords on ``POST /api/auth/login``, ``--concurrency``
  in flight (unknown usernames, spread over ``--login-sources`` source
  addresses, as a distributed guesser would: one address alone is stopped by
  the login limits after 20 tries);
* ``http``: ``GET /api/widget/config`` offered at ``--http-rate`` requests a
  second on a fixed schedule, from one address;
* ``ws``: unauthenticated WebSocket connections to ``/ws/agent`` that never
  say ``hello``, opened at ``--ws-rate`` a second up to ``--ws-target`` at
  once, each reopened a second after the server closes or refuses it, from
  one address.

The floods offer a fixed load rather than "as fast as answered": on a small
machine the flooder's own CPU would otherwise decide the figures, and a
fixed load lets a before/after comparison show what the server spends.

Run from the repository root::

    .venv/bin/python bench/bystander.py                  # all phases, 10 s each
    .venv/bin/python bench/bystander.py --only http --seconds 5

See bench/README.md for what each figure means. Times are milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import (
    CpuMeter,
    Table,
    load_average,
    machine_line,
    raise_nofile,
    rss_kib,
    versions,
)

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

pc = time.perf_counter

PHASES = ("baseline", "login", "http", "ws")

#: The bystander sends far more than a person types; only the per-socket chat
#: budget is raised so that it is not cut short. Argon2 runs at its
#: production cost (not the tests' FAST_HASH_ENV): the login flood is about it.
BENCH_SERVER_ENV = {
    "DESKLINK_MESSAGES_PER_MINUTE": "6000000",
    "DESKLINK_ARGON2_TIME_COST": "3",
    "DESKLINK_ARGON2_MEMORY_KIB": "65536",
}

#: The bystander comes from 127.0.0.1; floods come from these.
FLOOD_SOURCE = "127.0.0.2"


def source_addresses(n: int) -> list[str]:
    """``n`` loopback addresses other than the bystander's 127.0.0.1."""
    return [f"127.0.{1 + i // 250}.{2 + i % 250}" for i in range(n)]


# ------------------------------------------------------------------ flooders
# Each runs in its own process (``--flooder KIND``), so that its work never
# delays the bystander's time stamps in this one, and prints one JSON line.
async def flood_http(
    url: str, seconds: float, concurrency: int, sources: list[str], login: bool, rate: float = 0.0
) -> dict[str, Any]:
    """``concurrency`` workers; with ``rate`` each takes the next slot of a
    fixed schedule (``rate`` a second, open loop), else fires at once."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    counter = itertools.count()
    start = pc()
    clients = [
        httpx.AsyncClient(
            base_url=url,
            timeout=30,
            trust_env=False,
            transport=httpx.AsyncHTTPTransport(local_address=src),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        for src in sources
    ]
    end = time.monotonic() + seconds

    async def worker(w: int) -> None:
        while time.monotonic() < end:
            i = next(counter)
            client = clients[i % len(clients)]
            if rate:
                delay = start + i / rate - pc()
                if delay > 0:
                    await asyncio.sleep(delay)
            t0 = pc()
            try:
                if login:
                    r = await client.post(
                        "/api/auth/login", json={"username": f"nobody-{w}-{i}", "password": f"wrong password {i}"}
                    )
                else:
                    r = await client.get("/api/widget/config", params={"queue": "support"}, headers={"Origin": url})
                statuses[str(r.status_code)] += 1
                latencies.append(pc() - t0)
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                await asyncio.sleep(0.01)

    started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    took = time.monotonic() - started
    for c in clients:
        await c.aclose()
    return {"requests": sum(statuses.values()), "seconds": took, "statuses": dict(statuses), "latencies": latencies}


async def flood_ws(url: str, seconds: float, concurrency: int, target: int, rate: float, source: str) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    open_now = 0
    open_max = 0
    end = time.monotonic() + seconds
    ws_url = url.replace("http://", "ws://") + "/ws/agent"
    gate = asyncio.Semaphore(concurrency)  # handshakes in progress at once
    start = pc()

    async def holder(n: int) -> None:
        nonlocal open_now, open_max
        delay = start + n / rate - pc()  # the first connections ramp up at `rate`
        if delay > 0:
            await asyncio.sleep(delay)
        while time.monotonic() < end:
            try:
                async with gate:
                    ws = await websockets.connect(
                        ws_url, open_timeout=10, close_timeout=1, ping_interval=None, proxy=None, compression=None,
                        family=socket.AF_INET, local_addr=(source, 0),
                    )
            except websockets.InvalidStatus as exc:
                outcomes[f"refused {exc.response.status_code}"] += 1
                await asyncio.sleep(1.0)
                continue
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                outcomes[type(exc).__name__] += 1
                await asyncio.sleep(1.0)
                continue
            outcomes["opened"] += 1
            open_now += 1
            open_max = max(open_max, open_now)
            try:
                # Say nothing; wait for the server to give up on us.
                await asyncio.wait_for(ws.wait_closed(), max(0.0, end - time.monotonic()))
                outcomes[f"closed by server {ws.close_code}"] += 1
            except TimeoutError:
                pass
            finally:
                open_now -= 1
                with contextlib.suppress(Exception):
                    ws.transport.abort()
            await asyncio.sleep(1.0)

    await asyncio.gather(*(holder(n) for n in range(target)))
    return {"outcomes": dict(outcomes), "open_max": open_max, "seconds": seconds}


def flooder_main(args: argparse.Namespace) -> int:
    raise_nofile()
    if args.flooder == "login":
        result = asyncio.run(
            flood_http(args.url, args.seconds, args.concurrency, source_addresses(args.login_sources), login=True)
        )
    elif args.flooder == "http":
        result = asyncio.run(
            flood_http(args.url, args.seconds, args.http_concurrency, [FLOOD_SOURCE], login=False, rate=args.http_rate)
        )
    else:
        result = asyncio.run(
            flood_ws(args.url, args.seconds, args.ws_concurrency, args.ws_target, args.ws_rate, FLOOD_SOURCE)
        )
    print(json.dumps(result), flush=True)
    return 0


# ----------------------------------------------------------------- bystander
class Bystander:
    """A visitor and a rep in one chat. The visitor sends ``rate`` messages a
    second on a fixed schedule (not waiting for answers, so a stalled server
    shows as late echoes rather than as fewer samples); the reading tasks
    stamp each message's echo to the visitor and its delivery to the rep."""

    def __init__(self, visitor: VisitorClient, rep: RepClient, session_id: str) -> None:
        self.visitor = visitor
        self.rep = rep
        self.session_id = session_id
        self.echo: dict[str, float] = {}
        self.delivered: dict[str, float] = {}
        self.errors: list[str] = []
        self._readers = [
            asyncio.create_task(self._read(visitor.ws, self.echo)),
            asyncio.create_task(self._read(rep.ws, self.delivered)),
        ]

    async def _read(self, ws: Any, stamps: dict[str, float]) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                t = pc()
                if raw.startswith('{"t":"chat"'):
                    stamps[json.loads(raw)["cid"]] = t
                elif raw.startswith('{"t":"error"'):
                    self.errors.append(raw)

    async def run(self, seconds: float, rate: float, tag: str) -> tuple[list[float], list[float], int]:
        """Chat for ``seconds``; returns echo latencies, rep delivery
        latencies (seconds) and how many messages never came back."""
        sent: dict[str, float] = {}
        start = pc()
        n = int(seconds * rate)
        for i in range(n):
            due = start + i / rate
            delay = due - pc()
            if delay > 0:
                await asyncio.sleep(delay)
            cid = f"{tag}-{i}"
            sent[cid] = due  # latency counts from when the message was due
            await self.visitor.ws.send(json.dumps({"t": "chat.send", "cid": cid, "text": f"message {i}"}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(c in self.echo and c in self.delivered for c in sent):
            await asyncio.sleep(0.05)
        echo = [self.echo[c] - t for c, t in sent.items() if c in self.echo]
        delivered = [self.delivered[c] - t for c, t in sent.items() if c in self.delivered]
        lost = sum(1 for c in sent if c not in self.echo or c not in self.delivered)
        return echo, delivered, lost

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for c in (self.visitor, self.rep):
            with contextlib.suppress(Exception):
                await c.close()


async def bystander(server: ServerProcess) -> Bystander:
    admin = AdminAPI(server)
    try:
        (username, password), = admin.reps(1, prefix="bystander")
    finally:
        admin.close()
    rep = await RepClient.connect(server, username, password)
    visitor = await VisitorClient.submit(server, question="just chatting")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    session_id = (await rep.expect("accepted"))["session"]["id"]
    await visitor.expect("joined")
    return Bystander(visitor, rep, session_id)


class RssSampler:
    """The server's VmRSS every 0.2 s while a phase runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError, RuntimeError):
                self.samples.append(rss_kib(self.pid))
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def phase(args: argparse.Namespace, server: ServerProcess, by: Bystander, kind: str, table: Table) -> None:
    pid = server.proc.pid  # type: ignore[union-attr]
    table.section(f"{kind}: bystander chat while {describe(kind, args)}")
    rss_before = rss_kib(pid)
    flooder: asyncio.subprocess.Process | None = None
    if kind != "baseline":
        cmd = [sys.executable, __file__, "--flooder", kind, "--url", server.url, "--seconds", str(args.seconds + 1.0),
               "--concurrency", str(args.concurrency), "--login-sources", str(args.login_sources),
               "--http-rate", str(args.http_rate), "--http-concurrency", str(args.http_concurrency),
               "--ws-target", str(args.ws_target), "--ws-rate", str(args.ws_rate),
               "--ws-concurrency", str(args.ws_concurrency)]
        flooder = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
        await asyncio.sleep(1.0)  # let the flood build up before measuring
    rss = RssSampler(pid)
    # The flooder is a child of this process but a group of its own: the
    # "everything else" figure is then CPU neither side of the test used.
    meter = CpuMeter({"server": pid, "bench": os.getpid(), "flooder": lambda: [flooder.pid] if flooder else []}).start()
    try:
        echo, delivered, lost = await by.run(args.seconds, args.rate, kind)
    finally:
        cpu = meter.stop()
        await rss.stop()
    table.dist("visitor's chat message -> its echo to the visitor", echo)
    table.dist("visitor's chat message -> delivered to the rep", delivered)
    table.value("bystander messages sent / not delivered", f"{int(args.seconds * args.rate)} / {lost}")
    table.value("server CPU busy", f"{cpu.cores('server'):.2f}", "cores")
    table.value("CPU meanwhile: flooder / bystander / everything else",
                f"{cpu.cores('flooder'):.2f} / {cpu.cores('bench'):.2f} / {cpu.others_cores:.2f}", "cores")
    if flooder is not None:
        raw, _ = await asyncio.wait_for(flooder.communicate(), 120)
        out = raw.decode().strip()
        result = json.loads(out.splitlines()[-1]) if out else {}
        if kind in ("login", "http"):
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.get("statuses", {}).items()))
            rate = result.get("requests", 0) / max(result.get("seconds", 1.0), 1e-9)
            table.value("flood: requests answered per second", f"{rate:.0f}", "req/s")
            table.value("flood: answers", statuses or "-")
            if result.get("latencies"):
                table.dist("flood: flooder's request -> answer", result["latencies"])
        else:
            outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(result.get("outcomes", {}).items()))
            table.value("flood: most sockets open at once", str(result.get("open_max", 0)))
            table.value("flood: outcomes", outcomes or "-")
    peak = max(rss.samples, default=rss_before)
    table.value("server RSS before / peak / after", f"{rss_before / 1024:.0f} / {peak / 1024:.0f} / "
                f"{rss_kib(pid) / 1024:.0f}", "MiB")
    if by.errors:
        table.notes.append(f"{kind}: bystander got {len(by.errors)} error messages, first {by.errors[0][:200]}")
        by.errors.clear()
    # Let the server settle (sockets closed, work drained) before the next phase.
    await asyncio.sleep(args.pause)


def describe(kind: str, args: argparse.Namespace) -> str:
    return {
        "baseline": "nothing else happens",
        "login": f"a flood of wrong-password logins ({args.concurrency} in flight, {args.login_sources} source addresses)",
        "http": f"GET /api/widget/config offered at {args.http_rate:g}/s (up to {args.http_concurrency} in flight, one address)",
        "ws": f"silent WebSockets opened at {args.ws_rate:g}/s, up to {args.ws_target} at once (one address)",
    }[kind]


async def run(args: argparse.Namespace, server: ServerProcess, table: Table) -> None:
    by = await bystander(server)
    try:
        for kind in args.phases:
            await phase(args, server, by, kind, table)
    finally:
        await by.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(PHASES), help=f"phases to run, in this order (default {','.join(PHASES)})")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase (default 10)")
    p.add_argument("--rate", type=float, default=20.0, help="bystander chat messages per second (default 20)")
    p.add_argument("--concurrency", type=int, default=8, help="login flood: requests in flight (default 8)")
    p.add_argument("--login-sources", type=int, default=64, help="login flood: source addresses (default 64)")
    p.add_argument("--http-rate", type=float, default=200.0, help="http flood: requests offered a second (default 200)")
    p.add_argument("--http-concurrency", type=int, default=64, help="http flood: most requests in flight (default 64)")
    p.add_argument("--ws-target", type=int, default=3000, help="ws flood: sockets to hold open (default 3000)")
    p.add_argument("--ws-rate", type=float, default=300.0, help="ws flood: new connections a second (default 300)")
    p.add_argument("--ws-concurrency", type=int, default=64, help="ws flood: handshakes in flight (default 64)")
    p.add_argument("--pause", type=float, default=3.0, help="quiet seconds between phases (default 3)")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra DESKLINK_* setting for the server (repeatable)")
    p.add_argument("--flooder", choices=PHASES[1:], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.phases = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phases {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.flooder:
        return flooder_main(args)
    nofile = raise_nofile()
    env = dict(BENCH_SERVER_ENV)
    env.update(kv.split("=", 1) for kv in args.server_env)  # type: ignore[misc]
    table = Table()
    server = ServerProcess(env=env)
    started = time.monotonic()
    try:
        server.start(timeout=60)
        print("DeskLink bystander benchmark (bench/bystander.py)")
        print(f"  {machine_line()}")
        print(f"  {versions()}")
        print(f"  server: pid {server.proc.pid} on {server.url} (SQLite, in-process broker); "  # type: ignore[union-attr]
              + ", ".join(f"{k}={v}" for k, v in env.items()) + f"; RLIMIT_NOFILE {nofile[0]}")
        print(f"  bystander: one visitor and one rep from 127.0.0.1, {args.rate:g} messages/s for {args.seconds:g} s "
              f"per phase; floods from {FLOOD_SOURCE} (login: {args.login_sources} addresses), each in its own process",
              flush=True)
        asyncio.run(run(args, server, table))
    finally:
        server.stop()
    table.print()
    noisy = [line.rstrip() for line in server.output if "ERROR" in line or "Traceback" in line]
    if noisy:
        print(f"server log: {len(noisy)} error lines, first ones:")
        for line in noisy[:5]:
            print("  " + line)
    print(f"load average at end {load_average()}; total time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

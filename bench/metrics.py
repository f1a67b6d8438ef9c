#!/usr/bin/env python
"""What the Prometheus metrics cost alert fan-out: the same rounds against
a real ``desklink serve`` with metrics as shipped, and with the metric calls
taken out (a ``sitecustomize`` on the server's path turns the alert stamp,
the store and broker timers into no-ops, so the alert takes exactly the path
it took before metrics existed).

Run from the repository root::

    .venv/bin/python bench/metrics.py                  # 200 reps, 30 rounds
    .venv/bin/python bench/metrics.py --reps 1000 --rounds 50

Each round: one visitor request to the queue, timed from the POST to each
online rep's ``alert`` (client side, one loop), then cancelled. Printed: p50
and p99 of every rep's alert time, per variant, and with metrics the node's
own ``desklink_alert_fanout_seconds`` count (it must equal rounds x reps).
The two variants alternate twice (ABAB) so a slow spell of the machine
does not land on one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx
from _measure import Table, machine_line, raise_nofile

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

ENV = {
    "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "1000000",
    "DESKLINK_MESSAGES_PER_MINUTE": "6000000",
    "DESKLINK_MAX_CONNECTIONS_PER_IP": "1000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_IP": "100000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_ACCOUNT": "100000000",
}

#: Loaded by the server's interpreter at start: the metric calls of the
#: fan-out path and the timers become no-ops.
NO_METRICS = '''
import desklink.server.metrics as m
m.Metrics.alert_submitted_at = lambda self, text: None
m.Metrics.time_store = lambda self, engine: None
m.Metrics.time_broker = lambda self, broker: None
'''


async def rounds(server: ServerProcess, reps: list[RepClient], count: int) -> list[float]:
    """Every rep's alert time of ``count`` rounds, seconds."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=60, headers={"Origin": server.url}) as http:
        for i in range(count):
            t0 = time.perf_counter()
            r = await http.post("/api/visitor/requests", json={"queue": "support", "name": "Bench", "question": f"round {i}"})
            r.raise_for_status()
            rid = r.json()["request_id"]

            async def one(rep: RepClient, t0: float = t0, rid: str = rid) -> float:
                while (await rep.expect("alert", timeout=60))["request"]["id"] != rid:
                    pass
                return time.perf_counter() - t0

            times += await asyncio.gather(*(one(rep) for rep in reps))
            visitor = await VisitorClient.open(server, rid, r.json()["token"])
            await visitor.send({"t": "cancel"})
            await asyncio.gather(*(rep.expect("alert.withdrawn", timeout=60, request_id=rid) for rep in reps))
            await visitor.close()
    return times


async def variant(with_metrics: bool, n: int, count: int) -> tuple[list[float], float | None]:
    with tempfile.TemporaryDirectory(prefix="dl-bench-metrics-") as tmp:
        env = dict(ENV)
        if not with_metrics:
            (Path(tmp) / "sitecustomize.py").write_text(NO_METRICS)
            env["PYTHONPATH"] = os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")])
        with ServerProcess(env=env) as server:
            admin = AdminAPI(server)
            creds = admin.reps(n, prefix="mb")
            admin.close()
            reps = [await RepClient.connect(server, u, p) for u, p in creds]
            await rounds(server, reps, 3)  # warm-up
            times = await rounds(server, reps, count)
            for rep in reps:
                await rep.close()
            observed = None
            if with_metrics:
                for line in server.metrics().splitlines():
                    if line.startswith("desklink_alert_fanout_seconds_count"):
                        observed = float(line.split()[1])
            return times, observed


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--rounds", type=int, default=30)
    args = p.parse_args()
    raise_nofile()
    got: dict[bool, list[float]] = {True: [], False: []}
    counts: list[float | None] = []
    for with_metrics in (True, False, True, False):
        times, observed = await variant(with_metrics, args.reps, args.rounds)
        got[with_metrics] += times
        if with_metrics:
            counts.append(observed)
    print(machine_line())
    t = Table(live=False)
    t.section(f"alert fan-out, {args.reps} reps, {args.rounds} rounds x 2 runs per variant (POST to each rep's alert)")
    t.dist("without metrics", got[False])
    t.dist("with metrics", got[True])
    expected = (args.rounds + 3) * args.reps
    t.value(f"desklink_alert_fanout_seconds_count per run (expected {expected})", " / ".join(f"{c:.0f}" for c in counts if c is not None))
    t.print()


if __name__ == "__main__":
    asyncio.run(main())

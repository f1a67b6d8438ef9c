"""bench/alerts.py's phases on the support queue: memory per connected rep,
alert fan-out and the accept race (README "What the phases do"). Each adds
its rows to ``bench.table`` and what went wrong to ``bench.incomplete``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from typing import Any

from _alerts_backends import OTHERS_LABEL, describe_meanwhile, meanwhile_meter
from _alerts_bench import Bench
from _alerts_clients import ACCEPTED, ALERT, ENDED, ERROR, WAIT_S, WITHDRAWN, Endpoint, Rep, pc
from _measure import CpuMeter, rss_kib


async def memory(bench: Bench, n: int) -> None:
    """Server RSS after a warm-up and 1 s of quiet, then 2 s after ``n`` reps
    logged in, connected and went online: the difference per rep is what a
    connected rep costs the server."""
    t = bench.table
    pid = bench.server.proc.pid  # type: ignore[union-attr]
    # Warm up the code paths one connected rep exercises, then measure.
    await bench.ensure_connected(1)
    answer, _, _ = await bench.submit("warm-up " + secrets.token_hex(4))
    await bench.cancel_request(answer["request_id"], answer["token"], bench.connected)
    await bench.ensure_connected(0)
    await asyncio.sleep(1.0)
    rss0 = rss_kib(pid)
    took = await bench.connect_reps(bench.reps[:n])
    bench.connected = list(bench.reps[:n])
    await asyncio.sleep(2.0)
    rss1 = rss_kib(pid)
    t.section(f"4. memory per connected online rep ({n} reps)")
    t.value("server VmRSS before connecting", f"{rss0 / 1024:.1f}", "MiB")
    t.value(f"server VmRSS with {n} reps online", f"{rss1 / 1024:.1f}", "MiB")
    t.value("RSS per connected rep", f"{(rss1 - rss0) / n:.1f}", "KiB")
    t.value(f"time to log in + connect + go online ({n} reps)", f"{took:.2f}", "s")


async def fanout(bench: Bench, size: int) -> None:
    """Rounds of one visitor request alerting ``size`` online reps: the time
    from the POST to each rep's ``alert``, one round at a time (the request
    is cancelled and every withdrawal awaited before the next)."""
    t = bench.table
    args = bench.args
    pid = bench.server.proc.pid  # type: ignore[union-attr]
    await bench.ensure_connected(size)
    reps = bench.connected
    last: list[float] = []
    first: list[float] = []
    every: list[float] = []
    answers: list[float] = []
    server_cpu = client_cpu = 0.0
    counted = 0
    missing = 0
    window = meanwhile_meter(pid)
    per_round = CpuMeter({"server": pid, "bench": os.getpid()})
    for rnd in range(args.warmup + args.rounds):
        if bench.deadline.over():
            bench.incomplete.append(f"fan-out {size}: stopped after {rnd} rounds (time limit)")
            break
        bench.clear_logs(reps)
        marker = "fanout-" + secrets.token_hex(6)
        done = asyncio.Event()
        seen = 0

        def hook(ep: Endpoint, tt: float, raw: str, marker: str = marker, done: asyncio.Event = done) -> None:
            nonlocal seen
            if raw.startswith(ALERT) and marker in raw:
                seen += 1
                if seen >= size:
                    done.set()

        bench.hook.fn = hook
        per_round.start()
        try:
            answer, t0, t_answer = await bench.submit(marker)
            ok = True
            try:
                await asyncio.wait_for(done.wait(), WAIT_S)
            except TimeoutError:
                ok = False
        finally:
            bench.hook.fn = None
        cpu = per_round.stop()
        rid = answer["request_id"]
        stamps = []
        for rep in reps:
            for tt, raw in rep.log:
                if raw.startswith(ALERT) and marker in raw:
                    if json.loads(raw)["request"]["id"] == rid:
                        stamps.append(tt - t0)
                    break
        if rnd >= args.warmup:
            counted += 1
            missing += size - len(stamps)
            if ok and stamps:
                last.append(max(stamps))
                first.append(min(stamps))
                bench.fanout_rounds.append((size, t0, t0 + min(stamps), t0 + max(stamps)))
            every += stamps
            answers.append(t_answer - t0)
            server_cpu += cpu.cpu_s["server"]
            client_cpu += cpu.cpu_s["bench"]
        await bench.cancel_request(rid, answer["token"], reps)
    t.section(f"1. alert fan-out, {size} reps online ({counted} rounds, {args.warmup} warm-up rounds not counted)")
    t.dist("last rep alerted (per round)", last)
    t.dist("first rep alerted (per round)", first)
    t.dist("every delivery (all reps, all rounds)", every)
    t.dist("visitor's POST answered (per round)", answers)
    if counted:
        t.value("server CPU per round, submit until last alert", f"{server_cpu / counted * 1000:.0f}", "ms")
        t.value("bench-client CPU per round, same window", f"{client_cpu / counted * 1000:.0f}", "ms")
    t.value(OTHERS_LABEL, describe_meanwhile(window.stop()), "cores")
    if missing:
        t.value("alerts that did not arrive", str(missing))
        bench.incomplete.append(f"fan-out {size}: {missing} alerts missing")


async def race(bench: Bench, size: int) -> None:
    """Rounds of ``size`` reps accepting one request back to back: the
    winner's ``accepted``, the losers' errors and every withdrawal, then
    the store's word (exactly one session per raced request)."""
    t = bench.table
    args = bench.args
    await bench.ensure_connected(size)
    reps = bench.connected
    to_accepted: list[float] = []
    to_last_withdrawn: list[float] = []
    to_last_loser_error: list[float] = []
    send_spread: list[float] = []
    winners_ok = 0
    rounds = 0
    bad: list[str] = []
    race_ids: list[str] = []
    window = meanwhile_meter(bench.server.proc.pid)  # type: ignore[union-attr]
    for rnd in range(args.race_rounds):
        if bench.deadline.over():
            bench.incomplete.append(f"accept race: stopped after {rnd} rounds (time limit)")
            break
        marker = "race-" + secrets.token_hex(6)
        box: dict[str, Any] = {}

        async def do_submit(marker: str = marker, box: dict[str, Any] = box) -> None:
            box["answer"], _, _ = await bench.submit(marker)

        if not await bench.wait_count(ALERT, marker, reps, do_submit):
            bad.append(f"round {rnd}: not every rep got the alert")
            continue
        rid = box["answer"]["request_id"]
        race_ids.append(rid)
        bench.clear_logs(reps)
        done = asyncio.Event()
        counts = {"w": 0, "a": 0, "e": 0}

        def hook(ep: Endpoint, tt: float, raw: str, rid: str = rid, done: asyncio.Event = done, counts: dict[str, int] = counts) -> None:
            if rid not in raw and not raw.startswith(ACCEPTED):
                return
            if raw.startswith(WITHDRAWN):
                counts["w"] += 1
            elif raw.startswith(ACCEPTED):
                counts["a"] += 1
            elif raw.startswith(ERROR):
                counts["e"] += 1
            if counts["w"] >= size and counts["a"] >= 1 and counts["a"] + counts["e"] >= size:
                done.set()

        bench.hook.fn = hook
        frame = json.dumps({"t": "accept", "request_id": rid})
        try:
            t_first = pc()
            for rep in reps:
                await rep.ws.send(frame)
            t_sent = pc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), WAIT_S)
        finally:
            bench.hook.fn = None
        rounds += 1
        bench.windows.append((f"accept race, {size} reps (per round)", t_first, pc(), 1))
        send_spread.append(t_sent - t_first)
        winners: list[tuple[Rep, float, dict[str, Any]]] = []
        withdrawn: list[float] = []
        loser_errors: list[float] = []
        others: list[str] = []
        for rep in reps:
            for tt, msg in rep.messages('{"t":'):
                kind = msg.get("t")
                if kind == "accepted" and msg["session"]["request_id"] == rid:
                    winners.append((rep, tt, msg))
                elif kind == "alert.withdrawn" and msg["request_id"] == rid:
                    withdrawn.append(tt)
                elif kind == "error" and msg.get("ref") == rid:
                    if msg["code"] in ("conflict_taken", "conflict_closed"):
                        loser_errors.append(tt)
                    else:
                        others.append(msg["code"])
        if len(winners) == 1 and len(loser_errors) == size - 1 and len(withdrawn) == size and not others:
            winners_ok += 1
        else:
            bad.append(
                f"round {rnd}: {len(winners)} winners, {len(loser_errors)} losers told, "
                f"{len(withdrawn)}/{size} withdrawn, other errors {others}"
            )
        if winners:
            to_accepted.append(min(w[1] for w in winners) - t_first)
        if len(withdrawn) == size:
            to_last_withdrawn.append(max(withdrawn) - t_first)
        if loser_errors:
            to_last_loser_error.append(max(loser_errors) - t_first)
        # The winner ends the session so every round starts alike.
        for rep, _, msg in winners:
            sid = msg["session"]["id"]
            end = json.dumps({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})

            async def act(rep: Rep = rep, end: str = end) -> None:
                await rep.ws.send(end)

            if not await bench.wait_count(ENDED, sid, [rep], act):
                bad.append(f"round {rnd}: the winner's end got no 'ended'")
    # The store is the judge: exactly one session per raced request.
    per_request = await bench.sessions_per_request(race_ids)
    store_ok = sum(1 for rid in race_ids if per_request.get(rid, 0) == 1)
    t.section(f"2. accept race, {size} reps send 'accept' at once ({rounds} rounds)")
    t.dist("first accept sent -> winner's 'accepted'", to_accepted)
    t.dist("first accept sent -> last rep's 'alert.withdrawn'", to_last_withdrawn)
    t.dist("first accept sent -> last loser's 'conflict_taken'", to_last_loser_error)
    t.dist(f"time to write all {size} accepts (client side)", send_spread)
    t.value("rounds with exactly one winner (sockets)", f"{winners_ok}/{rounds}")
    t.value("raced requests with exactly one session (store)", f"{store_ok}/{len(race_ids)}")
    t.value(OTHERS_LABEL, describe_meanwhile(window.stop()), "cores")
    for line in bad[:10]:
        t.notes.append("accept race: " + line)
    if bad:
        bench.incomplete.append(f"accept race: {len(bad)} rounds not as expected")

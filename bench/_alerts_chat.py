"""bench/alerts.py's chat phase: visitor/rep pairs on the ``chat`` queue,
both sides of every pair sending ``chat.send`` as fast as a window of
messages in flight allows; throughput and send-to-delivery latency (README
"3. Chat throughput").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
from typing import Any

from _alerts_backends import OTHERS_LABEL, describe_meanwhile, meanwhile_meter
from _alerts_bench import Bench
from _alerts_clients import ACCEPTED, CHAT, ERROR, WAIT_S, Endpoint, Rep, Visitor, pc
from _measure import percentile
from websockets.exceptions import ConnectionClosed


class Sender:
    """One side of a pair sending ``chat.send`` with at most ``window``
    messages sent and not yet delivered to the other side (the reading
    task of the other side releases one per delivery). Without a window a
    sender floods its socket and the latency only measures the run's length."""

    def __init__(self, ws: Any, kind: str, prefix: str, template: dict[str, Any], window: int) -> None:
        self.ws, self.kind, self.prefix, self.template = ws, kind, prefix, template
        self.sem = asyncio.Semaphore(window)
        self.sent: dict[str, float] = {}
        self.count = 0

    async def run(self, stop_at: float) -> None:
        for k in range(10_000_000):
            left = stop_at - pc()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.sem.acquire(), left)
            except TimeoutError:
                return
            cid = f"{self.prefix}{k}"
            frame = json.dumps({**self.template, "cid": cid, "text": f"bench message {k} from {self.kind}"})
            self.sent[cid] = pc()
            self.count += 1
            await self.ws.send(frame)


async def open_pairs(bench: Bench, pairs: int) -> tuple[list[Rep], list[Visitor], list[str]]:
    """The first ``pairs`` chat reps connected, each in a session with a
    new visitor: (reps, visitors, session ids), logs off and cleared."""
    reps = bench.chat_reps[:pairs]
    fresh = [r for r in reps if r.ws is None]
    if fresh:
        await bench.connect_reps(fresh)
    visitors: list[Visitor] = []
    sessions: list[str] = []
    # Pair i: a new visitor request, accepted by chat rep i.
    for i, rep in enumerate(reps):
        answer, _, _ = await bench.submit(f"chat pair {i} " + secrets.token_hex(4), queue="chat")
        v = Visitor(bench.hook)
        v.request_id, v.token = answer["request_id"], answer["token"]
        await v.open(bench.server, bench.compression)
        v.start()
        visitors.append(v)
        box: dict[str, str] = {}

        def hook(ep: Endpoint, tt: float, raw: str, rep: Rep = rep, rid: str = v.request_id,
                 box: dict[str, str] = box) -> None:
            if ep is rep and raw.startswith(ACCEPTED) and rid in raw:
                box["sid"] = json.loads(raw)["session"]["id"]

        bench.hook.fn = hook
        try:
            await rep.ws.send(json.dumps({"t": "accept", "request_id": v.request_id}))
            end = time.monotonic() + WAIT_S
            while "sid" not in box and time.monotonic() < end:
                await asyncio.sleep(0.005)
        finally:
            bench.hook.fn = None
        if "sid" not in box:
            raise RuntimeError(f"chat pair {i}: the rep's accept got no 'accepted'")
        sessions.append(box["sid"])
    await asyncio.sleep(0.3)
    for ep in [*reps, *visitors]:
        ep.keep_log = False
        ep.log.clear()
    return reps, visitors, sessions


async def chat(bench: Bench, pairs: int) -> None:
    """``pairs`` visitor/rep pairs (a request each, accepted by that pair's
    rep) chat for ``--chat-warmup`` then ``--chat-seconds`` measured
    seconds; then every session is ended and the visitors leave."""
    t = bench.table
    args = bench.args
    reps, visitors, sessions = await open_pairs(bench, pairs)
    senders_of: dict[int, Sender] = {}  # endpoint id -> the *other* side's sender
    senders: list[Sender] = []
    for i, (rep, v, sid) in enumerate(zip(reps, visitors, sessions, strict=True)):
        vs = Sender(v.ws, "visitor", f"v{i}-", {"t": "chat.send"}, args.chat_window)
        rs = Sender(rep.ws, "rep", f"r{i}-", {"t": "chat.send", "session_id": sid}, args.chat_window)
        senders_of[id(rep)] = vs
        senders_of[id(v)] = rs
        senders += [vs, rs]

    warm_end = pc() + args.chat_warmup
    stop_at = warm_end + args.chat_seconds
    buckets = [0] * max(1, int(math.ceil(args.chat_seconds)))
    latencies: list[float] = []
    stats = {"in_window": 0}
    error_codes: dict[str, int] = {}

    def hook(ep: Endpoint, tt: float, raw: str) -> None:
        if raw.startswith(CHAT):
            sender = senders_of.get(id(ep))
            if sender is None:
                return
            msg = json.loads(raw)
            if msg["from"] != sender.kind:
                return  # own echo or a system line
            sent = sender.sent.pop(msg["cid"], None)
            if sent is None:
                return
            sender.sem.release()
            if warm_end <= tt < stop_at:
                stats["in_window"] += 1
                buckets[min(int(tt - warm_end), len(buckets) - 1)] += 1
            if warm_end <= sent < stop_at:
                latencies.append(tt - sent)
        elif raw.startswith(ERROR):
            code = json.loads(raw).get("code", "?")
            error_codes[code] = error_codes.get(code, 0) + 1

    bench.hook.fn = hook
    pid = bench.server.proc.pid  # type: ignore[union-attr]
    try:
        tasks = [asyncio.create_task(s.run(stop_at)) for s in senders]
        await asyncio.sleep(max(0.0, warm_end - pc()))
        window = meanwhile_meter(pid)
        await asyncio.sleep(max(0.0, stop_at - pc()))
        cpu = window.stop()
        t_stop = pc()
        await asyncio.wait(tasks, timeout=WAIT_S)
        drain_end = time.monotonic() + 10
        while any(s.sent for s in senders) and time.monotonic() < drain_end:
            await asyncio.sleep(0.01)
        undelivered = sum(len(s.sent) for s in senders)
    finally:
        bench.hook.fn = None
    for task in tasks:
        task.cancel()
    # End every session (the visitor's socket closes with 4010).
    for rep, sid in zip(reps, sessions, strict=True):
        with contextlib.suppress(ConnectionClosed):
            await rep.ws.send(json.dumps({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""}))
    await asyncio.sleep(0.5)
    await asyncio.gather(*(v.close() for v in visitors))
    for rep in reps:
        rep.keep_log = True
        rep.log.clear()

    sent_total = sum(s.count for s in senders)
    bench.windows.append((f"chat, {pairs} pairs (per delivered message)", warm_end, t_stop, stats["in_window"]))
    t.section(
        f"3. chat, {pairs} visitor/rep pairs, both sides sending (window {args.chat_window} in flight per sender, "
        f"{args.chat_seconds:g} s measured after {args.chat_warmup:g} s warm-up)"
    )
    t.value("messages delivered to the other side per second", f"{stats['in_window'] / args.chat_seconds:.0f}", "msg/s")
    t.value(
        "per-second delivered (min / median / max of 1 s buckets)",
        f"{min(buckets)} / {int(percentile(buckets, 50))} / {max(buckets)}",
        "msg/s",
    )
    t.dist("send -> delivery to the other side", latencies)
    t.value("server CPU busy during the window", f"{cpu.cores('server') * 100:.0f}", "% of 1 core")
    t.value("bench-client CPU busy during the window", f"{cpu.cores('bench') * 100:.0f}", "% of 1 core")
    t.value(OTHERS_LABEL, describe_meanwhile(cpu), "cores")
    if undelivered or error_codes:
        t.value("sent / undelivered after drain / error replies", f"{sent_total} / {undelivered} / {error_codes}")
        bench.incomplete.append(f"chat {pairs} pairs: {undelivered} undelivered, errors {error_codes}")

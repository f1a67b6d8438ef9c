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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.cookiejar
import json
import math
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import websockets
from _measure import (
    CpuMeter,
    CpuUsage,
    PySpy,
    Table,
    find_py_spy,
    load_average,
    machine_line,
    percentile,
    raise_nofile,
    read_collapsed,
    rss_kib,
    share_lines,
    versions,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desklink.testing import LOGIN_RETRIES, AdminAPI, ServerProcess

pc = time.perf_counter

# Server messages are encoded with "t" first, so a prefix test tells the
# type of a frame without decoding it on the hot path.
ALERT = '{"t":"alert",'
WITHDRAWN = '{"t":"alert.withdrawn",'
ACCEPTED = '{"t":"accepted",'
ERROR = '{"t":"error",'
ENDED = '{"t":"ended",'
CHAT = '{"t":"chat",'

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

REDIS_URL = "redis://127.0.0.1:6379/0"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"

OTHERS_LABEL = "CPU meanwhile: bench's PostgreSQL+Redis / unrelated procs"

#: Upper bound for waiting on any one expected event (a round that does not
#: complete within it is reported as incomplete instead of hanging the run).
WAIT_S = 30.0


# ----------------------------------------------------------------- processes
#: Set by main(): the bench's PostgreSQL database (its backends' CPU is the
#: bench's work) and whether Redis is in use.
BACKENDS = {"pg_db": "", "redis": False}


def backend_pids() -> list[int]:
    """This bench's PostgreSQL backends (matched by database name) and
    redis-server (shared, so all of it is counted)."""
    out: list[int] = []
    if not BACKENDS["pg_db"] and not BACKENDS["redis"]:
        return out
    for entry in os.listdir("/proc")[:100_000]:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
            if comm == "postgres" and BACKENDS["pg_db"]:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if str(BACKENDS["pg_db"]).encode() not in f.read():
                        continue
            elif not (comm == "redis-server" and BACKENDS["redis"]):
                continue
            out.append(int(entry))
        except OSError:
            continue
    return out


def meanwhile_meter(server_pid: int) -> CpuMeter:
    """Server, this bench, its PostgreSQL/Redis and (as ``others``)
    everything else, over a phase: the machine is shared, other people's
    tests count. Started; :func:`describe_meanwhile` reads it."""
    return CpuMeter({"server": server_pid, "bench": os.getpid(), "backends": backend_pids}).start()


def describe_meanwhile(usage: CpuUsage) -> str:
    """``backends cores / everything-else cores`` for the OTHERS_LABEL row."""
    return f"{usage.cores('backends'):.2f} / {usage.others_cores:.2f}"


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def over(self) -> bool:
        return time.monotonic() > self.end


# ------------------------------------------------------------------- clients
class Hook:
    """The one callback every reading task calls per frame (None: just log)."""

    fn: Callable[[Endpoint, float, str], None] | None = None


class Endpoint:
    """One WebSocket with a reading task that stamps and logs every frame."""

    def __init__(self, hook: Hook) -> None:
        self.hook = hook
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None
        self.log: list[tuple[float, str]] = []
        self.keep_log = True
        self.closed_code: int | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        ws, log, hook = self.ws, self.log, self.hook
        try:
            async for raw in ws:
                t = pc()
                if self.keep_log:
                    log.append((t, raw))
                fn = hook.fn
                if fn is not None:
                    fn(self, t, raw)
        except ConnectionClosed:
            pass
        finally:
            self.closed_code = ws.close_code

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        self.ws = None
        self.task = None

    def messages(self, prefix: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, json.loads(raw)) for t, raw in self.log if raw.startswith(prefix)]


async def recv_until(ws: Any, pred: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S) -> dict[str, Any]:
    """Read (before the reading task runs) until a message satisfies ``pred``."""
    end = time.monotonic() + timeout
    for _ in range(100_000):
        left = end - time.monotonic()
        if left <= 0:
            break
        msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), left))
        if pred(msg):
            return msg
    raise TimeoutError("expected message did not arrive")


def ws_options(compression: str | None) -> dict[str, Any]:
    # No client pings (they would add noise), no proxy from the environment.
    return {"compression": compression, "proxy": None, "ping_interval": None, "open_timeout": WAIT_S, "close_timeout": 5}


class Rep(Endpoint):
    def __init__(self, hook: Hook, username: str, password: str) -> None:
        super().__init__(hook)
        self.username = username
        self.password = password
        self.cookie = ""
        self.user_id = 0

    async def login(self, server: ServerProcess, http: httpx.AsyncClient) -> None:
        # A burst of logins from one address is checked at most
        # login_attempts_per_ip at a time (and the password pool queues a
        # bounded number): wait out a 429 as Retry-After says.
        for _ in range(LOGIN_RETRIES):
            r = await http.post(
                "/api/auth/login",
                json={"username": self.username, "password": self.password},
                headers={"Origin": server.url},
            )
            if r.status_code != 429:
                break
            await asyncio.sleep(float(r.headers.get("retry-after", "1")))
        r.raise_for_status()
        for header in r.headers.get_list("set-cookie"):
            m = re.match(r"dl_session=([^;]+)", header)
            if m:
                self.cookie = m.group(1)
        if not self.cookie:
            raise RuntimeError("login set no dl_session cookie")

    async def connect(self, server: ServerProcess, http: httpx.AsyncClient, compression: str | None) -> None:
        """Log in (once; the cookie is kept), open /ws/rep, hello, go online."""
        if not self.cookie:
            await self.login(server, http)
        ws = await websockets.connect(
            server.ws_url + "/ws/rep",
            origin=server.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"dl_session={self.cookie}"},
            **ws_options(compression),
        )
        try:
            await ws.send('{"t":"hello","resume":{}}')
            welcome = await recv_until(ws, lambda m: m.get("t") == "welcome")
            self.user_id = int(welcome["user"]["id"])
            await ws.send('{"t":"presence","status":"online"}')
            await recv_until(ws, lambda m: m.get("t") == "presence" and m.get("status") == "online")
        except BaseException:
            await ws.close()
            raise
        self.ws = ws
        self.log.clear()
        self.start()


class Visitor(Endpoint):
    request_id = ""
    token = ""

    async def open(self, server: ServerProcess, compression: str | None) -> dict[str, Any]:
        ws = await websockets.connect(
            f"{server.ws_url}/ws/visitor?request={self.request_id}",
            origin=server.url,  # type: ignore[arg-type]
            **ws_options(compression),
        )
        await ws.send(json.dumps({"t": "hello", "token": self.token, "last_seq": 0}))
        try:
            welcome = await recv_until(ws, lambda m: m.get("t") == "welcome")
        except BaseException:
            await ws.close()
            raise
        self.ws = ws
        return welcome


# --------------------------------------------------------------------- bench
class Bench:
    def __init__(self, args: argparse.Namespace, server: ServerProcess, table: Table) -> None:
        self.args = args
        self.server = server
        self.table = table
        self.hook = Hook()
        self.compression = None if args.no_deflate else "deflate"
        self.deadline = Deadline(args.max_seconds)
        self.http: httpx.AsyncClient  # the visitor's page (keep-alive)
        self.login_http: httpx.AsyncClient
        self.reps: list[Rep] = []
        self.chat_reps: list[Rep] = []
        self.connected: list[Rep] = []
        self.incomplete: list[str] = []
        #: (size, t0, first alert received, last alert received) of counted fan-out rounds
        self.fanout_rounds: list[tuple[int, float, float, float]] = []
        self.profiles: list[str] = []
        #: (label, start, end, work items) windows for --trace's DB hop counts
        self.windows: list[tuple[str, float, float, int]] = []

    @contextlib.asynccontextmanager
    async def profiled(self, name: str) -> Any:
        """Sample the server with py-spy while the block runs (--profile DIR)."""
        if not self.args.profile:
            yield
            return
        # wall: --idle, so threads that wait (select, the GIL, locks) are sampled too.
        spy = PySpy(self.server.proc.pid, Path(self.args.profile) / f"server-{name}.txt", rate=250,  # type: ignore[union-attr]
                    idle=self.args.profile_mode == "wall", executable=self.args.py_spy)
        await asyncio.sleep(1.0)  # py-spy attaches
        try:
            yield
        finally:
            self.profiles.append(str(await asyncio.to_thread(spy.stop)))

    # ------------------------------------------------------------------ setup
    def create_accounts(self, n_support: int, n_chat: int) -> None:
        t = pc()
        api = AdminAPI(self.server)
        try:
            api.queue("chat")
            creds = api.reps(n_support, queue_slug="support", prefix="rep")
            chat_creds = api.reps(n_chat, queue_slug="chat", prefix="chat") if n_chat else []
        finally:
            api.close()
        self.reps = [Rep(self.hook, u, p) for u, p in creds]
        self.chat_reps = [Rep(self.hook, u, p) for u, p in chat_creds]
        print(f"created {n_support} + {n_chat} rep accounts in {pc() - t:.1f} s", flush=True)

    async def connect_reps(self, reps: Sequence[Rep]) -> float:
        """Connect ``reps`` (bounded concurrency); returns the seconds it took."""
        sem = asyncio.Semaphore(self.args.connect_concurrency)

        async def one(rep: Rep) -> None:
            async with sem:
                for attempt in range(3):
                    try:
                        await rep.connect(self.server, self.login_http, self.compression)
                        return
                    except (OSError, InvalidStatus, TimeoutError, httpx.HTTPError):
                        if attempt == 2:
                            raise
                        await asyncio.sleep(0.2)

        t = pc()
        await asyncio.gather(*(one(r) for r in reps))
        return pc() - t

    async def ensure_connected(self, n: int) -> None:
        """Exactly the first ``n`` support reps connected and online."""
        if len(self.connected) > n:
            extra = self.connected[n:]
            self.connected = self.connected[:n]
            await asyncio.gather(*(r.close() for r in extra))
            await asyncio.sleep(0.5)  # let the server run their leave/away
        elif len(self.connected) < n:
            more = self.reps[len(self.connected) : n]
            await self.connect_reps(more)
            self.connected += more

    def clear_logs(self, eps: Sequence[Endpoint]) -> None:
        for ep in eps:
            ep.log.clear()

    async def submit(self, question: str, queue: str = "support") -> tuple[dict[str, Any], float, float]:
        """POST the visitor's request; returns (answer, t_before_send, t_answer)."""
        body = json.dumps({"queue": queue, "name": "Bench Visitor", "question": question, "email": ""}).encode()
        headers = {"Origin": self.server.url, "Content-Type": "application/json"}
        t0 = pc()
        r = await self.http.post("/api/visitor/requests", content=body, headers=headers)
        t1 = pc()
        if r.status_code != 201:
            raise RuntimeError(f"submit answered {r.status_code}: {r.text}")
        return r.json(), t0, t1

    async def wait_count(self, prefix: str, needle: str, eps: Sequence[Endpoint], action: Any = None) -> bool:
        """Count frames starting with ``prefix`` and containing ``needle``
        until one per endpoint arrived; ``action`` (a coroutine function) runs
        after the hook is in place. Returns False on timeout."""
        done = asyncio.Event()
        seen: set[int] = set()
        target = len(eps)

        def hook(ep: Endpoint, t: float, raw: str) -> None:
            if raw.startswith(prefix) and needle in raw:
                seen.add(id(ep))
                if len(seen) >= target:
                    done.set()

        self.hook.fn = hook
        try:
            if action is not None:
                await action()
            await asyncio.wait_for(done.wait(), WAIT_S)
            return True
        except TimeoutError:
            return False
        finally:
            self.hook.fn = None

    async def cancel_request(self, request_id: str, token: str, eps: Sequence[Endpoint]) -> None:
        """Cancel a waiting request as its visitor and wait until every rep in
        ``eps`` got the ``alert.withdrawn`` (so rounds never overlap)."""
        v = Visitor(self.hook)
        v.request_id, v.token = request_id, token

        async def act() -> None:
            await v.open(self.server, self.compression)
            await v.ws.send('{"t":"cancel"}')
            with contextlib.suppress(TimeoutError, ConnectionClosed):
                await recv_until(v.ws, lambda m: m.get("t") == "closed", timeout=10)

        ok = await self.wait_count(WITHDRAWN, request_id, eps, act)
        await v.close()
        if not ok:
            self.incomplete.append(f"withdrawal of {request_id} did not reach every rep within {WAIT_S:.0f} s")

    # ------------------------------------------------------------- memory
    async def memory(self, n: int) -> None:
        t = self.table
        pid = self.server.proc.pid  # type: ignore[union-attr]
        # Warm up the code paths one connected rep exercises, then measure.
        await self.ensure_connected(1)
        answer, _, _ = await self.submit("warm-up " + secrets.token_hex(4))
        await self.cancel_request(answer["request_id"], answer["token"], self.connected)
        await self.ensure_connected(0)
        await asyncio.sleep(1.0)
        rss0 = rss_kib(pid)
        took = await self.connect_reps(self.reps[:n])
        self.connected = list(self.reps[:n])
        await asyncio.sleep(2.0)
        rss1 = rss_kib(pid)
        t.section(f"4. memory per connected online rep ({n} reps)")
        t.value("server VmRSS before connecting", f"{rss0 / 1024:.1f}", "MiB")
        t.value(f"server VmRSS with {n} reps online", f"{rss1 / 1024:.1f}", "MiB")
        t.value("RSS per connected rep", f"{(rss1 - rss0) / n:.1f}", "KiB")
        t.value(f"time to log in + connect + go online ({n} reps)", f"{took:.2f}", "s")

    # ------------------------------------------------------------- fan-out
    async def fanout(self, size: int) -> None:
        t = self.table
        args = self.args
        pid = self.server.proc.pid  # type: ignore[union-attr]
        await self.ensure_connected(size)
        reps = self.connected
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
            if self.deadline.over():
                self.incomplete.append(f"fan-out {size}: stopped after {rnd} rounds (time limit)")
                break
            self.clear_logs(reps)
            marker = "fanout-" + secrets.token_hex(6)
            done = asyncio.Event()
            seen = 0

            def hook(ep: Endpoint, tt: float, raw: str, marker: str = marker, done: asyncio.Event = done) -> None:
                nonlocal seen
                if raw.startswith(ALERT) and marker in raw:
                    seen += 1
                    if seen >= size:
                        done.set()

            self.hook.fn = hook
            per_round.start()
            try:
                answer, t0, t_answer = await self.submit(marker)
                ok = True
                try:
                    await asyncio.wait_for(done.wait(), WAIT_S)
                except TimeoutError:
                    ok = False
            finally:
                self.hook.fn = None
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
                    self.fanout_rounds.append((size, t0, t0 + min(stamps), t0 + max(stamps)))
                every += stamps
                answers.append(t_answer - t0)
                server_cpu += cpu.cpu_s["server"]
                client_cpu += cpu.cpu_s["bench"]
            await self.cancel_request(rid, answer["token"], reps)
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
            self.incomplete.append(f"fan-out {size}: {missing} alerts missing")

    # ---------------------------------------------------------------- race
    async def race(self, size: int) -> None:
        t = self.table
        args = self.args
        await self.ensure_connected(size)
        reps = self.connected
        to_accepted: list[float] = []
        to_last_withdrawn: list[float] = []
        to_last_loser_error: list[float] = []
        send_spread: list[float] = []
        winners_ok = 0
        rounds = 0
        bad: list[str] = []
        race_ids: list[str] = []
        window = meanwhile_meter(self.server.proc.pid)  # type: ignore[union-attr]
        for rnd in range(args.race_rounds):
            if self.deadline.over():
                self.incomplete.append(f"accept race: stopped after {rnd} rounds (time limit)")
                break
            marker = "race-" + secrets.token_hex(6)
            box: dict[str, Any] = {}

            async def do_submit(marker: str = marker, box: dict[str, Any] = box) -> None:
                box["answer"], _, _ = await self.submit(marker)

            if not await self.wait_count(ALERT, marker, reps, do_submit):
                bad.append(f"round {rnd}: not every rep got the alert")
                continue
            rid = box["answer"]["request_id"]
            race_ids.append(rid)
            self.clear_logs(reps)
            done = asyncio.Event()
            counts = {"w": 0, "a": 0, "e": 0}

            def hook(ep: Endpoint, tt: float, raw: str, rid: str = rid, done: asyncio.Event = done) -> None:
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

            self.hook.fn = hook
            frame = json.dumps({"t": "accept", "request_id": rid})
            try:
                t_first = pc()
                for rep in reps:
                    await rep.ws.send(frame)
                t_sent = pc()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), WAIT_S)
            finally:
                self.hook.fn = None
            rounds += 1
            self.windows.append((f"accept race, {size} reps (per round)", t_first, pc(), 1))
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

                if not await self.wait_count(ENDED, sid, [rep], act):
                    bad.append(f"round {rnd}: the winner's end got no 'ended'")
        # The store is the judge: exactly one session per raced request.
        per_request = await self.sessions_per_request(race_ids)
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
            self.incomplete.append(f"accept race: {len(bad)} rounds not as expected")

    async def sessions_per_request(self, request_ids: list[str]) -> dict[str, int]:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=WAIT_S, trust_env=False) as admin:
            r = await admin.post(
                "/api/auth/login",
                json={"username": "admin", "password": self.server.admin_password},
                headers={"Origin": self.server.url},
            )
            r.raise_for_status()
            wanted = set(request_ids)
            counts: dict[str, int] = {}
            for page in range(20):
                r = await admin.get("/api/sessions", params={"limit": 500, "offset": page * 500})
                r.raise_for_status()
                rows = r.json()["sessions"]
                for s in rows:
                    if s["request_id"] in wanted:
                        counts[s["request_id"]] = counts.get(s["request_id"], 0) + 1
                if len(rows) < 500:
                    break
            return counts

    # ---------------------------------------------------------------- chat
    async def chat(self, pairs: int) -> None:
        t = self.table
        args = self.args
        reps = self.chat_reps[:pairs]
        fresh = [r for r in reps if r.ws is None]
        if fresh:
            await self.connect_reps(fresh)
        visitors: list[Visitor] = []
        sessions: list[str] = []
        # Pair i: a new visitor request, accepted by chat rep i.
        for i, rep in enumerate(reps):
            answer, _, _ = await self.submit(f"chat pair {i} " + secrets.token_hex(4), queue="chat")
            v = Visitor(self.hook)
            v.request_id, v.token = answer["request_id"], answer["token"]
            await v.open(self.server, self.compression)
            v.start()
            visitors.append(v)
            box: dict[str, str] = {}

            def hook(ep: Endpoint, tt: float, raw: str, rep: Rep = rep, rid: str = v.request_id,
                     box: dict[str, str] = box) -> None:
                if ep is rep and raw.startswith(ACCEPTED) and rid in raw:
                    box["sid"] = json.loads(raw)["session"]["id"]

            self.hook.fn = hook
            try:
                await rep.ws.send(json.dumps({"t": "accept", "request_id": v.request_id}))
                end = time.monotonic() + WAIT_S
                while "sid" not in box and time.monotonic() < end:
                    await asyncio.sleep(0.005)
            finally:
                self.hook.fn = None
            if "sid" not in box:
                raise RuntimeError(f"chat pair {i}: the rep's accept got no 'accepted'")
            sessions.append(box["sid"])
        await asyncio.sleep(0.3)
        for ep in [*reps, *visitors]:
            ep.keep_log = False
            ep.log.clear()

        class Sender:
            def __init__(self, ws: Any, kind: str, prefix: str, template: dict[str, Any]) -> None:
                self.ws, self.kind, self.prefix, self.template = ws, kind, prefix, template
                self.sem = asyncio.Semaphore(args.chat_window)
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

        senders_of: dict[int, Sender] = {}  # endpoint id -> the *other* side's sender
        senders: list[Sender] = []
        for i, (rep, v, sid) in enumerate(zip(reps, visitors, sessions, strict=True)):
            vs = Sender(v.ws, "visitor", f"v{i}-", {"t": "chat.send"})
            rs = Sender(rep.ws, "rep", f"r{i}-", {"t": "chat.send", "session_id": sid})
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

        self.hook.fn = hook
        pid = self.server.proc.pid  # type: ignore[union-attr]
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
            self.hook.fn = None
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
        self.windows.append((f"chat, {pairs} pairs (per delivered message)", warm_end, t_stop, stats["in_window"]))
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
            self.incomplete.append(f"chat {pairs} pairs: {undelivered} undelivered, errors {error_codes}")


# ------------------------------------------------------------------ backends
async def pg_create() -> tuple[str, str]:
    import asyncpg

    name = "desklink_bench_" + secrets.token_hex(4)
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return name, str(version)


async def pg_drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def redis_info() -> str:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    try:
        return str(r.info("server").get("redis_version", "?"))
    finally:
        r.close()


def redis_cleanup(prefix: str) -> int:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    removed = 0
    try:
        batch: list[bytes] = []
        for i, key in enumerate(r.scan_iter(match=prefix + "*", count=1000)):
            if i >= 1_000_000:
                break
            batch.append(key)
            if len(batch) >= 1000:
                removed += r.delete(*batch)
                batch = []
        if batch:
            removed += r.delete(*batch)
    finally:
        r.close()
    return removed


# ---------------------------------------------------------------------- main
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
                await bench.memory(memory_reps)
            if "fanout" in args.phases:
                for size in sizes:
                    await bench.ensure_connected(size)
                    async with bench.profiled(f"fanout-{size}"):
                        await bench.fanout(size)
            if "race" in args.phases:
                await bench.ensure_connected(args.race_reps)
                async with bench.profiled(f"race-{args.race_reps}"):
                    await bench.race(args.race_reps)
            await bench.ensure_connected(0)
            if "chat" in args.phases:
                for pairs in sorted(set(args.chat_pairs)):
                    async with bench.profiled(f"chat-{pairs}"):
                        await bench.chat(pairs)
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


# ---------------------------------------------------------------- diagnosis
def analyse_trace(
    path: str, rounds: list[tuple[int, float, float, float]], windows: list[tuple[str, float, float, int]], table: Table
) -> None:
    """Split each counted fan-out round at the server's probes (--trace)."""
    import bisect

    by_kind: dict[str, list[tuple[float, float]]] = {}
    with open(path) as f:
        for line in f:
            t, kind, value = json.loads(line)
            by_kind.setdefault(kind, []).append((t, value))
            if kind in ("gc0", "gc1", "gc2"):
                by_kind.setdefault("gc", []).append((t, value))
    for v in by_kind.values():
        v.sort()
    stamps = {k: [t for t, _ in v] for k, v in by_kind.items()}

    def within(kind: str, lo: float, hi: float) -> list[tuple[float, float]]:
        ts = stamps.get(kind, [])
        return by_kind[kind][bisect.bisect_left(ts, lo) : bisect.bisect_right(ts, hi)] if ts else []

    for size in sorted({r[0] for r in rounds}, reverse=True):
        parts: dict[str, list[float]] = {}

        def add(name: str, value: float, parts: dict[str, list[float]] = parts) -> None:
            parts.setdefault(name, []).append(value)

        for _, t0, tf, tl in (r for r in rounds if r[0] == size):
            start = within("submit.start", t0, tl)
            pub = within("publish", t0, tl)
            if not start or not pub:
                continue
            t_start, t_pub = start[0][0], pub[0][0]
            dels = [t for t, _ in within("deliver", t_pub, tl)]
            sent = [t for t, _ in within("sent", t_pub, tl)]
            gcs = [v for t, v in within("gc", t0 - 1.0, tl) if t + v >= t0]
            lags = [v for t, v in within("lag", t0 - 1.0, tl) if t + v + 0.005 >= t0]
            add("a client sends POST -> server enters submit()", t_start - t0)
            add("b submit() entered -> alert published (DB work)", t_pub - t_start)
            if dels:
                add("c published -> hub hands it to the first rep", dels[0] - t_pub)
                add("d hub hands it to all reps (first -> last)", dels[-1] - dels[0])
            if sent:
                add("e first rep's socket write done, after publish", sent[0] - t_pub)
                add("f last rep's socket write done, after publish", sent[-1] - t_pub)
                add("g last socket write -> bench client reads last", tl - sent[-1])
                add("h first socket write -> bench client reads first", tf - sent[0])
            add("i server GC pauses overlapping the round (sum)", sum(gcs))
            full = [v for t, v in within("gc2", t0 - 1.0, tl) if t + v >= t0]
            if full:
                add("k rounds hit by a full (gen-2) GC: its pause", sum(full))
            add("j longest server event-loop stall in the round", max(lags, default=0.0))
        table.section(f"server-side split of the {size}-rep fan-out rounds (--trace)")
        for name in sorted(parts):
            table.dist(name[2:], parts[name])
    if rounds:
        lo, hi = min(r[1] for r in rounds), max(r[3] for r in rounds)
        table.section("server garbage collection during the whole fan-out phase (--trace)")
        for gen in (1, 2):
            pauses = [v for _, v in within(f"gc{gen}", lo, hi)]
            if pauses:
                table.dist(f"server gen-{gen} GC pauses during the fan-out phase", pauses)
            else:
                table.value(f"server gen-{gen} GC pauses during the fan-out phase", "none")
        objects = [v for _, v in within("gc2.objects", lo, hi)]
        if objects:
            table.value("objects tracked by the server's GC at its full GCs", " / ".join(f"{v:.0f}" for v in objects[:4]))
    if "sqlhop" not in by_kind:
        return
    table.section("SQLite thread hops (aiosqlite calls) and new SQLite connections (--trace)")
    totals: dict[str, list[int]] = {}
    for label, lo, hi, items in windows:
        agg = totals.setdefault(label, [0, 0, 0, 0])
        agg[0] += len(within("sqlhop", lo, hi))
        agg[1] += len(within("sqlconn", lo, hi))
        agg[2] += items
        agg[3] += 1
    for label, (hops, conns, items, n) in totals.items():
        if items:
            table.value(f"{label}: thread hops", f"{hops / items:.1f}")
            table.value(f"{label}: new connections/threads", f"{conns / items:.2f}")


def summarise_profile(path: str, top: int = 18) -> None:
    """Print where a py-spy raw profile (--idle --threads) spent the samples:
    per thread, then the event-loop thread's busy share, self time and the
    inclusive frames of the libraries on the request path."""
    threads: dict[str, int] = {}
    main_idle = main_total = 0
    self_counts: dict[str, int] = {}
    incl: dict[str, int] = {}
    try:
        stacks = list(read_collapsed(path))
    except OSError as exc:
        print(f"profile {path}: {exc}")
        return
    for thread, frames, count in stacks:
        threads[thread] = threads.get(thread, 0) + count
        if "MainThread" not in thread or not frames:
            continue
        main_total += count
        leaf = frames[-1]
        if leaf.startswith(("select (selectors.py", "EpollSelector.select", "_run_once")) and "select" in leaf:
            main_idle += count
            continue
        self_counts[leaf] = self_counts.get(leaf, 0) + count
        for fr in set(frames):
            incl[fr] = incl.get(fr, 0) + count
    print(f"\npy-spy profile {path}: {sum(threads.values())} samples over {len(threads)} threads")
    for thread, count in sorted(threads.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  thread {thread}: {count}")
    if not main_total:
        return
    busy = main_total - main_idle
    print(f"  main (event loop) thread: {100 * busy / main_total:.0f}% busy, {100 * main_idle / main_total:.0f}% idle in select")
    print("  top self time on the main thread (% of its busy samples):")
    print("\n".join(share_lines(self_counts, busy, top)))
    print("  top inclusive (desklink / uvicorn / starlette / websockets / sqlalchemy / aiosqlite / gc) frames:")
    keep = ("desklink/", "uvicorn/", "starlette/", "websockets/", "sqlalchemy/", "aiosqlite/", "redis/", "asyncpg/",
            "zlib", "compress")
    print("\n".join(share_lines({f: c for f, c in incl.items() if any(k in f for k in keep)}, busy, top)))


if __name__ == "__main__":
    raise SystemExit(main())

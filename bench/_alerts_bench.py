"""bench/alerts.py's state and the steps every phase shares: the server and
its accounts, the reps connected right now, submitting and cancelling a
visitor's request, waiting until every rep has a frame, py-spy per phase,
and what went incomplete. The phases themselves are in ``_alerts_phases``
(memory, fan-out, accept race) and ``_alerts_chat``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from _alerts_clients import WAIT_S, WITHDRAWN, Endpoint, Hook, Rep, Visitor, pc, recv_until
from _measure import PySpy, Table
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desklink.testing import AdminAPI, ServerProcess


class Deadline:
    """``--max-seconds``: no new round starts once it is over."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def over(self) -> bool:
        return time.monotonic() > self.end


class Bench:
    """One run against one server: the accounts (support reps, chat reps),
    the support reps connected now, the shared reading hook, the result
    table and what went incomplete. Phases are functions that take it."""

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

    async def sessions_per_request(self, request_ids: list[str]) -> dict[str, int]:
        """Sessions per request id, as the store has them (``GET /api/sessions``
        as the admin, at most 20 pages of 500)."""
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


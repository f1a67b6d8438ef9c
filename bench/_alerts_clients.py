"""bench/alerts.py's clients: reps and visitors on raw WebSockets, each with
a reading task that stamps ``time.perf_counter()`` the moment a frame is
handed over and does nothing else on the hot path (an optional hook, a
prefix test, an append). Every client lives on the bench's one asyncio loop.

Limits: waits for an expected message stop after :data:`WAIT_S` (then the
caller reports the round as incomplete instead of hanging).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from desklink.testing import LOGIN_RETRIES, ServerProcess

pc = time.perf_counter

# Server messages are encoded with "t" first, so a prefix test tells the
# type of a frame without decoding it on the hot path.
ALERT = '{"t":"alert",'
WITHDRAWN = '{"t":"alert.withdrawn",'
ACCEPTED = '{"t":"accepted",'
ERROR = '{"t":"error",'
ENDED = '{"t":"ended",'
CHAT = '{"t":"chat",'

#: Upper bound for waiting on any one expected event (a round that does not
#: complete within it is reported as incomplete instead of hanging the run).
WAIT_S = 30.0


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

"""Helpers for driving a real DeskLink server: used by the test suite and by
``bench/``, and useful for anyone scripting against a server.

:class:`ServerProcess` runs ``desklink serve`` as a child process on a free
loopback port with its own data directory and stops it by PID.
:class:`RepClient` and :class:`VisitorClient` are real WebSocket clients that
speak the wire protocol (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import collections
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import websockets

from desklink.testing_x import stop_process

T = TypeVar("T")

#: Cheaper Argon2id for test and bench accounts (still real Argon2id): the
#: defaults cost ~60 ms and 64 MiB per hash, which would dominate a run that
#: logs in a thousand reps. Never use these in production.
FAST_HASH_ENV = {"DESKLINK_ARGON2_TIME_COST": "1", "DESKLINK_ARGON2_MEMORY_KIB": "1024"}

#: Every test client comes from 127.0.0.1, and a test module drives dozens of
#: reps and one admin account as fast as it can: the limits per client
#: address and per account are lifted for servers whose tests are not about
#: them (those set their own).
ONE_ADDRESS_ENV = {
    "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "100000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_IP": "1000000",
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_ACCOUNT": "1000000",
    "DESKLINK_PAGE_REQUESTS_PER_MINUTE_PER_IP": "1000000",
    "DESKLINK_OFFLINE_MESSAGES_PER_IP": "100000",
}


async def wait_until(check: Callable[[], object], timeout: float = 10.0, what: str = "the condition") -> None:
    """Wait until ``check()`` is true, looking every 20 ms; ``TimeoutError``
    naming ``what`` after ``timeout`` seconds. For tests: wait for a state,
    never for a fixed time."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def poll_until(
    check: Callable[[], T | None | bool],
    timeout: float = 10.0,
    what: str = "the condition",
    *,
    interval: float = 0.05,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """The blocking twin of :func:`wait_until`, for tests that drive X
    programs or a synchronous browser: call ``check`` every ``interval``
    seconds until it returns something truthy, and return that;
    ``TimeoutError`` naming ``what`` after ``timeout`` seconds. ``sleep``
    is how to wait in between (a Playwright page passes its own, so the
    page keeps delivering events)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: Test nodes stop (SIGTERM) without the drain's notice to balancers (a
#: test that drains sets it: tests/integration/test_drain.py, tests/deploy/).
QUICK_STOP_ENV = {"DESKLINK_DRAIN_NOTICE_S": "0.01"}


class ServerProcess:
    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        log_level: str = "warning",
    ) -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="desklink-")
        self.data_dir = data_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        #: The scraper's token for ``GET /metrics`` (``metrics_token``);
        #: each server gets its own unless the test sets one.
        self.metrics_token = secrets.token_urlsafe(24)
        self.env = {
            **os.environ, **FAST_HASH_ENV, **QUICK_STOP_ENV, "PYTHONUNBUFFERED": "1", "DESKLINK_METRICS_TOKEN": self.metrics_token,
            **(env or {}),
        }
        self.metrics_token = self.env["DESKLINK_METRICS_TOKEN"]
        self.log_level = log_level
        self.proc: subprocess.Popen[str] | None = None
        self.admin_password = ""
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "desklink", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        cmd += ["--log-level", self.log_level]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited during start:\n" + "".join(self.output))
            self.output.append(line)
            m = re.search(r"password: (\S+)", line)
            if m:
                self.admin_password = m.group(1)
            if "DeskLink on" in line:
                break
        self._drain()
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not become healthy:\n" + "".join(self.output))

    @property
    def metrics_headers(self) -> dict[str, str]:
        """What a Prometheus scraper sends: ``Authorization: Bearer <metrics_token>``."""
        return {"Authorization": f"Bearer {self.metrics_token}"}

    def metrics(self) -> str:
        """This node's ``/metrics`` text, read as a scraper reads it."""
        r = httpx.get(self.url + "/metrics", headers=self.metrics_headers, timeout=10)
        r.raise_for_status()
        return r.text

    def _drain(self) -> None:
        import threading

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            if getattr(self, "_pump", None) is not None:
                self._pump.join(5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------- accounts
    def login(self, username: str, password: str) -> tuple[httpx.Client, str]:
        client = httpx.Client(base_url=self.url, timeout=30)
        r = client.post("/api/auth/login", json={"username": username, "password": password})
        r.raise_for_status()
        csrf = r.json()["csrf"]
        client.headers["X-CSRF-Token"] = csrf
        return client, csrf

    def admin(self) -> httpx.Client:
        client, _ = self.login("admin", self.admin_password)
        return client


def admin_center(page: Any, server: ServerProcess, view: str) -> None:
    """Sign a Playwright ``page`` in to the admin center as the first-run
    admin and open the view named by its nav button (``sessions``, ``queues``...)."""
    page.goto(server.url + "/admin")
    page.get_by_test_id("username").fill("admin")
    page.get_by_test_id("password").fill(server.admin_password)
    page.get_by_test_id("login").click()
    page.get_by_test_id(f"nav-{view}").click()

class CuttableProxy:
    """A TCP relay on loopback whose live connections can be cut at once,
    like a network drop, while new connections still get through."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self.server: asyncio.Server | None = None
        #: Connections whose traffic is swallowed without a close, like a
        #: network that went silent (a laptop lid, a pulled cable).
        self.frozen: set[int] = set()
        #: Bytes relayed towards the server (up) and towards the client (down).
        self.up_bytes = 0
        self.down_bytes = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            try:
                while data := await src.read(65536):
                    if number in self.frozen:
                        continue
                    if up:
                        self.up_bytes += len(data)
                    else:
                        self.down_bytes += len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def freeze(self) -> None:
        """Every live connection goes silent both ways; none is closed."""
        self.frozen.update(range(1, self.connections + 1))

    def cut(self) -> None:
        """Every live connection drops at once (new ones still get through)."""
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()

    def via(self) -> ServerProcess:
        """A stand-in server whose ``url`` goes through this proxy."""
        stand_in = ServerProcess.__new__(ServerProcess)
        stand_in.url = f"http://127.0.0.1:{self.port}"
        return stand_in

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class AdminAPI:
    """A logged-in admin, for setting up users and queues in tests and benches."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.http = server.admin()

    def close(self) -> None:
        self.http.close()

    def queue(self, slug: str, origins: list[str] | None = None) -> dict[str, Any]:
        for q in self.http.get("/api/admin/queues").json()["queues"]:
            if q["slug"] == slug:
                if origins is not None:
                    r = self.http.patch(f"/api/admin/queues/{q['id']}", json={"allowed_origins": origins})
                    r.raise_for_status()
                    return dict(r.json()["queue"])
                return dict(q)
        r = self.http.post("/api/admin/queues", json={"slug": slug, "name": slug.title(), "allowed_origins": origins or []})
        r.raise_for_status()
        return dict(r.json()["queue"])

    def user(self, username: str, password: str, role: str = "rep", display_name: str = "") -> dict[str, Any]:
        r = self.http.post(
            "/api/admin/users",
            json={"username": username, "password": password, "role": role, "display_name": display_name or username},
        )
        r.raise_for_status()
        return dict(r.json()["user"])

    def members(self, queue_id: int, user_ids: list[int]) -> None:
        self.http.put(f"/api/admin/queues/{queue_id}/members", json={"user_ids": user_ids}).raise_for_status()

    def join_session_queue(self, session_id: str, user_id: int) -> None:
        """Make ``user_id`` a member of the queue ``session_id`` came through
        (a supervisor watches only sessions of their queues)."""
        slug = self.http.get(f"/api/sessions/{session_id}").json()["queue"]["slug"]
        q = self.queue(slug)
        self.members(q["id"], [*q["members"], user_id])

    def reps(self, count: int, queue_slug: str = "support", prefix: str = "rep") -> list[tuple[str, str]]:
        """Create ``count`` reps in the queue; returns (username, password) pairs."""
        q = self.queue(queue_slug)
        creds, ids = [], list(q["members"])
        for i in range(count):
            name, pw = f"{prefix}{i}", "pw-" + secrets.token_hex(8)
            ids.append(self.user(name, pw, display_name=f"Rep {i}")["id"])
            creds.append((name, pw))
        self.members(q["id"], ids)
        return creds


# ---------------------------------------------------------------- sockets
class _Client:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        #: Every message received, in order.
        self.received: list[dict[str, Any]] = []
        #: Received but not yet returned by :meth:`expect`.
        self._unclaimed: list[dict[str, Any]] = []
        #: The server's ``welcome`` (set by ``connect``/``open``).
        self.welcome: dict[str, Any] = {}

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next message off the socket (bypassing anything unclaimed)."""
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        msg: dict[str, Any] = json.loads(raw)
        self.received.append(msg)
        return msg

    async def expect(self, t: str | tuple[str, ...], timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first message of type ``t`` (or of any type in a tuple), with
        matching fields, whether it already arrived or is still to come. Other
        messages stay unclaimed for later calls, so the order in which a test
        asks does not matter."""
        types = (t,) if isinstance(t, str) else t

        def fits(msg: dict[str, Any]) -> bool:
            return msg.get("t") in types and all(msg.get(k) == v for k, v in match.items())

        for i, msg in enumerate(self._unclaimed):
            if fits(msg):
                return self._unclaimed.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {t} {match} within {timeout}s; got {[m.get('t') for m in self.received[-10:]]}")
            msg = await self.recv(remaining)
            if fits(msg):
                return msg
            self._unclaimed.append(msg)

    async def close(self) -> None:
        await self.ws.close()


#: How often a helper login tries again after a 429 (the server's password
#: pool is full, or more logins from this address are in flight than the
#: address limit): many reps logging in at once from one test process.
LOGIN_RETRIES = 20


async def login_retrying(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Log in, waiting out 429 answers as ``Retry-After`` says (a burst of
    logins from one address is checked at most ``login_attempts_per_ip`` at
    a time, and the password pool queues at most ``argon2_max_waiting``)."""
    for _ in range(LOGIN_RETRIES):
        r = await http.post("/api/auth/login", json={"username": username, "password": password})
        if r.status_code != 429:
            break
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
    r.raise_for_status()
    return r


class RepClient(_Client):
    @classmethod
    async def connect(cls, server: ServerProcess, username: str, password: str, *, online: bool = True) -> RepClient:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await login_retrying(http, username, password)
            cookie = r.cookies["dl_session"]
        ws = await websockets.connect(
            server.ws_url + "/ws/rep", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"}  # type: ignore[arg-type]
        )
        client = cls(ws)
        await client.send({"t": "hello", "resume": {}})
        client.welcome = await client.expect("welcome")
        if online:
            await client.send({"t": "presence", "status": "online"})
            await client.expect("presence", status="online")
        return client


class BoardClient(_Client):
    """A live board socket (``/ws/board``) of a supervisor or admin."""

    board: dict[str, Any]

    @classmethod
    async def connect(cls, server: ServerProcess, username: str, password: str) -> BoardClient:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await login_retrying(http, username, password)
            cookie = r.cookies["dl_session"]
        ws = await websockets.connect(
            server.ws_url + "/ws/board", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"},  # type: ignore[arg-type]
            max_size=2**24,
        )
        client = cls(ws)
        client.welcome = client.board = await client.expect("board")
        return client

    async def wait_board(
        self, check: Callable[[dict[str, Any]], object], timeout: float = 10.0, what: str = "the board"
    ) -> dict[str, Any]:
        """The first snapshot, from the newest received on, for which
        ``check`` is true (:attr:`board` is the newest received)."""
        boards = [m for m in self._unclaimed if m.get("t") == "board"]
        self._unclaimed = [m for m in self._unclaimed if m.get("t") != "board"]
        if boards:
            self.board = boards[-1]
        if check(self.board):
            return self.board
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what} not seen within {timeout}s; last board: {self.board}")
            msg = await self.recv(remaining)
            if msg.get("t") != "board":
                self._unclaimed.append(msg)
                continue
            self.board = msg
            if check(msg):
                return msg


class VisitorClient(_Client):
    request_id: str
    token: str

    @classmethod
    async def submit(
        cls, server: ServerProcess, *, queue: str = "support", name: str = "Visitor", question: str = "Help me please",
        origin: str | None = None, email: str = "",
    ) -> VisitorClient:
        origin = origin or server.url
        async with httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Origin": origin}) as http:
            r = await http.post("/api/visitor/requests", json={"queue": queue, "name": name, "question": question, "email": email})
            r.raise_for_status()
            data = r.json()
        client = await cls.open(server, data["request_id"], data["token"], origin=origin)
        return client

    @classmethod
    async def open(cls, server: ServerProcess, request_id: str, token: str, *, origin: str | None = None, last_seq: int = 0) -> VisitorClient:
        ws = await websockets.connect(f"{server.ws_url}/ws/visitor?request={request_id}", origin=origin or server.url)  # type: ignore[arg-type]
        client = cls(ws)
        client.request_id, client.token = request_id, token
        await client.send({"t": "hello", "token": token, "last_seq": last_seq})
        client.welcome = await client.expect("welcome")
        return client



async def ended_session(server: ServerProcess, rep: RepClient, queue: str, name: str, email: str, said: str,
                        disposition: str) -> str:
    """A whole chat session through the real sockets: a visitor asks in
    ``queue``, ``rep`` accepts, the visitor says ``said``, the rep ends it with
    ``disposition``. Returns the session id (the visitor is closed)."""
    visitor = await VisitorClient.submit(server, queue=queue, name=name, email=email)
    try:
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = str((await rep.expect("accepted"))["session"]["id"])
        await visitor.send({"t": "chat.send", "cid": "a", "text": "hello"})
        await visitor.send({"t": "chat.send", "cid": "b", "text": said})
        await rep.expect("chat", cid="b")
        await rep.send({"t": "end", "session_id": sid, "disposition": disposition, "note": ""})
        await visitor.expect("ended")
        return sid
    finally:
        await visitor.close()


class ViewerClient:
    """A rep's screen viewer in Python: applies every frame to a reference
    :class:`~desklink.agent.encode.canvas.Canvas` and acknowledges it, as the
    browser viewer does. Runs its reader as a task; call :meth:`close`."""

    def __init__(self, ws: Any) -> None:
        from desklink.agent.encode.canvas import Canvas

        self.ws = ws
        self.canvas = Canvas()
        self.states: list[dict[str, Any]] = []
        self.frames = 0
        self.key_frames = 0
        self.refine_frames = 0
        self.rects_by_encoding: collections.Counter[str] = collections.Counter()  # rectangles by encoding name
        self.palette_forms: collections.Counter[int] = collections.Counter()  # PALETTE rectangles by form (0x80 off)
        self.frame_bytes = 0
        self.last_frame_at = 0.0
        self.arrivals: list[tuple[float, int, int]] = []  # (time, seq, bytes)
        self.cursor: Any = None  # the last cursor shape message
        self.video: list[Any] = []  # video chunks (browser shares), as parsed
        self.encodings: list[frozenset[int]] = []  # per frame: its rectangles' encoding bytes
        self.video_boxes: list[tuple[int, int, int, int]] = []  # (x, y, w, h) of each H.264 rectangle
        self.pointer: tuple[int, int] | None = None
        self.latency_ms: float | None = None
        self.errors: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.clipboard: str | None = None
        self.ack = True
        self._control_seen = 0
        self._errors_seen = 0
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, server: ServerProcess, username: str, password: str, session_id: str) -> ViewerClient:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await login_retrying(http, username, password)
            cookie = r.cookies["dl_session"]
        ws = await websockets.connect(
            f"{server.ws_url}/ws/viewer?session={session_id}", origin=server.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"dl_session={cookie}"}, max_size=2**23,
        )
        return cls(ws)

    async def _read(self) -> None:
        from desklink.protocol import screen

        try:
            async for raw in self.ws:
                if isinstance(raw, bytes):
                    msg = screen.decode(raw[1:], 2**23)
                    if isinstance(msg, (screen.VideoChunk, screen.Frame)):
                        if isinstance(msg, screen.VideoChunk):  # a browser share: counted and acked, not decoded
                            self.video.append(msg)
                        else:
                            self.canvas.apply(msg)
                            self.key_frames += msg.key
                            self.refine_frames += bool(msg.flags & screen.FLAG_REFINE)
                            self.rects_by_encoding.update(r.enc.name for r in msg.rects)
                            self.palette_forms.update(r.payload[0] & 0x7F for r in msg.rects if r.enc is screen.Enc.PALETTE)
                            self.encodings.append(frozenset(int(r.enc) for r in msg.rects))
                            self.video_boxes += [(r.x, r.y, r.w, r.h) for r in msg.rects if r.enc is screen.Enc.H264]
                        self.frames += 1
                        self.frame_bytes += len(raw)
                        self.last_frame_at = time.monotonic()
                        self.arrivals.append((self.last_frame_at, msg.seq, len(raw)))
                        if self.ack:
                            await self.ws.send(json.dumps({"t": "screen.ack", "seq": msg.seq}))
                    elif isinstance(msg, screen.Cursor):
                        self.cursor, self.pointer = msg, (msg.x, msg.y)
                    else:
                        self.pointer = (msg.x, msg.y)
                else:
                    data = json.loads(raw)
                    if data.get("t") == "screen.state":
                        self.states.append(data)
                    elif data.get("t") == "screen.stats":
                        self.latency_ms = float(data["rtt_ms"])
                    elif data.get("t") == "error":
                        self.errors.append(data)
                    elif data.get("t") == "annotate":
                        self.annotations.append(data)
                    elif data.get("t") == "clipboard":
                        self.clipboard = str(data["text"])
                self._changed.set()
        except websockets.ConnectionClosed:
            pass  # closed by the server (ws.close_code says how) or by close()
        finally:
            self._changed.set()

    @property
    def status(self) -> str:
        return str(self.states[-1]["status"]) if self.states else ""

    async def wait_status(self, status: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while self.status != status:
            if self._task.done():
                raise ConnectionError(f"viewer closed while waiting for {status}; states {[s['status'] for s in self.states]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"viewer status {self.status!r}, wanted {status!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.states[-1]

    async def wait_control(self, control: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first screen.state (already received or still to come) whose
        ``control`` is ``control``, after the last one returned."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._control_seen, len(self.states)):
                if self.states[i].get("control") == control:
                    self._control_seen = i + 1
                    return self.states[i]
            if time.monotonic() > deadline:
                raise TimeoutError(f"control never became {control!r}: {[s.get('control') for s in self.states]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.2)
            except TimeoutError:
                pass

    async def settle(self, quiet_s: float = 1.0, timeout: float = 30.0) -> None:
        """Wait until frames stop arriving for ``quiet_s`` (refinement done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.frames and time.monotonic() - self.last_frame_at >= quiet_s:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the picture did not settle")

    async def expect_error(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next ``error`` after the last one this returned."""
        seen = self._errors_seen
        await wait_until(lambda: len(self.errors) > seen or self._task.done(), timeout, "an error message")
        if len(self.errors) <= seen:
            raise ConnectionError("viewer closed while waiting for an error")
        self._errors_seen = seen + 1
        return self.errors[seen]

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class Authenticator:
    """An authenticator app for tests: TOTP codes (RFC 6238) for ``secret``.

    The server accepts each step's code once per user, for the current step
    and one either side; :meth:`code` hands out the code of a step in that
    range that this authenticator has not used yet, waiting for the clock to
    reach a new step when all are used (at most one step, 30 s)."""

    def __init__(self, secret: str) -> None:
        import pyotp

        self.totp = pyotp.TOTP(secret)
        self.used: set[int] = set()

    def code(self) -> str:
        while True:
            now = time.time()
            step = self.totp.timecode(int(now))
            # The previous step's code stays valid until this step ends.
            earlier = (step - 1,) if (step + 1) * self.totp.interval - now > 10 else ()
            for candidate in (step, step + 1, *earlier):
                if candidate not in self.used:
                    self.used.add(candidate)
                    return str(self.totp.generate_otp(candidate))
            time.sleep(0.2)

    def wrong_code(self) -> str:
        """Six digits that are none of the codes the server accepts now."""
        now = int(time.time())
        step = self.totp.timecode(now)
        valid = {self.totp.generate_otp(step + d) for d in (-2, -1, 0, 1, 2)}
        return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)


@contextlib.contextmanager
def web_and_relays(
    database_url: str, redis_url: str, broker_prefix: str, relay_secret: str, data_dir: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, ServerProcess]]:
    """One ``--role web`` node (``web-1``) and two ``--role relay`` nodes
    (``relay-1``, ``relay-2``) on one database and Redis, relays beating every
    0.2 s and dropping out of the choice 1 s after their last beat (so a
    killed relay is replaced quickly); all three stopped on exit."""
    env = {
        "DESKLINK_DATABASE_URL": database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": broker_prefix,
        "DESKLINK_RELAY_SECRET": relay_secret,
        "DESKLINK_RELAY_HEARTBEAT_S": "0.2",
        "DESKLINK_RELAY_STALE_S": "1",
    }
    web = ServerProcess(env={**env, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": "web-1"}, data_dir=data_dir / "w")
    one = ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-1"}, data_dir=data_dir / "1")
    two = ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": "relay-2"}, data_dir=data_dir / "2")
    with web, one, two:
        yield web, one, two

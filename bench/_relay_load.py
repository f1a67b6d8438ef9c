"""bench/relay.py's load: synthetic screen sessions, each a sender (the
agent) pushing fixed-size frames at a fixed rate with at most ``window``
unacknowledged, and a receiver (the rep's viewer) that time-stamps each
frame and acknowledges it at once, as the browser does after drawing.

Two kinds of session carry the same traffic:

* ``desklink``: the agent on ``/ws/agent?token=`` of a relay node (hello
  with the join code, consent, ``screen.info``), frames as binary screen
  messages (one JPEG rectangle, a key frame each, so no frame waits for a
  key), the viewer on ``/ws/viewer?session=&token=`` with the rep's cookie,
  acks as ``screen.ack {seq}`` which the relay passes back to the agent;
* ``websockify``: the agent a WebSocket client of websockify (binary
  subprotocol), the viewer a plain TCP socket websockify forwards to (the
  worker's own sink), reading fixed-size frames and answering each with a
  4-byte sequence number that websockify carries back to the agent.

``capture_us`` in each frame is ``time.monotonic_ns() // 1000`` at send;
the receiver subtracts it from its own monotonic clock (one clock on one
machine). A worker process holds both ends of its sessions on one asyncio
loop; the coordinator talks to it over a pipe (``add``, ``measure``,
``stop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import struct
import time
from multiprocessing.connection import Connection
from typing import Any

import websockets

from desklink.protocol import screen

#: The screen the synthetic agent claims: small, so one JPEG rectangle of
#: any size is a valid key frame (the relay parses headers, not pixels).
SIDE = 64
_FRAME_HEAD = struct.Struct(">BBIQHHH")
_WFY_HEAD = struct.Struct(">IQ")  # websockify frames: seq, capture_us
_PING_S = 1.5  # below the agent's ping interval (2 s)
_OPEN_S = 60.0


def now_us() -> int:
    return time.monotonic_ns() // 1000


class Stats:
    """What a worker's sessions did since the last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lat: list[float] = []  # seconds, send -> receive
        self.sent = 0
        self.received = 0
        self.window_full = 0  # ticks with no frame sent: the window was full
        self.bytes = 0
        self.closed = 0
        self.t0 = time.monotonic()


class Session:
    """One sender and one receiver; the sender ticks at ``fps``."""

    def __init__(self, stats: Stats, frame_bytes: int, fps: float, window: int) -> None:
        self.stats = stats
        self.frame_bytes = frame_bytes
        self.fps = fps
        self.window = window
        self.seq = 0
        self.acked = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.payload = os.urandom(frame_bytes)

    async def run_sender(self) -> None:
        period = 1.0 / self.fps
        nxt = time.monotonic() + random.random() * period  # spread the sessions over the period
        st = self.stats
        while True:
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            nxt += period
            if self.seq - self.acked >= self.window:
                st.window_full += 1
                continue
            self.seq += 1
            await self.send_frame(self.seq)
            st.sent += 1

    async def send_frame(self, seq: int) -> None:
        raise NotImplementedError

    def arrived(self, capture_us: int, nbytes: int) -> None:
        st = self.stats
        st.lat.append((now_us() - capture_us) / 1e6)
        st.received += 1
        st.bytes += nbytes

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(BaseException):
                await t


class DeskLinkSession(Session):
    """Agent and viewer on a DeskLink relay node."""

    async def open(self, spec: dict[str, Any]) -> None:
        relay, ws_relay = spec["relay_url"], spec["relay_url"].replace("http://", "ws://")
        opts: dict[str, Any] = {"proxy": None, "ping_interval": None, "open_timeout": _OPEN_S, "max_size": 2**22}
        self.viewer = await websockets.connect(
            f"{ws_relay}/ws/viewer?session={spec['session']}&token={spec['viewer_token']}", origin=relay,
            additional_headers={"Cookie": f"dl_session={spec['cookie']}"}, **opts,
        )
        self.agent = await websockets.connect(f"{ws_relay}/ws/agent?token={spec['agent_token']}", **opts)
        await self.agent.send(json.dumps({"t": "hello", "code": spec["code"], "version": "bench", "platform": "bench"}))
        await _until(self.agent, lambda m: m.get("t") == "welcome")
        await self.agent.send(json.dumps({"t": "consent", "view": True}))
        await self.agent.send(json.dumps({"t": "screen.info", "selected": 1,
                                          "monitors": [{"index": 1, "width": SIDE, "height": SIDE, "primary": True}]}))
        await _until(self.viewer, lambda m: m.get("t") == "screen.state" and m.get("status") == "sharing")
        rect = struct.pack(">HHHHBI", 0, 0, SIDE, SIDE, screen.Enc.JPEG, 0)
        overhead = 1 + _FRAME_HEAD.size + len(rect)
        self.body = struct.pack(">HHHHBI", 0, 0, SIDE, SIDE, screen.Enc.JPEG, self.frame_bytes - overhead)
        self.body += self.payload[: self.frame_bytes - overhead]
        self.tasks = [asyncio.create_task(f()) for f in (self.read_agent, self.read_viewer, self.run_sender, self.ping)]

    async def send_frame(self, seq: int) -> None:
        head = _FRAME_HEAD.pack(screen.KIND_FRAME, screen.FLAG_KEY, seq, now_us(), SIDE, SIDE, 1)
        await self.agent.send(b"\x02" + head + self.body)

    async def ping(self) -> None:
        while True:
            await asyncio.sleep(_PING_S)
            await self.agent.send('{"t":"ping"}')

    async def read_agent(self) -> None:
        try:
            async for raw in self.agent:
                if isinstance(raw, str) and raw.startswith('{"t":"screen.ack"'):
                    self.acked = max(self.acked, int(json.loads(raw)["seq"]))
        finally:
            self.stats.closed += 1

    async def read_viewer(self) -> None:
        ws = self.viewer
        async for raw in ws:
            if isinstance(raw, bytes) and len(raw) > _FRAME_HEAD.size and raw[1] == screen.KIND_FRAME:
                _, _, seq, cap, _, _, _ = _FRAME_HEAD.unpack_from(raw, 1)
                self.arrived(cap, len(raw))
                await ws.send('{"t":"screen.ack","seq":%d}' % seq)

    async def close(self) -> None:
        await super().close()
        for ws in (getattr(self, "agent", None), getattr(self, "viewer", None)):
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 5)


class WebsockifySession(Session):
    """Agent as websockify's WebSocket client, viewer as its TCP target."""

    async def open(self, spec: dict[str, Any], sink: Sink) -> None:
        fut = sink.expect()
        self.agent = await websockets.connect(spec["url"], subprotocols=["binary"], proxy=None,  # type: ignore[list-item]
                                              ping_interval=None, open_timeout=_OPEN_S, compression=None)
        self.reader, self.writer = await asyncio.wait_for(fut, _OPEN_S)
        self.body = self.payload[: self.frame_bytes - _WFY_HEAD.size]
        self.tasks = [asyncio.create_task(f()) for f in (self.read_agent, self.read_viewer, self.run_sender)]

    async def send_frame(self, seq: int) -> None:
        await self.agent.send(_WFY_HEAD.pack(seq, now_us()) + self.body)

    async def read_agent(self) -> None:
        try:
            async for raw in self.agent:
                if isinstance(raw, bytes) and len(raw) >= 4:
                    self.acked = max(self.acked, struct.unpack_from(">I", raw, len(raw) - 4)[0])
        finally:
            self.stats.closed += 1

    async def read_viewer(self) -> None:
        while True:
            data = await self.reader.readexactly(self.frame_bytes)
            seq, cap = _WFY_HEAD.unpack_from(data)
            self.arrived(cap, len(data))
            self.writer.write(struct.pack(">I", seq))

    async def close(self) -> None:
        await super().close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.agent.close(), 5)
        with contextlib.suppress(Exception):
            self.writer.close()


class Sink:
    """The worker's TCP server websockify forwards to; connections are
    handed to sessions in the order they arrive (one open at a time)."""

    def __init__(self) -> None:
        self.waiting: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.on_connect, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def expect(self) -> asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        self.waiting = asyncio.get_running_loop().create_future()
        return self.waiting

    async def on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.waiting is None or self.waiting.done():
            writer.close()
            return
        self.waiting.set_result((reader, writer))


async def _until(ws: Any, pred: Any, timeout: float = _OPEN_S) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, end - time.monotonic()))
        if isinstance(raw, str):
            msg: dict[str, Any] = json.loads(raw)
            if msg.get("t") == "error":
                raise RuntimeError(f"refused: {msg}")
            if pred(msg):
                return msg


async def _add(kind: str, specs: list[dict[str, Any]], stats: Stats, sessions: list[Session], sink: Sink,
               concurrency: int, shape: tuple[int, float, int]) -> list[str]:
    """Open ``specs`` as sessions of ``kind`` (websockify's one at a time:
    the sink pairs TCP connections with sessions in order); returns the errors."""
    errors: list[str] = []
    sem = asyncio.Semaphore(1 if kind == "websockify" else concurrency)

    async def one(spec: dict[str, Any]) -> None:
        async with sem:
            try:
                if kind == "desklink":
                    s: Session = DeskLinkSession(stats, *shape)
                    sessions.append(s)
                    await s.open(spec)
                else:
                    w = WebsockifySession(stats, *shape)
                    sessions.append(w)
                    await w.open(spec, sink)
            except Exception as exc:  # reported and counted; the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(one(s) for s in specs))
    return errors


async def _serve(conn: Connection, frame_bytes: int, fps: float, window: int, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    sessions: list[Session] = []
    sink = Sink()
    conn.send(("sink", await sink.start()))
    try:
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd[0] == "stop":
                break
            if cmd[0] == "add":
                conn.send(("added", await _add(cmd[1], cmd[2], stats, sessions, sink, concurrency, (frame_bytes, fps, window))))
            elif cmd[0] == "measure":
                await asyncio.sleep(cmd[1])
                stats.reset()
                await asyncio.sleep(cmd[2])
                conn.send(("measured", {"lat": stats.lat, "sent": stats.sent, "received": stats.received,
                                        "window_full": stats.window_full, "bytes": stats.bytes, "closed": stats.closed,
                                        "seconds": time.monotonic() - stats.t0}))
            elif cmd[0] == "close":
                await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
                sessions.clear()
                stats.reset()
                stats.closed = 0
                conn.send(("closed",))
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


def worker(conn: Connection, frame_bytes: int, fps: float, window: int, concurrency: int) -> None:
    """A load process (``multiprocessing`` target)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(_serve(conn, frame_bytes, fps, window, concurrency))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            conn.send(("failed", repr(exc)))
        raise

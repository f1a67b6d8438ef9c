"""Graceful drain: how a node leaves a balanced cluster without losing a word.

``SIGTERM`` (what systemd, docker and Kubernetes send to stop a process) puts
the node in *draining*, in this order:

1. ``ctx.draining`` becomes true: ``/readyz`` answers 503 at once, so a
   balancer that probes it (HAProxy, Kubernetes) stops sending new clients.
2. New WebSocket handshakes are refused with HTTP 503 before they are
   accepted (:class:`DrainGate`): a balancer that retries on 503 (nginx's
   ``proxy_next_upstream http_503``, HAProxy's ``retry-on 503``) passes them
   on to another node, and a client that got the refusal retries as after any
   failed attempt.
3. Every open socket is closed, after what is already queued for it, with
   close code 4503 (``codes.CLOSE_RECONNECT``, "reconnect now"): the help box,
   the console and the viewer reconnect through the balancer at once and
   resume from their last ``seq``; chat lines are stored before they are sent
   to anyone, so nothing is lost, and a line is kept once per ``cid``, so
   nothing is doubled.
4. The node keeps listening (answering 503 as above) for ``drain_notice_s``
   even once its sockets are gone, so that balancers' health checks see it
   leave before it stops answering (HAProxy probes every second and takes a
   node out after two failures; Kubernetes removes an endpoint a moment after
   the pod turned unready).
5. Once no socket is left and the notice has passed, or once
   ``drain_timeout_s`` has passed whatever is left, uvicorn's own
   shutdown runs: it stops listening, gives requests in flight at most
   ``drain_timeout_s`` again, and the lifespan flushes the audit log. The
   process then exits with status 0.

A second ``SIGTERM``, or ``SIGINT`` (Ctrl-C), skips the wait: uvicorn's
shutdown starts at once, as before draining existed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from desklink.protocol import codes
from desklink.server.connection import Connection
from desklink.server.context import Context

log = logging.getLogger(__name__)

#: How often the drain looks whether its sockets are gone, seconds.
DRAIN_POLL_S = 0.05


def begin_drain(ctx: Context) -> int:
    """Mark the node draining and tell every open socket to reconnect
    elsewhere; returns how many sockets were told."""
    ctx.draining = True
    live = tuple(Connection.live)
    for conn in live:
        conn.close_soon(codes.CLOSE_RECONNECT, "node draining: reconnect")
    return len(live)


async def drain(ctx: Context, timeout_s: float, notice_s: float = 0.0) -> int:
    """Drain, and wait until every socket is gone and ``notice_s`` passed,
    or until ``timeout_s`` passed; returns how many sockets were still open
    at the end."""
    told = begin_drain(ctx)
    log.warning("draining: told %d sockets to reconnect elsewhere (at most %.1f s)", told, timeout_s)
    start = time.monotonic()
    deadline, notice_end = start + timeout_s, start + notice_s
    while (Connection.live or time.monotonic() < notice_end) and time.monotonic() < deadline:
        # Sockets that raced the flag (accepted, not yet live) are told too.
        for conn in tuple(Connection.live):
            conn.close_soon(codes.CLOSE_RECONNECT, "node draining: reconnect")
        await asyncio.sleep(DRAIN_POLL_S)
    if time.monotonic() >= deadline:
        log.warning("draining: drain_timeout_s (%.1f s) passed with %d sockets open; stopping", timeout_s, len(Connection.live))
    return len(Connection.live)


class DrainGate:
    """Refuses WebSocket handshakes while the node drains: HTTP 503 with
    ``Retry-After`` where the server can answer a handshake with a response
    (the ASGI ``websocket.http.response`` extension, which uvicorn offers),
    else an accepted socket closed at once with 4503. HTTP requests still
    pass: a page or an API call finishes on a draining node."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            ctx = getattr(scope["app"].state, "ctx", None)
            if ctx is not None and ctx.draining:
                await _refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = b"this node is draining: connect again\n"
        await send({
            "type": "websocket.http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"text/plain"), (b"retry-after", b"1"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": codes.CLOSE_RECONNECT, "reason": "node draining: reconnect"})


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with ``SIGTERM`` turned into a drain first (above).
    ``app`` is the DeskLink app, whose ``state.ctx`` exists once its lifespan
    has started."""

    def __init__(self, config: uvicorn.Config, app: Any, drain_timeout_s: float, drain_notice_s: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_timeout_s = drain_timeout_s
        self.drain_notice_s = drain_notice_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def startup(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        ctx = getattr(self.app.state, "ctx", None)
        if sig != signal.SIGTERM or self._loop is None or ctx is None or ctx.draining or self.should_exit:
            super().handle_exit(sig, frame)
            return
        # A signal handler runs between two bytecodes of the loop's own
        # thread: hand the work to the loop rather than do it here.
        self._loop.call_soon_threadsafe(self._start_drain, ctx)

    def _start_drain(self, ctx: Context) -> None:
        if self._draining is None and not self.should_exit:
            self._draining = asyncio.create_task(self._drain_then_exit(ctx), name="desklink-drain")

    async def _drain_then_exit(self, ctx: Context) -> None:
        try:
            await drain(ctx, self.drain_timeout_s, self.drain_notice_s)
        finally:
            self.should_exit = True

"""The TCP side of a node: how long a client may take to send its request
headers, and how many connections one client address may hold.

uvicorn has neither bound. Its HTTP protocol (h11) starts no timer until the
first response has been sent, so a client that connects and sends nothing,
or trickles one header line a minute, holds a socket and a file descriptor
for as long as it likes; a few thousand such clients exhaust the process's
open-file limit and nobody else is answered, ``/healthz`` included. Both
bounds have to act before the ASGI app sees anything (there is no request
yet), so they live in uvicorn's protocol class, which ``uvicorn.run``
accepts as ``http=``:

* :class:`GuardedH11Protocol` is uvicorn's h11 protocol plus a timer that
  runs from the moment a connection is made, or a kept-alive connection
  receives the first byte of its next request, until that request's headers
  are complete (``header_timeout_s``). When it fires the client gets
  ``408`` with the JSON error body and the connection is closed. (Between
  requests uvicorn's own keep-alive timeout applies.)
* :class:`ConnectionGuard` counts open connections per client address
  (IPv6 by /64). A connection past ``max_connections_per_ip`` is answered
  ``429`` at once and closed, before anything is read. A connection stays
  counted after a WebSocket upgrade until its socket closes: the WebSocket
  protocol class is wrapped to release it. Connections from trusted proxies
  are not counted (every client behind the proxy shares its address); the
  proxy must bound its own clients (nginx ``limit_conn``, HAProxy ``maxconn``).

Limits: only the TCP peer is known here, never ``X-Forwarded-For``; a slow
request *body* is not timed (the per-address count bounds it); the timer
has the event loop's resolution.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from desklink.server.addresses import TrustedProxies, limit_key


def _canned(status: int, reason: str, message: str, code: str, extra: str = "") -> bytes:
    """A complete HTTP/1.1 answer with the documented JSON error body,
    written straight to the socket (there is no request to answer through
    the app)."""
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"{extra}connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ConnectionGuard:
    """Open connections per client address, and what was refused. Sans-I/O:
    the protocol classes call :meth:`open` and :meth:`close` with any
    hashable key for the connection (its transport)."""

    def __init__(self, max_per_address: int, trusted: TrustedProxies) -> None:
        self.max_per_address = max_per_address
        self.trusted = trusted
        self._owner: dict[object, str] = {}
        self._count: dict[str, int] = {}
        self.refused = 0
        self.header_timeouts = 0

    def open(self, connection: object, peer: str | None) -> bool:
        """Count a new connection from ``peer``; False (and nothing counted)
        when that address already holds the maximum."""
        if peer is None or peer in self.trusted:
            return True
        key = limit_key(peer)
        held = self._count.get(key, 0)
        if held >= self.max_per_address:
            self.refused += 1
            return False
        self._count[key] = held + 1
        self._owner[connection] = key
        return True

    def close(self, connection: object) -> None:
        """Forget a connection; safe to call more than once."""
        key = self._owner.pop(connection, None)
        if key is None:
            return
        held = self._count[key] - 1
        if held:
            self._count[key] = held
        else:
            del self._count[key]

    def held_by(self, peer: str) -> int:
        return self._count.get(limit_key(peer), 0)

    def statistics(self) -> dict[str, int]:
        return {
            "open": len(self._owner),
            "addresses": len(self._count),
            "refused": self.refused,
            "header_timeouts": self.header_timeouts,
        }


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the header timeout and the per-address
    count (see the module docstring). Use :func:`http_protocol` to get a
    class bound to a guard; uvicorn builds one instance per connection."""

    guard: ClassVar[ConnectionGuard]
    header_timeout_s: ClassVar[float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        if self.ws_protocol_class is not None:
            self.ws_protocol_class = _released_on_close(self.ws_protocol_class, self.guard)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.open(transport, self.client[0] if self.client else None):
            message = "too many connections from this address; close some and try again"
            transport.write(_canned(429, "Too Many Requests", message, "rate_limited", "retry-after: 1\r\n"))
            transport.close()
            return
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._start_header_timer()  # a kept-alive connection starts its next request
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._stop_header_timer()  # the headers are complete (or it became a WebSocket)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        try:
            super().connection_lost(exc)
        finally:
            self.guard.close(self.transport)

    def _start_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        self.guard.header_timeouts += 1
        if self.conn.our_state is h11.IDLE:
            message = f"request headers not complete within {self.header_timeout_s:g} s"
            self.transport.write(_canned(408, "Request Timeout", message, "bad_message"))
        self.transport.close()


_RELEASING: dict[tuple[type[asyncio.Protocol], int], type[asyncio.Protocol]] = {}


def _released_on_close(base: type[asyncio.Protocol], guard: ConnectionGuard) -> type[asyncio.Protocol]:
    """``base`` (uvicorn's WebSocket protocol) that hands the connection back
    to ``guard`` when its socket closes: after an upgrade the h11 protocol is
    no longer told. One class per (base, guard), made on first use."""
    key = (base, id(guard))
    made = _RELEASING.get(key)
    if made is None:

        def connection_lost(self: Any, exc: Exception | None) -> None:
            try:
                base.connection_lost(self, exc)
            finally:
                guard.close(self.transport)

        made = _RELEASING[key] = type(f"Guarded{base.__name__}", (base,), {"connection_lost": connection_lost})
    return made


def http_protocol(guard: ConnectionGuard, header_timeout_s: float) -> type[asyncio.Protocol]:
    """The class to pass to ``uvicorn.run(http=...)``."""
    return type("DeskLinkH11Protocol", (GuardedH11Protocol,), {"guard": guard, "header_timeout_s": header_timeout_s})

"""HTTP request budgets: one client must not slow everyone else down.

Each node counts, in memory, the requests of every client address (IPv6 by
/64, see :func:`~desklink.server.addresses.limit_key`) and of every
logged-in account, in token buckets (:class:`~desklink.protocol.ratelimit.KeyedBuckets`):

==========  =================================================  ==========================================
budget      counts                                             setting
==========  =================================================  ==========================================
api         ``/api/...``, ``/metrics``, ``/ws/...`` handshakes  ``api_requests_per_minute_per_ip``
page        everything else: pages, ``/static/...``            ``page_requests_per_minute_per_ip``
account     routes that need a login, per user                 ``api_requests_per_minute_per_account``
==========  =================================================  ==========================================

``/healthz`` and ``/readyz`` are exempt: load balancers probe them from a
few addresses, and they cost almost nothing. Pages and static files have
their own, larger budget because a page load fetches dozens of modules and
must never eat the API budget that the page then needs. The address budgets
are checked here, before routing, so a refused request costs no database or
broker work; the account budget is checked by the endpoint wrapper right
after it has identified the user (:func:`desklink.server.http.endpoint`).

Past a budget the answer is ``429`` with the JSON error ``rate_limited``,
``retry_after`` and a ``Retry-After`` header; a WebSocket handshake gets the
same answer instead of the upgrade. The answer comes ``refusal_delay_s``
(1 s) late: refusing is cheap but not free, and a client that fires again as
soon as it is answered would otherwise keep the event loop busy with
refusals (see ``bench/bystander.py``); held back, one connection makes at
most one request a second.

Limits: the counts are per node (a client spreading over N nodes gets N
budgets) and start afresh when the node restarts; they protect a node's
event loop, while the login, join-code and open-request limits, which must
hold across nodes, count in the broker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from desklink.config import Settings
from desklink.errors import LimitExceeded
from desklink.protocol import limits
from desklink.protocol.ratelimit import KeyedBuckets
from desklink.server.addresses import limit_key

Budget = Literal["api", "page"]

#: Probes of load balancers and supervisors: never counted.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


def budget_for(path: str) -> Budget | None:
    """Which per-address budget a request to ``path`` spends (None: exempt)."""
    if path in EXEMPT_PATHS:
        return None
    if path.startswith(("/api/", "/ws/")) or path == "/metrics":
        return "api"
    return "page"


def _buckets(per_minute: int, burst_s: float) -> KeyedBuckets:
    """``per_minute`` requests a minute, up to ``burst_s`` seconds' worth at once."""
    capacity = max(1, round(per_minute * burst_s / 60.0))
    return KeyedBuckets(capacity, capacity * 60.0 / per_minute, limits.MAX_TRACKED_CLIENTS)


class HttpLimits:
    """The node's request budgets; ``clock`` is injectable for tests."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.refusal_delay_s = settings.refusal_delay_s
        burst = settings.http_burst_s
        self.per_address: dict[Budget, KeyedBuckets] = {
            "api": _buckets(settings.api_requests_per_minute_per_ip, burst),
            "page": _buckets(settings.page_requests_per_minute_per_ip, burst),
        }
        self.per_account = _buckets(settings.api_requests_per_minute_per_account, burst)

    def charge_address(self, budget: Budget, address: str) -> float:
        """0.0 when the address may go on, else seconds until it may."""
        return self.per_address[budget].take(limit_key(address), self.clock())

    async def charge_account(self, user_id: int) -> None:
        """Spend one of the account's requests; raises ``LimitExceeded``
        (after the refusal delay) when there is none."""
        wait = self.per_account.take(str(user_id), self.clock())
        if wait:
            await asyncio.sleep(self.refusal_delay_s)
            raise LimitExceeded(f"too many requests from this account; try again in {int(wait) + 1} s", retry_after=wait)

    def statistics(self) -> dict[str, int]:
        return {
            "api_refused": self.per_address["api"].refused,
            "page_refused": self.per_address["page"].refused,
            "account_refused": self.per_account.refused,
            "tracked": sum(b.statistics()["keys"] for b in (*self.per_address.values(), self.per_account)),
        }


def too_many(wait: float, who: str = "this address") -> JSONResponse:
    """The documented 429 answer."""
    error = LimitExceeded(f"too many requests from {who}; try again in {int(wait) + 1} s", retry_after=wait)
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message, "retry_after": round(wait, 1)}},
        status_code=error.http_status,
        headers={"Retry-After": str(int(wait) + 1)},
    )


class Throttle:
    """ASGI middleware that spends the per-address budgets (see the module
    docstring). It must run inside :class:`~desklink.server.addresses.ForwardedHeaders`,
    so that ``scope["client"]`` is the real client."""

    def __init__(self, app: ASGIApp, *, limits: HttpLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        budget = budget_for(scope["path"])
        client = scope.get("client")
        wait = self.limits.charge_address(budget, client[0] if client else "unknown") if budget else 0.0
        if not wait:
            await self.app(scope, receive, send)
            return
        response = too_many(wait)
        await asyncio.sleep(self.limits.refusal_delay_s)
        if scope["type"] == "http":
            await response(scope, receive, send)
            return
        # A WebSocket handshake: answer with HTTP instead of upgrading
        # (the ASGI "websocket.http.response" extension, which uvicorn has).
        await receive()  # websocket.connect
        await send({"type": "websocket.http.response.start", "status": response.status_code, "headers": response.raw_headers})
        await send({"type": "websocket.http.response.body", "body": response.body})

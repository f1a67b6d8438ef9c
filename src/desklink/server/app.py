"""Assembles one DeskLink node: routes as explicit lists, the lifespan that
opens the store and broker, starts the hub and the sweeper, and closes them
in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from desklink.broker import open_broker
from desklink.config import Settings
from desklink.dispatch.dispatcher import Dispatcher
from desklink.protocol import codes
from desklink.server import api_admin, api_console, api_visitor, openapi, pages
from desklink.server.auth import Accounts
from desklink.server.connection import Connection
from desklink.server.context import Context, Origins
from desklink.server.addresses import ForwardedHeaders, TrustedProxies
from desklink.server.headers import SecurityHeaders
from desklink.server.http import Access, EndpointSpec, endpoint, internal_error, json_response
from desklink.server.hub import Hub
from desklink.relay.screen import Policy, Relay
from desklink.server.throttle import HttpLimits, Throttle
from desklink.server.transport import ConnectionGuard
from desklink.server.ws_agent import agent_endpoint
from desklink.server.ws_rep import rep_endpoint
from desklink.server.ws_viewer import viewer_endpoint
from desklink.server.ws_visitor import visitor_endpoint
from desklink.store import Store

log = logging.getLogger("desklink")

HTTP_HANDLERS = [*pages.ROUTES, *api_visitor.ROUTES, *api_console.ROUTES, *api_admin.ROUTES]


@endpoint("/api/openapi.json", ("GET",), Access.PUBLIC)
async def openapi_json(request: Request, ctx: Context, login: Any) -> Response:
    """This document."""
    return json_response(openapi.build(endpoint_specs()))


def endpoint_specs() -> list[EndpointSpec]:
    return [h.spec for h in [*HTTP_HANDLERS, openapi_json]]  # type: ignore[attr-defined]


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = [
        Route(h.spec.path, h, methods=list(h.spec.methods))  # type: ignore[attr-defined]
        for h in [*HTTP_HANDLERS, openapi_json]
    ]
    out += [
        WebSocketRoute("/ws/visitor", visitor_endpoint),
        WebSocketRoute("/ws/rep", rep_endpoint),
        WebSocketRoute("/ws/agent", agent_endpoint),
        WebSocketRoute("/ws/viewer", viewer_endpoint),
        Mount("/static", app=pages.PublicStatic(directory=pages.WEB_DIR), name="static"),
    ]
    return out


async def _sweeper(ctx: Context) -> None:
    while True:
        await asyncio.sleep(ctx.settings.sweep_interval_s)
        try:
            closed = await ctx.dispatcher.sweep()
            if closed:
                log.info("sweeper closed %d requests", closed)
            await ctx.store.purge_auth_sessions(datetime.now(UTC))
            ctx.relay.sweep()
        except Exception:
            log.exception("sweep failed; trying again next round")


#: Error codes for the framework's own answers (no route, wrong method).
_HTTP_CODES = {404: "not_found", 405: "bad_message"}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as the documented JSON error, not bare text."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_message")
    return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code, headers=exc.headers)


async def _unhandled(request: Request, exc: Exception) -> Response:
    """The last resort for an error outside the endpoint wrapper (which
    answers its own): JSON, never bare text. Starlette logs it as well."""
    return internal_error()


def create_app(settings: Settings) -> Starlette:
    """One node's ASGI app. ``app.state.guard`` is the node's
    :class:`ConnectionGuard`, for the HTTP protocol class the server runs
    (:func:`desklink.server.transport.http_protocol`)."""
    proxies = TrustedProxies(settings.trusted_proxies)
    limits = HttpLimits(settings)
    guard = ConnectionGuard(settings.max_connections_per_ip, proxies)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(settings.effective_database_url)
        broker = open_broker(settings.redis_url, settings.broker_prefix)
        hub = Hub(broker)
        await hub.start()
        ctx = Context(
            settings=settings,
            store=store,
            broker=broker,
            accounts=Accounts(store, broker, settings),
            dispatcher=Dispatcher(store, broker, settings),
            hub=hub,
            origins=Origins(store, settings),
            relay=Relay(
                window=settings.screen_window,
                grace_s=settings.agent_grace_s,
                policy=Policy(
                    input_events_per_s=settings.max_input_events_per_s,
                    max_strokes=settings.max_strokes,
                    annotations_per_minute=settings.annotations_per_minute,
                    max_clipboard_chars=settings.max_clipboard_chars,
                    clipboard_to_visitor=settings.clipboard_to_visitor,
                    clipboard_from_visitor=settings.clipboard_from_visitor,
                ),
            ),
            limits=limits,
            guard=guard,
        )
        await ctx.origins.refresh()
        app.state.ctx = ctx
        sweeper = asyncio.create_task(_sweeper(ctx), name="desklink-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            for conn in tuple(Connection.live):
                conn.close_soon(codes.CLOSE_GOING_AWAY, "server shutting down")
            await asyncio.sleep(0)
            await hub.stop()
            await broker.aclose()
            await store.close()

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unhandled},
    )
    # Outermost last: the forwarded headers decide the client before the
    # budgets are charged to it and the security headers read the scheme.
    app.add_middleware(Throttle, limits=limits)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ForwardedHeaders, proxies=proxies)
    app.state.guard = guard
    return app

"""Assembles one DeskLink node: routes as explicit lists, the lifespan that
opens the store and broker, starts the hub, the sweeper and the access
watcher, and closes them in reverse order. A relay node (``--role relay``)
starts only what its screen sockets need: the relay's clock, recordings,
the timeline, files to agents, the sweep of its own disk, metrics and its
heartbeat; no request sweep, access watcher or daily summary."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from desklink.admin import AdminActions
from desklink.broker import BROKER_ERRORS, open_broker
from desklink.config import Settings
from desklink.dispatch.board import MODE_CHANGING_KINDS
from desklink.dispatch.dispatcher import Dispatcher
from desklink.dispatch.handoff import Handoffs
from desklink.protocol import codes
from desklink.server import api_admin, api_canned, api_offline, api_console, api_files, api_export, api_recordings, api_reports, api_second_factor, api_visitor, downloads, openapi, pages
from desklink.server import board_view, relay_handout, relay_tickets
from desklink.server.drain import DrainGate
from desklink.server.agent_shelf import AgentShelf
from desklink.server.access import AccessWatcher, socket_notifier
from desklink.server.auth import Accounts
from desklink.server.connection import Connection
from desklink.server.daily_summary import DailySummary
from desklink.server.file_store import LocalFileStore
from desklink.server.context import Context, Origins
from desklink.server.addresses import ForwardedHeaders, TrustedProxies
from desklink.server.headers import SecurityHeaders
from desklink.server.http import Access, EndpointSpec, endpoint, internal_error, json_response
from desklink.server.hub import Hub
from desklink.server import metrics_port, sweeper
from desklink.server.logs import RequestIds
from desklink.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics, render as render_metrics
from desklink.relay import Policy, Relay
from desklink.server.deliveries import Deliveries
from desklink.server.recording_store import LocalRecordingStore
from desklink.server.recording_writer import RecordingHub
from desklink.server.relay_io import AuditWriter, pump, relay_ticker
from desklink.server.relay_nodes import RelayDirectory
from desklink.server.transfers import TransferHub
from desklink.server.throttle import HttpLimits, Throttle
from desklink.server.transport import ConnectionGuard
from desklink.server.ws_agent import agent_endpoint
from desklink.server.ws_share import share_endpoint
from desklink.server.ws_rep import rep_endpoint
from desklink.server.ws_board import board_endpoint
from desklink.server.ws_viewer import viewer_endpoint
from desklink.server.ws_visitor import visitor_endpoint
from desklink.store import Store

log = logging.getLogger("desklink")

#: At shutdown, how long the timeline's last events may take to be written.
SHUTDOWN_AUDIT_S = 2.0

HTTP_HANDLERS = [
    *pages.ROUTES,
    *api_visitor.ROUTES,
    *api_console.ROUTES,
    *api_admin.ROUTES,
    *api_second_factor.ROUTES,
    *downloads.ROUTES,
    *api_files.ROUTES,
    *api_recordings.ROUTES,
    *api_export.ROUTES,
    *api_reports.ROUTES,
    *api_canned.ROUTES,
    *api_offline.ROUTES,
    *board_view.ROUTES,
    *relay_handout.ROUTES,
    *relay_tickets.ROUTES,
]


@endpoint("/api/openapi.json", ("GET",), Access.PUBLIC)
async def openapi_json(request: Request, ctx: Context, login: Any) -> Response:
    """This document."""
    return json_response(openapi.build(endpoint_specs()))


def endpoint_specs() -> list[EndpointSpec]:
    return [h.spec for h in [*HTTP_HANDLERS, openapi_json]]  # type: ignore[attr-defined]


#: What a relay node (``--role relay``) serves: the screen's sockets and
#: health, nothing a browser page or the API needs.
RELAY_HTTP_HANDLERS = [pages.healthz, pages.readyz, pages.metrics]


def relay_routes() -> list[BaseRoute]:
    return [
        WebSocketRoute("/ws/agent", agent_endpoint),
        WebSocketRoute("/ws/share", share_endpoint),
        WebSocketRoute("/ws/viewer", viewer_endpoint),
    ]


def routes(role: str = "all") -> list[BaseRoute]:
    """The node's routes for its ``role``: a relay node serves only
    :data:`RELAY_HTTP_HANDLERS` and the screen sockets; web and all nodes
    serve everything (until escalation hands screens to relay nodes, a web
    node keeps its own relay: see docs/architecture.md, *Relay nodes*)."""
    handlers = RELAY_HTTP_HANDLERS if role == "relay" else [*HTTP_HANDLERS, openapi_json]
    out: list[BaseRoute] = [
        Route(h.spec.path, h, methods=list(h.spec.methods))  # type: ignore[attr-defined]
        for h in handlers
    ]
    out += relay_routes()
    if role == "relay":
        return out
    out += [
        WebSocketRoute("/ws/visitor", visitor_endpoint),
        WebSocketRoute("/ws/rep", rep_endpoint),
        WebSocketRoute("/ws/board", board_endpoint),
        Mount("/static", app=pages.PublicStatic(directory=pages.WEB_DIR), name="static"),
    ]
    return out


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


def _recording_hub(ctx: Context) -> RecordingHub:
    """The node's recording writer, wired back to the relay: a storage
    failure is told to the session (and may stop sharing), and a segment
    opening after a change asks the agent for a key frame. Both run on the
    next loop turn, never inside the pump that noticed them."""
    loop = asyncio.get_running_loop()

    def failed(session_id: str, error: str) -> None:
        screen = ctx.relay.get(session_id)
        if screen is not None:
            pump(screen.recording_failed(error, time.monotonic()), ctx.audits, ctx.recordings)

    def key(session_id: str) -> None:
        screen = ctx.relay.get(session_id)
        if screen is not None:
            pump(screen.request_key_frame(), ctx.audits, ctx.recordings)

    s = ctx.settings
    return RecordingHub(
        ctx.store,
        LocalRecordingStore(s.effective_recording_dir),
        segment_s=s.recording_segment_s,
        max_pending_bytes=s.recording_max_pending_bytes,
        on_failure=lambda sid, error: loop.call_soon(failed, sid, error),
        on_key=lambda sid: loop.call_soon(key, sid),
    )


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
        metrics = Metrics()
        metrics.time_store(store.engine)
        metrics.time_broker(broker)  # before anything holds its methods
        hub = Hub(broker)
        await hub.start()
        accounts = Accounts(store, broker, settings)
        agents = AgentShelf(settings)
        ctx = Context(
            settings=settings,
            store=store,
            broker=broker,
            accounts=accounts,
            dispatcher=Dispatcher(
                store, broker, settings, publish=hub.publish, on_broker_error=hub.watch.report, agent_wheel=agents.wheel_name
            ),
            hub=hub,
            origins=Origins(store, settings),
            relay=Relay(Policy.from_settings(settings)),
            audits=AuditWriter(store),
            admin=AdminActions(
                store, accounts, max_name_chars=settings.max_name_chars, broker=broker,
                max_file_bytes=settings.max_file_bytes, max_files_per_session=settings.max_files_per_session,
                branding_limits=settings.branding_limits,
                hours_intervals_per_day=settings.hours_intervals_per_day, hours_holidays=settings.hours_holidays,
            ),
            limits=limits,
            guard=guard,
            agents=agents,
            file_store=LocalFileStore(settings.data_dir / "files", min_free_bytes=settings.min_free_disk_bytes),
            metrics=metrics,
        )
        if settings.node_id:
            ctx.node = settings.node_id
        ctx.audits.notify = MODE_CHANGING_KINDS
        ctx.audits.on_written = lambda audit: ctx.dispatcher.board_changed_for(audit.request_id)
        ctx.transfers = TransferHub(ctx)
        ctx.handoffs = Handoffs(ctx.dispatcher)
        ctx.recordings = _recording_hub(ctx)
        ctx.recordings.metrics = metrics
        if settings.role == "web":
            ctx.dispatcher.relay_ticket = lambda sid: relay_handout.agent_ticket(ctx, sid)
        deliveries = Deliveries(ctx.transfers)
        await ctx.origins.refresh()
        app.state.ctx = ctx
        # What every node runs: the relay's clock, recordings, the timeline,
        # files to agents, and the sweep of its own disk.
        tasks = [
            asyncio.create_task(sweeper.run(ctx, sweeper.parts_for(settings.role)), name="desklink-sweeper"),
            asyncio.create_task(ctx.audits.run(), name="desklink-audit"),
            asyncio.create_task(relay_ticker(ctx.relay, ctx.audits, ctx.recordings), name="desklink-relay-clock"),
            asyncio.create_task(ctx.recordings.run(), name="desklink-recording"),
            asyncio.create_task(deliveries.watch(), name="desklink-files-watch"),
        ]
        access: AccessWatcher | None = None
        summary: DailySummary | None = None
        if settings.role != "relay":
            # Web work a relay node never does: agent downloads, access
            # changes for chat sockets, the daily summary e-mail.
            await ctx.agents.listing()  # hash the builds once at start, not on a visitor's first click
            app.state.access = access = AccessWatcher(
                store, settings.access_poll_interval_s, socket_notifier(ctx.dispatcher.forget_name)
            )
            await access.poll()  # start from the newest change: sockets opened after it
            app.state.daily_summary = summary = DailySummary(store, broker, settings)
            tasks += [
                asyncio.create_task(access.run(), name="desklink-access"),
                asyncio.create_task(summary.run(), name="desklink-daily-summary"),
            ]
        scrape_port = None
        if settings.metrics_port:
            scrape_port = await metrics_port.start(
                settings.metrics_port, lambda: render_metrics(ctx, access, summary), METRICS_CONTENT_TYPE,
                max_head_bytes=settings.metrics_max_head_bytes, head_timeout_s=settings.metrics_head_timeout_s,
            )
        directory: RelayDirectory | None = None
        beat_stop = asyncio.Event()
        beat: asyncio.Task[None] | None = None
        if settings.role == "relay":
            directory = RelayDirectory(broker, stale_s=settings.relay_stale_s)
            beat = asyncio.create_task(
                directory.heartbeat(
                    settings.effective_node_name,
                    settings.effective_relay_url,
                    settings.relay_capacity,
                    lambda: len(ctx.relay.sessions),
                    settings.relay_heartbeat_s,
                    beat_stop,
                ),
                name="desklink-relay-heartbeat",
            )
        try:
            yield
        finally:
            if scrape_port is not None:
                scrape_port.close()
            for conn in tuple(Connection.live):
                conn.close_soon(codes.CLOSE_GOING_AWAY, "server shutting down")
            await asyncio.sleep(0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.recordings.finish_all(time.monotonic()), SHUTDOWN_AUDIT_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.audits.drain(), SHUTDOWN_AUDIT_S)
            ctx.handoffs.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if directory is not None and beat is not None:  # a relay node stopping leaves the choice at once
                beat_stop.set()
                with contextlib.suppress(TimeoutError, *BROKER_ERRORS):
                    await asyncio.wait_for(beat, SHUTDOWN_AUDIT_S)
                    await asyncio.wait_for(directory.withdraw(settings.effective_node_name), SHUTDOWN_AUDIT_S)
            await hub.stop()
            await broker.aclose()
            await store.close()
            ctx.accounts.close()

    app = Starlette(
        routes=routes(settings.role),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unhandled},
    )
    # Outermost last: the forwarded headers decide the client before the
    # budgets are charged to it and the security headers read the scheme.
    app.add_middleware(DrainGate)
    app.add_middleware(Throttle, limits=limits)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ForwardedHeaders, proxies=proxies)
    app.add_middleware(RequestIds, max_chars=settings.max_request_id_chars)  # outermost: every answer and log line has its request id
    app.state.guard = guard
    return app

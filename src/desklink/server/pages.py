"""Pages, static files, health, readiness and metrics.

The HTML pages are static shells: they hold no data and fetch everything
through the authenticated API, so serving them publicly reveals nothing.
Static files carry ``Access-Control-Allow-Origin: *`` because the help box
module is loaded cross-origin by the provider's pages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from desklink.server import metrics as metrics_mod
from desklink.server.connection import Connection
from desklink.server.context import Context
from desklink.server.health import disk_problems, readiness
from desklink.server.http import Access, endpoint, json_response

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def _page(relative: str) -> Response:
    return FileResponse(WEB_DIR / relative, media_type="text/html", headers={"Cache-Control": "no-cache"})


@endpoint("/", ("GET",), Access.PUBLIC)
async def sample_page(request: Request, ctx: Context, login: Any) -> Response:
    """A sample provider page that embeds the help box."""
    return _page("sample/index.html")


@endpoint("/console", ("GET",), Access.PUBLIC)
async def console_page(request: Request, ctx: Context, login: Any) -> Response:
    """The rep console (shows a login form until logged in)."""
    return _page("console/index.html")


@endpoint("/admin", ("GET",), Access.PUBLIC)
async def admin_page(request: Request, ctx: Context, login: Any) -> Response:
    """The admin center (shows a login form until logged in)."""
    return _page("admin/index.html")


@endpoint("/healthz", ("GET",), Access.PUBLIC)
async def healthz(request: Request, ctx: Context, login: Any) -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


#: Longest a readiness check waits for the store or the broker: a balancer's
#: probe must get its 503 well before its own timeout, even from a hung Redis
#: (whose commands wait out the whole socket timeout).
READY_TIMEOUT_S = 2.0


async def _answers(check: Awaitable[bool]) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            return bool(await check)
    except TimeoutError:
        return False


@endpoint("/readyz", ("GET",), Access.PUBLIC)
async def readyz(request: Request, ctx: Context, login: Any) -> Response:
    """Readiness: should this node get new traffic (server/health.py,
    *readiness*). A draining node (SIGTERM, server/drain.py) answers 503 at
    once; a node that cannot write to its disk, or whose store has not
    answered for ``ready_store_grace_s``, answers 503; a broker outage, or a
    shorter store one, is reported under ``degraded`` with 200. Each check
    waits at most READY_TIMEOUT_S."""
    if ctx.draining:
        return json_response({"draining": True, "problems": ["the node is draining"]}, status=503)
    store_ok = await _answers(ctx.store.ping())
    broker_ok = await _answers(ctx.broker.ping())
    db_writable = await ctx.store.accepts_writes() if store_ok else False
    failing = ctx.store_outage.note(store_ok and db_writable, time.monotonic())
    ok, body = readiness(
        store_ok=store_ok, db_writable=db_writable, broker_ok=broker_ok, disk=disk_problems(ctx.settings),
        store_failing_s=failing, store_grace_s=ctx.settings.ready_store_grace_s,
    )
    return json_response(body, status=200 if ok else 503)


@endpoint("/metrics", ("GET",), Access.METRICS)
async def metrics(request: Request, ctx: Context, login: Any) -> Response:
    """Prometheus metrics of this node (a scraper's bearer token, ``metrics_token``)."""
    body = await metrics_mod.render(
        ctx, getattr(request.app.state, "access", None), getattr(request.app.state, "daily_summary", None)
    )
    return Response(body, media_type=metrics_mod.CONTENT_TYPE)


def render_metrics(ctx: Context, access: Any = None, summary: Any = None) -> str:
    """The node's ``statistics()`` figures, read now (after the registry's
    metrics in :func:`desklink.server.metrics.render`)."""
    names = {"V": "visitor", "R": "rep", "G": "agent", "W": "viewer"}  # the board's sockets are not counted here (as before)
    kinds = dict.fromkeys(names, 0)
    queued = 0
    for conn in Connection.live:
        kinds[conn.kind] = kinds.get(conn.kind, 0) + 1
        queued += len(conn.outbox)
    lines = ["# TYPE desklink_connections gauge"]
    lines += [f'desklink_connections{{kind="{names[k]}"}} {n}' for k, n in kinds.items() if k in names]
    relay = ctx.relay.statistics()
    lines += [
        "# TYPE desklink_screen_sessions gauge",
        f"desklink_screen_sessions {relay['sharing']}",
        "# TYPE desklink_screen_bytes_in counter",
        f"desklink_screen_bytes_in {relay['bytes_in']}",
        "# TYPE desklink_outbox_queued gauge",
        f"desklink_outbox_queued {queued}",
    ]
    for prefix, figures in (("http_limits", ctx.limits.statistics()), ("tcp", ctx.guard.statistics())):
        for name, value in figures.items():
            lines += [f"# TYPE desklink_{prefix}_{name} gauge", f"desklink_{prefix}_{name} {value}"]
    files = ctx.transfers.statistics() if ctx.transfers is not None else {}
    for name, value in files.items():
        lines += [f"# TYPE desklink_files_{name} gauge", f"desklink_files_{name} {value}"]
    for name, value in ctx.hub.statistics().items():
        lines += [f"# TYPE desklink_hub_{name} gauge", f"desklink_hub_{name} {value}"]
    if access is not None:
        for name, value in access.statistics().items():
            lines += [f"# TYPE desklink_access_{name} gauge", f"desklink_access_{name} {value}"]
    if summary is not None:  # the daily summary e-mail (server/daily_summary.py)
        for name, value in summary.statistics().items():
            kind = "gauge" if name == "days_done" else "counter"
            lines += [f"# TYPE desklink_daily_summary_{name} {kind}", f"desklink_daily_summary_{name} {value}"]
    for name, value in ctx.hub.watch.statistics().items():
        lines += [f"# TYPE desklink_broker_watch_{name} gauge", f"desklink_broker_watch_{name} {value}"]
    lines += [
        "# TYPE desklink_sweeps counter",
        f"desklink_sweeps {ctx.dispatcher.sweeps}",
        "# TYPE desklink_sweeps_with_presence counter",
        f"desklink_sweeps_with_presence {ctx.dispatcher.presence_sweeps}",
    ]
    stats = getattr(ctx.broker, "statistics", None)
    if stats is not None:
        for name, value in stats().items():
            lines += [f"# TYPE desklink_broker_{name} gauge", f"desklink_broker_{name} {value}"]
    # Argon2id work: running/waiting now, and totals (verified, hashed, refused).
    for name, value in ctx.accounts.passwords.statistics().items():
        kind = "gauge" if name in ("running", "waiting") else "counter"
        lines += [f"# TYPE desklink_passwords_{name} {kind}", f"desklink_passwords_{name} {value}"]
    return "\n".join(lines) + "\n"


class PublicStatic(StaticFiles):
    """Static files any origin may load (the help box module is cross-origin)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_cors(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"access-control-allow-origin", b"*")]
            await send(message)

        await super().__call__(scope, receive, send_cors)


ROUTES = [sample_page, console_page, admin_page, healthz, readyz, metrics]

"""This node's Prometheus metrics: the metric objects, and the thin calls
the adapters make.

Each app has its own :class:`Metrics` with its own ``CollectorRegistry``
(never the library's global one), so several nodes in one test process do
not clash. Counters and histograms are updated where things happen (a
socket opened, a screen frame queued, an alert written to a rep's socket);
what is a level now (connections by kind, requests waiting per queue, the
older ``statistics()`` figures) is read at scrape time by :func:`render`.

Who may read it is decided by the route (``Access.METRICS``: a bearer
token, ``metrics_token``) or by binding a separate loopback listener
(``metrics_port``, :mod:`desklink.server.metrics_port`); never a browser
login. Every metric is listed in docs/operations.md, *Monitoring*.

Limits: a store or broker call is timed by the hooks here (SQLAlchemy's
cursor events; the broker's methods wrapped once per node), so a call that
never returns is not observed until it does (``/readyz`` catches that).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import generate_latest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from desklink.broker.base import Broker
    from desklink.relay.session import ScreenSession
    from desklink.server.context import Context

# ``*_created`` samples double the lines and tell an operator nothing a
# process start time does not.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Text exposition format (Prometheus 0.0.4), what every scraper reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Alert fan-out buckets, seconds: the aim is 200 ms p99 for 5000 reps.
FANOUT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)
#: Store and broker calls, seconds.
CALL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
#: Recording lag (segment closed to segment stored), seconds.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: Socket kinds by ``Connection.kind``.
KIND_NAMES = {"V": "visitor", "R": "rep", "G": "agent", "W": "viewer", "B": "board"}

#: The broker calls timed (``desklink_broker_seconds{op}``).
BROKER_OPS = (
    "publish", "presence_set", "presence_remove", "presence_members", "presence_age",
    "claim", "release", "hit", "unhit", "ttl", "delete", "ping",
)

#: Where an alert's submit time is in its pre-encoded text.
_CREATED = '"created_at":"'


class Metrics:
    """The metric objects of one node."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.connections_opened = Counter(
            "desklink_connections_opened", "WebSocket connections opened, by kind", ["kind"], registry=r
        )
        self.connections_closed = Counter(
            "desklink_connections_closed", "WebSocket connections closed, by kind", ["kind"], registry=r
        )
        self.queue_waiting = Gauge(
            "desklink_queue_waiting", "Requests waiting for a rep, per queue (read at scrape time)", ["queue"], registry=r
        )
        self.alert_fanout = Histogram(
            "desklink_alert_fanout_seconds",
            "From a visitor's submit to its alert written to each rep socket",
            buckets=FANOUT_BUCKETS, registry=r,
        )
        self.relay_bytes = Counter(
            "desklink_relay_bytes", "Screen bytes through the relay (in: from sharers, out: to viewers)",
            ["direction"], registry=r,
        )
        self.relay_frames = Counter(
            "desklink_relay_frames", "Screen messages through the relay", ["direction"], registry=r
        )
        self.relay_drops = Counter(
            "desklink_relay_drops",
            "Screen messages not delivered: pointer positions replaced by newer ones, or a viewer too far behind",
            ["reason"], registry=r,
        )
        self.transfer_bytes = Counter(
            "desklink_transfer_bytes", "File transfer bytes taken from uploaders", registry=r
        )
        self.recording_lag = Histogram(
            "desklink_recording_lag_seconds", "From a recording segment closed to it stored",
            buckets=LAG_BUCKETS, registry=r,
        )
        self.store_seconds = Histogram(
            "desklink_store_seconds", "Database statements, wall time", buckets=CALL_BUCKETS, registry=r
        )
        self.broker_seconds = Histogram(
            "desklink_broker_seconds", "Broker calls, wall time", ["op"], buckets=CALL_BUCKETS, registry=r
        )
        self.http_requests = Counter(
            "desklink_http_requests", "HTTP requests answered, by status class", ["status"], registry=r
        )
        self._alert_text: str | None = None
        self._alert_t0 = 0.0

    # ------------------------------------------------------------- sockets
    def opened(self, kind: str) -> None:
        self.connections_opened.labels(KIND_NAMES.get(kind, kind or "other")).inc()

    def closed(self, kind: str) -> None:
        self.connections_closed.labels(KIND_NAMES.get(kind, kind or "other")).inc()

    def alert_submitted_at(self, text: str) -> float | None:
        """The submit time (epoch seconds) in an alert's text. A node hands
        the same text object to all its reps, so it is parsed once."""
        if text is self._alert_text:
            return self._alert_t0
        at = text.find(_CREATED)
        if at < 0:
            return None
        start = at + len(_CREATED)
        try:
            t0 = datetime.fromisoformat(text[start:text.index('"', start)].replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
        self._alert_text, self._alert_t0 = text, t0
        return t0

    def alert_written(self, t0: float) -> None:
        self.alert_fanout.observe(max(0.0, time.time() - t0))

    # ---------------------------------------------------------- the relay
    def relay_in(self, nbytes: int) -> None:
        self.relay_bytes.labels("in").inc(nbytes)
        self.relay_frames.labels("in").inc()

    def relay_out(self, nbytes: int) -> None:
        self.relay_bytes.labels("out").inc(nbytes)
        self.relay_frames.labels("out").inc()

    def relay_dropped(self, reason: str, n: int = 1) -> None:
        if n > 0:
            self.relay_drops.labels(reason).inc(n)

    @staticmethod
    def screen_drops(screen: ScreenSession) -> tuple[int, int]:
        """A screen session's frames dropped so far: before the visitor's
        consent, and skipped for viewers whose window was full."""
        return screen.frames_dropped_before_consent, sum(v.window.skipped for v in screen.viewers)

    def relay_dropped_since(self, screen: ScreenSession, before: tuple[int, int]) -> None:
        """Count what the relay dropped since ``before`` (:meth:`screen_drops`
        taken just before it was handed a frame)."""
        consent, skipped = self.screen_drops(screen)
        self.relay_dropped("before_consent", consent - before[0])
        self.relay_dropped("viewer_window", skipped - before[1])

    # --------------------------------------------------- store and broker
    def time_store(self, engine: AsyncEngine) -> None:
        """Observe every statement's wall time through SQLAlchemy's cursor
        events (a stack per connection: statements do not nest, but a
        failed one leaves no after-event)."""
        sync = engine.sync_engine

        def before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: bool) -> None:
            conn.info["desklink_t0"] = time.perf_counter()

        def after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: bool) -> None:
            t0 = conn.info.pop("desklink_t0", None)
            if t0 is not None:
                self.store_seconds.observe(time.perf_counter() - t0)

        event.listen(sync, "before_cursor_execute", before)
        event.listen(sync, "after_cursor_execute", after)

    def time_broker(self, broker: Broker) -> None:
        """Wrap the broker's calls (on this instance only) with a timer."""
        for op in BROKER_OPS:
            method = getattr(broker, op, None)
            if method is not None:
                setattr(broker, op, self._timed(method, self.broker_seconds.labels(op)))

    @staticmethod
    def _timed(method: Callable[..., Awaitable[Any]], hist: Any) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                hist.observe(time.perf_counter() - t0)

        return timed


async def render(ctx: Context, access: Any = None, summary: Any = None) -> bytes:
    """The scrape: read the levels (waiting requests per queue from the
    store), then the registry, then the node's older ``statistics()``
    figures (:func:`desklink.server.pages.render_metrics`)."""
    from desklink.server.pages import render_metrics

    m = ctx.metrics
    queues = await ctx.store.list_queues()
    counts = await ctx.store.waiting_counts([q.id for q in queues])
    m.queue_waiting.clear()  # a queue deleted since the last scrape is gone
    for q in queues:
        m.queue_waiting.labels(q.slug).set(counts.get(q.id, 0))
    return generate_latest(m.registry) + render_metrics(ctx, access, summary).encode()

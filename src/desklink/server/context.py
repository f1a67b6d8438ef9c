"""What every route and socket adapter of one node shares."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from desklink.broker.base import Broker
from desklink.config import Settings
from desklink.server.health import Outage
from desklink.server.metrics import Metrics
from desklink.store import Store
from desklink.store.records import Queue

if TYPE_CHECKING:
    from desklink.server.agent_shelf import AgentShelf
    from desklink.server.file_store import FileStore
    from desklink.admin import AdminActions
    from desklink.dispatch.dispatcher import Dispatcher
    from desklink.dispatch.handoff import Handoffs
    from desklink.server.auth import Accounts
    from desklink.relay import Relay
    from desklink.server.recording_writer import RecordingHub
    from desklink.server.relay_io import AuditWriter
    from desklink.server.hub import Hub
    from desklink.server.throttle import HttpLimits
    from desklink.server.transport import ConnectionGuard
    from desklink.server.transfers import TransferHub

#: How long a node trusts its cached list of queue origins, seconds. An
#: admin's change applies at once on the node that made it, within this on others.
ORIGIN_CACHE_S = 5.0


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class Origins:
    """Which origins may embed the help box (per queue) or use the console."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.console = frozenset(normalise_origin(o) for o in settings.console_origins)
        self._union: frozenset[str] = frozenset()
        self._stamp = 0.0

    def own(self, conn: HTTPConnection) -> str:
        """This server's origin as the client sees it. The scheme is the one
        a trusted proxy reported, if any (set in the scope by
        :class:`~desklink.server.addresses.ForwardedHeaders`)."""
        scheme = conn.url.scheme.replace("ws", "http")
        host = conn.headers.get("host", "")
        return normalise_origin(f"{scheme}://{host}")

    def same_site(self, origin: str | None, conn: HTTPConnection) -> bool:
        """Console and admin calls: our own origin or a configured one. A
        missing Origin (not a browser) is allowed; the CSRF token still applies."""
        if origin is None:
            return True
        o = normalise_origin(origin)
        return o == self.own(conn) or o in self.console

    def queue_allows(self, queue: Queue, origin: str | None, conn: HTTPConnection) -> bool:
        if origin is None:
            return True
        o = normalise_origin(origin)
        return o == self.own(conn) or o in {normalise_origin(a) for a in queue.allowed_origins}

    async def any_queue_allows(self, origin: str | None, conn: HTTPConnection) -> bool:
        if origin is None:
            return True
        o = normalise_origin(origin)
        if o == self.own(conn):
            return True
        if time.monotonic() - self._stamp > ORIGIN_CACHE_S:
            await self.refresh()
        return o in self._union

    async def refresh(self) -> None:
        queues = await self.store.list_queues()
        self._union = frozenset(normalise_origin(a) for q in queues for a in q.allowed_origins)
        self._stamp = time.monotonic()


@dataclass
class Context:
    settings: Settings
    store: Store
    broker: Broker
    accounts: Accounts
    dispatcher: Dispatcher
    hub: Hub
    origins: Origins
    relay: Relay
    audits: AuditWriter
    admin: AdminActions
    limits: HttpLimits
    guard: ConnectionGuard
    agents: AgentShelf
    #: Bytes of transfers in transit (``LocalFileStore(<data_dir>/files)``).
    file_store: FileStore
    #: The file transfer hub (server/transfers.py), set right after the context is made.
    transfers: TransferHub = field(default=None)  # type: ignore[assignment]
    #: Session transfers and invitations (dispatch/handoff.py), set right after the context is made.
    handoffs: Handoffs = field(default=None)  # type: ignore[assignment]
    #: The recording writer (server/recording_writer.py), set right after the context is made.
    recordings: RecordingHub = field(default=None)  # type: ignore[assignment]
    started: float = field(default_factory=time.time)
    #: True once the node drains (SIGTERM, server/drain.py): ``/readyz``
    #: answers 503, new sockets are refused, open ones are told to reconnect.
    draining: bool = False
    #: Since when ``/readyz`` has seen the store fail (server/health.py, *readiness*).
    store_outage: Outage = field(default_factory=Outage)
    #: This node's name in the presence log: host and process.
    node: str = field(default_factory=lambda: f"{socket.gethostname()[:40]}:{os.getpid()}")
    #: This node's Prometheus metrics (server/metrics.py).
    metrics: Metrics = field(default_factory=Metrics)

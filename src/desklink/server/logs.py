"""Structured logs: one JSON object per line, with node, request and
session ids (``log_format = json``), through structlog.

Every logger of the process, DeskLink's own (the standard ``logging``
module), uvicorn's and the libraries', goes through one root handler whose
formatter is structlog's ``ProcessorFormatter``: a line carries ``event``,
``level``, ``logger``, ``timestamp`` (UTC, ISO 8601), ``node_id``, and the
ids bound in the current context (``request_id``; on sockets that know it
``session_id`` / ``request``). The ids live in context variables
(``structlog.contextvars``): :class:`RequestIds` binds ``request_id`` for
each HTTP request and WebSocket, and a socket binds its session when it
learns it (:func:`bind`); tasks started afterwards inherit them.

``log_format = text`` (the default) leaves uvicorn's own console format,
for a developer's terminal.

Limits: an incoming ``X-Request-ID`` is kept only when it is short and
plain (``max_request_id_chars``, letters, digits, ``-_.:``); anything
else is replaced by a fresh id, so a client cannot write into the log.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import contextvars

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]+")
REQUEST_ID_HEADER = "x-request-id"


#: The socket whose task is running (set by ``Connection.serve`` before it
#: starts its tasks, which inherit it): its ids go on every line.
current_socket: contextvars.ContextVar[Any] = contextvars.ContextVar("desklink_socket", default=None)


def add_socket_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """The running socket's ids as they are now (``Connection.log_ids``:
    its kind, user, and the sessions it holds), never overriding a key."""
    conn = current_socket.get()
    if conn is not None:
        for key, value in conn.log_ids().items():
            event.setdefault(key, value)
    return event


def configure(log_format: str, level: str, node_id: str) -> None:
    """Route every logger of the process through one formatter: JSON lines
    (``json``), or leave the standard set-up (``text``)."""
    if log_format != "json":
        return

    def add_node(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("node_id", node_id)
        return event

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_socket_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_node,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.captureWarnings(True)  # Python's warnings too: no bare lines on stderr
    root.setLevel(level.upper())
    # uvicorn's loggers would otherwise keep handlers of their own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind(**ids: Any) -> None:
    """Put ids (``session_id=...``) on every later line of this task and of
    the tasks it starts."""
    structlog.contextvars.bind_contextvars(**ids)


def request_id_of(scope: Scope, max_chars: int) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if len(given) <= max_chars and _PLAIN_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestIds:
    """Give each HTTP request and WebSocket a request id: the client's or
    proxy's ``X-Request-ID`` when plain, else a new one; bind it for the
    logs, echo it in the response's ``X-Request-ID``, and count answers
    by status class (``desklink_http_requests_total``)."""

    def __init__(self, app: ASGIApp, max_chars: int) -> None:
        self.app = app
        self.max_chars = max_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope, self.max_chars)
        header = (REQUEST_ID_HEADER.encode(), rid.encode())
        app_state = scope.get("app")
        metrics = None
        if app_state is not None:
            ctx = getattr(app_state.state, "ctx", None)
            metrics = getattr(ctx, "metrics", None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
                if metrics is not None:
                    metrics.http_requests.labels(f"{message['status'] // 100}xx").inc()
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            await self.app(scope, receive, send_with_id)

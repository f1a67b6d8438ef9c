"""HTTP plumbing shared by every route: the access table, JSON errors, body
and query parsing, client addresses.

Every HTTP route is declared with :func:`endpoint` and an access level; the
wrapper enforces it before the handler runs, so a route cannot forget its
check. ``PUBLIC`` routes are an explicit, short list (tests walk every route
and compare against it). Cookie-authenticated state-changing calls also need
the CSRF header and a same-site ``Origin``. A logged-in user's request spends
one of the account's request budget (:mod:`desklink.server.throttle`).

Every answer the wrapper gives is JSON: a :class:`DeskLinkError` becomes its
documented error body, and anything else a handler raises (a full disk, a
database gone) is logged and answered ``500 internal``; the node goes on.
Query parameters are read with :func:`query_int`, :func:`query_str` and
:func:`query_choice`, which answer ``400 bad_message`` for a wrong type or
range instead of letting it reach the database.
"""

from __future__ import annotations

import enum
import functools
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from desklink.errors import AuthError, DeskLinkError, Forbidden, LimitExceeded, NotFound, ProtocolError, TooLarge
from desklink.server import auth as authmod
from desklink.server.context import Context

T = TypeVar("T")

log = logging.getLogger("desklink.http")

#: The largest integer a path parameter like ``{user_id:int}`` may carry:
#: ids are 64-bit in both databases, and SQLite's driver raises on anything
#: larger instead of finding nothing.
MAX_ID = 2**63 - 1


class Access(enum.Enum):
    PUBLIC = "public"  # anyone; pages, health, visitor submit, login
    VISITOR = "visitor"  # a visitor's bearer token (checked by the handler)
    REP = "rep"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    METRICS = "metrics"  # a scraper's bearer token (``metrics_token``), never a login


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class EndpointSpec:
    path: str
    methods: tuple[str, ...]
    access: Access
    summary: str
    body: type | None
    csrf: bool


Handler = Callable[..., Awaitable[Response]]


def endpoint(
    path: str, methods: tuple[str, ...], access: Access, *, body: type | None = None, csrf: bool = True
) -> Callable[[Handler], Handler]:
    """Declare a route. The handler gets ``(request, ctx, login)`` plus
    ``body`` (a decoded msgspec struct) when a body type is given."""

    def wrap(fn: Handler) -> Handler:
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else fn.__name__
        spec = EndpointSpec(path, methods, access, summary, body, csrf)

        @functools.wraps(fn)
        async def run(request: Request) -> Response:
            ctx: Context = request.app.state.ctx
            try:
                _check_path_ids(request)
                login = await _check_access(request, ctx, spec)
                kwargs: dict[str, Any] = {}
                if body is not None and request.method in UNSAFE_METHODS:
                    if spec.access is Access.VISITOR:
                        bearer_token(request)  # a stranger hears 401 whatever the body
                    kwargs["body"] = await read_body(request, body, ctx.settings.max_message_bytes)
                return await fn(request, ctx, login, **kwargs)
            except DeskLinkError as exc:
                return error_response(exc, request)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return internal_error()

        run.spec = spec  # type: ignore[attr-defined]
        return run

    return wrap


#: Longest ``Authorization`` header a visitor route reads (a token is 32 characters).
MAX_BEARER_CHARS = 200


def bearer_token(request: Request) -> str:
    """The visitor's token from ``Authorization: Bearer <token>``;
    :class:`AuthError` when the header is missing or malformed. The wrapper
    checks it before it reads a visitor route's body, so a stranger hears
    401 whatever they send; the handler looks the token up."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or len(auth) > MAX_BEARER_CHARS or not auth[7:].strip():
        raise AuthError("send the visitor token as 'Authorization: Bearer <token>'")
    return auth[7:].strip()


def check_metrics_token(request: Request, ctx: Context) -> None:
    """A scraper's ``Authorization: Bearer <metrics_token>``, compared in
    constant time. With no token configured the route does not exist on
    this port (404): metrics are then read on ``metrics_port`` only."""
    expected = ctx.settings.metrics_token
    if not expected:
        raise NotFound("no metrics on this port (set metrics_token, or read them on metrics_port)")
    auth = request.headers.get("authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") and len(auth) <= MAX_BEARER_CHARS else ""
    if not given:
        raise AuthError("send the metrics token as 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthError("wrong metrics token", code="auth_failed")


async def _check_access(request: Request, ctx: Context, spec: EndpointSpec) -> authmod.Login | None:
    if spec.access in (Access.PUBLIC, Access.VISITOR):
        return None
    if spec.access is Access.METRICS:
        check_metrics_token(request, ctx)
        return None
    login = await ctx.accounts.authenticate(request.cookies.get(authmod.COOKIE_NAME))
    if login is None:
        raise AuthError("log in first")
    await ctx.limits.charge_account(login.user.id)
    if not login.user.at_least(spec.access.value):
        raise Forbidden(f"this needs the {spec.access.value} role")
    if spec.csrf and request.method in UNSAFE_METHODS:
        if not authmod.csrf_ok(login, request.headers.get(authmod.CSRF_HEADER)):
            raise Forbidden("missing or wrong X-CSRF-Token", code="csrf_failed")
        if not ctx.origins.same_site(request.headers.get("origin"), request):
            raise Forbidden("cross-site request refused", code="csrf_failed")
    return login


async def read_body(request: Request, type_: type[T], max_bytes: int) -> T:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"request body over {max_bytes} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > max_bytes:
            raise TooLarge(f"request body over {max_bytes} bytes")
    try:
        return msgspec.json.decode(bytes(chunks), type=type_)
    except msgspec.ValidationError as exc:
        raise ProtocolError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"body is not valid JSON: {exc}") from None


def error_response(exc: DeskLinkError, request: Request | None = None) -> JSONResponse:
    payload: dict[str, Any] = {"code": exc.code, "message": exc.message}
    headers = {}
    if isinstance(exc, LimitExceeded) and exc.retry_after:
        payload["retry_after"] = round(exc.retry_after, 1)
        headers["Retry-After"] = str(int(exc.retry_after) + 1)
    return JSONResponse({"error": payload}, status_code=exc.http_status, headers=headers)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(data), status_code=status, media_type="application/json", headers=headers
    )


def internal_error() -> JSONResponse:
    """The documented answer to a failure of the server itself."""
    message = "the server could not complete this request; try again later"
    return JSONResponse({"error": {"code": "internal", "message": message}}, status_code=500)


def client_ip(conn: HTTPConnection) -> str:
    """The client's address: the peer, or what a trusted proxy says it is.
    :class:`~desklink.server.addresses.ForwardedHeaders` has already decided
    (once, for every route and socket); this only reads its answer."""
    return conn.client.host if conn.client else "unknown"


# ----------------------------------------------------------------- query
def _query(conn: HTTPConnection, name: str) -> str | None:
    values = conn.query_params.getlist(name)
    if len(values) > 1:
        raise ProtocolError(f"query parameter {name!r} is given {len(values)} times")
    return values[0] if values else None


def query_int(conn: HTTPConnection, name: str, *, default: int, lo: int, hi: int) -> int:
    """Query parameter ``name`` as an integer in ``lo..hi`` (``default``
    when absent); ``ProtocolError`` (400 bad_message) otherwise."""
    raw = _query(conn, name)
    if raw is None:
        return default
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", text) or not lo <= int(text) <= hi:
        raise ProtocolError(f"query parameter {name!r} must be a whole number from {lo} to {hi}, got {raw[:40]!r}")
    return int(text)


def query_str(conn: HTTPConnection, name: str, *, default: str = "", max_chars: int) -> str:
    """Query parameter ``name`` as text of at most ``max_chars`` characters."""
    raw = _query(conn, name)
    if raw is None:
        return default
    if len(raw) > max_chars:
        raise ProtocolError(f"query parameter {name!r} is longer than {max_chars} characters")
    return raw


def query_choice(conn: HTTPConnection, name: str, choices: tuple[str, ...]) -> str:
    """Query parameter ``name``, one of ``choices`` (the first when absent)."""
    raw = _query(conn, name)
    if raw is None:
        return choices[0]
    if raw not in choices:
        raise ProtocolError(f"query parameter {name!r} must be one of {', '.join(choices)}, got {raw[:40]!r}")
    return raw


def _check_path_ids(request: Request) -> None:
    """Integer path parameters (``{user_id:int}``) name a row: one past
    :data:`MAX_ID` cannot exist."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise NotFound("no such record")


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)

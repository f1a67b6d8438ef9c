"""HTTP plumbing shared by every route: the access table, JSON errors, body
parsing, client addresses.

Every HTTP route is declared with :func:`endpoint` and an access level; the
wrapper enforces it before the handler runs, so a route cannot forget its
check. ``PUBLIC`` routes are an explicit, short list (tests walk every route
and compare against it). Cookie-authenticated state-changing calls also need
the CSRF header and a same-site ``Origin``.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from desklink.errors import AuthError, DeskLinkError, Forbidden, LimitExceeded, ProtocolError, TooLarge
from desklink.server import auth as authmod
from desklink.server.context import Context

T = TypeVar("T")


class Access(enum.Enum):
    PUBLIC = "public"  # anyone; pages, health, visitor submit, login
    VISITOR = "visitor"  # a visitor's bearer token (checked by the handler)
    REP = "rep"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


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
                login = await _check_access(request, ctx, spec)
                kwargs: dict[str, Any] = {}
                if body is not None and request.method in UNSAFE_METHODS:
                    kwargs["body"] = await read_body(request, body, ctx.settings.max_message_bytes)
                return await fn(request, ctx, login, **kwargs)
            except DeskLinkError as exc:
                return error_response(exc, request)

        run.spec = spec  # type: ignore[attr-defined]
        return run

    return wrap


async def _check_access(request: Request, ctx: Context, spec: EndpointSpec) -> authmod.Login | None:
    if spec.access in (Access.PUBLIC, Access.VISITOR):
        return None
    login = await ctx.accounts.authenticate(request.cookies.get(authmod.COOKIE_NAME))
    if login is None:
        raise AuthError("log in first")
    if not login.user.at_least(spec.access.value):  # type: ignore[arg-type]
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


def client_ip(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)

"""The console's HTTP API: login, logout, me, session history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.dispatch.dispatcher import iso
from desklink.errors import Forbidden, NotFound
from desklink.protocol import limits as limitsmod
from desklink.server import auth as authmod
from desklink.server.context import Context
from desklink.server.http import Access, client_ip, endpoint, json_response, query_int
from desklink.server.schemas import LoginBody
from desklink.store.records import User

#: Sessions per page of ``GET /api/sessions``: the default and the most.
SESSIONS_PAGE = 100
MAX_SESSIONS_PAGE = 500


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
    }


@endpoint("/api/auth/login", ("POST",), Access.PUBLIC, body=LoginBody)
async def login(request: Request, ctx: Context, _: Any, body: LoginBody) -> Response:
    """Log in; sets the session cookie and answers the user and CSRF token."""
    if not ctx.origins.same_site(request.headers.get("origin"), request):
        raise Forbidden("cross-site login refused", code="csrf_failed")
    result, token = await ctx.accounts.login(body.username, body.password, client_ip(request))
    response = json_response({"user": user_view(result.user), "csrf": result.auth.csrf_token})
    secure = ctx.origins.own(request).startswith("https:")
    response.set_cookie(
        authmod.COOKIE_NAME,
        token,
        max_age=int(ctx.settings.auth_session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


@endpoint("/api/auth/logout", ("POST",), Access.REP)
async def logout(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """End this console login."""
    await ctx.accounts.logout(request.cookies.get(authmod.COOKIE_NAME, ""))
    response = Response(status_code=204)
    response.delete_cookie(authmod.COOKIE_NAME, path="/")
    return response


@endpoint("/api/me", ("GET",), Access.REP)
async def me(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """Who is logged in, their CSRF token and queues."""
    queues = await ctx.store.queues_of_user(login.user.id)
    return json_response(
        {
            "user": user_view(login.user),
            "csrf": login.auth.csrf_token,
            "queues": [{"id": q.id, "slug": q.slug, "name": q.name} for q in queues],
        }
    )


@endpoint("/api/sessions", ("GET",), Access.REP)
async def sessions(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """Sessions: your own, or everyone's for supervisors and admins."""
    limit = query_int(request, "limit", default=SESSIONS_PAGE, lo=1, hi=MAX_SESSIONS_PAGE)
    offset = query_int(request, "offset", default=0, lo=0, hi=limitsmod.MAX_LIST_OFFSET)
    rep_id = None if login.user.at_least("supervisor") else login.user.id
    rows = await ctx.store.list_sessions(rep_id=rep_id, limit=limit, offset=offset)
    out = []
    for s in rows:
        view = await ctx.dispatcher.session_view(s)
        view["rep"] = {"id": s.rep_id, "name": await ctx.dispatcher.rep_name(s.rep_id)}
        view["ended_by"] = s.ended_by
        out.append(view)
    return json_response({"sessions": out})


@endpoint("/api/sessions/{session_id}", ("GET",), Access.REP)
async def session_detail(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """One session with its transcript and events."""
    session = await ctx.store.get_session(request.path_params["session_id"][:64])
    if session is None:
        raise NotFound("no such session")
    if session.rep_id != login.user.id and not login.user.at_least("supervisor"):
        raise Forbidden("this session is not yours")
    view = await ctx.dispatcher.session_view(session)
    view.update(
        rep={"id": session.rep_id, "name": await ctx.dispatcher.rep_name(session.rep_id)},
        ended_by=session.ended_by,
        note=session.note,
        messages=[
            {k: v for k, v in ctx.dispatcher.message_view(m, session.id).items() if k != "t"}
            for m in await ctx.store.all_messages(session.request_id)
        ],
        events=[
            {"kind": e.kind, "actor": e.actor, "data": e.data, "at": iso(e.created_at)}
            for e in await ctx.store.events_for(session.request_id)
        ],
    )
    return json_response(view)


ROUTES = [login, logout, me, sessions, session_detail]

"""The console's HTTP API: login, logout, me, session history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink import timeline as timelines
from desklink import transcript as transcripts
from desklink.broker.base import BROKER_ERRORS
from desklink.dispatch import channels as ch
from desklink.dispatch.dispatcher import iso
from desklink.errors import Forbidden
from desklink.server import auth as authmod
from desklink.server.context import Context
from desklink.server import session_search as search
from desklink.server.http import Access, client_ip, endpoint, json_response, query_choice
from desklink.server.schemas import LoginBody
from desklink.server.session_access import readable_session
from desklink.store.records import Request as HelpRequest
from desklink.store.records import Session, User


#: Login answers carry secrets (tickets, TOTP secrets, recovery codes).
NO_STORE = {"Cache-Control": "no-store"}



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
    """Log in; sets the session cookie and answers the user and CSRF token, or a
    ticket for the second factor (``second_factor``) or its enrolment (``enroll``)."""
    if not ctx.origins.same_site(request.headers.get("origin"), request):
        raise Forbidden("cross-site login refused", code="csrf_failed")
    step = await ctx.accounts.login(body.username, body.password, client_ip(request))
    return login_response(request, ctx, step)


def login_response(request: Request, ctx: Context, step: authmod.LoginStep) -> Response:
    """The answer of a login step: the next step's ticket, or the finished
    login with its cookie (and, right after an enrolment, the recovery codes)."""
    if step.login is None:
        if step.enroll is not None:
            enroll = {"secret": step.enroll.secret, "uri": step.enroll.uri, "qr": step.enroll.qr}
            return json_response({"enroll": enroll, "ticket": step.ticket}, headers=NO_STORE)
        return json_response({"second_factor": "totp", "ticket": step.ticket}, headers=NO_STORE)
    data: dict[str, Any] = {"user": user_view(step.login.user), "csrf": step.login.auth.csrf_token}
    if step.recovery_codes:
        data["recovery_codes"] = list(step.recovery_codes)
    response = json_response(data, headers=NO_STORE)
    secure = ctx.origins.own(request).startswith("https:")
    response.set_cookie(
        authmod.COOKIE_NAME,
        step.token,
        max_age=int(ctx.settings.auth_session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


@endpoint("/api/auth/logout", ("POST",), Access.REP)
async def logout(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """End this console login; its open sockets close (4001) on every node."""
    await ctx.accounts.logout(request.cookies.get(authmod.COOKIE_NAME, ""))
    # Each socket of the user re-reads its own login: those of this login
    # (this browser's consoles and viewers) close, other logins stay.
    try:
        await ctx.broker.publish(ch.user_channel(login.user.id), ch.envelope("X", {"op": "access"}))
    except BROKER_ERRORS as exc:  # the login is gone: a socket finds out on its next re-check
        ctx.hub.watch.report("telling sockets of a sign-out", exc)
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
    """Sessions found by the search in the query (see server/session_search.py):
    a rep's own, a supervisor's also their queues', everyone's for admins."""
    query = await search.query_of(request, ctx, login.user)
    out = []
    for hit in await ctx.store.search_sessions(query):
        view = ctx.dispatcher.session_view_of(hit.session, hit.request, hit.queue)
        view["rep"] = {"id": hit.session.rep_id, "name": hit.rep_name}
        view["ended_by"] = hit.session.ended_by
        if hit.match_seq is not None:
            view["match"] = {"seq": hit.match_seq, "at": iso(hit.match_at) if hit.match_at else None, "excerpt": hit.match_excerpt}
        out.append(view)
    return json_response({"sessions": out})


@endpoint("/api/sessions/{session_id}", ("GET",), Access.REP)
async def session_detail(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """One session with its transcript and events."""
    session, req = await readable_session(request, ctx, login)
    view = await ctx.dispatcher.session_view(session, req)
    view.update(
        rep={"id": session.rep_id, "name": await ctx.dispatcher.rep_name(session.rep_id)},
        ended_by=session.ended_by,
        note=session.note,
        messages=[
            {k: v for k, v in ctx.dispatcher.message_view(m, session.id).items() if k != "t"}
            for m in await ctx.store.all_messages(session.request_id)
        ],
        events=[
            {
                "kind": e.kind,
                "actor": e.actor,
                "actor_id": e.actor_id,
                "actor_name": await ctx.dispatcher.rep_name(e.actor_id) if e.actor_id is not None else None,
                "data": e.data,
                "at": iso(e.created_at),
            }
            for e in await ctx.store.events_for(session.request_id)
        ],
    )
    return json_response(view)


@endpoint("/api/sessions/{session_id}/timeline", ("GET",), Access.REP)
async def session_timeline(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """The session's timeline in words: chat and events in one order (see desklink.timeline)."""
    session, req = await readable_session(request, ctx, login)
    items = await timeline_of(ctx, session, req)
    return json_response({"session_id": session.id, "items": [timelines.as_json(i) for i in items]})


@endpoint("/api/sessions/{session_id}/transcript", ("GET",), Access.REP)
async def session_transcript(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """The session's transcript as a text or HTML download (the same document the visitor saves)."""
    session, req = await readable_session(request, ctx, login)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    fmt = query_choice(request, "format", ("text", "html"))
    messages = await ctx.store.all_messages(req.id)
    body, media, ext = transcripts.render(fmt, req, queue, messages, ctx.settings.provider_name)
    headers = {"Content-Disposition": f'attachment; filename="{transcripts.filename(req, ext)}"'}
    return Response(body, media_type=media + "; charset=utf-8", headers=headers)


async def timeline_of(ctx: Context, session: Session, req: HelpRequest) -> list[timelines.Item]:
    """Load what the timeline is built from and name every user it mentions."""
    messages = await ctx.store.all_messages(req.id)
    events = await ctx.store.events_for(req.id)
    ids = {session.rep_id} | {e.actor_id for e in events if e.actor_id is not None}
    ids |= {m.user_id for m in messages if m.user_id is not None}
    people: dict[int, timelines.Person] = {}
    for user_id in ids:
        user = await ctx.store.get_user(user_id)
        if user is not None:
            people[user_id] = timelines.Person(user.display_name, user.role)
    rep = people.get(session.rep_id, timelines.Person("a former user", "rep"))
    return timelines.build(messages, events, visitor_name=req.visitor_name, rep=rep, people=people)


ROUTES = [login, logout, me, sessions, session_detail, session_timeline, session_transcript]

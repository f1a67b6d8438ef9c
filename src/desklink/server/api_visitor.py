"""The visitor's HTTP API, called cross-origin from the provider's site.

CORS allows exactly the origins configured for the queue in question. No
cookies are used: the visitor's capability token travels as a bearer token,
so there is no ambient credential for a cross-site request to abuse. A
preflight cannot name its queue, so it is answered for any origin some queue
allows; the real request is then checked against its own queue.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink import transcript as transcripts
from desklink.dispatch.dispatcher import hash_token, iso
from desklink.errors import AuthError, Conflict, DeskLinkError, Forbidden, NotFound, ProtocolError
from desklink.protocol.branding import check_answers
from desklink.protocol.messages import check_text
from desklink.server import relay_handout
from desklink.server.context import Context
from desklink.server.http import Access, bearer_token, client_ip, endpoint, error_response, json_response, query_choice, query_str
from desklink.server.offline import desk_state, queue_hours
from desklink.server.schemas import RatingBody, SubmitBody
from desklink.store.records import RATING_MAX, RATING_MIN, Branding, Queue
from desklink.store.records import Request as HelpRequest

CORS_MAX_AGE = "600"
#: A logo's URL names its content hash, so it never changes: cached for a year.
LOGO_CACHE = "public, max-age=31536000, immutable"
#: A queue named in a query string: slugs are at most 40 characters
#: (api_admin.MAX_SLUG_CHARS); anything longer names no queue.
MAX_SLUG_QUERY_CHARS = 64


def cors_headers(origin: str | None) -> dict[str, str]:
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def _queue_cors(request: Request, ctx: Context, queue: Queue | None) -> dict[str, str]:
    origin = request.headers.get("origin")
    if queue is None:
        if not await ctx.origins.any_queue_allows(origin, request):
            raise Forbidden("this site may not use the help box", code="origin_denied")
    elif not ctx.origins.queue_allows(queue, origin, request):
        raise Forbidden("this site may not use this help box", code="origin_denied")
    return cors_headers(origin)


@endpoint("/api/visitor/{path:path}", ("OPTIONS",), Access.PUBLIC)
async def preflight(request: Request, ctx: Context, login: Any) -> Response:
    """CORS preflight for the visitor API."""
    headers = await _queue_cors(request, ctx, None)
    headers.update(
        {
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "content-type, authorization",
            "Access-Control-Max-Age": CORS_MAX_AGE,
        }
    )
    return Response(status_code=204, headers=headers)


async def _queue_by_slug(ctx: Context, slug: str) -> Queue:
    queue = await ctx.store.get_queue_by_slug(slug.strip()[:64]) if slug else None
    if queue is None:
        raise NotFound(f"no queue named {slug!r}")
    return queue


@endpoint("/api/widget/config", ("GET",), Access.PUBLIC)
async def widget_config(request: Request, ctx: Context, login: Any) -> Response:
    """What the help box needs to draw itself: queue, provider, online reps, limits."""
    queue = await _queue_by_slug(ctx, query_str(request, "queue", max_chars=MAX_SLUG_QUERY_CHARS))
    origin = request.headers.get("origin")
    if not ctx.origins.queue_allows(queue, origin, request):
        # Readable by the refused page (CORS on the error only), so the help
        # box can say the desk is not available here instead of blaming the
        # visitor's connection, and log the reason for the site owner. It
        # tells the page nothing it did not send.
        refused = Forbidden(
            f"the origin {origin} is not among the allowed origins of the queue {queue.slug!r}; "
            "an administrator can add it to the queue in the admin center",
            code="origin_denied",
        )
        response = error_response(refused, request)
        response.headers.update(cors_headers(origin))
        return response
    headers = cors_headers(origin)
    online = await ctx.dispatcher.online_reps(queue.id)
    s = ctx.settings
    body = {
        "queue": {"slug": queue.slug, "name": queue.name},
        "branding": branding_config(queue.id, await ctx.store.get_branding(queue.id)),
        "provider": s.provider_name,
        "online_reps": online,
        # business hours and offline messages (server/offline.py)
        "desk": desk_state(await queue_hours(ctx.store, queue), ctx.dispatcher.now(), online, s),
        "limits": {
            "name": s.max_name_chars,
            "email": s.max_email_chars,
            "question": s.max_question_chars,
            "message": s.max_chat_chars,
            "rating_comment": s.max_rating_comment_chars,
            "offline_message": s.offline_message_chars,
            # files: how the help box cuts an upload (protocol/files.py)
            "file_chunk_bytes": s.file_chunk_bytes,
            "max_message_bytes": s.max_message_bytes,
            "prechat_answer": s.max_prechat_answer_chars,
        },
    }
    return json_response(body, headers=headers)


def branding_config(queue_id: int, b: Branding) -> dict[str, Any]:
    """The help box's branding in ``/api/widget/config``: empty text, no
    fields and no logo (``logo_url`` empty) mean the defaults."""
    logo = f"/api/widget/logo/{queue_id}/{b.logo_sha256}" if b.logo_sha256 else ""
    return {"title": b.title, "color": b.color, "welcome": b.welcome, "logo_url": logo, "fields": list(b.fields)}


@endpoint("/api/widget/logo/{queue_id:int}/{digest}", ("GET",), Access.PUBLIC)
async def widget_logo(request: Request, ctx: Context, login: Any) -> Response:
    """A queue's help box logo by its content hash: cached for good, nosniff."""
    logo = await ctx.store.get_logo(request.path_params["queue_id"])
    if logo is None or logo.sha256 != request.path_params["digest"]:
        raise NotFound("no such logo (a new logo has a new address: reload the help box)")
    headers = {
        "Cache-Control": LOGO_CACHE,
        "X-Content-Type-Options": "nosniff",
        # The provider's pages show it in an <img>, from another origin.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "ETag": f'"{logo.sha256}"',
    }
    return Response(logo.data, media_type=logo.content_type, headers=headers)


@endpoint("/api/visitor/requests", ("POST",), Access.PUBLIC, body=SubmitBody)
async def submit(request: Request, ctx: Context, login: Any, body: SubmitBody) -> Response:
    """Submit a question; answers the request id and the visitor's token."""
    queue = await _queue_by_slug(ctx, body.queue)
    headers = await _queue_cors(request, ctx, queue)
    try:
        await _refuse_when_closed(ctx, queue)
        branding = await ctx.store.get_branding(queue.id)
        prechat = check_answers(list(branding.fields), body.answers, ctx.settings.max_prechat_answer_chars)
        req, token = await ctx.dispatcher.submit(
            queue=queue,
            name=body.name,
            email=body.email,
            question=body.question,
            client=body.client,
            context=body.context,
            prechat=prechat,
            ip=client_ip(request),
            origin=request.headers.get("origin", ""),
        )
    except DeskLinkError as exc:
        response = error_response(exc, request)
        response.headers.update(headers)
        return response
    out = {"request_id": req.id, "token": token, "ws_path": f"/ws/visitor?request={req.id}"}
    return json_response(out, status=201, headers=headers)


async def _refuse_when_closed(ctx: Context, queue: Queue) -> None:
    """Outside the queue's business hours nobody takes live chats: the help
    box offers a message instead, and this refuses a submit that skips it."""
    hours = await queue_hours(ctx.store, queue)
    now = ctx.dispatcher.now()
    if not hours.is_open(now):
        nxt = hours.next_opening(now)
        when = f"; it opens at {iso(nxt)}" if nxt else ""
        raise Conflict(f"the help desk {queue.slug!r} is closed now{when}: leave a message instead", code="conflict_desk_closed")


async def visitor_request(request: Request, ctx: Context) -> HelpRequest:
    req = await ctx.store.get_request_by_token(hash_token(bearer_token(request)))
    if req is None:
        raise AuthError("unknown visitor token", code="auth_failed")
    return req


@endpoint("/api/visitor/transcript", ("GET",), Access.VISITOR)
async def transcript(request: Request, ctx: Context, login: Any) -> Response:
    """The conversation so far, as text or HTML, for the visitor to save."""
    fmt = query_choice(request, "format", ("text", "html"))
    req = await visitor_request(request, ctx)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    headers = await _queue_cors(request, ctx, queue)
    messages = await ctx.store.all_messages(req.id)
    body, media, ext = transcripts.render(fmt, req, queue, messages, ctx.settings.provider_name)
    headers["Content-Disposition"] = f'attachment; filename="{transcripts.filename(req, ext)}"'
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Expose-Headers"] = "Content-Disposition"
    return Response(body, media_type=media + "; charset=utf-8", headers=headers)


@endpoint("/api/visitor/screen-code", ("POST",), Access.VISITOR, csrf=False)
async def screen_code(request: Request, ctx: Context, login: Any) -> Response:
    """A fresh join code while the rep's screen request is outstanding (the
    old one was burned, lost or expired); a few per request."""
    req = await visitor_request(request, ctx)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    headers = await _queue_cors(request, ctx, queue)
    try:
        offer = await ctx.dispatcher.renew_screen_code(req, ctx.origins.own(request))
    except DeskLinkError as exc:
        response = error_response(exc, request)
        response.headers.update(headers)
        return response
    return json_response({"offer": offer}, status=201, headers=headers)


@endpoint("/api/visitor/screen-relay", ("POST",), Access.VISITOR, csrf=False)
async def screen_relay(request: Request, ctx: Context, login: Any) -> Response:
    """Where the help box shares the screen from the browser: the relay node and a share token (asked again after a relay loss)."""
    req = await visitor_request(request, ctx)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    headers = await _queue_cors(request, ctx, queue)
    try:
        session = await ctx.store.get_session_by_request(req.id)
        if session is None or not session.open:
            raise Conflict("there is no open conversation to share the screen with", code="conflict_closed")
        t = await relay_handout.ticket(ctx, session.id, "share", 0, ctx.origins.own(request))
    except DeskLinkError as exc:
        response = error_response(exc, request)
        response.headers.update(headers)
        return response
    return json_response({"node": t.node, "url": t.url, "token": t.token, "expires": t.expires}, headers=headers)


@endpoint("/api/visitor/rating", ("POST",), Access.VISITOR, body=RatingBody, csrf=False)
async def rate(request: Request, ctx: Context, login: Any, body: RatingBody) -> Response:
    """Rate the conversation once it has ended: 1 to 5 and an optional comment, once."""
    req = await visitor_request(request, ctx)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    headers = await _queue_cors(request, ctx, queue)
    try:
        if isinstance(body.rating, bool) or not RATING_MIN <= body.rating <= RATING_MAX:
            raise ProtocolError(f"rating must be a whole number from {RATING_MIN} to {RATING_MAX}")
        comment = check_text("comment", body.comment, ctx.settings.max_rating_comment_chars, required=False)
        session = await ctx.store.get_session_by_request(req.id)
        if session is None:
            raise Conflict("nobody answered this request, so there is no conversation to rate", code="bad_state")
        rated = await ctx.store.rate_session(
            session.id,
            rating=body.rating,
            comment=comment,
            window_s=ctx.settings.rating_window_s,
            now=ctx.dispatcher.now(),
        )
    except DeskLinkError as exc:
        response = error_response(exc, request)
        response.headers.update(headers)
        return response
    out = {"session_id": rated.id, "rating": rated.rating, "comment": rated.rating_comment, "rated_at": iso(rated.rated_at)}
    return json_response(out, status=201, headers=headers)


ROUTES = [preflight, widget_config, widget_logo, submit, transcript, screen_code, screen_relay, rate]
